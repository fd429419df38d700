"""The kinds of issue 14 (pwm, breathe, edge, counter) and rules, on both
VMs (the unix port's timer thread, the WebAssembly port's virtual clock):
their interrupt code under the heap lock at the extremes, debounce and
counting against a real burst, fades, rp2 PWM slices, rules."""
import micropython
import time
import unit
from app import sim
from app.board.board import Board, ticks_ms
from app.errors import ApiError
from app.kinds.handler import MASK
from app.registry import Registry
from app.kinds.rules import EVENTS

DAY = 86400000


def registry(board='sim'):
    return Registry(Board(board))


def set_level(pin, level):
    """Set what an input reads without firing its IRQ (the test calls it)."""
    state = sim.line(pin)
    state.driven = level
    state.level = level


def refused(fn, *args):
    try:
        fn(*args)
    except ApiError as e:
        return e
    raise AssertionError('not refused: %r' % (args,))




def test_rules_are_loaded_by_the_first_binding_with_rules():
    """An edge, a counter or a sample without rules runs (its edges, its
    deferred work) without app.kinds.rules; the first binding with rules
    loads it."""
    import sys
    import app.kinds
    sys.modules.pop('app.kinds.rules', None)  # as before any binding had
    del app.kinds.rules  # rules (this file imports them)
    reg = registry()
    reg.create({'id': 'lamp', 'kind': 'blink', 'pin': 2, 'period_ms': 1000})
    reg.create({'id': 'button', 'kind': 'edge', 'pin': 14,
                'debounce_ms': 0})
    reg.create({'id': 'meter', 'kind': 'counter', 'pin': 27})
    s = reg.create({'id': 's', 'kind': 'sample', 'pin': 34, 'period_ms': 2})
    for n, level in enumerate((1, 0, 1, 0)):
        for pin in (14, 27, 34):
            sim.drive(pin, level)
        # the sample reads the level on its timer: wait for it (a loaded
        # host may run the timer thread late), then change the level again
        assert unit.wait_until(lambda: s._head > n), (n, s._head)
    assert unit.wait_until(lambda: s.deferred and reg.get('button').deferred)
    assert reg.get('button').presses() == 2 and s._head == 4, s._head
    for h in reg.bindings:
        h.stop()
        h.start()
    assert 'app.kinds.rules' not in sys.modules
    reg.create({'id': 'b2', 'kind': 'edge', 'pin': 15, 'debounce_ms': 0,
                'on': [{'when': 'press', 'do': 'toggle', 'binding': 'lamp'}]})
    assert 'app.kinds.rules' in sys.modules
    sim.drive(15, 1)
    assert unit.wait_until(lambda: not reg.get('lamp').running)
    reg.replace_all([])
    for pin in (14, 15, 27, 34):
        sim.drive(pin, 0)


def test_rules_run_without_their_checks():
    """Bindings with rules built as a trusted boot builds them (checked
    before: Registry.load) run their rules without app.kinds.rulecheck;
    the first check (app.validate's, through app.kinds.rules) loads it."""
    import sys
    import app.kinds
    from app.kinds import get, rules
    sys.modules.pop('app.kinds.rulecheck', None)  # as at a trusted boot
    if hasattr(app.kinds, 'rulecheck'):
        del app.kinds.rulecheck
    reg = registry()
    toggle = [{'when': 'press', 'do': 'toggle', 'binding': 'lamp'}]
    reg.load([('lamp', get('blink'), 2, {'period_ms': 1000}, True,
               'restore'),
              ('button', get('edge'), 15, {'pull': None, 'edge': 'rising',
                                           'debounce_ms': 0, 'on': toggle},
               True, 'restore')])
    sim.drive(15, 1)
    assert unit.wait_until(lambda: not reg.get('lamp').running)
    assert 'app.kinds.rulecheck' not in sys.modules
    e = refused(reg.update, 'button', {'on': [{'when': 'press'}]})
    assert e.field == 'on[0].do', (e.field, e.message)
    assert 'app.kinds.rulecheck' in sys.modules and rules.check
    reg.replace_all([])
    sim.drive(15, 0)


# ------------------------------------------------- interrupts, heap locked

