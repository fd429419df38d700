"""blink: an output toggling every ``period_ms``."""
from micropython import const
from app.kinds.handler import Handler, PERIODIC, REQUIRED

# app.kinds.handler's MASK and TICKS, made here: a const() folds into the
# bytecode only in its own module (imported, each use is a global lookup);
# tests/mp/test_isr.py checks they are the same.
MASK = const(0x1FFFFFFF)
TICKS = const(0x1FFFFFFF)


class Blink(Handler):
    """Toggles an output every ``period_ms``."""
    KIND = 'blink'
    FIELDS = (('period_ms', 'period', REQUIRED, 'ms',
               'time between toggles: on for one period, off for the next'),)

    def begin(self):
        self._drive(1)
        self._arm(PERIODIC, self.params['period_ms'])

    def isr(self, _=None):
        now = self._clock()
        due = self._due
        if (now - due) & TICKS > self._slack:
            due = self._off_time(now, due)
        self._due = (due + self._period) & TICKS
        self.fires = (self.fires + 1) & MASK
        level = self.level ^ 1
        self.level = level
        self._pin_value(level)
