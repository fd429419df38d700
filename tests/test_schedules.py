"""The clock, the schedules and power-on over HTTP, on the real VM: the
simulated board's clock jumps with PUT /api/sim/clock, restarts are a
SIGKILL and a new VM on the same flash (as a power cut)."""
import calendar
import json
import time

import pytest
from vm import VM, make_flash, raw_exchange, wait_for

LED = {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 100,
       'start': False}


def epoch(y, m, d, hh, mm, ss=0):
    return calendar.timegm((y, m, d, hh, mm, ss, 0, 0, 0))




def running(vm, binding_id='led'):
    return vm.get('/api/bindings/' + binding_id)[1]['running']


def restart(vm):
    vm.stop()  # SIGKILL: a power cut
    return VM(vm.flash, port=vm.port).start()


@pytest.fixture
def board(tmp_path):
    vm = VM(make_flash(tmp_path / 'flash', {'bindings': [LED]})).start()
    yield vm
    vm.stop()


def test_time_reads_and_sets_the_clock(board):
    status, t, _ = board.get('/api/time')
    assert status == 200
    assert set(t) == {'utc', 'epoch', 'tz', 'local', 'synced', 'source',
                      'last_sync_s'}
    assert t['synced'] is True and t['tz'] == 'UTC'
    assert abs(t['epoch'] - time.time()) < 60  # the host's clock
    status, t, _ = board.put('/api/time', {'epoch': epoch(2026, 12, 1, 18, 0),
                                           'source': 'browser'})
    assert status == 200, t
    assert t['utc'].startswith('2026-12-01T18:00:') and t['source'] == 'browser'
    status, body, _ = board.patch('/api/config', {'time': {'tz': 'CET-1CEST,EU'}})
    assert status == 200, body
    t = board.get('/api/time')[1]
    assert t['local'].startswith('2026-12-01T19:00:') and t['local'].endswith('+01:00')
    for bad in ({'epoch': 'now'}, {'epoch': 12}, {'epoch': 1.5e9},
                {'epoch': epoch(2026, 1, 1, 0, 0), 'source': 'ntp'}, {}, [1]):
        status, body, _ = board.put('/api/time', bad)
        assert status == 400 and body['error']['code'] in (
            'invalid_field', 'invalid_json'), (bad, body)
    status, body, _ = board.patch('/api/config', {'time': {'tz': 'CET'}})
    assert status == 400 and body['error']['field'] == 'time.tz', body


def test_a_zone_read_at_boot_applies_and_a_new_one_after_it(tmp_path):
    """The zone's parser (app.time.tzparse) is boot code: the clock reads
    the config's zone at boot, then the parser is dropped; a zone changed
    later loads it again. Both boots: the checking one and a trusted one."""
    vm = VM(make_flash(tmp_path / 'flash', {
        'bindings': [LED], 'time': {'tz': 'CET-1CEST,EU'},
        'schedules': [{'binding': 'led', 'do': 'start', 'at': '08:00'}]}))
    vm.start()
    try:
        for _ in range(2):
            vm.put('/api/sim/clock', {'epoch': epoch(2026, 12, 1, 18, 0)})
            t = vm.get('/api/time')[1]
            assert t['local'].startswith('2026-12-01T19:00:'), t
            ev = vm.get('/api/schedules')[1]['schedules'][0]
            assert ev['next_fire'] == epoch(2026, 12, 2, 7, 0), ev
            vm = restart(vm)  # a trusted boot
        vm.put('/api/sim/clock', {'epoch': epoch(2026, 12, 1, 18, 0)})
        status, body, _ = vm.patch('/api/config', {'time': {'tz': 'JST-9'}})
        assert status == 200, body
        assert vm.get('/api/time')[1]['local'].startswith('2026-12-02T03:00:')
    finally:
        vm.stop()


def test_an_event_fires_when_the_clock_reaches_its_minute(board):
    status, ev, hdrs = board.post('/api/schedules', {
        'binding': 'led', 'do': 'start', 'at': '08:00', 'days': ['tue']})
    assert status == 201, ev
    assert hdrs['location'] == '/api/schedules/' + ev['id']
    board.put('/api/sim/clock', {'epoch': epoch(2026, 12, 1, 7, 59, 58)})
    assert board.get('/api/schedules/' + ev['id'])[1]['next_fire'] == epoch(
        2026, 12, 1, 8, 0)
    assert not running(board)
    assert wait_for(lambda: running(board)), board.output()
    ev = board.get('/api/schedules/' + ev['id'])[1]
    assert ev['last_fired'] >= epoch(2026, 12, 1, 8, 0)
    assert ev['next_fire'] == epoch(2026, 12, 8, 8, 0) and ev['error'] is None


