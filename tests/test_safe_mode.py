"""Safe mode keeps what works (issue 20, 1): a config.json with parts that do
not validate runs the rest; each part left out is in /api/status
"config_errors" and the event log; the file as it was is kept (served at
/api/config/rejected) until a PUT of a fixed config or a DELETE; no save
drops a rejected binding. On the real VM, over HTTP."""
import json

import pytest

from vm import VM, make_flash

# the issue's case: 9 bindings and 2 events, one binding with a typo
NINE = [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500},
    {'id': 'porch', 'kind': 'pulse', 'pin': 4, 'duration_ms': 1000,
     'start': False},
    {'id': 'sos', 'kind': 'pattern', 'pin': 5, 'steps_ms': [100, 100],
     'start': False},
    {'id': 'temp', 'kind': 'sample', 'pin': 34, 'period_ms': 1000,
     'start': False},
    {'id': 'fan', 'kind': 'pwm', 'pin': 12, 'duty': 30, 'start': False},
    {'id': 'door', 'kind': 'counter', 'pin': 35},  # "countr" below
    {'id': 'glow', 'kind': 'breathe', 'pin': 13, 'period_ms': 2000,
     'start': False},
    {'id': 'button', 'kind': 'edge', 'pin': 36},
    {'id': 'relay', 'kind': 'blink', 'pin': 14, 'period_ms': 1000,
     'start': False},
]
EVENTS = [{'id': 'morning', 'binding': 'porch', 'do': 'start', 'at': '07:30'},
          {'id': 'evening', 'binding': 'relay', 'do': 'stop', 'at': '22:00'}]


def issue_config():
    config = json.loads(json.dumps({
        'board': 'auto', 'api_token': 'sekrit-token-123',
        'wifi': {'ssid': '', 'password': 'wifi-pass-456'},
        'bindings': NINE, 'schedules': EVENTS}))  # a copy: tests change it
    config['bindings'][5]['kind'] = 'countr'
    return config


AUTH = {'Authorization': 'Bearer sekrit-token-123'}


def ids(vm):
    return [b['id'] for b in vm.get('/api/bindings')[1]['bindings']]


def boot(tmp_path, config):
    text = config if isinstance(config, str) else json.dumps(config, indent=2)
    return VM(make_flash(tmp_path / 'flash', text)).start()


def test_good_config_runs_in_full_and_keeps_nothing(tmp_path):
    good = issue_config()
    good['bindings'][5]['kind'] = 'counter'
    vm = boot(tmp_path, good)
    try:
        s = vm.get('/api/status')[1]
        assert s['config_errors'] == [] and s['safe_mode'] is False, s
        assert s['bindings'] == 9
        status, err = vm.get('/api/config/rejected')[:2]
        assert status == 404 and err['error']['code'] == 'not_found', err
        assert vm.delete('/api/config/rejected', headers=AUTH)[0] == 404
        assert 'SAFE MODE' not in vm.output()
    finally:
        vm.stop()


def test_the_issues_case_runs_8_lists_1_and_keeps_the_file(tmp_path):
    config = issue_config()
    text = json.dumps(config, indent=2)
    vm = boot(tmp_path, text)
    flash = vm.flash
    try:
        s = vm.get('/api/status')[1]
        assert s['bindings'] == 8 and s['safe_mode'] is True, s
        errors = s['config_errors']
        assert len(errors) == 1, errors
        assert errors[0]['where'] == 'bindings[5]', errors
        assert 'countr' in errors[0]['message'], errors
        assert 'counter' in errors[0]['message'], errors  # the valid kinds
        assert ids(vm) == [b['id'] for b in NINE if b['id'] != 'door']
        assert [e['id'] for e in vm.get('/api/schedules')[1]['schedules']] == \
            ['morning', 'evening']
        out = vm.output()
        assert 'config: bindings[5] rejected: ' in out, out
        assert 'SAFE MODE' in out and 'Traceback' not in out, out
        log = vm.get('/api/log')
        if log[0] == 200:  # the event log (its route is another change's)
            texts = [e['text'] for e in log[1]['events']]
            assert any('bindings[5] rejected' in t for t in texts), texts
        # the file as it was, its secrets hidden as GET /api/config hides them
        status, kept = vm.get('/api/config/rejected')[:2]
        assert status == 200, kept
        assert kept['errors'] == errors
        assert kept['text'] == text.replace('sekrit-token-123', '********') \
            .replace('wifi-pass-456', '********')
        assert kept['config']['bindings'][5]['kind'] == 'countr'
        assert kept['config']['api_token'] == '********'
        # GET /api/config is the working config: a useful backup
        working = vm.get('/api/config')[1]
        assert [b['id'] for b in working['bindings']] == ids(vm)
        assert [e['id'] for e in working['schedules']] == ['morning', 'evening']
        assert working['api_token'] == '********'
        # a new binding keeps the other 8 and both events
        status, out = vm.post('/api/bindings', {
            'id': 'new', 'kind': 'blink', 'pin': 15, 'period_ms': 700},
            headers=AUTH)[:2]
        assert status == 201, out
        saved = json.loads((flash / 'config.json').read_text())
        assert [b['id'] for b in saved['bindings']] == \
            [b['id'] for b in NINE if b['id'] != 'door'] + ['new']
        assert [e['id'] for e in saved['schedules']] == ['morning', 'evening']
        assert saved['api_token'] == 'sekrit-token-123'
        # ... and the bad one stays in the kept file, byte for byte
        assert (flash / 'config.rejected.json').read_text() == text
        s = vm.get('/api/status')[1]
        assert s['config_errors'] == errors and s['safe_mode'] is True, s
    finally:
        vm.stop()
    # a reboot runs the 9 saved and still lists what the kept file has
    vm = VM(flash).start()
    try:
        s = vm.get('/api/status')[1]
        assert s['bindings'] == 9 and s['config_errors'] == errors, s
        assert 'SAFE MODE' in vm.output()
        assert vm.get('/api/config/rejected')[1]['text'] == kept['text']
        # the fix: the kept config with the typo corrected, PUT back
        fixed = kept['config']
        fixed['bindings'][5]['kind'] = 'counter'
        status, out = vm.put('/api/config', fixed, headers=AUTH)[:2]
        assert status == 200, out
        s = vm.get('/api/status')[1]
        assert s['config_errors'] == [] and s['safe_mode'] is False, s
        assert s['config_error'] is None
        assert ids(vm) == [b['id'] for b in NINE]
        assert vm.get('/api/config/rejected')[0] == 404
        assert not (flash / 'config.rejected.json').exists()
        saved = json.loads((flash / 'config.json').read_text())
        # the secrets sent back as "********" kept their stored values
        assert saved['api_token'] == 'sekrit-token-123'
        assert saved['wifi']['password'] == 'wifi-pass-456'
    finally:
        vm.stop()


