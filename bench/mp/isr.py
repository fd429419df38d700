"""Interrupt cost per kind, measured inside the VM (any of them); prints
one ``BENCH {json}`` line.

For each kind: a handler as the registry builds it, its ISR called directly
N times a run, timed with the VM's own ``time.ticks_us`` (real time on
every VM; the simulated board's virtual clock plays no part; N makes a
baseline run last 100 ticks of that clock's resolution: 1 ms on the
WebAssembly port). The runs go round robin, REPS rounds, one run of each
ISR and of the baseline a round, no garbage collection during a run:
``ns`` is the fastest run (the one a shared host's load disturbed least;
each had as many chances as the baseline), ``ratio`` that over the
baseline's fastest. "Interrupt only" holds its rare deferred work back (a deferral
already pending), which is what the interrupt costs on a board. Also:
bytes allocated per call, and N calls under ``micropython.heap_lock()``
(any allocation would raise).

As on a board: what the ISR calls in C on a board is a C function here
too, so the figures weigh the interpreter's own work. The simulated
board's ``Pin.value``, ``PWM.duty_u16``, ``Timer.init`` and (on the
WebAssembly VM) its virtual clock are Python; each ISR gets a C stand-in
instead (``int`` for a pin write or a pin read of 0, an iterator's
``__next__`` for a pin read that alternates, a dict's ``update`` for
``Timer.init``'s keywords, ``time.ticks_us``/``ticks_ms``). The
baseline is a hand-written ISR that toggles a pin through the same
stand-in: the least any timer->pin callback can do. Each fire is on time
(its due time moved a long way ahead, its period, or a pattern's steps, 0:
the check runs, the late path does not); what a late fire adds is in
bench/isr_ops.py's counts.

Runs against any version of app/ (the ``before`` figures in the report
come from the code before issue #19): attributes a version lacks are
skipped.

The shared timer queue (app/board/timerqueue.py) is timed with 9 slots, one
due per interrupt and all 9 due, each slot a blink; it also re-arms its
timer (here the stand-in) once per interrupt.
"""
import gc
import json
from array import array
import micropython
import sys
import time
from time import ticks_add, ticks_diff, ticks_us
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
from app.board.board import Board, Pin, Timer  # noqa: E402
from app.registry import Registry  # noqa: E402
from app.board.timerqueue import TimerQueue  # noqa: E402

N = 2000  # at least; see calibrate()
REPS = 25  # 9 where the clock is coarse
ON_TIME = 0x1FFFFFFF  # app.kinds.handler.TICKS
QUEUE_PINS = [12, 13, 14, 15, 16, 17, 18, 19, 21]
# name -> (body, how the pin is read: None, 'low' or 'alternating')
BODIES = {
    'blink': {'kind': 'blink', 'pin': 2, 'period_ms': 1000},
    'pulse': {'kind': 'pulse', 'pin': 4, 'duration_ms': 1000},
    # 6 ticks of 1000 ms a round, 3 of them a step's end
    'pattern': {'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000, 3000],
                'repeat': 0},
    # every tick a step's end
    'pattern_steps': {'kind': 'pattern', 'pin': 12,
                      'steps_ms': [1000, 1000], 'repeat': 0},
    # a timer armed per step (its steps take too many ticks of their gcd)
    'pattern_per_step': {'kind': 'pattern', 'pin': 13,
                         'steps_ms': [1000, 99000], 'repeat': 0},
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': 1000, 'window': 32},
    'pwm': {'kind': 'pwm', 'pin': 14, 'duty': 0, 'fade_ms': 60000},
    'pwm_gamma': {'kind': 'pwm', 'pin': 15, 'duty': 0, 'fade_ms': 60000,
                  'curve': 'gamma'},
    'breathe': {'kind': 'breathe', 'pin': 16, 'period_ms': 4000},
    # without a debounce (a counter's default), an edge at every call
    'edge': {'kind': 'edge', 'pin': 35, 'debounce_ms': 0},
    # the edge kind's default debounce: every call an edge, 50 ms apart
    'edge_debounced': {'kind': 'edge', 'pin': 36, 'debounce_ms': 20},
    # a level that did not change (a bounce too fast to read)
    'edge_bounce': {'kind': 'edge', 'pin': 39, 'debounce_ms': 20},
}
TIMER_KWARGS = {'mode': 0, 'period': 0, 'callback': None, 'hard': None}


def once(fn, arg, fresh=None):
    """ns per call of one run of N calls (a garbage collection would land
    in whatever run is timed: none runs during one)."""
    if fresh:
        fresh()
    gc.collect()
    gc.disable()
    t0 = ticks_us()
    for _ in range(N):
        fn(arg)
    t = ticks_diff(ticks_us(), t0)
    gc.enable()
    return t * 1000 // N


