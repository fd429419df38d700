"""app.http.server, pinwheel's HTTP core: its socket side, through the app
with scripted streams (the head is read in chunks, not a system call per
byte; bytes read past it start the body; the response goes out in as few
writes as it can), and the core itself: parsing, routing, 404 vs 405,
HEAD and OPTIONS, streamed bodies, hooks and error handlers."""
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

    async def readinto(self, buf):
        c = await self.read(len(buf))
        buf[:len(c)] = c
        return len(c)

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
    bare = b'GET /api/status HTTP/1.0\n\n'  # bare newlines, a byte a read
    status, _, _, reader, _ = serve(app, [bare[i:i + 1] for i in range(len(bare))])
    assert status == 200 and reader.reads == len(bare)


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

    # the route's answer: a 503 low_memory made then
    status, head, body, _, _ = serve(app, [b'GET /starved HTTP/1.1\r\n\r\n'])
    assert status == 503 and b'\r\nRetry-After: 1\r\n' in head, head
    assert json.loads(body)['error']['code'] == 'low_memory', body
    assert b'\r\nContent-Type: application/json; charset=UTF-8\r\n' in head, \
        head  # not the canned one

    import app.http.server as core
    made = core.low_memory

    def no_room_either():  # nor does the error answer
        raise MemoryError
    core.low_memory = no_room_either
    try:
        status, head, body, _, _ = serve(
            app, [b'GET /starved HTTP/1.1\r\n\r\n'])
    finally:
        core.low_memory = made
    assert status == 503 and b'\r\nRetry-After: 1' in head, head
    assert json.loads(body)['error']['code'] == 'low_memory', body
    assert head.startswith(b'HTTP/1.0 503 Service Unavailable\r\n'
                           b'Content-Type: application/json\r\n'), head

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


def test_a_request_is_parsed_from_its_head():
    from app.http.server import Request
    req = Request(b'PATCH /api/bindings/my%20led?live=1&x=a+b%21&flag HTTP/1.1'
                  b'\r\nHost: x:80\r\nX-Token:  s3cret \r\n'
                  b'Content-Length: 12\r\n\r\n', ('10.0.0.2', 5000))
    assert req.method == 'PATCH' and req.path == '/api/bindings/my%20led'
    assert req.args == {'live': '1', 'x': 'a b!', 'flag': ''}, req.args
    # names are lower-case, values as sent less the spaces around them
    assert req.headers == {'host': 'x:80', 'x-token': 's3cret',
                           'content-length': '12'}, req.headers
    assert req.content_length == 12 and req.body == b''
    assert req.client_addr == ('10.0.0.2', 5000)
    for bad in (b'GET /\r\n\r\n', b'\r\n', b'GET / HTTP/1.1\r\nNoColon\r\n',
                b'POST / HTTP/1.1\r\nContent-Length: -1\r\n',
                b'POST / HTTP/1.1\r\nContent-Length: ten\r\n',
                b'GET / HTTP/1.1\r\nX: ' + b'a' * 2100 + b'\r\n',
                b'GET / HTTP/1.1\r\nX: \xff\xfe\r\n',
                b'GET /?a=%ff HTTP/1.1\r\n'):
        try:
            Request(bad, None)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_unquote():
    from app.http.server import unquote
    assert unquote('my%20led') == 'my led' and unquote('a+b') == 'a+b'
    assert unquote('a+b', True) == 'a b' and unquote('%C3%A9') == '\u00e9'
    assert unquote('100%') == '100%' and unquote('%zz%4') == '%zz%4'
    assert unquote('%ff') == '%ff'  # not UTF-8: as it came
    for bad in ('%ff', '%zz', '100%'):  # in a query: a 400
        try:
            unquote(bad, True)
        except ValueError:
            continue
        raise AssertionError(bad)


def test_routes_match_by_segments():
    from app.http.server import _match
    for pattern, path, args in (
            ('/api/status', '/api/status', []),
            ('/api/status', '/api/status/', None),
            ('/api/status', '/api/stat', None),
            ('/', '/', []),
            ('/api/bindings/<id>', '/api/bindings/led', ['led']),
            ('/api/bindings/<id>', '/api/bindings/', None),
            ('/api/bindings/<id>', '/api/bindings', None),
            ('/api/bindings/<id>', '/api/bindings/led/on', None),
            ('/api/bindings/<id>', '/api/bindingsx/led', None),
            ('/api/bindings/<id>/<verb>', '/api/bindings/led/on',
             ['led', 'on']),
            ('/api/bindings/<id>/<verb>', '/api/bindings//on', None),
            ('/static/<path:name>', '/static/a/b.js', ['a/b.js']),
            ('/static/<path:name>', '/static/', None),
            ('/static/<path:name>', '/statics/a', None),
            ('/api/ota/<path:step>', '/api/ota/file/app/main.mpy',
             ['file/app/main.mpy'])):
        assert _match(pattern, path) == args, (pattern, path)


