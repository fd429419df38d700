"""The ``counter`` kind: pulses from a flow meter or an energy meter's S0
output."""
from time import ticks_diff
from micropython import const
from app.board import ticks_ms
from app.inputs import NO_RULES, Input

SAVE_MINUTES = 5  # total is saved this often while it changes (docs/api.md)
_TOTAL_MAX = const(2000000000)


class Counter(Input):
    """Counts pulses: ``count`` since its start, ``rate_per_s`` over the last
    ``interval_ms``, and ``total`` over its whole life, saved to config.json
    every ``SAVE_MINUTES`` while pulses come and when it stops (a reboot
    loses at most that many minutes of counts). Its interrupt is the edge
    kind's (``app.inputs``): each press is a pulse."""
    KIND = 'counter'
    DOC = 'counts pulses on an input pin: count, rate, a saved total'
    FIELDS = Input.FIELDS[:2] + (
        ('interval_ms', (100, 3600000), 1000, 'ms',
         'the rate is the pulses of the last interval'),
        ('debounce_ms', (0, 1000), 0, 'ms',
         'a pulse this soon after the last edge is a bounce'),
        ('total', (0, _TOTAL_MAX), 0, 'pulses',
         'the total to count on from (a meter reading)'),
        ('on', 'rules+count', NO_RULES, None,
         'rules: when press/release/rising/falling/count>=N, do '
         'start/stop/toggle/pulse to a binding'))
    ACTS = True  # saves through the registry's act
    save_ms = SAVE_MINUTES * 60000  # tests shorten it

    def setup(self):
        Input.setup(self)
        self._base = self.params['total']  # total before this run's presses
        self._saved = self._base  # the total config.json holds
        self._saved_ms = ticks_ms()
        self._win_ms = self._saved_ms  # the rate's window: its start...
        self._win_n = 0  # ...and the count then
        self._rate = 0.0  # pulses per second over the last whole window

    def begin(self):
        self._base += self.presses
        Input.begin(self)
        self._win_ms = ticks_ms()
        self._win_n = 0
        self._rate = 0.0

    def total(self):
        return self._base + self.presses

    def _roll(self, now):
        """Close the rate's window once it is ``interval_ms`` long (main
        program only: the rate is a float)."""
        span = ticks_diff(now, self._win_ms)
        if span >= self.params['interval_ms']:
            count = self.presses
            self._rate = (count - self._win_n) * 1000 / span
            self._win_ms = now
            self._win_n = count

    def rule_count(self):
        return self.presses

    def work(self):
        Input.work(self)
        now = ticks_ms()
        self._roll(now)
        if ticks_diff(now, self._saved_ms) >= self.save_ms \
                and self.total() != self._saved:
            self.act('save', None, self)

    def report(self, out):
        Input.report(self, out)
        if self.running:
            self._roll(ticks_ms())
        out['count'] = self.presses
        out['rate_per_s'] = round(self._rate, 3)
        out['total'] = self.total()

    def spec(self):
        out = Input.spec(self)
        out['total'] = self.total()
        self._saved = out['total']
        self._saved_ms = ticks_ms()
        return out