def test_edge_isr_heap_locked_at_the_extremes():
    """Every path of the pin interrupt: accepted presses and releases, a
    bounce, a glitch too short to see, a full rule ring; debounce 1000 ms
    and counters at their wrap."""
    reg = registry()
    reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                'duration_ms': 100, 'start': False})
    rules = [{'when': w, 'do': 'toggle', 'binding': 'relay'}
             for w in ('press', 'release', 'rising', 'falling')] * 2
    for kind, extra in (('edge', {}), ('counter', {'interval_ms': 3600000,
                                                   'total': 2000000000})):
        body = {'kind': kind, 'pin': 32, 'debounce_ms': 1000, 'on': rules}
        body.update(extra)
        set_level(32, 0)
        h = reg.create(body)
        h.bounces = h.fires = h.drops = MASK
        h._fires0 = 0  # no edge accepted yet: MASK fires, MASK bounces
        h._pending = 1  # deferred work stays queued: the ring fills up
        for level in (1, 0, 1, 1, 0):
            set_level(32, level)
            err = unit.call_locked(h._edge, h.pin, 1)
            assert err is None and h.error is None, (kind, err, h.error)
        # one press (MASK + 1 wraps to 0), then 4 bounces: 3 edges within
        # 1000 ms and a repeated level (MASK + 4 wraps to 3)
        assert h.presses() == 1 and h.fires == 4, (h.presses(), h.fires)
        assert h.bounces == 3, h.bounces
        h._last_ms = time.ticks_add(ticks_ms(), -5000)  # long ago: accepted
        i = 0
        while i < EVENTS + 4:
            set_level(32, i & 1)
            err = unit.call_locked(h._edge, h.pin, 1)
            assert err is None and h.error is None, (kind, err)
            h._last_ms = time.ticks_add(ticks_ms(), -5000)
            i += 1
        assert h.drops > 0  # the ring was full: those edges are lost
        h._pending = 0
        reg.delete(h.id)
    reg.delete('relay')


