"""The base of every binding kind: one pin, a timer while it runs, an
allocation-free ISR.

The ISR/main boundary: ``isr`` runs in interrupt context (a hard IRQ on
rp2, a scheduled callback on esp32; on the unix port the simulated timer
thread with the heap locked). It only does pin I/O, small-int arithmetic
and stores to attributes ``__init__`` created. Anything that needs the
heap (formatting an error, building JSON) happens later: in
``run_deferred``, queued with ``schedule`` only when a fire changed
something that has work (a fault, a pulse ending, a pattern finishing, a
sample edge), or when the state is read.

Each kind's ``isr`` is one method, written out in full (a call into a
second Python function costs more than the rest of a blink's work), and
does the least the binding needs per fire: the pin, the fire count, and
one check that the fire is on time::

    after = self._late_after  # its due time + _slack
    if not (self._clock() - after) & TICKS_HALF:  # late: rare
        after = self._off_time(self._clock(), after)
    self._late_after = (after + self._period) & TICKS  # periodic
    self.fires = (self.fires + 1) & MASK

(bit 28 of the difference clear: the fire is ``_slack`` or more past its
due time, less than 2**28 ticks; set: not yet). Everything that
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

An ISR has no ``try``: that alone costs half of what toggling a pin does.
What it runs is arithmetic on small ints it made itself and the pin's C
methods, proven allocation-free at the API's extremes
(tests/mp/test_isr.py); should it raise all the same, the port does what
it does with an interrupt that raises: rp2 stops the timer and prints the
exception (ports/rp2/machine_timer.c), esp32 prints it, and the simulated
timer stops and keeps it in ``timer.error``, which ``sync`` turns into the
binding's ``error``.
"""
from micropython import const
from app.board.board import Timer, schedule, ticks_ms, ticks_us

MASK = const(0x1FFFFFFF)  # x + 1 stays a small int on 32-bit (< 2**30)
TICKS = const(0x1FFFFFFF)  # due times: the low 29 bits of the clock's ticks
_TICKS_HALF = const(0x10000000)  # bit 28: set in a negative TICKS difference
_US_MAX_MS = const(33554)  # periods up to this many ms are timed in us (2**25 us)
_SLACK_US = const(1000)  # a fire later than this (or a quarter period) is late
REQUIRED = object()
# What can be done to a binding, one meaning each (app.registry's ``do``;
# docs/api.md, "Actions"): REST, rules, schedules and MQTT take these words
VERBS = const(('start', 'stop', 'toggle', 'pulse', 'on', 'off'))
PERIODIC = Timer.PERIODIC
ONE_SHOT = Timer.ONE_SHOT


def run_deferred(h):
    """The deferred work of binding ``h`` after an interrupt (scheduled
    context, may allocate): ``defer`` queues this function with the
    binding as its argument, so no binding holds a pre-bound method for
    it. An exception escaping a scheduled callback surfaces in whatever the
    main thread runs next (a request, the event loop): kept here."""
    h._pending = 0
    h.deferred = (h.deferred + 1) & MASK
    h.version = (h.version + 1) & MASK
    try:
        h.work()
        h.sync()
    except Exception as e:
        h.fail(e, 'deferred work')


