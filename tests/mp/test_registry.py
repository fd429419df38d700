"""Registry and handler logic inside the VM, without HTTP: validation,
reconfigure, replace_all, the timer pool, limits, the sample ring buffer,
the actions (``do``: every verb on every kind; rules, schedules and power-on
through it) and the switch kind."""
import time
import unit
from app import log, schema, sim, startup
from app.board.board import Board
from app.errors import ApiError
from app.registry import Registry
from app.time import tz
from app.time.clock import Clock
from app.time.schedules import Schedules, to_dict


def registry(name='sim', virtual_timers=8, max_bindings=16):
    reg = Registry(Board(name, virtual_timers), max_bindings)
    reg.changes = 0

    def changed(durable=True):
        reg.changes += 1
    reg.on_change = changed
    return reg


def refused(reg, fn, *args):
    """Call fn(*args), expect an ApiError, and check nothing changed."""
    before = (reg.specs(), reg.board.timers_free, reg.changes)
    e = unit.raises(ApiError, fn, *args)
    assert (reg.specs(), reg.board.timers_free, reg.changes) == before, e.message
    return e


def blink(pin=2, **kw):
    body = {'kind': 'blink', 'pin': pin, 'period_ms': 100, 'start': False}
    body.update(kw)
    return body




def cleanup(reg):
    for h in list(reg.bindings):
        reg.delete(h.id)


# ------------------------------------------------------------- validation

def test_numbers_must_be_integers_in_range():
    reg = registry()
    for value in (100.0, 1.5, '100', True, False, None, [100], 10 ** 30,
                  -(10 ** 30), 0, -1, 86400001):
        e = refused(reg, reg.create, blink(period_ms=value))
        assert (e.status, e.code, e.field) == (400, 'invalid_field', 'period_ms'), (
            value, e.message)
    assert reg.create(blink(period_ms=1)).params['period_ms'] == 1
    assert reg.create(blink(pin=4, period_ms=86400000)).params['period_ms'] == 86400000
    cleanup(reg)


def test_kind_fields_are_checked():
    reg = registry()
    cases = (
        ({'kind': 'pattern', 'pin': 2, 'steps_ms': [5]}, 'steps_ms'),
        ({'kind': 'pattern', 'pin': 2, 'steps_ms': [5] * 33}, 'steps_ms'),
        ({'kind': 'pattern', 'pin': 2, 'steps_ms': (5, 5)}, 'steps_ms'),
        ({'kind': 'pattern', 'pin': 2, 'steps_ms': [5, 5.0]}, 'steps_ms[1]'),
        ({'kind': 'pattern', 'pin': 2, 'steps_ms': [5, True]}, 'steps_ms[1]'),
        ({'kind': 'pattern', 'pin': 2, 'steps_ms': [5, 5], 'repeat': 1.0}, 'repeat'),
        ({'kind': 'pulse', 'pin': 2, 'duration_ms': 5, 'active_level': 2}, 'active_level'),
        ({'kind': 'pulse', 'pin': 2, 'duration_ms': 5, 'active_level': True},
         'active_level'),
        ({'kind': 'sample', 'pin': 34, 'period_ms': 5, 'window': 257}, 'window'),
        ({'kind': 'sample', 'pin': 34, 'period_ms': 5, 'window': '8'}, 'window'),
        ({'kind': 'sample', 'pin': 34, 'period_ms': 5, 'pull': 1}, 'pull'),
        # 34 is input-only, with no internal pulls
        ({'kind': 'sample', 'pin': 34, 'period_ms': 5, 'pull': 'up'}, 'pull'),
        ({'kind': 'blink', 'pin': 2, 'period_ms': 5, 'window': 4}, 'window'),
        ({'kind': 'blink', 'pin': 2, 'period_ms': 5, 'start': 1}, 'start'),
    )
    for body, field in cases:
        e = refused(reg, reg.create, body)
        assert e.code == 'invalid_field' and e.field == field, (body, e.field, e.message)
    e = refused(reg, reg.create, {'kind': 'blink', 'pin': 2, 'period_ms': 5,
                                  'colour': 1})
    assert 'period_ms' in e.message and 'colour' in e.message, e.message
    for kind in (None, 'Blink', 'x', 3, True):
        body = {'pin': 2, 'period_ms': 5}
        if kind is not None:
            body['kind'] = kind
        e = refused(reg, reg.create, body)
        assert 'blink, breathe, counter, edge, pattern, pulse, pwm, sample, switch' in e.message, e.message
        assert e.code == ('invalid_field' if kind is None else 'unknown_kind')
    e = refused(reg, reg.create, ['blink'])
    assert e.code == 'invalid_json'
    h = reg.create({'kind': 'sample', 'pin': 32, 'period_ms': 5, 'pull': 'up',
                    'start': False})
    assert h.params == {'period_ms': 5, 'window': 32, 'pull': 'up', 'on': []}
    assert sim.line(32).pull == sim.Pin.PULL_UP and h.to_dict()['level'] == 1
    cleanup(reg)


