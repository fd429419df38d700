"""Safe mode's parts, in the VM: what app.startup leaves out of a config (and
under which name), and app.settings.redact_text, which hides the secrets of
the file it keeps."""
import json
import unit
from app import schema, startup
from app.errors import ApiError, invalid
from app.settings import redact_text
from app.strictjson import problem


def test_each_failing_binding_is_left_out_under_its_place_in_the_file():
    bodies = [{'n': 0}, {'n': 1, 'bad': 1}, {'n': 2}, {'n': 3, 'bad': 1},
              {'n': 4}]
    checked = []

    def check(items):  # refuses the first bad one, as validate.bodies does
        checked.append(len(items))
        for i, body in enumerate(items):
            if body.get('bad'):
                raise ApiError(400, 'invalid_field', 'bindings[%d]: bad %d'
                               % (i, body['n']), 'bindings[%d].bad' % i)

    rejected = startup.Rejected()
    kept = startup.bindings(bodies, check, rejected)
    assert [b['n'] for b in kept] == [0, 2, 4], kept
    assert rejected.errors == [
        {'where': 'bindings[1]', 'message': 'bad 1'},
        {'where': 'bindings[3]', 'message': 'bad 3'}], rejected.errors
    # the fields, renumbered to the file's places too (deploy.py's lines)
    assert rejected.fields == [('bindings[1].bad', 'bindings[1]: bad 1'),
                               ('bindings[3].bad', 'bindings[3]: bad 3')]
    assert rejected.first['field'] == 'bindings[1].bad', rejected.first
    assert checked == [5, 4, 3], checked  # one left out per try


def test_a_check_that_names_no_binding_leaves_all_out():
    def check(items):
        if items:
            raise invalid(None, 'no room')
    rejected = startup.Rejected()
    assert startup.bindings([{}, {}], check, rejected) == []
    assert [e['where'] for e in rejected.errors] == ['bindings[0]',
                                                     'bindings[1]']


def test_a_section_key_takes_its_default_and_the_rest_applies():
    rejected = startup.Rejected()
    data = startup.sections({'http': {'port': 'eighty', 'log': False},
                             'colour': 'blue', 'board': 7}, rejected)
    assert data['http']['port'] == 8080 and data['http']['log'] is False
    assert data['board'] == 'auto' and 'colour' not in data
    wheres = [e['where'] for e in rejected.errors]
    assert sorted(wheres) == ['board', 'colour', 'http.port'], wheres
    for e in rejected.errors:
        assert e['message'].endswith('runs with its default'), e
    assert schema.check(data) == data  # what runs is a valid config


def test_a_config_that_is_not_an_object_or_not_json():
    for text, says in ((b'[1, 2]', 'JSON object'),
                       (b'{\n "a": 1,\n}', 'line 3 column 1')):
        rejected = startup.Rejected()
        assert startup.parse(text, rejected) == {}
        (error,) = rejected.errors
        assert error['where'] == 'config.json' and says in error['message'], \
            error


def test_secrets_are_hidden_and_json_stays_json():
    text = (b'{"api_token": "t\\"zq\\\\en", "wifi": {"ssid": "password", '
            b'"password": "", "ap_password" :\n "ap-secret"}, "mqtt": '
            b'{"user": "u", "password": "m"}}')
    out = redact_text(text)
    assert problem(out) is None, out
    data = json.loads(out)
    assert data['api_token'] == '********', data
    assert data['wifi'] == {'ssid': 'password', 'password': '',
                            'ap_password': '********'}, data
    assert data['mqtt']['password'] == '********'
    for secret in (b"zq", b"ap-secret", b"\"m\""):
        assert secret not in out, (secret, out)
    # a file that is not JSON: its secrets are hidden all the same
    broken = b'{"api_token": "abc123",, "wifi": {"password": "pw'
    assert redact_text(broken) == \
        b'{"api_token": "********",, "wifi": {"password": "********'


unit.main(globals())
