"""Heap after ``boot()`` + ``build_app()`` as ``app.main`` runs them, with
the flash dir's config.json; prints one ``BENCH {json}`` line.

    micropython boot_heap.py        (cwd: a flash dir)

bench/run.py runs it twice on one flash dir: the first boot after a deploy
checks config.json in full (``app.startup``); it leaves pins.json saying
which image and board checked it, so the second boot, like every later one
of a board whose config it saved itself, builds the bindings without the
checks (docs/internals.md, Boot). The figure includes the simulated board
(``app.sim``: the unix port's ``machine``), which bench/mp/memory.py
measures on its own (``sim``).
"""
import gc
import json
import sys

gc.collect()
base = gc.mem_alloc()
from app.main import boot, build_app  # noqa: E402  (installs the simulator)

registry, store = boot('config.json')
app = build_app(registry, store)
gc.collect()
gc.collect()
print('BENCH ' + json.dumps({
    'boot': gc.mem_alloc() - base, 'bindings': len(registry.bindings),
    'safe_mode': store.safe_mode,
    'modules': sorted(k for k in sys.modules if k.startswith('app'))}))
