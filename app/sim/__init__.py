"""A simulated board: ``Pin``, ``Timer``, ``schedule`` and the clock
(``ticks_us``, ``ticks_ms``, ``ticks_add``, ``ticks_diff``).

Two clocks, chosen by the port at import:

- **Real time** (``THREADED``: the port has ``_thread``, as the unix port
  does): timers fire from one background thread, so they keep running while
  the asyncio loop is busy. ``ticks_us``/``ticks_ms`` are ``time``'s.
- **Virtual time** (no ``_thread``, as on the WebAssembly port): nothing
  fires on its own. The clock starts at 0 and moves only in ``advance(us)``
  / ``advance_ms(ms)``, which fire the due timers one by one in time order
  (ties in creation order), each at its due time on the clock.

``advance``/``advance_ms`` work on both clocks (on real time they sleep), so
a test that lets board time pass runs on either VM.

Two callback modes, the same on both clocks:

- **Hard** (the default; ``hard=True`` on rp2): each fire calls the callback
  at once, from the timer thread or, on virtual time, from ``advance`` as a
  scheduled callback of its own: a board runs a hard IRQ with the scheduler
  locked, so work the callback schedules runs after it, never inside it.
- **Soft** (``sim.SOFT = True``; rp2 with ``hard=False``, esp32 always):
  each fire is queued with ``micropython.schedule``, the VM's one queue that
  the app's deferred work shares, and the callback runs when the main
  thread next handles it. When the queue is full the fire is lost, as on a
  board; ``timer.lost`` counts them. Queued callbacks run only on the main
  thread while it executes bytecode: an asyncio loop asleep in ``poll()`` on
  the unix port runs them when it next wakes (a request), so fires queued
  meanwhile beyond the queue's depth are lost. Use it in tests that drive
  the main thread, not for ``make run``.

In both modes a callback runs with the heap locked: an allocation fails
exactly as in a hard IRQ on a board. An exception in a callback stops its
timer (``timer.error`` keeps it), as on a board. ``Timer.init`` accepts
``hard=`` and keeps it in ``timer.hard`` (the mode is ``SOFT``'s).

Interrupts off: ``pause()`` holds every timer's fires as a board with its
interrupts off does: they are due, counted, and wait (``timer.held``);
``release()`` delivers them one after the other at once, as rp2 does (its
periodic alarms re-arm from the time they were due, so the held fires come
as a burst), and ``release(lose=True)`` drops them instead, as a timer that
really skips fires does (a periodic timer that overran: it fires next at
its next due time).

Periods: ``freq`` or ``period`` (ms) up to ``MAX_PERIOD_MS`` (~3.1 days).
A period longer than ``_US_PERIOD_MS`` keeps a ms deadline: on a 32-bit
port ticks_us only spans +-2**29 us (~537 s) and a day in us is no small int.

Nothing that can raise runs while the sim's lock is held: ``init`` checks
and computes first, and the lock is always released (try/finally).

Pins: ``Pin.irq(handler, trigger, hard)`` as on a board. A change of an
input's level fires it: from ``drive()`` (the main thread: the handler runs
as a hard IRQ would, heap locked, never inside other scheduled work) or from
a burst (``burst(pin, pulses, high_ms, low_ms, bounce)``: a train of
presses away from the line's idle level, high on a pulled-down line and
low on a pulled-up one, played by a timer of its own, so on the timer
thread or on virtual time, each press preceded by ``bounce`` glitches). A burst's phases are never
shorter than asked: a late timer stretches them. ``hard=False`` queues the
handler with ``schedule`` instead (esp32's pins always do).
``PWM(pin, freq=, duty_u16=)`` keeps its frequency and duty per pin
(``pwm_state``).

Waking the loop (real time only): on a board the idle loop runs scheduled
work as it comes; the unix port's asyncio sleeps in ``poll()`` and would run
it only at its next wake-up. Once a pin has an IRQ handler, work that a
timer-thread callback schedules (``schedule`` here) is followed by one byte
on a loopback socket that a task of the loop waits on, so it runs at once.
"""
import micropython
from micropython import const
from time import sleep_ms, sleep_us, ticks_add, ticks_diff
import time

