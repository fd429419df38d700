"""Every kind's ISR runs with the heap locked and allocates nothing; an
allocating ISR is caught (so these checks cannot pass vacuously)."""
import gc
import micropython
import unit
from app import sim
from app.board import Board
from app.kinds import KINDS, Blink, register
from app.registry import Registry

BODIES = {
    'blink': {'kind': 'blink', 'pin': 2, 'period_ms': 1000},
    'pulse': {'kind': 'pulse', 'pin': 4, 'duration_ms': 1000},
    'pattern': {'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000, 3000],
                'repeat': 3},
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': 1000, 'window': 16},
}


def make(kind):
    reg = Registry(Board('sim'))
    body = dict(BODIES[kind])
    body['start'] = False
    h = reg.create(body)
    h.start()
    h._timer_deinit()  # the test calls the ISR itself
    return h


def call_locked(fn, arg, n):
    """Call fn(arg) n times with the heap locked; return the exception."""
    micropython.heap_lock()
    try:
        i = 0
        while i < n:
            fn(arg)
            i += 1
    except Exception as e:
        micropython.heap_unlock()
        return e
    micropython.heap_unlock()
    return None


def _check_kind(kind):
    h = make(kind)
    # the raw per-interrupt work: any allocation would raise MemoryError
    err = call_locked(lambda _: h._tick(), None, 1)
    assert err is None, '%s tick raised %r' % (kind, err)
    h.start()
    h._timer_deinit()
    err = call_locked(h._isr, h.timer, 500)
    assert err is None, '%s isr raised %r' % (kind, err)
    assert h._fault is None, '%s isr faulted: %r' % (kind, h._fault)
    assert h.fires > 0


def test_blink_isr_heap_locked():
    _check_kind('blink')


def test_pulse_isr_heap_locked():
    _check_kind('pulse')


def test_pattern_isr_heap_locked():
    _check_kind('pattern')


def test_sample_isr_heap_locked():
    _check_kind('sample')


def test_isr_allocates_zero_bytes():
    for kind in BODIES:
        h = make(kind)
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
        err = call_locked(lambda _: h._tick(), None, 1)
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
    h = make('blink')
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
        seen['err'] = call_locked(lambda _: h.defer(), None, 1)
        seen['after'] = h.drops
        seen['pending'] = h._pending

    micropython.schedule(inside_scheduled, 0)
    sim.advance_ms(20)
    assert 0 < seen['filled'] < 64, seen
    assert seen['err'] is None, seen
    assert seen['after'] == seen['drops'] + 1, seen
    assert seen['pending'] == 0, seen


def test_defer_coalesces_to_one_pending():
    h = make('blink')
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


unit.main(globals())