def test_sample_with_rules_isr_heap_locked():
    """A sample's interrupt keeps no record for its rules: its count of
    edges (at its wrap here) and the level give each edge's direction.
    The deferred work acts on the 16 latest since it last ran and counts
    the older ones in drops."""
    reg = registry()
    reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                'duration_ms': 100, 'start': False})
    set_level(33, 1)
    h = reg.create({'kind': 'sample', 'pin': 33, 'period_ms': DAY,
                    'window': 256, 'pull': 'up',
                    'on': [{'when': 'press', 'do': 'pulse',
                            'binding': 'relay'},
                           {'when': 'rising', 'do': 'stop',
                            'binding': 'relay'}]})
    h.timer.deinit()
    h._head = h.drops = MASK
    h._seen = ((MASK & 0x0FFFFFFF) << 1) | 1  # as begin() makes it
    h._pending = 1
    i = 0
    while i < EVENTS + 4:  # falling (a press: pull up), rising, ...
        set_level(33, i & 1)
        err = unit.call_locked(h._isr, h.timer, 1)
        assert err is None and h.error is None, (err, h.error)
        i += 1
    assert h._head == EVENTS + 3 and h.to_dict()['edges'] == EVENTS + 3
    acts = []
    h.act = lambda do, target, source: acts.append(do)
    h.work()
    assert h.drops == 3, h.drops  # 4 edges skipped: MASK + 4 wraps to 3
    assert acts == ['pulse', 'stop'] * (EVENTS // 2), acts
    h.work()  # nothing new
    assert len(acts) == EVENTS and h.drops == 3
    set_level(33, 0)  # one more press
    assert unit.call_locked(h._isr, h.timer, 1) is None
    h.work()
    assert acts[EVENTS:] == ['pulse'], acts
    h._pending = 0
    reg.replace_all([])


def test_a_restarted_sample_reads_no_edge_of_an_earlier_run():
    """Its edges count on across runs (``edges``); a restart's readings
    end at the run's start, also where an earlier run's last edge is
    2**16 + 1 fires back (its 16-bit stamp would look 1 fire old)."""
    reg = registry()
    set_level(36, 0)
    h = reg.create({'kind': 'sample', 'pin': 36, 'period_ms': 1000,
                    'window': 4})
    h.timer.deinit()
    set_level(36, 1)
    assert unit.call_locked(h._isr, h.timer, 1) is None  # an edge
    stamp = h.fires
    h.start()
    h.timer.deinit()
    assert h.to_dict()['samples'] == [] and h.to_dict()['edges'] == 1
    h.fires = stamp + 0xFFFE  # the next run starts 2**16 - 2 fires later
    h.start()
    h.timer.deinit()
    assert unit.call_locked(h._isr, h.timer, 3) is None  # no edge: high
    d = h.to_dict()  # (the old edge's stamp: 2**16 + 1 back, & 0xFFFF: 1)
    assert d['samples'] == [1, 1, 1] and d['edges'] == 1, d
    reg.replace_all([])


def test_pwm_fade_and_breathe_ticks_heap_locked_at_the_extremes():
    reg = registry()
    for curve in ('linear', 'gamma'):
        h = reg.create({'id': 'led', 'kind': 'pwm', 'pin': 2, 'duty': 0,
                        'fade_ms': 60000, 'curve': curve,
                        'freq_hz': 40000000})
        h = reg.update('led', {'duty': 100})
        assert h.timer is not None and h._fading
        h.timer.deinit()
        h.fires = h.missed = MASK
        err = unit.call_locked(h._isr, h.timer, 300)
        assert err is None and h.error is None, (curve, err, h.error)
        h._t0 = time.ticks_add(ticks_ms(), -30000)  # half way
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert 0 < h.live_pm() < 1000, h.live_pm()
        h._t0 = time.ticks_add(ticks_ms(), -60001)  # the end
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert h.live_pm() == 1000 and not h._fading
        reg.delete('led')
        b = reg.create({'id': 'b', 'kind': 'breathe', 'pin': 2, 'min': 0.1,
                        'max': 100, 'period_ms': 120000, 'curve': curve})
        b.timer.deinit()
        b.fires = MASK
        err = unit.call_locked(b._isr, b.timer, 300)
        assert err is None and b.error is None, (curve, err, b.error)
        b._t0 = time.ticks_add(ticks_ms(), -DAY)  # a stalled timer
        assert unit.call_locked(b._isr, b.timer, 1) is None and b.error is None
        reg.delete('b')


def test_kinds_without_a_pool_timer_hold_no_lateness_state():
    """Heap per binding: an edge, a counter, a switch and a pwm (TIMER
    False) hold none of the timer kinds' lateness slots; their stats read
    the class's zeros, also after a PATCH; a pwm's first fade makes what
    its interrupt needs before it runs (test_pwm_fade_... runs it heap
    locked)."""
    reg = registry()
    timed = ('late', 'late_max', 'missed', '_late_after', '_period',
             '_slack', '_last_late', '_late_was', '_max_was', '_isr')
    hs = [reg.create(body) for body in (
        {'id': 'e', 'kind': 'edge', 'pin': 32, 'on': []},
        {'id': 'c', 'kind': 'counter', 'pin': 33},
        {'id': 's', 'kind': 'switch', 'pin': 4},
        {'id': 'p', 'kind': 'pwm', 'pin': 2, 'fade_ms': 100})]
    for h in hs:
        held = [name for name in timed if name in h.__dict__]
        assert held == ([] if h.KIND != 'pwm' else ['_isr']), (h.KIND, held)
        s = h.to_dict()['stats']
        assert (s['late'], s['late_max_us'], s['missed']) == (0, 0, 0), s
    h = reg.update('e', {'debounce_ms': 5})
    assert 'late' not in h.__dict__ and h.to_dict()['stats']['late'] == 0
    p = reg.update('p', {'duty': 80})
    assert p._fading and '_late_after' in p.__dict__
    reg.replace_all([])


def test_a_release_rule_on_both_edges_is_refused():
    """With "edge": "both" every edge is a press: a release rule would
    never act."""
    reg = registry()
    reg.create({'id': 'relay', 'kind': 'switch', 'pin': 4})
    rules = [{'when': 'press', 'do': 'toggle', 'binding': 'relay'},
             {'when': 'release', 'do': 'off', 'binding': 'relay'}]
    for kind in ('edge', 'counter'):
        e = refused(reg.create, {'kind': kind, 'pin': 32, 'edge': 'both',
                                 'on': rules})
        assert e.field == 'on[1].when' and 'rising or falling' in e.message, \
            (e.field, e.message)
        h = reg.create({'kind': kind, 'pin': 32, 'edge': 'rising',
                        'on': rules})
        e = refused(reg.update, h.id, {'edge': 'both'})
        assert e.field == 'on[1].when', e.field
        assert reg.update(h.id, {'edge': 'both', 'on': rules[:1]}).running
        reg.delete(h.id)
    reg.replace_all([])


def test_breathe_min_above_max_is_refused():
    reg = registry()
    e = refused(reg.create, {'kind': 'breathe', 'pin': 2, 'min': 60,
                             'max': 40})
    assert e.field == 'max' and 'at least min (60)' in e.message, e.message
    h = reg.create({'id': 'g', 'kind': 'breathe', 'pin': 2, 'min': 40,
                    'max': 40})
    e = refused(reg.update, 'g', {'min': 40.1})
    assert e.field == 'max', e.field
    assert reg.create({'kind': 'pwm', 'pin': 4, 'duty': 100}).running
    assert h.running
    reg.replace_all([])


def test_a_running_breathe_changed_breathes_on():
    """A PATCH of a running breathe (its live duty half way up) starts a
    new breath from its min: it never fades from the live duty as a pwm
    does (its positions would run past the duty table: an IndexError in
    its interrupt stopped it)."""
    reg = registry()
    reg.create({'id': 'g', 'kind': 'breathe', 'pin': 2, 'period_ms': 2000,
                'curve': 'linear'})
    sim.advance_ms(600)
    h = reg.update('g', {'period_ms': 1000})
    assert h.running and h._from == 0, h._from
    t0 = ticks_ms()
    while time.ticks_diff(ticks_ms(), t0) < 300:
        sim.advance_ms(10)
    d = h.to_dict()
    assert d['error'] is None and d['running'] and h.fires > 0, d
    reg.replace_all([])


def test_pin_irq_gets_hard_as_the_board_says():
    """rp2 and esp8266 take Pin.irq(hard=True); esp32's Pin.irq has no hard
    keyword (its handlers always run scheduled)."""
    for hard in (True, False, None):
        board = Board('sim')
        board.irq_hard = hard
        reg = Registry(board)
        reg.create({'id': 'b', 'kind': 'edge', 'pin': 25})
        assert sim.line(25).irq_hard is (False if hard is None else hard)
        reg.delete('b')
        assert sim.line(25).irq is None  # a stopped edge takes no IRQs
    assert Board('esp32').irq_hard is None and Board('pico').irq_hard


# ------------------------------------------------- bursts, debounce

def test_burst_with_bounces_counts_100_with_debounce_and_400_without():
    reg = registry()
    slow = reg.create({'kind': 'counter', 'pin': 34, 'debounce_ms': 5})
    raw = reg.create({'kind': 'counter', 'pin': 35, 'debounce_ms': 0})
    ms = sim.burst(34, 100, 10, 10, 3)
    sim.burst(35, 100, 10, 10, 3)
    assert ms == 2000
    assert unit.wait_until(lambda: not sim.line(34).burst.busy()
                      and not sim.line(35).burst.busy(), 20000)
    sim.advance_ms(5)
    a, b = slow.to_dict(), raw.to_dict()
    assert a['error'] is None and b['error'] is None, (a, b)
    assert a['count'] == 100 and a['total'] == 100, a
    assert a['bounces'] == 600, a  # 3 glitches: 3 ups and 3 downs each
    assert b['count'] == 400 and b['bounces'] == 0, b
    assert a['rate_per_s'] > 0
    reg.replace_all([])


def test_edge_presses_releases_and_last_edge():
    reg = registry()
    sim.drive(32, 0)
    h = reg.create({'kind': 'edge', 'pin': 32, 'debounce_ms': 5})
    assert h.to_dict()['level'] == 0 and h.to_dict()['last_edge_ms'] is None
    sim.burst(32, 3, 20, 20, 2)
    # done, and its last edge seen (a busy host may run the IRQ a bit later)
    assert unit.wait_until(lambda: not sim.line(32).burst.busy()
                      and h.to_dict()['level'] == 0, 5000), h.to_dict()
    d = h.to_dict()
    assert d['presses'] == 3, d
    # each press: up (the press), then down, up, down, up within 5 ms
    assert d['bounces'] == 12 and d['level'] == 0, d
    assert d['last_edge_ms'] is not None and d['last_edge_ms'] >= 0
    reg.replace_all([])


# ------------------------------------------------- PWM

def test_fade_0_to_100_over_1_s_passes_50_monotonic_steps():
    for curve in ('linear', 'gamma'):
        reg = registry()
        reg.create({'id': 'led', 'kind': 'pwm', 'pin': 2, 'duty': 0,
                    'fade_ms': 1000, 'curve': curve})
        free = reg.board.timers_free
        h = reg.update('led', {'duty': 100})
        assert h.timer is not None and reg.board.timers_free == free - 1
        seen = [h.live_pm()]
        t0 = ticks_ms()
        while time.ticks_diff(ticks_ms(), t0) < 1300:
            sim.advance_ms(1)
            if h.live_pm() != seen[-1]:
                seen.append(h.live_pm())
        assert all(a < b for a, b in zip(seen, seen[1:])), (curve, seen)
        assert len(seen) - 1 >= 50 and seen[-1] == 1000, (curve, seen)
        d = h.to_dict()
        assert d['duty'] == 100 and not d['fading'] and d['error'] is None
        missed = d['stats']['missed']  # a busy machine may miss some...
        sim.advance_ms(100)
        assert h.to_dict()['stats']['missed'] == missed  # ...none after
        assert reg.board.pwm_info(2)['duty'] == 100
        # a finished fade gives its timer back
        assert h.timer is None and reg.board.timers_free == free
        reg.replace_all([])


def test_pwm_without_a_fade_takes_no_timer_and_jumps():
    reg = registry()
    free = reg.board.timers_free
    h = reg.create({'id': 'fan', 'kind': 'pwm', 'pin': 2, 'duty': 37.5,
                    'freq_hz': 25000})
    assert h.timer is None and reg.board.timers_free == free
    assert reg.board.pwm_info(2) == {'freq_hz': 25000, 'duty': 37.5,
                                     'level_avg': 0.375}
    h = reg.update('fan', {'duty': 80})  # fade_ms 0: a jump
    assert h.timer is None and h.live_pm() == 800
    reg.do('stop', 'fan')
    assert reg.board.pwm_info(2) is None and sim.line(2).level == 0
    for duty in (-1, 100.1, 33.33, '50', True):
        e = refused(reg.update, 'fan', {'duty': duty})
        assert e.field == 'duty', e.message
    reg.replace_all([])


def test_rp2_slice_conflicts_are_409_naming_the_other_binding():
    reg = registry('pico')
    reg.create({'id': 'a', 'kind': 'pwm', 'pin': 2, 'freq_hz': 1000})
    e = refused(reg.create, {'kind': 'pwm', 'pin': 3, 'freq_hz': 2000})
    assert e.status == 409 and e.code == 'pwm_slice_in_use', e.message
    assert '"a"' in e.message and 'slice 1' in e.message, e.message
    e = refused(reg.create, {'kind': 'pwm', 'pin': 18, 'freq_hz': 1000})
    assert e.status == 409 and 'same output' in e.message, e.message
    reg.create({'id': 'b', 'kind': 'pwm', 'pin': 3, 'freq_hz': 1000})
    e = refused(reg.update, 'b', {'freq_hz': 500})
    assert e.status == 409 and '"a"' in e.message
    reg.create({'kind': 'pwm', 'pin': 4, 'freq_hz': 500})  # slice 2: free
    # in one config too
    e = refused(reg.replace_all, [
        {'id': 'x', 'kind': 'pwm', 'pin': 6, 'freq_hz': 100},
        {'id': 'y', 'kind': 'pwm', 'pin': 7, 'freq_hz': 200}])
    assert e.status == 409 and e.field == 'bindings[1].pin', e.field
    # esp32's LEDC has no slices; its range is 1 Hz to 40 MHz
    esp = registry('esp32')
    esp.create({'kind': 'pwm', 'pin': 2, 'freq_hz': 1})
    esp.create({'kind': 'pwm', 'pin': 4, 'freq_hz': 40000000})
    e = refused(esp.create, {'kind': 'pwm', 'pin': 5, 'freq_hz': 40000001})
    assert e.field == 'freq_hz'
    e = refused(reg.create, {'kind': 'pwm', 'pin': 8, 'freq_hz': 5})
    assert e.field == 'freq_hz' and 'from 10' in e.message, e.message
    reg.replace_all([])
    esp.replace_all([])


# ------------------------------------------------- rules

def test_rules_are_checked_at_create():
    reg = registry()
    reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                'duration_ms': 100, 'start': False})
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 100})

    def rule(when='press', do='toggle', target='relay'):
        return [{'when': when, 'do': do, 'binding': target}]
    e = refused(reg.create, {'kind': 'edge', 'pin': 32, 'on': rule(
        target='nope')})
    assert e.status == 400 and e.field == 'on[0].binding', e.field
    assert 'nope' in e.message and 'relay' in e.message, e.message
    for bad, field in ((rule(when='count>=3'), 'on[0].when'),
                       (rule(do='blink'), 'on[0].do'),
                       (rule(do='pulse', target='led'), 'on[0].do'),
                       ([{'when': 'press', 'do': 'stop'}], 'on[0].binding'),
                       (rule() * 9, 'on'), ({}, 'on')):
        e = refused(reg.create, {'kind': 'edge', 'pin': 32, 'on': bad})
        assert e.status == 400 and e.field == field, (bad, e.field)
    e = refused(reg.create, {'kind': 'edge', 'pin': 32, 'edge': 'both',
                             'on': rule(when='release')})
    assert e.field == 'on[0].when', e.field
    c = reg.create({'kind': 'counter', 'pin': 33,
                    'on': rule(when='count>=5', do='pulse')})
    for when in ('count>=0', 'count>=05', 'count>=x'):
        e = refused(reg.update, c.id, {'on': rule(when=when)})
        assert e.field == 'on[0].when', when
    # loops: itself, and A -> B -> A
    e = refused(reg.create, {'id': 'me', 'kind': 'edge', 'pin': 32,
                             'on': rule(target='me')})
    assert e.code == 'rule_loop', e.code
    reg.create({'id': 'a', 'kind': 'edge', 'pin': 25})
    reg.create({'id': 'b', 'kind': 'edge', 'pin': 26,
                'on': rule(target='a')})
    e = refused(reg.update, 'a', {'on': rule(target='b')})
    assert e.code == 'rule_loop' and 'a -> b -> a' in e.message, e.message
    e = refused(reg.replace_all, [
        {'id': 'a', 'kind': 'edge', 'pin': 25, 'on': rule(target='b')},
        {'id': 'b', 'kind': 'edge', 'pin': 26, 'on': rule(target='a')}])
    assert e.code == 'rule_loop' and e.field.startswith('bindings[0]')
    # a config may name a binding that comes later in it
    reg.replace_all([
        {'id': 'door', 'kind': 'edge', 'pin': 25, 'on': rule(target='r')},
        {'id': 'r', 'kind': 'pulse', 'pin': 4, 'duration_ms': 50,
         'start': False}])
    reg.replace_all([])


