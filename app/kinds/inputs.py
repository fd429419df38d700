"""The base of the kinds that watch an input pin's edges (``edge``,
``counter``): a pin interrupt, debounced in the interrupt, and rules.

The interrupt (``Pin.irq`` on both edges, ``hard=True`` where the port
takes it: see ``app.board.profiles``) reads the pin and keeps the level. An edge
within ``debounce_ms`` of the last accepted one is a bounce: counted in
``bounces`` and otherwise ignored. An accepted edge is a press if it is
the kind ``edge`` names (``rising``, ``falling``, or ``both``: every edge),
else a release; presses are counted in ``presses``. Like a timer ISR it
allocates nothing and keeps every int small (counters wrap at ``MASK``);
times are ``ticks_us`` for the debounce, and ``ticks_ms`` to know a last
edge that is long past (the low 29 bits of ``ticks_us`` wrap every ~9 min).
It records the edge for the rules (``app.kinds.rules``) and defers the rest.
"""
from time import ticks_diff
from micropython import const
from app.kinds.handler import Handler
from app.board.board import Pin, ticks_ms, ticks_us

# app.kinds.handler's MASK and TICKS and app.kinds.rules' EVENTS, RISING
# and FALLING, made here: a const() folds into the bytecode only in its own
# module (imported, each use is a global lookup), and a private one (_NAME)
# is no global of the module either; tests/mp/test_isr.py checks they are
# the same. The rules module is loaded by the first
# binding with rules.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)
_RING_EVENTS = const(16)
_RISING = const(1)
_FALLING = const(2)

_LONG_AGO_MS = const(2000)  # past any debounce: no need to look at us
_PRESS = {'rising': _RISING, 'falling': _FALLING, 'both': _RISING | _FALLING}
_EDGES = ('rising', 'falling', 'both')
NO_RULES = []  # the default of "on" (never changed)


