"""The base of every binding kind: one pin, one timer, an allocation-free ISR.

The ISR/main boundary: ``isr`` runs in interrupt context (on the unix port:
the simulated timer thread, heap locked). It only does pin I/O, integer
arithmetic and attribute stores on attributes ``__init__`` created. Anything
that needs the heap (formatting an error, building JSON) happens later, in
``_run_deferred`` (queued with ``schedule``) or when the state is read.
"""
from json import dumps
from time import ticks_diff
from micropython import const
from app.board import Timer, schedule, ticks_us

MASK = const(0x3FFFFFFF)  # counters wrap before they leave small-int range
REQUIRED = object()
PERIODIC = Timer.PERIODIC
ONE_SHOT = Timer.ONE_SHOT


class Handler:
    """A timer bound to a pin. Subclasses set KIND, OUTPUT, FIELDS and
    implement ``begin`` (drive the pin, arm the timer) and ``tick`` (the
    per-interrupt work)."""
    KIND = ''
    OUTPUT = True  # needs an output pin; False: an input pin
    # (name, rule, default or REQUIRED, unit, help); a rule is 'period' (ms,
    # from the board's shortest to a day), 'periods' (a list of 2 to 32 of
    # them), 'pull' (null or one the board has) or (lo, hi): an integer in
    # range. unit and help are for people: the dashboard's forms show them.
    FIELDS = ()
    ALIASES = {}  # request name -> field name
    IDLE = 0  # the level of a stopped output

    def __init__(self, board, binding_id, pin_id, params, timer):
        self.id = binding_id
        self.pin_id = pin_id
        self.params = params
        self.timer = timer
        self.pin = board.pin(pin_id, self.OUTPUT, params.get('pull'))
        self.level = 0  # software copy: outputs are never read back
        self.running = False
        self.error = None
        self.version = 0  # bumped whenever deferred work ran or it started:
        # a change marker
        self.fires = 0
        self.deferred = 0
        self.drops = 0
        self.late_max_us = 0
        self._fault = None
        self._pending = 0
        self._last_us = 0
        self._period_us = 0
        # Pre-bound once: looking up self.f in the ISR would allocate.
        self._isr = self.isr
        self._tick = self.tick
        self._deferred = self._run_deferred
        self._pin_value = self.pin.value
        self._timer_init = timer.init
        self._timer_deinit = timer.deinit
        self.setup()
        if self.OUTPUT:
            self._drive(self.IDLE)

    def setup(self):
        """Allocate what the ISR touches (buffers, constants)."""

    def begin(self):
        """Drive the starting level and arm the timer."""
        raise NotImplementedError

    def tick(self):
        """Per-interrupt work. Must not allocate."""
        raise NotImplementedError

    def report(self, out):
        """Add kind-specific live state to the dict ``out``. It may change
        only with fires, version, drops, running, level or error (a Listing
        renders it again only then)."""

    def _drive(self, level):
        self.level = level
        self._pin_value(level)

    def _arm(self, mode, period_ms):
        self._period_us = period_ms * 1000
        self._last_us = ticks_us()
        self._timer_init(mode=mode, period=period_ms, callback=self._isr)

    def start(self):
        # begin() may reset a kind's state (a sample's window) while fires
        # and running stay as they were
        self.version = (self.version + 1) & MASK
        self._fault = None
        self.error = None
        self.running = True
        self.begin()

    def stop(self):
        self._timer_deinit()
        self.running = False
        if self.OUTPUT:
            self._drive(self.IDLE)

    def isr(self, _):  # _: the timer
        try:
            now = ticks_us()
            late = ticks_diff(now, self._last_us) - self._period_us
            if late > self.late_max_us:
                self.late_max_us = late
            self._last_us = now
            self.fires = (self.fires + 1) & MASK
            self._tick()
        except Exception as e:  # stop here; the message is built later
            self._fault = e
            self._timer_deinit()
            self.defer()

    def defer(self):
        """Queue ``_run_deferred`` once; a queue that is full or already
        holds ours counts a drop, never raises."""
        if self._pending:
            self.drops = (self.drops + 1) & MASK
            return
        self._pending = 1
        try:
            schedule(self._deferred, 0)
        except Exception:
            self._pending = 0
            self.drops = (self.drops + 1) & MASK

    def work(self):
        """Deferred work after an interrupt (runs in scheduled context, may
        allocate). Kinds override it; the base has none."""

    def _run_deferred(self, _):
        self._pending = 0
        self.deferred = (self.deferred + 1) & MASK
        self.version = (self.version + 1) & MASK
        # An exception escaping a scheduled callback surfaces in whatever
        # the main thread runs next (a request, the event loop): keep it here.
        try:
            self.work()
            self.sync()
        except Exception as e:
            self.fail(e, 'deferred work')

    def fail(self, exc, where):
        """Stop this binding and record why; never raises."""
        try:
            self.stop()
        except Exception:
            self.running = False
        if self.error is None:
            self.error = '%s in %s %s: %s' % (
                type(exc).__name__, self.KIND, where, exc)
        self.version = (self.version + 1) & MASK

    def sync(self):
        """Fold what the ISR left behind into the visible state."""
        fault = self._fault
        if fault is None:
            fault = getattr(self.timer, 'error', None)  # a simulated timer's
        if fault is not None and self.error is None:
            self._fault = None
            self.fail(fault, 'ISR')

    def to_dict(self):
        self.sync()
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id,
               'running': self.running, 'level': self.level}
        out.update(self.params)
        self.report(out)
        out['stats'] = {'fires': self.fires, 'deferred': self.deferred,
                        'drops': self.drops, 'late_max_us': self.late_max_us}
        out['error'] = self.error
        return out

    def spec(self):
        """The create body that rebuilds this binding (config.json)."""
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id}
        out.update(self.params)
        out['start'] = self.running
        return out

    def carry_stats(self, old):
        """Keep the counters of the binding this one replaces."""
        self.fires = old.fires
        self.deferred = old.deferred
        self.drops = old.drops
        self.late_max_us = old.late_max_us
        self.version = (old.version + 1) & MASK


