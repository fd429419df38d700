"""The event log: the last few things that happened, in RAM, oldest first,
each printed on the console as it comes.

``note(text)`` from anywhere outside an interrupt (it allocates): schedule
firings, rule actions, MQTT and Wi-Fi, safe mode and config errors, binding
faults, a save that failed. ``GET /api/log`` serves ``entries()``; the event
stream sends each new one to its clients through ``listeners``.

Memory is fixed by the size alone (``"log": {"size": N}`` of ``store``'s
config, followed at every note and read, however the config changed):
the texts live in one buffer of ``N * TEXT_MAX`` bytes and the times in
one array of 3 ints per entry, both made by the first note. A full ring
costs what an empty one does, whatever the texts, and keeping an entry
leaves no string behind in the heap between the objects of requests (the
GC never moves objects: scattered survivors would cut up the free heap).
A text longer than ``TEXT_MAX`` bytes is cut and ends in "...".
"""
from array import array
from micropython import const
from time import ticks_diff, ticks_ms

TEXT_MAX = const(100)  # bytes of UTF-8 kept of an entry's text
SIZE_MAX = const(128)  # the config's bound ("log.size")
_NO_TIME = const(-0x80000000)  # "t": null: no time the clock takes (below)
_BOOT_MS = ticks_ms()

size = 32  # the config's "log": {"size": N}; 0 keeps nothing (see resize)
listeners = []  # callables taken each new entry (the event stream)
# Set by app.main: the wall clock (app.time.clock.Clock): an entry's "t" is
# its ``now()`` while it is ``synced``, else null; the config store
# (app.config.Config) whose "log": {"size": N} sets the size.
clock = None
store = None

_text = None  # bytearray(size * TEXT_MAX): the texts, slot by slot
_meta = None  # array('i', 3 * size): per slot t - _BASE, up_ms, length
_next = 0  # the slot the next entry goes to
_count = 0  # entries kept (at most size)
# The slots keep t as seconds from 2050-01-01: every time the clock takes
# (2000 to 2100) is then an int32, and this century's a small int.
_BASE = const(2524608000)


def resize(n):
    """Keep at most ``n`` entries from now on (the newest ``n`` of those
    kept stay); 0 frees the ring."""
    global size, _text, _meta, _next, _count
    if n == size:
        return
    kept = _raw() if n else []
    size = n
    _text = _meta = None
    _next = _count = 0
    for entry in kept[-n:] if n else ():
        _keep(*entry)


def note(text):
    """Keep ``text`` as the newest entry and print it; never raises."""
    try:
        _follow()
        c = clock
        t = c.now() if c is not None and c.synced else None
        up = ticks_diff(ticks_ms(), _BOOT_MS)
        print('pinwheel:', text)
        data = text.encode()
        if len(data) > TEXT_MAX:
            data = _cut(data)
            text = str(data, 'utf-8')  # the event stream sends what is kept
        if size:
            _keep(t, up, data)
        if listeners:
            entry = {'t': t, 'up_ms': up, 'text': text}
            for listener in listeners:
                listener(entry)
    except Exception:  # a log line is never worth a failure
        pass


def entries():
    """The entries kept, oldest first: a new list of ``{"t", "up_ms",
    "text"}``."""
    _follow()
    return [{'t': t, 'up_ms': up, 'text': str(data, 'utf-8')}
            for t, up, data in _raw()]


def _follow():
    """The size the config says, once it says another."""
    s = store
    if s is not None:
        n = s.data.get('log', {}).get('size', size)
        if n != size:
            resize(n)


def _cut(data):
    """``data`` cut to TEXT_MAX bytes, ending in "...", never inside a
    UTF-8 sequence."""
    end = TEXT_MAX - 3
    while end and data[end] & 0xC0 == 0x80:  # a continuation byte
        end -= 1
    return data[:end] + b'...'


def _keep(t, up, data):
    global _text, _meta, _next, _count
    if _text is None:
        _text = bytearray(size * TEXT_MAX)
        _meta = array('i', bytes(12 * size))
    t = _NO_TIME if t is None else t - _BASE
    i = _next
    n = len(data)
    at = i * TEXT_MAX
    _text[at:at + n] = data
    m = 3 * i
    _meta[m] = t
    _meta[m + 1] = up
    _meta[m + 2] = n
    _next = (i + 1) % size
    if _count < size:
        _count += 1


def _raw():
    """[(t or None, up_ms, text bytes)] oldest first."""
    out = []
    if _meta is None:
        return out
    first = (_next - _count) % size
    for k in range(_count):
        i = (first + k) % size
        m = 3 * i
        t = _meta[m]
        at = i * TEXT_MAX
        out.append((None if t == _NO_TIME else _BASE + t, _meta[m + 1],
                    bytes(_text[at:at + _meta[m + 2]])))
    return out
