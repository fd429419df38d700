"""A simulated board for the unix port: ``Pin``, ``Timer`` and ``schedule``.

Timers fire from one background thread, so they keep running while the
asyncio loop is busy, and every callback runs with the heap locked: an
allocation in a callback fails exactly as in a hard IRQ on a board.

On the unix port a callback queued with ``micropython.schedule`` from
another thread only runs once the main thread executes bytecode; an
asyncio loop asleep in ``poll()`` would leave it queued until the next
HTTP request. So after a callback has scheduled work, the timer thread
sends one byte to a loopback UDP socket that the loop waits on (see
``Waker``): deferred work runs at once, and an idle loop costs nothing.
"""
import _thread  # pyright: ignore[reportMissingImports] (unix only; esp8266 has no threads)
import micropython
import socket
from time import sleep_us, ticks_add, ticks_diff, ticks_ms, ticks_us
from micropython import const

_MASK = const(0x3FFFFFFF)  # counters wrap before they leave small-int range
_MAX_SLEEP_US = const(5000)


class _Line:
    """One GPIO line, shared by every Pin object with the same id."""

    def __init__(self):
        self.mode = -1
        self.pull = -1
        self.level = 0
        self.driven = -1  # level forced from outside; -1 = not driven
        self.transitions = 0


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
    """Force the level an input pin reads (tests and demos)."""
    state = line(pin_id)
    state.driven = level
    if state.mode != Pin.OUT:
        _set(state, _input_level(state))


def _set(state, level):
    if level != state.level:
        state.level = level
        state.transitions = (state.transitions + 1) & _MASK


class Pin:
    """``machine.Pin`` lookalike that keeps its level and counts transitions."""
    IN = const(0)
    OUT = const(1)
    PULL_UP = const(1)
    PULL_DOWN = const(2)

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
            _set(state, _input_level(state))

    def value(self, level=None):
        state = self._line
        if level is None:
            if state.mode == Pin.OUT:
                return state.level
            return _input_level(state)
        if state.mode == Pin.OUT:
            _set(state, 1 if level else 0)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


_lock = _thread.allocate_lock()
_timers = []
_timer_thread = 0
_need_wake = 0
_wake = None  # Waker.poke, once a waker runs


class Timer:
    """``machine.Timer`` lookalike (PERIODIC / ONE_SHOT, ms or Hz)."""
    ONE_SHOT = const(0)
    PERIODIC = const(1)

    def __init__(self, timer_id=-1, **kw):
        self.id = timer_id
        self.active = False
        self._cb = None
        self._mode = Timer.PERIODIC
        self._period_us = 0
        self._due = 0
        self.fires = 0
        self.late_max_us = 0
        self.error = None  # the exception that stopped this timer, if any
        global _timer_thread
        _lock.acquire()
        _timers.append(self)
        _lock.release()
        if not _timer_thread:  # the first timer starts the thread
            _timer_thread = -1
            _thread.start_new_thread(_run, ())
        if kw:
            self.init(**kw)

    def init(self, mode=PERIODIC, period=-1, freq=-1, callback=None):
        if freq > 0:
            period_us = 1000000 // freq
        elif period > 0:
            period_us = period * 1000
        else:
            raise ValueError('period or freq required')
        locked = _thread.get_ident() != _timer_thread
        if locked:  # from a callback the timer thread holds the lock already
            _lock.acquire()
        self._mode = mode
        self._period_us = period_us
        self._cb = callback
        self._due = ticks_add(ticks_us(), period_us)
        self.error = None
        self.active = callback is not None
        if locked:
            _lock.release()

    def deinit(self):
        """Stop; once this returns no callback of this timer is running."""
        locked = _thread.get_ident() != _timer_thread
        if locked:
            _lock.acquire()
        self.active = False
        # let go of the callback: a pooled timer would otherwise keep a
        # deleted binding (its bound ISR) alive until the timer is reused
        self._cb = None
        if locked:
            _lock.release()


def _fire(timer, now):
    late = ticks_diff(now, timer._due)
    if timer._mode == Timer.PERIODIC:
        due = ticks_add(timer._due, timer._period_us)
        if ticks_diff(now, due) >= 0:  # overran a whole period: skip, as hardware does
            due = ticks_add(now, timer._period_us)
        timer._due = due
    else:
        timer.active = False
    timer.fires = (timer.fires + 1) & _MASK
    if late > timer.late_max_us:
        timer.late_max_us = late
    micropython.heap_lock()
    try:
        timer._cb(timer)
    except Exception as e:  # as on a board: an exception stops the timer
        timer.active = False
        timer.error = e
    micropython.heap_unlock()


def _run():
    global _timer_thread, _need_wake
    _timer_thread = _thread.get_ident()
    while True:
        _lock.acquire()
        now = ticks_us()
        i = 0
        while i < len(_timers):
            t = _timers[i]
            i += 1
            if t.active and ticks_diff(now, t._due) >= 0:
                _fire(t, now)
                now = ticks_us()
        wait = _MAX_SLEEP_US
        i = 0
        while i < len(_timers):
            t = _timers[i]
            i += 1
            if t.active:
                d = ticks_diff(t._due, now)
                if d < wait:
                    wait = d
        _lock.release()
        if _need_wake:
            _need_wake = 0
            if _wake is not None:
                try:
                    _wake()
                except OSError:
                    pass
        if wait > 0:
            sleep_us(wait)


def schedule(func, arg):
    """``micropython.schedule``, plus a nudge that wakes the asyncio loop."""
    global _need_wake
    micropython.schedule(func, arg)
    _need_wake = 1


class Waker:
    """Wakes the asyncio loop when a timer callback has scheduled work.

    A loopback UDP socket: the timer thread sends one byte after a pass that
    scheduled work; the ``run`` task waits on it with the loop's own poller.
    """

    def __init__(self):
        from os import urandom
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(20):
            r = urandom(2)
            port = 49152 + ((r[0] << 8 | r[1]) & 0x3FFF)
            addr = socket.getaddrinfo('127.0.0.1', port)[0][-1]
            try:
                self.rx.bind(addr)
                break
            except OSError:
                pass
        else:
            raise OSError('no free loopback port for the waker')
        self.rx.setblocking(False)
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.tx.connect(addr)
        self.tx.setblocking(False)
        self._send = self.tx.send

    def poke(self):
        self._send(b'!')

    async def run(self):
        global _wake
        import asyncio
        reader = asyncio.StreamReader(self.rx)
        _wake = self.poke
        while True:
            try:
                await reader.read(64)
            except OSError:
                pass
