"""Heap per binding of every kind, inside the VM; prints one ``BENCH
{json}`` line (see bench/kinds.py). As bench/mp/memory.py does for blink,
pulse, pattern and sample: N bindings created and started, gc, delta / N,
three times on a fresh registry and board, deleted after each time, with
and without rules, and each kind's budget (issue 18, on a 32-bit board:
512 B for blink, pulse, pattern and sample, 1 KB for the others).
``with_timer``: the first time, when the pool's timer objects (and what
else a first set of bindings leaves for reuse) are made with them;
``binding``: the third time, when all that exists already (a sample
with rules holds 38 B a binding more in its second set than from the
third on, 76 on 64-bit; from the third on every figure repeats). The
code is loaded before anything is measured (a binding of every body
created and deleted: the kinds' modules, app.kinds.rules, and
app.validate, which boot drops), so no figure holds a module's share.
On the unix port each binding's Pin and timer is a Python object of the
simulated board's (on a board they are the firmware's)."""
import gc
import json
import sys
sys.path.append('lib')
sys.path.append('.')

N = 8
RULE = [{'when': 'press', 'do': 'toggle', 'binding': 'target'}]
SMALL = ('blink', 'pulse', 'pattern', 'sample')  # 512 B; the others 1 KB
BODIES = {
    'blink': {'kind': 'blink', 'period_ms': 500},
    'pulse': {'kind': 'pulse', 'duration_ms': 200},
    'pattern': {'kind': 'pattern', 'steps_ms': [100, 100, 100, 300, 300, 300]},
    # its timer armed per step: [1, 999] takes too many ticks of 1 ms
    'pattern (per step)': {'kind': 'pattern', 'steps_ms': [1, 999, 1, 999]},
    'sample': {'kind': 'sample', 'period_ms': 20, 'window': 32},
    'sample+rule': {'kind': 'sample', 'period_ms': 20, 'window': 32,
                    'on': RULE},
    'pwm': {'kind': 'pwm', 'duty': 50},
    'breathe': {'kind': 'breathe', 'period_ms': 2000},
    'edge': {'kind': 'edge', 'pull': 'up', 'edge': 'falling'},
    'edge+rule': {'kind': 'edge', 'pull': 'up', 'edge': 'falling',
                  'on': RULE},
    'counter': {'kind': 'counter'},
    'counter+rule': {'kind': 'counter', 'on': RULE},
    'switch': {'kind': 'switch'},
}
OUT_PINS = [12, 13, 14, 15, 16, 17, 18, 19]
IN_PINS = [32, 33, 25, 26, 27, 21, 22, 23]
INPUTS = ('sample', 'edge', 'counter')


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def main():
    # as bench/mp/memory.py measures: after boot and create_app (cwd: a
    # flash dir), so the figures compare with its per_binding
    from app.main import boot
    from app.main import build_app
    registry, store = boot('config.json')
    app = build_app(registry, store)
    gc.threshold(-1)
    from app.board.board import Board
    from app.registry import Registry
    warm = Registry(Board('sim', N + 1), N + 1)
    warm.create({'id': 'target', 'kind': 'blink', 'pin': 2,
                 'period_ms': 500, 'start': False})
    for body in BODIES.values():
        b = dict(body)
        b['id'] = 'warm'
        b['pin'] = (IN_PINS if body['kind'] in INPUTS else OUT_PINS)[0]
        warm.create(b)
        warm.delete('warm')
    del warm, b
    out = {}
    for name, body in BODIES.items():
        # as bench/mp/memory.py: a board of N (virtual) timers and a
        # registry of N bindings, one more of each for a rule's target (a
        # step more in their tables: about 20 B a binding here)
        n = N + 1 if 'on' in body else N
        reg = Registry(Board('sim', n), n)
        if 'on' in body:
            reg.create({'id': 'target', 'kind': 'blink', 'pin': 2,
                        'period_ms': 500, 'start': False})
        pins = IN_PINS if body['kind'] in INPUTS else OUT_PINS
        row = []
        for rep in range(3):
            before = heap()
            for i in range(N):
                b = dict(body)
                b['id'] = 'k%d' % i
                b['pin'] = pins[i]
                reg.create(b)
            row.append((heap() - before) // N)
            for h in list(reg.bindings):
                if h.id != 'target':
                    reg.delete(h.id)
            for t in reg.board._timers:
                if t is not None:
                    t._cb = None  # let go of deleted handlers (memory.py)
        out[name] = {'with_timer': row[0], 'binding': row[2],
                     'budget': 512 if body['kind'] in SMALL else 1024}
    print('BENCH ' + json.dumps({'per_binding': out}))
    del app


main()