def core_app():
    from app.http.server import Server
    app = Server()
    calls = []

    @app.route('/items', ('GET', 'POST'))
    def items(request):
        calls.append('items')
        if request.method == 'POST':
            return {'got': request.body.decode()}, 201, {'X-New': '1'}
        return ['a', 'b']

    @app.route('/items/<item>/<path:rest>', ('DELETE',))
    def item(request, item, rest):
        return '', 204, {'X-Item': item + ':' + rest}

    @app.route('/text')
    def text(request):
        return 'plain'

    @app.route('/nothing', ('POST',))
    def nothing(request):
        return None

    @app.route('/fails')
    def fails(request):
        raise KeyError('k')
    return app, calls


def answer(app, raw):
    status, head, body, _, writer = serve(app, [raw])
    headers = {}
    for line in head.split(b'\r\n')[1:]:
        name, _, value = line.partition(b': ')
        headers[name.decode().lower()] = value.decode()
    return status, headers, body


def test_core_answers_routes_404_405_head_and_options():
    app, calls = core_app()
    status, headers, body = answer(app, b'GET /items HTTP/1.1\r\n\r\n')
    assert status == 200 and json.loads(body) == ['a', 'b']
    assert headers['content-type'] == 'application/json; charset=UTF-8'
    assert headers['content-length'] == str(len(body))
    status, headers, body = answer(
        app, b'POST /items HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc')
    assert (status, json.loads(body), headers['x-new']) == (
        201, {'got': 'abc'}, '1'), (status, body)
    status, headers, body = answer(app, b'DELETE /items/x/y/z HTTP/1.1\r\n\r\n')
    assert (status, body, headers['x-item']) == (204, b'', 'x:y/z')
    assert headers['content-length'] == '0'
    status, headers, body = answer(app, b'GET /text HTTP/1.1\r\n\r\n')
    assert (status, body) == (200, b'plain')
    assert headers['content-type'].startswith('text/plain')
    status, _, body = answer(app, b'POST /nothing HTTP/1.1\r\n\r\n')
    assert (status, body) == (204, b'')
    # HEAD: a GET route's head, no body, the GET's length
    status, headers, body = answer(app, b'HEAD /items HTTP/1.1\r\n\r\n')
    assert status == 200 and body == b'' and headers['content-length'] == '10'
    # 404: no route has the path; 405: one has, not with this method
    status, _, body = answer(app, b'GET /nope HTTP/1.1\r\n\r\n')
    assert status == 404 and json.loads(body)['error']['code'], body
    status, _, body = answer(app, b'PUT /items HTTP/1.1\r\n\r\n')
    assert status == 405, body
    status, _, _ = answer(app, b'BREW /items HTTP/1.1\r\n\r\n')
    assert status == 405
    status, _, _ = answer(app, b'GET /items/x/y HTTP/1.1\r\n\r\n')
    assert status == 405
    status, headers, body = answer(app, b'OPTIONS /items HTTP/1.1\r\n\r\n')
    assert status == 200 and body == b'', body
    assert headers['allow'] == 'GET, POST, HEAD, OPTIONS', headers
    # an exception with no handler: 500, JSON
    status, _, body = answer(app, b'GET /fails HTTP/1.1\r\n\r\n')
    assert status == 500 and 'error' in json.loads(body), body
    assert calls == ['items', 'items', 'items'], calls  # GET, POST, HEAD


