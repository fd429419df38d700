"""The one change feed: which bindings changed since a reader last looked.

A reader (each event-stream client, each MQTT link) keeps a ``Feed`` and
polls it from its own task. Interrupt and scheduled code never call it:
they leave change markers on each binding (``running``, ``level``,
``error``, ``version`` bumped by deferred work, ``fires``), which a poll
compares with what the reader took last. A poll allocates nothing unless
something is due, so polling every 100 ms costs no garbage.

What counts as a change is the reader's view, per binding (``watch``):
``LEVEL`` (the pin's level: a dashboard's LED, a Home Assistant binary
sensor), ``VERSION`` (deferred work ran: a pulse or a fade ended, an edge),
``COUNTS`` (its counters moved). Started or stopped, an error, and a new
configuration (the binding was replaced) are changes for every reader.
"""
from time import ticks_diff
from micropython import const

BINDING_MS = 250  # at most one change per binding per 250 ms (1 kHz blink)...
STATS_MS = 2000  # ...and one per 2 s when only its counters moved

LEVEL = const(1)
VERSION = const(2)
COUNTS = const(4)
ALL = const(7)
_SETTLE = const(8)  # counters moved at the last send: look once more

# a record, what the reader took of one binding: a list (a list of 8 is
# smaller than an instance's attribute table)
_H = const(0)
_RUNNING = const(1)
_ERROR = const(2)
_LEVEL = const(3)
_VERSION = const(4)
_FIRES = const(5)
_SENT = const(6)
_WATCH = const(7)


class Feed:
    """What one reader took of each binding of ``registry``. ``watch(h)``:
    the marks (``LEVEL | VERSION | COUNTS``) that are changes of ``h`` for
    this reader, asked once per binding (and again when it is replaced),
    None: all of them; ``slow_ms``: how often moving counters are due."""

    def __init__(self, registry, watch=None, slow_ms=STATS_MS):
        self.registry = registry
        self.watch = watch
        self.slow_ms = slow_ms
        self.seen = {}  # binding id -> record

    def due(self, now):
        """The bindings to send now (taken as sent): new to this reader at
        once; changed at most every BINDING_MS; counters that moved at
        most every ``slow_ms``, and once more after they stop (a rate
        falls back). Folds in interrupt faults (``sync``) first."""
        out = None
        seen = self.seen
        for h in self.registry.bindings:
            h.sync()
            s = seen.get(h.id)
            if s is None:
                s = seen[h.id] = [None, 0, 0, 0, 0, 0, 0, 0]
            elif ticks_diff(now, s[_SENT]) < BINDING_MS:
                continue
            elif s[_H] is h and s[_RUNNING] == h.running \
                    and s[_ERROR] == h.error and not self._moved(s, h, now):
                continue
            if s[_H] is not h:  # new to this reader, or replaced
                s[_H] = h
                watch = self.watch
                s[_WATCH] = ALL if watch is None else watch(h)
            s[_RUNNING] = h.running
            s[_ERROR] = h.error
            s[_LEVEL] = h.level
            s[_VERSION] = h.version
            s[_FIRES] = h.fires
            s[_SENT] = now
            if out is None:
                out = [h]
            else:
                out.append(h)
        return out or ()

    def _moved(self, s, h, now):
        """Did a watched mark of ``h`` move? Counters: when ``slow_ms`` has
        passed (then ``_SETTLE`` asks for one more look after they stop)."""
        watch = s[_WATCH]
        if watch & LEVEL and s[_LEVEL] != h.level:
            return True
        if watch & VERSION and s[_VERSION] != h.version:
            return True
        if watch & COUNTS and ticks_diff(now, s[_SENT]) >= self.slow_ms:
            if s[_FIRES] != h.fires:
                s[_WATCH] = watch | _SETTLE
                return True
            if watch & _SETTLE:
                s[_WATCH] = watch & ~_SETTLE
                return True
        return False

    def removed(self):
        """The ids of bindings gone since the last look, forgotten. Call it
        after ``due``: a binding deleted and another created between two
        looks leaves the count as it was."""
        seen = self.seen
        registry = self.registry
        if len(seen) <= len(registry.bindings):
            return ()
        gone = []  # a loop, not a comprehension: one function less
        for binding_id in seen:
            if registry.find(binding_id) is None:
                gone.append(binding_id)
        for binding_id in gone:
            del seen[binding_id]
        return gone