try:
    import _thread  # pyright: ignore[reportMissingImports] (unix only)
except ImportError:  # the WebAssembly port, esp8266: virtual time
    _thread = None



def install():
    """Stand in for ``machine`` (``sys.modules``), which the unix port has
    without Pin, Timer or PWM: ``app.board`` then hands out this module's
    pins, timers, clock and ``schedule`` without knowing about it.
    ``app.main`` calls it on the unix port before anything else."""
    import sys
    sys.modules['machine'] = sys.modules[__name__]


THREADED = _thread is not None
SOFT = False  # True: every fire goes through micropython.schedule
MAX_PERIOD_MS = const(0x10000000)  # ticks_ms spans +-2**29 ms on 32 bits
_US_PERIOD_MS = const(200000)  # longer periods keep a ms deadline
_MASK = const(0x1FFFFFFF)  # x + 1 stays a small int on 32-bit (< 2**30)
_MAX_SLEEP_US = const(5000)
_STEP_US = const(100000000)  # advance() moves the clock in steps this long
_FAR_US = const(100000001)  # "not within this step"
_LATE_MAX_MS = const(1000000)  # a ms lateness past this is reported as this

_schedule = micropython.schedule
_paused = False  # interrupts off: fires are held (see pause)
_wake = False  # something was scheduled: the timer thread pokes the loop
_poke = None  # the waker's send, once a pin has an IRQ handler


def schedule(fn, arg):
    """``micropython.schedule``, noting that the loop should wake."""
    global _wake
    _schedule(fn, arg)
    _wake = True


class _Line:
    """One GPIO line, shared by every Pin object with the same id."""

    def __init__(self):
        self.mode = -1
        self.pull = -1
        self.level = 0
        self.driven = -1  # level forced from outside; -1 = not driven
        self.irq = None  # Pin.irq's handler, its trigger, hard and pin
        self.trigger = 0
        self.irq_hard: 'bool | None' = None
        self.irq_pin: 'Pin | None' = None
        self.pwm_freq = 0  # 0: no PWM on this pin
        self.pwm_duty = 0  # duty_u16
        self.pwm: '_PWM | None' = None  # made on the first PWM(pin)
        self.burst: '_Burst | None' = None  # made on the first burst


_lines = {}


def line(pin_id):
    """The shared state of pin ``pin_id`` (created on first use)."""
    state = _lines.get(pin_id)
    if state is None:
        state = _lines[pin_id] = _Line()
    return state


def _input_level(state):
    if state.driven >= 0:
        return state.driven
    return 1 if state.pull == Pin.PULL_UP else 0


def drive(pin_id, level):
    """Force the level an input pin reads (tests and demos); a change fires
    the pin's IRQ, run as a hard IRQ would (see ``_irq_now``)."""
    _set(line(pin_id), level, _irq_now)


def _set(state, level, dispatch):
    """Drive ``state``'s line to ``level``; a change of an input's level
    goes to ``dispatch`` if its IRQ wants that edge. Allocation-free."""
    state.driven = level
    if state.mode != Pin.OUT:
        old = state.level
        new = _input_level(state)
        state.level = new
        if new != old and state.irq is not None and state.trigger & (
                Pin.IRQ_RISING if new else Pin.IRQ_FALLING):
            dispatch(state)


class Pin:
    """``machine.Pin`` lookalike that keeps its level."""
    IN = const(0)
    OUT = const(1)
    PULL_UP = const(1)
    PULL_DOWN = const(2)
    IRQ_RISING = const(1)  # as esp32's
    IRQ_FALLING = const(2)

    def __init__(self, pin_id, mode=-1, pull=-1, value=None):
        self.id = pin_id
        self._line = line(pin_id)
        self.init(mode, pull, value)

    def init(self, mode=-1, pull=-1, value=None):
        state = self._line
        if mode != -1:
            state.mode = mode
        if pull != -1 or mode == Pin.IN:
            state.pull = pull
        if value is not None:
            self.value(value)
        if state.mode == Pin.IN:
            state.level = _input_level(state)

    def value(self, level=None):
        state = self._line
        if level is None:
            if state.mode == Pin.OUT:
                return state.level
            return _input_level(state)
        if state.mode == Pin.OUT:
            state.level = 1 if level else 0

    def irq(self, handler=None, trigger=3, hard=False):
        """Call ``handler(pin)`` on the edges in ``trigger``; None stops."""
        state = self._line
        state.irq = handler
        state.trigger = trigger
        state.irq_hard = hard
        state.irq_pin = self
        if handler is not None:
            _start_waker()

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