def test_pins():
    reg = registry()
    for pin, code in ((6, 'invalid_pin'), (1, 'invalid_pin'), (99, 'invalid_pin'),
                      ('LED', 'invalid_pin'), (34, 'invalid_pin'),
                      (True, 'invalid_pin'), (2.0, 'invalid_pin'), (None, 'invalid_pin'),
                      ('2', 'invalid_pin')):
        e = refused(reg, reg.create, blink(pin=pin))
        assert (e.status, e.code, e.field) == (400, code, 'pin'), (pin, e.message)
        assert ('free pins for blink: 0, 2, 4' in e.message or 'GPIO' in e.message
                or 'JSON number: 2, not "2"' in e.message), e.message
    e = refused(reg, reg.create, {'kind': 'sample', 'period_ms': 5})
    assert 'required' in e.message and '34, 35, 36, 39' in e.message, e.message
    reg.create(blink(id='a', pin=2))
    e = refused(reg, reg.create, blink(pin=2))
    assert (e.status, e.code) == (409, 'pin_in_use') and '"a"' in e.message
    assert 'free pins for blink: 0, 4,' in e.message, e.message
    # an input kind on a pin an output kind holds is refused too
    e = refused(reg, reg.create, {'kind': 'sample', 'pin': 2, 'period_ms': 5})
    assert e.code == 'pin_in_use'
    # Pico W: the named "LED" pin works, input-only pins do not exist
    rp2 = registry('pico_w')
    assert rp2.create(blink(pin='LED')).pin_id == 'LED'
    e = refused(rp2, rp2.create, {'kind': 'sample', 'pin': 'LED', 'period_ms': 5})
    assert e.code == 'invalid_pin' and 'input' in e.message
    e = refused(rp2, rp2.create, blink(pin=23))
    assert 'Wi-Fi' in e.message
    cleanup(reg)
    cleanup(rp2)


def test_id_rules_and_generated_ids():
    reg = registry()
    for bad in ('', 'x' * 33, 'a b', 'a/b', 'é', 'a.b', 7, None, True, ['a']):
        e = refused(reg, reg.create, blink(id=bad))
        assert (e.code, e.field) == ('invalid_field', 'id'), (bad, e.code)
    ok = 'Az09_-' + 'x' * 26
    assert reg.create(blink(id=ok)).id == ok
    e = refused(reg, reg.create, blink(id=ok, pin=4))
    assert (e.status, e.code, e.field) == (409, 'id_exists', 'id')
    a = reg.create(blink(pin=4))
    b = reg.create(blink(pin=5))
    s = reg.create({'kind': 'sample', 'pin': 34, 'period_ms': 5, 'start': False})
    assert (a.id, b.id, s.id) == ('blink-1', 'blink-2', 'sample-1')
    reg.delete('blink-1')
    assert reg.create(blink(pin=12)).id == 'blink-1'  # the first free number
    reg.create(blink(id='blink-3', pin=13))
    assert reg.create(blink(pin=14)).id == 'blink-4'
    e = refused(reg, reg.update, 'blink-4', {'id': 'other'}, True)
    assert e.field == 'id'
    e = refused(reg, reg.get, 'nope')
    assert (e.status, e.code) == (404, 'not_found')
    cleanup(reg)


def test_changes_are_reported_rejections_are_not():
    reg = registry()
    reg.create(blink(id='a'))
    reg.update('a', {'period_ms': 50})
    reg.do('start', 'a')
    reg.do('stop', 'a')
    reg.delete('a')
    assert reg.changes == 5
    refused(reg, reg.create, blink(period_ms=0))
    refused(reg, reg.delete, 'a')
    refused(reg, reg.do, 'start', 'a')


# -------------------------------------------------------------- reconfigure

def test_reconfigure_keeps_running_state_and_stats():
    reg = registry()
    h = reg.create({'kind': 'blink', 'pin': 2, 'period_ms': 2})
    assert unit.wait_until(lambda: h.fires > 3), h.fires
    fires = h.fires
    h2 = reg.update(h.id, {'period_ms': 3})
    assert h2.running and h2.params['period_ms'] == 3 and h2.fires >= fires
    assert reg.get(h.id) is h2 and len(reg.bindings) == 1
    assert reg.board.timers_free == reg.board.timers_total - 1  # same timer
    assert unit.wait_until(lambda: h2.fires > fires + 2), (h2.fires, fires)
    assert not h.running  # the old object let go of the timer
    reg.do('stop', h.id)
    h3 = reg.update(h.id, {'period_ms': 5})
    assert not h3.running and h3.level == 0
    # PUT (not partial): a field left out returns to its default
    s = reg.create({'kind': 'sample', 'pin': 34, 'period_ms': 5, 'window': 4,
                    'start': False})
    s2 = reg.update(s.id, {'kind': 'sample', 'pin': 34, 'period_ms': 6}, False)
    assert s2.params['window'] == 32 and not s2.running
    cleanup(reg)


def test_pin_change_idles_the_old_pin():
    reg = registry()
    h = reg.create({'kind': 'blink', 'pin': 2, 'period_ms': 100000})
    assert sim.line(2).level == 1 and sim.line(2).mode == sim.Pin.OUT
    h2 = reg.update(h.id, {'pin': 4})
    assert h2.running and h2.pin_id == 4
    assert sim.line(2).level == 0 and sim.line(2).mode == sim.Pin.IN
    assert sim.line(4).level == 1 and sim.line(4).mode == sim.Pin.OUT
    assert reg.pin_user(2) is None and reg.pin_user(4) is h2
    # an active-low pulse idles high; moving it idles the old pin low again
    p = reg.create({'kind': 'pulse', 'pin': 5, 'duration_ms': 100000,
                    'active_level': 0})
    assert sim.line(5).level == 0 and p.running
    p2 = reg.update(p.id, {'pin': 12})
    assert sim.line(5).mode == sim.Pin.IN and sim.line(12).level == 0 and p2.running
    reg.do('stop', p.id)
    assert sim.line(12).level == 1
    # a kind change on the same pin turns an output into an input
    h3 = reg.update(h.id, {'kind': 'sample', 'period_ms': 5}, True)
    assert h3.pin_id == 4 and sim.line(4).mode == sim.Pin.IN
    cleanup(reg)