def calibrate(toggle):
    """Set N and REPS for this VM's clock: the finest step ``ticks_us``
    takes, and a baseline run 100 of those long."""
    global N, REPS
    step = None
    t = ticks_us()
    seen = 0
    while seen < 20:
        u = ticks_us()
        if u != t:
            d = ticks_diff(u, t)
            step = d if step is None or d < step else step
            t = u
            seen += 1
    n, N = N, 1000
    per_call = max(1, once(toggle, None))  # ns
    N = max(n, 100 * step * 1000 // per_call)
    if step > 10:
        REPS = 9
    return step


def fastest(runs):
    """{name: ns per call, the fastest run} of ``runs``, a list of (name,
    fn, arg, fresh), run round robin."""
    best = {}
    for _ in range(REPS):
        for name, fn, arg, fresh in runs:
            ns = once(fn, arg, fresh)
            if name not in best or ns < best[name]:
                best[name] = ns
    return best


def allocated(fn, arg, fresh=None):
    if fresh:
        fresh()
    gc.collect()
    a0 = gc.mem_alloc()
    for _ in range(N):
        fn(arg)
    return (gc.mem_alloc() - a0) / N


def locked(fn, arg, fresh=None):
    if fresh:
        fresh()
    micropython.heap_lock()
    try:
        for _ in range(N):
            fn(arg)
    except Exception as e:
        micropython.heap_unlock()
        return repr(e)
    micropython.heap_unlock()
    return None


class Clock:
    """Board time for the queue: each reading is one ``step`` ms later, so
    every interrupt finds the slots of that period due (allocation-free)."""

    def __init__(self, step):
        self.now = 0
        self.step = step
        self.read = self._read  # pre-bound

    def _read(self):
        self.now = ticks_add(self.now, self.step)
        return self.now


class TimerStub:
    """The binding's timer, as an ISR that re-arms or stops it calls it:
    C functions (``init``: a dict's ``update`` for its keywords), each
    found by one table lookup, as a board's Timer methods are (in its
    type's table)."""

    def __init__(self):
        self.init = TIMER_KWARGS.update
        self.deinit = int


class PwmStub:
    """The PWM of the code before (it wrote ``h._pwm.duty_u16``)."""

    def deinit(self):
        pass


def as_on_a_board(h):
    """C stand-ins for what a board runs in C (see the docstring); returns
    a function that renews a stand-in that runs out, or None."""
    fresh = None
    per_ms = h.per_ms() if hasattr(h, 'per_ms') else getattr(h, '_per_ms',
                                                              1000)
    h._clock = time.ticks_us if per_ms == 1000 else time.ticks_ms
    if hasattr(h, '_late_after'):  # every fire on time: due far ahead
        h._period = 0
        if hasattr(h, '_spans'):  # a pattern's step ends
            h._spans = array('i', bytes(4 * len(h._spans)))
        h._late_after = (h._clock() + ON_TIME // 4) & ON_TIME
    if getattr(h, '_pin_value', None) is not None:
        if h.KIND == 'edge':
            def fresh():  # a level change at every call
                h._pin_value = iter(bytes((1 - h.level, h.level)) * N
                                    ).__next__
        else:
            h._pin_value = int
    if hasattr(h, '_duty'):
        h._duty = int
    elif hasattr(h, '_pwm'):
        h._pwm = PwmStub()
        h._pwm.duty_u16 = int
    if hasattr(h, '_timer_init'):  # the code that pre-bound it
        h._timer_init = TIMER_KWARGS.update
    else:
        h.timer = TimerStub()
    return fresh


def pattern_mode(h):
    """How a pattern is timed: 'ticks of N ms', or None (a timer armed
    per step; any other kind)."""
    if h.KIND != 'pattern':
        return None
    tick = getattr(h, '_tick_ms', None)
    if tick is None:
        tick = sys.modules['app.kinds.pattern'].tick_ms(h.params['steps_ms'])
    return 'ticks of %d ms' % tick if tick else None


def queue_isr(reg, due):
    """The shared queue's interrupt with 9 blink slots, ``due`` of them due
    at every interrupt."""
    clock = Clock(1)
    queue = TimerQueue(Timer(-1), clock.read, None)
    queue._init = TIMER_KWARGS.update
    handlers = []
    for i in range(9):
        h = reg.create({'id': 'q%d' % i, 'kind': 'blink', 'pin': QUEUE_PINS[i],
                        'period_ms': 1000, 'start': False})
        as_on_a_board(h)
        slot = queue.add()
        slot.init(mode=Timer.PERIODIC, period=1 if i < due else 1000000,
                  callback=h._isr)
        handlers.append(h)
    fn = queue.isr
    r = {'ns': fastest([('q', fn, None, None)])['q'],
         'bytes_per_call': allocated(fn, None),
         'heap_lock_error': locked(fn, None), 'due': due,
         'fires': sum(h.fires for h in handlers)}
    queue.timer.deinit()
    for h in handlers:
        h.timer = None  # the stand-in: not the pool's
        reg.delete(h.id)
    return r


def handler(reg, name, body):
    if name == 'pwm' or name == 'pwm_gamma':  # a fade: duty 0 -> 100
        h = reg.create(dict(body))
        h = reg.update(h.id, {'duty': 100})
    else:
        h = reg.create(dict(body))
    h.detach()  # the timer stays out: we call the ISR
    for module in ('app.kinds.inputs', 'app.kinds.pwm', 'app.kinds.breathe'):
        module = sys.modules.get(module)  # clocks they call by name
        if module is not None and hasattr(module, 'ticks_ms'):
            module.ticks_ms = time.ticks_ms
            if hasattr(module, 'ticks_us'):
                module.ticks_us = time.ticks_us
    if hasattr(h, 'edge_isr'):
        h._isr = h._edge  # its interrupt is the pin's
    return h


def main():
    out = {'n': N, 'reps': REPS, 'platform': sys.platform,
           'vm': '%s %s' % (sys.implementation.name, '.'.join(
               str(v) for v in sys.implementation.version[:3])),
           'bits': 32 if sys.maxsize < 1 << 32 else 64}
    state = [0]
    pin_value = int  # as a board's Pin.value: C

    def toggle(_t):  # the floor: toggle a pin, nothing else
        level = state[0] ^ 1
        state[0] = level
        pin_value(level)

    def nothing(_t):  # the loop and the call alone
        pass

    timer = Timer(-1)

    def no_callback(_t):
        pass

    def init(_):  # the simulated board's (Python) Timer.init
        timer.init(mode=Timer.ONE_SHOT, period=1000, callback=no_callback)
    out['clock_step_us'] = calibrate(toggle)
    out['n'], out['reps'] = N, REPS
    runs = [('bare', toggle, None, None), ('call', nothing, None, None),
            ('timer_init', init, None, None)]
    reg = Registry(Board('sim', 16), 16)
    handlers = {}
    for name, body in BODIES.items():
        try:
            h = handler(reg, name, body)
        except Exception as e:  # a kind the code measured does not have
            out[name] = {'error': repr(e)}
            continue
        mode = pattern_mode(h)
        fresh = as_on_a_board(h)
        if name == 'edge_bounce':
            fresh = None
            h._pin_value = int  # reads 0, as the level it keeps
            h.level = 0
        elif name == 'edge_debounced':
            # ticks_us 50 ms apart, kept to 29 bits as the ISR's
            # differences are (a value from 2**30 up is no small int)
            clock = array('i', [i * 50000 & ON_TIME for i in range(N + 2)])

            def fresh(h=h, fresh=fresh, clock=clock):  # 50 ms apart
                fresh()
                h._last_us = -1
                sys.modules['app.kinds.inputs'].ticks_us = iter(
                    clock).__next__
        # the interrupt alone: a deferral already pending, defer() is not
        # called (on a board the deferred work runs later)
        h._pending = 1
        handlers[name] = (h, fresh, mode)
        runs.append((name, h._isr, None, fresh))
    best = fastest(runs)
    for name, (h, fresh, mode) in handlers.items():
        isr = h._isr
        r = {'ns_irq_only': best[name],
             'ratio': round(best[name] / best['bare'], 3),
             'bytes_per_call': allocated(isr, None, fresh),
             'heap_lock_error': locked(isr, None, fresh),
             'fires': h.fires,
             'fault': None if getattr(h, '_fault', None) is None
             else repr(h._fault),
             'mode': mode}
        h._pending = 0
        if isinstance(h.timer, TimerStub):
            h.timer = None  # not the pool's
        if name == 'edge_debounced':
            presses = h.presses  # every call an accepted edge
            r['presses'] = presses() if callable(presses) else presses
        reg.delete(h.id)
        out[name] = r
    timer.deinit()
    out['bare'] = {'ns': best['bare'], 'bytes_per_call': allocated(toggle, None),
                   'heap_lock_error': locked(toggle, None)}
    out['call'] = {'ns': best['call']}
    out['timer_init'] = {'ns': best['timer_init'],
                         'bytes_per_call': allocated(init, None),
                         'heap_lock_error': locked(init, None)}
    out['queue_1_due'] = queue_isr(reg, 1)
    out['queue_9_due'] = queue_isr(reg, 9)
    print('BENCH ' + json.dumps(out))


if __name__ == '__main__':
    main()
