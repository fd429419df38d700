"""app.http.auth in the VM: the token comparison and the config keys it reads."""
import unit
from app.http import auth
from app import schema as config
from app.errors import ApiError


def test_same_is_exact():
    t = b'secret-token-123'
    assert auth.same(t, t)
    assert auth.same(bytes(t), t)
    for other in (b'', b's', b'secret-token-12', b'secret-token-1234',
                  b'Secret-token-123', b'secret-token-124', b'x' * 16,
                  b'secret-token-123\x00', t * 2):
        assert not auth.same(other, t), other


def test_same_does_the_same_work_whatever_the_input():
    """No early exit: the loop runs len(token) times for every input, so
    the time does not tell how many leading bytes were right."""
    t = b'0123456789abcdef'
    calls = []

    class Counting:
        def __len__(self):
            return len(t)

        def __getitem__(self, i):
            calls.append(i)
            return t[i]
    for given in (b'', b'0', b'0123456789abcdeX', b'X123456789abcdef', t):
        del calls[:]
        auth.same(given, Counting())
        assert len(calls) == len(t), (given, len(calls))


def test_config_auth_key():
    assert config.check({})['auth'] == 'writes'
    assert config.check({'auth': 'all'})['auth'] == 'all'
    for bad in ('none', '', None, 1, ['all']):
        e = unit.raises(ApiError, config.check, {'auth': bad})
        assert e.field == 'auth', e.field


def test_config_http_limits_and_cors():
    c = config.check({'http': {'cors_origins': ['http://a.example'],
                               'max_connections': 8, 'read_timeout_s': 3}})
    assert c['http']['cors_origins'] == ['http://a.example']
    for bad, field in (({'cors_origins': 'http://a'}, 'http.cors_origins'),
                       ({'cors_origins': [1]}, 'http.cors_origins'),
                       ({'max_connections': 1}, 'http.max_connections'),
                       ({'read_timeout_s': 0}, 'http.read_timeout_s')):
        e = unit.raises(ApiError, config.check, {'http': bad})
        assert e.field == field, (e.field, field)


def test_redact_hides_every_secret():
    c = config.check({'api_token': 'tok', 'wifi': {'password': 'pw',
                                                    'ap_password': 'ap'}})
    r = config.redact(c)
    assert r['api_token'] == config.SECRET
    assert r['wifi']['password'] == config.SECRET
    assert r['wifi']['ap_password'] == config.SECRET
    assert c['api_token'] == 'tok'  # the live config keeps them
    assert "'tok'" not in repr(r) and "'pw'" not in repr(r)


unit.main(globals())
