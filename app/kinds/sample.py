"""sample: an input read every ``period_ms``, its recent readings kept,
with rules."""
from array import array
from micropython import const
from app.kinds.handler import Handler, PERIODIC, REQUIRED

# app.kinds.handler's MASK, TICKS and TICKS_HALF, made here: a const() folds
# into the bytecode only in its own module (imported, each use is a global
# lookup), and a private one (_NAME) is no global of the module either;
# tests/mp/test_isr.py checks they are the same.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)
_TICKS_HALF = const(0x10000000)
_SEEN = const(0x0FFFFFFF)  # as app.kinds.rules' (28 bits)


class Sample(Handler):
    """Reads an input every ``period_ms``; the last ``window`` readings are
    kept. Its rules (``app.kinds.rules``) act on the edges it reads; a
    press is a falling edge with ``"pull": "up"`` (a button to ground),
    else a rising one.

    The interrupt stores nothing while the level stays: a reading that
    differs from the last is an edge, counted in ``_head`` (every edge
    since it was made: ``edges``), and its fire number goes into a ring (a
    power of two of at least ``window`` entries: every reading may be
    one). The readings are rebuilt from the edges and the fire count when
    they are read. The rules need no record of their own: edges alternate,
    so the count and the level after the last edge they saw give each new
    edge's direction (``app.kinds.rules.run_edges``)."""
    KIND = 'sample'
    _periodic = True  # fires are due every period: missed ones count
    OUTPUT = False
    FIELDS = (('period_ms', 'period', REQUIRED, 'ms', None),
              ('window', (1, 256), 32, 'readings', None),
              ('pull', 'pull', None, None, None),
              ('on', 'rules', [], None, None))
    # with rules: the edges they have seen (their count & _SEEN) << 1 | the
    # level after the last one, else the class's None (heap per binding:
    # one slot, no buffer)
    _seen = None

    def setup(self):
        window = self.params['window']
        size = 1
        while size < window:
            size <<= 1
        self._stamps = array('H', bytes(2 * size))  # fire numbers & 0xFFFF
        self._ring_mask = size - 1
        self._from = 0  # the fire count at the start of this run
        self._head = 0  # edges since it was made (the next stamp's place)
        self.level = self._pin_value()

    def begin(self):
        self._from = fires = self.fires
        # the last edge before this run as if at its start: report() stops
        # there (an older run's edge >= 2**16 fires back could look recent)
        self._stamps[(self._head - 1) & self._ring_mask] = fires & 0xFFFF
        self.level = level = self._pin_value()
        if self.params['on']:  # rules see the edges from now on
            self._seen = ((self._head & _SEEN) << 1) | level
        self._arm(PERIODIC, self.params['period_ms'])

    def isr(self, _=None):
        after = self._late_after
        if not (self._clock() - after) & _TICKS_HALF:  # late: rare
            after = self._off_time(self._clock(), after)
        self._late_after = (after + self._period) & _TICKS
        self.fires = (self.fires + 1) & _MASK
        level = self._pin_value()
        if level != self.level:  # an edge: its fire number in the ring
            self.level = level
            head = self._head
            self._stamps[head & self._ring_mask] = self.fires & 0xFFFF
            self._head = (head + 1) & _MASK
            if not self._pending:
                self.defer()

    def work(self):
        """Deferred: the rules act on the edges since they last ran."""
        if self._seen is not None:
            from app.kinds import rules
            rules.run_edges(self, self.act)

    def report(self, out):
        """``samples``: the last ``window`` readings this run, oldest
        first: the level now, flipped back at each edge (its fire number)
        going back."""
        fires, head = self.fires, self._head
        n = (fires - self._from) & _MASK  # readings this run
        window = self.params['window']
        if n > window:
            n = window
        ages = []  # of the edges within the last n readings, newest first
        mask = self._ring_mask
        k = 0
        while k < head and k <= mask:
            age = (fires - self._stamps[(head - 1 - k) & mask]) & 0xFFFF
            if age >= n:  # this run's readings end here (see begin)
                break
            ages.append(age)
            k += 1
        level = self.level
        samples = [0] * n
        j = 0  # edges newer than the reading at this age
        for age in range(n):
            while j < len(ages) and ages[j] < age:
                j += 1
            samples[n - 1 - age] = level ^ (j & 1)
        out['samples'] = samples
        out['high_count'] = sum(samples)
        out['edges'] = self._head
        if not self.running:
            self.level = self._pin_value()
        out['level'] = self.level
