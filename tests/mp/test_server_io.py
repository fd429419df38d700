"""app.http.server's socket side, through the app with scripted streams: the
head is read in chunks (not a system call per byte), bytes read past it
start the body, and the response goes out in as few writes as it can.

The test_microdot_* tests pin down what app.http.server relies on in Microdot
(2.7): if an upgrade changes it, they fail here, by name."""
import asyncio
import json
import unit
from app.http.api import create_app
from app.board.board import Board
from app.registry import Registry
from fakes import Store, Writer

GET = b'GET /api/bindings HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n'
BODY = b'{"id": "led", "kind": "blink", "pin": 2, "period_ms": 1000}'


class Reader:
    """Hands out ``chunks`` as a socket would (at most n bytes a read)."""

    def __init__(self, chunks):
        self.chunks = list(chunks)
        self.reads = 0
        self.empty_reads = 0  # reads past the end: a drain that over-reads

    async def read(self, n=-1):
        self.reads += 1
        if not self.chunks:
            self.empty_reads += 1
            return b''
        c = self.chunks[0]
        if 0 <= n < len(c):
            self.chunks[0] = c[n:]
            return c[:n]
        self.chunks.pop(0)
        return c

    async def readexactly(self, n):
        out = b''
        while len(out) < n:
            c = await self.read(n - len(out))
            if not c:
                raise EOFError
            out += c
        return out

    async def readline(self):
        raise AssertionError('the head is not read line by line')


def make_app():
    reg = Registry(Board('sim'))
    return reg, create_app(reg, Store())


def serve(app, chunks):
    reader, writer = Reader(chunks), Writer()
    unit.run(app.handle_request(reader, writer))
    out = b''.join(writer.writes)
    head, body = out.split(b'\r\n\r\n', 1)
    status = int(head.split(b' ', 2)[1])
    return status, head, body, reader, writer


def post(body, extra=b''):
    return (b'POST /api/bindings HTTP/1.1\r\nHost: x\r\nContent-Type: '
            b'application/json\r\n' + extra + b'Content-Length: '
            + str(len(body)).encode() + b'\r\n\r\n')


def test_a_get_is_one_read_and_one_write():
    reg, app = make_app()
    status, head, body, reader, writer = serve(app, [GET])
    assert status == 200 and json.loads(body) == {'bindings': []}
    assert reader.reads == 1, reader.reads
    assert len(writer.writes) == 1, writer.writes
    assert b'\r\nContent-Length: %d\r\n' % len(body) in head + b'\r\n', head


def test_the_head_may_arrive_in_any_pieces():
    reg, app = make_app()
    for cut in range(1, len(GET)):
        status, _, body, _, _ = serve(app, [GET[:cut], GET[cut:]])
        assert status == 200, (cut, status, body)
    # a trickle, one byte at a time
    status, _, _, reader, _ = serve(app, [GET[i:i + 1] for i in range(len(GET))])
    assert status == 200 and reader.reads == len(GET)


def test_bare_newlines_and_a_closed_connection():
    reg, app = make_app()
    status, _, _, _, _ = serve(app, [b'GET /api/status HTTP/1.0\n\n'])
    assert status == 200
    # closed after the headers without a blank line: served as before
    status, _, _, _, _ = serve(app, [b'GET /api/status HTTP/1.0\r\nHost: x\r\n'])
    assert status == 200
    status, _, body, _, _ = serve(app, [b'\r\n'])  # no request line
    assert status == 400, body


def test_a_body_in_the_same_read_as_the_head():
    reg, app = make_app()
    status, _, body, _, _ = serve(app, [post(BODY) + BODY])
    assert status == 201, body
    assert reg.get('led').params['period_ms'] == 1000


def test_a_body_after_the_head_or_split():
    reg, app = make_app()
    body2 = BODY.replace(b'"led"', b'"led2"').replace(b'pin": 2', b'pin": 4')
    status, _, body, _, _ = serve(app, [post(body2), body2[:7], body2[7:]])
    assert status == 201, body
    body3 = BODY.replace(b'"led"', b'"led3"').replace(b'pin": 2', b'pin": 5')
    req = post(body3) + body3
    status, _, body, _, _ = serve(app, [req[:len(req) - 9], req[len(req) - 9:]])
    assert status == 201, body
    assert [h.id for h in reg.bindings] == ['led2', 'led3']