def test_not_synced_nothing_fires_and_status_says_so(board):
    board.post('/api/schedules', {'binding': 'led', 'do': 'start',
                                  'at': '08:00'})
    t = board.put('/api/sim/clock', {'synced': False})[1]
    assert t['synced'] is False and t['source'] == 'none'
    assert board.get('/api/status')[1]['clock'] == {'synced': False,
                                                    'source': 'none'}
    board.put('/api/sim/clock', {'epoch': epoch(2026, 12, 1, 7, 59, 59)})
    listed = board.get('/api/schedules')[1]
    assert listed['clock']['synced'] is False
    assert listed['schedules'][0]['next_fire'] is None
    time.sleep(2.5)  # past 08:00 on the board's clock: it must stay off
    assert not running(board)


def test_event_crud_and_errors(board):
    status, ev, _ = board.post('/api/schedules', {
        'id': 'wake', 'binding': 'led', 'do': 'on', 'at': '06:30'})
    assert status == 201 and ev['days'] == ['mon', 'tue', 'wed', 'thu',
                                            'fri', 'sat', 'sun'], ev
    status, ev, _ = board.patch('/api/schedules/wake', {'days': ['sat'],
                                                        'enabled': False})
    assert status == 200 and ev['days'] == ['sat'] and ev['enabled'] is False
    assert ev['next_fire'] is None
    status, ev, _ = board.put('/api/schedules/wake', {
        'binding': 'led', 'do': 'toggle', 'at': '07:00'})
    assert status == 200 and ev['days'][0] == 'mon' and ev['enabled'], ev
    status, body, _ = board.post('/api/schedules', {'binding': 'nope',
                                                    'do': 'start', 'at': '07:00'})
    assert status == 400 and body['error']['field'] == 'binding', body
    status, body, _ = board.post('/api/schedules', {'id': 'wake', 'binding': 'led',
                                                    'do': 'start', 'at': '07:00'})
    assert status == 409 and body['error']['code'] == 'id_exists'
    assert board.get('/api/schedules/nope')[0] == 404
    assert board.delete('/api/schedules/wake')[0] == 204
    assert board.get('/api/schedules')[1]['schedules'] == []


def test_the_list_is_the_same_json_streamed_event_by_event(tmp_path):
    # GET /api/schedules is made an event at a time (the server's
    # json_items): whole with its Content-Length up to 2 KB, chunked
    # beyond; the document is the same as one dumps of it, empty or not,
    # a binding id that is not ASCII included (a chunk's size counts
    # bytes)
    vm = VM(make_flash(tmp_path / 'flash', {'bindings': [LED]})).start()
    try:
        status, body, hdrs = vm.get('/api/schedules')
        assert status == 200 and body == {'schedules': [], 'clock': {
            'synced': True, 'source': 'ntp'}}, body
        assert hdrs['content-type'] == 'application/json; charset=UTF-8'
        for hour in range(8, 20):
            assert vm.post('/api/schedules', {'binding': 'led', 'do': 'start',
                                              'at': '%02d:00' % hour})[0] == 201
        status, body, hdrs = vm.get('/api/schedules')
        assert status == 200 and 'content-length' not in hdrs and hdrs[
            'transfer-encoding'] == 'chunked', hdrs  # over 2 KB
        config = vm.get('/api/config')[1]
        config['schedules'].append({'id': 'fan', 'binding': 'l\u00e4mpchen',
                                    'do': 'stop', 'at': '22:00'})
        status, body, _ = vm.put('/api/config', config)
        assert status == 200, body
        status, body, hdrs = vm.get('/api/schedules')
        assert status == 200 and hdrs['transfer-encoding'] == 'chunked', hdrs
        assert [e['id'] for e in body['schedules']] == [
            'ev-%d' % i for i in range(1, 13)] + ['fan'], body
        assert body['schedules'][12]['binding'] == 'l\u00e4mpchen'
        assert set(body['schedules'][0]) == {
            'id', 'binding', 'do', 'at', 'offset_min', 'days', 'enabled',
            'last_fired', 'next_fire', 'error'}
        assert body['clock'] == {'synced': True, 'source': 'ntp'}
        head = raw_exchange(vm.port, b'HEAD /api/schedules HTTP/1.0\r\n\r\n')
        assert head.startswith(b'HTTP/1.0 200 ') and head.endswith(
            b'\r\n\r\n'), head  # the head alone
    finally:
        vm.stop()


