"""sample: an input read every ``period_ms`` into a ring, with rules."""
from app.kinds import rules
from app.kinds.handler import Handler, MASK, PERIODIC, REQUIRED
from app.kinds.rules import EVENTS, FALLING, PRESS, RELEASE, RISING


class Sample(Handler):
    """Reads an input every ``period_ms`` into a ring of ``window`` values.
    Its rules (``app.kinds.rules``) act on the edges it reads; a press is a
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
               'on/off/toggle/pulse to a binding'))

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
            if ring is not None:  # for the rules: see app.kinds.inputs
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
