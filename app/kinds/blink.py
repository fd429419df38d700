"""blink: an output toggling every ``period_ms``."""
from app.kinds.handler import Handler, PERIODIC, REQUIRED


class Blink(Handler):
    """Toggles an output every ``period_ms``."""
    KIND = 'blink'
    FIELDS = (('period_ms', 'period', REQUIRED, 'ms',
               'time between toggles: on for one period, off for the next'),)

    def begin(self):
        self._drive(1)
        self._arm(PERIODIC, self.params['period_ms'])

    def tick(self):
        level = self.level ^ 1
        self.level = level
        self._pin_value(level)
