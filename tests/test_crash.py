"""Power cuts and bad config files, on the real VM.

- SIGKILL the VM at random moments while a client PATCHes bindings: after
  every restart config.json is valid and holds the state before or after
  the last acknowledged change; .tmp leftovers never break a boot.
- Corrupt configs boot in safe mode naming the problem and the field, and
  PUT /api/config with a good config recovers without a reboot.
"""
import http.client
import json
import random
import threading
import time

import pytest
from vm import VM, make_flash

IDS = ('led', 'fan', 'buzzer')
START = {'board': 'auto', 'bindings': [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 100},
    {'id': 'fan', 'kind': 'blink', 'pin': 4, 'period_ms': 100},
    {'id': 'buzzer', 'kind': 'blink', 'pin': 5, 'period_ms': 100},
]}
KILLS = 50


def periods_of(config):
    return {b['id']: b['period_ms'] for b in config['bindings']}


def test_power_cuts_never_break_config_json(tmp_path):
    flash = make_flash(tmp_path / 'flash', START)
    rng = random.Random(1234)
    acked = {i: 100 for i in IDS}  # the state after the last acknowledged PATCH
    counter = 1000
    tmp_seen = in_flight_seen = patches = 0
    t0 = time.monotonic()
    for kill in range(KILLS):
        vm = VM(flash).start()
        try:
            # the board came back with exactly the saved state
            status = vm.get('/api/status')[1]
            assert status['safe_mode'] is False, status
            live = {b['id']: b['period_ms']
                    for b in vm.get('/api/bindings')[1]['bindings']}
            assert live == acked, (kill, live, acked)
            cut = threading.Timer(rng.uniform(0.02, 0.3), vm.proc.kill)
            cut.start()
            pending = None
            while True:
                target = rng.choice(IDS)
                counter += 1
                pending = (target, counter)
                try:
                    status, out, _ = vm.patch('/api/bindings/' + target,
                                              {'period_ms': counter}, timeout=2)
                except (OSError, http.client.HTTPException):
                    break  # the power is gone
                assert status == 200, out
                acked[target] = counter
                pending = None
                patches += 1
            cut.join()
        finally:
            vm.stop()
        if (flash / 'config.json.tmp').exists():
            tmp_seen += 1
        saved = periods_of(json.loads((flash / 'config.json').read_text()))
        after = dict(acked)
        if pending is not None:
            after[pending[0]] = pending[1]
        # before/after the last acknowledged change, or the one in flight
        assert saved in (acked, after), (kill, saved, acked, pending)
        if saved != acked:
            in_flight_seen += 1
            acked = saved  # the unacknowledged change made it to flash
    took = time.monotonic() - t0
    print('power cuts: %d kills, %d acknowledged PATCHes, %d cut mid-request '
          'but saved, %d left a .tmp, %.1f s' % (KILLS, patches, in_flight_seen,
                                                 tmp_seen, took))
    vm = VM(flash).start()  # and the last one boots too
    try:
        assert vm.get('/api/status')[1]['safe_mode'] is False
    finally:
        vm.stop()


GOOD = {'board': 'auto', 'bindings': [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 50}]}
GOOD_TEXT = json.dumps(GOOD)


def binding(**kw):
    b = {'id': 'x', 'kind': 'blink', 'pin': 2, 'period_ms': 100}
    b.update(kw)
    return json.dumps({'bindings': [b]})