class Listing:
    """The JSON of ``{"bindings": [to_dict() of each]}`` as bytes, rendered
    again only when a binding changed, came or went. Dumping four bindings'
    dicts was a third of a GET /api/bindings; a hit allocates no ~1 KB
    body either (on a fragmented heap a block that size is slow to find).

    What each binding showed is kept here, not on the handlers: an
    attribute more grows every binding's attribute table (+96 to +128
    bytes). A binding is known by its ``params`` dict (each handler has its
    own, and holding it here keeps it from being reused by another)."""

    def __init__(self):
        self.doc = None
        # per binding: (params, fires, version, drops, running, level, error)
        self.shown = []

    def json(self, bindings):
        doc = self.doc
        shown = self.shown
        if doc is not None and len(bindings) == len(shown):
            i = 0
            for h in bindings:
                _live(h)
                at = shown[i]
                i += 1
                if (at[0] is not h.params or at[1] != h.fires
                        or at[2] != h.version or at[3] != h.drops
                        or at[4] is not h.running or at[5] != h.level
                        or at[6] is not h.error):
                    break
            else:
                return doc
        self.doc = None  # let go of the old body before building the new
        shown = []
        # small pieces and one join: the only ~1 KB block a render makes
        parts = [b'{"bindings": [']
        for h in bindings:
            _live(h)
            # noted before it is read: an ISR that fires meanwhile leaves
            # the binding moved, so the next call renders again
            shown.append((h.params, h.fires, h.version, h.drops, h.running,
                          h.level, h.error))
            if len(parts) > 1:
                parts.append(b', ')
            parts.append(dumps(h.to_dict()).encode())
        parts.append(b']}')
        self.shown = shown
        doc = self.doc = b''.join(parts)
        return doc


def _live(h):
    """Bring what to_dict() reads up to date, before it is compared."""
    h.sync()
    if not h.OUTPUT and not h.running:
        h.level = h._pin_value()  # a stopped input shows its pin
