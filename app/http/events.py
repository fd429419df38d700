"""Live updates: ``GET /api/events`` as Server-Sent Events.

Events: ``status`` (every few seconds), ``binding`` (a binding's dict when
it changed), ``removed`` (``{"id"}``), and after the state sent on connect
``ready`` (``{"ids"}``: the bindings that exist, so a page that reconnects
can drop the cards it missed the removal of).

ISR and scheduled code never touch a stream. They already leave change
markers (``handler.version``, ``running``, ``level``, ``error``); each
stream's task polls them with ``asyncio.sleep_ms``. We do not wait on an
``asyncio.ThreadSafeFlag``: on the unix port a task awaiting one made the
event loop spin and cut Microdot's throughput many times over.
"""
import asyncio
from time import ticks_diff, ticks_ms
from micropython import const
from microdot.sse import sse_response
from app.errors import error

_POLL_MS = const(100)  # how often a stream looks at the change markers
BINDING_MS = 250  # at most one event per binding per 250 ms (1 kHz blink)...
STATS_MS = 2000  # ...and one per 2 s when only its counters moved
_STATUS_MS = const(4000)  # also bounds how long a vanished client holds a slot
MAX_QUEUE = 8  # events a slow client may have waiting before we hold back
STALL_MS = 30000  # a client that reads nothing for this long is dropped
_DEFAULT_STREAMS = const(3)


class _Request:
    """Stands in for the request when a stream calls the /api/status route."""
    method = 'GET'
    path = '/api/status'
    args = {}
    headers = {}


class _Seen:
    """What one stream last sent about one binding."""

    def __init__(self):
        self.handler = None
        self.version = -1
        self.running = None
        self.level = -1
        self.error = None
        self.fires = -1
        self.sent_ms = 0

    def changed(self, h):
        return (self.handler is not h or self.version != h.version
                or self.running != h.running or self.level != h.level
                or self.error != h.error)

    def remember(self, h, now):
        self.handler = h
        self.version = h.version
        self.running = h.running
        self.level = h.level
        self.error = h.error
        self.fires = h.fires
        self.sent_ms = now


class _Counted:
    """An SSE object that counts the events sent to it."""

    def __init__(self, sse):
        self.sse = sse
        self.sent = 0

    async def send(self, data, event):
        self.sent += 1
        await self.sse.send(data, event)


class _Taken:
    """The stream's body: ``sse_response``'s async iterator of events,
    counting those Microdot has taken to write."""

    def __init__(self, events):
        self.events = events
        self.taken = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        event = await self.events.__anext__()
        self.taken += 1
        return event

    async def aclose(self):
        await self.events.aclose()


class Streams:
    """The open event streams of one app, at most ``http.max_streams``."""

    def __init__(self, registry, store, status):
        self.registry = registry
        self.store = store
        self.status = status  # the /api/status route function
        self.open = 0

    @property
    def limit(self):
        return self.store.data['http'].get('max_streams', _DEFAULT_STREAMS)

    def route(self, request):
        if self.open >= self.limit:
            return error(503, 'too_many_streams', 'at most %d event streams '
                         'may be open (http.max_streams); poll /api/bindings '
                         'and /api/status instead' % self.limit, None,
                         {'Retry-After': '10'})
        self.open += 1  # given back when the stream's task ends
        made = []  # the body, once made: the task reads its count
        body, code, headers = sse_response(request, self._stream, made)
        made.append(_Taken(body))
        headers['Cache-Control'] = 'no-cache'
        return made[0], code, headers

    async def _stream(self, request, sse, made):
        try:
            await self._run(_Counted(sse), made[0])
        finally:
            self.open -= 1

    async def _run(self, sse, out):
        registry = self.registry
        seen = {}  # binding id -> _Seen
        status_ms = ticks_ms()
        await sse.send(self.status(_Request), 'status')
        first = True
        taken = -1
        moved_ms = status_ms
        while True:
            now = ticks_ms()
            # Microdot takes an event when it has written the one before;
            # if none was taken for STALL_MS while some wait, the client
            # is gone without a reset: free the slot.
            if out.taken != taken or sse.sent == out.taken:
                taken = out.taken
                moved_ms = now
            elif ticks_diff(now, moved_ms) > STALL_MS:
                return
            if sse.sent - out.taken < MAX_QUEUE:
                for h in registry.bindings:
                    h.sync()  # fold in an ISR fault, as to_dict would
                    s = seen.get(h.id)
                    if s is None:
                        s = seen[h.id] = _Seen()
                    age = ticks_diff(now, s.sent_ms)
                    # never sent: at once (ticks_ms starts at 0 at boot)
                    if s.handler is None or (
                            age >= BINDING_MS and s.changed(h)) or (
                            age >= STATS_MS and s.fires != h.fires):
                        s.remember(h, now)
                        await sse.send(h.to_dict(), 'binding')
                if len(seen) > len(registry.bindings):
                    for binding_id in list(seen):
                        if registry.find(binding_id) is None:
                            del seen[binding_id]
                            await sse.send({'id': binding_id}, 'removed')
                if first:
                    first = False
                    await sse.send({'ids': [h.id for h in registry.bindings]},
                                   'ready')
                if ticks_diff(now, status_ms) >= _STATUS_MS:
                    status_ms = now
                    await sse.send(self.status(_Request), 'status')
            await asyncio.sleep_ms(_POLL_MS)
