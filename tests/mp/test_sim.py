"""The simulated board's timers on either clock (the unix port's timer
thread, the WebAssembly port's virtual time): callbacks re-arm under the
heap lock, long periods, the lock never left held, soft callbacks that a
full schedule queue loses."""
import micropython
import time
import unit
from app import sim
from app.http.api import create_app
from app.board.board import Board
from app.registry import Registry
from fakes import Store, request


def wait_until(fn, ms=3000):
    """Let board time pass until ``fn()`` holds (real time is bounded by
    ``ms`` on the timer thread: the machine is shared)."""
    t0 = sim.ticks_ms()
    while not fn():
        if time.ticks_diff(sim.ticks_ms(), t0) > ms:
            return False
        sim.advance_ms(1)
    return True


def lock_is_free():
    """The sim's lock is not held (only the timer thread's clock has one)."""
    lock = getattr(sim, '_lock', None)
    if lock is None:
        return True
    if not lock.acquire(0):
        return False
    lock.release()
    return True


# -------------------------------------------------- hard callbacks, 32-bit

def test_pattern_rearms_its_timer_from_the_callback_under_heap_lock():
    # the pattern's ISR calls Timer.init from the callback, heap locked: on
    # a 32-bit build a thread id (a pointer) is a heap int, and asking for
    # it there raised "MemoryError in pattern ISR"
    reg = Registry(Board('sim'))
    h = reg.create({'kind': 'pattern', 'pin': 5, 'steps_ms': [2, 3, 4]})
    assert wait_until(lambda: h.fires >= 12 or h.error is not None)
    d = h.to_dict()
    assert d['error'] is None and d['running'], d
    assert h.timer.error is None, h.timer.error
    reg.delete(h.id)


def test_init_and_deinit_allocate_nothing_under_heap_lock():
    t = sim.Timer(-1)
    err = None
    micropython.heap_lock()
    try:
        i = 0
        while i < 50:
            t.init(mode=sim.Timer.ONE_SHOT, period=1000, callback=_noop)
            t.init(mode=sim.Timer.PERIODIC, freq=10, callback=_noop,
                   hard=True)
            t.deinit()
            i += 1
    except Exception as e:
        err = e
    micropython.heap_unlock()
    assert err is None, repr(err)


def _noop(timer):
    pass


def test_hard_is_accepted_and_ignored():
    seen = [0]

    def cb(timer):
        seen[0] += 1
    t = sim.Timer(-1)
    t.init(mode=sim.Timer.PERIODIC, period=1, callback=cb, hard=False)
    assert wait_until(lambda: seen[0] >= 3)
    t.init(period=1, callback=cb)  # mode defaults to PERIODIC, no hard
    n = seen[0]
    assert wait_until(lambda: seen[0] >= n + 3)
    t.deinit()


# ------------------------------------------------------------ long periods

def test_periods_up_to_a_day_arm_and_the_app_keeps_answering():
    # on 32 bits, period_ms >= 537,000 overflowed ticks_add (and from
    # 2,147,484 the int conversion) inside the sim's lock: every later
    # request hung
    reg = Registry(Board('sim'))
    app = create_app(reg, Store())
    for i, period in enumerate((536870, 537000, 2147484, 86400000)):
        status, body = request(app, b'POST', b'/api/bindings', {
            'id': 'b%d' % i, 'kind': 'blink', 'pin': (2, 4, 5, 12)[i],
            'period_ms': period})
        assert status == 201, (period, status, body)
        assert reg.get('b%d' % i).timer.active
    assert lock_is_free()
    status, body = request(app, b'GET', b'/api/bindings')
    assert status == 200 and len(body['bindings']) == 4, (status, body)
    for h in list(reg.bindings):
        reg.delete(h.id)


def test_a_day_long_timer_fires_after_a_day_not_before():
    fired = [0]

    def cb(timer):
        fired[0] += 1
    t = sim.Timer(-1)
    t.init(mode=sim.Timer.ONE_SHOT, period=86400000, callback=cb)
    if sim.THREADED:  # real time: a day is too long to wait for
        t.deinit()
        return
    sim.advance_ms(86400000 - 1)
    assert fired[0] == 0 and t.active
    sim.advance_ms(1)
    assert fired[0] == 1 and not t.active and t.error is None