def test_a_put_that_is_still_invalid_changes_nothing(tmp_path):
    vm = boot(tmp_path, issue_config())
    try:
        kept = vm.get('/api/config/rejected')[1]
        status, err = vm.put('/api/config', kept['config'], headers=AUTH)[:2]
        assert status == 400, err
        assert err['error']['field'] == 'bindings[5].kind', err
        s = vm.get('/api/status')[1]
        assert s['bindings'] == 8 and len(s['config_errors']) == 1, s
        assert vm.get('/api/config/rejected')[0] == 200
    finally:
        vm.stop()


def test_a_patch_keeps_the_rejected_file_and_delete_drops_it(tmp_path):
    text = json.dumps(issue_config())
    vm = boot(tmp_path, text)
    flash = vm.flash
    try:
        status, out = vm.patch('/api/config', {'location': {'lat': 52.5,
                                                            'lon': 13.4}},
                               headers=AUTH)[:2]
        assert status == 200, out
        assert (flash / 'config.rejected.json').read_text() == text
        assert len(vm.get('/api/status')[1]['config_errors']) == 1
        # a PATCH of the bindings too: the kept file stays
        status, out = vm.patch('/api/config', {'bindings': []},
                               headers=AUTH)[:2]
        assert status == 200, out
        assert (flash / 'config.rejected.json').read_text() == text
        assert vm.delete('/api/config/rejected')[0] == 401  # a write
        status = vm.delete('/api/config/rejected', headers=AUTH)[0]
        assert status == 204
        assert not (flash / 'config.rejected.json').exists()
        s = vm.get('/api/status')[1]
        assert s['config_errors'] == [] and s['safe_mode'] is False, s
        assert vm.get('/api/config/rejected')[0] == 404
        assert vm.delete('/api/config/rejected', headers=AUTH)[0] == 404
        saved = json.loads((flash / 'config.json').read_text())
        assert saved['location'] == {'lat': 52.5, 'lon': 13.4}
    finally:
        vm.stop()


def test_delete_before_any_save_writes_the_working_config(tmp_path):
    text = json.dumps(issue_config())
    vm = boot(tmp_path, text)
    flash = vm.flash
    try:
        assert vm.delete('/api/config/rejected', headers=AUTH)[0] == 204
        saved = json.loads((flash / 'config.json').read_text())
        assert len(saved['bindings']) == 8
        assert not (flash / 'config.rejected.json').exists()
    finally:
        vm.stop()
    vm = VM(flash).start()
    try:
        s = vm.get('/api/status')[1]
        assert s['config_errors'] == [] and s['bindings'] == 8, s
    finally:
        vm.stop()


NOT_JSON = '{\n  "bindings": [\n    {"id": "a", "kind": "blink", "pin": 2}\n  ],\n}\n'


