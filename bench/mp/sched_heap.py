"""Heap per schedule event: 64 events created in app.time.schedules (the store
and config.json's spec list both kept, as on a board), the heap measured
before and after with the garbage collected. Prints ``BENCH {json}``.
Runs on the unix port and on the 32-bit WebAssembly port."""
import gc
import json
import sys
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
from app import schema
from app.board.board import Board
from app.registry import Registry
from app.time.schedules import make

N = 64


class Store:
    """config.json without a file: saving is not what is measured."""

    def __init__(self):
        self.data = schema.defaults()

    def save(self, bindings):
        pass


def main():
    store = Store()
    reg = Registry(Board('sim', 8), 16)
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500,
                'start': False})
    sched = make(reg, store)
    sched.tick(sched.clock.now())
    bodies = [{'binding': 'led', 'do': ('start', 'stop')[i % 2],
               'at': '%02d:%02d' % (i // 4, i % 4 * 15),
               'days': ['mon', 'wed', 'fri']} for i in range(N)]
    gc.collect()
    before = gc.mem_alloc()
    for body in bodies:
        sched.create(body)
    sched.tick(sched.clock.now())  # every event planned
    bodies = None
    gc.collect()
    after = gc.mem_alloc()
    text = json.dumps(store.data['schedules'])
    print('BENCH ' + json.dumps({
        'events': N, 'heap_per_event_bytes': (after - before) // N,
        'config_bytes_per_event': len(text) // N,
        'word_bits': 32 if sys.maxsize < 2 ** 32 else 64}))


main()