# ------------------------------------------------------------------ clock

if THREADED:
    ticks_us = time.ticks_us
    ticks_ms = time.ticks_ms
else:
    # The virtual clock, as ticks (they wrap as the VM's do). The stubs type
    # ticks as opaque per-clock values: plain ints here are ignored below.
    _now_us = 0
    _now_ms = 0
    _sub_ms = 0  # us past the last whole ms

    def ticks_us():
        return _now_us

    def ticks_ms():
        return _now_ms

    def _move(us):  # 0 <= us <= _STEP_US
        global _now_us, _now_ms, _sub_ms
        _now_us = ticks_add(_now_us, us)  # pyright: ignore[reportArgumentType]
        sub = _sub_ms + us
        _now_ms = ticks_add(_now_ms, sub // 1000)  # pyright: ignore[reportArgumentType]
        _sub_ms = sub % 1000


def _seconds(t):
    return int(t) if isinstance(t, float) else t


# The wall clock (Unix seconds) of app.time.clock: the host's, or without
# threads the host's at start, moved by the virtual clock (``advance_ms``
# moves it too). Here, not there: a board's image has none of it.
if THREADED:
    def wall_s():
        return _seconds(time.time())
else:
    _wall = [_seconds(time.time()) * 1000, 0]  # ms since 1970, ticks_ms then

    def wall_s():
        now = ticks_ms()
        _wall[0] += ticks_diff(now, _wall[1])  # pyright: ignore
        _wall[1] = now
        return _wall[0] // 1000


# ------------------------------------------------------------------ timers

_timers = []
_started = False  # the timer thread (real time only)
_firing = None  # the timer whose callback runs now (hard mode)
thread_error = None  # the last exception in the timer thread's bookkeeping
if _thread is not None:
    _lock = _thread.allocate_lock()
    # Called, not branched on: the main thread runs queued callbacks at any
    # jump, and one run while it holds the lock (a soft fire) would take it
    # again and hang. Between these two calls there is no jump.
    _acquire = _lock.acquire
    _release = _lock.release
else:
    def _acquire():  # virtual time: one thread, nothing to lock
        pass
    _release = _acquire


def _heap_locked():
    """True on a thread whose heap is locked: a timer callback, or code
    that stands in for one. Allocation-free, unlike ``_thread.get_ident()``,
    whose ids are pointers (heap ints on a 32-bit build). The lock depth
    is per thread (``MP_STATE_THREAD(gc_lock_depth)``) and ``heap_unlock``
    returns it (py/modmicropython.c)."""
    micropython.heap_lock()
    return micropython.heap_unlock() > 0


class Timer:
    """``machine.Timer`` lookalike (PERIODIC / ONE_SHOT, ms or Hz)."""
    ONE_SHOT = const(0)
    PERIODIC = const(1)

    def __init__(self, timer_id=-1, **kw):
        self.id = timer_id
        self.active = False
        self._cb = None
        self._mode = Timer.PERIODIC
        self._period = 0  # us; ms when _long
        self._long = False
        self._due = 0  # ticks_us; ticks_ms when _long
        self._queued = 0  # soft fires waiting in the schedule queue
        self.held = 0  # fires held while paused (interrupts off)
        self._soft = self._run_soft  # bound once: schedule() takes it
        self.fires = 0
        self.lost = 0  # soft fires the full queue refused
        self.skipped = 0  # periods skipped after an overrun (a busy host)
        self.late_max_us = 0
        self.error = None  # the exception that stopped this timer, if any
        self.hard = None  # the hard= of the last init
        global _started
        _acquire()
        try:
            _timers.append(self)
            start = not _started
            _started = True
        finally:
            _release()
        if start and _thread is not None:  # the first timer starts the thread
            _thread.start_new_thread(_run, ())
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, freq=-1, callback=None,
             hard=None):
        # Everything that can raise comes before the lock. Allocation-free
        # for small periods: a callback re-arms its timer with the heap locked.
        if mode != Timer.PERIODIC and mode != Timer.ONE_SHOT:
            raise ValueError('mode')
        if freq > 0:
            if freq > 1000000:
                raise ValueError('freq too high')
            span = 1000000 // freq
            in_ms = False
        elif period > 0:
            if period > MAX_PERIOD_MS:
                raise ValueError('period too long')
            in_ms = period > _US_PERIOD_MS
            span = period if in_ms else period * 1000
        else:
            raise ValueError('period or freq required')
        due = ticks_add(ticks_ms() if in_ms else ticks_us(), span)  # pyright: ignore[reportArgumentType]
        active = callback is not None
        _acquire()
        try:
            self._mode = mode
            self._period = span
            self._long = in_ms
            self._due = due
            self._cb = callback
            self.held = 0
            self.hard = hard  # what the caller asked for (tests read it)
            self.error = None
            self.active = active
        finally:
            _release()

    def deinit(self):
        """Stop; once this returns no callback of this timer runs (one
        running on the timer thread is waited for, unless this is it) and
        none that is queued (soft mode) will."""
        _acquire()
        try:
            self.active = False
            # let go of the callback: a pooled timer would otherwise keep a
            # deleted binding (its bound ISR) alive until the timer is reused
            self._cb = None
            self._queued = 0
            self.held = 0
        finally:
            _release()
        if THREADED and _firing is self and not _heap_locked():
            while _firing is self:
                sleep_us(50)

    def _run_soft(self, _):
        """A queued soft fire, on the main thread."""
        _acquire()  # jumps are safe here: queued callbacks do not nest
        try:
            run = self._queued > 0  # 0: deinit came after it was queued
            if run:
                self._queued -= 1
            cb = self._cb
        finally:
            _release()
        if run and cb is not None:
            _call(self, cb)