def test_core_hooks_and_error_handlers():
    app, calls = core_app()
    seen = []

    @app.before_request
    def before(request):
        seen.append(('before', request.path))
        if request.args.get('deny'):
            return {'denied': True}, 403

    @app.after_request
    def after(request, response):
        seen.append(('after', response.status))
        response.headers['X-After'] = 'yes'

    @app.after_error_request
    def after_error(request, response):
        seen.append(('error', response.status))
        return response

    @app.route('/refused')
    def refused(request):
        from app.errors import ApiError
        raise ApiError(409, 'conflict', 'in use', 'pin')

    def stamp(request, response):
        response.headers['X-Once'] = request.path

    @app.route('/once')
    def once(request):
        request.after_request(stamp)
        return 'ok'

    status, headers, body = answer(app, b'GET /items HTTP/1.1\r\n\r\n')
    assert status == 200 and headers['x-after'] == 'yes'
    assert seen == [('before', '/items'), ('after', 200)], seen
    del seen[:]
    # a before hook that answers: the handler does not run, after hooks do
    status, _, body = answer(app, b'GET /items?deny=1 HTTP/1.1\r\n\r\n')
    assert status == 403 and json.loads(body) == {'denied': True}
    assert seen == [('before', '/items'), ('after', 403)], seen
    assert calls == ['items'], calls
    del seen[:]
    # a 404 runs no route's hooks: the after_error ones
    status, headers, body = answer(app, b'GET /nope HTTP/1.1\r\n\r\n')
    assert status == 404, body
    assert json.loads(body)['error']['code'] == 'not_found', body
    assert '/nope' in json.loads(body)['error']['message'], body
    assert seen == [('error', 404)] and 'x-after' not in headers, seen
    del seen[:]
    # a handler's exception: 500 naming it; an ApiError: its own answer
    status, _, body = answer(app, b'GET /fails HTTP/1.1\r\n\r\n')
    assert status == 500, body
    assert json.loads(body)['error'] == {
        'code': 'internal', 'message': 'KeyError: %s' % KeyError('k'),
        'field': None}, body
    assert seen == [('before', '/fails'), ('error', 500)], seen
    status, _, body = answer(app, b'GET /refused HTTP/1.1\r\n\r\n')
    assert (status, json.loads(body)) == (409, {'error': {
        'code': 'conflict', 'message': 'in use', 'field': 'pin'}}), body
    status, headers, _ = answer(app, b'GET /once HTTP/1.1\r\n\r\n')
    assert headers['x-once'] == '/once'
    _, headers, _ = answer(app, b'GET /items HTTP/1.1\r\n\r\n')
    assert 'x-once' not in headers  # that hook was the request's alone


def test_core_streams_an_async_body_and_closes_it():
    from app.http.server import Server
    app = Server()
    closed = []

    class Chunks:
        def __init__(self, parts):
            self.parts = list(parts)

        def __aiter__(self):
            return self

        async def __anext__(self):
            await asyncio.sleep_ms(1)
            if not self.parts:
                raise StopAsyncIteration
            return self.parts.pop(0)

        def close(self):
            closed.append(len(self.parts))

    @app.route('/events')
    def events(request):
        return Chunks([b'a', b'bc', b'd']), 200, {'Content-Type': 'text/x'}
    status, head, body, _, writer = serve(app, [b'GET /events HTTP/1.1\r\n\r\n'])
    assert (status, body) == (200, b'abcd'), body
    assert b'content-length' not in head.lower()  # its length is unknown
    assert writer.writes[1:] == [b'a', b'bc', b'd'], writer.writes
    assert closed == [0]
    # HEAD: the head alone; the body is closed unread
    status, head, body, _, _ = serve(app, [b'HEAD /events HTTP/1.1\r\n\r\n'])
    assert (status, body, closed) == (200, b'', [0, 3])


def test_a_large_body_goes_out_in_a_write_of_its_own():
    from app.http.server import Server
    app = Server()
    big = b'x' * 5000

    @app.route('/big')
    def send_big(request):
        return big
    status, head, body, _, writer = serve(app, [b'GET /big HTTP/1.1\r\n\r\n'])
    assert status == 200 and body == big
    assert len(writer.writes) == 2 and writer.writes[1] == big


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


def test_an_event_stream_counts_what_the_server_wrote():
    """app.http.events knows a client keeps up by the events the server took
    from the stream's queue to write."""
    reg, app = make_app()
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 1000})

    class Gone(Writer):  # a client that leaves after a few writes
        async def awrite(self, data):
            # a frame's JSON text is a str (a socket writes either)
            data = data.encode() if isinstance(data, str) else bytes(data)
            self.writes.append(data)
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


def unchunk(body):
    """A chunked body's data, and whether its last, empty chunk came."""
    out = b''
    while body:
        size, _, rest = body.partition(b'\r\n')
        n = int(size, 16)
        if n == 0:
            return out, rest == b'\r\n'
        if len(rest) == n:  # cut after a chunk's data: no end came
            return out + rest, False
        assert rest[n:n + 2] == b'\r\n', body
        out += rest[:n]
        body = rest[n + 2:]
    return out, False