def test_an_oversized_body_is_drained_less_what_came_with_the_head():
    reg, app = make_app()
    big = b'{"x": "' + b'y' * 9000 + b'"}'
    req = post(big) + big
    for first in (len(post(big)), len(post(big)) + 100, 600):
        chunks = [req[:first]] + [req[i:i + 1000]
                                  for i in range(first, len(req), 1000)]
        status, _, body, reader, _ = serve(app, chunks)
        assert status == 413, body
        assert not reader.chunks, 'body not drained'
        assert reader.empty_reads == 0, 'the drain read past the body'


def test_a_head_too_large_is_400():
    reg, app = make_app()
    many = b'GET /api/status HTTP/1.1\r\n' + b'X-A: b\r\n' * 600 + b'\r\n'
    status, _, body, reader, _ = serve(app, [many])
    assert status == 400, body
    assert reader.chunks, 'read on past MAX_HEAD'
    line = b'GET /api/status HTTP/1.1\r\nX: ' + b'a' * 3000 + b'\r\n\r\n'
    status, _, _, _, _ = serve(app, [line])
    assert status == 400


def test_head_and_empty_bodies_go_out_whole():
    reg, app = make_app()
    status, head, body, _, writer = serve(
        app, [b'HEAD /api/bindings HTTP/1.1\r\n\r\n'])
    assert status == 200 and body == b'' and len(writer.writes) == 1
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 1000})
    status, head, body, _, writer = serve(
        app, [b'DELETE /api/bindings/led HTTP/1.1\r\n\r\n'])
    assert status == 204 and body == b'' and len(writer.writes) == 1


def test_a_streamed_body_follows_its_head():
    reg, app = make_app()

    def parts():
        yield b'one,'
        yield b'two'

    @app.route('/stream')
    def stream(request):
        return parts(), 200, {'Content-Type': 'text/plain'}
    status, head, body, _, writer = serve(app, [b'GET /stream HTTP/1.1\r\n\r\n'])
    assert status == 200 and body == b'one,two', body
    # the head goes out before the body, which follows as written (a
    # stream's first part may be long in coming)
    assert writer.writes[-2:] == [b'one,', b'two'], writer.writes
    assert b''.join(writer.writes[:-2]).endswith(b'\r\n\r\n'), writer.writes


def test_out_of_memory_is_a_canned_503():
    reg, app = make_app()

    @app.route('/starved')
    def starved(request):
        raise MemoryError

    def no_room_either(request, *exc):  # nor do the error answers
        raise MemoryError

    app.errorhandler(MemoryError)(no_room_either)
    app.errorhandler(500)(no_room_either)

    status, head, body, _, _ = serve(app, [b'GET /starved HTTP/1.1\r\n\r\n'])
    assert status == 503, (head, body)
    assert json.loads(body)['error']['code'] == 'low_memory', body

    class Huge:  # a body whose writing runs out of memory
        def __iter__(self):
            raise MemoryError

    @app.route('/huge')
    def huge(request):
        return Huge(), 200, {'Content-Type': 'text/plain'}

    # a streamed body's head is out before the body fails: the connection
    # just closes (no second answer glued to the first)
    status, head, body, _, writer = serve(
        app, [b'GET /huge HTTP/1.1\r\n\r\n'])
    assert status == 200 and body == b'', (head, body)
    assert b''.join(writer.writes).count(b'HTTP/1.0') == 1, writer.writes


class OnlyReadline:
    """A stream with the two methods _Lines gives Request.create."""

    def __init__(self, data):
        self.data = data
        self.calls = []

    async def readline(self):
        self.calls.append('readline')
        i = self.data.find(b'\n') + 1 or len(self.data)
        line, self.data = self.data[:i], self.data[i:]
        return line

    async def readexactly(self, n):
        self.calls.append('readexactly')
        data, self.data = self.data[:n], self.data[n:]
        return data


class OnlyAwrite:
    """A stream with the one method _Out gives Response.write."""

    def __init__(self):
        self.writes = []

    async def awrite(self, data):
        self.writes.append(data)


