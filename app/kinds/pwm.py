"""The ``pwm`` kind: a dimmable LED or a fan on ``machine.PWM``, with fades."""
from array import array
from time import ticks_diff
from micropython import const
from app.errors import ApiError, invalid
from app.kinds.handler import Handler, PERIODIC
from app.board.board import PWM, Pin, ticks_ms

STEP_MS = const(10)  # a fade moves the duty this often (at most 20 ms)
FREQ_HZ = const(1000)  # breathe's frequency (it has no freq_hz)
_FULL = const(65535)
_gamma = None  # 2.2 gamma, per 1 % of perceived brightness, made once


def gamma_table():
    """duty_u16 for 0, 1, ... 100 % perceived brightness (and 100 % again,
    so the interpolation can read one entry past the last)."""
    global _gamma
    if _gamma is None:
        _gamma = array('H', [round(_FULL * (i / 100) ** 2.2)
                             for i in range(101)] + [_FULL])
    return _gamma


def perceived(pm):
    """Perceived brightness (0-1000) of a duty in 0.1 % steps (0-1000)."""
    return round(1000 * (pm / 1000) ** (1 / 2.2))


def put(h, pos):
    """Output the position ``pos`` (0-1000) of a fade of ``h``: its duty,
    or its perceived brightness with gamma (between two entries of the
    table, linearly). Interrupt code: allocation-free, small ints."""
    gamma = h._gamma
    if gamma is None:
        h.duty_pm = pos
        write(h, pos * _FULL // 1000)
        return
    i = pos // 10
    a = gamma[i]
    u = a + (gamma[i + 1] - a) * (pos - i * 10) // 10
    h.duty_pm = u * 1000 // _FULL
    write(h, u)


def write(h, u):
    """Set ``h``'s PWM to the u16 duty ``u`` (duty() 0-1023 where the port
    has no duty_u16). Allocation-free: a native method call."""
    h.level = 1 if u else 0
    if h._shift:
        h._pwm.duty(u >> 6)
    else:
        h._pwm.duty_u16(u)


class Tenths(float):
    """A duty in % as JSON shows it: one decimal. MicroPython prints a
    double to 16 digits, and no double near 64.6 prints as 64.6 (it reads
    64.59999999999999); ``json.dumps`` prints a float subclass with its
    ``__repr__``. A number like any float otherwise."""

    def __repr__(self):
        return '%.1f' % (self + 0.0)


def tenths(pm):
    """``pm`` (0.1 % steps) as a duty for an answer: 646 -> 64.6."""
    return Tenths(pm / 10)


def report_duty(h, out):
    """``out``'s duty fields (``duty``, ``min``, ``max``) with one decimal,
    and ``duty`` the live one: the PWM's own, rounded to 0.1 % (the
    interrupt code floors it: a gamma step to 5 % would read 4.9) where it
    agrees with ``duty_pm`` within a step."""
    for field in h.FIELDS:
        if field[1] == 'duty':
            out[field[0]] = tenths(round(out[field[0]] * 10))
    pm = h.duty_pm
    pwm = h._pwm
    if pwm is not None:
        u = pwm.duty() << 6 if h._shift else pwm.duty_u16()
        exact = (u * 1000 + 32767) // 65535  # small ints: u * 1000 < 2**26
        if -1 <= exact - pm <= 1:
            pm = exact
    out['duty'] = tenths(pm)


class Pwm(Handler):
    """Drives ``machine.PWM`` at ``freq_hz`` and ``duty`` %. Changing
    ``duty`` (PATCH) while it runs fades from the live duty over
    ``fade_ms``: a timer, held only while fading, steps the duty every
    ``STEP_MS``, linearly in duty or, with ``"curve": "gamma"``, in
    perceived brightness. ``duty`` in a GET is the live duty."""
    KIND = 'pwm'
    DOC = 'drives a PWM output: a dimmable LED or a fan, with fades'
    TIMER = False  # only while fading (timer_for)
    ACTS = True  # a fade's end gives its timer back (Registry.act)
    FIELDS = (('freq_hz', 'freq', 1000, 'Hz', 'the PWM frequency'),
              ('duty', 'duty', 50, '%',
               'the share of each period the pin is high, in 0.1 % steps'),
              ('fade_ms', (0, 60000), 0, 'ms',
               'how long a change of duty takes; 0 jumps'),
              ('curve', ('linear', 'gamma'), 'linear', None,
               'a fade linear in duty, or in perceived brightness (gamma)'))

    @classmethod
    def timer_for(cls, params, old):
        return (isinstance(old, Pwm) and old.running and old.KIND == cls.KIND
                and params['fade_ms'] > 0
                and old.duty_pm != round(params['duty'] * 10))

    @classmethod
    def check(cls, board, pin, params):
        if board.pwm is None:
            raise ApiError(400, 'invalid_pin', 'board %s has no PWM pinwheel '
                           'can drive' % board.name, 'pin')
        if not isinstance(pin, int):
            raise ApiError(400, 'invalid_pin', 'pin %s has no PWM: a %s '
                           'needs a GPIO number' % (pin, cls.KIND), 'pin')

    @classmethod
    def check_peers(cls, board, binding_id, pin, params, peers):
        """rp2: the other pin of a PWM slice runs at the same frequency, and
        GPIO n and n + 16 (one channel) never both. ``peers``: the other
        bindings as (id, class, pin, params)."""
        if board.pwm is None or not board.pwm[2]:
            return
        for other_id, other_cls, other_pin, other in peers:
            if other_id == binding_id or not issubclass(other_cls, Pwm) \
                    or (other_pin >> 1) & 7 != (pin >> 1) & 7:
                continue
            slice_ = (pin >> 1) & 7
            if other_pin & 1 == pin & 1:
                why = ('GPIO %d and %d are the same output of PWM slice %d'
                       % (other_pin, pin, slice_))
            elif other.get('freq_hz', FREQ_HZ) != params.get('freq_hz',
                                                              FREQ_HZ):
                why = ('PWM slice %d drives GPIO %d at %d Hz and GPIO %d '
                       'would need %d Hz' % (
                           slice_, other_pin, other.get('freq_hz', FREQ_HZ),
                           pin, params.get('freq_hz', FREQ_HZ)))
            else:
                continue
            raise ApiError(409, 'pwm_slice_in_use', '%s: binding "%s" uses '
                           'it; use its frequency, another pin, or delete it'
                           % (why, other_id), 'pin')

    # Heap per binding: every attribute costs a slot in the instance's
    # table, so defaults stay on the class and a fade's state is made by
    # the first fade.
    _gamma = None  # the gamma table, with "curve": "gamma"
    _shift = 0  # 6 where the port has only duty() (0-1023)
    _from = None  # a fade's start (set by carry_stats: the live duty)
    _stopped = None  # the live duty when it last stopped while running

    def setup(self):
        self._pin_value = None  # the pin is the PWM's: see _drive
        self.duty_pm = 0  # the live duty, in 0.1 % steps
        self._target = round(self.params.get('duty', 0) * 10)
        if self.params['curve'] == 'gamma':
            self._gamma = gamma_table()
        self._pwm = None
        self._fading = False

    def _drive(self, level):
        """The pin as a plain output (before and after the PWM has it)."""
        self.level = level
        self.pin.value(level)

    def attach(self, timer):
        """As Handler's, without pre-binding ``timer.init``: a fade arms its
        timer from the main program only (heap per binding)."""
        self.timer = timer
        self._timer_deinit = timer.deinit  # the interrupt's, at a fade's end

    def _rearm(self, mode, period_ms):
        if self._hard is None:
            self.timer.init(mode=mode, period=period_ms, callback=self._isr)
        else:
            self.timer.init(mode=mode, period=period_ms, callback=self._isr,
                            hard=self._hard)

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

    def act(self, do, target, source):
        """The registry's ``act`` (``Registry._wire`` sets it)."""

    def _open(self):
        """The PWM object (main program)."""
        if self._pwm is None:
            self._pwm = PWM(self.pin, freq=self.params.get(
                'freq_hz', FREQ_HZ), duty_u16=0)
            if not hasattr(self._pwm, 'duty_u16'):
                self._shift = 6

    def set_now(self, pm):
        """Jump to ``pm`` (0.1 % steps); allocation-free."""
        self.duty_pm = pm
        write(self, pm * _FULL // 1000)

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
        self.set_now(start)
        self.fade(start, self._target, self.params['fade_ms'])

    def fade(self, start, end, ms):
        """Move from ``start`` to ``end`` (0.1 % steps) over ``ms``."""
        gamma = self._gamma
        self._from = perceived(start) if gamma else start
        self._to = perceived(end) if gamma else end
        self._len = ms
        self._t0 = ticks_ms()
        self._fading = True
        self._arm(PERIODIC, STEP_MS)

    def tick(self):
        """A fade's step: allocation-free, small ints (positions at most
        1000, products below 2**27)."""
        n = self._len
        e = ticks_diff(ticks_ms(), self._t0)
        if e < n:
            put(self, self._from + (self._to - self._from) * e // n)
            return
        self.set_now(self._target)  # exactly there at the end
        self._fading = False
        self._periodic = False  # no fires are due any more, none missed
        self._timer_deinit()
        self.defer()  # the end reaches the event stream; timer back

    def stop(self):
        self._stopped = self.duty_pm if self.running else None
        self._fading = False
        Handler.stop(self)  # the timer, the output's idle level
        pwm = self._pwm
        if pwm is not None:
            self._pwm = None
            pwm.deinit()
            self.pin.init(Pin.OUT, value=0)  # a GPIO again, low
        self.duty_pm = 0
        self.level = 0

    def report(self, out):
        report_duty(self, out)
        out['target_duty'] = tenths(self._target)
        out['fading'] = self._fading