def _until(t, now_us, now_ms, sub_ms):
    """Microseconds until ``t`` is due (<= 0: due), at most _FAR_US."""
    if not t._long:
        return ticks_diff(t._due, now_us)
    d = ticks_diff(t._due, now_ms)
    if d > _STEP_US // 1000:
        return _FAR_US
    return d * 1000 - sub_ms


def _account(t, now_us, now_ms):
    """A fire of ``t``: its next due time (periodic) or its end (one-shot),
    the counters. Small ints only."""
    if t._long:
        now = now_ms
        late = ticks_diff(now_ms, t._due)
        late = (_LATE_MAX_MS if late > _LATE_MAX_MS else late) * 1000
    else:
        now = now_us
        late = ticks_diff(now_us, t._due)
    if t._mode == Timer.PERIODIC:
        due = ticks_add(t._due, t._period)
        if ticks_diff(now, due) >= 0:  # overran a whole period: skip, as hardware does
            t.skipped = (t.skipped + ticks_diff(now, due) // t._period + 1
                         ) & _MASK
            due = ticks_add(now, t._period)
        t._due = due
    else:
        t.active = False
    t.fires = (t.fires + 1) & _MASK
    if late > t.late_max_us:
        t.late_max_us = late


def _queue(t):
    """Soft mode: queue the fire; a full queue loses it."""
    t._queued += 1
    try:
        schedule(t._soft, 0)
    except RuntimeError:  # "schedule queue full"
        t._queued -= 1
        t.lost = (t.lost + 1) & _MASK


def _call(t, cb):
    """Run a callback as an IRQ would: heap locked; an exception stops the
    timer."""
    micropython.heap_lock()
    try:
        cb(t)
    except Exception as e:
        t.active = False
        t.error = e
    finally:
        micropython.heap_unlock()


# ---------------------------------------------------- virtual time: advance

