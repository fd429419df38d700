"""Every kind's ISR runs with the heap locked and allocates nothing, also at
the extremes the API allows (24 h periods, counters at their wrap, a
million pattern repeats, 256-sample windows), so it holds on a 32-bit port
where ints from 2**30 up are heap objects. An allocating ISR is caught (so
these checks cannot pass vacuously)."""
import gc
import micropython
import unit
import time
from app import sim
from app.board.board import Board, ticks_ms, ticks_us
from app.kinds.handler import MASK
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
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': DAY, 'window': 256},
}


def make(body, board='sim'):
    reg = Registry(Board(board))
    body = dict(body)
    body['start'] = True
    h = reg.create(body)
    h._timer_deinit()  # the test calls the ISR itself
    return h


def _check(body):
    kind = body['kind']
    h = make(body)
    # the raw per-interrupt work: any allocation would raise MemoryError
    err = unit.call_locked(lambda _: h._tick(), None, 1)
    assert err is None, '%s tick raised %r' % (kind, err)
    h.start()
    h._timer_deinit()
    err = unit.call_locked(h._isr, h.timer, 500)
    assert err is None, '%s isr raised %r' % (kind, err)
    assert h._fault is None, '%s isr faulted: %r' % (kind, h._fault)
    assert h.fires > 0
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


def test_counters_wrap_inside_small_int_range():
    """At MASK the next count is 0, and MASK + 1 is still a small int on a
    32-bit port (below 2**30): the ISR that wraps allocates nothing."""
    assert MASK + 1 < 1 << 30
    for kind in BODIES:
        h = make(EXTREMES[kind])
        h.start()
        h._timer_deinit()
        h.fires = h.missed = h.drops = MASK
        if kind == 'sample':
            h.edges = MASK
        if kind == 'pattern':
            h._rounds = MASK
        err = unit.call_locked(h._isr, h.timer, 40)
        assert err is None and h._fault is None, (kind, err, h._fault)
        assert h.fires == 40 - 1, (kind, h.fires)


def test_long_periods_are_timed_in_ms_and_short_ones_in_us():
    assert make(BODIES['blink'])._clock is ticks_us
    h = make(EXTREMES['blink'])
    assert h._clock is ticks_ms and h._period == DAY
    p = make(EXTREMES['pattern'])
    assert p._clock is ticks_ms  # its longest step decides
    # lateness of a day-long period is reported in us, correctly
    h.start()
    h._timer_deinit()
    h._last = time.ticks_add(ticks_ms(), -DAY - 250)  # fired 250 ms late
    assert unit.call_locked(h._isr, h.timer, 1) is None
    late = h.to_dict()['stats']['late_max_us']
    assert 250000 <= late < 300000, late
    assert h.missed == 0


def test_a_gap_of_k_periods_counts_k_minus_1_missed():
    for body, clock, unit_per_ms in ((BODIES['blink'], ticks_us, 1000),
                                     (EXTREMES['blink'], ticks_ms, 1)):
        h = make(body)
        h.start()
        h._timer_deinit()
        period = h._period
        assert period == body['period_ms'] * unit_per_ms
        h._last = time.ticks_add(clock(), -4 * period)  # 3 fires never came
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert h.missed == 3, (body, h.missed)
        assert h.to_dict()['stats']['missed'] == 3
        # a fire on time counts none
        h._last = time.ticks_add(clock(), -period)
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert h.missed == 3
    # one-shot kinds (a pulse, a pattern's steps) have no missed fires
    p = make(BODIES['pulse'])
    p.start()
    p._timer_deinit()
    p._last = time.ticks_add(ticks_us(), -10 * p._period)
    assert unit.call_locked(p._isr, p.timer, 1) is None
    assert p.missed == 0


def test_isr_allocates_zero_bytes():
    for kind in BODIES:
        h = make(BODIES[kind])
        h.start()
        h._timer_deinit()
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
    h._timer_deinit()
    assert unit.call_locked(h._isr, h.timer, 50) is None
    sim.advance_ms(5)
    assert h.deferred == 0 and h.drops == 0
    p = make(BODIES['pulse'])
    p.start()
    p._timer_deinit()
    assert unit.call_locked(p._isr, p.timer, 1) is None
    sim.advance_ms(5)
    assert p.deferred == 1 and not p.running


class Leaky(Blink):
    """A deliberately bad kind: its ISR allocates a list."""
    KIND = 'leaky'

    def tick(self):
        self.junk = [self.level]


def test_allocating_tick_is_caught_under_heap_lock():
    register(Leaky)
    try:
        reg = Registry(Board('sim'))
        h = reg.create({'kind': 'leaky', 'pin': 2, 'period_ms': 1000,
                        'start': False})
        err = unit.call_locked(lambda _: h._tick(), None, 1)
        assert isinstance(err, MemoryError), repr(err)
    finally:
        del KINDS['leaky']


def test_allocating_isr_stops_binding_with_error_on_sim_timer():
    register(Leaky)
    try:
        reg = Registry(Board('sim'))
        h = reg.create({'kind': 'leaky', 'pin': 2, 'period_ms': 2})
        sim.advance_ms(50)
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


def test_defer_coalesces_to_one_pending():
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
    assert seen == {'drops': 2, 'pending': 1}, seen
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
        h = reg.create({'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000]})
        assert h.timer.hard is hard, (hard, h.timer.hard)
        h.timer.hard = 'unset'
        h._timer_deinit()
        assert unit.call_locked(h._isr, h.timer, 1) is None
        assert h.timer.hard is hard, (hard, h.timer.hard)
        reg.delete(h.id)


unit.main(globals())
