"""The event stream's task inside the VM, without HTTP: the state sent on
connect, the throttle, removals, the stream limit, and a stuck client."""
import asyncio
import unit
from app.http import events
from app.board.board import Board
from app.registry import Registry
from fakes import Store


class FakeSSE:
    """Records what the task sends; ``drain=False`` is a client that never
    reads (Microdot would leave everything in the queue)."""

    def __init__(self, drain=True):
        self.queue = []
        self.sent = []
        self.drain = drain

    async def send(self, data, event=None):
        self.sent.append((event, data))
        if not self.drain:
            self.queue.append(data)

    @property
    def taken(self):  # as app.http.events._Taken: what Microdot took to write
        return len(self.sent) if self.drain else 0

    def names(self, event):
        return [d for e, d in self.sent if e == event]


def status(request):
    return {'board': 'sim', 'path': request.path}


def run_stream(st, sse, ms, during=None):
    """Run one stream's task for ``ms``; ``during()`` runs halfway."""
    async def main():
        st.open += 1  # as route() does
        task = asyncio.create_task(st._stream(None, sse, [sse]))
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
    names = [e for e, _ in sse.sent]
    assert names[:4] == ['status', 'binding', 'binding', 'ready'], names
    assert sse.sent[0][1] == {'board': 'sim', 'path': '/api/status'}
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
    # hundreds of times meanwhile
    assert 2 <= sent <= 1 + 1000 // events.BINDING_MS, sent
    assert fires > 50, fires


def test_counters_alone_are_sent_slowly():
    reg = registry()
    reg.create({'id': 's', 'kind': 'sample', 'pin': 34, 'period_ms': 5})
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    run_stream(st, sse, 1000)  # fires grow, the level never changes
    reg.delete('s')
    assert len(sse.names('binding')) <= 1 + 1000 // events.STATS_MS


def test_removed_is_sent():
    reg = registry()
    reg.create({'id': 'gone', 'kind': 'blink', 'pin': 2, 'period_ms': 500})
    st = events.Streams(reg, Store(), status)
    sse = FakeSSE()
    run_stream(st, sse, 400, lambda: reg.delete('gone'))
    assert sse.names('removed') == [{'id': 'gone'}], sse.sent


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
            await st._stream(None, sse, [sse])
            done.append(1)
        unit.run(asyncio.wait_for_ms(main(), 3000))
        reg.delete('x')
        assert done and st.open == 0
        # it stopped adding once MAX_QUEUE events were waiting
        assert len(sse.queue) <= events.MAX_QUEUE + 2, len(sse.queue)
    finally:
        events.STALL_MS = old


unit.main(globals())
