"""Heap after ``boot()`` + ``build_app()`` as ``app.main`` runs them, with
the flash dir's config.json; prints one ``BENCH {json}`` line.

    micropython boot_heap.py        (cwd: a flash dir)

bench/run.py runs it twice on one flash dir: the first boot after a deploy
checks config.json in full (``app.startup``); it leaves pins.json saying
which image and board checked it, so the second boot, like every later one
of a board whose config it saved itself, builds the bindings without the
checks (docs/internals.md, Boot). As on a board, the event log holds the
Wi-Fi line. The figure includes the simulated board
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
# a board joins Wi-Fi at boot and notes it (app.board.net): the event log's
# ring is made by its first note; the unix port has no Wi-Fi to join
from app import log  # noqa: E402
gc.collect()
before = gc.mem_alloc()
log.note('wifi: joined "bench", IP 10.0.0.2')
gc.collect()
gc.collect()
print('BENCH ' + json.dumps({
    'boot': gc.mem_alloc() - base, 'bindings': len(registry.bindings),
    'ring': gc.mem_alloc() - before,  # the log's ring, made by that note
    'safe_mode': store.safe_mode,
    'modules': sorted(k for k in sys.modules if k.startswith('app'))}))
