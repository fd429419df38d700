"""Live updates: ``GET /api/events`` as Server-Sent Events.

Events: ``status`` (every few seconds, and after a new log entry),
``binding`` (a binding's dict when
it changed), ``removed`` (``{"id"}``), ``log`` (each new entry of the event
log, ``app.log``), and after the state sent on connect ``ready``
(``{"ids"}``: the bindings that exist, so a page that reconnects can drop
the cards it missed the removal of).

The stream is a response body: an async iterator of ``event:``/``data:``
frames (the SSE format, WHATWG HTML section 9.2) that a task of its own
queues; the server writes each frame as it takes it, and the task counts
what was taken to know a client keeps up. A frame is queued as its JSON
text and goes out in three writes (its ``event:``/``data:`` prefix, the
text, the blank line): the largest document (the status) is held once,
not a second time as a frame made from it.

ISR and scheduled code never touch a stream. Each stream's task polls the
one change feed (``app.changes``) with ``asyncio.sleep_ms``. We do not wait
on an ``asyncio.ThreadSafeFlag``: on the unix port a task awaiting one made
the event loop spin and cut the server's throughput many times over. Log
entries come through ``app.log.listeners``, where a stream is listed only
while its client is connected.
"""
import asyncio
from json import dumps
from time import ticks_diff, ticks_ms
from micropython import const
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


class Stream:
    """One stream's body: ``send`` queues a frame (``sent`` counts them),
    the server takes them as it writes (``taken``). ``run(stream)``, the
    task that sends, starts now; the body ends when it ends, and
    ``close()`` (the server's, at the end or when the client is gone)
    cancels it."""

    def __init__(self, run):
        self.queue = []  # (event, JSON text) of each frame not yet taken
        self.rest = []  # the frame being written: its pieces still to go
        self.sent = self.taken = 0
        self.ready = asyncio.Event()
        self.task = asyncio.create_task(run(self))

    def send(self, data, event):
        queue = self.queue
        if event == 'status':
            # a newer status replaces one still waiting (a client that
            # reads slowly holds one, not MAX_QUEUE of them); first, so
            # that its heap can be had for the new one
            for i in range(len(queue)):
                if queue[i][0] == 'status':
                    queue.pop(i)
                    self.sent -= 1
                    break
        text = dumps(data)
        if len(memoryview(text)) != len(text):  # pyright: ignore
            # not ASCII: a write of part of a str would resume at a
            # character count, not at the byte it stopped at
            text = text.encode()
        queue.append((event, text))
        self.sent += 1
        self.ready.set()

    def __aiter__(self):
        return self

    async def __anext__(self):
        rest = self.rest
        if rest:
            return rest.pop()
        while not self.queue:
            if self.task.done():
                raise StopAsyncIteration
            self.ready.clear()
            await self.ready.wait()
        self.taken += 1
        event, text = self.queue.pop(0)
        rest.append(b'\n\n')
        rest.append(text)
        return b'event: %s\ndata: ' % event

    def close(self):
        self.task.cancel()


class Streams:
    """The open event streams of one app, at most ``http.max_streams``."""

    def __init__(self, registry, store, status):
        self.registry = registry
        self.store = store
        self.status = status  # returns the /api/status document
        self.open = 0

    def route(self, request):
        limit = self.store.data['http'].get('max_streams', _DEFAULT_STREAMS)
        if self.open >= limit:
            return error(503, 'too_many_streams', 'at most %d event streams '
                         'may be open (http.max_streams); poll /api/bindings '
                         'and /api/status instead' % limit, None,
                         {'Retry-After': '10'})
        self.open += 1  # given back when the stream's task ends
        return Stream(self._stream), 200, {
            'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'}

    async def _stream(self, out):
        feed = Feed(self.registry)
        logs = []  # entries the client has yet to be sent

        def heard(entry):  # app.log's listener: called outside interrupts
            if len(logs) >= _LOGS:
                logs.pop(0)
            logs.append(entry)
        log.listeners.append(heard)
        try:
            status_ms = ticks_ms()
            out.send(self.status(), 'status')
            first = True
            taken = -1
            moved_ms = status_ms
            while True:
                now = ticks_ms()
                # the server takes an event when it has written the one
                # before; if none was taken for STALL_MS while some wait,
                # the client is gone without a reset: free the slot.
                if out.taken != taken or out.sent == out.taken:
                    taken = out.taken
                    moved_ms = now
                elif ticks_diff(now, moved_ms) > STALL_MS:
                    return
                if out.sent - out.taken < MAX_QUEUE:
                    for h in feed.due(now):
                        out.send(h.to_dict(), 'binding')
                    for binding_id in feed.removed():
                        out.send({'id': binding_id}, 'removed')
                    if first:
                        first = False
                        ids = []  # a loop: a comprehension is a function
                        for h in self.registry.bindings:
                            ids.append(h.id)
                        out.send({'ids': ids}, 'ready')
                    noted = bool(logs)
                    while logs:
                        out.send(logs.pop(0), 'log')
                    # a new log line (MQTT connected or retrying, Wi-Fi, a
                    # rule) changes what the status shows: send it now too
                    if noted or ticks_diff(now, status_ms) >= _STATUS_MS:
                        status_ms = now
                        out.send(self.status(), 'status')
                await asyncio.sleep_ms(_POLL_MS)
        except MemoryError:
            # near the heap's limit: the stream ends whole (what is queued
            # is written, then the body ends, below) rather than its task
            # dying; the dashboard's EventSource connects again and is sent
            # the state afresh, so no change is lost
            pass
        finally:
            log.listeners.remove(heard)
            self.open -= 1
            out.ready.set()  # the body ends once its queue is written
