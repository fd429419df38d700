"""pinwheel's HTTP core: a small server in Microdot's style, with limits.

``Server`` is the app: ``route(url, methods)`` registers a handler;
``before_request``, ``after_request`` and ``after_error_request`` hooks
run around handlers (a before hook that returns something answers
instead of the handler). Errors are answered here, each as its JSON of
app/errors.py: 400 ``bad_request``, 404 ``not_found``, 405
``method_not_allowed``, 413 ``too_large``, 414 ``uri_too_long``; an
``ApiError`` a handler raises is its own answer, a MemoryError 503
``low_memory`` (with Retry-After), any other exception 500 ``internal``
naming it (``app.http.fallback`` words the core's own errors and the
answer to OPTIONS: loaded by the first, a board asked only what it
serves never holds them). A handler gets the ``Request`` and the URL's
arguments (``<name>``: one segment, ``<path:name>``: the rest), and
returns a ``Response`` or what one is made of: a body (dict or list:
JSON; str; bytes; an iterator, sync or async, of chunks: streamed), or
``(body, status)``, or ``(body, status, headers)``. HEAD is served by
GET routes (the head alone); OPTIONS answers the methods allowed.

A long JSON list goes out in pieces: ``json_items(prefix, items, each,
suffix)`` is the Response whose body is ``prefix``, the JSON of
``each(item)`` for each of ``items`` (comma-separated), then ``suffix``
(GET /api/bindings: ``'{"bindings": ['``, the bindings, ``h.to_dict``,
``']}'``). Its first 2 KB are made with the handler (an error, or the
heap running out, there is the route's JSON error); if that is all of
it, it goes out as any body, with its Content-Length. Else the head
says ``Transfer-Encoding: chunked`` (RFC 9112 section 7.1; HTTP/1.1
requests: HTTP/1.0 and HEAD get the whole document made first) and the
rest follows a KB a chunk, made as it goes and written piece by piece:
the heap holds one item and a KB or two in pieces, not the whole list
and its document, nor any block larger than an item. If the
heap runs out after the head, the connection closes without the last,
empty chunk, which is how a client tells a cut answer from a whole one.

Limits: the request must arrive within ``read_timeout_s`` (else 408 and
close), connections beyond ``max_connections`` get a 503 at once, the
head is capped at 4 KB (400), the path at 96 characters (414), a body at
8 KB (413, after reading it away: closing on unread bytes resets the
connection and the client never sees the answer). Every error is the
JSON of app/errors.py. A request the heap has no room for gets a canned
503 ``low_memory`` (built at import) or a close before any byte: never a
body shorter than its Content-Length.

The head is read in 512-byte chunks (a socket's ``readline`` makes a
system call per byte) and a response goes out in one write when its body
is known and small.
"""
import asyncio
import sys
from time import ticks_add, ticks_diff, ticks_ms
from micropython import const
from json import dumps
from app.errors import ApiError, error, low_memory

MAX_BODY = const(8192)  # larger bodies get 413
_DRAIN_CHUNK = const(512)
_MAX_HEAD = const(4096)  # request line + headers; a browser sends well under 2 KB
_MAX_LINE = const(2048)  # one header line
MAX_PATH = const(96)  # our longest route with a 32-char id is 51; static names 64
_HEAD_CHUNK = const(512)  # a GET from curl or wrk is under 100 bytes, a browser's ~600
_ONE_WRITE = const(1024)  # a body up to this size goes out with its head
# json_items: a document up to this size goes out whole (no chunks: fewer
# writes, and no room() probe), then a chunk per _ONE_WRITE
_FIRST = const(2048)
# a client that went away: broken pipe, reset (BSD, Linux), closed socket
_GONE = const((32, 54, 104, 128))
METHODS = ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')  # a route's, by bit
_HEX = const('0123456789abcdefABCDEF')
_JSON = const('application/json; charset=UTF-8')
# RFC 9110 section 15
REASONS = {200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified',
           400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
           404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
           408: 'Request Timeout', 409: 'Conflict',
           413: 'Content Too Large', 414: 'URI Too Long',
           500: 'Internal Server Error', 503: 'Service Unavailable'}


def _canned(answer):
    """An error answer (app.errors' (body, status, headers)) as the bytes
    sent, with Retry-After."""
    body = dumps(answer[0])
    status = answer[1]
    return ('HTTP/1.0 %d %s\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n'
            '%s' % (status, REASONS[status], len(body), body)).encode()


# built now: when the heap is too full for a request, it is too full to
# build an answer saying so (the 408 and the busy 503 are built when sent:
# a MemoryError then answers low_memory instead)
LOW_MEMORY = _canned(low_memory())


