"""pinwheel: timers bound to pins, served as a REST API (see README.md)."""
import gc
import sys


def forget(name):
    """Drop the submodule ``app.<name>`` so the GC can take its code (on
    most ports bytecode lives in the heap). For code only boot or a rare
    request runs; nothing of it may still be referenced."""
    sys.modules.pop('app.' + name, None)
    globals().pop(name, None)  # the package's own attribute for it


def call(name, func, *args):
    """``app.<name>.<func>(*args)`` with the module loaded for this call
    only (see ``forget``): ~0.2 ms on the unix port to collect and load,
    and its heap is free again after."""
    gc.collect()
    try:
        return getattr(__import__('app.' + name, None, None, ('',)),
                       func)(*args)
    finally:
        forget(name)


def intern(names):
    """Load and drop the modules ``app.<name>`` once, at boot. Their names
    stay interned, so loading them again later adds none: a name table that
    must grow needs one large block (7 KB on the 64-bit unix port), which a
    heap cut up by requests may no longer have (the GC never moves
    objects)."""
    for name in names:
        __import__('app.' + name)
        forget(name)