def test_a_press_toggles_the_relay_and_a_reed_switch_starts_a_blink():
    """The docs/api.md example, played on the simulated board."""
    reg = registry()
    relay = reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                        'duration_ms': 500, 'start': False})
    reg.create({'id': 'button', 'kind': 'edge', 'pin': 14, 'pull': 'up',
                'edge': 'falling', 'debounce_ms': 20,
                'on': [{'when': 'press', 'do': 'toggle', 'binding': 'relay'}]})
    blink = reg.create({'id': 'warn', 'kind': 'blink', 'pin': 2,
                        'period_ms': 250, 'start': False})
    reg.create({'id': 'door', 'kind': 'edge', 'pin': 27, 'pull': 'up',
                'edge': 'rising', 'debounce_ms': 50,
                'on': [{'when': 'press', 'do': 'start', 'binding': 'warn'},
                       {'when': 'release', 'do': 'stop',
                        'binding': 'warn'}]})
    sim.drive(14, 0)  # pressed
    assert unit.wait_until(lambda: relay.running, 200)
    assert sim.line(4).level == 1
    sim.advance_ms(30)
    sim.drive(14, 1)  # let go: a release, no rule
    sim.advance_ms(30)
    sim.drive(14, 0)  # pressed again: toggled off
    assert unit.wait_until(lambda: not relay.running, 200)
    sim.drive(27, 0)  # the door closes (the magnet pulls the reed shut)
    sim.advance_ms(60)
    sim.drive(27, 1)  # opens
    assert unit.wait_until(lambda: blink.running, 200)
    sim.advance_ms(60)
    sim.drive(27, 0)  # closes
    assert unit.wait_until(lambda: not blink.running, 200)
    assert all(h.error is None for h in reg.bindings), reg.specs()
    reg.replace_all([])


