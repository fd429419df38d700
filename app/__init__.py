"""pinwheel: timers bound to pins, served as a REST API (see README.md)."""
import sys


def forget(name):
    """Drop the submodule ``app.<name>`` so the GC can take its code (on
    most ports bytecode lives in the heap). For code only boot or a rare
    request runs; nothing of it may still be referenced."""
    sys.modules.pop('app.' + name, None)
    globals().pop(name, None)  # the package's own attribute for it