def unquote(text, query=False):
    """``text`` with its %XX escapes decoded (a URL's "my%20led" is "my
    led"); as it came if the result is not UTF-8. ``query``: a query's
    name or value, where "+" is a space too and a bad escape or bytes
    that are not UTF-8 are a ValueError (a 400)."""
    if query:
        text = text.replace('+', ' ')
    if '%' not in text:
        return text
    parts = text.split('%')
    out = bytearray(parts[0].encode())
    for part in parts[1:]:
        code = part[:2]
        if len(code) == 2 and code[0] in _HEX and code[1] in _HEX:
            out.append(int(code, 16))
            out.extend(part[2:].encode())
        elif query:
            raise ValueError
        else:
            out.extend(b'%' + part.encode())
    try:
        return bytes(out).decode()
    except UnicodeError:
        if query:
            raise
        return text


class Request:
    """One request: ``method``, ``path`` (without the query), ``version``
    ("HTTP/1.1"), ``args`` (the query, %-decoded: {name: value}),
    ``headers`` ({lower-case name: value}: ``headers.get('origin')``),
    ``content_length``, ``body``
    (bytes, or a bytearray when it came after the head), ``client_addr``
    ((host, port)). ``after_request(f)`` adds a hook for this request
    alone. Made from the head (bytes, up to its blank line); ValueError if
    it is malformed."""
    t0 = None  # when it started, if a before hook notes it (the request log)
    unread = 0  # bytes of a body too large to take, left to read away

    def __init__(self, head, client_addr):
        lines = head.decode().split('\n')
        if len(lines[0]) > _MAX_LINE:
            raise ValueError
        method, url, self.version = lines[0].split()
        self.method = method
        self.client_addr = client_addr
        self.path, _, query = url.partition('?')
        self.args = args = {}
        for pair in query.split('&') if query else ():
            name, _, value = pair.partition('=')
            args[unquote(name, True)] = unquote(value, True)
        self.headers = headers = {}
        for line in lines[1:]:
            name, colon, value = line.partition(':')
            if len(line) > _MAX_LINE or not colon and line.strip():
                raise ValueError
            if colon:
                headers[name.strip().lower()] = value.strip()
        self.content_length = n = int(headers.get('content-length', 0))
        if n < 0:
            raise ValueError
        self.body = b''
        self.hooks = None

    def after_request(self, f):
        """Run ``f(request, response)`` after this request's handler."""
        if self.hooks is None:
            self.hooks = []
        self.hooks.append(f)
        return f


class Response:
    """``status`` (its reason from REASONS), ``headers`` (a dict) and
    ``body``: bytes or str, dict or list (JSON, kept as the str ``dumps``
    makes: a copy the size of the document saved when it is ASCII, as
    JSON mostly is), or an iterator of bytes chunks (sync or async; closed
    with its ``close()`` if it has one), streamed after the head.
    ``more``: the pieces of a document still to make (``json_items``)."""
    more: object = None

    def __init__(self, body: object = b'', status=200, headers=None):
        self.status = status
        self.headers = headers = {} if headers is None else headers
        if isinstance(body, (dict, list)):
            body = dumps(body)
            headers['Content-Type'] = _JSON
        if isinstance(body, str) and len(memoryview(body)) != len(body):  # pyright: ignore
            # not ASCII: a stream's write of part of a str would resume
            # at a character count, not at the byte it stopped at
            body = body.encode()
        self.body = body


def json_items(prefix, items, each, suffix):
    """The Response of a JSON document made and sent in pieces (the
    module's docstring): ``prefix``, ``each(item)`` as JSON for each of
    ``items``, ``suffix``."""
    res = Response('', 200, {'Content-Type': _JSON})
    res.more = _pieces(prefix, items, each, suffix)
    return res


def _pieces(prefix, items, each, suffix):
    yield prefix
    sep = ''
    for item in items:
        yield sep
        yield dumps(each(item))
        sep = ', '
    yield suffix


def _gather(more, limit):
    """(the next pieces of ``more``, a list: at least ``limit`` characters
    unless it ended first; True if it ended)."""
    got = []
    n = 0
    for piece in more:
        if piece:
            got.append(piece)
            n += len(piece)
            if n >= limit:
                return got, False
    return got, True


