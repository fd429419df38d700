"""sample: an input read every ``period_ms``, its recent readings kept,
with rules."""
from array import array
from micropython import const
from app.kinds.handler import Handler, PERIODIC, REQUIRED

# app.kinds.handler's MASK, TICKS and TICKS_HALF and app.kinds.rules'
# EVENTS, made here: a const() folds into the bytecode only in its own
# module (imported, each use is a global lookup); tests/mp/test_isr.py
# checks they are the same. The rules module is loaded by the first
# binding with rules.
MASK = const(0x1FFFFFFF)
TICKS = const(0x1FFFFFFF)
TICKS_HALF = const(0x10000000)
RING_EVENTS = const(16)


class Sample(Handler):
    """Reads an input every ``period_ms``; the last ``window`` readings are
    kept. Its rules (``app.kinds.rules``) act on the edges it reads; a
    press is a falling edge with ``"pull": "up"`` (a button to ground),
    else a rising one.

    The interrupt stores nothing while the level stays: a reading that
    differs from the last is an edge, and its fire number goes into a ring
    (a power of two of at least ``window`` entries: every reading may be
    one). The readings are rebuilt from the edges and the fire count when
    they are read."""
    KIND = 'sample'
    _periodic = True  # fires are due every period: missed ones count
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
        self._stamps = array('H', bytes(2 * size))  # fire numbers & 0xFFFF
        self._ring_mask = size - 1
        self._from = 0  # the fire count at the start of this run
        self._head = 0  # edges this run (the next stamp's place & mask)
        self.edges = 0
        self.level = self._pin_value()
        on = self.params.get('on')
        if on:  # without rules these stay the class's (heap per binding)
            from app.kinds import rules
            self._ring = rules.ring(
                rules.FALLING if self.params['pull'] == 'up' else rules.RISING)

    def begin(self):
        self._from = self.fires
        self._head = 0
        self.level = self._pin_value()
        if self._ring is not None:
            from app.kinds import rules
            rules.reset(self._ring)
        self._arm(PERIODIC, self.params['period_ms'])

    def isr(self, _=None):
        after = self._late_after
        if not (self._clock() - after) & TICKS_HALF:  # late: rare
            after = self._off_time(self._clock(), after)
        self._late_after = (after + self._period) & TICKS
        self.fires = (self.fires + 1) & MASK
        level = self._pin_value()
        if level != self.level:
            self._edge(level)

    _ring = None  # rules: see setup

    def _edge(self, level):
        """The level changed (interrupt context, allocation-free)."""
        self.level = level
        self.edges = (self.edges + 1) & MASK
        head = self._head
        self._stamps[head & self._ring_mask] = self.fires & 0xFFFF
        self._head = (head + 1) & MASK
        ring = self._ring
        if ring is not None:  # for the rules: see app.kinds.inputs
            head = ring[RING_EVENTS]
            nxt = (head + 1) & (RING_EVENTS - 1)
            if nxt == ring[RING_EVENTS + 1]:
                self.drops = (self.drops + 1) & MASK
            else:
                ring[head] = ring[RING_EVENTS + 3 + level]  # its bits
                ring[RING_EVENTS] = nxt
        self.defer()

    def work(self):
        if self._ring is not None:
            from app.kinds import rules
            rules.run(self, self.act)

    def readings(self):
        """The last ``window`` readings this run, oldest first: the level
        now, flipped back at each edge (its fire number) going back."""
        fires, head = self.fires, self._head
        n = (fires - self._from) & MASK  # readings this run
        window = self.params['window']
        if n > window:
            n = window
        ages = []  # of the edges within the last n readings, newest first
        mask = self._ring_mask
        k = 0
        while k < head and k <= mask:
            age = (fires - self._stamps[(head - 1 - k) & mask]) & 0xFFFF
            if age >= n:
                break
            ages.append(age)
            k += 1
        level = self.level
        out = [0] * n
        j = 0  # edges newer than the reading at this age
        for age in range(n):
            while j < len(ages) and ages[j] < age:
                j += 1
            out[n - 1 - age] = level ^ (j & 1)
        return out

    def report(self, out):
        samples = self.readings()
        out['samples'] = samples
        out['high_count'] = sum(samples)
        out['edges'] = self.edges
        if not self.running:
            self.level = self._pin_value()
        out['level'] = self.level
