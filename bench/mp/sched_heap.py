"""Heap per schedule event as a board keeps it; prints ``BENCH {json}``.

The config's events are kept once, as the schedules' compact lists
(``app.time.schedules``): store.data keeps an empty list, and an event's
dict is made again only for a save or GET /api/config, then dropped. So
what an event costs is its list and what it alone refers to, plus its
slot in the schedules' list, measured two ways, each with N events:

- ``created``: one by one, each body parsed from its JSON text as a
  request's is (POST /api/schedules: ``Schedules.create``);
- ``from_config``: a config's events as config.json holds them, parsed
  into store.data and taken by the schedules (a boot, or PUT
  /api/config), which keep their lists and drop the dicts.

Per event: (the heap with the N events - the heap with none) // N, each
read after a full collection, with everything the two ways load or make
once (app.time.checks, the clock, the shared lists of weekdays) made by
a warm-up before the first reading, and nothing else alive in one
reading that is not in the other. The events are the board's kind: ids
it gave ("ev-N", kept as a small int), the binding's id shared with the
binding, times of day on three weekdays, the clock synced (each event
planned). ``config_bytes_per_event``: the JSON config.json holds for
one. Run from the image's directory (bench/boot_pins.py), on the unix
port, 64- or 32-bit."""
import gc
import json
import sys
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
from app import schema
from app.board.board import Board
from app.registry import Registry
from app.time.schedules import make

N = 64  # the default limits.schedules
TUESDAY_20H = 1796760000  # 2026-12-08 20:00 UTC


class Store:
    """config.json without a file: saving is not what is measured."""

    def __init__(self):
        self.data = schema.defaults()

    def save(self, bindings):
        pass


def body_text(i):
    return json.dumps({'binding': 'led', 'do': ('start', 'stop')[i % 2],
                       'at': '%02d:%02d' % (i // 4, i % 4 * 15),
                       'days': ['mon', 'wed', 'fri']})


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def setup():
    store = Store()
    reg = Registry(Board('sim', 8), 16)
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500,
                'start': False})
    sched = make(reg, store)
    # synced, on a Tuesday at 20:00 UTC: no event is due (none fires, which
    # would make the event log's ring) and each has a next time to plan
    sched.clock.set(TUESDAY_20H)
    sched.tick(sched.clock.now())
    # warm-up: what the first event loads or makes, then none left
    sched.create(json.loads(body_text(0)))
    sched.delete(sched.list()[0][0])
    sched.tick(sched.clock.now())
    return store, sched


def created():
    store, sched = setup()
    before = heap()
    for i in range(N):
        sched.create(json.loads(body_text(i)))
    sched.tick(sched.clock.now())
    after = heap()
    assert len(sched.list()) == N
    assert all(ev[9] is not None and ev[7] is None for ev in sched.events)
    text = json.dumps(sched.specs())
    return (after - before) // N, len(text) // N


def from_config():
    store, sched = setup()
    for i in range(N):  # the config's text, as config.json holds it
        sched.create(json.loads(body_text(i)))
    text = json.dumps(sched.specs())
    sched.events = []  # none: as before a boot
    sched.tick(sched.clock.now())
    before = heap()
    store.data['schedules'] = json.loads(text)
    sched.tick(sched.clock.now())  # taken, the dicts dropped, planned
    after = heap()
    assert len(sched.list()) == N and store.data['schedules'] == []
    assert all(ev[9] is not None and ev[7] is None for ev in sched.events)
    return (after - before) // N


def main():
    per_event, config_bytes = created()
    print('BENCH ' + json.dumps({
        'events': N,
        'heap_per_event_bytes': per_event,
        'heap_per_event_from_config_bytes': from_config(),
        'config_bytes_per_event': config_bytes,
        'word_bits': 32 if sys.maxsize < 2 ** 32 else 64}))


main()