def test_a_file_that_is_not_json_boots_with_no_bindings_and_says_where(
        tmp_path):
    vm = boot(tmp_path, NOT_JSON)
    flash = vm.flash
    try:
        s = vm.get('/api/status')[1]
        assert s['bindings'] == 0 and s['safe_mode'] is True, s
        (error,) = s['config_errors']
        assert error['where'] == 'config.json', error
        assert 'line 5 column 1' in error['message'], error
        assert 'byte' not in error['message'].replace(' bytes;', ''), error
        kept = vm.get('/api/config/rejected')[1]
        assert kept == {'config': None, 'text': NOT_JSON, 'errors': [error]}
        assert vm.post('/api/bindings', {'id': 'b', 'kind': 'blink', 'pin': 4,
                                         'period_ms': 100})[0] == 201
        assert (flash / 'config.rejected.json').read_text() == NOT_JSON
        assert json.loads((flash / 'config.json').read_text())['bindings'][0][
            'id'] == 'b'
    finally:
        vm.stop()


@pytest.mark.parametrize('change, where, runs', [
    # an event naming no known action; the other event runs
    (lambda c: c['schedules'][1].update(do='explode'), ['schedules[1]'], 9),
    # two bindings on one pin: the first runs
    (lambda c: c['bindings'][8].update(pin=2), ['bindings[8]'], 8),
    # a section's key takes its default; the bindings all run
    (lambda c: c.update(http={'port': 'eighty', 'log': False}), ['http.port'],
     9),
    (lambda c: c.update(colour='blue'), ['colour'], 9),
    (lambda c: c['time'].update(tz='Mars/Olympus'), ['time.tz'], 9),
    # a rule that acts on a binding left out goes too
    (lambda c: (c['bindings'][7].update(on=[{'when': 'press', 'do': 'toggle',
                                              'binding': 'door'}]),
                c['bindings'][5].update(kind='countr')),
     ['bindings[5]', 'bindings[7]'], 7),
], ids=['bad-event', 'pin-twice', 'section-key', 'unknown-key', 'bad-tz',
        'rule-to-rejected'])
def test_each_part_that_fails_is_left_out_alone(tmp_path, change, where, runs):
    config = issue_config()
    config['bindings'][5]['kind'] = 'counter'
    config['time'] = {'tz': 'UTC'}
    change(config)
    vm = boot(tmp_path, config)
    try:
        s = vm.get('/api/status')[1]
        assert [e['where'] for e in s['config_errors']] == where, s
        assert s['bindings'] == runs, s
        assert all(e['message'] for e in s['config_errors'])
        if 'http.port' in where:  # the rest of the section applies
            assert vm.get('/api/config')[1]['http']['log'] is False
        if 'schedules[1]' in where:
            assert [e['id'] for e in vm.get('/api/schedules')[1]['schedules']] \
                == ['morning']
    finally:
        vm.stop()


def test_more_events_than_the_limit_leaves_out_the_last(tmp_path):
    config = issue_config()
    config['bindings'][5]['kind'] = 'counter'
    config['limits'] = {'schedules': 1}
    vm = boot(tmp_path, config)
    try:
        s = vm.get('/api/status')[1]
        assert [e['where'] for e in s['config_errors']] == ['schedules[1]'], s
        assert 'limits.schedules' in s['config_errors'][0]['message']
    finally:
        vm.stop()


def no_events():
    # (app.log's lines stop once the clock is loaded: its note() calls
    # clock.epoch(), which app.time's Clock does not have)
    return dict(issue_config(), schedules=[])


def test_a_kept_file_replaced_by_a_new_rejection_is_logged(tmp_path):
    flash = make_flash(tmp_path / 'flash', json.dumps(no_events()))
    (flash / 'config.rejected.json').write_text('{"older": true}')
    vm = VM(flash).start()
    try:
        assert vm.post('/api/bindings/led/stop', headers=AUTH)[0] == 200
        assert json.loads((flash / 'config.rejected.json').read_text())[
            'bindings'][5]['kind'] == 'countr'
        assert 'config.rejected.json (kept before) replaced' in vm.output()
    finally:
        vm.stop()


def test_dropping_the_kept_file_is_logged(tmp_path):
    vm = boot(tmp_path, no_events())
    try:
        fixed = vm.get('/api/config/rejected')[1]['config']
        fixed['bindings'][5]['kind'] = 'counter'
        assert vm.put('/api/config', fixed, headers=AUTH)[0] == 200
        assert 'pinwheel: config: the rejected config (config.json) is ' \
            'dropped: a whole new config (PUT) replaced it' in vm.output()
    finally:
        vm.stop()


def test_a_kept_file_that_validates_now_says_so(tmp_path):
    good = issue_config()
    good['bindings'][5]['kind'] = 'counter'
    flash = make_flash(tmp_path / 'flash', json.dumps(good))
    (flash / 'config.rejected.json').write_text(json.dumps(good))
    vm = VM(flash).start()
    try:
        (error,) = vm.get('/api/status')[1]['config_errors']
        assert 'validates in full now' in error['message'], error
    finally:
        vm.stop()
