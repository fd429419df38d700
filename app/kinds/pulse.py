"""pulse: an output active for ``duration_ms``, then idle."""
from micropython import const
from app.kinds.handler import Handler, ONE_SHOT, REQUIRED

# app.kinds.handler's MASK, TICKS and TICKS_HALF, made here: a const() folds
# into the bytecode only in its own module (imported, each use is a global
# lookup), and a private one (_NAME) is no global of the module either;
# tests/mp/test_isr.py checks they are the same.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)
_TICKS_HALF = const(0x10000000)


class Pulse(Handler):
    """Drives ``active_level`` for ``duration_ms``, then back to idle.
    Starting it again while it runs retriggers the full duration. The
    binding's ``level`` is the pin's live level, as for every kind."""
    KIND = 'pulse'
    RESTORE = False  # a pulse is an action, not a state to restore
    LONGEST = 'duration_ms'
    FIELDS = (('duration_ms', 'period', REQUIRED, 'ms', None),
              ('active_level', (0, 1), 1, None, None))

    def setup(self):
        # the interrupt reads IDLE: found in the instance's own table, not
        # after a miss there and in two classes'
        self.IDLE = self.IDLE

    def begin(self):
        self._drive(self.params['active_level'])
        self._arm(ONE_SHOT, self.params['duration_ms'])

    def isr(self, _=None):
        after = self._late_after
        if not (self._clock() - after) & _TICKS_HALF:  # late: rare  # pyright: ignore
            self._off_time(self._clock(), after)
        self.fires = (self.fires + 1) & _MASK
        idle = self.IDLE
        self.level = idle
        self._pin_value(idle)
        self.running = False
        if not self._pending:  # the end reaches the event stream
            self.defer()

