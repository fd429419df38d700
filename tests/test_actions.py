"""Actions over HTTP on the real VM: POST /api/bindings/<id>/<verb> with
each verb's one meaning (docs/api.md, "Actions"), the switch kind, a
schedule's "on" that leaves a running binding alone, a rule on a switch,
and no_free_timer naming only the bindings that hold a timer.

A restart is seen on a pattern: its "step" goes back to 0. Its first step
lasts a second (the answer to the request that restarted it comes well
within it), its second 100 s (nothing else moves it back meanwhile)."""
import calendar

import pytest
from vm import VM, make_flash, wait_for

PATTERN = {'id': 'sos', 'kind': 'pattern', 'pin': 5,
           'steps_ms': [1000, 100000]}
SWITCH = {'id': 'porch', 'kind': 'switch', 'pin': 4, 'start': False}




def epoch(y, m, d, hh, mm, ss=0):
    return calendar.timegm((y, m, d, hh, mm, ss, 0, 0, 0))


@pytest.fixture
def board(tmp_path):
    vm = VM(make_flash(tmp_path / 'flash', {'bindings': [PATTERN, SWITCH]}))
    vm.start()
    yield vm
    vm.stop()


def act(vm, binding_id, verb):
    status, body, _ = vm.post('/api/bindings/%s/%s' % (binding_id, verb))
    assert status == 200, (verb, body)
    return body


def binding(vm, binding_id):
    return vm.get('/api/bindings/' + binding_id)[1]


def in_second_step(vm):
    return wait_for(lambda: binding(vm, 'sos')['step'] == 1)


def test_each_verb_means_one_thing(board):
    assert in_second_step(board)
    b = act(board, 'sos', 'on')  # runs already: left as it is
    assert b['running'] and b['step'] == 1, b
    b = act(board, 'sos', 'start')  # from the beginning
    assert b['running'] and b['step'] == 0, b
    assert in_second_step(board)
    b = act(board, 'sos', 'toggle')
    assert not b['running'] and b['level'] == 0, b
    b = act(board, 'sos', 'toggle')
    assert b['running'] and b['step'] == 0, b
    b = act(board, 'sos', 'off')
    assert not b['running'] and b['level'] == 0, b
    b = act(board, 'sos', 'stop')  # stopped already: still stopped
    assert not b['running'], b
    b = act(board, 'sos', 'on')  # stopped: on starts it
    assert b['running'] and b['step'] == 0, b
    status, body, _ = board.post('/api/bindings/sos/pulse')
    assert status == 400 and body['error']['code'] == 'invalid_action', body
    assert 'is a pattern' in body['error']['message'], body
    assert binding(board, 'sos')['running']  # the refusal changed nothing
    status, body, _ = board.post('/api/bindings', {
        'id': 'bell', 'kind': 'pulse', 'pin': 12, 'duration_ms': 100000,
        'start': False})
    assert status == 201, body
    for verb in ('pulse', 'pulse', 'on', 'start'):
        assert act(board, 'bell', verb)['running']
    assert not act(board, 'bell', 'off')['running']
    # no such verb, binding or method
    status, body, _ = board.post('/api/bindings/sos/restart')
    assert status == 404 and body['error']['code'] == 'not_found', body
    status, body, _ = board.post('/api/bindings/nope/on')
    assert status == 404 and 'nope' in body['error']['message'], body
    status, body, _ = board.get('/api/bindings/sos/on')
    assert status == 405, body


