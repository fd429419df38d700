"""The base of every binding kind: one pin, a timer while it runs, an
allocation-free ISR.

The ISR/main boundary: ``isr`` runs in interrupt context (a hard IRQ on
rp2, a scheduled callback on esp32; on the unix port the simulated timer
thread with the heap locked). It only does pin I/O, small-int arithmetic
and stores to attributes ``__init__`` created. Anything that needs the
heap (formatting an error, building JSON) happens later: in
``_run_deferred``, queued with ``schedule`` only when a fire changed
something that has work (a fault, a pulse ending, a pattern finishing, a
sample edge), or when the state is read.

Integers in ISR code stay below 2**30, the small-int limit of a 32-bit
port (see docs/internals.md): counters wrap at ``MASK``, and a period is
timed in microseconds only while that fits ``ticks_diff``'s range of
+-2**29; longer periods are timed in milliseconds.
"""
from json import dumps
from time import ticks_diff
from micropython import const
from app.board.board import Timer, schedule, ticks_ms, ticks_us

MASK = const(0x1FFFFFFF)  # x + 1 stays a small int on 32-bit (< 2**30)
US_MAX_MS = const(268435)  # periods up to this many ms are timed in us (2**28 us)
REQUIRED = object()
# What can be done to a binding, one meaning each (app.registry's ``do``;
# docs/api.md, "Actions"): REST, rules, schedules and MQTT take these words
VERBS = const(('start', 'stop', 'toggle', 'pulse', 'on', 'off'))
PERIODIC = Timer.PERIODIC
ONE_SHOT = Timer.ONE_SHOT


def _no_timer(*_, **__):
    """A stopped binding's timer calls: it holds no timer."""


def clock_for(longest_ms):
    """(ticks function, its units per ms) to time periods up to
    ``longest_ms``: microseconds where they fit ``ticks_diff`` with room
    for lateness, else milliseconds."""
    return (ticks_us, 1000) if longest_ms <= US_MAX_MS else (ticks_ms, 1)


