"""pattern: an output playing a list of step lengths."""
from array import array
from micropython import const
from app.kinds.handler import Handler, ONE_SHOT, PERIODIC, REQUIRED

# app.kinds.handler's MASK, TICKS, TICKS_HALF and SLACK_US, made here: a
# const() folds into the bytecode only in its own module (imported, each use
# is a global lookup), and a private one (_NAME) is no global of the module
# either; tests/mp/test_isr.py checks they are the same.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)
_TICKS_HALF = const(0x10000000)
_SLACK_US = const(1000)

# A pattern runs a periodic timer at the greatest common divisor of its
# steps and counts ticks (no Timer.init in the interrupt, and the rate of a
# periodic timer never drifts), unless that takes more than this many ticks
# per step on average ([1, 999]: 500): then its timer is armed once per
# step (ONE_SHOT), each step timed from the fire before. A tick that only
# counts down reads no clock and is no fire: the ticks that end a step are
# (the output changes only there), each checked against the due time of
# its step's end.
TICKS_PER_STEP = const(8)


def tick_ms(steps):
    """The period of the ticks that time ``steps`` (their greatest common
    divisor), or 0: too many ticks, a timer armed per step."""
    tick = 0
    for ms in steps:
        b = tick
        tick = ms
        while b:
            tick, b = b, tick % b
    return tick if sum(steps) // tick <= TICKS_PER_STEP * len(steps) else 0


class Pattern(Handler):
    """Plays ``steps_ms``: high for the first step, toggling at each step
    boundary; every repetition starts high. ``repeat`` 0 = forever.

    Heap per binding: one buffer, ``_steps``, each step's length and a 0
    after the last (a round's end): in ticks (bytes: at most
    ``TICKS_PER_STEP`` * 32 ticks a round), or, with a timer armed per
    step, in ms (array 'i') followed by each step's length in the clock's
    units with ``_slack`` added, last step first (step i's at ``~i``); a
    step's level is its parity."""
    KIND = 'pattern'
    LONGEST = 'steps_ms'
    _periodic = True  # on ticks; armed per step: False
    FIELDS = (('steps_ms', 'periods', REQUIRED, 'ms', None),
              ('repeat', (0, 1000000), 0, None, None))

    def setup(self):
        steps = self.params['steps_ms']
        tick = tick_ms(steps)
        if tick:  # (loops: a comprehension is a function of its own)
            buf = bytearray(len(steps) + 1)
            for i, ms in enumerate(steps):
                buf[i] = ms // tick
            self._steps = bytes(buf)
        else:  # a timer armed per step
            per_ms = self.per_ms()
            slack = _SLACK_US * per_ms // 1000 or 1
            shortest = min(steps) * per_ms >> 2
            self._slack = slack = slack if slack < shortest else shortest
            # steps[~i] (from the end): step i's length + slack
            buf = self._steps = array('i', steps + [0] + steps)
            for i, ms in enumerate(steps):
                buf[~i] = ms * per_ms + slack
            self._isr = self.isr_per_step
            # its interrupt passes hard=: found in the instance's own
            # table, not after a miss there and in the class's
            self._hard = self._hard
            self._periodic = False  # one-shot: fires are due per step
        self._index = 0
        self._rounds = 0  # rounds played this run
        self._repeat = self.params['repeat']  # 0: never (rounds start at 1)
        if tick:
            self._left = 0  # ticks left in this step

    def begin(self):
        self._index = 0
        self._rounds = 0
        self._drive(1)
        steps = self._steps
        tick = tick_ms(self.params['steps_ms'])
        if tick:
            self._left = steps[0]
            self._arm(PERIODIC, tick)
            # the first fire checked ends the first step
            self._late_after = (self._late_after + (steps[0] - 1)
                                * self._period) & _TICKS
        else:
            slack = self._slack  # the shortest step's, for every step
            self._arm(ONE_SHOT, steps[0])
            self._late_after = (self._late_after - self._slack + slack) & _TICKS
            self._slack = slack

    def isr(self, _=None):
        """A tick of the periodic timer: most only count down. The tick
        that ends a step is a fire (``fires`` counts steps, as with a
        timer armed per step), checked for lateness against its step's
        end; a step's level is its parity (even steps high: a round starts
        high: ~i & 1). Rounds count from 1 to 2**29 and on from 1: never 0,
        the ``repeat`` of a pattern played forever."""
        left = self._left - 1
        if left:
            self._left = left
            return
        after = self._late_after
        if not (self._clock() - after) & _TICKS_HALF:  # late: rare
            after = self._off_time(self._clock(), after)
        self.fires = (self.fires + 1) & _MASK
        i = self._index + 1
        left = self._steps[i]
        if not left:  # a round ended
            rounds = (self._rounds & _MASK) + 1
            self._rounds = rounds
            if rounds == self._repeat:
                self._finish()
                return
            i = 0
            left = self._steps[0]
        self._left = left
        self._late_after = (after + left * self._period) & _TICKS
        self._index = i
        level = ~i & 1
        self.level = level
        self._pin_value(level)

    def isr_per_step(self, _=None):
        """A step's end with a timer armed per step."""
        now = self._clock()
        after = self._late_after
        if not (now - after) & _TICKS_HALF:  # late: rare
            self._off_time(now, after)
        self.fires = (self.fires + 1) & _MASK
        i = self._index + 1
        steps = self._steps
        ms = steps[i]
        if not ms:  # a round ended
            rounds = (self._rounds & _MASK) + 1
            self._rounds = rounds
            if rounds == self._repeat:
                self._finish()
                return
            i = 0
            ms = steps[0]
        self._index = i
        level = ~i & 1
        self.level = level
        self._pin_value(level)
        self._late_after = ((now & _TICKS) + steps[~i]) & _TICKS  # pyright: ignore
        if self._hard is None:
            self.timer.init(mode=ONE_SHOT, period=ms, callback=self._isr)
        else:
            self.timer.init(mode=ONE_SHOT, period=ms, callback=self._isr,
                            hard=self._hard)

    def _finish(self):
        """The last round ended (interrupt context)."""
        self.timer.deinit()
        self.level = 0
        self._pin_value(0)
        self.running = False
        self.defer()

    def report(self, out):
        out['step'] = self._index
        out['rounds'] = self._rounds