def _match(pattern, path):
    """The URL arguments (a list) if ``path`` matches ``pattern``, else
    None. Segment by segment, without regular expressions (MicroPython's
    ``re`` recurses per character); a route without ``<`` is one string
    comparison."""
    if '<' not in pattern:
        return [] if pattern == path else None
    args = []
    i = j = 0
    n, m = len(pattern), len(path)
    while i < n:
        if not path.startswith('/', j):
            return None
        e = pattern.find('/', i + 1)
        f = path.find('/', j + 1)
        e = n if e < 0 else e
        f = m if f < 0 else f
        if pattern.startswith('/<path:', i):
            if j + 1 >= m:
                return None
            args.append(path[j + 1:])
            return args
        if pattern.startswith('/<', i):
            if f == j + 1:
                return None
            args.append(path[j + 1:f])
        elif e - i != f - j or not path.startswith(pattern[i:e], j):
            return None
        i, j = e, f
    return args if j == m else None


class Server:
    """The app; ``limits`` is a callable returning the config's ``http``
    section, read per connection so PUT /api/config applies."""

    def __init__(self, limits=None):
        self.limits = limits or dict
        self.routes = []  # (url pattern, method bits, handler)
        self.before = []  # hooks: before_request, after_request,
        self.after = []  # after_error_request
        self.after_error = []
        self.server = None
        self.open = 0  # connections being served now
        self.refused = 0  # answered 503 (cap reached)
        self.timeouts = 0  # dropped: request not sent in time
        # connection task -> deadline (ms) while its request is being read;
        # one watchdog task enforces them all: an asyncio.wait_for per
        # request would cost a task each
        self._reading = {}
        self._watchdog = None

    def route(self, url, methods=('GET',)):
        """Decorator: ``handler(request, *url_args)`` serves ``url`` for
        ``methods``. A route costs one tuple: register one per URL."""
        bits = 0
        for m in methods:
            bits |= 1 << METHODS.index(m)

        def add(handler):
            self.routes.append((url, bits, handler))
            return handler
        return add

    def before_request(self, f):
        self.before.append(f)
        return f

    def after_request(self, f):
        self.after.append(f)
        return f

    def after_error_request(self, f):
        self.after_error.append(f)
        return f

    def dispatch(self, req, status=0):
        """The Response to ``req`` (None: malformed, a 400) or, with
        ``status``, its error answer; hooks run."""
        handled = res = False
        try:
            if req is not None and not status:
                # the first route with the path and the method
                method = 'GET' if req.method == 'HEAD' else req.method
                bit = 1 << METHODS.index(method) if method in METHODS else 0
                status = 404  # no route with the path; 405: not the method
                for url, bits, handler in self.routes:
                    args = _match(url, req.path)
                    if args is not None:
                        if bits & bit:
                            res = self._handle(req, handler, args)
                            handled = True
                            break
                        status = 405
            if not handled:  # the server's own answer: an error, OPTIONS
                from app.http import fallback  # loaded by the first
                res = fallback.answer(self, req, status)
        except Exception as e:  # MemoryError too: 503 if it fits
            if isinstance(e, ApiError):  # a request we refuse
                res = Response(*e.response())
            elif isinstance(e, MemoryError):
                res = Response(*low_memory())
            else:  # a 500 naming it
                from app.http import fallback
                res = fallback.failed(req, e)
        for hook in () if handled else self.after_error:
            res = hook(req, res) or res
        return res

    def _handle(self, req, handler, args):
        res = None
        for hook in self.before:
            res = hook(req)
            if res is not None:
                break
        if res is None:
            res = handler(req, *args)
            if res is None:
                res = Response(b'', 204)
        if not isinstance(res, Response):  # what a Response is made of
            res = Response(*res) if isinstance(res, tuple) else Response(res)
        more = res.more
        if more is not None:  # json_items: the first 2 KB now (or all of it)
            body, ended = _gather(more, _FIRST if req.version == 'HTTP/1.1'
                                  and req.method != 'HEAD' else sys.maxsize)
            if ended:  # a body as any other
                res.__init__(''.join(body), res.status, res.headers)
                res.more = None
            else:  # its pieces: chunks (_write)
                res.body = body
        for hooks in (self.after, req.hooks or ()):
            for hook in hooks:
                res = hook(req, res) or res
        return res

    async def start_server(self, host='0.0.0.0', port=5000, ready=None):
        """Serve until the socket closes. ``ready()``, if given, is called
        once the socket is bound and listening: a "serving" line printed
        before could announce a server that never comes up. OSError
        ENOMEM if the heap left after boot has not one free block of 2 KB:
        no room to serve even a 503, and asyncio's accept loop would die
        of the MemoryError of a connection (the caller runs the board
        headless)."""
        if not room():
            raise OSError(12)  # ENOMEM
        # 3x the cap as the listen backlog: the kernel holds a burst
        # instead of dropping SYNs (with a backlog of the cap alone, 50
        # clients waited seconds for SYN retries while the server idled).
        # Queued connections cost no MicroPython heap; lwIP bounds them.
        backlog = 3 * self.limits().get('max_connections', 16)
        self.server = await asyncio.start_server(self.handle_request, host,
                                                 port, backlog)
        if ready is not None:
            ready()
        await self.server.wait_closed()

    async def handle_request(self, reader, writer):
        """Serve one connection: one request, one answer, close."""
        self.open += 1
        req = res = None
        try:
            http = self.limits()
            timeout = http.get('read_timeout_s', 5)
            if self.open > http.get('max_connections', 16):
                self.refused += 1
                try:  # read the request away (so the close is clean)
                    await asyncio.wait_for(_read(reader, None, False),
                                           min(timeout, 2))
                except Exception:
                    pass
                from app.http import fallback
                _say(writer, fallback.busy())
                return
            task = asyncio.current_task()
            self._reading[task] = ticks_add(ticks_ms(), timeout * 1000)
            if self._watchdog is None:
                self._watchdog = asyncio.create_task(self._watch())
            status = 0
            try:
                req, status = await _read(reader, writer)
            except asyncio.CancelledError:
                if task in self._reading:  # not the watchdog's: pass it on
                    raise
                self.timeouts += 1
                from app.http import fallback
                _say(writer, fallback.timeout())
                return
            except MemoryError:  # no room to read it: 503, not a 400
                _say(writer, LOW_MEMORY)
                return
            except Exception:  # malformed: req stays None -> 400
                pass
            finally:
                self._reading.pop(task, None)
            if status == 413 and req is not None:
                # read the body away, past the deadline of the head: a
                # client that stopped sending still gets its 413
                try:
                    await asyncio.wait_for(_skip(reader, req.unread), timeout)
                except Exception:
                    pass
            try:
                res = self.dispatch(req, status)
            except MemoryError:  # even the error answer did not fit
                res = None
            except Exception as e:  # never leave a client hanging
                print('pinwheel: dispatch failed:', repr(e))
                res = Response(*error(500, 'internal', 'internal error: %s'
                                      % type(e).__name__))
            if res is None:
                _say(writer, LOW_MEMORY)
            else:
                await _write(writer, res, req is not None
                             and req.method == 'HEAD')
        except OSError as e:
            if e.errno not in _GONE:
                print('pinwheel: connection error', e)
        except MemoryError:  # _write sent nothing yet (it says so itself)
            _say(writer, LOW_MEMORY)
        finally:
            self.open -= 1
            close = getattr(res, 'body', None)  # res may be None
            close = getattr(close, 'close', None)  # a stream's
            if close is not None:
                try:
                    close()
                except Exception:
                    pass
            # this frame may outlive the request (a stale pointer the GC
            # sees): it should not hold the request and its answer
            req = res = None
            try:
                await writer.aclose()
            except OSError:
                pass
            except MemoryError:  # no room for aclose's coroutine
                writer.s.close()

    async def _watch(self):
        """Cancel the reads that are past their deadline."""
        reading = self._reading
        while reading:
            await asyncio.sleep_ms(100)
            now = ticks_ms()
            for task, deadline in list(reading.items()):
                if ticks_diff(now, deadline) >= 0:
                    del reading[task]
                    task.cancel()
        self._watchdog = None


