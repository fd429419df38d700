"""Every kind's ISR runs with the heap locked and allocates nothing, also at
the extremes the API allows (24 h periods, counters at their wrap, a
million pattern repeats, 256-sample windows), on time and late (the late
path, a catch-up burst and skipped periods), so it holds on a 32-bit port
where ints from 2**30 up are heap objects. An allocating ISR is caught (so
these checks cannot pass vacuously). Late is told apart from lost."""
import gc
import micropython
import unit
import time
from app import sim
from app.board.board import Board, ticks_ms, ticks_us
from app.kinds.handler import MASK, TICKS
from app.kinds import KINDS
from app.kinds.blink import Blink


def register(cls):
    KINDS[cls.KIND] = cls
from app.registry import Registry

DAY = 86400000
BODIES = {
    'blink': {'kind': 'blink', 'pin': 2, 'period_ms': 1000},
    'pulse': {'kind': 'pulse', 'pin': 4, 'duration_ms': 1000},
    'pattern': {'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000, 3000],
                'repeat': 3},
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': 1000, 'window': 16},
}
EXTREMES = {  # the largest values validation lets through
    'blink': {'kind': 'blink', 'pin': 2, 'period_ms': DAY},
    'pulse': {'kind': 'pulse', 'pin': 4, 'duration_ms': DAY},
    'pattern': {'kind': 'pattern', 'pin': 5, 'steps_ms': [1] * 31 + [DAY],
                'repeat': 1000000},
    # on ticks: the most ticks a step can take (a byte), and day-long ticks
    'pattern_ticks': {'kind': 'pattern', 'pin': 5,
                      'steps_ms': [1] * 31 + [225], 'repeat': 1000000},
    'pattern_day_ticks': {'kind': 'pattern', 'pin': 5,
                          'steps_ms': [DAY // 2, DAY], 'repeat': 1000000},
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': DAY, 'window': 256},
}


class StillTimer:
    """A binding's timer while the test calls its ISR itself: it never
    fires (a pattern armed per step re-arms it from the ISR: a real one
    would fire on its own meanwhile); init keeps the keywords, in C,
    allocation-free."""
    init = {'mode': 0, 'period': 0, 'callback': None, 'hard': None}.update
    deinit = int


def make(body, board='sim'):
    reg = Registry(Board(board))
    body = dict(body)
    body['start'] = True
    h = reg.create(body)
    h.timer.deinit()  # the test calls the ISR itself
    h.timer = StillTimer()
    return h


def late_by(h, periods):
    """The next fire of ``h`` (called now) comes ``periods`` periods after
    it was due (its due time moves back: the clock cannot move on)."""
    h._late_after = (h._clock() - periods * h._period + h._slack) & TICKS


def period_passes(h):
    """A period passes before the next fire of ``h`` (called now)."""
    h._late_after = (h._late_after - h._period) & TICKS


def on_time(h):
    """Call the ISR of ``h`` before its fire is late (a second to spare: a
    busy host may pause between two lines; allocation-free)."""
    h._late_after = (h._clock() + h._slack + 1000 * h.per_ms()) & TICKS
    h._isr(None)


def _check(body):
    kind = body['kind']
    h = make(body)
    # the raw per-interrupt work: any allocation would raise MemoryError
    err = unit.call_locked(lambda _: unit.fire(h), None, 1)
    assert err is None and h.error is None, '%s tick: %r %r' % (
        kind, err, h.error)
    h.start()
    h.timer.deinit()
    err = unit.call_locked(h._isr, h.timer, 500)
    assert err is None, '%s isr raised %r' % (kind, err)
    assert h.error is None, '%s isr faulted: %r' % (kind, h.error)
    assert h.fires > 0
    # late fires: a burst's first, then skipped periods (the rare path)
    h.start()
    h.timer.deinit()
    late_by(h, 3)
    err = unit.call_locked(h._isr, h.timer, 1)
    period_passes(h)  # still 3 periods late: skipped, not late
    err = err or unit.call_locked(h._isr, h.timer, 2)
    assert err is None and h.error is None, '%s late: %r %r' % (
        kind, err, h.error)
    return h
def test_blink_isr_heap_locked():
    _check(BODIES['blink'])


def test_pulse_isr_heap_locked():
    _check(BODIES['pulse'])


def test_pattern_isr_heap_locked():
    _check(BODIES['pattern'])


def test_sample_isr_heap_locked():
    _check(BODIES['sample'])


def test_isr_at_the_extremes_heap_locked():
    for kind in EXTREMES:
        _check(EXTREMES[kind])


def consts(mod):
    """The private constants (``_NAME = const(...)``) in the source of
    ``mod``: no global holds them. None where it runs compiled (the
    WebAssembly VM runs the image: the 64-bit run reads the sources)."""
    if not mod.__file__.endswith('.py'):
        return None
    out = {}
    with open(mod.__file__, 'rb') as f:  # bytes: the comments' UTF-8 too
        for line in f.read().split(b'\n'):
            if line.startswith(b'_') and b' = const(' in line:
                name, value = line.split(b' = const(')
                value = value.split(b')')[0]
                out[name[1:].decode()] = int(value[2:], 16) \
                    if value.startswith(b'0x') else int(value)
    return out


def test_each_kind_module_folds_the_same_constants():
    """The kinds define MASK and TICKS (and inputs the rules' ring) where
    their ISRs use them: const() folds only in its own module."""
    from app.kinds import handler, rules
    import app.kinds.blink as blink
    import app.kinds.pulse as pulse
    import app.kinds.pattern as pattern
    import app.kinds.sample as sample
    import app.kinds.pwm as pwm
    import app.kinds.breathe as breathe
    import app.kinds.inputs as inputs
    want = consts(handler) or {'TICKS_HALF': 0x10000000, 'SLACK_US': 1000}
    want.update({'MASK': handler.MASK, 'TICKS': handler.TICKS,
                 'RING_EVENTS': rules.EVENTS,
                 'RISING': rules.RISING, 'FALLING': rules.FALLING})
    assert want['TICKS_HALF'] == 0x10000000 and want['SLACK_US'] == 1000
    for mod in (blink, pulse, pattern, sample, pwm, breathe, inputs):
        got = consts(mod)
        if got is None:
            continue
        assert 'MASK' in got and 'TICKS' in got, mod
        for name in got:
            assert name not in want or got[name] == want[name], (mod, name)
        if mod is inputs:
            assert 'RING_EVENTS' in got and 'RISING' in got, got


def test_counters_wrap_inside_small_int_range():
    """At MASK the next count is 0, and MASK + 1 is still a small int on a
    32-bit port (below 2**30): the ISR that wraps allocates nothing, on
    time and on its late path."""
    assert MASK + 1 < 1 << 30 and TICKS + 1 == 1 << 29
    for kind in BODIES:
        h = make(EXTREMES[kind])
        h.start()
        h.timer.deinit()
        h.fires = h.late = h.missed = h.drops = MASK
        if kind == 'sample':
            h._head = MASK  # its edges
        if kind == 'pattern':
            h._rounds = MASK  # the next round is 2**29, then 1: never 0
        err = unit.call_locked(lambda _: on_time(h), None, 40)
        assert err is None and h.error is None, (kind, err, h.error)
        assert h.fires == 40 - 1 and h.late == MASK, (kind, h.fires, h.late)
        h.fires = MASK
        late_by(h, 2)
        err = unit.call_locked(h._isr, h.timer, 1)
        assert err is None and h.error is None, (kind, err, h.error)
        assert h.fires == 0 and h.late == 0, (kind, h.fires, h.late)


def test_long_periods_are_timed_in_ms_and_short_ones_in_us():
    assert make(BODIES['blink'])._clock is ticks_us
    h = make(EXTREMES['blink'])
    assert h._clock is ticks_ms and h._period == DAY
    p = make(EXTREMES['pattern'])
    assert p._clock is ticks_ms  # its longest step decides
    # lateness of a day-long period is reported in us, correctly
    h.start()
    h.timer.deinit()
    h._late_after = (ticks_ms() - 250 + h._slack) & TICKS  # due 250 ms ago
    assert unit.call_locked(h._isr, h.timer, 1) is None
    stats = h.to_dict()['stats']
    assert 250000 <= stats['late_max_us'] < 300000, stats
    assert stats['late'] == 1 and stats['missed'] == 0, stats


def test_a_catch_up_burst_is_late_and_skipped_periods_are_missed():
    """As rp2 delivers the fires it held while interrupts were off: each a
    period less late than the one before, all late, none missed, the
    lateness the first one's. A timer that skipped k periods instead fires
    k periods late, and again at its next fire: k missed, none late."""
    # lateness spans 2**28 of the clock's units: 8 periods of the longest
    # us-timed period, 3 of a day
    # (a pattern checks the fires that end a step: here every tick does)
    for body, unit_us, k in ((BODIES['blink'], 1, 4),
                             (EXTREMES['blink'], 1000, 2),
                             ({'kind': 'pattern', 'pin': 5,
                               'steps_ms': [1000, 1000]}, 1, 4)):
        h = make(body)
        h.start()
        h.timer.deinit()
        period = h._period
        late_by(h, k)  # interrupts off for k periods: k fires held...
        assert unit.call_locked(h._isr, h.timer, k + 1) is None  # ...a burst
        s = h.to_dict()['stats']
        assert s['fires'] == k + 1 and s['missed'] == 0, s
        # the last was due when the burst came (on time, unless a busy
        # host held this loop up past the slack)
        assert k <= s['late'] <= k + 1, s
        late = s['late']
        assert k * period * unit_us <= s['late_max_us'] \
            < (k * period + period // 10) * unit_us, (s, period)
        # then 2 fires skipped: 2 periods late twice, no catch-up
        late_by(h, 2)
        assert unit.call_locked(h._isr, h.timer, 1) is None
        period_passes(h)  # its next fire, one period on
        assert unit.call_locked(h._isr, h.timer, 1) is None
        s = h.to_dict()['stats']
        assert s['missed'] == 2 and s['late'] == late, s
        assert s['late_max_us'] < (k * period + period // 10) * unit_us, s
        # read before the second fire: the stats see the skip already
        late_by(h, 2)
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert h.late == late + 1  # the ISR cannot tell yet: its next fire...
        s = h.to_dict()['stats']  # ...is overdue, no burst came
        assert s['missed'] == 4 and s['late'] == late, s
    # one-shot kinds (a pulse) miss nothing: late is late
    p = make(BODIES['pulse'])
    p.start()
    p.timer.deinit()
    late_by(p, 10)
    assert unit.call_locked(p._isr, p.timer, 1) is None
    s = p.to_dict()['stats']
    assert s['missed'] == 0 and s['late'] == 1, s
    assert s['late_max_us'] >= 10 * 1000000, s


def test_overdue_fires_count_as_missed_when_read():
    """A binding whose fires stop coming (all lost) has no next fire to
    notice it: the stats count the periods overdue when they are read,
    by the rule that a fire more than half a period overdue is missed."""
    h = make(BODIES['blink'])
    h.start()
    h.timer.deinit()
    late_by(h, 2)  # 2 periods overdue
    assert h.to_dict()['stats']['missed'] == 2
    h._late_after = (h._clock() - h._period // 2 + 10000 + h._slack) & TICKS
    s = h.to_dict()["stats"]
    assert s["missed"] == 0, (s, h.missed, h._late_at, h.fires)


def test_a_pattern_counts_ticks_at_the_gcd_of_its_steps():
    """No Timer.init per step where a periodic timer at the steps' gcd
    takes at most TICKS_PER_STEP ticks a step on average; else one per
    step."""
    from app.kinds.pattern import TICKS_PER_STEP
    from app.kinds.pattern import tick_ms
    p = make(BODIES['pattern'])  # 1000, 2000, 3000: 6 ticks of 1000 ms
    assert tick_ms(p.params['steps_ms']) == 1000
    assert list(p._steps) == [1, 2, 3, 0]  # ticks, and a round's end
    assert p._isr == p.isr and p._period == 1000 * 1000
    q = make({'kind': 'pattern', 'pin': 5, 'steps_ms': [1, 999]})
    assert tick_ms(q.params['steps_ms']) == 0 and 1000 > TICKS_PER_STEP * 2
    assert q._isr == q.isr_per_step
    # ms, a round's end, then each step's length in us + slack, last first
    assert list(q._steps) == [1, 999, 0, 999000 + 250, 1000 + 250], \
        list(q._steps)
    assert q._slack == 250  # a quarter of the shortest step
    # by hand: levels per tick of [1000, 2000, 3000], twice
    p.start()
    p.timer.deinit()
    levels = []
    i = 0
    while i < 12:
        assert unit.call_locked(p._isr, p.timer, 1) is None
        levels.append(p.level)
        i += 1
    assert levels == [0, 0, 1, 1, 1, 1] * 2, levels
    # fires: the ticks that end a step (3 a round), as armed per step
    assert p.to_dict()['rounds'] == 2 and p.fires == 6, p.fires


def test_a_pattern_played_forever_never_counts_round_0():
    """Rounds count 1 to 2**29 and on from 1 (small ints on 32-bit): a
    pattern played forever (``repeat`` 0) never meets its end, on ticks and
    armed per step."""
    for steps in ([1000, 1000], [1, DAY]):
        h = make({'kind': 'pattern', 'pin': 5, 'steps_ms': steps,
                  'repeat': 0})
        h.start()
        h.timer.deinit()
        h._rounds = MASK
        seen = []
        for _ in range(4):  # two rounds of two steps
            assert unit.call_locked(lambda _: unit.fire(h), None, 1) is None
            seen.append(h._rounds)
        assert seen == [MASK, 1 << 29, 1 << 29, 1], (steps, seen)
        assert h.running and h.error is None, steps


def test_pattern_ticks_fit_a_byte():
    """At most TICKS_PER_STEP ticks a step on average, 32 steps: a step
    takes at most 225 ticks, a byte."""
    from app.kinds.pattern import tick_ms
    h = make(EXTREMES['pattern_ticks'])
    assert tick_ms(h.params['steps_ms']) == 1 and h._steps[31] == 225
    assert h._isr == h.isr and h._steps[32] == 0
    assert tick_ms([1] * 31 + [226]) == 0  # 257 ticks: armed per step


def test_a_running_binding_fits_a_29_slot_table_and_keeps_it():
    """Heap per binding (issue 18: 512 B on a 32-bit board for these
    kinds): a running blink, pulse, pattern (on ticks, armed per step) or
    sample has at most 29 attributes, the instance table's size step below
    37, and its interrupts and deferred work add none (a late one would
    grow the table, an allocation outside the interrupt, but heap all the
    same)."""
    reg = Registry(Board('sim'))
    hs = [reg.create(body) for body in (
        {'kind': 'blink', 'pin': 2, 'period_ms': 2},
        {'kind': 'pulse', 'pin': 4, 'duration_ms': 3},
        {'kind': 'pattern', 'pin': 5, 'steps_ms': [2, 2, 4], 'repeat': 2},
        {'kind': 'pattern', 'pin': 12, 'steps_ms': [1, 30], 'repeat': 1},
        {'kind': 'sample', 'pin': 34, 'period_ms': 2, 'window': 256})]
    slots = [len(h.__dict__) for h in hs]
    assert max(slots) <= 29, [(h.KIND, n) for h, n in zip(hs, slots)]
    # a one-shot timer (a pulse) has no periods to tell skipped from late
    assert '_late_was' not in hs[1].__dict__ and hs[1]._periodic is False
    for n, level in enumerate((1, 0, 1)):
        sim.drive(34, level)
        sim.advance_ms(8)
        # the sample reads the level on its timer: wait for it (a loaded
        # host may run the timer thread late)
        assert unit.wait_until(lambda: hs[-1]._head > n), (n, hs[-1]._head)
    assert unit.wait_until(lambda: all(h.deferred for h in hs[1:]))
    assert hs[0].fires and hs[-1]._head == 3, (hs[0].fires, hs[-1]._head)
    for h in hs:
        h.to_dict()
    assert [len(h.__dict__) for h in hs] == slots, [
        (h.KIND, sorted(h.__dict__)) for h in hs]
    sim.drive(34, 0)
    reg.replace_all([])


def test_isr_allocates_zero_bytes():
    for kind in BODIES:
        h = make(BODIES[kind])
        h.start()
        h.timer.deinit()
        isr, timer = h._isr, h.timer
        isr(timer)
        gc.collect()
        before = gc.mem_alloc()
        i = 0
        while i < 2000:
            isr(timer)
            i += 1
        after = gc.mem_alloc()
        assert after == before, '%s ISR allocated %d bytes' % (kind, after - before)


def test_only_rare_events_defer():
    """A blink's fires schedule nothing; a pulse ending, a pattern finishing
    and a sample edge do (once each)."""
    h = make(BODIES['blink'])
    h.start()
    h.timer.deinit()
    assert unit.call_locked(h._isr, h.timer, 50) is None
    sim.advance_ms(5)
    assert h.deferred == 0 and h.drops == 0
    p = make(BODIES['pulse'])
    p.start()
    p.timer.deinit()
    assert unit.call_locked(p._isr, p.timer, 1) is None
    sim.advance_ms(5)
    assert p.deferred == 1 and not p.running


class Leaky(Blink):
    """A deliberately bad kind: its ISR allocates a list."""
    KIND = 'leaky'

    def isr(self, _=None):
        self.junk = [self.level]


def test_allocating_tick_is_caught_under_heap_lock():
    register(Leaky)
    try:
        reg = Registry(Board('sim'))
        h = reg.create({'kind': 'leaky', 'pin': 2, 'period_ms': 1000,
                        'start': False})
        err = unit.call_locked(lambda _: unit.fire(h), None, 1)
        assert isinstance(err, MemoryError), repr(err)
    finally:
        del KINDS['leaky']


def test_allocating_isr_stops_binding_with_error_on_sim_timer():
    register(Leaky)
    try:
        reg = Registry(Board('sim'))
        h = reg.create({'kind': 'leaky', 'pin': 2, 'period_ms': 2})
        t0 = ticks_ms()  # its first fire (a busy host may hold it up)
        while h.timer.error is None and time.ticks_diff(ticks_ms(), t0) < 3000:
            sim.advance_ms(1)
        d = h.to_dict()
        assert d['running'] is False, d
        assert d['error'] and 'MemoryError' in d['error'], d
        fires = h.fires
        sim.advance_ms(30)
        assert h.fires == fires, 'timer kept firing after the fault'
        assert h.level == 0  # pin back to idle
    finally:
        del KINDS['leaky']


def test_defer_counts_drops_when_queue_full():
    h = make(BODIES['blink'])
    seen = {}

    def inside_scheduled(_):
        # scheduled callbacks do not run while one runs: the queue stays full
        filled = 0
        try:
            while filled < 64:
                micropython.schedule(lambda _: None, 0)
                filled += 1
        except RuntimeError:
            pass
        seen['filled'] = filled
        seen['drops'] = h.drops
        seen['err'] = unit.call_locked(lambda _: h.defer(), None, 1)
        seen['after'] = h.drops
        seen['pending'] = h._pending

    micropython.schedule(inside_scheduled, 0)
    sim.advance_ms(20)
    assert 0 < seen['filled'] < 64, seen
    assert seen['err'] is None, seen
    assert seen['after'] == seen['drops'] + 1, seen
    assert seen['pending'] == 0, seen


def test_defer_coalesces_to_one_pending_without_drops():
    h = make(BODIES['blink'])
    seen = {}

    def inside_scheduled(_):
        h.defer()
        h.defer()
        h.defer()
        seen['drops'] = h.drops
        seen['pending'] = h._pending

    micropython.schedule(inside_scheduled, 0)
    sim.advance_ms(20)
    assert seen == {'drops': 0, 'pending': 1}, seen  # one run reads all
    assert h._pending == 0 and h.deferred == 1, (h._pending, h.deferred)


def test_timer_queue_isr_heap_locked_with_12_slots():
    """The esp32 profile's shared timer: its interrupt fires due slots and
    re-arms without allocating."""
    reg = Registry(Board('esp32'))
    hs = [reg.create({'kind': 'blink', 'pin': p, 'period_ms': DAY})
          for p in (2, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21)]
    queue = reg.board._queue
    assert queue is not None and len(queue.slots) == 9, reg.board.pool()
    for slot in queue.slots:
        slot.due = time.ticks_add(ticks_ms(), -1)  # all due now
    err = unit.call_locked(queue.isr, None, 1)
    assert err is None and queue.error is None, (err, queue.error)
    assert sum(h.fires for h in hs) == 9
    # a pattern re-arming its slot from inside the interrupt
    reg.replace_all([])
    for p in (2, 4, 5):
        reg.create({'kind': 'blink', 'pin': p, 'period_ms': DAY})
    pat = reg.create({'kind': 'pattern', 'pin': 12, 'steps_ms': [5, DAY],
                      'repeat': 1000000})
    assert pat.timer in reg.board._queue.slots
    pat.timer.due = time.ticks_add(ticks_ms(), -1)
    err = unit.call_locked(reg.board._queue.isr, None, 1)
    assert err is None and pat.fires == 1 and pat.timer.active, err
    reg.replace_all([])


def test_hard_is_passed_where_the_port_takes_it():
    """rp2 (1.26+) takes hard=True, esp32 only hard=False, esp8266 no hard
    keyword at all: a handler passes what its board says, also when a
    pattern re-arms from inside its interrupt."""
    for hard in (True, False, None):
        board = Board('sim')
        board.timer_hard = hard
        reg = Registry(board)
        # a pattern whose timer is armed per step ([1, 1000]: 1001 ticks
        # of 1 ms for 2 steps)
        h = reg.create({'kind': 'pattern', 'pin': 5, 'steps_ms': [1, 1000]})
        assert h.timer.hard is hard, (hard, h.timer.hard)
        h.timer.hard = 'unset'
        h.timer.deinit()
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert h.timer.hard is hard, (hard, h.timer.hard)
        reg.delete(h.id)


unit.main(globals())
