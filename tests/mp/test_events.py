"""The event stream's task inside the VM, without HTTP: the state sent on
connect, the throttle, removals, the event log's entries, the stream
limit, and a stuck client; and the change feed it shares with MQTT
(``app.changes``) on its own."""
import asyncio
import unit
from app import changes, log
from app.changes import COUNTS, LEVEL, Feed
from app.http import events
from app.board.board import Board
from app.registry import Registry
from fakes import Store


class FakeSSE:
    """Records what the task sends, as app.http.events.Stream counts it;
    ``drain=False`` is a client that never reads (the server takes
    nothing from the stream's queue)."""

    def __init__(self, drain=True):
        self.queue = []
        self.events = []
        self.sent = 0
        self.drain = drain
        self.ready = asyncio.Event()  # set when the task ends

    def send(self, data, event):
        self.events.append((event, data))
        self.sent += 1
        if not self.drain:
            self.queue.append(data)

    @property
    def taken(self):  # as Stream.taken: what the server took to write
        return self.sent if self.drain else 0

    def names(self, event):
        return [d for e, d in self.events if e == event]


def status():  # the /api/status document, as app.http.api's status route
    return {'board': 'sim', 'uptime_ms': 1}


def run_stream(st, sse, ms, during=None):
    """Run one stream's task for ``ms``; ``during()`` runs halfway."""
    async def main():
        st.open += 1  # as route() does
        task = asyncio.create_task(st._stream(sse))
        await asyncio.sleep_ms(ms // 2)
        if during:
            during()
        await asyncio.sleep_ms(ms - ms // 2)
        task.cancel()
        await asyncio.sleep_ms(10)
    unit.run(main())


def registry():
    return Registry(Board('sim', 8), 16)


def test_connect_sends_status_bindings_then_ready():
    reg = registry()
    reg.create({'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 500, 'start': False})
    reg.create({'id': 'b', 'kind': 'sample', 'pin': 34, 'period_ms': 500, 'start': False})
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    run_stream(st, sse, 300)
    names = [e for e, _ in sse.events]
    assert names[:4] == ['status', 'binding', 'binding', 'ready'], names
    assert sse.events[0][1] == {'board': 'sim', 'uptime_ms': 1}
    assert sorted(sse.names('ready')[0]['ids']) == ['a', 'b']
    assert names.count('binding') == 2, names  # nothing changed since
    assert st.open == 0  # the slot is given back when the task ends


def test_fast_blink_is_throttled():
    reg = registry()
    reg.create({'id': 'fast', 'kind': 'blink', 'pin': 2, 'period_ms': 1})
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    run_stream(st, sse, 1000)
    sent = len(sse.names('binding'))
    fires = reg.get('fast').fires
    reg.delete('fast')
    # at most one per BINDING_MS (+ the one on connect); a 1 kHz blink fired
    # hundreds of times meanwhile. How many of the looks find the level
    # changed is chance (a loaded machine looks only a few times), so the
    # least is the one on connect; that changes are sent at all is
    # test_feed_new_bindings_at_once_then_only_changes.
    assert 1 <= sent <= 1 + 1000 // changes.BINDING_MS, sent
    assert fires > 50, fires


def test_counters_alone_are_sent_slowly():
    reg = registry()
    reg.create({'id': 's', 'kind': 'sample', 'pin': 34, 'period_ms': 5})
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    run_stream(st, sse, 1000)  # fires grow, the level never changes
    reg.delete('s')
    assert len(sse.names('binding')) <= 1 + 1000 // changes.STATS_MS


def test_removed_is_sent():
    reg = registry()
    reg.create({'id': 'gone', 'kind': 'blink', 'pin': 2, 'period_ms': 500})
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    run_stream(st, sse, 400, lambda: reg.delete('gone'))
    assert sse.names('removed') == [{'id': 'gone'}], sse.events


def test_log_entries_are_sent_only_while_a_client_is_connected():
    reg = registry()
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    before = len(log.listeners)
    heard = []

    def during():
        heard.append(len(log.listeners))
        log.note('schedule "ev1": start "porch"')
    run_stream(st, sse, 400, during)
    assert heard == [before + 1], heard  # listed while connected...
    assert len(log.listeners) == before  # ...and not after
    entries = sse.names('log')
    assert [e['text'] for e in entries] == ['schedule "ev1": start "porch"']
    assert set(entries[0]) == {'t', 'up_ms', 'text'}, entries
    log.note('nobody listens')  # no stream: nothing holds it for one
    assert len(log.listeners) == before


def test_a_slow_client_gets_the_newest_log_entries():
    reg = registry()
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()

    def burst():
        for i in range(20):
            log.note('line %d' % i)
    run_stream(st, sse, 400, burst)
    texts = [e['text'] for e in sse.names('log')]
    assert texts == ['line %d' % i for i in range(12, 20)], texts


def test_feed_new_bindings_at_once_then_only_changes():
    reg = registry()
    reg.create({'id': 'a', 'kind': 'blink', 'pin': 2, 'period_ms': 500, 'start': False})
    feed = Feed(reg)
    assert [h.id for h in feed.due(0)] == ['a']
    reg.do('start', 'a')
    assert list(feed.due(100)) == []  # within BINDING_MS of the last send
    assert [h.id for h in feed.due(changes.BINDING_MS)] == ['a']
    assert list(feed.due(1000)) == []  # nothing changed since
    reg.update('a', {'period_ms': 300})  # replaced: a new configuration
    assert [h.id for h in feed.due(2000)] == ['a']
    reg.delete('a')
    assert list(feed.due(3000)) == []
    assert feed.removed() == ['a']
    assert list(feed.removed()) == []


def test_feed_watches_only_what_its_reader_shows():
    reg = registry()
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500, 'start': False})
    reg.create({'id': 'door', 'kind': 'sample', 'pin': 34, 'period_ms': 500, 'start': False})
    led, door = reg.get('led'), reg.get('door')
    views = {'led': 0, 'door': LEVEL}
    feed = Feed(reg, lambda h: views[h.id])
    everything = Feed(reg)
    for f in (feed, everything):
        assert len(f.due(0)) == 2
    led.level ^= 1  # a toggle: the dashboard's LED, not a switch's state
    led.version += 1
    door.level ^= 1  # an input's level: a binary sensor's state
    assert [h.id for h in feed.due(1000)] == ['door']
    assert sorted(h.id for h in everything.due(1000)) == ['door', 'led']
    led.fires += 5  # counters alone: for a reader that watches them
    assert list(feed.due(10000)) == []
    assert [h.id for h in everything.due(10000)] == ['led']


def test_feed_counters_at_most_every_slow_ms_and_once_after_they_stop():
    reg = registry()
    reg.create({'id': 'c', 'kind': 'blink', 'pin': 2, 'period_ms': 500, 'start': False})
    h = reg.get('c')
    feed = Feed(reg, lambda h: COUNTS, 5000)
    assert len(feed.due(0)) == 1
    h.fires += 1
    assert list(feed.due(4999)) == []
    assert len(feed.due(5000)) == 1  # they moved: sent
    assert list(feed.due(9999)) == []
    assert len(feed.due(10000)) == 1  # still: once more (a rate falls to 0)
    assert list(feed.due(20000)) == []  # and then no more
    assert list(feed.due(60000)) == []


def test_a_newer_status_replaces_one_still_waiting():
    # a client that reads slowly has one status waiting, the newest, and
    # every other event in order; the counts are of what it will be sent
    async def idle(stream):
        await asyncio.sleep_ms(1000)

    async def main():
        out = events.Stream(idle)
        out.send({'n': 1}, 'status')
        out.send({'id': 'a'}, 'binding')
        out.send({'n': 2}, 'status')
        waiting = list(out.queue)
        first = await out.__anext__()
        out.close()
        return waiting, first, out.sent, out.taken
    waiting, first, sent, taken = unit.run(main())
    assert waiting == [('binding', '{"id": "a"}'),
                       ('status', '{"n": 2}')], waiting
    assert first == b'event: binding\ndata: ', first
    assert (sent, taken) == (2, 1)


def test_a_frame_goes_out_in_three_pieces():
    # its prefix, the JSON text (as bytes when it is not ASCII: a partial
    # write resumes at a byte), the blank line; then the stream ends
    async def done(stream):  # as Streams._stream ends: the body ends
        stream.ready.set()

    async def main():
        out = events.Stream(done)
        out.send({'name': 'Küche'}, 'binding')
        pieces = []
        async for piece in out:
            pieces.append(piece)
        return pieces, out.taken
    pieces, taken = unit.run(main())
    assert pieces == [b'event: binding\ndata: ',
                      '{"name": "Küche"}'.encode(), b'\n\n'], pieces
    assert taken == 1


def test_out_of_memory_ends_the_stream_whole():
    """A MemoryError while a frame is made (a board at its heap's limit):
    the task ends without raising, the body ends, the slot and the log
    listener are given back; the client connects again."""
    reg = registry()
    calls = [0]

    def short_of_memory():
        calls[0] += 1
        if calls[0] > 1:
            raise MemoryError('memory allocation failed')
        return status()
    st = events.Streams(reg, Store(), short_of_memory)
    sse = FakeSSE()
    listeners = len(log.listeners)

    async def main():
        st.open += 1  # as route() does
        task = asyncio.create_task(st._stream(sse))
        await asyncio.sleep_ms(50)
        log.note('a new line: its status frame runs out of memory')
        # ended, and without an exception (a task that raised re-raises
        # it here)
        await asyncio.wait_for_ms(task, 1000)
    unit.run(main())
    assert sse.ready.is_set() and st.open == 0, st.open
    assert len(log.listeners) == listeners
    assert sse.names('status') == [status()], sse.events


def test_limit_answers_503_json():
    reg = registry()
    for http, allowed in (({}, 3), ({'max_streams': 1}, 1), ({'max_streams': 0}, 0)):
        st = events.Streams(reg, Store(**http), status)
        st.open = allowed
        body, code, headers = st.route(None)
        assert code == 503 and body['error']['code'] == 'too_many_streams'
        assert 'max_streams' in body['error']['message']
        assert st.open == allowed


def test_a_client_that_reads_nothing_is_dropped():
    old = events.STALL_MS
    events.STALL_MS = 300
    try:
        reg = registry()
        reg.create({'id': 'x', 'kind': 'blink', 'pin': 2, 'period_ms': 20})
        st = events.Streams(reg, Store(), status)
        sse = FakeSSE(drain=False)
        st.open += 1
        done = []

        async def main():
            await st._stream(sse)
            done.append(1)
        unit.run(asyncio.wait_for_ms(main(), 3000))
        reg.delete('x')
        assert done and st.open == 0
        # it stopped adding once MAX_QUEUE events were waiting
        assert len(sse.queue) <= events.MAX_QUEUE + 2, len(sse.queue)
    finally:
        events.STALL_MS = old


unit.main(globals())
