"""The ``counter`` kind: pulses from a flow meter or an energy meter's S0
output."""
from time import ticks_diff
from micropython import const
from app.board.board import ticks_ms
from app.kinds.inputs import NO_RULES, Input

SAVE_MINUTES = 5  # total is saved this often while it changes (docs/api.md)
_TOTAL_MAX = const(2000000000)


class Counter(Input):
    """Counts pulses: ``count`` since its start, ``rate_per_s`` over the last
    ``interval_ms``, and ``total`` over its whole life, saved to config.json
    every ``SAVE_MINUTES`` while pulses come and when it stops (a reboot
    loses at most that many minutes of counts). Its interrupt is the edge
    kind's (``app.kinds.inputs``): each press is a pulse."""
    KIND = 'counter'
    FIELDS = Input.FIELDS[:2] + (
        ('interval_ms', (100, 3600000), 1000, 'ms', None),
        ('debounce_ms', (0, 1000), 0, 'ms', None),
        ('total', (0, _TOTAL_MAX), 0, 'pulses', None),
        ('on', 'rules+count', NO_RULES, None, None))
    ACTS = True  # saves through the registry's act
    save_ms = SAVE_MINUTES * 60000  # tests shorten it

    # Heap per binding: the total before this run lives in params['total']
    # (what spec() saves is it plus this run's count), and the rate's
    # window and the last save are one tuple: every attribute and object
    # counts.

    def setup(self):
        Input.setup(self)
        now = ticks_ms()
        # the rate's window: its start, the count then, pulses per 1000 s
        # over the last whole window; then when the total was last saved,
        # and that total
        self._win: tuple = (now, 0, 0, now, self.params['total'])

    def begin(self):
        self.params['total'] = self.total()
        Input.begin(self)
        self._win = (ticks_ms(), 0, 0) + self._win[3:]

    def total(self):
        return self.params['total'] + self.presses()

    def _roll(self, now):
        """Close the rate's window once it is ``interval_ms`` long (main
        program only)."""
        win = self._win
        span = ticks_diff(now, win[0])
        if span >= self.params['interval_ms']:
            count = self.presses()
            self._win = (now, count, (count - win[1]) * 1000000 // span,
                         win[3], win[4])

    def work(self):  # pyright: ignore[reportIncompatibleMethodOverride]
        Input.work(self, self.presses())  # its count>=N rules
        now = ticks_ms()
        self._roll(now)
        if ticks_diff(now, self._win[3]) >= self.save_ms \
                and self.total() != self._win[4]:
            self.act('save', None, self)

    def report(self, out):
        Input.report(self, out)
        if self.running:
            self._roll(ticks_ms())
        out['count'] = self.presses()
        out['rate_per_s'] = self._win[2] / 1000
        out['total'] = self.total()

    def spec(self):
        out = Input.spec(self)
        out['total'] = total = self.total()
        self._win = self._win[:3] + (ticks_ms(), total)
        return out
