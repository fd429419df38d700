"""The board layer: the one module that knows about ``machine``.

It hands out ``machine.Pin``, ``machine.Timer`` and ``machine.PWM``; on the
unix port the simulated board (``app.sim``) stands in for ``machine``
(``app.main`` installs it there), so nothing here knows about it. It also
owns the board profile (pins and their capabilities, from the table in
``app/board/profiles.py``) and the timer pool.
"""
import sys
import micropython
from micropython import const

# Pin capabilities, a bitmask: the same bits as app/board/profiles.py's
# table (tests/mp/test_profiles.py checks), defined twice so that neither
# module imports the other (profiles is boot-time data, dropped after boot).
CAP_OUT = const(1)
CAP_IN = const(2)
CAP_ADC = const(4)
CAP_PULL = const(8)  # internal pull-up/down available

import machine
from machine import Pin, Timer

try:
    from machine import PWM
except ImportError:  # a port without PWM: the pwm kinds are refused
    PWM = None
SIM = hasattr(machine, 'advance_ms')  # the simulated board (app.sim)
if SIM:  # its clock too: without threads the tests drive it
    from machine import schedule, ticks_ms, ticks_us  # pyright: ignore[reportAttributeAccessIssue]
else:
    from time import ticks_ms, ticks_us
    schedule = micropython.schedule


class Board:
    """Pins, capabilities and a pool of timers for one board profile:
    ``timers_total`` timers (its own and the shared queue's slots),
    ``timers_free`` of them free."""
    # set by profiles.build; said here for the type checker (an
    # annotation alone makes no class attribute: no heap)
    name: str
    pins: dict
    timer_hard: bool
    shared_max: int
    _shared_id: int
    _hardware: tuple
    _virtual: bool
    _timers: list

    def __init__(self, name='auto', virtual_timers=8, safe=False,
                 facts=None, shared_timers=16):
        """The board ``name`` (a row of ``app.board.profiles``), or ``'auto'``:
        the one the firmware says it is. ValueError names what is wrong
        and what to set; with ``safe`` an unknown board is built anyway,
        with no pins, for safe mode (never a guessed pin map). ``facts``:
        ``(port, build, machine)`` instead of the running firmware's. The
        work is ``profiles.build``'s: boot code, dropped with its table."""
        if facts is None:
            if SIM and name == 'auto':
                name = 'sim'  # the simulated board runs its own profile
            facts = firmware()
        from app.board import profiles
        try:  # what it needs of this module is passed: no import back
            profiles.build(self, name, virtual_timers, safe, facts,
                           shared_timers, SIM, hasattr(Pin, 'PULL_DOWN'),
                           PWM is not None)
        finally:
            drop_profiles()

    def outputs(self):
        """The pins this board may drive (pins.json's ``out``: a boot that
        finds pins.json stale drives only these, app.board.bootpins)."""
        out = []  # (a loop: a comprehension is a function of its own)
        for pin, caps in self.pins.items():
            if caps & CAP_OUT:
                out.append(pin)
        return out

    def caps(self, pin):
        """Capability bits of ``pin``; 0 if it does not exist or is reserved."""
        return self.pins.get(pin, 0)

    def pin(self, pin_id, output, pull=None, level=0):
        """Configure ``pin_id`` as an output at ``level`` or an input with
        ``pull``."""
        if output:
            return Pin(pin_id, Pin.OUT, value=level)
        if pull == 'up':
            return Pin(pin_id, Pin.IN, Pin.PULL_UP)
        if pull == 'down':
            return Pin(pin_id, Pin.IN, Pin.PULL_DOWN)
        return Pin(pin_id, Pin.IN)

    def read(self, pin_id):
        """The level of a pin no binding uses: known only on the simulated
        board (reading a real pin would need to reconfigure it)."""
        if SIM:
            return machine.line(pin_id).level  # pyright: ignore
        return None

    def pwm_info(self, pin_id):
        """A simulated pin's PWM (frequency, duty, mean level), else None."""
        if SIM:
            return machine.pwm_state(pin_id)  # pyright: ignore
        return None

    def release_pin(self, pin_id):
        """Leave a pin no binding uses as a high-impedance input."""
        Pin(pin_id, Pin.IN)

    @property
    def timers_free(self):
        return len(self._free) + self.shared_max - self._shared_used()

    def _shared_used(self):
        return len(self._queue.slots) if self._queue else 0

    def pool(self):
        """How the timers are used, for GET /api/board."""
        queue = self._queue
        shared = None
        if self.shared_max:
            shared = {'timer': self._shared_id, 'total': self.shared_max,
                      'used': self._shared_used(),
                      'interrupts': queue.fires if queue else 0,
                      'error': repr(queue.error) if queue and queue.error
                      else None}
        return {'total': self.timers_total, 'free': self.timers_free,
                'virtual': self._virtual,
                'hardware': len(self._hardware or ()),
                'own': {'total': len(self._timer_ids), 'free': len(self._free),
                        'ids': list(self._timer_ids)},
                'shared': shared}

    def pool_size(self, virtual_timers=None):
        """The pool size once ``virtual_timers`` applies: a hardware pool
        keeps its size."""
        if virtual_timers is None or not self._virtual:
            return self.timers_total
        return virtual_timers

    def resize_pool(self, virtual_timers):
        """Resize a virtual pool; only while every timer is free."""
        n = self.pool_size(virtual_timers)
        if not self._virtual or n == len(self._timer_ids) or len(self._free) != len(self._timer_ids):
            return
        self._timer_ids = (-1,) * n
        self.timers_total = n  # (a virtual pool shares no timer)
        while len(self._timers) < n:  # timers made before are kept for reuse
            self._timers.append(None)
        self._free = list(range(n))

    def acquire_timer(self):
        """A stopped timer from the pool: one of its own while there are,
        then a slot of the shared queue; None when all are in use."""
        if not self._free:
            if self._shared_used() >= self.shared_max:
                return None
            if self._queue is None:  # ESP32 family: loaded when first needed
                from app.board.timerqueue import TimerQueue
                self._queue = TimerQueue(Timer(self._shared_id), ticks_ms,
                                         self.timer_hard)
            return self._queue.add()
        slot = self._free.pop(0)
        timer = self._timers[slot]
        if timer is None:
            timer = self._timers[slot] = Timer(self._timer_ids[slot])
        return timer

    def release_timer(self, timer):
        queue = getattr(timer, 'queue', None)  # a slot of the shared timer
        if queue is not None:
            queue.remove(timer)
            return
        timer.deinit()
        slot = self._timers.index(timer)
        if slot not in self._free:
            self._free.append(slot)


def drop_profiles():
    """Forget app.board.profiles so its table is freed: an import binds the
    module on the ``app`` package too, and that reference alone would keep
    it alive after ``sys.modules`` lets go."""
    package = sys.modules.get('app.board')
    sys.modules.pop('app.board.profiles', None)
    try:
        del package.profiles  # pyright: ignore
    except AttributeError:
        pass


def firmware():
    """What the running firmware says it is: ``(port, build, machine)``
    (``_build`` exists from MicroPython 1.22; '' before)."""
    impl = sys.implementation
    return (sys.platform, getattr(impl, '_build', ''),
            getattr(impl, '_machine', ''))


def pin_key(pin):
    """Sort key: GPIO numbers in order, then named pins such as "LED"."""
    return (1, pin) if isinstance(pin, str) else (0, pin)