async def _read(reader, writer, keep=True):
    """(request, 0), or (request, an error status to answer) after
    reading what it sent; (None, 0): the client sent nothing. ValueError:
    a malformed or oversized head. ``keep=False``: the body is read away."""
    buf = b''
    while True:
        chunk = await reader.read(_HEAD_CHUNK)
        if not chunk:  # closed: what came is the head
            if not buf:
                return None, 0
            end = len(buf)
            break
        start = max(0, len(buf) - 2)
        buf = buf + chunk if buf else chunk
        # just past the head's blank line (bare newlines or CRLF), or 0
        a = buf.find(b'\n\n', start)
        b = buf.find(b'\n\r\n', start)
        end = (b + 3 if b >= 0 else 0) if a < 0 else (
            a + 2 if b < 0 or a < b else b + 3)
        if end:
            break
        if len(buf) > _MAX_HEAD:
            raise ValueError
    req = Request(buf[:end], writer and writer.get_extra_info('peername'))
    n = req.content_length
    if n > MAX_BODY or not keep:
        req.unread = n - len(buf) + end
        if not keep:  # _refuse's: within its wait_for
            await _skip(reader, req.unread)
        return req, 413
    if len(req.path) > MAX_PATH:
        return req, 414
    got = len(buf) - end  # of the body, read with the head
    if got >= n:
        req.body = buf[end:end + n]
    else:  # read into one buffer: no copies of an 8 KB update chunk
        req.body = body = bytearray(n)  # pyright: ignore
        body[:got] = memoryview(buf)[end:]
        buf = None
        view = memoryview(body)
        while got < n:
            k = await reader.readinto(view[got:])
            if not k:
                raise EOFError
            got += k
    return req, 0


