"""pattern: an output playing a list of step lengths."""
from array import array
from app.kinds.handler import Handler, MASK, ONE_SHOT, REQUIRED


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
        self._steps = array('i', self.params['steps_ms'])
        # the same steps in the clock's units, for lateness
        self._periods = array('i', [ms * self._per_ms for ms in self._steps])
        self._count = len(self._steps)
        self._repeat = self.params['repeat']
        self._index = 0
        self._rounds = 0

    def begin(self):
        self._index = 0
        self._rounds = 0
        self._drive(1)
        self._arm(ONE_SHOT, self._steps[0])

    def tick(self):
        i = self._index + 1
        if i < self._count:
            level = self.level ^ 1
        else:
            i = 0
            self._rounds = (self._rounds + 1) & MASK
            if self._repeat and self._rounds >= self._repeat:
                self.level = 0
                self._pin_value(0)
                self.running = False
                self.defer()
                return
            level = 1
        self._index = i
        self.level = level
        self._pin_value(level)
        self._period = self._periods[i]
        self._rearm(ONE_SHOT, self._steps[i])

    def report(self, out):
        out['step'] = self._index
        out['rounds'] = self._rounds