def test_rejected_update_leaves_the_binding_running():
    reg = registry()
    reg.create({'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 100000})
    reg.create(blink(id='b', pin=4))
    h = reg.get('a')
    for body in ({'pin': 4}, {'pin': 34}, {'period_ms': 0}, {'kind': 'pulse'},
                 {'kind': 'nope'}, {'extra': 1}):
        refused(reg, reg.update, 'a', body, True)
    assert reg.get('a') is h and h.running and sim.line(2).level == 1
    cleanup(reg)


def _fail_once(cls, *nth):
    """Make the ``nth`` calls (counted from 1) of ``cls``'s constructor
    raise MemoryError, as a heap at its limit would; returns the undo."""
    made = cls.__init__
    calls = [0]

    def init(self, *args):
        calls[0] += 1
        if calls[0] in nth:
            raise MemoryError('memory allocation failed')
        made(self, *args)
    cls.__init__ = init

    def undo():
        cls.__init__ = made
    return undo


def test_an_update_out_of_memory_leaves_the_binding_as_it_ran():
    """A MemoryError while a PATCH or PUT builds the new binding (the
    server answers 503 low_memory): the old one runs on as it was, on its
    pin and timer, and nothing is saved; a create that fails leaves no
    binding and its pin an input."""
    from app.kinds.blink import Blink
    from app.kinds.pulse import Pulse
    reg = registry()
    h = reg.create({'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 5})
    assert unit.wait_until(lambda: h.fires > 2), h.fires
    before = (reg.specs(), reg.board.timers_free, reg.changes)
    for body in ({'period_ms': 7}, {'pin': 4}, {'kind': 'pulse',
                                                'duration_ms': 10}):
        undo = _fail_once(Pulse if 'kind' in body else Blink, 1)
        try:
            unit.raises(MemoryError, reg.update, 'a', body, True)
        finally:
            undo()
        a = reg.get('a')
        assert (reg.specs(), reg.board.timers_free, reg.changes) == before, body
        assert a.running and a.error is None and a.fires >= h.fires, body
        assert sim.line(2).mode == sim.Pin.OUT and sim.line(4).mode == sim.Pin.IN
        fires = a.fires
        assert unit.wait_until(lambda: a.fires > fires + 2), (body, a.fires)
    # not even the old one can be made again: it stays, stopped, and says so
    undo = _fail_once(Blink, 1, 2)
    try:
        unit.raises(MemoryError, reg.update, 'a', {'period_ms': 7}, True)
    finally:
        undo()
    a = reg.get('a')
    assert not a.running and 'out of memory' in a.error, a.error
    assert reg.board.timers_free == reg.board.timers_total
    # a create: all or nothing
    undo = _fail_once(Blink, 1)
    try:
        unit.raises(MemoryError, reg.create, blink(id='b', pin=4, start=True))
    finally:
        undo()
    assert [b.id for b in reg.bindings] == ['a'] and sim.line(4).mode == sim.Pin.IN
    cleanup(reg)


# --------------------------------------------------------------- replace_all

def test_replace_all_is_all_or_nothing():
    reg = registry()
    reg.create({'id': 'keep', 'kind': 'blink', 'pin': 2, 'period_ms': 100000})
    good = {'id': 'n1', 'kind': 'blink', 'pin': 4, 'period_ms': 10}
    for bad, field in (
            ([good, {'kind': 'blink', 'pin': 4, 'period_ms': 10}], 'bindings[1].pin'),
            ([good, {'id': 'n1', 'kind': 'blink', 'pin': 5, 'period_ms': 10}],
             'bindings[1].id'),
            ([good, {'kind': 'nope', 'pin': 5}], 'bindings[1].kind'),
            ([{'kind': 'blink', 'pin': 5, 'period_ms': 1.5}, good],
             'bindings[0].period_ms'),
            ([good, 'blink'], 'bindings[1]'),
            ({'a': good}, 'bindings')):
        e = refused(reg, reg.replace_all, bad)
        assert e.field == field, (field, e.field, e.message)
        assert field == 'bindings' or e.message.startswith(field[:11]), e.message
        assert reg.get('keep').running and sim.line(2).level == 1
    # a good set replaces everything, and may reuse the old pins and ids
    reg.replace_all([good, {'id': 'keep', 'kind': 'pulse', 'pin': 2,
                            'duration_ms': 1000, 'start': False}])
    assert sorted(h.id for h in reg.bindings) == ['keep', 'n1']
    assert reg.get('keep').KIND == 'pulse' and not reg.get('keep').running
    # only the running one holds a timer
    assert reg.board.timers_free == reg.board.timers_total - 1
    reg.replace_all([])
    assert reg.bindings == [] and reg.board.timers_free == reg.board.timers_total
    assert sim.line(4).mode == sim.Pin.IN


# ------------------------------------------------------------ pool, limits

def test_only_running_bindings_hold_a_timer():
    reg = registry(virtual_timers=2)
    for p in (2, 4, 5, 12):  # stopped: as many as the limit allows
        reg.create(blink(pin=p))
    assert reg.board.timers_free == 2
    reg.do('start', 'blink-1')
    reg.do('start', 'blink-2')
    assert reg.board.timers_free == 0
    e = refused(reg, reg.do, 'start', 'blink-3')
    assert (e.status, e.code) == (409, 'no_free_timer'), e.message
    assert '2 timers' in e.message and 'blink-1, blink-2' in e.message, e.message
    e = refused(reg, reg.create, blink(pin=13, start=True))
    assert e.code == 'no_free_timer'
    assert sim.line(13).mode != sim.Pin.OUT  # the pin was not touched
    e = refused(reg, reg.update, 'blink-3', {'start': True})
    assert e.code == 'no_free_timer'
    reg.do('stop', 'blink-1')  # gives its timer back
    reg.do('start', 'blink-3')
    # a reconfigure of a running binding needs no second timer
    reg.update('blink-2', {'pin': 14, 'period_ms': 7})
    assert reg.get('blink-2').running and reg.board.timers_free == 0
    # a pulse that ended on its own gives its timer back at the next change
    reg.do('stop', 'blink-3')
    pulse = reg.create({'kind': 'pulse', 'pin': 15, 'duration_ms': 5})
    assert unit.wait_until(lambda: not pulse.running)
    reg.do('start', 'blink-1')
    assert pulse.timer is None and reg.get('blink-1').running
    e = refused(reg, reg.replace_all, [blink(pin=p, start=True)
                                      for p in (2, 4, 5)])
    assert e.code == 'no_free_timer' and e.field == 'bindings[2]', e.field
    cleanup(reg)


def test_esp32_shares_its_last_timer_beyond_three():
    """Four hardware timers: three of their own, the fourth a queue that
    the rest share (app.board.timerqueue)."""
    esp = registry('esp32', virtual_timers=16)
    assert esp.board.timers_total == 3 + 16
    hs = [esp.create(blink(pin=p, start=True))
          for p in (2, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21)]
    assert sorted(h.timer.id for h in hs[:3]) == [0, 1, 2]
    pool = esp.board.pool()
    assert pool['own'] == {'ids': [0, 1, 2], 'total': 3, 'free': 0}, pool
    assert pool['shared']['timer'] == 3 and pool['shared']['used'] == 9, pool
    assert all(h.running for h in hs)
    for h in hs[3:]:
        esp.delete(h.id)
    assert esp.board.pool()['shared']['used'] == 0
    cleanup(esp)


def test_twelve_blinks_on_four_timers_keep_their_rates():
    """12 running blinks at distinct periods on the esp32 profile (4
    hardware timers): each fires within 1 % of its rate (or one fire) on
    the virtual clock (32-bit VM). On the unix port's real clock a busy
    host may delay the timer thread: there every fire is delivered or
    counted as missed, and `make bench` reports the rates."""
    esp = registry('esp32')
    pins = (2, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21)
    periods = [20 + 3 * i for i in range(12)]
    hs = []
    t0 = []
    for p, ms in zip(pins, periods):
        hs.append(esp.create({'kind': 'blink', 'pin': p, 'period_ms': ms}))
        t0.append(sim.ticks_ms())
    sim.advance_ms(1500)
    got = [(h.fires, h.missed_now()) for h in hs]
    now = sim.ticks_ms()
    for h, start, ms, (n, missed) in zip(hs, t0, periods, got):
        want = time.ticks_diff(now, start) // ms
        if sim.THREADED:
            assert n + missed >= want - 1, (h.id, ms, n, missed, want)
        else:
            assert abs(n - want) <= max(1, want // 100), (h.id, ms, n, want)
            assert missed == 0, (h.id, missed)
        assert h.error is None and h.running
    assert esp.board.pool()['shared']['error'] is None
    cleanup(esp)


def test_replace_all_resizes_a_virtual_pool():
    reg = registry(virtual_timers=8)
    reg.create(blink(pin=2, start=True))
    e = refused(reg, reg.replace_all,
                [blink(pin=p, start=True) for p in (2, 4, 5)], 2)
    assert e.code == 'no_free_timer' and e.field == 'bindings[2]'
    assert reg.board.timers_total == 8
    reg.replace_all([blink(pin=p, start=True) for p in (2, 4)], 2)
    assert (reg.board.timers_total, reg.board.timers_free) == (2, 0)
    refused(reg, reg.create, blink(pin=5, start=True))
    made = len(sim._timers)
    reg.replace_all([blink(pin=p, start=True) for p in (2, 4, 5, 12)], 12)
    assert (reg.board.timers_total, reg.board.timers_free) == (12, 8)
    assert len(sim._timers) - made <= 2  # the timers made before are reused
    reg.replace_all([], 1)
    assert (reg.board.timers_total, reg.board.timers_free) == (1, 1)
    # a hardware pool keeps its size
    esp = registry('esp32')
    esp.replace_all([blink(pin=2, start=True)], 2)
    assert (esp.board.timers_total, esp.board.timers_free) == (19, 18)
    cleanup(esp)


def test_max_bindings():
    reg = registry(max_bindings=2)
    reg.create(blink(pin=2))
    reg.create(blink(pin=4))
    e = refused(reg, reg.create, blink(pin=5))
    assert (e.status, e.code) == (409, 'limit_reached') and '2 bindings' in e.message
    e = refused(reg, reg.replace_all, [blink(pin=p) for p in (12, 13, 14)])
    assert e.code == 'limit_reached'
    reg.replace_all([blink(pin=p) for p in (12, 13)])
    assert len(reg.bindings) == 2
    cleanup(reg)


def test_spec_rebuilds_the_binding():
    reg = registry()
    reg.create({'id': 'b', 'kind': 'blink', 'pin': 2, 'period_ms': 70})
    reg.create({'id': 'p', 'kind': 'pattern', 'pin': 4, 'steps_ms': [5, 6, 7],
                'repeat': 3, 'start': False})
    reg.create({'id': 'u', 'kind': 'pulse', 'pin': 5, 'duration_ms': 100000})
    reg.create({'id': 's', 'kind': 'sample', 'pin': 35, 'period_ms': 9,
                'window': 3})
    specs = {s['id']: s for s in reg.specs()}
    assert specs['b'] == {'id': 'b', 'kind': 'blink', 'pin': 2, 'period_ms': 70,
                          'start': True}
    assert specs['p']['steps_ms'] == [5, 6, 7] and specs['p']['start'] is False
    assert specs['u']['start'] is False  # a pulse is not restored as running
    assert specs['s']['window'] == 3 and specs['s']['start'] is True
    other = registry()
    other.replace_all(reg.specs())
    assert sorted(other.specs(), key=lambda s: s['id']) == sorted(
        reg.specs(), key=lambda s: s['id'])
    cleanup(other)
    cleanup(reg)


# ------------------------------------------------------------- the handlers

def sampler(window):
    reg = registry()
    sim.drive(36, 0)
    h = reg.create({'kind': 'sample', 'pin': 36, 'period_ms': 1000,
                    'window': window})
    h.timer.deinit()  # the test calls the tick itself
    return reg, h


def feed(h, levels):
    for level in levels:
        sim.drive(36, level)
        unit.fire(h)


def test_sample_ring_buffer_order_high_count_edges():
    reg, h = sampler(4)
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges']) == ([], 0, 0)
    feed(h, [1, 1])
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges'], d['level']) == ([1, 1], 2, 1, 1)
    feed(h, [0, 1])
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges']) == ([1, 1, 0, 1], 3, 3)
    feed(h, [0])  # full: the oldest sample falls out
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges']) == ([1, 0, 1, 0], 2, 4)
    feed(h, [0, 0, 0])
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges']) == ([0, 0, 0, 0], 0, 4)
    for _ in range(10):  # wraps many times and stays consistent
        feed(h, [1, 0, 1])
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges']) == ([1, 1, 0, 1], 3, 25), d
    # a restart clears the buffer
    h.start()
    h.timer.deinit()
    d = h.to_dict()
    assert d['samples'] == [] and d['high_count'] == 0 and d['edges'] == 25, d
    cleanup(reg)


def test_sample_window_of_one():
    reg, h = sampler(1)
    feed(h, [1, 0, 1])
    d = h.to_dict()
    assert (d['samples'], d['high_count'], d['edges']) == ([1], 1, 3)
    cleanup(reg)


def test_sample_on_the_real_timer_sees_driven_levels():
    reg = registry()
    sim.drive(39, 1)
    h = reg.create({'kind': 'sample', 'pin': 39, 'period_ms': 2, 'window': 8})
    assert unit.wait_until(lambda: h.to_dict()['high_count'] == 8), h.to_dict()
    d = h.to_dict()
    assert d['samples'] == [1] * 8 and d['high_count'] == 8, d
    sim.drive(39, 0)
    assert unit.wait_until(lambda: h.to_dict()['high_count'] == 0), h.to_dict()
    d = h.to_dict()
    assert d['samples'] == [0] * 8 and d['edges'] == 1, d
    sim.drive(39, 0)
    cleanup(reg)


def test_pattern_steps_and_repeat_by_hand():
    reg = registry()
    h = reg.create({'kind': 'pattern', 'pin': 2, 'steps_ms': [1000, 2000, 3000],
                    'repeat': 2})
    h.timer.deinit()
    levels = [h.level]
    for _ in range(6):
        unit.fire(h)
        levels.append(h.level)
    assert levels == [1, 0, 1, 1, 0, 1, 0], levels
    assert not h.running and h.to_dict()['rounds'] == 2
    assert sim.line(2).level == 0
    cleanup(reg)


def test_pulse_by_hand():
    reg = registry()
    h = reg.create({'kind': 'pulse', 'pin': 2, 'duration_ms': 100000})
    assert h.running and sim.line(2).level == 1
    h.timer.deinit()
    unit.fire(h)
    assert not h.running and h.level == 0 and sim.line(2).level == 0
    reg.do('start', h.id)
    assert h.running and sim.line(2).level == 1
    cleanup(reg)
    assert sim.line(2).mode == sim.Pin.IN


def test_pulse_start_while_running_retriggers():
    reg = registry()
    h = reg.create({'kind': 'pulse', 'pin': 2, 'duration_ms': 100000})
    due = h.timer._due
    sim.advance_ms(20)
    reg.do('start', h.id)
    assert h.running and h.timer.active and sim.line(2).level == 1
    assert time.ticks_diff(h.timer._due, due) >= 15000, 'not re-armed'  # us
    cleanup(reg)


def test_blink_fires_schedule_nothing():
    reg = registry()
    h = reg.create({'kind': 'blink', 'pin': 2, 'period_ms': 2})
    assert unit.wait_until(lambda: h.fires > 20)
    reg.do('stop', h.id)
    d = h.to_dict()['stats']
    assert d['deferred'] == 0 and d['drops'] == 0, d
    cleanup(reg)


def test_delete_frees_pin_and_timer():
    reg = registry(virtual_timers=1)
    h = reg.create({'kind': 'blink', 'pin': 2, 'period_ms': 2})
    assert unit.wait_until(lambda: h.fires > 2)
    timer = h.timer
    reg.delete(h.id)
    fires = h.fires
    sim.advance_ms(20)
    assert h.fires == fires and not timer.active and h.timer is None
    assert sim.line(2).mode == sim.Pin.IN and sim.line(2).level == 0
    assert reg.board.timers_free == 1
    h2 = reg.create({'kind': 'blink', 'pin': 2, 'period_ms': 2})
    assert h2.timer is timer  # the same timer, reused
    cleanup(reg)


# ------------------------------------------------------------------ actions

# one binding of every kind, created stopped; the ones that hold a timer
# from the pool while they run
KINDS = (
    ({'kind': 'blink', 'pin': 2, 'period_ms': 100000}, True),
    ({'kind': 'pulse', 'pin': 4, 'duration_ms': 100000}, True),
    ({'kind': 'pattern', 'pin': 5, 'steps_ms': [100000, 100000]}, True),
    ({'kind': 'sample', 'pin': 34, 'period_ms': 100000}, True),
    ({'kind': 'breathe', 'pin': 13, 'period_ms': 4000}, True),
    ({'kind': 'pwm', 'pin': 12, 'duty': 30}, False),
    ({'kind': 'edge', 'pin': 32}, False),
    ({'kind': 'counter', 'pin': 33}, False),
    ({'kind': 'switch', 'pin': 14}, False),
)


def counting_begins(h):
    """Count ``h``'s begin() calls: one per start from the beginning."""
    h.begins = 0
    begin = h.begin

    def counted():
        h.begins += 1
        begin()
    h.begin = counted
    return h


def make_all(reg):
    out = []
    for body, holds in KINDS:
        b = dict(body)
        b['id'] = body['kind']
        b['start'] = False
        out.append((counting_begins(reg.create(b)), holds))
    return out


def test_every_verb_means_one_thing_on_every_kind():
    reg = registry()
    for h, holds in make_all(reg):
        kind = h.KIND
        free = reg.board.timers_free
        idle = h.level

        def check(verb, running, begins, changes):
            assert reg.do(verb, h.id) is h
            assert (h.running, h.begins, reg.changes) == (
                running, begins, changes), (kind, verb, h.running, h.begins,
                                            reg.changes)
            assert (h.timer is not None) == (running and holds), (kind, verb)
            assert reg.board.timers_free == free - (running and holds)
            if not running and h.OUTPUT:
                assert h.level == idle, (kind, verb, h.level)
        n = reg.changes
        check('stop', False, 0, n)  # stopped already: nothing, not saved
        check('off', False, 0, n)
        check('on', True, 1, n + 1)
        check('on', True, 1, n + 1)  # running: no restart, not saved
        check('start', True, 2, n + 2)  # running: from the beginning
        check('toggle', False, 2, n + 3)
        check('toggle', True, 3, n + 4)
        check('off', False, 3, n + 5)
        check('start', True, 4, n + 6)
        check('stop', False, 4, n + 7)
        if kind == 'pulse':
            check('pulse', True, 5, n + 8)
            check('pulse', True, 6, n + 9)  # retriggers
            check('stop', False, 6, n + 10)
        else:
            e = refused(reg, reg.do, 'pulse', h.id)
            assert (e.status, e.code) == (400, 'invalid_action'), e.message
            assert 'is a %s' % kind in e.message, e.message
        for verb in ('restart', 'START', '', None, 1):
            e = refused(reg, reg.do, verb, h.id)
            assert (e.status, e.code) == (400, 'invalid_action'), verb
            assert 'start, stop, toggle, pulse, on, off' in e.message, e.message
    e = refused(reg, reg.do, 'on', 'nope')
    assert (e.status, e.code) == (404, 'not_found')
    cleanup(reg)


def test_a_pulse_that_ended_is_started_by_on_and_its_timer_freed_by_off():
    reg = registry(virtual_timers=1)
    p = reg.create({'kind': 'pulse', 'pin': 4, 'duration_ms': 5})
    assert unit.wait_until(lambda: not p.running)
    assert p.timer is not None  # given back at the next change
    reg.do('off', p.id)
    assert p.timer is None and reg.board.timers_free == 1
    reg.do('on', p.id)  # it does not run: on starts it
    assert p.running and p.timer is not None
    cleanup(reg)


def test_no_free_timer_names_only_the_bindings_that_hold_one():
    reg = registry(virtual_timers=2)
    reg.create(blink(id='a', pin=2, start=True))
    reg.create(blink(id='b', pin=4, start=True))
    reg.create(blink(id='c', pin=5))
    reg.create({'id': 'dim', 'kind': 'pwm', 'pin': 12, 'duty': 20})
    reg.create({'id': 'btn', 'kind': 'edge', 'pin': 32})
    reg.create({'id': 'meter', 'kind': 'counter', 'pin': 33})
    reg.create({'id': 'relay', 'kind': 'switch', 'pin': 14})
    reg.create({'id': 'sleepy', 'kind': 'pwm', 'pin': 13, 'start': False})
    assert all(h.running for h in reg.bindings if h.id not in ('c', 'sleepy'))
    assert reg.board.timers_free == 0
    for verb in ('start', 'on', 'toggle'):
        e = refused(reg, reg.do, verb, 'c')
        assert (e.status, e.code) == (409, 'no_free_timer'), e.message
        assert 'held by running bindings: a, b;' in e.message, e.message
        for other in ('dim', 'btn', 'meter', 'relay', 'sleepy'):
            assert other not in e.message, e.message
    # a switch needs none: it goes on and off with every timer taken
    reg.do('off', 'relay')
    reg.do('on', 'relay')
    assert reg.get('relay').running and reg.board.timers_free == 0
    cleanup(reg)


# ------------------------------------------------------------------- switch

def test_switch_is_an_output_that_is_on_or_off():
    reg = registry(virtual_timers=0)  # it never needs one
    h = reg.create({'id': 'relay', 'kind': 'switch', 'pin': 14,
                    'start': False})
    assert h.params == {'active_level': 1}
    assert sim.line(14).mode == sim.Pin.OUT and sim.line(14).level == 0
    for verb, on in (('on', True), ('on', True), ('off', False),
                     ('toggle', True), ('toggle', False), ('start', True),
                     ('stop', False), ('start', True), ('start', True)):
        reg.do(verb, 'relay')
        d = h.to_dict()
        assert (d['running'], d['level'], sim.line(14).level) == (
            on, int(on), int(on)), (verb, d)
        assert h.timer is None and d['stats']['fires'] == 0
        assert h.spec()['start'] is on  # restored at boot as it was
    # active low: idle (off) is high from the moment the pin is an output
    low = reg.create({'id': 'lamp', 'kind': 'switch', 'pin': 15,
                      'active_level': 0, 'start': False})
    assert sim.line(15).level == 1 and low.level == 1
    reg.do('on', 'lamp')
    assert sim.line(15).level == 0 and low.running
    reg.do('off', 'lamp')
    assert sim.line(15).level == 1 and not low.running
    reg.update('lamp', {'active_level': 1})
    assert sim.line(15).level == 0
    for bad in (2, True, '1', None):
        e = refused(reg, reg.create, {'kind': 'switch', 'pin': 16,
                                      'active_level': bad})
        assert e.field == 'active_level', e.message
    e = refused(reg, reg.create, {'kind': 'switch', 'pin': 34})
    assert e.code == 'invalid_pin', e.message  # input-only pin
    e = refused(reg, reg.create, {'kind': 'switch', 'pin': 16, 'duration_ms': 5})
    assert e.field == 'duration_ms', e.message
    cleanup(reg)


def test_switch_power_on_policies():
    reg = registry()
    reg.replace_all(startup.power_on([
        {'id': 'on', 'kind': 'switch', 'pin': 2, 'power_on': 'on',
         'start': False},
        {'id': 'off', 'kind': 'switch', 'pin': 4, 'power_on': 'off',
         'start': True},
        {'id': 'kept-on', 'kind': 'switch', 'pin': 5, 'start': True},
        {'id': 'kept-off', 'kind': 'switch', 'pin': 12, 'start': False},
        {'id': 'sched', 'kind': 'switch', 'pin': 13, 'power_on': 'schedule',
         'start': True}]))
    assert [(h.id, h.running, sim.line(h.pin_id).level)
            for h in reg.bindings] == [
        ('on', True, 1), ('off', False, 0), ('kept-on', True, 1),
        ('kept-off', False, 0), ('sched', False, 0)]
    cleanup(reg)


def test_power_on_is_kept_apart_from_the_fields():
    """A binding's params hold its kind's fields only (the dict it keeps,
    no larger than they need); power_on is its own, however it was built:
    checked (create, PATCH), trusted (startup's _checked) or rebuilt after
    a failed change (_revive)."""
    reg = registry()
    h = reg.create({'id': 'porch', 'kind': 'pulse', 'pin': 2,
                    'duration_ms': 50, 'power_on': 'off', 'start': False})
    assert h.params == {'duration_ms': 50, 'active_level': 1}, h.params
    assert h.power_on == 'off' and h.spec()['power_on'] == 'off'
    h = reg.update('porch', {'duration_ms': 60})  # PATCH: power_on stays
    assert 'power_on' not in h.params and h.power_on == 'off'
    h = reg.update('porch', {'power_on': 'restore'})
    assert 'power_on' not in h.__dict__ and 'power_on' not in h.spec()
    specs = [h.spec(), blink(id='led', pin=4, power_on='schedule')]
    reg.load(startup._checked(specs, reg))
    assert [(h.id, h.power_on, sorted(h.params)) for h in reg.bindings] == [
        ('porch', 'restore', ['active_level', 'duration_ms']),
        ('led', 'schedule', ['period_ms'])]
    led = reg.get('led')
    reg._revive(led, None, led.pin_id, False)
    led = reg.get('led')
    assert led.power_on == 'schedule' and 'power_on' not in led.params
    cleanup(reg)


# ------------------------------------------- rules and schedules through do

def test_rule_actions_go_through_do_and_the_log():
    reg = registry()
    relay = counting_begins(reg.create(
        {'id': 'relay', 'kind': 'switch', 'pin': 14, 'start': False}))
    led = counting_begins(reg.create(blink(id='led', pin=2, start=True)))
    button = reg.create({'id': 'button', 'kind': 'edge', 'pin': 32,
                         'on': [{'when': 'press', 'do': 'toggle',
                                 'binding': 'relay'},
                                {'when': 'release', 'do': 'on',
                                 'binding': 'led'}]})
    reg.act('toggle', 'relay', button)
    assert relay.running and log.entries()[-1]['text'] == (
        'rule of "button": toggle "relay"')
    reg.act('on', 'led', button)  # runs already: not restarted
    assert led.running and led.begins == 0
    assert log.entries()[-1]['text'] == 'rule of "button": on "led"'
    reg.act('off', 'relay', button)
    assert not relay.running and button.error is None
    reg.act('pulse', 'relay', button)  # never raises: the error says why
    assert not relay.running and 'is a switch' in button.error, button.error
    assert log.entries()[-1]['text'].startswith(
        'rule of "button": pulse "relay": "pulse" acts on a pulse binding')
    for do in ('on', 'off'):  # the rules take every verb
        reg.update('button', {'on': [{'when': 'press', 'do': do,
                                      'binding': 'relay'}]})
    e = refused(reg, reg.update, 'button', {'on': [
        {'when': 'press', 'do': 'pulse', 'binding': 'relay'}]})
    assert e.field == 'on[0].do' and 'is a switch' in e.message, e.message
    e = refused(reg, reg.update, 'button', {'on': [
        {'when': 'press', 'do': 'restart', 'binding': 'relay'}]})
    assert 'start, stop, toggle, pulse, on, off' in e.message, e.message
    cleanup(reg)


MONDAY = tz.days_from_civil(2026, 11, 30)


def at(day, hh, mm):
    return day * 86400 + hh * 3600 + mm * 60


class Store:
    """config.json without a file."""

    def __init__(self):
        self.data = schema.defaults()

    def save(self, bindings):
        self.data['bindings'] = bindings


def schedules(reg):
    sched = Schedules(reg, Store(), Clock(Store()))
    sched.clock.set(at(MONDAY, 6, 0), 'manual')
    return sched


def test_schedule_on_does_not_restart_a_running_blink():
    reg = registry()
    led = counting_begins(reg.create(blink(id='led', pin=2, start=True)))
    sched = schedules(reg)
    on = sched.create({'id': 'morning', 'binding': 'led', 'do': 'on',
                       'at': '08:00'})
    sched.create({'id': 'again', 'binding': 'led', 'do': 'start',
                  'at': '09:00'})
    sched.create({'id': 'night', 'binding': 'led', 'do': 'off',
                  'at': '22:00'})
    sched.tick(at(MONDAY, 7, 59))
    changes = reg.changes
    sched.tick(at(MONDAY, 8, 0))
    assert to_dict(on)['last_fired'] == at(MONDAY, 8, 0) \
        and to_dict(on)['error'] is None
    assert led.running and led.begins == 0 and reg.changes == changes
    assert log.entries()[-1]['text'] == 'schedule "morning": on "led"'
    sched.tick(at(MONDAY, 9, 0))  # start: from the beginning
    assert led.running and led.begins == 1
    assert log.entries()[-1]['text'] == 'schedule "again": start "led"'
    sched.tick(at(MONDAY, 22, 0))
    assert not led.running and led.timer is None
    sched.tick(at(MONDAY + 1, 8, 0))  # stopped: on starts it
    assert led.running and led.begins == 2
    e = unit.raises(ApiError, sched.create, {'binding': 'led', 'do': 'pulse',
                                             'at': '10:00'})
    assert e.field == 'do' and 'is a blink' in e.message, e.message
    e = unit.raises(ApiError, sched.create, {'binding': 'led', 'do': 'dim',
                                             'at': '10:00'})
    assert 'start, stop, toggle, pulse, on, off' in e.message, e.message
    cleanup(reg)


def test_power_on_schedule_applies_on_or_off_and_restarts_nothing():
    reg = registry()
    reg.replace_all(startup.power_on([
        {'id': 'porch', 'kind': 'switch', 'pin': 14, 'power_on': 'schedule',
         'start': True},
        {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 100000,
         'power_on': 'schedule', 'start': True},
        {'id': 'fan', 'kind': 'switch', 'pin': 15, 'power_on': 'schedule'}]))
    porch, led, fan = [counting_begins(h) for h in reg.bindings]
    assert not porch.running and not led.running and not fan.running
    reg.do('on', 'led')  # started by hand before the clock was set
    assert led.begins == 1
    sched = schedules(reg)
    sched.create({'id': 'dusk', 'binding': 'porch', 'do': 'on',
                  'at': '18:00'})
    sched.create({'id': 'late', 'binding': 'porch', 'do': 'off',
                  'at': '23:00'})
    sched.create({'id': 'led-on', 'binding': 'led', 'do': 'start',
                  'at': '07:00'})
    sched.create({'id': 'fan-on', 'binding': 'fan', 'do': 'start',
                  'at': '07:00'})
    sched.create({'id': 'fan-off', 'binding': 'fan', 'do': 'stop',
                  'at': '12:00'})
    sched._powered = False  # a boot at 20:00
    sched.tick(at(MONDAY, 20, 0))
    assert porch.running and porch.begins == 1
    assert led.running and led.begins == 1  # "start" applied as "on"
    assert not fan.running and fan.begins == 0
    texts = [e['text'] for e in log.entries()[-3:]]
    assert texts == ['schedule "dusk": on "porch"', 'schedule "led-on": on "led"',
                     'schedule "fan-off": off "fan"'], texts
    cleanup(reg)


unit.main(globals())