def test_deleting_a_scheduled_binding_is_409_unless_cascade(board):
    for at in ('08:00', '20:00'):
        board.post('/api/schedules', {'binding': 'led', 'do': 'start', 'at': at})
    status, body, _ = board.delete('/api/bindings/led')
    assert status == 409, body
    assert body['error']['code'] == 'binding_scheduled'
    assert 'ev-1, ev-2' in body['error']['message']
    assert running(board) is False  # still there
    assert board.delete('/api/bindings/led?cascade=1')[0] == 204
    assert board.get('/api/schedules')[1]['schedules'] == []
    saved = json.loads((board.flash / 'config.json').read_text())
    assert saved['schedules'] == [] and saved['bindings'] == []


def test_64_events_survive_a_restart(board):
    for i in range(64):
        status, body, _ = board.post('/api/schedules', {
            'binding': 'led', 'do': 'start', 'at': '%02d:%02d' % (i // 4, i % 4)})
        assert status == 201, body
    status, body, _ = board.post('/api/schedules', {
        'binding': 'led', 'do': 'start', 'at': '23:00'})
    assert status == 409 and body['error']['code'] == 'limit_reached'
    before = board.get('/api/schedules')[1]['schedules']
    vm = restart(board)
    try:
        after = vm.get('/api/schedules')[1]['schedules']
        key = lambda e: {k: e[k] for k in ('id', 'binding', 'do', 'at', 'days')}
        assert [key(e) for e in after] == [key(e) for e in before]
        assert len(after) == 64
    finally:
        vm.stop()


def test_power_on_policies_across_a_restart(tmp_path):
    config = {'bindings': [
        {'id': 'off', 'kind': 'blink', 'pin': 2, 'period_ms': 100,
         'power_on': 'off'},
        {'id': 'on', 'kind': 'blink', 'pin': 4, 'period_ms': 100,
         'start': False, 'power_on': 'on'},
        {'id': 'restore', 'kind': 'blink', 'pin': 5, 'period_ms': 100},
        {'id': 'sched', 'kind': 'blink', 'pin': 12, 'period_ms': 100,
         'start': False, 'power_on': 'schedule'},
        {'id': 'relay', 'kind': 'pulse', 'pin': 13, 'duration_ms': 100,
         'active_level': 0, 'power_on': 'off'}],
        # every day at 00:00: at boot the latest event before now is a start
        'schedules': [{'binding': 'sched', 'do': 'start', 'at': '00:00'}]}
    vm = VM(make_flash(tmp_path / 'flash', config)).start()
    try:
        ids = ('off', 'on', 'restore', 'sched')
        assert wait_for(lambda: running(vm, 'sched'))
        assert [running(vm, i) for i in ids] == [False, True, True, True]
        assert vm.get('/api/bindings/off')[1]['power_on'] == 'off'
        assert vm.get('/api/bindings/restore')[1]['power_on'] == 'restore'
        vm.post('/api/bindings/restore/stop')
        vm.post('/api/bindings/off/start')
        vm.post('/api/bindings/on/stop')
        # pins.json: what the next boot drives first (the pulse idles high)
        pins = json.loads((vm.flash / 'pins.json').read_text())
        assert sorted(pins['pins'], key=str) == sorted(
            [[2, 0], [4, 0], [5, 0], [12, 0], [13, 1]], key=str)
        vm = restart(vm)
        assert wait_for(lambda: running(vm, 'sched'))
        assert [running(vm, i) for i in ids] == [False, True, False, True]
        assert vm.get('/api/bindings/relay')[1]['level'] == 1
    finally:
        vm.stop()


def test_pins_json_is_written_at_boot_and_follows_changes(board):
    pins = json.loads((board.flash / 'pins.json').read_text())
    assert pins['pins'] == [[2, 0]]
    board.post('/api/bindings', {'id': 'r', 'kind': 'pulse', 'pin': 4,
                                 'duration_ms': 50, 'active_level': 0,
                                 'start': False})
    pins = json.loads((board.flash / 'pins.json').read_text())
    assert pins['pins'] == [[2, 0], [4, 1]]
