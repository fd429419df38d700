"""Heap per binding of the kinds of issue 14, inside the VM; prints one
``BENCH {json}`` line (see bench/kinds.py). As bench/mp/memory.py does for
the first four: N bindings created, gc, delta / N, twice (the second time
timers made by the first exist), with and without rules."""
import gc
import json
import sys
sys.path.append('lib')
sys.path.append('.')

N = 8
RULE = [{'when': 'press', 'do': 'toggle', 'binding': 'target'}]
BODIES = {
    'blink (reference)': {'kind': 'blink', 'period_ms': 500},
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
    out = {}
    for kind, body in BODIES.items():
        reg = Registry(Board('sim', N), N + 1)
        reg.create({'id': 'target', 'kind': 'blink', 'pin': 2,
                    'period_ms': 500, 'start': False})
        pins = IN_PINS if body['kind'] in ('edge', 'counter') else OUT_PINS
        row = []
        for _ in range(2):
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
        out[kind] = {'with_timer': row[0], 'binding': row[1]}
    print('BENCH ' + json.dumps({'per_binding': out}))
    del app


main()
