"""Heap figures measured inside the VM, the same steps on both VMs; prints
one ``BENCH {json}`` line.

    micropython memory.py        (cwd: a flash dir with config.json)

Each step does its work and the next one reads the heap, after a full
collection: on the unix port the script runs every step itself
(``gc.collect()`` collects); on the WebAssembly port a collection only
happens between top-level calls from JavaScript (ports/webassembly/main.c:
``gc.collect()`` inside a call just asks for one), so bench/run.py calls
``step()`` once per step (tests/vm.py ``run_micropython32(then=...)``);
extra calls do nothing. Figures, in bytes:

- ``vm``: the heap of the VM and this script; ``imports``: what each
  module a default-config boot loads adds when imported in this order
  (its dependencies count where they are first imported); ``sim``: the
  simulated board's share of that (``app.sim`` and its routes: the unix
  port's stand-in for ``machine``, never on a board);
- ``boot``: boot() + build_app() with the flash dir's config, as
  app.main does: modules and objects; ``boot_objects``: the objects
  alone; ``served``: after a few requests through in-memory streams
  (tests/mp/fakes.py);
- ``per_binding``: heap per binding of each kind (N created, the delta
  over N), the first time (the pool makes its timer objects) and again;
- ``churn``: live heap growth over 2,000 create/delete cycles.
"""
import gc
import json
import sys

N = 8
# What boot() + build_app() import with the default config, dependencies
# first (tests/test_bench.py checks the list against a real boot)
IMPORTS = ['asyncio', 'json', 'app.sim', 'app.errors',
           'app.board.board', 'app.board.bootpins', 'app.kinds',
           'app.kinds.handler', 'app.kinds.blink', 'app.strictjson',
           'app.validate', 'app.registry', 'app.schema', 'app.config',
           'app.time', 'app.http.server', 'app.http.auth',
           'app.http.api', 'app.main', 'app.sim.routes']
SIM = ('app.sim', 'app.sim.routes')
BODIES = {
    'blink': {'kind': 'blink', 'period_ms': 500},
    'pulse': {'kind': 'pulse', 'duration_ms': 200, 'start': False},
    'pattern': {'kind': 'pattern', 'steps_ms': [100, 100, 100, 300, 300, 300]},
    'sample': {'kind': 'sample', 'period_ms': 20, 'window': 32},
}
OUT_PINS = [12, 13, 14, 15, 16, 17, 18, 19]
IN_PINS = [32, 33, 34, 35, 36, 39, 25, 26]
SEQUENCE = [  # (method, path, body, expected status)
    ('GET', '/api/status', None, 200),
    ('GET', '/api/bindings', None, 200),
    ('POST', '/api/bindings', {'id': 'seq', 'kind': 'blink', 'pin': 13,
                               'period_ms': 50}, 201),
    ('PATCH', '/api/bindings/seq', {'period_ms': 20}, 200),
    ('GET', '/api/board', None, 200),
    ('DELETE', '/api/bindings/seq', None, 204),
    ('GET', '/api/bindings', None, 200),
]

out = {'platform': sys.platform, 'imports': [], 'per_binding': {}}
kept = {}  # what must stay alive between steps
readings = []  # the heap at the start of each step


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def importer(name):
    def run():
        try:
            __import__(name)
        except ImportError:
            return None
        if name == 'app.sim':  # the board's machine, as app.main makes it
            sys.modules[name].install()
        return name
    return run


def boot():
    from app.main import boot, build_app
    registry, store = boot('config.json')
    kept['app'] = build_app(registry, store)
    kept['registry'] = registry
    out['modules'] = sorted(k for k in sys.modules if k.startswith('app'))
    out['boot_bindings'] = len(registry.bindings)
    out['safe_mode'] = store.safe_mode
    gc.threshold(-1)  # as app.main.serve does once booted


def serve():
    import fakes
    got = [fakes.request(kept['app'], m, p, b)[0] for m, p, b, _ in SEQUENCE]
    out['served_statuses_ok'] = got == [s for _, _, _, s in SEQUENCE]


def bindings(kind, pins):
    def registry():
        from app.board.board import Board
        from app.registry import Registry
        kept[kind] = Registry(Board('sim', N), N)

    def create():
        reg = kept[kind]
        for i in range(N):
            b = dict(BODIES[kind])
            b['id'] = '%s%d' % (kind, i)
            b['pin'] = pins[i]
            reg.create(b)

    def delete():
        reg = kept[kind]
        for h in list(reg.bindings):
            reg.delete(h.id)
    return registry, create, delete


def churn():
    from app.board.board import Board
    from app.registry import Registry
    reg = kept['churn'] = Registry(Board('sim', 8), 8)
    body = {'id': 'churn', 'kind': 'blink', 'pin': 13, 'period_ms': 100}
    for _ in range(100):  # warm-up: the first cycles make what stays
        reg.create(body)
        reg.delete('churn')


def churn_more():
    reg = kept['churn']
    body = {'id': 'churn', 'kind': 'blink', 'pin': 13, 'period_ms': 100}
    for _ in range(2000):
        reg.create(body)
        reg.delete('churn')


def nothing():
    pass


# (label, work): a step's figure is the heap after its work minus before it
STEPS = [('vm', nothing)]
STEPS += [(name, importer(name)) for name in IMPORTS]
STEPS += [('boot', boot), ('served', serve)]
for _kind in BODIES:
    _registry, _create, _delete = bindings(
        _kind, IN_PINS if _kind == 'sample' else OUT_PINS)
    STEPS += [(_kind + ' registry', _registry), (_kind + ' with_timer', _create), (_kind + ' deleted', _delete),
              (_kind + ' binding', _create), (_kind + ' deleted again',
                                              _delete)]
STEPS += [('churn warm-up', churn), ('churn', churn_more)]
# a board with a network syncs its clock by NTP (app.time.Time starts the
# task; the simulated board's clock needs none): what "everything on" adds
# on a board beyond the unix port's figure
STEPS += [('ntp', importer('app.time.ntp'))]


def report():
    base = readings[0]
    out['vm'] = base
    heaps = {}
    for i, (label, _) in enumerate(STEPS):
        heaps[label] = readings[i + 1] - readings[i]
    for name in IMPORTS:
        if name in sys.modules:
            out['imports'].append([name, heaps[name]])
    out['sim'] = sum(heaps[name] for name in SIM)
    at = [label for label, _ in STEPS].index('boot')
    # boot drops the checkers it imported (app.main.BOOT_ONLY): its delta
    # is the objects it made less that code, which is added back here
    out['boot_dropped'] = sum(heaps[name] for name in IMPORTS
                              if name not in out['modules']
                              and name.startswith('app'))
    out['boot_objects'] = heaps['boot'] + out['boot_dropped']
    out['boot'] = readings[at + 1] - base  # modules and objects
    out['served'] = readings[at + 2] - base
    for kind in BODIES:
        out['per_binding'][kind] = {
            'with_timer': heaps[kind + ' with_timer'] // N,
            'binding': heaps[kind + ' binding'] // N}
    out['churn'] = {'cycles': 2000, 'growth': heaps['churn']}
    out['ntp'] = heaps['ntp']
    print('BENCH ' + json.dumps(out))


def step():
    """Read the heap, then do the next step's work (the last call reports).
    Returns False once everything is done."""
    i = len(readings)
    if i > len(STEPS):
        return False
    readings.append(heap())
    if i == len(STEPS):
        report()
        return False
    STEPS[i][1]()
    gc.collect()  # on the WebAssembly port: when this call returns
    return True


if sys.platform != 'webassembly':
    while step():
        pass