class Handler:
    """A binding: a pin and, while it runs, a timer. Subclasses set KIND,
    OUTPUT, FIELDS and implement ``begin`` (drive the pin, arm the timer)
    and ``isr`` (the whole per-interrupt work, allocation-free).

    Heap per binding: every attribute is a slot in the instance's table
    (8 bytes on 32-bit, the table grown in steps: 17, 23, 29, 37 slots),
    so what most bindings never change stays on the class until it does
    (``power_on``, ``error``, ``timer``, ``version``, ``_periodic``), and
    only the ISR's callback and pin I/O are pre-bound methods (``_isr``,
    ``_pin_value``); the timer's methods are called through ``timer``
    (a method call allocates nothing; only a method *taken* does)."""
    KIND = ''
    OUTPUT = True  # needs an output pin; False: an input pin
    KEEP_PIN = False  # keep the Pin object as ``pin`` (irq, PWM); else
    # only its value method
    # (name, rule, default or REQUIRED, unit, help); a rule is 'period' (ms,
    # from the board's shortest to a day), 'periods' (a list of 2 to 32 of
    # them), 'pull' (null or one the board has) or (lo, hi): an integer in
    # range. unit and help are for people: the dashboard's forms show them.
    # A built-in kind's help is None here, its line in app.http.kindinfo
    # (see app.kinds): only GET /api/kinds holds those strings.
    FIELDS = ()
    IDLE = 0  # the level of a stopped output
    TIMER = True  # runs on a timer from the pool; False: pin IRQs only
    # the field of the longest period it arms that timer for (a list: the
    # longest of them)
    LONGEST = 'period_ms'
    HARD = 'timer_hard'  # the board's hard= for this kind (see __init__)
    _hard: 'bool | None' = REQUIRED  # its value: none yet  # pyright: ignore
    power_on = 'restore'  # what boot does with it (app.startup)
    RESTORE = True  # a save keeps whether it runs (spec's "start")
    error = None  # why it stopped on its own
    timer: 'Timer' = None  # held only while running (the registry's)  # pyright: ignore
    version = 0  # bumped whenever deferred work ran or it started: a
    # change marker
    # fires are due every _period (a periodic timer): late ones are told
    # from skipped periods, missed ones count; the kinds whose timer runs so
    # say True
    _periodic = False
    # A kind without a timer from the pool (TIMER False: pin interrupts,
    # a switch, a PWM that holds one only while it fades) has none of the
    # lateness state until a fade arms one (``_arm``, main program): these
    # are its values (heap per binding: 9 slots fewer)
    late = late_max = missed = 0
    _clock = ticks_us
    _isr = None

    def __init__(self, board, binding_id, pin_id, params, power_on='restore'):
        self.id = binding_id
        self.pin_id = pin_id
        if power_on != 'restore':
            self.power_on = power_on
        # kept as checked: only the kind's fields, its table no larger than
        # they need (power_on comes apart: heap per binding)
        self.params = params
        # the hard= its board passes (Timer.init's; Pin.irq's for inputs):
        # on the kind's class, set by its first binding (heap per binding:
        # no slot), unless this one's board says otherwise
        hard = getattr(board, self.HARD)
        cls = type(self)
        if cls._hard is REQUIRED:
            cls._hard = hard
        elif hard is not cls._hard:
            self._hard = hard
        # the level of the output while stopped (and from the moment the
        # pin is made an output: boot never shows it another): a kind with
        # an active_level idles at the other one (app.board.bootpins: the
        # same rule)
        idle = 1 - params.get('active_level', 1 - self.IDLE)
        if idle != self.IDLE:  # else the class's (heap per binding)
            self.IDLE = idle
        pin = board.pin(pin_id, self.OUTPUT, params.get('pull'), idle)
        if self.KEEP_PIN:
            self.pin = pin
        self.level = 0  # software copy: outputs are never read back
        self.running = False
        self.fires = 0
        self.deferred = 0  # deferred work that ran
        self.drops = 0  # deferred work lost: the schedule queue was full
        self._pending = 0
        if self.TIMER:  # its interrupts check fires for lateness
            self.late = 0  # fires that came late (a catch-up burst's too)
            self.late_max = 0  # the worst lateness, in the clock's units
            self.missed = 0  # periods found skipped (more count when read)
            self._late_after = 0  # the next fire is late after this (TICKS)
            self._period = 0  # in the clock's units
            self._slack = 0  # how late a fire may come and be on time
            if self._periodic:  # skipped periods are told from late fires
                self._last_late = -1  # fires after the last late fire
                self._late_was = 0  # its lateness, and late_max before it
                self._max_was = 0
            # microseconds where the longest period fits ``ticks_diff``
            # with room for lateness, else milliseconds
            longest = params.get(self.LONGEST, 0)
            if type(longest) is list:  # steps: the longest of them
                longest = max(longest)
            self._clock = ticks_us if longest <= _US_MAX_MS else ticks_ms
        # Pre-bound once: taking self.f in the ISR would allocate.
        isr = getattr(self, 'isr', None)  # the timer's callback
        if isr is not None:
            self._isr = isr
        self._pin_value = pin.value
        self.setup()
        if self.OUTPUT:
            self._drive(self.IDLE)

    @classmethod
    def timer_for(cls, params, old) -> bool:
        """Does a start with ``params`` need a timer from the pool?
        ``old``: the binding it replaces (a PATCH), else None."""
        return cls.TIMER

    def timer_idle(self):
        """The timer held is no longer needed (given back at the next
        change, as ``Registry._release_idle`` does)."""
        return not self.running

    def per_ms(self):
        """The clock's units per ms."""
        return 1000 if self._clock is ticks_us else 1


    def _drive(self, level):
        self.level = level
        self._pin_value(level)

    def detach(self):
        """Stop and give back the timer (None if it held none)."""
        timer = self.timer
        if timer is not None:
            timer.deinit()
            self.timer = None  # pyright: ignore  (the class's: none held)
        return timer

    def _arm(self, mode, period_ms):
        """Arm the timer from the main program; fires are due from now,
        every ``period_ms`` (a periodic timer). Timer.init with ``hard=``
        where the port takes it."""
        per_ms = self.per_ms()
        period = period_ms * per_ms
        self._period = period
        slack = _SLACK_US * per_ms // 1000 or 1
        self._slack = slack = slack if slack < period >> 2 else period >> 2
        if self._periodic:
            self._last_late = -1
        self._late_after = ((self._clock() & TICKS) + period + slack) & TICKS  # pyright: ignore
        if self._hard is None:
            self.timer.init(mode=mode, period=period_ms, callback=self._isr)
        else:
            self.timer.init(mode=mode, period=period_ms, callback=self._isr,
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
        late = ((((now - after) & TICKS) + _TICKS_HALF) & TICKS) - _TICKS_HALF + slack
        if late <= slack:  # just on time
            return after
        fires = self.fires
        if self._periodic:  # (one-shot kinds keep none of this)
            period = self._period
            was = self._late_was
            if self._last_late == fires \
                    and was >= period >> 1 and late >= period >> 1 \
                    and late > was - (period >> 1):
                # no catch-up since the last late fire: k periods skipped
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
        if self.error is not None:
            self.error = None
        self.running = True
        self.begin()  # pyright: ignore  (every kind has one: see the class)

    def stop(self):
        timer = self.timer
        if timer is not None:
            timer.deinit()
        self.running = False
        if self.OUTPUT:
            self._drive(self.IDLE)

    def defer(self):
        """Queue ``run_deferred`` once: while it is queued, more calls
        change nothing (it reads the state when it runs). A full queue
        counts a drop, never raises. On every port, esp32's
        already-scheduled callbacks included, only rare events defer, so
        one code path holds everywhere."""
        if self._pending:
            return
        self._pending = 1
        try:
            schedule(run_deferred, self)
        except Exception:
            self._pending = 0
            self.drops = (self.drops + 1) & MASK

    def work(self):
        """Deferred work after an interrupt (runs in scheduled context, may
        allocate). Kinds override it; the base has none. The same function
        is the base's ``setup()``: allocate what the ISR touches (buffers,
        constants)."""

    def act(self, *_):
        """What a rule or a kind's deferred work does to a binding,
        ``act(do, target, source)``: the registry's ``act``, which
        ``Registry._wire`` sets on a binding with rules or ``ACTS``. The
        same function, doing nothing, is the base's ``report(out)``: add
        kind-specific live state to the dict ``out``. (One function object
        for two: heap.)"""

    setup = work
    report = act

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
        """Fold what the ISR left behind into the visible state: an
        exception that escaped a simulated timer's callback stops it."""
        fault = getattr(self.timer, 'error', None)
        if fault is not None and self.error is None:
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
            # the time since the next fire was due, signed (+-2**28)
            overdue = ((((self._clock() - self._late_after) & TICKS)  # pyright: ignore
                        + _TICKS_HALF) & TICKS) - _TICKS_HALF + slack
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

    def to_dict(self):
        self.sync()
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id,
               'running': self.running, 'level': self.level,
               'power_on': self.power_on}
        out.update(self.params)
        self.report(out)
        late, late_max, missed = self.timing()
        out['stats'] = {'fires': self.fires, 'late': late,
                        'late_max_us': late_max * 1000 // self.per_ms(),
                        'missed': missed, 'deferred': self.deferred,
                        'drops': self.drops}
        out['error'] = self.error
        return out

    def spec(self):
        """The create body that rebuilds this binding (config.json)."""
        out = {'id': self.id, 'kind': self.KIND, 'pin': self.pin_id}
        out.update(self.params)
        if self.power_on != 'restore':  # the default: configs stay short
            out['power_on'] = self.power_on
        out['start'] = self.running and self.RESTORE
        return out

    def carry_stats(self, old):
        """Keep the counters of the binding this one replaces."""
        late, late_max, missed = old.timing()
        self.fires = old.fires
        if late or late_max or missed:  # else, without a timer, the class's
            self.late = late
            self.missed = missed
            self.late_max = late_max * self.per_ms() // old.per_ms()
        self.deferred = old.deferred
        self.drops = old.drops
        self.version = (old.version + 1) & MASK
