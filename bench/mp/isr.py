"""Interrupt cost per kind, measured inside the VM (either VM); prints one
``BENCH {json}`` line.

For each kind: a handler as the registry builds it, its ISR called directly
N times, timed with the VM's own ``time.ticks_us`` (real time on both VMs;
the simulated board's virtual clock plays no part): ns per call, median of
REPS runs. "Interrupt only" holds its rare deferred work back (a deferral
already pending, so ``defer()`` only counts), which is what the interrupt
costs on a board. Also: bytes allocated per call, and N calls under
``micropython.heap_lock()`` (any allocation would raise).

The baseline is a hand-written ISR that toggles a pin through a pre-bound
method: the least any timer->pin callback can do. A pattern re-arms its
timer every step, a Python ``Timer.init`` on the simulated board (C on a
board): ``timer_init`` is that call alone, so it can be taken out. The
shared timer queue (app/board/timerqueue.py) is timed with 9 slots, one due per
interrupt and all 9 due, each slot a blink; it also re-arms its timer
(``Timer.init``) once per interrupt.
"""
import gc
import json
import micropython
import sys
from time import ticks_add, ticks_diff, ticks_us
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
from app.board.board import Board, Pin, Timer  # noqa: E402
from app.registry import Registry  # noqa: E402
from app.board.timerqueue import TimerQueue  # noqa: E402

N = 20000
REPS = 5
QUEUE_PINS = [12, 13, 14, 15, 16, 17, 18, 19, 21]
BODIES = {
    'blink': {'kind': 'blink', 'pin': 2, 'period_ms': 1000},
    'pulse': {'kind': 'pulse', 'pin': 4, 'duration_ms': 1000},
    'pattern': {'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000, 3000],
                'repeat': 0},
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': 1000, 'window': 32},
}


def timed(fn, arg):
    runs = []
    for _ in range(REPS):
        t0 = ticks_us()
        for _ in range(N):
            fn(arg)
        runs.append(ticks_diff(ticks_us(), t0))
    runs.sort()
    return runs[REPS // 2] * 1000 // N  # ns per call, median run


def allocated(fn, arg):
    gc.collect()
    a0 = gc.mem_alloc()
    for _ in range(N):
        fn(arg)
    return (gc.mem_alloc() - a0) / N


def locked(fn, arg):
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


def queue_isr(reg, due):
    """The shared queue's interrupt with 9 blink slots, ``due`` of them due
    at every interrupt."""
    clock = Clock(1)
    queue = TimerQueue(Timer(-1), clock.read, None)
    handlers = []
    for i in range(9):
        h = reg.create({'id': 'q%d' % i, 'kind': 'blink', 'pin': QUEUE_PINS[i],
                        'period_ms': 1000, 'start': False})
        slot = queue.add()
        slot.init(mode=Timer.PERIODIC, period=1 if i < due else 1000000,
                  callback=h._isr)
        handlers.append(h)
    fn = queue.isr
    r = {'ns': timed(fn, None), 'bytes_per_call': allocated(fn, None),
         'heap_lock_error': locked(fn, None), 'due': due,
         'fires': sum(h.fires for h in handlers)}
    queue.timer.deinit()
    for h in handlers:
        reg.delete(h.id)
    return r


def main():
    out = {'n': N, 'reps': REPS, 'platform': sys.platform}
    pin = Pin(13, Pin.OUT, value=0)
    state = [0]
    pin_value = pin.value

    def bare_isr(_t):  # the floor: toggle a pin, nothing else
        level = state[0] ^ 1
        state[0] = level
        pin_value(level)

    out['bare'] = {'ns': timed(bare_isr, None),
                   'bytes_per_call': allocated(bare_isr, None),
                   'heap_lock_error': locked(bare_isr, None)}
    timer = Timer(-1)

    def no_callback(_t):
        pass

    def init(_):
        timer.init(mode=Timer.ONE_SHOT, period=1000, callback=no_callback)
    out['timer_init'] = {'ns': timed(init, None),
                         'bytes_per_call': allocated(init, None),
                         'heap_lock_error': locked(init, None)}
    timer.deinit()
    reg = Registry(Board('sim', 16), 16)
    for kind, body in BODIES.items():
        h = reg.create(dict(body))
        if kind != 'pattern':  # pattern re-arms its (long) one-shot timer
            h.detach()  # the others' timers stay out: we call the ISR
        r = {'ns': timed(h._isr, None)}
        # the interrupt alone: with a deferral already pending, defer()
        # only counts (on a board the deferred work runs later)
        h._pending = 1
        r['ns_irq_only'] = timed(h._isr, None)
        r['bytes_per_call'] = allocated(h._isr, None)
        r['heap_lock_error'] = locked(h._isr, None)
        h._pending = 0
        r['fires'] = h.fires
        r['fault'] = None if h._fault is None else repr(h._fault)
        reg.delete(h.id)
        out[kind] = r
    out['queue_1_due'] = queue_isr(reg, 1)
    out['queue_9_due'] = queue_isr(reg, 9)
    print('BENCH ' + json.dumps(out))


main()
