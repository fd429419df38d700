"""Lateness histograms of simulated timers, for the benchmarks only: patched
into ``app.sim`` from outside ``app/`` (nothing of it ships to a board).

``app.sim._run`` calls the module global ``_fire`` for each due timer; this
wraps it to count, before the callback runs, how late the timer fired, in
50 us buckets up to 5 ms (the last bucket takes the rest). The wrapper runs
on the timer thread and allocates nothing.
"""
from array import array
from time import ticks_diff
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
import app.sim as sim

BUCKET_US = 50
BUCKETS = 100
_hists = {}  # timer -> array('I') of BUCKETS counts
_fire = sim._fire


def _fire_counted(timer, now):
    counts = _hists.get(timer)
    if counts is not None:
        b = ticks_diff(now, timer._due) // BUCKET_US
        counts[b if b < BUCKETS else BUCKETS - 1] += 1
    _fire(timer, now)


sim._fire = _fire_counted


def track(timer):
    """Start counting ``timer``'s lateness (from zero)."""
    counts = array('I', bytes(4 * BUCKETS))
    sim._lock.acquire()  # the timer thread reads _hists under this lock
    _hists[timer] = counts
    sim._lock.release()


def take(timer):
    """``timer``'s histogram since the last call, as a dict; then reset."""
    counts = _hists[timer]
    out = {'bucket_us': BUCKET_US, 'counts': list(counts),
           'fires': timer.fires}
    for i in range(BUCKETS):
        counts[i] = 0
    return out
