"""The ``breathe`` kind: a PWM output fading up and down, again and again."""
from time import ticks_diff
from app.errors import invalid
from app.board.board import ticks_ms
from app.kinds.handler import PERIODIC
from app.kinds.pwm import STEP_MS, Pwm, perceived, put, report_duty


class Breathe(Pwm):
    """Fades from ``min`` to ``max`` duty and back every ``period_ms``, on
    a timer that steps the duty every ``STEP_MS``, at ``FREQ_HZ``
    (``app.kinds.pwm``)."""
    KIND = 'breathe'
    DOC = 'fades a PWM output up and down, again and again'
    TIMER = True
    ACTS = False
    FIELDS = (('period_ms', (200, 120000), 4000, 'ms',
               'one breath: up from min to max and down again'),
              ('min', 'duty', 0, '%', 'the lowest duty'),
              ('max', 'duty', 100, '%', 'the highest duty'),
              ('curve', ('linear', 'gamma'), 'gamma', None,
               'linear in duty, or in perceived brightness (gamma)'))

    @classmethod
    def timer_for(cls, params, old):
        return True

    @classmethod
    def check(cls, board, pin, params):
        Pwm.check(board, pin, params)
        if params['min'] > params['max']:
            raise invalid('max', 'max (%s) must be at least min (%s)'
                          % (params['max'], params['min']))

    def setup(self):
        Pwm.setup(self)
        params = self.params
        lo, hi = round(params['min'] * 10), round(params['max'] * 10)
        self._target = lo
        if self._gamma is not None:
            lo, hi = perceived(lo), perceived(hi)
        self._from, self._to = lo, hi
        self._t0 = 0
        self._phase = 0  # ms into the current breath

    def timer_idle(self):
        return not self.running

    def work(self):
        """Its timer runs as long as it does."""

    def begin(self):
        try:
            self._open()
        except Exception as e:
            self.fail(e, 'start')
            return
        self._phase = 0
        self._t0 = ticks_ms()
        put(self, self._from)
        self._fading = True
        self._arm(PERIODIC, STEP_MS)

    def tick(self):
        """One step: allocation-free; phase at most 120000 ms, products
        below 2**27."""
        now = ticks_ms()
        d = ticks_diff(now, self._t0)
        self._t0 = now
        period = self.params['period_ms']
        phase = (self._phase + (d if d > 0 else 0)) % period
        self._phase = phase
        lo, hi = self._from, self._to
        half = period >> 1
        if phase < half:
            put(self, lo + (hi - lo) * phase // half)
        else:
            put(self, hi - (hi - lo) * (phase - half) // (period - half))

    def report(self, out):
        report_duty(self, out)
