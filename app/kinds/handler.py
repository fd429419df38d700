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

Each kind's ``isr`` is one method, written out in full (a call into a
second Python function costs more than the rest of a blink's work), and
does the least the binding needs per fire: the pin, the fire count, and
one check that the fire is on time (``ON_TIME``, below). Everything that
can be worked out later is: how late a late fire was (``_off_time``, run
only for those), missed periods (from the due time and the clock when the
stats are read), a sample's readings (from its edges and the fire count),
an input's presses (from its accepted edges).

Integers in ISR code stay below 2**30, the small-int limit of a 32-bit
port (see docs/internals.md): counters wrap at ``MASK``; due times are
ticks kept to their low 29 bits (``TICKS``: ports' ticks wrap at 2**30 or a
higher power of two, so differences of the low 29 bits are right on any
VM, and a due time plus a period, each below 2**29 and 2**28, stays below
2**30 without ``ticks_add``); differences span +-2**28, so a period is
timed in microseconds up to 2**25 us (33.5 s: lateness of 8 periods stays in
range), longer ones in milliseconds (up to a day: 3 periods).
"""
from json import dumps
from time import ticks_diff
from micropython import const
from app.board.board import Timer, schedule, ticks_ms, ticks_us

MASK = const(0x1FFFFFFF)  # x + 1 stays a small int on 32-bit (< 2**30)
TICKS = const(0x1FFFFFFF)  # due times: the low 29 bits of the clock's ticks
_HALF = const(0x10000000)  # see signed()
TICKS_HALF = const(0x10000000)  # bit 28: set in a negative TICKS difference
US_MAX_MS = const(33554)  # periods up to this many ms are timed in us (2**25 us)
SLACK_US = const(1000)  # a fire later than this (or a quarter period) is late
REQUIRED = object()
# What can be done to a binding, one meaning each (app.registry's ``do``;
# docs/api.md, "Actions"): REST, rules, schedules and MQTT take these words
VERBS = const(('start', 'stop', 'toggle', 'pulse', 'on', 'off'))
PERIODIC = Timer.PERIODIC
ONE_SHOT = Timer.ONE_SHOT


def _no_timer(*_, **__):
    """A stopped binding's Timer.init: it holds no timer."""


def _no_deinit():
    """A stopped binding's Timer.deinit (no varargs: their tuple and dict
    would be allocated, and the ISR's fault path calls it)."""


def clock_for(longest_ms):
    """(ticks function, its units per ms) to time periods up to
    ``longest_ms``: microseconds where they fit ``ticks_diff`` with room
    for lateness, else milliseconds."""
    return (ticks_us, 1000) if longest_ms <= US_MAX_MS else (ticks_ms, 1)


def signed(ticks):
    """A difference of two clock readings (or ``TICKS`` values) as a signed
    number in +-2**28 (masked first: no intermediate reaches 2**30)."""
    return (((ticks & TICKS) + _HALF) & TICKS) - _HALF


