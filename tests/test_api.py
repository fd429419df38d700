"""Contract and behaviour tests: real HTTP against pinwheel on the real
MicroPython VM (the unix port), driving the simulated board.

Module-scoped VMs where state allows (each test cleans up what it makes);
tests that need their own boot (persistence, safe mode, small pools) start
their own VM. Timing checks use wide bounds: the machine is shared.
"""
import json
import time

import pytest
from vm import VM, make_flash, snapshot, wait_for

EMPTY = {'board': 'auto', 'bindings': []}
KINDS = ('blink', 'breathe', 'counter', 'edge', 'pattern', 'pulse', 'pwm', 'sample')
STATUS_KEYS = {'version', 'board', 'uptime_ms', 'mem_free', 'mem_alloc',
               'bindings', 'running', 'drops_total', 'missed_total', 'timers_free',
               'safe_mode', 'config_error'}
BINDING_KEYS = {'id', 'kind', 'pin', 'running', 'level', 'stats', 'error'}
STATS_KEYS = {'fires', 'late', 'late_max_us', 'missed', 'deferred', 'drops'}
FORM = {'Content-Type': 'application/x-www-form-urlencoded'}


@pytest.fixture(scope='module')
def api(tmp_path_factory):
    """One VM for the whole module, starting with no bindings. Tests leave
    it as they found it (no bindings) so they stay independent."""
    vm = VM(make_flash(tmp_path_factory.mktemp('api'), EMPTY)).start()
    yield vm
    vm.stop()


@pytest.fixture
def clean(api):
    """The shared VM; every binding a test made is deleted afterwards."""
    yield api
    status, body, _ = api.get('/api/bindings')
    for b in body['bindings']:
        api.delete('/api/bindings/' + b['id'])
    assert api.get('/api/bindings')[1] == {'bindings': []}


def boot(tmp_path, config, name='flash', **kw):
    return VM(make_flash(tmp_path / name, config), **kw).start()


def raw(vm, method, path, data, headers=None):
    """Send ``data`` (bytes) as is, with no Content-Type unless given."""
    return vm.request(method, path, raw=data, headers=headers or {})


def create(vm, **body):
    status, out, hdrs = vm.post('/api/bindings', body)
    assert status == 201, out
    return out


def check_error(reply, status, code, field=..., says=()):
    """Assert ``reply`` is our JSON error; ``says``: words the message must
    contain (what to fix)."""
    got_status, body, hdrs = reply
    assert got_status == status, (got_status, body)
    assert 'application/json' in hdrs.get('content-type', ''), hdrs
    assert set(body) == {'error'}, body
    err = body['error']
    assert set(err) == {'code', 'message', 'field'}, err
    assert err['code'] == code, err
    assert isinstance(err['message'], str) and err['message'], err
    if field is not ...:
        assert err['field'] == field, err
    for word in says:
        assert word in err['message'], (word, err)
    return err


def fires(vm, binding_id):
    return vm.get('/api/bindings/' + binding_id)[1]['stats']['fires']


def rate(vm, binding_id, seconds=1.0):
    """Fires per second over a window of about ``seconds``."""
    t0, f0 = time.monotonic(), fires(vm, binding_id)
    time.sleep(seconds)
    t1, f1 = time.monotonic(), fires(vm, binding_id)
    return (f1 - f0) / (t1 - t0)




def board_pin(vm, pin):
    for p in vm.get('/api/board')[1]['pins']:
        if p['pin'] == pin:
            return p
    raise AssertionError('pin %s not on /api/board' % pin)


# ---------------------------------------------------------------- endpoints