def test_a_deleted_target_shows_in_the_rules_binding():
    reg = registry()
    reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                'duration_ms': 100, 'start': False})
    h = reg.create({'id': 'button', 'kind': 'edge', 'pin': 14,
                    'on': [{'when': 'press', 'do': 'pulse',
                            'binding': 'relay'}]})
    reg.delete('relay')
    d = h.to_dict()
    assert d['running'] and 'relay' in d['error'], d
    reg.replace_all([])


def test_actions_wait_for_a_change_under_way():
    """A scheduled action that lands in the middle of a request's change
    runs after it, not inside it."""
    reg = registry()
    relay = reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                        'duration_ms': 100, 'start': False})
    h = reg.create({'id': 'button', 'kind': 'edge', 'pin': 14,
                    'on': [{'when': 'press', 'do': 'pulse',
                            'binding': 'relay'}]})
    seen = []

    def saving(durable=True):  # stands in for a save that a rule interrupts
        seen.append(relay.running)
        if len(seen) == 1:
            reg.act('pulse', 'relay', h)
            seen.append(relay.running)
    reg.on_change = saving
    reg.do('stop', 'button')
    assert seen[:2] == [False, False] and relay.running, seen
    reg.replace_all([])


def test_count_rule_fires_once_per_run():
    reg = registry()
    relay = reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                        'duration_ms': 5000, 'start': False})
    reg.create({'id': 'meter', 'kind': 'counter', 'pin': 34,
                'on': [{'when': 'count>=10', 'do': 'pulse',
                        'binding': 'relay'}]})
    sim.burst(34, 9, 5, 5)
    assert unit.wait_until(lambda: not sim.line(34).burst.busy(), 3000)
    sim.advance_ms(5)
    assert not relay.running
    sim.burst(34, 5, 5, 5)
    assert unit.wait_until(lambda: relay.running, 3000)
    reg.do('stop', 'relay')
    sim.burst(34, 5, 5, 5)
    assert unit.wait_until(lambda: not sim.line(34).burst.busy(), 3000)
    sim.advance_ms(5)
    assert not relay.running  # once per run
    reg.replace_all([])


def test_counter_total_is_saved_every_n_minutes_and_on_stop():
    reg = registry()
    saved = []
    reg.on_change = lambda durable=True: saved.append(reg.specs())
    c = reg.create({'id': 'meter', 'kind': 'counter', 'pin': 34,
                    'total': 1000})
    saved.clear()
    c.save_ms = 300  # minutes on a board
    sim.burst(34, 5, 5, 5)
    assert unit.wait_until(lambda: c.presses() == 5, 3000)
    sim.advance_ms(400)
    sim.burst(34, 1, 5, 5)
    assert unit.wait_until(lambda: saved, 3000)
    assert saved[-1][0]['total'] == 1006, saved
    sim.burst(34, 2, 5, 5)
    assert unit.wait_until(lambda: c.presses() == 8, 3000)
    reg.do('stop', 'meter')
    assert saved[-1][0]['total'] == 1008 and not saved[-1][0]['start']
    reg.do('start', 'meter')  # count starts again, the total goes on
    assert c.to_dict()['count'] == 0 and c.to_dict()['total'] == 1008
    reg.replace_all([])


unit.main(globals())
