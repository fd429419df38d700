"""sample: an input read every ``period_ms`` into a ring, with rules."""
from app.kinds import rules
from micropython import const
from app.kinds.handler import Handler, PERIODIC, REQUIRED
from app.kinds.rules import EVENTS, FALLING, PRESS, RELEASE, RISING

# app.kinds.handler's MASK, TICKS and TICKS_HALF, made here: a const() folds into the
# bytecode only in its own module (imported, each use is a global lookup);
# tests/mp/test_isr.py checks they are the same.
MASK = const(0x1FFFFFFF)
TICKS = const(0x1FFFFFFF)
TICKS_HALF = const(0x10000000)


class Sample(Handler):
    """Reads an input every ``period_ms`` into a ring of ``window`` values.
    Its rules (``app.kinds.rules``) act on the edges it reads; a press is a
    falling edge with ``"pull": "up"`` (a button to ground), else a rising
    one.

    The ring has a power-of-two size of at least ``window`` readings; a
    reading goes where the fire count points (``fires & _ring_mask``), so
    the interrupt keeps no position of its own: how many readings this run
    has is the fire count since its start."""
    KIND = 'sample'
    OUTPUT = False
    FIELDS = (('period_ms', 'period', REQUIRED, 'ms', 'time between readings'),
              ('window', (1, 256), 32, 'readings',
               'how many recent readings to keep'),
              ('pull', 'pull', None, None,
               'internal pull resistor: up, down or none'),
              ('on', 'rules', [], None,
               'rules: when press/release/rising/falling, do start/stop/'
               'on/off/toggle/pulse to a binding'))

    def setup(self):
        window = self.params['window']
        size = 1
        while size < window:
            size <<= 1
        self._buf = bytearray(size)
        self._ring_mask = size - 1  # MASK + 1 is a multiple of size
        self._from = 0  # the fire count at the start of this run
        self.edges = 0
        self.level = self._pin_value()
        on = self.params.get('on')
        if on:  # without rules these stay the class's (heap per binding)
            self._ring = rules.ring(on)
            # the event bits of a falling (0) and a rising (1) edge
            press = FALLING if self.params['pull'] == 'up' else RISING
            self._bits = bytes(
                bits | (PRESS if bits & press else RELEASE)
                for bits in (FALLING, RISING))

    def begin(self):
        self._from = self.fires
        self.level = self._pin_value()
        rules.reset(self._ring)
        self._arm(PERIODIC, self.params['period_ms'])

    def isr(self, _=None):
        now = self._clock()
        after = self._late_after
        if (now - after) & TICKS < TICKS_HALF:  # late: rare
            after = self._off_time(now, after)
        self._late_after = (after + self._period) & TICKS
        fires = (self.fires + 1) & MASK
        self.fires = fires
        level = self._pin_value()
        self._buf[fires & self._ring_mask] = level
        if level != self.level:
            self._edge(level)

    _ring = None  # rules: see setup
    _bits = None

    def _edge(self, level):
        """The level changed (interrupt context, allocation-free)."""
        self.level = level
        self.edges = (self.edges + 1) & MASK
        ring = self._ring
        if ring is not None:  # for the rules: see app.kinds.inputs
            head = ring[EVENTS]
            nxt = (head + 1) & (EVENTS - 1)
            if nxt == ring[EVENTS + 1]:
                self.drops = (self.drops + 1) & MASK
            else:
                ring[head] = self._bits[level]
                ring[EVENTS] = nxt
        self.defer()

    def work(self):
        if self._ring is not None:
            rules.run(self, self.act)

    def act(self, do, target, source):
        """The registry's ``act`` (``Registry._wire`` sets it)."""

    def report(self, out):
        buf, last = self._buf, self.fires
        n = (last - self._from) & MASK  # readings this run
        window = self.params['window']
        if n > window:
            n = window
        mask = self._ring_mask
        samples = [buf[(last - n + 1 + i) & mask] for i in range(n)]
        out['samples'] = samples
        out['high_count'] = sum(samples)
        out['edges'] = self.edges
        if not self.running:
            self.level = self._pin_value()
        out['level'] = self.level