def test_switch_on_off_toggle_and_restore(board):
    b = binding(board, 'porch')
    assert (b['kind'], b['running'], b['level'], b['active_level']) == (
        'switch', False, 0, 1), b
    for verb, on in (('on', True), ('on', True), ('off', False),
                     ('toggle', True), ('toggle', False), ('start', True),
                     ('stop', False), ('on', True)):
        b = act(board, 'porch', verb)
        assert (b['running'], b['level']) == (on, int(on)), (verb, b)
        pin = [p for p in board.get('/api/board')[1]['pins']
               if p['pin'] == 4][0]
        assert pin['level'] == int(on) and pin['used_by'] == 'porch', pin
    status, body, _ = board.post('/api/bindings/porch/pulse')
    assert status == 400 and body['error']['code'] == 'invalid_action', body
    # a switch takes no timer: the pool is as it was with the pattern alone
    timers = board.get('/api/board')[1]['timers']
    assert timers['total'] - timers['free'] == 1, timers
    # restored as it was by a boot (power cut: SIGKILL), unless power_on says
    board.stop()
    board.start()
    assert binding(board, 'porch')['running']
    status, b, _ = board.patch('/api/bindings/porch', {'power_on': 'off',
                                                       'active_level': 0})
    assert status == 200 and b['running'] and b['level'] == 0, b
    board.stop()
    board.start()
    b = binding(board, 'porch')
    assert not b['running'] and b['level'] == 1, b  # active low: off is high


def test_a_schedule_on_leaves_a_running_binding_alone(board):
    assert in_second_step(board)
    status, ev, _ = board.post('/api/schedules', {
        'id': 'dusk', 'binding': 'sos', 'do': 'on', 'at': '18:00'})
    assert status == 201, ev
    status, ev2, _ = board.post('/api/schedules', {
        'id': 'lamp', 'binding': 'porch', 'do': 'on', 'at': '18:00'})
    assert status == 201, ev2
    status, body, _ = board.post('/api/schedules', {
        'binding': 'porch', 'do': 'pulse', 'at': '18:00'})
    assert status == 400 and body['error']['field'] == 'do', body
    board.put('/api/sim/clock', {'epoch': epoch(2026, 12, 1, 17, 59, 58)})
    assert wait_for(lambda: board.get('/api/schedules/dusk')[1]['last_fired']
                    and board.get('/api/schedules/lamp')[1]['last_fired'])
    assert board.get('/api/schedules/dusk')[1]['error'] is None
    b = binding(board, 'sos')
    assert b['running'] and b['step'] == 1, b  # not restarted
    assert binding(board, 'porch')['running']
    out = board.output()
    assert 'schedule "dusk": on "sos"' in out and \
        'schedule "lamp": on "porch"' in out, out


def test_a_button_toggles_a_switch(board):
    status, body, _ = board.post('/api/bindings', {
        'id': 'button', 'kind': 'edge', 'pin': 14, 'pull': 'up',
        'edge': 'falling', 'debounce_ms': 0,
        'on': [{'when': 'press', 'do': 'toggle', 'binding': 'porch'}]})
    assert status == 201, body
    for on in (True, False):
        board.put('/api/sim/pins/14', {'level': 0})  # pressed
        assert wait_for(lambda: binding(board, 'porch')['running'] is on)
        board.put('/api/sim/pins/14', {'level': 1})
    assert 'rule of "button": toggle "porch"' in board.output()


def test_no_free_timer_names_only_timer_holders(tmp_path):
    vm = VM(make_flash(tmp_path / 'flash', {
        'limits': {'virtual_timers': 1},
        'bindings': [
            {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500},
            {'id': 'other', 'kind': 'blink', 'pin': 5, 'period_ms': 500,
             'start': False},
            {'id': 'dim', 'kind': 'pwm', 'pin': 12, 'duty': 20},
            {'id': 'button', 'kind': 'edge', 'pin': 14, 'pull': 'up'},
            {'id': 'meter', 'kind': 'counter', 'pin': 27},
            {'id': 'porch', 'kind': 'switch', 'pin': 4}]})).start()
    try:
        status, body, _ = vm.post('/api/bindings/other/start')
        assert status == 409 and body['error']['code'] == 'no_free_timer', body
        message = body['error']['message']
        assert 'held by running bindings: led;' in message, message
        for name in ('dim', 'button', 'meter', 'porch'):
            assert name not in message, message
        assert not act(vm, 'porch', 'off')['running']  # no timer needed
        assert act(vm, 'porch', 'on')['running']
    finally:
        vm.stop()
