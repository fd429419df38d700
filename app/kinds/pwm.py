"""The ``pwm`` kind: a dimmable LED or a fan on ``machine.PWM``, with fades."""
from array import array
from micropython import const
from app.errors import ApiError, invalid
from app.kinds.handler import Handler, PERIODIC
from app.board.board import PWM, Pin, ticks_ms

STEP_MS = const(10)  # a fade moves the duty this often (at most 20 ms)
FREQ_HZ = const(1000)  # breathe's frequency (it has no freq_hz)
_FULL = const(65535)
# app.kinds.handler's MASK and TICKS, made here: a const() folds
# into the bytecode only in its own module (imported, each use is a global
# lookup), and a private one (_NAME) is no global of the module either;
# tests/mp/test_isr.py checks they are the same.
_MASK = const(0x1FFFFFFF)
_TICKS = const(0x1FFFFFFF)
_tables = {}  # (curve, shift) -> duty per 0.2 % of a fade, made once
_STEPS = const(500)  # a fade's positions: 0.2 % of its axis each


def duty_table(curve, shift=0):
    """duty_u16 >> ``shift`` for positions 0, 0.2, ... 100 % of a fade
    (501 entries, 1 KB, made with the first fade of that curve and kept:
    a step looks its duty up; the arithmetic, its products checked for
    overflow, costs half as much again), and 0 after them: a fade down
    may land on position -1 (its step rounds down), which is this 0.
    ``linear``: the duty itself; ``gamma``: 2.2 gamma of the perceived
    brightness, linear between whole percents (so 0.2 % steps lose
    nothing of the curve: only where a breathe's min and max fall, to
    0.2 % of duty or of perceived brightness, and a fade's intermediate
    steps; a fade ends exactly at its duty)."""
    table = _tables.get((curve, shift))
    if table is None:
        table = _tables[(curve, shift)] = array('H', bytes(2 * _STEPS + 4))
        b = 0  # the duty at each whole percent, i; 5 positions from each
        for i in range(1, 101):
            a = b
            b = round(_FULL * (i / 100) ** 2.2) if curve == 'gamma' \
                else _FULL * i // 100
            for k in range(5):
                table[5 * i - 5 + k] = (a + (b - a) * k // 5) >> shift
        table[_STEPS] = b >> shift
    return table


def position(pm, gamma):
    """A duty in 0.1 % steps (0-1000) as a fade's position (0-500):
    ``gamma``: of its perceived brightness."""
    if gamma:
        return round(_STEPS * (pm / 1000) ** (1 / 2.2))
    return (pm + 1) >> 1


class Tenths(float):
    """A duty in % as JSON shows it: one decimal. MicroPython prints a
    double to 16 digits, and no double near 64.6 prints as 64.6 (it reads
    64.59999999999999); ``json.dumps`` prints a float subclass with its
    ``__repr__``. A number like any float otherwise: ``Tenths(pm / 10)``
    for a duty in 0.1 % steps (646 -> 64.6)."""

    def __repr__(self):
        return '%.1f' % (self + 0.0)


def report_duty(h, out):
    """``out``'s duty fields (``duty``, ``min``, ``max``) with one decimal,
    and ``duty`` the live one: the PWM's own, read back and rounded to
    0.1 % (``live_pm``)."""
    for field in h.FIELDS:
        if field[1] == 'duty':
            out[field[0]] = Tenths(round(out[field[0]] * 10) / 10)
    out['duty'] = Tenths(h.live_pm() / 10)


class Pwm(Handler):
    """Drives ``machine.PWM`` at ``freq_hz`` and ``duty`` %. Changing
    ``duty`` (PATCH) while it runs fades from the live duty over
    ``fade_ms``: a timer, held only while fading, steps the duty every
    ``STEP_MS``, linearly in duty or, with ``"curve": "gamma"``, in
    perceived brightness. ``duty`` in a GET is the live duty."""
    KIND = 'pwm'
    TIMER = False  # only while fading (timer_for)
    KEEP_PIN = True  # the PWM's pin
    ACTS = True  # a fade's end gives its timer back (Registry.act)
    FIELDS = (('freq_hz', 'freq', 1000, 'Hz', None),
              ('duty', 'duty', 50, '%', None),
              ('fade_ms', (0, 60000), 0, 'ms', None),
              ('curve', ('linear', 'gamma'), 'linear', None, None))

    @classmethod
    def timer_for(cls, params, old):
        # a breathe (TIMER) runs on one; a pwm only for a fade
        return cls.TIMER or (
            isinstance(old, Pwm) and old.running and old.KIND == cls.KIND
            and params['fade_ms'] > 0
            and old.live_pm() != round(params['duty'] * 10))

    @classmethod
    def check(cls, board, pin, params):
        if board.pwm is None:
            raise ApiError(400, 'invalid_pin', 'board %s has no PWM pinwheel '
                           'can drive' % board.name, 'pin')
        if not isinstance(pin, int):
            raise ApiError(400, 'invalid_pin', 'pin %s has no PWM: a %s '
                           'needs a GPIO number' % (pin, cls.KIND), 'pin')
        # a breathe's (one check for both kinds: a function fewer)
        if params.get('min', 0) > params.get('max', 100):
            raise invalid('max', 'max (%s) must be at least min (%s)'
                          % (params['max'], params['min']))

    @classmethod
    def check_peers(cls, board, binding_id, pin, params, peers):
        """rp2's PWM slices (``app.kinds.pwmslices``, loaded on such a
        board only)."""
        if board.pwm is not None and board.pwm[2]:
            from app.kinds.pwmslices import check
            check(binding_id, pin, params, peers)

    # Heap per binding: every attribute costs a slot in the instance's
    # table, so defaults stay on the class and a fade's state is made by
    # the first fade.
    _duty_of = None  # the duty at each position of a fade: duty_table's
    _shift = 0  # 6 where the port has only duty() (0-1023)
    _duty = None  # the PWM's duty_u16 (or duty) method, pre-bound
    _from = None  # a fade's start (set by carry_stats: the live duty)
    _stopped = None  # the live duty when it last stopped while running

    def setup(self):
        self._pin_value = None  # the pin is the PWM's: see _drive
        # fades are timed in ms (positions from the elapsed time)
        self._clock = ticks_ms
        self._target = round(self.params.get('duty', 0) * 10)
        self._pwm = None
        self._fading = False

    def _drive(self, level):
        """The pin as a plain output (before and after the PWM has it)."""
        self.level = level
        self.pin.value(level)

    def carry_stats(self, old):
        Handler.carry_stats(self, old)
        if isinstance(old, Pwm) and old.pin_id == self.pin_id:
            self._from = old._stopped

    def timer_idle(self):
        return not self.running or not self._fading

    def work(self):
        """Deferred: a fade that ended gives its timer back."""
        if not self._fading and self.timer is not None:
            self.act('release', None, self)

    def _open(self):
        """The PWM object (main program)."""
        if self._pwm is None:
            self._pwm = PWM(self.pin, freq=self.params.get(
                'freq_hz', FREQ_HZ), duty_u16=0)
            if hasattr(self._pwm, 'duty_u16'):
                self._duty = self._pwm.duty_u16
            else:  # the interrupt writes the port's units
                self._shift = 6
                self._duty = self._pwm.duty  # pyright: ignore

    def set_now(self, pm):
        """Jump to ``pm`` (0.1 % steps); allocation-free."""
        u = pm * (_FULL >> self._shift) // 1000
        self.level = 1 if u else 0
        self._duty(u)  # pyright: ignore

    def live_pm(self):
        """The live duty in 0.1 % steps, read back from the PWM (the
        interrupt keeps no copy)."""
        if self._pwm is None:
            return 0
        u = self._duty() << self._shift  # pyright: ignore
        return (u * 1000 + (_FULL >> 1)) // _FULL

    def begin(self):
        try:
            self._open()
        except Exception as e:  # no LEDC timer or channel left, a bad pin
            self.fail(e, 'start')
            return
        start = self._from
        if start is None or self.timer is None or start == self._target:
            self.set_now(self._target)
            return
        # a fade from the live duty to the target over fade_ms
        self.set_now(start)
        end = self._target
        ms = self._len = self.params['fade_ms']
        curve = self.params['curve']
        self._duty_of = duty_table(curve, self._shift)
        gamma = curve == 'gamma'
        self._from = position(start, gamma)
        # positions per ms, 16 bits after the point: a step multiplies and
        # shifts (no division in the interrupt; e * rate < 500 * 2**16)
        self._rate = ((position(end, gamma) - self._from) << 16) // ms \
            if ms else 0
        # on while it fades, unless it fades between 0 and 0 (the
        # interrupt keeps no level: the end sets it exactly)
        self.level = 1 if start or end else 0
        self._fading = True
        self._t0 = ticks_ms()
        # Its steps are placed by the clock (a late or lost step shifts
        # nothing), so they are not checked for lateness: fires only (the
        # class's _periodic: False).
        self._arm(PERIODIC, STEP_MS)

    def isr(self, _=None):
        """A fade's step: the position from the time since it began
        (allocation-free, small ints: positions at most 500, products
        below 2**25), its duty looked up."""
        e = (self._clock() - self._t0) & _TICKS  # pyright: ignore
        self.fires = (self.fires + 1) & _MASK
        if e >= self._len:  # the end: exactly at the target
            self.set_now(self._target)
            self._fading = False
            self.timer.deinit()
            self.defer()  # the end reaches the event stream; timer back
            return
        self._duty(self._duty_of[self._from + (e * self._rate >> 16)])  # pyright: ignore

    def stop(self):
        self._stopped = self.live_pm() if self.running else None
        self._fading = False
        Handler.stop(self)  # the timer, the output's idle level
        pwm = self._pwm
        if pwm is not None:
            self._pwm = None
            pwm.deinit()
            self.pin.init(Pin.OUT, value=0)  # a GPIO again, low
        self.level = 0

    def report(self, out):
        report_duty(self, out)
        out['target_duty'] = Tenths(self._target / 10)
        out['fading'] = self._fading
