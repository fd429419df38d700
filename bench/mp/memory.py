"""Heap figures measured inside the VM; prints one ``BENCH {json}`` line.

    micropython memory.py                (cwd: a flash dir with config.json)
    micropython memory.py imports MODULE...
    micropython memory.py romfs IMAGE   (app/ and lib/ from a ROMFS image)

- ``modules``: the modules loaded after ``boot()`` + ``create_app()`` with
  that config (the heap after boot comes from boot.py: this script's own
  names would push the VM's name table past a doubling);
- ``imports`` (second form, a fresh VM): heap each module adds when imported
  in the given order (dependencies count where they are first imported);
- ``per_binding``: heap per binding of each kind (N created, gc, delta / N),
  the first time (the pool creates its timer objects) and again (timers
  exist: the binding's own cost);
- ``churn``: heap after 2,000 create/delete cycles vs after the first 100.

With ``romfs`` the modules load from a ROMFS image (``mpremote romfs
build``), as from a board's ROMFS partition: bytecode runs in place instead
of being copied to the heap. The unix port has no ROM, so the image sits in
one heap buffer; ``boot_without_image`` subtracts it.
"""
import gc
import json
import sys
sys.path.append('lib')
sys.path.append('.')

N = 8
BODIES = {
    'blink': {'kind': 'blink', 'period_ms': 500},
    'pulse': {'kind': 'pulse', 'duration_ms': 200, 'start': False},
    'pattern': {'kind': 'pattern', 'steps_ms': [100, 100, 100, 300, 300, 300]},
    'sample': {'kind': 'sample', 'period_ms': 20, 'window': 32},
}
OUT_PINS = [12, 13, 14, 15, 16, 17, 18, 19]
IN_PINS = [32, 33, 34, 35, 36, 39, 25, 26]


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def imports(names):
    out = []
    last = heap()
    for name in names:
        __import__(name)
        now = heap()
        out.append([name, now - last])
        last = now
    return out


def per_binding(Registry, Board):
    """Bytes per binding: ``with_timer`` the first time (the pool creates
    its timer objects), ``binding`` once the timers exist."""
    out = {}
    for kind, body in BODIES.items():
        reg = Registry(Board('sim', N), N)
        pins = IN_PINS if kind == 'sample' else OUT_PINS
        row = []
        for _ in range(2):
            before = heap()
            for i in range(N):
                b = dict(body)
                b['id'] = '%s%d' % (kind, i)
                b['pin'] = pins[i]
                reg.create(b)
            row.append((heap() - before) // N)
            for h in list(reg.bindings):
                reg.delete(h.id)
            for t in reg.board._timers:
                # a stopped sim timer keeps its last callback: drop it, or
                # the deleted handlers stay alive and hide the next round
                if t is not None:
                    t._cb = None
        out[kind] = {'with_timer': row[0], 'binding': row[1]}
    return out


def churn(Registry, Board, cycles=2000, warmup=100):
    reg = Registry(Board('sim', 8), 8)
    body = {'id': 'churn', 'kind': 'blink', 'pin': 13, 'period_ms': 100}
    start = 0
    for i in range(cycles):
        if i == warmup:
            start = heap()
        reg.create(body)
        reg.delete('churn')
    end = heap()
    return {'cycles': cycles, 'warmup': warmup, 'after_warmup': start,
            'after_all': end, 'growth': end - start}


def mount_romfs(path):
    import vfs
    with open(path, 'rb') as f:
        image = f.read()
    vfs.mount(vfs.VfsRom(image), '/rom')
    sys.path.insert(0, '/rom/lib')
    sys.path.insert(0, '/rom')
    return len(image)


def main():
    result = {'base': heap()}
    if sys.argv[1:2] == ['romfs']:
        size = mount_romfs(sys.argv[2])
        result['image_bytes'] = size
        with_image = heap()
        from app.main import boot
        from app.api import create_app
        registry, store = boot('config.json')
        app = create_app(registry, store)
        result['boot'] = heap()
        result['boot_without_image'] = result['boot'] - (with_image -
                                                         result['base'])
        print('BENCH ' + json.dumps(result))
        return
    if sys.argv[1:2] == ['imports']:
        result['imports'] = imports(sys.argv[2:])
        print('BENCH ' + json.dumps(result))
        return
    from app.main import boot
    from app.api import create_app
    registry, store = boot('config.json')
    app = create_app(registry, store)
    gc.threshold(-1)  # as app.main.serve does once booted
    result['modules'] = sorted(k for k in sys.modules)
    result['boot_bindings'] = len(registry.bindings)
    result['safe_mode'] = store.safe_mode
    from app.board import Board
    from app.registry import Registry
    result['per_binding'] = per_binding(Registry, Board)
    result['churn'] = churn(Registry, Board)
    print('BENCH ' + json.dumps(result))
    del app


main()
