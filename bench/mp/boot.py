"""Heap after boot + create_app, as small a script as can be: a benchmark
script's own names go into the VM's name table too, and enough of them
would push it past a doubling (7 KB) that the app alone stays below.
Prints the table's line (``micropython.qstr_info``) and one
``BENCH {json}`` line.

    micropython boot.py     (cwd: a flash dir with config.json)
"""
import gc
import sys
sys.path.append('lib')
sys.path.append('.')
gc.collect()
base = gc.mem_alloc()
from app.main import boot  # noqa: E402
from app.api import create_app  # noqa: E402
registry, store = boot('config.json')
app = create_app(registry, store)
gc.threshold(-1)  # as app.main.serve does once booted
gc.collect()
gc.collect()
import micropython  # noqa: E402
micropython.qstr_info()
print('BENCH {"base": %d, "boot": %d}' % (base, gc.mem_alloc()))
