"""The event log: the last few things that happened, in RAM, oldest first,
each printed on the console as it comes.

``note(text)`` from anywhere outside an interrupt (it allocates): schedule
firings, rule actions, MQTT and Wi-Fi, safe mode and config errors, binding
faults, a save that failed. ``GET /api/log`` serves ``entries()``; the event
stream sends each new one to its clients through ``listeners``."""
from time import ticks_diff, ticks_ms

_BOOT_MS = ticks_ms()
_ring = []  # [{'t', 'up_ms', 'text'}], oldest first
size = 32  # the config's "log": {"size": N}; 0 keeps nothing
listeners = []  # callables taken each new entry (the event stream)
clock = None  # something with .epoch() -> int or None (app.time.clock)


def note(text):
    """Keep ``text`` as the newest entry and print it; never raises."""
    try:
        t = clock.epoch() if clock is not None else None
        entry = {'t': t, 'up_ms': ticks_diff(ticks_ms(), _BOOT_MS),
                 'text': text}
        print('pinwheel:', text)
        if size:
            _ring.append(entry)
            while len(_ring) > size:
                _ring.pop(0)
        for listener in listeners:
            listener(entry)
    except Exception:  # a log line is never worth a failure
        pass


def entries():
    """The entries kept, oldest first (the list itself: do not change it)."""
    return _ring