CORRUPT = [
    # (name, file bytes, code, field)
    ('truncated-10', GOOD_TEXT[:10], 'invalid_json', None),
    ('truncated-half', GOOD_TEXT[:len(GOOD_TEXT) // 2], 'invalid_json', None),
    ('truncated-last-byte', GOOD_TEXT[:-1], 'invalid_json', None),
    ('zero-bytes', '', 'invalid_json', None),
    ('nul-filled', b'\x00' * 512, 'invalid_json', None),
    ('binary', bytes(range(256)), 'invalid_json', None),
    ('not-utf8', b'{"board": "\xff\xfe"}', 'invalid_json', None),
    ('trailing-garbage', GOOD_TEXT + '}}', 'invalid_json', None),
    ('two-documents', GOOD_TEXT + GOOD_TEXT, 'invalid_json', None),
    ('top-level-list', '[]', 'invalid_json', None),
    ('top-level-null', 'null', 'invalid_json', None),
    ('deep-nesting', '[' * 3000 + ']' * 3000, 'invalid_json', None),
    ('unknown-key', '{"bogus": 1}', 'invalid_field', 'bogus'),
    ('board-type', '{"board": 32}', 'invalid_field', 'board'),
    ('unknown-board', '{"board": "pyboard"}', 'invalid_config', 'board'),
    ('port-type', '{"http": {"port": "80"}}', 'invalid_field', 'http.port'),
    ('port-range', '{"http": {"port": 70000}}', 'invalid_field', 'http.port'),
    ('port-huge', '{"http": {"port": %s}}' % ('9' * 500), 'invalid_field',
     'http.port'),
    ('http-not-object', '{"http": 8080}', 'invalid_field', 'http'),
    ('wifi-password-type', '{"wifi": {"password": 1234}}', 'invalid_field',
     'wifi.password'),
    ('limits-type', '{"limits": {"bindings": "16"}}', 'invalid_field',
     'limits.bindings'),
    ('token-type', '{"api_token": 12345}', 'invalid_field', 'api_token'),
    ('token-empty', '{"api_token": ""}', 'invalid_field', 'api_token'),
    ('auth-value', '{"auth": "nobody"}', 'invalid_field', 'auth'),
    ('cors-type', '{"http": {"cors_origins": "*"}}', 'invalid_field',
     'http.cors_origins'),
    ('bindings-type', '{"bindings": "led"}', 'invalid_field', 'bindings'),
    ('binding-not-object', '{"bindings": [42]}', 'invalid_json', 'bindings[0]'),
    ('unknown-kind', binding(kind='strobe'), 'unknown_kind', 'bindings[0].kind'),
    ('kind-type', binding(kind=7), 'unknown_kind', 'bindings[0].kind'),
    ('period-float', binding(period_ms=1.5), 'invalid_field',
     'bindings[0].period_ms'),
    ('period-string', binding(period_ms='100'), 'invalid_field',
     'bindings[0].period_ms'),
    ('period-zero', binding(period_ms=0), 'invalid_field',
     'bindings[0].period_ms'),
    ('missing-period', json.dumps({'bindings': [
        {'kind': 'blink', 'pin': 2}]}), 'invalid_field', 'bindings[0].period_ms'),
    ('unknown-field', binding(colour='red'), 'invalid_field',
     'bindings[0].colour'),
    ('bad-id', binding(id='a b'), 'invalid_field', 'bindings[0].id'),
    ('duplicate-id', json.dumps({'bindings': [
        {'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 9},
        {'id': 'a', 'kind': 'blink', 'pin': 4, 'period_ms': 9}]}),
     'id_exists', 'bindings[1].id'),
    ('two-on-one-pin', json.dumps({'bindings': [
        {'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 9},
        {'id': 'b', 'kind': 'pulse', 'pin': 2, 'duration_ms': 9}]}),
     'pin_in_use', 'bindings[1].pin'),
    ('pin-missing-on-board', binding(pin=99), 'invalid_pin', 'bindings[0].pin'),
    ('pin-name-missing', binding(pin='LED'), 'invalid_pin', 'bindings[0].pin'),
    ('pin-reserved', binding(pin=6), 'invalid_pin', 'bindings[0].pin'),
    ('pin-input-only', binding(pin=34), 'invalid_pin', 'bindings[0].pin'),
    ('pin-bool', binding(pin=True), 'invalid_pin', 'bindings[0].pin'),
    ('too-many-bindings', json.dumps({'limits': {'bindings': 1}, 'bindings': [
        {'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 9},
        {'id': 'b', 'kind': 'blink', 'pin': 4, 'period_ms': 9}]}),
     'limit_reached', 'bindings[1]'),
    ('more-than-timers', json.dumps({'limits': {'virtual_timers': 1}, 'bindings': [
        {'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 9},
        {'id': 'b', 'kind': 'blink', 'pin': 4, 'period_ms': 9}]}),
     'no_free_timer', 'bindings[1]'),
]


@pytest.fixture(scope='module')
def recovered():
    return []


@pytest.mark.parametrize('name, data, code, field', CORRUPT,
                         ids=[c[0] for c in CORRUPT])
def test_corrupt_config_boots_safe_and_recovers(tmp_path, recovered, name,
                                                data, code, field):
    vm = VM(make_flash(tmp_path / 'flash', data)).start()
    try:
        status = vm.get('/api/status')[1]
        assert status['safe_mode'] is True, status
        err = status['config_error']
        assert err['code'] == code, err
        assert err['field'] == field, err
        assert err['message'] and len(err['message']) < 400, err
        # what validates runs: here the bindings before the one at fault
        at_fault = field.split('.')[0] if field and field.startswith(
            'bindings[') else field
        listed = [e['where'] for e in status['config_errors']]
        assert listed and (at_fault in listed or listed == ['config.json']), \
            status
        ran = vm.get('/api/bindings')[1]['bindings']
        assert [b['id'] for b in ran] == (['a'] if at_fault == 'bindings[1]'
                                          else [])
        pid = vm.proc.pid
        # a good config recovers it, with no reboot
        status, out, _ = vm.put('/api/config', GOOD)
        assert status == 200, out
        status = vm.get('/api/status')[1]
        assert status['safe_mode'] is False and status['config_error'] is None
        assert status['running'] == 1
        assert vm.proc.pid == pid and vm.proc.poll() is None
        saved = json.loads((vm.flash / 'config.json').read_text())
        assert saved['bindings'][0]['id'] == 'led'
        assert 'Traceback' not in vm.output(), vm.output()
        recovered.append(name)
    finally:
        vm.stop()
    # and it boots normally from the recovered file
    vm = VM(vm.flash).start()
    try:
        assert vm.get('/api/status')[1]['safe_mode'] is False
    finally:
        vm.stop()


@pytest.mark.parametrize('files, safe', [
    ({'config.json': GOOD_TEXT, 'config.json.tmp': GOOD_TEXT[:17]}, False),
    ({'config.json': GOOD_TEXT, 'config.json.tmp': ''}, False),
    ({'config.json.tmp': GOOD_TEXT}, False),  # cut between remove and rename
    ({'config.json.tmp': GOOD_TEXT[:20]}, True),
    ({'config.json.bad': 'junk', 'config.json': GOOD_TEXT}, False),
], ids=['partial-tmp', 'empty-tmp', 'only-tmp', 'only-partial-tmp', 'old-bad'])
def test_tmp_leftovers_never_break_a_boot(tmp_path, files, safe):
    flash = make_flash(tmp_path / 'flash', GOOD)
    (flash / 'config.json').unlink()
    for name, text in files.items():
        (flash / name).write_text(text)
    vm = VM(flash).start()
    try:
        status = vm.get('/api/status')[1]
        assert status['safe_mode'] is safe, status
        if not safe:
            assert status['running'] == 1
            # the next save still works and leaves no .tmp behind
            assert vm.post('/api/bindings/led/stop')[0] == 200
            assert not (flash / 'config.json.tmp').exists()
            saved = json.loads((flash / 'config.json').read_text())
            assert saved['bindings'][0]['start'] is False
    finally:
        vm.stop()