class Input(Handler):
    """A pin interrupt with debounce, presses, bounces and rules."""
    OUTPUT = False
    TIMER = False  # pin interrupts only
    KEEP_PIN = True  # for Pin.irq
    FIELDS = (('pull', 'pull', None, None, None),
              ('edge', _EDGES, 'rising', None, None),
              ('debounce_ms', (0, 1000), 20, 'ms', None))

    # Heap per binding: each attribute costs a slot in the instance's
    # table, so what the class can hold stays there; ``_hard`` holds
    # Pin.irq's hard= (an input kind has no timer; None: not passed).
    HARD = 'irq_hard'

    def setup(self):
        params = self.params
        self.bounces = 0
        self._fires0 = 0  # fires and level at the start of this run: the
        self._level0 = 0  # presses follow from them (see presses())
        self._press = press = _PRESS[params['edge']]
        self._debounce_us = params['debounce_ms'] * 1000
        self._last_ms = ticks_ms()  # the last accepted edge...
        self._last_us = -1  # ...-1: none since the start
        # pre-bound: the interrupt's handler
        self._edge = self.edge_isr if self._debounce_us \
            else self.edge_isr_at_once
        # the rules' event ring (app.kinds.rules), or None: the interrupt
        # finds either in the instance's own table (its class's is 2 misses
        # later; and the slot fits the table it has)
        self._ring = None
        if params.get('on'):
            from app.kinds import rules
            self._ring = rules.ring(press)
        self.level = self._pin_value()

    def presses(self):
        """Presses this run: the accepted edges (fires that were no bounce)
        alternate in level from the level at the start, so how many were
        presses follows from their number (the interrupt counts none)."""
        accepted = (self.fires - self._fires0 - self.bounces) & _MASK
        press = self._press
        if press == _RISING | _FALLING:
            return accepted
        # rising: the 1st, 3rd, ... edge from low; falling: from high
        return (accepted + (1 - self._level0 if press == _RISING
                            else self._level0)) // 2

    @classmethod
    def check(cls, board, pin, params):
        """Checks across fields (``app.validate`` calls it): with ``"edge":
        "both"``, no rule on a release (``app.kinds.rulecheck``)."""
        if params['edge'] == 'both' and params.get('on'):
            from app.kinds import rules
            rules.no_release(params['on'])

    def begin(self):
        self.bounces = 0
        self._fires0 = self.fires
        self._last_us = -1
        if self._ring is not None:
            from app.kinds import rules
            rules.reset(self._ring)
        self.level = self._level0 = self._pin_value()
        hard = self._hard
        trigger = Pin.IRQ_RISING | Pin.IRQ_FALLING
        if hard is None:
            self.pin.irq(handler=self._edge, trigger=trigger)
        else:
            self.pin.irq(handler=self._edge, trigger=trigger, hard=hard)

    def stop(self):
        self.pin.irq(handler=None)
        Handler.stop(self)

    def edge_isr(self, _=None):  # _: the pin
        """One pin interrupt with a debounce: allocation-free, small ints
        only. (``ticks_us`` stays a global: bench/mp/isr.py sets the
        module's to a clock of its own.)"""
        level = self._pin_value()
        self.fires = (self.fires + 1) & _MASK
        if level == self.level:  # an edge and its undo, too fast to see
            self.bounces = (self.bounces + 1) & _MASK
            return
        self.level = level
        now = ticks_us()
        # within debounce_ms of the last accepted edge by ticks_us: a
        # bounce, unless there was none this run, or it is long past and
        # the difference has wrapped since (its low 29 bits: every ~9
        # min), which ticks_ms tells: the deferred work notes it after
        # each accepted edge (while that work is queued, the edge was just
        # now)
        if ((now - self._last_us) & _TICKS < self._debounce_us  # pyright: ignore
                and self._last_us >= 0  # pyright: ignore
                and (self._pending or 0 <= ticks_diff(
                    ticks_ms(), self._last_ms) < _LONG_AGO_MS)):
            self.bounces = (self.bounces + 1) & _MASK
            return
        self._last_us = now  # its ms time: the deferred work notes it
        if self._ring:  # as edge_isr_at_once
            self._note(level)
        if not self._pending:
            self.defer()

    def edge_isr_at_once(self, _=None):  # _: the pin
        """One pin interrupt without a debounce (a counter's default): as
        ``edge_isr``, and every level change is an edge."""
        level = self._pin_value()
        self.fires = (self.fires + 1) & _MASK
        if level == self.level:
            self.bounces = (self.bounces + 1) & _MASK
            return
        self.level = level
        if self._ring:  # rules: note the edge for them
            self._note(level)
        if not self._pending:  # one deferral at a time
            self.defer()

    def _note(self, level):
        """Record the edge for the rules (interrupt context)."""
        ring = self._ring
        bits = ring[_RING_EVENTS + 3 + level]  # pyright: ignore
        head = ring[_RING_EVENTS]  # pyright: ignore
        nxt = (head + 1) & (_RING_EVENTS - 1)
        if nxt == ring[_RING_EVENTS + 1]:  # full: this edge is lost  # pyright: ignore
            self.drops = (self.drops + 1) & _MASK
        else:
            ring[head] = bits  # pyright: ignore
            ring[_RING_EVENTS] = nxt  # pyright: ignore

    def work(self, count=None):
        """Deferred: rules act (``count``: a counter's, for its
        ``count>=N`` rules). The interrupt reads no ms clock: the last
        edge's time is this work's (it runs after each accepted edge,
        within a scheduler pass)."""
        self._last_ms = ticks_ms()
        if self._last_us < 0:  # pyright: ignore
            self._last_us = 0  # an edge since the start
        if self._ring is not None:
            from app.kinds import rules
            rules.run(self, self.act, count)

    def report(self, out):
        out['presses'] = self.presses()
        out['bounces'] = self.bounces
        out['last_edge_ms'] = (None if self._last_us < 0  # pyright: ignore
                               else 0 if self._pending
                               else ticks_diff(ticks_ms(), self._last_ms))
        if not self.running:
            self.level = self._pin_value()
        out['level'] = self.level