def test_microdot_reads_a_request_by_readline_and_readexactly():
    from microdot import Request
    reg, app = make_app()
    stream = OnlyReadline(post(BODY) + BODY)
    req = unit.run(Request.create(app, stream, Writer(), ('x', 1)))
    assert req.method == 'POST' and req.path == '/api/bindings'
    assert req.headers['content-length'] == str(len(BODY))
    assert req.body == BODY and req.content_length == len(BODY)
    # the head by lines, the body in one readexactly: nothing else
    assert stream.calls == ['readline'] * 5 + ['readexactly'], stream.calls
    big = b'x' * (Request.max_body_length + 1)
    stream = OnlyReadline(post(big) + big)
    req = unit.run(Request.create(app, stream, Writer(), ('x', 1)))
    # a body too large to keep is left unread, for the drain
    assert req.body == b'' and stream.calls == ['readline'] * 5, stream.calls
    assert req.content_length == len(big)
    # a closed connection: no request
    stream = OnlyReadline(b'')
    assert unit.run(Request.create(app, stream, Writer(), ('x', 1))) is None


def test_microdot_writes_a_response_by_awrite_and_says_its_reason():
    from microdot import Response
    res = Response({'a': 1}, 409, {'X-Test': 'y'})
    assert res.reason is None and isinstance(res.body, bytes)
    res.reason = 'Conflict'
    out = OnlyAwrite()
    unit.run(res.write(out))
    data = b''.join(out.writes)
    assert data.startswith(b'HTTP/1.0 409 Conflict\r\n'), data
    assert data.endswith(b'\r\n\r\n{"a": 1}'), data
    assert b'\r\nX-Test: y\r\n' in data, data


def test_microdot_dispatch_returns_a_response_object():
    from microdot import Response
    reg, app = make_app()
    req = unit.run(__import__('microdot').Request.create(
        app, OnlyReadline(GET), Writer(), ('x', 1)))
    res = unit.run(app.dispatch_request(req))
    # app.http.server sets reason on it and picks one write by its body's type
    assert isinstance(res, Response) and res.reason is None, res
    assert isinstance(res.body, bytes) and res.status_code == 200


def test_every_status_has_its_reason():
    from app.http.server import REASONS
    reg, app = make_app()
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 1000})
    for request, status, reason in (
            (GET, 200, b'OK'),
            (post(BODY.replace(b'"led"', b'"l2"').replace(b': 2,', b': 4,'))
             + BODY.replace(b'"led"', b'"l2"').replace(b': 2,', b': 4,'),
             201, b'Created'),
            (post(BODY) + BODY, 409, b'Conflict'),
            (b'DELETE /api/bindings/l2 HTTP/1.1\r\n\r\n', 204, b'No Content'),
            (b'GET /nope HTTP/1.1\r\n\r\n', 404, b'Not Found'),
            (b'DELETE /api/status HTTP/1.1\r\n\r\n', 405,
             b'Method Not Allowed'),
            (post(b'{,}') + b'{,}', 400, b'Bad Request'),
            (b'GARBAGE\r\n\r\n', 400, b'Bad Request'),
            (b'GET /' + b'a' * 100 + b' HTTP/1.1\r\n\r\n', 414,
             b'URI Too Long')):
        got, head, body, _, _ = serve(app, [request])
        assert got == status, (request, got, body)
        assert head.startswith(b'HTTP/1.0 %d %s\r\n' % (status, reason)), head
    for status, reason in REASONS.items():
        assert reason and reason != 'N/A', status


def test_an_event_stream_through_microdot_counts_what_it_wrote():
    """app.http.events knows a client keeps up by the events Microdot took from
    sse_response's iterator (not by Microdot's private queue)."""
    reg, app = make_app()
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 1000})

    class Gone(Writer):  # a client that leaves after a few writes
        async def awrite(self, data):
            self.writes.append(bytes(data))
            if b'event: ready' in data:
                raise OSError(104)

    seen = []

    async def pause():
        await asyncio.sleep_ms(10)

    @app.after_request
    def keep(request, response):
        seen.append(response.body)
        return response

    for _ in range(5):  # more than the 3 streams allowed at once
        writer = Gone()
        unit.run(app.handle_request(
            Reader([b'GET /api/events HTTP/1.1\r\n\r\n']), writer))
        unit.run(pause())  # the stream's task ends
        out = b''.join(writer.writes)
        # the slot came back when the client left
        assert out.startswith(b'HTTP/1.0 200 OK\r\n'), out
        assert b'event: status' in out and b'event: binding' in out, out
        assert seen[-1].taken == 3, seen[-1].taken  # status, binding, ready


unit.main(globals())