def items_app(n, fail_at=None):
    """A Server with /items: json_items of ``n`` items (non-ASCII names:
    the chunk sizes count bytes); item ``fail_at`` runs out of memory."""
    from app.http.server import Server, json_items
    app = Server()

    def each(i):
        if i == fail_at:
            raise MemoryError
        return {'id': 'caf\u00e9-%d' % i, 'n': i}

    @app.route('/items')
    def items(request):
        return json_items('{"items": [', range(n), each, '], "end": 1}')
    return app


def want_items(n):
    return {'items': [{'id': 'caf\u00e9-%d' % i, 'n': i} for i in range(n)],
            'end': 1}


def test_a_short_json_list_goes_out_whole_in_one_write():
    app = items_app(3)
    status, headers, body = answer(app, b'GET /items HTTP/1.1\r\n\r\n')
    assert status == 200 and json.loads(body) == want_items(3), body
    assert headers['content-length'] == str(len(body)), headers
    assert 'transfer-encoding' not in headers, headers
    _, _, _, _, writer = serve(app, [b'GET /items HTTP/1.1\r\n\r\n'])
    assert len(writer.writes) == 1, writer.writes


def test_a_long_json_list_goes_out_in_chunks_a_kb_each():
    app = items_app(200)
    status, head, body, _, writer = serve(app, [b'GET /items HTTP/1.1\r\n\r\n'])
    assert head.startswith(b'HTTP/1.1 200 OK\r\n'), head
    assert b'\r\nTransfer-Encoding: chunked' in head, head
    assert b'\r\nConnection: close' in head, head
    assert b'Content-Length' not in head, head
    data, ended = unchunk(body)
    assert ended and json.loads(data) == want_items(200), body[-200:]
    # made 2 KB, then a KB at a time, and sent as made
    assert len(data) > 6000 and len(writer.writes) >= len(data) // 1200
    assert max(len(w) for w in writer.writes) < 2500, writer.writes


def test_http10_and_head_get_a_long_json_list_whole():
    app = items_app(200)
    status, headers, body = answer(app, b'GET /items HTTP/1.0\r\n\r\n')
    assert status == 200 and json.loads(body) == want_items(200)
    assert headers['content-length'] == str(len(body)), headers
    assert 'transfer-encoding' not in headers, headers
    status, headers, head_body = answer(app, b'HEAD /items HTTP/1.1\r\n\r\n')
    assert status == 200 and head_body == b'', head_body
    assert headers['content-length'] == str(len(body)), headers


def test_a_json_list_that_runs_out_of_memory():
    # within its first KB: the route's answer is a whole 503 low_memory
    status, headers, body = answer(items_app(200, fail_at=5),
                                   b'GET /items HTTP/1.1\r\n\r\n')
    assert status == 503 and headers['retry-after'] == '1', headers
    assert json.loads(body)['error']['code'] == 'low_memory', body
    assert headers['content-length'] == str(len(body)), headers
    # after its head went out: the connection closes without the last,
    # empty chunk (a client sees a cut answer, never a whole-looking one)
    status, head, body, _, writer = serve(items_app(200, fail_at=100),
                                          [b'GET /items HTTP/1.1\r\n\r\n'])
    assert status == 200 and b'chunked' in head, head
    data, ended = unchunk(body)
    assert not ended and data, body[-100:]
    assert b''.join(writer.writes).count(b'HTTP/1.') == 1, writer.writes


def test_get_bindings_sends_one_binding_at_a_time():
    reg, app = make_app()
    for i, pin in enumerate((4, 5, 12, 13)):
        reg.create({'id': 'led%d' % i, 'kind': 'blink', 'pin': pin,
                    'period_ms': 1000})
    for pin in (14, 15, 16, 17):  # long patterns: over 2 KB in all
        reg.create({'id': 'p%d' % pin, 'kind': 'pattern', 'pin': pin,
                    'steps_ms': [1000 + i for i in range(32)]})
    want = {'bindings': [h.to_dict() for h in reg.bindings]}
    status, head, body, _, _ = serve(app, [GET])
    assert b'chunked' in head, head
    data, ended = unchunk(body)
    assert ended and json.loads(data) == want
    status, head, body, _, _ = serve(
        app, [GET.replace(b'HTTP/1.1', b'HTTP/1.0')])
    assert b'chunked' not in head and json.loads(body) == want, head


unit.main(globals())
