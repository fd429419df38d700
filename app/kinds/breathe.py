"""The ``breathe`` kind: a PWM output fading up and down, again and again."""
from micropython import const
from app.board.board import ticks_ms
from app.kinds.handler import PERIODIC, Handler
from app.kinds.pwm import STEP_MS, Pwm, duty_table, position, report_duty

# app.kinds.handler's MASK and TICKS, made here: a const() folds
# into the bytecode only in its own module (imported, each use is a global
# lookup), and a private one (_NAME) is no global of the module either;
# tests/mp/test_isr.py checks they are the same.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)


class Breathe(Pwm):
    """Fades from ``min`` to ``max`` duty and back every ``period_ms``, on
    a timer that steps the duty every ``STEP_MS``, at ``FREQ_HZ``
    (``app.kinds.pwm``)."""
    KIND = 'breathe'
    TIMER = True
    ACTS = False
    FIELDS = (('period_ms', (200, 120000), 4000, 'ms', None),
              ('min', 'duty', 0, '%', None),
              ('max', 'duty', 100, '%', None),
              ('curve', ('linear', 'gamma'), 'gamma', None, None))

    def setup(self):
        Pwm.setup(self)
        params = self.params
        lo, hi = round(params['min'] * 10), round(params['max'] * 10)
        self._target = lo
        gamma = params['curve'] == 'gamma'
        lo, hi = position(lo, gamma), position(hi, gamma)
        self._from = lo  # (hi: no slot; begin reads max)
        self._t0 = 0  # when this breath began (ticks_ms)
        breath = self._breath = params['period_ms']
        half = self._half = breath >> 1  # up for half of it, down the rest
        # positions per ms up and down, 16 bits after the point: a step
        # multiplies and shifts (no division in the interrupt)
        self._up = ((hi - lo) << 16) // half
        down = self._down = ((hi - lo) << 16) // (breath - half)
        # down from hi at half, as a line from 0: hi + half's worth of it
        # (rounding may end a breath at position lo - 1: the table's 0)
        self._back = hi + (half * down >> 16)

    # its timer runs as long as it does: the base's (no deferred work)
    timer_idle = Handler.timer_idle
    work = Handler.work
    # a change starts a new breath: no fade from the live duty (Pwm's
    # would move its lowest position there, past the table's end)
    carry_stats = Handler.carry_stats

    def begin(self):
        try:
            self._open()
        except Exception as e:
            self.fail(e, 'start')
            return
        self._t0 = ticks_ms()
        table = self._duty_of = duty_table(self.params['curve'], self._shift)
        self._duty(table[self._from])  # pyright: ignore  (as the interrupt does)
        self._fading = True
        self.level = 1 if self.params['max'] else 0  # max 0: min 0 too
        self._arm(PERIODIC, STEP_MS)  # placed by the clock: see Pwm.begin

    def isr(self, _=None):
        """One step: allocation-free; times at most 120000 ms, products
        below 1000 * 2**16."""
        e = (self._clock() - self._t0) & _TICKS  # pyright: ignore
        self.fires = (self.fires + 1) & _MASK
        if e >= self._breath:  # the next breath (once per period_ms, or
            # more after a stall): the time into this one
            e %= self._breath
            self._t0 = (self._clock() - e) & _TICKS  # pyright: ignore
        if e < self._half:
            pos = self._from + (e * self._up >> 16)
        else:
            pos = self._back - (e * self._down >> 16)
        self._duty(self._duty_of[pos])  # pyright: ignore

    report = report_duty  # pyright: ignore[reportAssignmentType]
