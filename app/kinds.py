"""The binding kinds. A new kind is one class (here or in a module of its
own) plus one line: ``register`` for a class here, a ``MODULES`` entry for
a module of its own (and, for a new kind of field, its rule in
``app.validate``). Use ``get(name)`` and ``names()``, not ``KINDS``."""
import sys
from array import array
from app import rules
from app.handler import Handler, MASK, ONE_SHOT, PERIODIC, REQUIRED
from app.rules import EVENTS, FALLING, PRESS, RELEASE, RISING

KINDS = {}  # name -> class, of the kinds loaded so far
# Kinds in a module of their own: imported when first used (a binding of
# that kind, GET /api/kinds) and kept, so a board that blinks an LED holds
# no PWM or pin-interrupt code (their modules are a fifth of the image).
MODULES = {'breathe': ('app.breathe', 'Breathe'),
           'counter': ('app.counter', 'Counter'),
           'edge': ('app.edge', 'Edge'),
           'pwm': ('app.pwm', 'Pwm')}


def register(cls):
    KINDS[cls.KIND] = cls


def get(name):
    """The class of kind ``name``, or None if there is no such kind."""
    cls = KINDS.get(name)
    if cls is None and name in MODULES:
        module, attr = MODULES[name]
        __import__(module)
        cls = KINDS[name] = getattr(sys.modules[module], attr)
    return cls


def names():
    """Every kind's name, sorted."""
    out = list(KINDS)
    for name in MODULES:
        if name not in KINDS:
            out.append(name)
    out.sort()
    return out


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


class Pulse(Handler):
    """Drives ``active_level`` for ``duration_ms``, then back to idle.
    Starting it again while it runs retriggers the full duration. The
    binding's ``level`` is the pin's live level, as for every kind."""
    KIND = 'pulse'
    FIELDS = (('duration_ms', 'period', REQUIRED, 'ms',
               'how long the output stays active'),
              ('active_level', (0, 1), 1, None,
               'the level that means on: 1, or 0 for an active-low relay'))

    def idle_level(self, params):
        return 1 - params['active_level']

    def setup(self):
        self.IDLE = self.idle_level(self.params)

    def longest_ms(self, params):
        return params['duration_ms']

    def begin(self):
        self._drive(self.params['active_level'])
        self._arm(ONE_SHOT, self.params['duration_ms'])

    def tick(self):
        idle = self.IDLE
        self.level = idle
        self._pin_value(idle)
        self.running = False
        self.defer()

    def spec(self):
        out = Handler.spec(self)
        out['start'] = False  # a pulse is an action, not a state to restore
        return out


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


class Sample(Handler):
    """Reads an input every ``period_ms`` into a ring of ``window`` values.
    Its rules (``app.rules``) act on the edges it reads; a press is a
    falling edge with ``"pull": "up"`` (a button to ground), else a rising
    one."""
    KIND = 'sample'
    OUTPUT = False
    FIELDS = (('period_ms', 'period', REQUIRED, 'ms', 'time between readings'),
              ('window', (1, 256), 32, 'readings',
               'how many recent readings to keep'),
              ('pull', 'pull', None, None,
               'internal pull resistor: up, down or none'),
              ('on', 'rules', [], None,
               'rules: when press/release/rising/falling, do start/stop/'
               'toggle/pulse to a binding'))

    def setup(self):
        self._window = self.params['window']
        self._buf = bytearray(self._window)
        self._head = 0  # where the next reading goes
        self._full = False  # the ring has wrapped: all of it is readings
        self.edges = 0
        self.level = self._pin_value()
        on = self.params.get('on')
        if on:  # without rules these stay the class's (heap per binding)
            self._ring = rules.ring(on)
            self._press = FALLING if self.params['pull'] == 'up' else RISING

    def begin(self):
        self._head = 0
        self._full = False
        self.level = self._pin_value()
        rules.reset(self._ring)
        self._arm(PERIODIC, self.params['period_ms'])

    def tick(self):
        level = self._pin_value()
        head = self._head
        self._buf[head] = level
        head += 1
        if head == self._window:
            head = 0
            self._full = True
        self._head = head
        if level != self.level:
            self.level = level
            self.edges = (self.edges + 1) & MASK
            ring = self._ring
            if ring is not None:  # for the rules: see app.inputs
                bits = RISING if level else FALLING
                bits |= PRESS if bits & self._press else RELEASE
                head = ring[EVENTS]
                nxt = (head + 1) & (EVENTS - 1)
                if nxt == ring[EVENTS + 1]:
                    self.drops = (self.drops + 1) & MASK
                else:
                    ring[head] = bits
                    ring[EVENTS] = nxt
            self.defer()

    _ring = None  # rules: see setup
    _press = RISING

    def work(self):
        if self._ring is not None:
            rules.run(self, self.act)

    def act(self, do, target, source):
        """The registry's ``act`` (``Registry._wire`` sets it)."""

    def report(self, out):
        buf, head = self._buf, self._head
        if self._full:
            samples = list(buf[head:]) + list(buf[:head])
        else:
            samples = list(buf[:head])
        out['samples'] = samples
        out['high_count'] = sum(samples)
        out['edges'] = self.edges
        if not self.running:
            self.level = self._pin_value()
        out['level'] = self.level


register(Blink)
register(Pulse)
register(Pattern)
register(Sample)