def test_create_returns_201_location_and_a_flat_binding(clean):
    status, b, hdrs = clean.post('/api/bindings', {
        'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500})
    assert status == 201, b
    assert hdrs['location'] == '/api/bindings/led'
    assert BINDING_KEYS | {'period_ms'} <= set(b), b
    # flat: the kind's fields sit next to id and pin; only stats nests
    assert [k for k, v in b.items() if isinstance(v, dict)] == ['stats'], b
    assert set(b['stats']) == STATS_KEYS
    assert (b['id'], b['kind'], b['pin'], b['period_ms']) == ('led', 'blink', 2, 500)
    assert b['running'] is True and b['error'] is None
    status, got, _ = clean.get(hdrs['location'])
    assert status == 200 and got['id'] == 'led' and got['period_ms'] == 500


def test_create_generates_ids_and_honours_start_false(clean):
    a = create(clean, kind='blink', pin=4, period_ms=100, start=False)
    b = create(clean, kind='blink', pin=5, period_ms=100)
    assert a['id'] != b['id']
    assert a['id'].startswith('blink-') and b['id'].startswith('blink-')
    assert a['running'] is False and a['level'] == 0 and b['running'] is True
    status, _, hdrs = clean.post('/api/bindings', {'kind': 'sample', 'pin': 34,
                                                    'period_ms': 100})
    assert status == 201 and hdrs['location'].startswith('/api/bindings/sample-')


def test_list_bindings(clean):
    assert clean.get('/api/bindings')[:2] == (200, {'bindings': []})
    create(clean, id='a', kind='blink', pin=2, period_ms=1000)
    create(clean, id='b', kind='sample', pin=34, period_ms=1000, window=4)
    status, body, hdrs = clean.get('/api/bindings')
    assert status == 200 and set(body) == {'bindings'}
    by_id = {b['id']: b for b in body['bindings']}
    assert set(by_id) == {'a', 'b'}
    assert by_id['b']['window'] == 4 and by_id['b']['pull'] is None
    assert {'samples', 'high_count', 'edges'} <= set(by_id['b'])


def test_get_one_binding_and_404(clean):
    create(clean, id='p', kind='pattern', pin=2, steps_ms=[100, 200])
    status, b, _ = clean.get('/api/bindings/p')
    assert status == 200 and b['steps_ms'] == [100, 200] and b['repeat'] == 0
    check_error(clean.get('/api/bindings/nope'), 404, 'not_found', 'id',
                says=['nope', 'GET /api/bindings'])


def test_patch_changes_only_what_is_sent(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=500)
    status, b, _ = clean.patch('/api/bindings/led', {'period_ms': 250})
    assert status == 200, b
    assert (b['kind'], b['pin'], b['period_ms'], b['running']) == ('blink', 2, 250, True)
    status, b, _ = clean.patch('/api/bindings/led', {'pin': 4})
    assert status == 200 and b['pin'] == 4 and b['period_ms'] == 250
    assert board_pin(clean, 2)['used_by'] is None
    assert board_pin(clean, 4)['used_by'] == 'led'
    status, b, _ = clean.patch('/api/bindings/led', {'start': False})
    assert status == 200 and b['running'] is False and b['level'] == 0
    status, b, _ = clean.patch('/api/bindings/led', {'period_ms': 300})
    assert status == 200 and b['running'] is False  # a stopped one stays stopped


def test_put_replaces_the_whole_binding(clean):
    create(clean, id='x', kind='sample', pin=34, period_ms=100, window=8)
    # PUT: fields not sent go back to their defaults
    status, b, _ = clean.put('/api/bindings/x', {'kind': 'sample', 'pin': 34,
                                                 'period_ms': 200})
    assert status == 200, b
    assert b['window'] == 32 and b['period_ms'] == 200
    # ... and a required field cannot be left out
    check_error(clean.put('/api/bindings/x', {'kind': 'sample', 'pin': 34}),
                400, 'invalid_field', 'period_ms', says=['required'])
    # PUT may change the kind
    status, b, _ = clean.put('/api/bindings/x', {'kind': 'pulse', 'pin': 5,
                                                 'duration_ms': 1000,
                                                 'start': False})
    assert status == 200, b
    assert (b['kind'], b['pin'], b['duration_ms'], b['running']) == ('pulse', 5, 1000, False)
    assert 'window' not in b
    check_error(clean.put('/api/bindings/x', {'id': 'y', 'kind': 'pulse', 'pin': 5,
                                              'duration_ms': 9}),
                400, 'invalid_field', 'id', says=['DELETE'])


def test_delete_returns_204_then_404(clean):
    create(clean, id='gone', kind='blink', pin=2, period_ms=100)
    status, body, _ = clean.delete('/api/bindings/gone')
    assert status == 204 and body == ''
    check_error(clean.get('/api/bindings/gone'), 404, 'not_found')
    check_error(clean.delete('/api/bindings/gone'), 404, 'not_found')


def test_start_and_stop(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=1000, start=False)
    status, b, _ = clean.post('/api/bindings/led/start')
    assert status == 200 and b['running'] is True and b['level'] == 1
    status, b, _ = clean.post('/api/bindings/led/stop')
    assert status == 200 and b['running'] is False and b['level'] == 0
    status, b, _ = clean.post('/api/bindings/led/stop')  # idempotent
    assert status == 200 and b['running'] is False
    for action in ('start', 'stop'):
        check_error(clean.post('/api/bindings/nope/' + action), 404, 'not_found')


def test_status_fields(clean):
    status, s, _ = clean.get('/api/status')
    assert status == 200 and STATUS_KEYS <= set(s), s  # later issues add more
    assert s['board'] == 'sim' and isinstance(s['version'], str)
    assert s['safe_mode'] is False and s['config_error'] is None
    for key in ('uptime_ms', 'mem_free', 'mem_alloc', 'bindings', 'running',
                'drops_total', 'missed_total', 'timers_free'):
        assert isinstance(s[key], int) and s[key] >= 0, (key, s)
    assert (s['bindings'], s['running']) == (0, 0)
    free = s['timers_free']
    create(clean, id='a', kind='blink', pin=2, period_ms=1000)
    create(clean, id='b', kind='blink', pin=4, period_ms=1000, start=False)
    s2 = clean.get('/api/status')[1]
    # only a running binding holds a timer
    assert (s2['bindings'], s2['running'], s2['timers_free']) == (2, 1, free - 1)
    assert s2['uptime_ms'] >= s['uptime_ms']


def test_board_shape(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=100000)
    status, b, _ = clean.get('/api/board')
    assert status == 200
    assert {'board', 'pins', 'timers', 'min_period_ms'} <= set(b), b
    assert b['board'] == 'sim' and b['min_period_ms'] == 1
    # the variant and what the firmware said (the unix port's build)
    assert (b['port'], b['led'], b['callbacks']) == ('unix', None, 'direct')
    assert b['firmware']['build'] == 'standard' and b['firmware']['machine']
    assert {'total', 'free', 'virtual', 'own', 'shared'} <= set(b['timers'])
    assert b['timers']['free'] == b['timers']['total'] - 1
    pins = {p['pin']: p for p in b['pins']}
    for p in b['pins']:
        assert set(p) == {'pin', 'caps', 'used_by', 'level'}, p
        assert set(p['caps']) <= {'out', 'in', 'adc', 'pull'}
    assert pins[2]['used_by'] == 'led' and pins[2]['level'] == 1
    assert pins[4]['used_by'] is None and 'out' in pins[4]['caps']
    assert 'out' not in pins[34]['caps'] and 'in' in pins[34]['caps']
    assert 6 not in pins  # SPI flash: reserved, never offered
    assert [p['pin'] for p in b['pins']] == sorted(pins)


def test_config_get_exports_the_bindings(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=300)
    status, c, _ = clean.get('/api/config')
    assert status == 200
    assert {'board', 'http', 'wifi', 'api_token', 'bindings'} <= set(c), c
    assert c['bindings'] == [{'id': 'led', 'kind': 'blink', 'pin': 2,
                              'period_ms': 300, 'start': True}]
    saved = json.loads((clean.flash / 'config.json').read_text())
    assert saved['bindings'] == c['bindings']


def test_config_put_applies_a_whole_config(clean):
    create(clean, id='old', kind='blink', pin=2, period_ms=300)
    c = clean.get('/api/config')[1]
    c['bindings'] = [
        {'id': 'a', 'kind': 'blink', 'pin': 4, 'period_ms': 100},
        {'id': 'b', 'kind': 'sample', 'pin': 34, 'period_ms': 100,
         'start': False},
    ]
    status, out, _ = clean.put('/api/config', c)
    assert status == 200, out
    ids = sorted(b['id'] for b in clean.get('/api/bindings')[1]['bindings'])
    assert ids == ['a', 'b']
    assert clean.get('/api/bindings/b')[1]['running'] is False
    assert board_pin(clean, 2)['used_by'] is None
    saved = json.loads((clean.flash / 'config.json').read_text())
    assert sorted(b['id'] for b in saved['bindings']) == ['a', 'b']
    assert clean.get('/api/config')[1] == out


@pytest.mark.parametrize('change, code, field', [
    (lambda c: c['bindings'].append({'kind': 'blink', 'pin': 6, 'period_ms': 5}),
     'invalid_pin', 'bindings[1].pin'),
    (lambda c: c['bindings'].append({'kind': 'blink', 'pin': 2, 'period_ms': 5}),
     'pin_in_use', 'bindings[1].pin'),
    (lambda c: c['bindings'].append({'kind': 'wobble', 'pin': 5}),
     'unknown_kind', 'bindings[1].kind'),
    (lambda c: c['bindings'].append({'id': 'a', 'kind': 'blink', 'pin': 5,
                                     'period_ms': 5}),
     'id_exists', 'bindings[1].id'),
    (lambda c: c['http'].update(port='80'), 'invalid_field', 'http.port'),
    (lambda c: c['limits'].update(bindings=0), 'invalid_field', 'limits.bindings'),
    (lambda c: c['limits'].update(bindings=1) or c['bindings'].append(
        {'kind': 'blink', 'pin': 5, 'period_ms': 5}), 'limit_reached', 'bindings[1]'),
    (lambda c: c.update(colour='red'), 'invalid_field', 'colour'),
    (lambda c: c.update(board='esp32'), 'invalid_field', 'board'),
    (lambda c: c.update(bindings={}), 'invalid_field', 'bindings'),
])
def test_config_put_is_all_or_nothing(clean, change, code, field):
    create(clean, id='keep', kind='blink', pin=4, period_ms=1000, start=False)
    c = clean.get('/api/config')[1]
    c['bindings'] = [{'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 100}]
    change(c)
    before = snapshot(clean)
    config_before = clean.get('/api/config')[1]
    status = 409 if code in ('pin_in_use', 'id_exists', 'limit_reached') else 400
    check_error(clean.put('/api/config', c), status, code, field)
    assert snapshot(clean) == before
    assert clean.get('/api/config')[1] == config_before
    assert clean.get('/api/board')[1]['max_bindings'] == config_before['limits']['bindings']


def test_config_patch_changes_only_what_is_sent(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=300)
    before = clean.get('/api/config')[1]
    status, out, _ = clean.patch('/api/config',
                                 {'limits': {'virtual_timers': 12}})
    assert status == 200, out
    assert out['limits'] == dict(before['limits'], virtual_timers=12)
    assert [b['id'] for b in out['bindings']] == ['led']
    assert pool(clean) == (12, 11)
    assert clean.get('/api/bindings/led')[1]['running'] is True
    status, out, _ = clean.patch('/api/config', {'http': {'max_streams': 2}})
    assert status == 200, out
    assert out['http'] == dict(before['http'], max_streams=2)
    assert out['limits']['virtual_timers'] == 12
    saved = json.loads((clean.flash / 'config.json').read_text())
    assert saved['http']['max_streams'] == 2 and saved['bindings'] == \
        out['bindings']
    # bindings, when sent, replace the list
    status, out, _ = clean.patch('/api/config', {'bindings': [
        {'id': 'b', 'kind': 'blink', 'pin': 4, 'period_ms': 100}]})
    assert status == 200, out
    assert [b['id'] for b in clean.get('/api/bindings')[1]['bindings']] == ['b']
    # checked whole: a bad part changes nothing
    before = snapshot(clean)
    config_before = clean.get('/api/config')[1]
    check_error(clean.patch('/api/config', {'http': {'max_streams': 2},
                                            'limits': {'bindings': 0}}),
                400, 'invalid_field', 'limits.bindings')
    check_error(clean.patch('/api/config', {'http': 5}), 400, 'invalid_field',
                'http')
    check_error(clean.patch('/api/config', [1]), 400, 'invalid_json')
    assert snapshot(clean) == before
    assert clean.get('/api/config')[1] == config_before
    assert clean.patch('/api/config', {'http': {'max_streams': 3},
                                       'limits': {'virtual_timers': 8}})[0] == 200


def test_config_put_without_bindings_is_refused(clean):
    """A PUT is the whole config: one without bindings used to delete them
    all (200, "bindings": [])."""
    create(clean, id='led', kind='blink', pin=2, period_ms=300)
    before = snapshot(clean)
    config_before = clean.get('/api/config')[1]
    check_error(clean.put('/api/config', {'limits': {'virtual_timers': 12}}),
                400, 'invalid_field', 'bindings',
                says=['bindings is required in a PUT', 'PATCH'])
    assert snapshot(clean) == before
    assert clean.get('/api/config')[1] == config_before
    # a backup put back as it is: still fine
    status, out, _ = clean.put('/api/config', config_before)
    assert status == 200 and out == config_before, out


def test_config_messages_fit_a_config(clean):
    create(clean, id='live', kind='blink', pin=4, period_ms=300)
    c = clean.get('/api/config')[1]
    c['bindings'] = [{'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 5},
                     {'id': 'b', 'kind': 'pulse', 'pin': 2, 'duration_ms': 5}]
    err = check_error(clean.put('/api/config', c), 409, 'pin_in_use',
                      'bindings[1].pin',
                      says=['two bindings in this config use pin 2: "a" and '
                            '"b"'])
    assert 'delete' not in err['message'], err
    for method in ('PUT', 'PATCH'):
        err = check_error(raw(clean, method, '/api/config', b''), 400,
                          'invalid_json', says=['empty', 'PATCH'])
        assert 'period_ms' not in err['message'], err
    c['bindings'] = c['bindings'][:1] + [
        {'id': 'c', 'kind': 'blink', 'pin': 5, 'period_ms': 5}]
    c['limits'] = dict(c['limits'], bindings=1)
    err = check_error(clean.put('/api/config', c), 409, 'limit_reached',
                      'bindings[1]', says=['more than 1 binding ('])
    c['limits'] = {'bindings': 4, 'virtual_timers': 1}
    err = check_error(clean.put('/api/config', c), 409, 'no_free_timer',
                      'bindings[1]', says=['the 1 timer of the pool'])
    assert [b['id'] for b in clean.get('/api/bindings')[1]['bindings']] == \
        ['live']


def test_one_binding_limit_says_one_binding(tmp_path):
    vm = boot(tmp_path, dict(EMPTY, limits={'bindings': 1,
                                            'virtual_timers': 8}))
    try:
        create(vm, kind='blink', pin=2, period_ms=100)
        err = check_error(vm.post('/api/bindings', {
            'kind': 'blink', 'pin': 4, 'period_ms': 100}), 409,
            'limit_reached', says=['at most 1 binding;'])
    finally:
        vm.stop()


def test_not_found_shows_the_id_decoded_and_clipped(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=1000, start=False)
    err = check_error(clean.get('/api/bindings/my%20led'), 404, 'not_found',
                      'id', says=['"my led"'])
    assert '%' not in err['message'], err
    long_id = 'x%22' + 'y' * 70
    for method, path in (('GET', '/api/bindings/' + long_id),
                         ('DELETE', '/api/bindings/' + long_id),
                         ('POST', '/api/bindings/%s/start' % long_id)):
        err = check_error(raw(clean, method, path, None), 404, 'not_found',
                          'id', says=['x"yyy'])
        assert 'y' * 41 not in err['message'], err
    # a percent-encoded valid id finds its binding
    assert clean.get('/api/bindings/%6Ced')[1]['id'] == 'led'


def test_sim_pin_404_lists_only_drivable_pins(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=1000)
    create(clean, id='in', kind='sample', pin=34, period_ms=1000)
    err = check_error(clean.put('/api/sim/pins/-1', {'level': 1}), 400,
                      'invalid_pin', 'pin', says=['pins you can drive: '])
    pins = err['message'].split('pins you can drive: ')[1].split(', ')
    assert '2' not in pins and '34' in pins and '4' in pins, pins


def test_sim_pin_drive(clean):
    status, out, _ = clean.put('/api/sim/pins/34', {'level': 1})
    assert (status, out) == (200, {'pin': 34, 'level': 1})
    assert board_pin(clean, 34)['level'] == 1
    status, out, _ = clean.put('/api/sim/pins/34', {'level': 0})
    assert status == 200 and board_pin(clean, 34)['level'] == 0
    for bad in ({'level': 2}, {'level': True}, {'level': '1'}, {},
                {'level': 1, 'extra': 1}):
        check_error(clean.put('/api/sim/pins/34', bad), 400, 'invalid_field')
    check_error(clean.put('/api/sim/pins/99', {'level': 1}), 400, 'invalid_pin',
                'pin', says=['99', 'pins you can drive: 0, 2,'])
    check_error(clean.put('/api/sim/pins/6', {'level': 1}), 400, 'invalid_pin')
    create(clean, id='led', kind='blink', pin=2, period_ms=1000)
    check_error(clean.put('/api/sim/pins/2', {'level': 1}), 409, 'pin_in_use',
                'pin', says=['led'])
    check_error(raw(clean, 'PUT', '/api/sim/pins/34', b'high'), 400, 'invalid_json')


def test_reason_phrases_are_the_standard_ones(clean):
    """Microdot sends "N/A" for every status but 200."""
    import http.client

    def reason(method, path, body=None):
        conn = http.client.HTTPConnection('127.0.0.1', clean.port, timeout=10)
        try:
            conn.request(method, path, body=body)
            res = conn.getresponse()
            res.read()
            return res.status, res.reason
        finally:
            conn.close()
    led = b'{"id": "led", "kind": "blink", "pin": 2, "period_ms": 1000}'
    assert reason('POST', '/api/bindings', led) == (201, 'Created')
    assert reason('GET', '/api/bindings/led') == (200, 'OK')
    assert reason('POST', '/api/bindings', led) == (409, 'Conflict')
    assert reason('GET', '/api/bindings/nope') == (404, 'Not Found')
    assert reason('POST', '/api/bindings', b'{,}') == (400, 'Bad Request')
    assert reason('DELETE', '/api/status') == (405, 'Method Not Allowed')
    assert reason('DELETE', '/api/bindings/led') == (204, 'No Content')
    assert reason('GET', '/static/' + 'a' * 100) == (414, 'URI Too Long')


# ------------------------------------------------------- curl-style bodies

@pytest.mark.parametrize('headers', [{}, FORM, {'Content-Type': 'text/plain'}],
                         ids=['no-type', 'form-type', 'text-type'])
def test_json_body_whatever_the_content_type(clean, headers):
    body = b'{"id": "c", "kind": "blink", "pin": 2, "period_ms": 400}'
    status, b, hdrs = raw(clean, 'POST', '/api/bindings', body, headers)
    assert status == 201, b
    assert hdrs['location'] == '/api/bindings/c' and b['period_ms'] == 400
    status, b, _ = raw(clean, 'PATCH', '/api/bindings/c', b'{"period_ms": 200}',
                       headers)
    assert status == 200 and b['period_ms'] == 200, b
    status, b, _ = raw(clean, 'PUT', '/api/sim/pins/34', b'{"level": 1}', headers)
    assert status == 200, b
    c = json.dumps(clean.get('/api/config')[1]).encode()
    status, b, _ = raw(clean, 'PUT', '/api/config', c, headers)
    assert status == 200, b


# ------------------------------------------------------------ error codes

@pytest.mark.parametrize('method, path', [
    ('POST', '/api/bindings'), ('PATCH', '/api/bindings/k'),
    ('PUT', '/api/bindings/k'), ('PUT', '/api/config'),
])
@pytest.mark.parametrize('data', [b'', b'nope', b'{"kind": "blink",', b'[1, 2]',
                                  b'"blink"', b'null', b'{"a": 1}x'],
                         ids=['empty', 'text', 'truncated', 'list', 'string',
                              'null', 'trailing'])
def test_invalid_json(clean, method, path, data):
    create(clean, id='k', kind='blink', pin=2, period_ms=1000, start=False)
    before = snapshot(clean)
    err = check_error(raw(clean, method, path, data, FORM), 400, 'invalid_json')
    assert 'JSON' in err['message'] or 'object' in err['message'], err
    assert snapshot(clean) == before


# MicroPython's json.loads takes commas and colons as optional: each of
# these parsed (and a POST made a binding) before the strict check.
LENIENT = [
    (b'{"kind": "blink", "pin": 12, "period_ms": 100,}', 46),
    (b'{"kind": "blink" "pin": 12, "period_ms": 100}', 17),
    (b'{"kind" "blink", "pin": 12, "period_ms": 100}', 8),
    (b'{"kind": "blink",, "pin": 12, "period_ms": 100}', 17),
    (b'{, "kind": "blink", "pin": 12, "period_ms": 100}', 1),
    (b'{"kind": "pattern", "pin": 12, "steps_ms": [100, 200,]}', 53),
    (b'{"id" "t4" "kind" "blink" "pin" 12 "period_ms" 100}', 6),
]


@pytest.mark.parametrize('method, path', [
    ('POST', '/api/bindings'), ('PATCH', '/api/bindings/k'),
    ('PUT', '/api/bindings/k'), ('PUT', '/api/config'),
    ('PATCH', '/api/config'), ('PUT', '/api/sim/pins/34'),
])
@pytest.mark.parametrize('data, offset', LENIENT,
                         ids=['trailing-comma', 'no-comma', 'no-colon',
                              'double-comma', 'leading-comma',
                              'list-trailing-comma', 'no-separators'])
def test_lenient_json_is_refused_with_its_offset(clean, method, path, data,
                                                 offset):
    create(clean, id='k', kind='blink', pin=2, period_ms=1000, start=False)
    before = snapshot(clean)
    config_before = clean.get('/api/config')[1]
    level = board_pin(clean, 34)['level']
    err = check_error(raw(clean, method, path, data, FORM), 400,
                      'invalid_json', None, says=[
                          'at line 1 column %d' % (offset + 1), 'expected'])
    assert snapshot(clean) == before
    assert clean.get('/api/config')[1] == config_before
    assert board_pin(clean, 34)['level'] == level
    assert len(err['message']) < 200, err


@pytest.mark.parametrize('body, field, says', [
    ({'period_ms': 500.0}, 'period_ms', ['integer']),
    ({'period_ms': '500'}, 'period_ms', ['integer']),
    ({'period_ms': True}, 'period_ms', ['integer']),
    ({'period_ms': None}, 'period_ms', ['integer']),
    ({'period_ms': 0}, 'period_ms', ['1 to 86400000']),
    ({'period_ms': -5}, 'period_ms', ['1 to 86400000']),
    ({'period_ms': 86400001}, 'period_ms', ['86400000']),
    ({'period_ms': 10 ** 30}, 'period_ms', ['86400000']),
    ({'period_ms': 500, 'colour': 'red'}, 'colour', ['period_ms']),
    ({'period_ms': 500, 'id': 'bad id!'}, 'id', ['1 to 32']),
    ({'period_ms': 500, 'id': 'x' * 33}, 'id', ['1 to 32']),
    ({'period_ms': 500, 'id': ''}, 'id', ['1 to 32']),
    ({'period_ms': 500, 'id': 7}, 'id', ['1 to 32']),
    ({'period_ms': 500, 'start': 'yes'}, 'start', ['true or false']),
    ({}, 'period_ms', ['required']),
])
def test_invalid_field(clean, body, field, says):
    before = snapshot(clean)
    body = dict({'kind': 'blink', 'pin': 2}, **body)
    check_error(clean.post('/api/bindings', body), 400, 'invalid_field', field,
                says=says)
    assert snapshot(clean) == before


@pytest.mark.parametrize('body, field', [
    ({'kind': 'pattern', 'pin': 2, 'steps_ms': [100]}, 'steps_ms'),
    ({'kind': 'pattern', 'pin': 2, 'steps_ms': [100] * 33}, 'steps_ms'),
    ({'kind': 'pattern', 'pin': 2, 'steps_ms': '100,100'}, 'steps_ms'),
    ({'kind': 'pattern', 'pin': 2, 'steps_ms': [100, 0]}, 'steps_ms[1]'),
    ({'kind': 'pattern', 'pin': 2, 'steps_ms': [100, 1.5]}, 'steps_ms[1]'),
    ({'kind': 'pattern', 'pin': 2, 'steps_ms': [1, 2], 'repeat': -1}, 'repeat'),
    ({'kind': 'pulse', 'pin': 2, 'duration_ms': 10, 'active_level': 2},
     'active_level'),
    ({'kind': 'pulse', 'pin': 2}, 'duration_ms'),
    ({'kind': 'sample', 'pin': 34, 'period_ms': 10, 'window': 0}, 'window'),
    ({'kind': 'sample', 'pin': 34, 'period_ms': 10, 'window': 257}, 'window'),
    ({'kind': 'sample', 'pin': 34, 'period_ms': 10, 'pull': 'sideways'}, 'pull'),
    ({'kind': 'sample', 'pin': 34, 'period_ms': 10, 'pull': 'up'}, 'pull'),
    ({'kind': 'blink'}, None),
])
def test_invalid_kind_fields(clean, body, field):
    before = snapshot(clean)
    reply = clean.post('/api/bindings', body)
    if field is None:  # no pin: says which pins are free
        check_error(reply, 400, 'invalid_pin', 'pin', says=['required', '2, 4'])
    else:
        check_error(reply, 400, 'invalid_field', field)
    assert snapshot(clean) == before


def test_level_is_not_a_setting(clean):
    """A binding's level is the pin's live level; a pulse's setting is
    active_level, under that one name (level was once an alias of it)."""
    create(clean, id='p', kind='pulse', pin=4, duration_ms=60000, start=False)
    before = snapshot(clean)
    for body in ({'kind': 'pulse', 'pin': 2, 'duration_ms': 10, 'level': 0,
                  'active_level': 1},
                 {'kind': 'pulse', 'pin': 2, 'duration_ms': 10, 'level': 0}):
        check_error(clean.post('/api/bindings', body), 400, 'invalid_field',
                    'level', says=['use active_level'])
    check_error(clean.patch('/api/bindings/p', {'level': 0}), 400,
                'invalid_field', 'level', says=['use active_level'])
    check_error(clean.post('/api/bindings', {'kind': 'blink', 'pin': 2,
                                             'period_ms': 10, 'level': 1}),
                400, 'invalid_field', 'level', says=['live level'])
    assert snapshot(clean) == before
    b = clean.patch('/api/bindings/p', {'active_level': 0})[1]
    assert b['active_level'] == 0 and b['level'] == 1  # idle high


@pytest.mark.parametrize('kind', ['wobble', 'Blink', 7, None, ''])
def test_unknown_kind_lists_the_valid_kinds(clean, kind):
    before = snapshot(clean)
    body = {'pin': 2, 'period_ms': 100}
    if kind is not None:
        body['kind'] = kind
    reply = clean.post('/api/bindings', body)
    code = 'invalid_field' if kind is None else 'unknown_kind'
    check_error(reply, 400, code, 'kind', says=list(KINDS))
    assert snapshot(clean) == before


@pytest.mark.parametrize('body, says', [
    ({'kind': 'blink', 'pin': 6, 'period_ms': 100}, ['reserved', 'SPI flash']),
    ({'kind': 'blink', 'pin': 99, 'period_ms': 100}, ['does not exist']),
    ({'kind': 'blink', 'pin': 'LED', 'period_ms': 100}, ['does not exist']),
    ({'kind': 'blink', 'pin': 34, 'period_ms': 100}, ['output']),
    ({'kind': 'blink', 'pin': True, 'period_ms': 100}, ['GPIO number']),
    ({'kind': 'blink', 'pin': 2.0, 'period_ms': 100}, ['GPIO number']),
    ({'kind': 'blink', 'pin': [2], 'period_ms': 100}, ['GPIO number']),
    ({'kind': 'blink', 'pin': '5', 'period_ms': 100}, ['JSON number: 5, not "5"']),
    ({'kind': 'sample', 'pin': 6, 'period_ms': 100}, ['reserved', '34']),
])
def test_invalid_pin_lists_the_free_pins(clean, body, says):
    create(clean, id='user', kind='blink', pin=4, period_ms=1000, start=False)
    before = snapshot(clean)
    err = check_error(clean.post('/api/bindings', body), 400, 'invalid_pin', 'pin',
                      says=says)
    if body['kind'] == 'blink' and 'free pins' in err['message']:
        free = err['message'].split('free pins for blink: ')[1]
        assert '2, 5,' in free and ' 4,' not in free and '34' not in free, err
    assert snapshot(clean) == before


@pytest.mark.parametrize('method, path', [
    ('GET', '/nope'), ('GET', '/api'), ('GET', '/api/bindings/a/b/c'),
    ('POST', '/api/nope'), ('GET', '/api/sim/pins'),
    ('PATCH', '/api/bindings/nope'), ('PUT', '/api/bindings/nope'),
    ('DELETE', '/api/bindings/nope'), ('POST', '/api/bindings/nope/start'),
])
def test_not_found_is_json(clean, method, path):
    body = b'{"period_ms": 100}' if method in ('PATCH', 'PUT') else None
    check_error(raw(clean, method, path, body), 404, 'not_found')


def test_not_found_before_a_bad_body(clean):
    check_error(raw(clean, 'PATCH', '/api/bindings/nope', b'junk'), 404, 'not_found')


@pytest.mark.parametrize('method, path', [
    ('DELETE', '/api/status'), ('POST', '/api/status'), ('PUT', '/api/bindings'),
    ('DELETE', '/api/bindings'), ('POST', '/api/board'), ('DELETE', '/api/config'),
    ('POST', '/api/bindings/x'), ('GET', '/api/bindings/x/start'),
    ('GET', '/api/sim/pins/2'),
])
def test_method_not_allowed_is_json(clean, method, path):
    err = check_error(raw(clean, method, path, None), 405, 'method_not_allowed')
    assert method in err['message']


def test_id_exists(clean):
    create(clean, id='dup', kind='blink', pin=2, period_ms=100, start=False)
    before = snapshot(clean)
    check_error(clean.post('/api/bindings', {'id': 'dup', 'kind': 'blink', 'pin': 4,
                                             'period_ms': 100}),
                409, 'id_exists', 'id', says=['dup', 'PATCH'])
    assert snapshot(clean) == before


def test_pin_in_use_names_the_user_and_free_pins(clean):
    create(clean, id='first', kind='blink', pin=2, period_ms=100, start=False)
    create(clean, id='other', kind='blink', pin=4, period_ms=100, start=False)
    before = snapshot(clean)
    err = check_error(clean.post('/api/bindings', {'kind': 'pulse', 'pin': 2,
                                                   'duration_ms': 100}),
                      409, 'pin_in_use', 'pin', says=['"first"', 'free pins'])
    assert '0, 5,' in err['message']
    check_error(clean.patch('/api/bindings/other', {'pin': 2}), 409, 'pin_in_use',
                'pin', says=['"first"'])
    check_error(clean.put('/api/bindings/other', {'kind': 'blink', 'pin': 2,
                                                  'period_ms': 5}),
                409, 'pin_in_use')
    assert snapshot(clean) == before


def test_rejected_patch_and_put_change_nothing(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=100)
    before = snapshot(clean)
    for body in ({'period_ms': 0}, {'pin': 34}, {'pin': 6}, {'kind': 'nope'},
                 {'kind': 'pulse'}, {'wat': 1}, {'start': 1}):
        status, out, _ = clean.patch('/api/bindings/led', body)
        assert status == 400, (body, out)
    check_error(clean.put('/api/bindings/led', {'kind': 'blink', 'pin': 2}),
                400, 'invalid_field', 'period_ms')
    assert snapshot(clean) == before
    assert clean.get('/api/bindings/led')[1]['running'] is True


def test_too_large(clean):
    before = snapshot(clean)
    big = json.dumps({'kind': 'blink', 'pin': 2, 'period_ms': 100,
                      'pad': 'x' * 10000}).encode()
    for headers in ({}, FORM):
        check_error(raw(clean, 'POST', '/api/bindings', big, headers), 413,
                    'too_large', says=['8192'])
    check_error(raw(clean, 'PUT', '/api/config', big), 413, 'too_large')
    assert snapshot(clean) == before
    assert clean.get('/api/status')[0] == 200  # still serving


def test_no_free_timer_and_limit_reached(tmp_path):
    cfg = dict(EMPTY, limits={'bindings': 3, 'virtual_timers': 2})
    vm = boot(tmp_path, cfg)
    try:
        create(vm, kind='blink', pin=2, period_ms=100)
        create(vm, kind='blink', pin=4, period_ms=100)
        assert vm.get('/api/status')[1]['timers_free'] == 0
        before = snapshot(vm)
        check_error(vm.post('/api/bindings', {'kind': 'blink', 'pin': 5,
                                              'period_ms': 100}),
                    409, 'no_free_timer', says=['blink-1, blink-2', 'stop'])
        assert snapshot(vm) == before
        # a stopped binding holds no timer: it may be created
        create(vm, kind='blink', pin=5, period_ms=100, start=False)
        check_error(vm.post('/api/bindings/blink-3/start'), 409,
                    'no_free_timer')
        vm.post('/api/bindings/blink-2/stop')
        assert vm.post('/api/bindings/blink-3/start')[0] == 200  # the freed timer
        vm.delete('/api/bindings/blink-2')
        # a config asking for more bindings than timers is refused whole
        c = vm.get('/api/config')[1]
        c['bindings'] = [{'kind': 'blink', 'pin': p, 'period_ms': 100}
                         for p in (12, 13, 14)]
        before = snapshot(vm)
        check_error(vm.put('/api/config', c), 409, 'no_free_timer')
        assert snapshot(vm) == before
        # limits.bindings is the other ceiling
        c = vm.get('/api/config')[1]
        c['limits'] = {'bindings': 2, 'virtual_timers': 8}
        status, out, _ = vm.put('/api/config', c)
        assert status == 200, out
        check_error(vm.post('/api/bindings', {'kind': 'blink', 'pin': 12,
                                              'period_ms': 100}),
                    409, 'limit_reached', says=['2 bindings'])
    finally:
        vm.stop()


def pool(vm):
    timers = vm.get('/api/board')[1]['timers']
    return timers['total'], timers['free']


def test_put_config_resizes_the_virtual_timer_pool(tmp_path):
    """limits.virtual_timers from PUT /api/config applies at once, so a
    config accepted now cannot fail with no_free_timer at the next boot."""
    vm = boot(tmp_path, EMPTY)
    try:
        c = vm.get('/api/config')[1]
        c['limits']['virtual_timers'] = 2
        c['bindings'] = [{'kind': 'blink', 'pin': p, 'period_ms': 100}
                         for p in (2, 4, 5)]
        before = snapshot(vm)
        check_error(vm.put('/api/config', c), 409, 'no_free_timer', 'bindings[2]',
                    says=['2 timers'])
        assert snapshot(vm) == before
        assert pool(vm) == (8, 8)
        c['bindings'].pop()
        status, out, _ = vm.put('/api/config', c)
        assert status == 200, out
        assert pool(vm) == (2, 0)
        check_error(vm.post('/api/bindings', {'kind': 'blink', 'pin': 12,
                                              'period_ms': 100}),
                    409, 'no_free_timer')
    finally:
        vm.stop()
    vm = VM(vm.flash).start()
    try:
        s = vm.get('/api/status')[1]
        assert s['safe_mode'] is False and s['bindings'] == 2, s
        assert pool(vm) == (2, 0)
        c = vm.get('/api/config')[1]
        c['limits']['virtual_timers'] = 4
        assert vm.put('/api/config', c)[0] == 200
        assert pool(vm) == (4, 2)
        create(vm, kind='blink', pin=12, period_ms=100)
    finally:
        vm.stop()


# ---------------------------------------------------------------- behaviour

def test_reconfigure_changes_the_toggle_rate(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=100)
    slow = rate(clean, 'led')
    assert 3 <= slow <= 13, slow  # 10/s nominal
    status, b, _ = clean.patch('/api/bindings/led', {'period_ms': 20})
    assert status == 200 and b['running'] is True
    fast = rate(clean, 'led')
    assert 15 <= fast <= 60, fast  # 50/s nominal
    assert fast > 2 * slow, (slow, fast)
    # the counters carry over a reconfigure
    assert clean.get('/api/bindings/led')[1]['stats']['fires'] >= slow


def test_stop_stops_the_fires(clean):
    create(clean, id='led', kind='blink', pin=2, period_ms=10)
    assert wait_for(lambda: fires(clean, 'led') > 5)
    status, b, _ = clean.post('/api/bindings/led/stop')
    assert status == 200 and b['running'] is False and b['level'] == 0
    time.sleep(0.05)
    n = fires(clean, 'led')
    time.sleep(0.3)
    assert fires(clean, 'led') == n
    assert board_pin(clean, 2)['level'] == 0
    clean.post('/api/bindings/led/start')
    assert wait_for(lambda: fires(clean, 'led') > n)


def test_delete_frees_the_pin_and_timer(clean):
    free = clean.get('/api/board')[1]['timers']['free']
    create(clean, id='led', kind='blink', pin=2, period_ms=10)
    assert board_pin(clean, 2)['used_by'] == 'led'
    assert clean.delete('/api/bindings/led')[0] == 204
    pin = board_pin(clean, 2)
    assert pin['used_by'] is None and pin['level'] == 0
    assert clean.get('/api/board')[1]['timers']['free'] == free
    b = create(clean, id='again', kind='pulse', pin=2, duration_ms=5000)
    assert b['pin'] == 2 and board_pin(clean, 2)['used_by'] == 'again'


def test_pulse_runs_then_goes_idle(clean):
    b = create(clean, id='p', kind='pulse', pin=2, duration_ms=1000)
    assert b['running'] is True and b['level'] == 1 and b['active_level'] == 1
    assert board_pin(clean, 2)['level'] == 1  # within the second
    done = wait_for(lambda: not clean.get('/api/bindings/p')[1]['running'])
    assert done
    b = clean.get('/api/bindings/p')[1]
    assert b['level'] == 0 and b['stats']['fires'] == 1 and b['error'] is None
    assert board_pin(clean, 2)['level'] == 0
    # start again retriggers; an active-low pulse idles high
    b = clean.post('/api/bindings/p/start')[1]
    assert b['running'] is True and b['level'] == 1
    b = clean.put('/api/bindings/p', {'kind': 'pulse', 'pin': 2, 'duration_ms': 150,
                                      'active_level': 0})[1]
    assert b['active_level'] == 0 and b['level'] == 0 and b['running'] is True
    assert wait_for(lambda: clean.get('/api/bindings/p')[1]['level'] == 1)


def test_pattern_with_repeat_finishes(clean):
    b = create(clean, id='pat', kind='pattern', pin=2, steps_ms=[60, 40, 60],
               repeat=2)
    assert b['steps_ms'] == [60, 40, 60] and b['repeat'] == 2
    assert wait_for(lambda: not clean.get('/api/bindings/pat')[1]['running'])
    b = clean.get('/api/bindings/pat')[1]
    assert b['level'] == 0 and b['rounds'] == 2 and b['error'] is None
    assert b['stats']['fires'] == 6  # 3 steps x 2 rounds
    # repeat 0 keeps going
    b = clean.patch('/api/bindings/pat', {'repeat': 0, 'start': True})[1]
    assert b['running'] is True
    assert wait_for(lambda: clean.get('/api/bindings/pat')[1]['rounds'] >= 3)
    assert clean.get('/api/bindings/pat')[1]['running'] is True


def test_sample_sees_driven_levels(clean):
    clean.put('/api/sim/pins/34', {'level': 1})
    create(clean, id='s', kind='sample', pin=34, period_ms=10, window=8)
    full = wait_for(lambda: clean.get('/api/bindings/s')[1]['high_count'] == 8)
    assert full
    b = clean.get('/api/bindings/s')[1]
    assert b['samples'] == [1] * 8 and b['level'] == 1
    edges = b['edges']
    clean.put('/api/sim/pins/34', {'level': 0})
    assert wait_for(lambda: clean.get('/api/bindings/s')[1]['high_count'] == 0)
    b = clean.get('/api/bindings/s')[1]
    assert b['samples'] == [0] * 8 and b['level'] == 0
    assert b['edges'] == edges + 1
    clean.put('/api/sim/pins/34', {'level': 1})
    b = wait_for(lambda: (lambda b: b if 0 < b['high_count'] < 8 else None)(
        clean.get('/api/bindings/s')[1]), step=0.005)
    if b:  # caught mid-way: the newest samples come last
        assert b['samples'][-1] == 1 and b['samples'][0] == 0, b
    clean.put('/api/sim/pins/34', {'level': 0})


def test_persistence_across_a_restart(tmp_path):
    flash = make_flash(tmp_path / 'flash', EMPTY)
    vm = VM(flash).start()
    try:
        create(vm, id='led', kind='blink', pin=2, period_ms=50)
        create(vm, id='pat', kind='pattern', pin=4, steps_ms=[100, 50], repeat=0,
               start=False)
        create(vm, id='in', kind='sample', pin=34, period_ms=20, window=4,
               pull=None)
        create(vm, id='p', kind='pulse', pin=5, duration_ms=60000)
        vm.patch('/api/bindings/led', {'period_ms': 70})
        vm.post('/api/bindings/in/stop')
        before = snapshot(vm)[0]
        config = vm.get('/api/config')[1]
    finally:
        vm.stop()  # SIGKILL, as a power cut
    assert not (flash / 'config.json.tmp').exists()
    json.loads((flash / 'config.json').read_text())
    vm = VM(flash).start()
    try:
        after = snapshot(vm)[0]
        # a pulse is an action, not a state: it comes back stopped
        for b in before:
            if b['id'] == 'p':
                b['running'] = False
        assert after == before
        running = {b['id']: b['running'] for b in after}
        assert running == {'led': True, 'pat': False, 'in': False, 'p': False}
        assert wait_for(lambda: fires(vm, 'led') > 2)
        assert vm.get('/api/config')[1] == config
        s = vm.get('/api/status')[1]
        assert s['safe_mode'] is False and s['bindings'] == 4
    finally:
        vm.stop()


GOOD = {'board': 'auto', 'bindings': [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 100}]}


def _dup_pin():
    return json.dumps({'bindings': [
        {'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 100},
        {'id': 'b', 'kind': 'blink', 'pin': 2, 'period_ms': 100}]})


@pytest.mark.parametrize('config, code, field, says', [
    (json.dumps(GOOD)[:40], 'invalid_json', None, ['not valid JSON']),
    ('', 'invalid_json', None, ['not valid JSON']),
    ('[]', 'invalid_json', None, ['object']),
    (json.dumps({'bindings': [{'kind': 'blink', 'pin': 2, 'period_ms': '100'}]}),
     'invalid_field', 'bindings[0].period_ms', ['integer']),
    (json.dumps({'http': {'port': 'eighty'}}), 'invalid_field', 'http.port',
     ['int']),
    (json.dumps({'bindings': {'led': 1}}), 'invalid_field', 'bindings', ['list']),
    (json.dumps({'bindings': [{'kind': 'strobe', 'pin': 2}]}), 'unknown_kind',
     'bindings[0].kind', ['blink', 'sample']),
    (_dup_pin(), 'pin_in_use', 'bindings[1].pin', ['"a"']),
    (json.dumps({'board': 'pyboard'}), 'invalid_config', 'board',
     ['pyboard', 'esp32']),
    # MicroPython's lenient parser would have booted these, half-applied
    (json.dumps(GOOD)[:-2] + ',]}', 'invalid_json', None,
     ['not valid JSON', 'at line 1 column %d' % len(json.dumps(GOOD))]),
    (json.dumps(GOOD).replace('"period_ms": 100', '"period_ms" 100'),
     'invalid_json', None, ['not valid JSON', "expected ':'"]),
], ids=['truncated', 'empty', 'not-object', 'string-period', 'port-type',
        'bindings-type', 'unknown-kind', 'duplicate-pin', 'other-board',
        'trailing-comma', 'missing-colon'])
def test_safe_mode_for_a_bad_config(tmp_path, config, code, field, says):
    vm = boot(tmp_path, config)
    try:
        s = vm.get('/api/status')[1]
        # what validates runs: of the two on one pin, the first
        assert s['safe_mode'] is True, s
        assert s['bindings'] == (1 if field == 'bindings[1].pin' else 0), s
        assert len(s['config_errors']) == 1, s
        err = s['config_error']
        assert err['code'] == code and err['field'] == field, err
        for word in says:
            assert word in err['message'], (word, err)
        assert 'SAFE MODE' in vm.output()
        # the broken file is kept for a look, until a whole config replaces it
        assert vm.get('/api/config/rejected')[1]['text'] == config
        # a good config recovers it, no restart needed
        status, out, _ = vm.put('/api/config', GOOD)
        assert status == 200, out
        s = vm.get('/api/status')[1]
        assert s['safe_mode'] is False and s['config_error'] is None, s
        assert s['bindings'] == 1 and s['running'] == 1
        assert wait_for(lambda: fires(vm, 'led') > 0)
        saved = json.loads((vm.flash / 'config.json').read_text())
        assert saved['bindings'][0]['id'] == 'led'
        assert vm.get('/api/config/rejected')[0] == 404
        assert not (vm.flash / 'config.rejected.json').exists()
    finally:
        vm.stop()


def test_safe_mode_for_a_missing_config(tmp_path):
    flash = make_flash(tmp_path / 'flash', EMPTY)
    (flash / 'config.json').unlink()
    vm = VM(flash).start()
    try:
        s = vm.get('/api/status')[1]
        assert s['safe_mode'] is True and 'not found' in s['config_error']['message']
        create(vm, id='led', kind='blink', pin=2, period_ms=100)
        s = vm.get('/api/status')[1]
        assert s['safe_mode'] is False  # the first save leaves safe mode
        assert json.loads((flash / 'config.json').read_text())['bindings'][0]['id'] == 'led'
    finally:
        vm.stop()


# ------------------------------------------- pwm, breathe, edge, counter

def test_new_kinds_over_http(clean):
    """Each new kind: created with its defaults, listed by GET /api/kinds,
    its live state in the answer."""
    kinds = {k['kind']: k for k in clean.get('/api/kinds')[1]['kinds']}
    for kind in ('pwm', 'breathe', 'edge', 'counter'):
        assert kind in kinds and kinds[kind]['doc'], kinds.keys()
    assert kinds['pwm']['fields'][1]['schema'] == {
        'type': 'number', 'minimum': 0, 'maximum': 100, 'multipleOf': 0.1}
    fan = create(clean, id='fan', kind='pwm', pin=2, duty=37.5,
                 freq_hz=25000)
    assert fan['duty'] == 37.5 and fan['running'] and not fan['fading']
    assert board_pin(clean, 2)['pwm'] == {'freq_hz': 25000, 'duty': 37.5,
                                          'level_avg': 0.375}
    glow = create(clean, id='glow', kind='breathe', pin=4, period_ms=1000)
    assert glow['curve'] == 'gamma' and glow['stats']['fires'] >= 0
    door = create(clean, id='door', kind='edge', pin=32, pull='up')
    assert door['presses'] == 0 and door['level'] == 1
    assert door['last_edge_ms'] is None and door['edge'] == 'rising'
    meter = create(clean, id='meter', kind='counter', pin=34, total=500)
    assert (meter['count'], meter['total']) == (0, 500)
    assert clean.get('/api/status')[1]['timers_free'] == 7  # breathe's
    check_error(clean.post('/api/bindings', {'kind': 'pwm', 'pin': 34}),
                400, 'invalid_pin', 'pin', says=['cannot be an output'])
    check_error(clean.post('/api/bindings', {'kind': 'pwm', 'pin': 5,
                                             'duty': 12.34}),
                400, 'invalid_field', 'duty', says=['0.1'])
    check_error(clean.post('/api/bindings', {'kind': 'breathe', 'pin': 5,
                                             'min': 60, 'max': 40}),
                400, 'invalid_field', 'max')


def test_burst_counts_debounced_pulses(clean):
    create(clean, id='meter', kind='counter', pin=34, debounce_ms=5)
    status, out, _ = clean.put('/api/sim/pins/34', {
        'pulses': 20, 'high_ms': 10, 'low_ms': 10, 'bounce': 3})
    assert status == 200 and out['ms'] == 400, out
    assert out['burst'] == {'pulses': 20, 'high_ms': 10, 'low_ms': 10,
                            'bounce': 3}
    got = wait_for(lambda: clean.get('/api/bindings/meter')[1]['count']
                   == 20 or None, 10)
    meter = clean.get('/api/bindings/meter')[1]
    assert got and meter['bounces'] == 120 and meter['total'] == 20, meter
    for bad in ({'pulses': 0}, {'pulses': 1, 'level': 1},
                {'pulses': 1, 'bounce': 17}, {'pulses': 1, 'high_ms': 0}):
        check_error(clean.put('/api/sim/pins/34', bad), 400, 'invalid_field')


def test_a_rule_acts_without_waiting_for_a_request(clean):
    """The press's action runs as the edge comes (the sim wakes the event
    loop), not when the next request happens to wake it: by the time we
    look, the 100 ms pulse it started has run and ended."""
    create(clean, id='relay', kind='pulse', pin=4, duration_ms=100,
           start=False)
    create(clean, id='button', kind='edge', pin=14, debounce_ms=5,
           on=[{'when': 'press', 'do': 'pulse', 'binding': 'relay'}])
    # the press comes 200 ms after this request, the loop asleep by then
    assert clean.put('/api/sim/pins/14', {'pulses': 1, 'high_ms': 20,
                                          'low_ms': 200})[0] == 200
    time.sleep(0.8)  # no request meanwhile
    relay = clean.get('/api/bindings/relay')[1]
    assert relay['stats']['fires'] == 1 and not relay['running'], relay


def test_rules_checked_at_create_and_a_deleted_target_shown(clean):
    create(clean, id='relay', kind='pulse', pin=4, duration_ms=100,
           start=False)
    rule = [{'when': 'press', 'do': 'toggle', 'binding': 'nope'}]
    check_error(clean.post('/api/bindings', {'kind': 'edge', 'pin': 14,
                                             'on': rule}),
                400, 'invalid_field', 'on[0].binding', says=['nope', 'relay'])
    rule[0]['binding'] = 'relay'
    create(clean, id='button', kind='edge', pin=14, on=rule)
    create(clean, id='other', kind='edge', pin=27,
           on=[{'when': 'press', 'do': 'stop', 'binding': 'button'}])
    check_error(clean.patch('/api/bindings/button', {'on': [
        {'when': 'press', 'do': 'stop', 'binding': 'other'}]}),
        400, 'rule_loop', 'on[0].binding', says=['button -> other -> button'])
    assert clean.delete('/api/bindings/relay')[0] == 204
    button = clean.get('/api/bindings/button')[1]
    assert button['running'] and 'relay' in button['error'], button


def test_pwm_fade_shows_the_live_duty(clean):
    create(clean, id='lamp', kind='pwm', pin=2, duty=0, fade_ms=1000)
    status, lamp, _ = clean.patch('/api/bindings/lamp', {'duty': 100})
    assert status == 200 and lamp['fading'] and lamp['target_duty'] == 100
    seen = [clean.get('/api/bindings/lamp')[1]['duty'] for _ in range(3)
            if time.sleep(0.2) is None]
    assert seen == sorted(seen) and 0 < seen[0] and seen[-1] < 100, seen
    done = wait_for(lambda: not clean.get('/api/bindings/lamp')[1]['fading'],
                    5)
    lamp = clean.get('/api/bindings/lamp')[1]
    assert done and lamp['duty'] == 100, lamp
    assert clean.get('/api/status')[1]['timers_free'] == 8  # given back