def test_too_long_or_no_period_is_refused_before_the_lock():
    t = sim.Timer(-1)
    unit.raises(ValueError, t.init, period=sim.MAX_PERIOD_MS + 1,
                callback=_noop)
    unit.raises(ValueError, t.init, period=0, callback=_noop)
    unit.raises(ValueError, t.init, mode=7, period=10, callback=_noop)
    assert lock_is_free()
    t.init(period=10, callback=_noop)
    assert t.active
    t.deinit()


def test_a_failing_init_leaves_no_lock_held_and_requests_answer():
    # what overflowed on 32 bits, raised by hand (on 64 bits it does not)
    reg = Registry(Board('sim'))
    app = create_app(reg, Store())
    real = sim.ticks_add

    def overflow(a, b):
        raise OverflowError('ticks interval overflow')
    sim.ticks_add = overflow
    try:
        status, body = request(app, b'POST', b'/api/bindings', {
            'id': 'x', 'kind': 'blink', 'pin': 2, 'period_ms': 1000})
    finally:
        sim.ticks_add = real
    assert status == 500 and 'OverflowError' in body['error']['message'], (
        status, body)
    assert lock_is_free()  # held, the next Timer.init would hang here
    status, body = request(app, b'POST', b'/api/bindings', {
        'id': 'y', 'kind': 'blink', 'pin': 4, 'period_ms': 1000})
    assert status == 201, (status, body)
    status, body = request(app, b'GET', b'/api/bindings')
    assert status == 200, (status, body)
    for h in list(reg.bindings):
        reg.delete(h.id)


# ---------------------------------------------------------- soft callbacks

def test_soft_fires_compete_for_the_queue_and_the_lost_are_counted():
    n = 10  # more timers than the schedule queue has slots
    ran = [0] * n
    timers = []

    def make_cb(i):
        def cb(timer):
            ran[i] += 1
        return cb
    cbs = [make_cb(i) for i in range(n)]
    seen = {}

    def while_busy(_):
        # scheduled callbacks do not run while one runs: the main thread is
        # busy, every fire meanwhile waits in the queue or is lost
        for i in range(n):
            t = sim.Timer(-1)
            t.init(period=1, callback=cbs[i])
            timers.append(t)
        seen['waited'] = wait_until(
            lambda: sum(t.fires for t in timers) >= 4 * n)
        seen['ran'] = sum(ran)
        for i in range(n):  # no more fires; what is queued stays queued
            timers[i].init(period=100000, callback=cbs[i])

    sim.SOFT = True
    try:
        micropython.schedule(while_busy, 0)
        assert wait_until(lambda: 'ran' in seen)
        assert seen['waited'] and seen['ran'] == 0, seen
        assert wait_until(lambda: not any(t._queued for t in timers))
    finally:
        sim.SOFT = False
    lost = [t.lost for t in timers]
    fires = [t.fires for t in timers]
    assert sum(lost) > 0, (fires, lost)
    assert [ran[i] + lost[i] for i in range(n)] == fires, (ran, lost, fires)
    for t in timers:
        t.deinit()


def test_soft_callbacks_run_with_the_heap_locked():
    junk = []

    def allocates(timer):
        junk.append([1])
    t = sim.Timer(-1)
    sim.SOFT = True
    try:
        t.init(period=1, callback=allocates)
        assert wait_until(lambda: t.error is not None)
    finally:
        sim.SOFT = False
    assert isinstance(t.error, MemoryError), repr(t.error)
    assert not t.active and junk == []
    t.deinit()


def test_deinit_drops_queued_soft_fires():
    ran = [0]

    def cb(timer):
        ran[0] += 1
    t = sim.Timer(-1)
    seen = {}

    def while_busy(_):
        t.init(period=1, callback=cb)
        wait_until(lambda: t._queued > 0)
        seen['queued'] = t._queued
        t.deinit()

    sim.SOFT = True
    try:
        micropython.schedule(while_busy, 0)
        assert wait_until(lambda: 'queued' in seen)
        sim.advance_ms(5)
    finally:
        sim.SOFT = False
    assert seen['queued'] > 0 and ran[0] == 0, (seen, ran)


unit.main(globals())
