"""Live updates: ``GET /api/events`` as Server-Sent Events.

Events: ``status`` (every few seconds), ``binding`` (a binding's dict when
it changed), ``removed`` (``{"id"}``), ``log`` (each new entry of the event
log, ``app.log``), and after the state sent on connect ``ready``
(``{"ids"}``: the bindings that exist, so a page that reconnects can drop
the cards it missed the removal of).

ISR and scheduled code never touch a stream. Each stream's task polls the
one change feed (``app.changes``) with ``asyncio.sleep_ms``. We do not wait
on an ``asyncio.ThreadSafeFlag``: on the unix port a task awaiting one made
the event loop spin and cut Microdot's throughput many times over. Log
entries come through ``app.log.listeners``, where a stream is listed only
while its client is connected.
"""
import asyncio
from time import ticks_diff, ticks_ms
from micropython import const
from microdot.sse import sse_response
from app import log
from app.changes import Feed
from app.errors import error

_POLL_MS = const(100)  # how often a stream looks at the change feed
_LOGS = const(8)  # log entries kept for a client that reads slowly (the
# oldest go first; GET /api/log has them all)
_STATUS_MS = const(4000)  # also bounds how long a vanished client holds a slot
MAX_QUEUE = 8  # events a slow client may have waiting before we hold back
STALL_MS = 30000  # a client that reads nothing for this long is dropped
_DEFAULT_STREAMS = const(3)


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
        self.status = status  # returns the /api/status document
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
        feed = Feed(self.registry)
        logs = []  # entries the client has yet to be sent

        def heard(entry):  # app.log's listener: called outside interrupts
            if len(logs) >= _LOGS:
                logs.pop(0)
            logs.append(entry)
        log.listeners.append(heard)
        try:
            await self._send(sse, out, feed, logs)
        finally:
            log.listeners.remove(heard)

    async def _send(self, sse, out, feed, logs):
        status_ms = ticks_ms()
        await sse.send(self.status(), 'status')
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
                for h in feed.due(now):
                    await sse.send(h.to_dict(), 'binding')
                for binding_id in feed.removed():
                    await sse.send({'id': binding_id}, 'removed')
                if first:
                    first = False
                    await sse.send({'ids': [h.id for h in
                                            self.registry.bindings]}, 'ready')
                while logs:
                    await sse.send(logs.pop(0), 'log')
                if ticks_diff(now, status_ms) >= _STATUS_MS:
                    status_ms = now
                    await sse.send(self.status(), 'status')
            await asyncio.sleep_ms(_POLL_MS)
