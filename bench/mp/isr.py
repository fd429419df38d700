"""ISR cost per kind, measured inside the VM; prints one ``BENCH {json}``.

For each kind: a handler as the registry builds it, its timer stopped, and
its ISR called directly N times: time per call (median of REPS runs; with
and without its deferred work, which the unix port runs at once), heap
bytes per call (``gc.mem_alloc()`` around N calls, no collection between),
and N calls under ``micropython.heap_lock()`` (any allocation would raise).
The baseline is a hand-written ISR that toggles a pin with a pre-bound
method: the least any timer->pin callback can do.
"""
import gc
import json
import micropython
import sys
from time import ticks_diff, ticks_us
sys.path.append('lib')
sys.path.append('.')
from app.board import Board, Pin  # noqa: E402
from app.registry import Registry  # noqa: E402

N = 20000
REPS = 5
BODIES = {
    'blink': {'kind': 'blink', 'pin': 2, 'period_ms': 1000},
    'pulse': {'kind': 'pulse', 'pin': 4, 'duration_ms': 1000},
    'pattern': {'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000, 3000],
                'repeat': 0},
    'sample': {'kind': 'sample', 'pin': 34, 'period_ms': 1000, 'window': 32},
}


def timed(fn, arg):
    best = []
    for _ in range(REPS):
        t0 = ticks_us()
        for _ in range(N):
            fn(arg)
        best.append(ticks_diff(ticks_us(), t0))
    best.sort()
    return best[REPS // 2] * 1000 // N  # ns per call, median run


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


def measure(fn, arg):
    return {'ns': timed(fn, arg), 'bytes_per_call': allocated(fn, arg),
            'heap_lock_error': locked(fn, arg)}


def main():
    out = {'n': N, 'reps': REPS}
    pin = Pin(13, Pin.OUT, value=0)
    state = [0]
    pin_value = pin.value

    def bare_isr(_t):  # the floor: toggle a pin, nothing else
        level = state[0] ^ 1
        state[0] = level
        pin_value(level)

    out['bare'] = measure(bare_isr, None)
    reg = Registry(Board('sim'))
    for kind, body in BODIES.items():
        h = reg.create(dict(body))
        h._timer_deinit()  # we call the ISR ourselves
        r = measure(h._isr, h.timer)
        # the interrupt alone: with a deferral already pending, defer() only
        # counts (what a board's IRQ costs; the deferred work runs later)
        h._pending = 1
        r['ns_irq_only'] = timed(h._isr, h.timer)
        h._pending = 0
        h._timer_deinit()  # pattern re-arms its one-shot timer
        r['fires'] = h.fires
        r['fault'] = None if h._fault is None else repr(h._fault)
        r['drops'] = h.drops
        out[kind] = r
    print('BENCH ' + json.dumps(out))


main()