class Handler:
    """A binding: a pin and, while it runs, a timer. Subclasses set KIND,
    OUTPUT, FIELDS and implement ``begin`` (drive the pin, arm the timer)
    and ``isr`` (the whole per-interrupt work, allocation-free)."""
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
        self.late = 0  # fires that came late (a catch-up burst's included)
        self.late_max = 0  # the worst lateness of them, in the clock's units
        self.missed = 0  # periods found skipped (more count when read)
        self.deferred = 0
        self.drops = 0  # deferred work lost: the schedule queue was full
        self._fault = None
        self._pending = 0
        self._periodic = False  # fires are due every _period (missed counts)
        self._late_after = 0  # the next fire is late after this (TICKS)
        self._period = 0  # in the clock's units
        self._slack = 0  # how late a fire may come and be on time
        self._last_late = -1  # fires after the last late fire (see _off_time)
        self._late_was = 0  # its lateness, and late_max before it
        self._max_was = 0
        self._clock, self._per_ms = clock_for(self.longest_ms(params))
        # Pre-bound once: looking up self.f in the ISR would allocate.
        self._isr = self.isr
        self._deferred = self._run_deferred
        self._pin_value = self.pin.value
        self._timer_init = _no_timer
        self._timer_deinit = _no_deinit
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

    def isr(self, _=None):  # _: the timer
        """The interrupt, allocation-free. This one, for a kind that writes
        only ``tick`` (docs/internals.md, "Adding a kind"): a periodic
        timer's on-time check, the fire count, then ``tick()``. The kinds
        here write theirs out in full, a call into a second Python
        function costing more than the rest of a blink's work; each begins
        with the same check::

            after = self._late_after  # its due time + _slack
            if not (self._clock() - after) & TICKS_HALF:  # late: rare
                after = self._off_time(self._clock(), after)
            self._late_after = (after + self._period) & TICKS  # periodic
            self.fires = (self.fires + 1) & MASK

        (bit 28 of the difference clear: the fire is ``_slack`` or more past
        its due time, less than 2**28 ticks; set: not yet.)

        It has no ``try``: that alone costs half of what toggling a pin
        does. What it runs is arithmetic on small ints it made itself and
        the pin's C methods, proven allocation-free at the API's extremes
        (tests/mp/test_isr.py); should it raise all the same, the port does
        what it does with an interrupt that raises: rp2 stops the timer
        and prints the exception (ports/rp2/machine_timer.c), esp32 prints
        it, and the simulated timer stops and keeps it in ``timer.error``,
        which ``sync`` turns into the binding's ``error``."""
        if self._periodic:
            after = self._late_after
            if not (self._clock() - after) & TICKS_HALF:  # late: rare  # pyright: ignore
                after = self._off_time(self._clock(), after)
            self._late_after = (after + self._period) & TICKS
        self.fires = (self.fires + 1) & MASK
        self.tick()

    def tick(self):
        """A kind's per-fire work under the default ``isr``
        (allocation-free, interrupt context)."""
        raise NotImplementedError

    def _tick(self):
        """One fire's work, called by hand (tests); a pattern's is a step."""
        self._isr(None)

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
            self._timer_init = _no_timer
            self._timer_deinit = _no_deinit
        return timer

    def _arm(self, mode, period_ms):
        """Arm the timer from the main program; fires are due from now."""
        self._periodic = mode == PERIODIC
        self._aim(period_ms)
        self._rearm(mode, period_ms)

    def _aim(self, period_ms):
        """The next fire is due ``period_ms`` from now; later ones every
        ``period_ms`` (a periodic timer)."""
        period = period_ms * self._per_ms
        self._period = period
        slack = SLACK_US * self._per_ms // 1000 or 1
        self._slack = slack = slack if slack < period >> 2 else period >> 2
        self._last_late = -1
        self._late_after = ((self._clock() & TICKS) + period + slack) & TICKS  # pyright: ignore

    def _rearm(self, mode, period_ms):
        """Timer.init with ``hard=`` where the port takes it (ISR-safe:
        keyword calls to a pre-bound method allocate nothing)."""
        if self._hard is None:
            self._timer_init(mode=mode, period=period_ms, callback=self._isr)
        else:
            self._timer_init(mode=mode, period=period_ms, callback=self._isr,
                             hard=self._hard)

    def _off_time(self, now, after):
        """A fire more than ``_slack`` after its due time, ``after`` (its
        due time + ``_slack``), in interrupt context, allocation-free; only
        such fires pay for it. Returns ``after`` as this fire had it.

        Late: counted in ``late``, its lateness kept in ``late_max`` if it
        is the largest. A catch-up burst (rp2 delivers the fires it held
        while interrupts were off, one after the other) is a run of late
        fires, each a period less late than the one before. A periodic
        timer that skipped k periods instead (esp32, the shared queue)
        delivers the next fire k periods after its due time, and the one
        after that k periods late again: told apart at that second fire,
        the first is taken back from ``late``, the k periods count in
        ``missed`` and due times move on by them."""
        slack = self._slack
        late = ((((now - after) & TICKS) + _HALF) & TICKS) - _HALF + slack
        if late <= slack:  # just on time
            return after
        period = self._period
        fires = self.fires
        was = self._late_was
        if self._periodic and self._last_late == fires \
                and was >= period >> 1 and late >= period >> 1 \
                and late > was - (period >> 1):
            # no catch-up since the last late fire: k periods were skipped
            skipped = (late + (period >> 1)) // period
            self.missed = (self.missed + skipped) & MASK
            self.late = (self.late - 1) & MASK
            self.late_max = self._max_was
            after = (after + skipped * period) & TICKS
            late -= skipped * period
            if late <= slack:
                self._last_late = -1
                return after
        self._last_late = (fires + 1) & MASK
        self._late_was = late
        self._max_was = self.late_max
        self.late = (self.late + 1) & MASK
        if late > self.late_max:
            self.late_max = late
        return after

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
        self._periodic = False
        if self.OUTPUT:
            self._drive(self.IDLE)

    def defer(self):
        """Queue ``_run_deferred`` once: while it is queued, more calls
        change nothing (it reads the state when it runs). A full queue
        counts a drop, never raises. On every port, esp32's
        already-scheduled callbacks included, only rare events defer, so
        one code path holds everywhere."""
        if self._pending:
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
        """Stop this binding and record why (in ``error`` and the event
        log); never raises. Main program or deferred work only."""
        try:
            self.stop()
        except Exception:
            self.running = False
        if self.error is None:
            self.error = '%s in %s %s: %s' % (
                type(exc).__name__, self.KIND, where, exc)
            try:
                from app import log
                log.note('binding "%s" stopped: %s' % (self.id, self.error))
            except Exception:  # the log is never worth a failure
                pass
        self.version = (self.version + 1) & MASK

    def sync(self):
        """Fold what the ISR left behind into the visible state."""
        fault = self._fault
        if fault is None:
            fault = getattr(self.timer, 'error', None)  # a simulated timer's
        if fault is not None and self.error is None:
            self._fault = None
            self.fail(fault, 'ISR')

    def timing(self):
        """(late, late_max, missed) as of now, read-only (the ISR may run
        meanwhile): missed adds the periods overdue now, and a last late
        fire that no catch-up followed is taken as skipped periods, as
        ``_off_time`` would at the next fire."""
        late, late_max, missed = self.late, self.late_max, self.missed
        if self.running and self._periodic:
            period = self._period
            slack = self._slack
            overdue = signed(self._clock() - self._late_after) + slack  # pyright: ignore
            if self._last_late == self.fires and overdue > slack:
                was = self._late_was
                if was >= period >> 1:  # a burst would have come at once
                    skipped = (was + (period >> 1)) // period
                    missed += skipped
                    overdue -= skipped * period
                    late -= 1
                    late_max = self._max_was
            overdue -= period >> 1  # a fire half a period overdue is missed
            if overdue >= 0:
                missed += overdue // period + 1
        return late & MASK, late_max, missed & MASK

    def missed_now(self):
        """``missed`` as the stats show it (see ``timing``)."""
        return self.timing()[2]

    def stats(self):
        late, late_max, missed = self.timing()
        return {'fires': self.fires, 'late': late,
                'late_max_us': late_max * 1000 // self._per_ms,
                'missed': missed, 'deferred': self.deferred,
                'drops': self.drops}

    def to_dict(self):
        self.sync()
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id,
               'running': self.running, 'level': self.level,
               'power_on': self.power_on}
        out.update(self.params)
        self.report(out)
        out['stats'] = self.stats()
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
        late, late_max, missed = old.timing()
        self.fires = old.fires
        self.late = late
        self.missed = missed
        self.deferred = old.deferred
        self.drops = old.drops
        self.late_max = late_max * self._per_ms // old._per_ms
        self.version = (old.version + 1) & MASK
