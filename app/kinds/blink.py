"""blink: an output toggling every ``period_ms``."""
from micropython import const
from app.kinds.handler import Handler, PERIODIC, REQUIRED

# app.kinds.handler's MASK, TICKS and TICKS_HALF, made here: a const() folds
# into the bytecode only in its own module (imported, each use is a global
# lookup), and a private one (_NAME) is no global of the module either;
# tests/mp/test_isr.py checks they are the same.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)
_TICKS_HALF = const(0x10000000)


class Blink(Handler):
    """Toggles an output every ``period_ms``."""
    KIND = 'blink'
    _periodic = True  # fires are due every period: missed ones count
    FIELDS = (('period_ms', 'period', REQUIRED, 'ms', None),)

    def begin(self):
        self._drive(1)
        self._arm(PERIODIC, self.params['period_ms'])

    def isr(self, _=None):
        after = self._late_after
        if not (self._clock() - after) & _TICKS_HALF:  # late: rare
            after = self._off_time(self._clock(), after)
        self._late_after = (after + self._period) & _TICKS
        self.fires = (self.fires + 1) & _MASK
        level = self.level ^ 1
        self.level = level
        self._pin_value(level)
