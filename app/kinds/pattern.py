"""pattern: an output playing a list of step lengths."""
from array import array
from micropython import const
from app.kinds.handler import Handler, ONE_SHOT, PERIODIC, REQUIRED

# app.kinds.handler's MASK, TICKS and TICKS_HALF, made here: a const() folds into the
# bytecode only in its own module (imported, each use is a global lookup);
# tests/mp/test_isr.py checks they are the same.
MASK = const(0x1FFFFFFF)
TICKS = const(0x1FFFFFFF)
TICKS_HALF = const(0x10000000)

# A pattern runs a periodic timer at the greatest common divisor of its
# steps and counts ticks (no Timer.init in the interrupt, and the rate of a
# periodic timer never drifts), unless that takes more than this many ticks
# per step on average ([1, 999]: 500): then its timer is armed once per
# step (ONE_SHOT), each step timed from the fire before. A tick that only
# counts down reads no clock and is no fire: the ticks that end a step are
# (the output changes only there), each checked against the due time of
# its step's end.
TICKS_PER_STEP = const(8)


def gcd(a, b):
    while b:
        a, b = b, a % b
    return a


class Pattern(Handler):
    """Plays ``steps_ms``: high for the first step, toggling at each step
    boundary; every repetition starts high. ``repeat`` 0 = forever."""
    KIND = 'pattern'
    FIELDS = (('steps_ms', 'periods', REQUIRED, 'ms',
               'step lengths: on, off, on, ... (2 to 32 steps)'),
              ('repeat', (0, 1000000), 0, None,
               'times to play the pattern; 0 plays it forever'))

    def longest_ms(self, params):
        return max(params['steps_ms'])

    def setup(self):
        steps = self.params['steps_ms']
        tick = 0
        for ms in steps:
            tick = gcd(ms, tick)
        count = len(steps)
        if sum(steps) // tick <= TICKS_PER_STEP * count:
            self._tick_ms = tick
            self._steps = array('i', [ms // tick for ms in steps])  # ticks
            # the steps in the clock's units: due times of their ends
            self._spans = array('i', [ms * self._per_ms for ms in steps])
        else:
            self._tick_ms = 0  # a timer armed per step
            self._steps = array('i', steps)
            # the same steps in the clock's units, for lateness
            self._periods = array('i', [ms * self._per_ms for ms in steps])
            self._isr = self.isr_per_step
        self._repeat = self.params['repeat'] or -1  # -1: rounds never get there
        # the step after each: i + 1, and 0 after the last
        self._next = bytes(list(range(1, count)) + [0])
        self._index = 0
        self._rounds = 0
        self._left = 0  # ticks left in this step

    def begin(self):
        self._index = 0
        self._rounds = 0
        self._drive(1)
        if self._tick_ms:
            self._left = self._steps[0]
            self._arm(PERIODIC, self._tick_ms)
            # the first fire checked ends the first step
            self._late_after = (self._late_after - self._period
                                + self._spans[0]) & TICKS
        else:
            self._arm(ONE_SHOT, self._steps[0])

    def isr(self, _=None):
        """A tick of the periodic timer: most only count down. The tick
        that ends a step is a fire (``fires`` counts steps, as with a
        timer armed per step), checked for lateness against its step's
        end; a step's level is its parity (even steps high: a round starts
        high)."""
        left = self._left - 1
        if left:
            self._left = left
            return
        i = self._next[self._index]
        after = self._late_after
        if not (self._clock() - after) & TICKS_HALF:  # late: rare
            after = self._off_time(self._clock(), after)
        self.fires = (self.fires + 1) & MASK
        if not i:  # a round ended
            rounds = (self._rounds + 1) & MASK
            self._rounds = rounds
            if rounds == self._repeat:
                self._finish()
                return
        self._late_after = (after + self._spans[i]) & TICKS
        self._index = i
        self._left = self._steps[i]
        level = (i & 1) ^ 1
        self.level = level
        self._pin_value(level)

    def isr_per_step(self, _=None):
        """A step's end with a timer armed per step."""
        now = self._clock()
        after = self._late_after
        if (now - after) & TICKS < TICKS_HALF:  # late: rare
            self._off_time(now, after)
        self.fires = (self.fires + 1) & MASK
        i = self._next[self._index]
        if not i:  # a round ended
            rounds = (self._rounds + 1) & MASK
            self._rounds = rounds
            if rounds == self._repeat:
                self._finish()
                return
        self._index = i
        level = (i & 1) ^ 1
        self.level = level
        self._pin_value(level)
        period = self._periods[i]
        self._period = period
        self._late_after = ((now & TICKS) + period + self._slack) & TICKS  # pyright: ignore
        if self._hard is None:
            self._timer_init(mode=ONE_SHOT, period=self._steps[i],
                             callback=self._isr)
        else:
            self._timer_init(mode=ONE_SHOT, period=self._steps[i],
                             callback=self._isr, hard=self._hard)

    def _finish(self):
        """The last round ended (interrupt context)."""
        self._timer_deinit()
        self._periodic = False
        self.level = 0
        self._pin_value(0)
        self.running = False
        self.defer()

    def _tick(self):
        """One step, by hand (tests)."""
        self._left = 1
        self._isr(None)

    def report(self, out):
        out['step'] = self._index
        out['rounds'] = self._rounds
