"""A tiny test runner for tests that run inside the MicroPython VM.

A test module defines ``test_*`` functions and ends with ``unit.main(globals())``.
Arguments: test names to run only those; ``-name`` to skip one.
Output: one ``PASS name`` / ``FAIL name`` / ``SKIP name`` line each, then
``N passed, M failed``.
It runs on the unix port and on the 32-bit WebAssembly port (test_in_vm32.py).
"""
import micropython
import sys
from app.sim import install

install()  # the simulated board is the tests' machine, as app.main makes it


def wait_until(fn, ms=3000):
    """Let board time pass until ``fn()`` holds, at most ``ms`` of it
    (virtual where the simulator has no thread; real time on the timer
    thread, bounded: the machine is shared, no fixed sleeps)."""
    from time import ticks_diff
    from app import sim
    t0 = sim.ticks_ms()
    while not fn():
        if ticks_diff(sim.ticks_ms(), t0) > ms:
            return False
        sim.advance_ms(1)
    return True


def fire(h):
    """One fire of binding ``h``'s interrupt, by hand, allocation-free (it
    runs under heap_lock): a pattern's on ticks ends its step."""
    if h.KIND == 'pattern' and h._periodic:
        h._left = 1
    h._isr(None)


def main(scope):
    names = sorted(k for k in scope if k.startswith('test_'))
    only = [a for a in sys.argv[1:] if not a.startswith('-')]
    skip = [a[1:] for a in sys.argv[1:] if a.startswith('-')]
    passed = failed = 0
    for name in names:
        if only and name not in only:
            continue
        if name in skip:
            print('SKIP', name)
            continue
        try:
            scope[name]()
            passed += 1
            print('PASS', name)
        except Exception as e:
            failed += 1
            print('FAIL', name)
            sys.print_exception(e)
    print('%d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed else 0)


def raises(exc_type, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc_type as e:
        return e
    raise AssertionError('%s not raised' % exc_type.__name__)


def run(coro):
    """Run a coroutine to completion and return its value, on either VM.

    The unix port has ``asyncio.run``. The WebAssembly port's asyncio rides
    the JS event loop and has none: there its loop (``asyncio.core._run_iter``,
    which runs every task that is ready, then returns) is turned by hand
    until the coroutine is done, sleeping while the next task waits on time
    (ports/webassembly/asyncio/core.py). The simulated board's virtual
    clock moves along with those sleeps: board time passes while the loop
    waits, as it does on a board."""
    import asyncio
    if hasattr(asyncio, 'run'):
        return asyncio.run(coro)
    import time
    from asyncio import core
    from app import sim
    outcome = []

    async def main():
        try:
            outcome.append((True, await coro))
        except BaseException as e:  # re-raised below, outside the loop
            outcome.append((False, e))
    asyncio.create_task(main())
    while not outcome:
        core._run_iter()
        if outcome:
            break
        nxt = core._task_queue.peek()
        if nxt is None:
            raise RuntimeError('unit.run: every task waits on something '
                               'only the JS event loop delivers')
        wait = max(0, time.ticks_diff(nxt.ph_key, time.ticks_ms()))
        time.sleep_ms(wait)
        sim.advance_ms(wait)
    ok, value = outcome[0]
    if not ok:
        raise value
    return value


def call_locked(fn, arg, n):
    """Call fn(arg) n times with the heap locked; return the exception."""
    micropython.heap_lock()
    try:
        i = 0
        while i < n:
            fn(arg)
            i += 1
    except Exception as e:
        micropython.heap_unlock()
        return e
    micropython.heap_unlock()
    return None
