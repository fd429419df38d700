"""The heap under any Microdot app on this VM; prints one ``BENCH {json}``
line. Nearly empty on purpose: the VM compiles a script into the heap.

- ``vm``: ``gc.mem_alloc()`` at start (the VM alone, this script's few
  hundred bytes of bytecode included);
- ``asyncio``, ``microdot``: the heap after ``import asyncio``, then after
  ``import microdot`` (the image's lib/, on MICROPYPATH).

Totals, not differences: the string table grows in blocks, so a module's
share shifts by a KB or so with what loaded before it.
"""
import gc


def heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def main():
    out = {'vm': heap()}
    for name in ('asyncio', 'microdot'):
        __import__(name)
        out[name] = heap()
    import json
    print('BENCH ' + json.dumps(out))


main()
