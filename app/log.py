"""The event log: the last few things that happened, in RAM, oldest first,
each printed on the console as it comes.

``note(text)`` from anywhere outside an interrupt (it allocates): schedule
firings, rule actions, MQTT and Wi-Fi, safe mode and config errors, binding
faults, a save that failed. ``GET /api/log`` serves ``entries()``; the event
stream sends each new one to its clients through ``listeners``.

The size is the config's ``"log": {"size": N}`` (``store``, followed at
every note and read, however the config changed; the newest entries stay).
Memory is fixed by the size alone: the texts live in one buffer of
``N * TEXT_MAX`` bytes and the times in one array of 3 ints per entry,
made by the first note. A full ring costs what an empty one does, whatever
the texts, and keeping an entry leaves no string behind in the heap between
the objects of requests (the GC never moves objects: scattered survivors
would cut up the free heap). A longer text is cut and ends in "...".
"""
from array import array
from micropython import const
from time import ticks_diff, ticks_ms

TEXT_MAX = const(100)  # bytes of UTF-8 kept of an entry's text
_NO_TIME = const(-0x80000000)  # "t": null (no time the clock takes, below)
# The slots keep t as seconds from 2050-01-01: every time the clock takes
# (2000 to 2100) is then an int32, and this century's a small int.
_BASE = const(2524608000)
_BOOT_MS = ticks_ms()

size = 32  # the ring's length until ``store`` says (0 keeps nothing)
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


def note(text):
    """Keep ``text`` as the newest entry and print it; never raises."""
    try:
        c = clock
        t = c.now() if c is not None and c.synced else None
        up = ticks_diff(ticks_ms(), _BOOT_MS)
        print('pinwheel:', text)
        data = text.encode()
        if len(data) > TEXT_MAX:  # cut, never inside a UTF-8 sequence
            end = TEXT_MAX - 3
            while data[end] & 0xC0 == 0x80:
                end -= 1
            data = data[:end] + b'...'
            text = str(data, 'utf-8')  # the event stream sends what is kept
        if _ring():
            _put(t, up, data)
        if listeners:
            entry = {'t': t, 'up_ms': up, 'text': text}
            for listener in listeners:
                listener(entry)
    except Exception:  # a log line is never worth a failure
        pass


def entries():
    """The entries kept, oldest first: a new list of ``{"t", "up_ms",
    "text"}``."""
    _ring()
    return _list()


def _ring():
    """The size the config says, the ring made for it (the newest entries
    kept) when it is new; the size."""
    global size, _text, _meta, _next, _count
    s = store
    n = s.data.get('log', {}).get('size', size) if s is not None else size
    if n != size or _text is None:
        kept = _list()
        size = n
        _text = bytearray(n * TEXT_MAX)
        _meta = array('i', bytes(12 * n))  # MicroPython: raw bytes, 3n zeros
        _next = _count = 0
        for e in kept[-n:] if n else ():
            _put(e['t'], e['up_ms'], e['text'].encode())
    return n


def _put(t, up, data):
    global _next, _count
    i = _next
    at = i * TEXT_MAX
    _text[at:at + len(data)] = data  # pyright: ignore[reportOptionalSubscript]
    m = _meta
    m[3 * i] = _NO_TIME if t is None else t - _BASE  # pyright: ignore
    m[3 * i + 1] = up  # pyright: ignore
    m[3 * i + 2] = len(data)  # pyright: ignore
    _next = (i + 1) % size
    if _count < size:
        _count += 1


def _list():
    out = []
    m = _meta
    for k in range(_count):
        i = (_next - _count + k) % size
        t = m[3 * i]  # pyright: ignore
        at = i * TEXT_MAX
        out.append({'t': None if t == _NO_TIME else _BASE + t,
                    'up_ms': m[3 * i + 1],  # pyright: ignore
                    'text': str(_text[at:at + m[3 * i + 2]], 'utf-8')})  # pyright: ignore
    return out