class Handler:
    """A binding: a pin and, while it runs, a timer. Subclasses set KIND,
    OUTPUT, FIELDS and implement ``begin`` (drive the pin, arm the timer)
    and ``tick`` (the per-interrupt work)."""
    KIND = ''
    OUTPUT = True  # needs an output pin; False: an input pin
    # (name, rule, default or REQUIRED, unit, help); a rule is 'period' (ms,
    # from the board's shortest to a day), 'periods' (a list of 2 to 32 of
    # them), 'pull' (null or one the board has) or (lo, hi): an integer in
    # range. unit and help are for people: the dashboard's forms show them.
    FIELDS = ()
    IDLE = 0  # the level of a stopped output
    TIMER = True  # runs on a timer from the pool; False: pin IRQs only

    def __init__(self, board, binding_id, pin_id, params):
        self.id = binding_id
        self.pin_id = pin_id
        # what boot does with it (app.startup); not a kind's field
        self.power_on = params.pop('power_on', 'restore')
        self.params = params
        self.timer = None  # held only while running (see attach)
        self._hard = board.timer_hard
        self.pin = board.pin(pin_id, self.OUTPUT, params.get('pull'),
                             self.idle_level(params))
        self.level = 0  # software copy: outputs are never read back
        self.running = False
        self.error = None
        self.version = 0  # bumped whenever deferred work ran or it started:
        # a change marker
        self.fires = 0
        self.missed = 0  # periodic fires that never came (a gap of k periods)
        self.deferred = 0
        self.drops = 0  # deferred work lost: the schedule queue was full
        self.late_max = 0  # in the clock's units
        self._fault = None
        self._pending = 0
        self._periodic = False
        self._last = 0
        self._period = 0  # in the clock's units
        self._clock, self._per_ms = clock_for(self.longest_ms(params))
        # Pre-bound once: looking up self.f in the ISR would allocate.
        self._isr = self.isr
        self._tick = self.tick
        self._deferred = self._run_deferred
        self._pin_value = self.pin.value
        self._timer_init = self._timer_deinit = _no_timer
        self.setup()
        if self.OUTPUT:
            self._drive(self.IDLE)

    def idle_level(self, params):
        """The level of the output while stopped (and from the moment the
        pin is made an output: boot never shows it another)."""
        return self.IDLE

    @classmethod
    def timer_for(cls, params, old) -> bool:
        """Does a start with ``params`` need a timer from the pool?
        ``old``: the binding it replaces (a PATCH), else None."""
        return cls.TIMER

    def timer_idle(self):
        """The timer held is no longer needed (given back at the next
        change, as ``Registry._release_idle`` does)."""
        return not self.running

    def longest_ms(self, params):
        """The longest period this binding arms its timer for."""
        return params.get('period_ms', 0)

    def setup(self):
        """Allocate what the ISR touches (buffers, constants)."""

    def begin(self):
        """Drive the starting level and arm the timer."""
        raise NotImplementedError

    def tick(self):
        """Per-interrupt work. Must not allocate."""
        raise NotImplementedError

    def report(self, out):
        """Add kind-specific live state to the dict ``out``."""

    def _drive(self, level):
        self.level = level
        self._pin_value(level)

    def attach(self, timer):
        """Take ``timer`` from the board's pool to run on."""
        self.timer = timer
        self._timer_init = timer.init
        self._timer_deinit = timer.deinit

    def detach(self):
        """Stop and give back the timer (None if it held none)."""
        timer = self.timer
        if timer is not None:
            timer.deinit()
            self.timer = None
            self._timer_init = self._timer_deinit = _no_timer
        return timer

    def _arm(self, mode, period_ms):
        self._periodic = mode == PERIODIC
        self._period = period_ms * self._per_ms
        self._last = self._clock()
        self._rearm(mode, period_ms)

    def _rearm(self, mode, period_ms):
        """Timer.init with ``hard=`` where the port takes it (ISR-safe:
        keyword calls to a pre-bound method allocate nothing)."""
        if self._hard is None:
            self._timer_init(mode=mode, period=period_ms, callback=self._isr)
        else:
            self._timer_init(mode=mode, period=period_ms, callback=self._isr,
                             hard=self._hard)

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
            now = self._clock()
            elapsed = ticks_diff(now, self._last)  # pyright: ignore (one clock per binding: ms or us ticks)
            self._last = now
            period = self._period
            late = elapsed - period
            if self._periodic and late >= period >> 1:
                # a gap of k periods: k - 1 fires never came (a soft
                # callback lost in a full schedule queue, or the IRQ off)
                gone = (elapsed + (period >> 1)) // period - 1
                self.missed = (self.missed + gone) & MASK
                late -= gone * period
            if late > self.late_max:
                self.late_max = late
            self.fires = (self.fires + 1) & MASK
            self._tick()
        except Exception as e:  # stop here; the message is built later
            self._fault = e
            self._timer_deinit()
            self.defer()

    def defer(self):
        """Queue ``_run_deferred`` once; a queue that is full or already
        holds ours counts a drop, never raises. On every port, esp32's
        already-scheduled callbacks included, only rare events defer, so
        one code path holds everywhere."""
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

    def missed_now(self):
        """``missed`` plus the fires overdue now: a binding whose fires never
        arrive (all lost in a full schedule queue) has no next fire to
        notice the gap, so the gap is counted here too, by the same rule
        as the ISR's (more than half a period late is missed)."""
        missed = self.missed
        if self.running and self._periodic:
            last = self._last
            period = self._period
            late = ticks_diff(self._clock(), last) - (period >> 1)  # pyright: ignore
            if late > 0:
                missed += late // period
        return missed & MASK

    def to_dict(self):
        self.sync()
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id,
               'running': self.running, 'level': self.level,
               'power_on': self.power_on}
        out.update(self.params)
        self.report(out)
        out['stats'] = {'fires': self.fires, 'missed': self.missed_now(),
                        'deferred': self.deferred, 'drops': self.drops,
                        'late_max_us': self.late_max * 1000 // self._per_ms}
        out['error'] = self.error
        return out

    def spec(self):
        """The create body that rebuilds this binding (config.json)."""
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id}
        out.update(self.params)
        if self.power_on != 'restore':  # the default: configs stay short
            out['power_on'] = self.power_on
        out['start'] = self.running
        return out

    def carry_stats(self, old):
        """Keep the counters of the binding this one replaces."""
        self.fires = old.fires
        self.missed = old.missed
        self.deferred = old.deferred
        self.drops = old.drops
        self.late_max = old.late_max * self._per_ms // old._per_ms
        self.version = (old.version + 1) & MASK