def advance(us):
    """Let ``us`` microseconds of board time pass, firing what falls due.
    On real time (the timer thread) this sleeps."""
    if THREADED:
        sleep_ms(us // 1000)
        sleep_us(us % 1000)
        return
    while us > 0:
        step = us if us < _STEP_US else _STEP_US
        _advance(step)
        us -= step


def advance_ms(ms):
    """``advance`` in milliseconds (a day of them is no small int in us)."""
    if THREADED:
        sleep_ms(ms)
        return
    step_ms = _STEP_US // 1000
    while ms > 0:
        step = ms if ms < step_ms else step_ms
        _advance(step * 1000)
        ms -= step


def pause():
    """Interrupts off: from now every timer holds its fires (see the
    module's docstring)."""
    global _paused
    _paused = True


def release(lose=False):
    """Interrupts on again: deliver the held fires of each timer one after
    the other, now (rp2's catch-up burst), or with ``lose`` drop them (a
    timer that skips). Main program only."""
    global _paused
    while True:
        burst = None
        n = 0
        _acquire()
        try:
            for t in _timers:
                if t.held:
                    burst = t
                    n = t.held
                    t.held = 0
                    break
            if burst is None:
                _paused = False
        finally:
            _release()
        if burst is None:
            return
        while n > 0 and not lose:
            if SOFT:
                _queue(burst)
            else:
                _hard_fire(burst)
            n -= 1


def _advance(us):  # us <= _STEP_US
    while True:  # the earliest due timer, until none is due within us
        best = None
        wait = us
        for t in _timers:
            if t.active:
                d = _until(t, _now_us, _now_ms, _sub_ms)
                if d < 0:
                    d = 0
                if d < wait or (best is None and d == wait):
                    best = t
                    wait = d
        _move(wait)
        us -= wait
        if best is None:
            return
        _account(best, _now_us, _now_ms)
        if _paused:
            best.held += 1
        elif SOFT:
            _queue(best)
        else:
            _hard_fire(best)


_hard = None  # virtual time: the timer whose hard fire waits in the queue


def _hard_fire(t):
    """Run ``t``'s callback now, from the schedule queue. A board runs a hard
    IRQ with the scheduler locked (mp_irq_dispatch, shared/runtime/mpirq.c):
    work it schedules runs after it, never inside it with the heap locked.
    Without threads this (the main thread) would run queued work at the
    callback's first jump, so the callback runs as a scheduled callback
    itself: the VM runs one at each jump below. If it does not (we run inside
    a scheduled callback: the scheduler is locked already), call it directly."""
    global _hard
    _hard = t
    queued = False
    spins = 0
    while _hard is not None and spins < 4:
        if not queued:
            try:
                schedule(_run_hard, 0)
                queued = True
            except RuntimeError:  # full: it drains at the next jump, unless locked
                pass
        spins += 1
    if _hard is not None:
        _hard = None  # the queued _run_hard finds nothing to do
        _call_firing(t)


def _run_hard(_):
    global _hard
    t = _hard
    if t is not None:
        _hard = None
        _call_firing(t)


def _call_firing(t):
    global _firing
    cb = t._cb
    if cb is None:  # deinit since
        return
    _firing = t
    try:
        _call(t, cb)
    finally:
        _firing = None


# ----------------------------------------------- real time: the timer thread

def _fire(t, now):
    """One fire of the due timer ``t`` at ``now`` (ticks_us), on the timer
    thread, which holds the lock around this call (bench/mp/lateness.py
    wraps this module global to count lateness)."""
    global _firing
    _account(t, now, ticks_ms())
    if _paused:
        t.held += 1
        return
    if SOFT:
        _queue(t)
        return
    # the callback runs without the lock: init/deinit from it take the
    # lock as from anywhere; deinit from elsewhere waits for it to end
    global _wake
    cb = t._cb
    _firing = t
    _lock.release()
    try:
        _call(t, cb)
        if _wake and _poke is not None:
            _wake = False
            try:
                _poke(b'!')
            except OSError:  # a full socket buffer: the loop is awake anyway
                pass
    finally:
        _firing = None
        _lock.acquire()


def _run():
    global thread_error
    while True:
        wait = _MAX_SLEEP_US
        _lock.acquire()
        try:
            i = 0
            while i < len(_timers):
                t = _timers[i]
                i += 1
                if t.active and _until(t, ticks_us(), ticks_ms(), 0) <= 0:
                    _fire(t, ticks_us())
            now_us = ticks_us()
            now_ms = ticks_ms()
            for t in _timers:
                if t.active:
                    d = _until(t, now_us, now_ms, 0)
                    if d < wait:
                        wait = d
        except Exception as e:  # keep the thread (and every timer) alive
            thread_error = e
        finally:
            _lock.release()
        if wait > 0:
            sleep_us(wait)



# ------------------------------------------------------------ pin IRQs

_irq_line = None  # the line whose IRQ waits in the schedule queue


def _irq_now(state):
    """Run ``state``'s IRQ from the main thread as a board would: a hard
    handler at once, heap locked, with the scheduler locked (it runs as a
    scheduled callback itself, as ``_hard_fire`` does, so queued work never
    runs inside it); a soft one queued (``hard=False``)."""
    global _irq_line
    if state.irq_hard is False:
        _soft_irq(state)
        return
    _irq_line = state
    queued = False
    spins = 0
    while _irq_line is not None and spins < 4:
        if not queued:
            try:
                _schedule(_run_irq, 0)
                queued = True
            except RuntimeError:  # full: it drains at the next jump
                pass
        spins += 1
    if _irq_line is not None:  # inside a scheduled callback already
        _irq_line = None
        _call_irq(state)


def _run_irq(_):
    global _irq_line
    state = _irq_line
    if state is not None:
        _irq_line = None
        _call_irq(state)


def _irq_direct(state):
    """Run ``state``'s IRQ from a timer callback (heap locked already)."""
    if state.irq_hard is False:
        _soft_irq(state)
    else:
        _call_irq(state)


def _soft_irq(state):
    try:
        schedule(state.irq, state.irq_pin)
    except RuntimeError:  # a full queue loses the edge, as on a board
        pass


def _call_irq(state):
    handler = state.irq
    if handler is None:
        return
    micropython.heap_lock()
    try:
        handler(state.irq_pin)
    except Exception:  # a board prints it and carries on; handlers keep theirs
        pass
    finally:
        micropython.heap_unlock()


# ------------------------------------------------------------ bursts

class _Burst:
    """A train of presses on one input line, played by a timer of its own.
    A press moves the line away from its idle level, as a button does: a
    pulled-up line (a button to ground, ``edge: falling``) idles high and
    is pressed low, any other idles low and is pressed high; a line that
    was driven to a level idles there. The train: idle for ``low_ms``,
    then each press is ``bounce`` glitches (pressed and idle again at
    once), pressed for ``high_ms``, idle for ``low_ms``. At its end the
    line is left idle as it was: undriven (its pull decides) or driven.
    Phases are timed from when the one before was played, so a late timer
    stretches them, never shortens."""

    def __init__(self, state):
        self.state = state
        self.timer = Timer(-1)
        self._step = self.step  # bound once: the timer re-arms with it
        self.left = 0
        self.high_ms = self.low_ms = 1
        self.bounce = 0
        self.high = False  # pressed now
        self.idle = 0  # the level between presses
        self.rest = -1  # what the line is driven to at the end (-1: undriven)

    def start(self, pulses, high_ms, low_ms, bounce):
        state = self.state
        if not self.busy():  # a new train: the line's idle level as it rests now
            self.rest = state.driven
            self.idle = state.driven if state.driven >= 0 else \
                _input_level(state)
        self.timer.deinit()
        self.left = pulses
        self.high_ms = high_ms
        self.low_ms = low_ms
        self.bounce = bounce
        self.high = False
        _set(state, self.idle, _irq_now)  # a train starts idle, for low_ms
        self.timer.init(mode=Timer.ONE_SHOT, period=low_ms,
                        callback=self._step)

    def step(self, t):
        state = self.state
        idle = self.idle
        if self.high:  # the end of a press
            self.high = False
            self.left -= 1
            if self.left > 0:
                _set(state, idle, _irq_direct)
                t.init(mode=Timer.ONE_SHOT, period=self.low_ms,
                       callback=self._step)
            else:  # idle as it was: its pull's level, or driven there
                _set(state, self.rest, _irq_direct)
            return
        pressed = 1 - idle
        i = 0
        while i < self.bounce:
            _set(state, pressed, _irq_direct)
            _set(state, idle, _irq_direct)
            i += 1
        _set(state, pressed, _irq_direct)
        self.high = True
        t.init(mode=Timer.ONE_SHOT, period=self.high_ms, callback=self._step)

    def busy(self):
        # not timer.active: a one-shot timer is inactive while its callback
        # runs, before the callback arms it for the next phase
        return self.left > 0 and self.timer.error is None


def burst(pin_id, pulses, high_ms, low_ms, bounce=0):
    """Play ``pulses`` presses on input ``pin_id`` (see ``_Burst``: away
    from its idle level and back); a burst already playing there is
    replaced. Returns its length in ms."""
    state = line(pin_id)
    if state.burst is None:
        state.burst = _Burst(state)
    state.burst.start(pulses, high_ms, low_ms, bounce)
    return pulses * (high_ms + low_ms)


# ------------------------------------------------------------ PWM

class _PWM:
    """One pin's ``machine.PWM``: keeps its ``freq`` and ``duty_u16`` on
    the pin's line (``pwm_state``). Allocation-free setters: a fade's timer
    callback writes the duty with the heap locked."""

    def __init__(self, state):
        self._line = state

    def init(self, freq=1000, duty_u16=0):
        state = self._line
        state.mode = Pin.OUT
        state.pwm_freq = freq
        self.duty_u16(duty_u16)

    def freq(self, value=None):
        if value is None:
            return self._line.pwm_freq
        self._line.pwm_freq = value

    def duty_u16(self, value=None):
        state = self._line
        if value is None:
            return state.pwm_duty
        state.pwm_duty = value
        state.level = 1 if value else 0

    def deinit(self):
        state = self._line
        state.pwm_freq = 0
        state.pwm_duty = 0
        state.level = 0


def PWM(pin, freq=1000, duty_u16=0):
    """``machine.PWM(pin, freq=, duty_u16=)``: one object per pin, made
    once and reused, as rp2's are (static objects in
    ports/rp2/machine_pwm.c)."""
    state = pin._line if isinstance(pin, Pin) else line(pin)
    pwm = state.pwm
    if pwm is None:
        pwm = state.pwm = _PWM(state)
    pwm.init(freq, duty_u16)
    return pwm


def pwm_state(pin_id):
    """``{"freq_hz", "duty", "level_avg"}`` of a pin running PWM, else None;
    ``duty`` in %, ``level_avg`` the wave's mean level (0 to 1)."""
    state = _lines.get(pin_id)
    if state is None or not state.pwm_freq:
        return None
    return {'freq_hz': state.pwm_freq,
            'duty': round(state.pwm_duty * 1000 / 65535) / 10,
            'level_avg': round(state.pwm_duty / 65535, 4)}


# ------------------------------------------------------------ the waker

def _start_waker():
    """Real time: a loopback socket a task of the asyncio loop waits on, so
    work the timer thread schedules runs at once (see the docstring)."""
    global _poke
    if _poke is not None or not THREADED:
        return
    try:
        import asyncio
        import socket
        from os import urandom
        rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(20):
            r = urandom(2)
            addr = socket.getaddrinfo(
                '127.0.0.1', 49152 + ((r[0] << 8 | r[1]) & 0x3FFF))[0][-1]
            try:
                rx.bind(addr)
                break
            except OSError:
                pass
        else:
            rx.close()
            return
        rx.setblocking(False)
        tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tx.connect(addr)
        tx.setblocking(False)
    except (ImportError, OSError):  # no sockets: the loop wakes when it will
        return
    asyncio.create_task(_drain(rx))
    _poke = tx.send


async def _drain(rx):
    import asyncio
    reader = asyncio.StreamReader(rx)
    while True:
        try:
            await reader.read(64)
        except OSError:
            pass