async def _write(writer, res, head_only):
    """Send ``res``: its head (made whole first: a MemoryError while it is
    made has sent nothing, and the caller says so), then its body. Once a
    write has begun, a MemoryError only ends the answer: the close that
    follows is all that is left to say."""
    body = res.body
    more = res.more  # json_items' pieces after the first 2 KB (body)
    headers = res.headers
    whole = isinstance(body, (bytes, str)) and more is None
    if not whole and not head_only and not (
            room() if more is None else room(_ONE_WRITE)):
        # a streamed body allocates as it goes: a head sent now could
        # be followed by a short body (json_items' chunks: a chunk's
        # pieces, a KB in all, none of them larger)
        _say(writer, LOW_MEMORY)
        return
    if more is not None:
        headers['Transfer-Encoding'] = 'chunked'
        headers['Connection'] = 'close'
    elif whole and 'Content-Length' not in headers:
        headers['Content-Length'] = len(body)
    if body and 'Content-Type' not in headers:
        headers['Content-Type'] = 'text/plain; charset=UTF-8'
    status = res.status
    lines = []  # a loop: a comprehension is a function
    for kv in headers.items():
        lines.append('%s: %s\r\n' % kv)
    head = ('HTTP/1.%d %d %s\r\n%s\r\n' % (
        more is not None, status, REASONS.get(status, 'Unknown'),
        ''.join(lines))).encode()
    try:
        if more is not None:
            # chunks (RFC 9112 section 7.1): a size line (after the end
            # of the chunk before), then the pieces as made: no copy, no
            # block larger than a piece. Each piece goes to the socket at
            # once (write: no await) and the chunk is drained once: an
            # await a piece let every other connection's task run between
            # two pieces, and under load an answer took 50 ms
            end = head  # what goes before the next size line
            while True:
                n = 0
                for piece in body:  # pyright: ignore
                    n += len(memoryview(piece))  # pyright: ignore
                if n:
                    writer.write(end + b'%x\r\n' % n)
                    for piece in body:  # pyright: ignore
                        # its bytes: a partial write resumes by bytes
                        writer.write(memoryview(piece))  # pyright: ignore
                    await writer.drain()
                    end = b'\r\n'
                if more is None:
                    break
                body, ended = _gather(more, _ONE_WRITE)
                if ended:
                    more = None
            await writer.awrite(end + b'0\r\n\r\n')  # the last: empty
        elif head_only or not body:
            await writer.awrite(head)
        elif whole and len(body) <= _ONE_WRITE:
            # bytes + str is bytes on MicroPython
            await writer.awrite(head + body)  # pyright: ignore
        else:
            await writer.awrite(head)
            if whole:
                await writer.awrite(body)
            elif hasattr(body, '__anext__'):
                async for chunk in body:  # pyright: ignore
                    await writer.awrite(chunk)
            else:
                for chunk in body:  # pyright: ignore
                    await writer.awrite(chunk)
    except MemoryError:
        pass


# A streamed answer (a file, un-gzipped as it goes) allocates a few small
# blocks per chunk after its head has gone out; it starts only with this
# much in one free block (after a collection if need be), so that it ends.
_STREAM_ROOM = const(2048)


def room(need=_STREAM_ROOM):
    """True if a block of ``need`` bytes can be had now. The probe block
    is garbage at once; a collection runs only if the heap is short."""
    try:
        bytearray(need)
        return True
    except MemoryError:
        return False


async def _skip(reader, left):
    """Read ``left`` bytes away (or until the client closes)."""
    while left > 0:
        chunk = await reader.read(min(left, _DRAIN_CHUNK))
        if not chunk:
            break
        left -= len(chunk)


def _say(writer, data):
    """Send a canned answer. Not a coroutine: a call allocates nothing, and
    the socket takes a few hundred bytes at once (a partial write would
    need memory, and the answer ends with the close either way)."""
    try:
        writer.write(data)
    except (OSError, MemoryError):
        pass
