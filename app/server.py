"""Microdot with limits: a deadline for reading a request, a cap on open
connections, and oversized bodies drained before the 413 goes out.

Microdot waits for a request with no timeout, so a client that sends half
a request and stops would hold its connection and its heap forever. Here
the request must arrive within ``read_timeout_s`` (else 408 and close), and
connections beyond ``max_connections`` get a 503 at once.
"""
import asyncio
from time import ticks_add, ticks_diff, ticks_ms
from micropython import const
from json import dumps
from microdot import Microdot, Request, Response
from microdot.microdot import MUTED_SOCKET_ERRORS, NoCaseDict
from app.errors import error

_DRAIN_CHUNK = const(512)
_MAX_HEAD = const(4096)  # request line + headers; a browser sends well under 2 KB
_MAX_PATH = const(96)  # our longest route with a 32-char id is 51; static names 64
_HEAD_CHUNK = const(512)  # a GET from curl or wrk is under 100 bytes, a browser's ~600


def _error(status, code, message):
    return Response(*error(status, code, message))


def _canned(status, reason, code, message):
    body = dumps(error(status, code, message)[0]).encode()
    return ('HTTP/1.0 %d %s\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n'
            % (status, reason, len(body))).encode() + body


BUSY = _canned(503, 'Service Unavailable', 'busy', 'too many open '
               'connections; retry in a second')
TIMEOUT = _canned(408, 'Request Timeout', 'timeout', 'the request did not '
                  'arrive in time')
# built now: when the heap is too full for a request, it is too full to
# build an answer saying so
LOW_MEMORY = _canned(503, 'Service Unavailable', 'low_memory', 'the board '
                     'ran out of memory for this request; retry')


class Server(Microdot):
    """The app's Microdot; ``limits`` is a callable returning the config's
    ``http`` section, read per connection so PUT /api/config applies."""

    def __init__(self, limits=None):
        super().__init__()
        self.limits = limits or dict
        self.open = 0  # connections being served now
        self.refused = 0  # answered 503 (cap reached)
        self.timeouts = 0  # dropped: request not sent in time
        # connection task -> deadline (ms) while its request is being read;
        # one watchdog task enforces them all: an asyncio.wait_for per
        # request costs a task each (~50 us of CPU, a fifth of the in-VM
        # cost of a GET /api/bindings)
        self._reading = {}
        self._watchdog = None

    async def start_server(self, host='0.0.0.0', port=5000, debug=False,
                           ssl=None, ready=None):
        """Microdot's, with a deeper listen backlog: the default 5 makes a
        burst of clients wait for SYN retries (1 s, 3 s) instead of being
        accepted and answered (a 503 at worst). ``ready()``, if given, is
        called once the socket is bound and listening: a "serving" line
        printed before could announce a server that never comes up."""
        self.debug = debug

        # 3x the cap: the kernel holds a burst instead of dropping SYNs.
        # 50 wrk clients, cap 16: backlog 16 gave 430 req/s and 6.7 s worst
        # latency (SYN retries left the server idle), 48 gave 920 req/s and
        # 0.2 s. Queued connections cost no MicroPython heap; lwIP bounds
        # them by its own PCB pool.
        backlog = 3 * self.limits().get('max_connections', 16)
        if ssl is None:  # firmware before asyncio TLS has no ssl parameter
            self.server = await asyncio.start_server(self.handle_request, host,
                                                     port, backlog)
        else:
            self.server = await asyncio.start_server(self.handle_request, host,
                                                     port, backlog, ssl=ssl)
        if ready is not None:
            ready()
        await self.server.wait_closed()

    async def handle_request(self, reader, writer):
        # one coroutine per request, not two: on the unix port's 2 MB heap
        # each coroutine call costs ~10 us of CPU
        self.open += 1
        try:
            http = self.limits()
            timeout = http.get('read_timeout_s', 5)
            if self.open > http.get('max_connections', 16):
                self.refused += 1
                await self._refuse(reader, writer, timeout)
                return
            req = out = None
            task = asyncio.current_task()
            self._reading[task] = ticks_add(ticks_ms(), timeout * 1000)
            if self._watchdog is None:
                self._watchdog = asyncio.create_task(self._watch())
            try:
                req = await read_request(self, reader, writer)
            except asyncio.CancelledError:
                if task in self._reading:  # not the watchdog's: pass it on
                    raise
                self.timeouts += 1
                await _send_close(writer, TIMEOUT)
                return
            except OSError as exc:
                if exc.errno not in MUTED_SOCKET_ERRORS:
                    raise
            except Exception:  # malformed request: req stays None -> 400
                pass
            finally:
                self._reading.pop(task, None)
            if req is not None and req.content_length > Request.max_body_length:
                # unread body: drain it, or closing resets the connection
                # and the client never sees the 413
                await _drain(reader, req.content_length - req.consumed, timeout)
            if req is not None and len(req.path) > _MAX_PATH:
                # MicroPython's re recurses per character: a long path
                # would blow the stack inside Microdot's route matching
                res = _error(414, 'uri_too_long', 'the path is longer than '
                             '%d characters' % _MAX_PATH)
            else:
                try:
                    res = await self.dispatch_request(req)
                except MemoryError:  # even the error answer did not fit
                    res = None
                except Exception as e:  # never leave a client hanging
                    print('pinwheel: dispatch failed:', repr(e))
                    res = _error(500, 'internal', 'internal error: %s'
                                 % type(e).__name__)
            try:
                if res is None:
                    await writer.awrite(LOW_MEMORY)
                elif res != Response.already_handled:
                    out = _Coalesced(writer, isinstance(res.body, bytes))
                    try:
                        await res.write(out)
                    except MemoryError:
                        # nothing went out yet: say so; else part of the
                        # answer went out and closing is all that is left
                        if out.head is not None or out.pending is not None:
                            out = None
                            await writer.awrite(LOW_MEMORY)
                    else:
                        rest = out.rest()
                        if rest:
                            await writer.awrite(rest)
            finally:
                # this frame may outlive the request (a stale pointer the
                # GC sees): it should not hold the request and its answer
                req = res = out = None
                try:
                    await writer.aclose()
                except OSError:
                    pass
        except OSError as e:
            if e.errno not in MUTED_SOCKET_ERRORS:
                print('pinwheel: connection error', e)
        finally:
            self.open -= 1

    async def _watch(self):
        """Cancel the reads that are past their deadline."""
        reading = self._reading
        while reading:
            await asyncio.sleep_ms(100)
            now = ticks_ms()
            for task in [t for t, d in reading.items()
                         if ticks_diff(now, d) >= 0]:
                del reading[task]
                task.cancel()
        self._watchdog = None

    async def _refuse(self, reader, writer, timeout):
        """Read the request head (so the close is clean), answer 503."""
        try:
            await asyncio.wait_for(_skip_head(reader), min(timeout, 2))
        except Exception:
            pass
        await _send_close(writer, BUSY)


_DONE = const(())  # awaiting it returns at once (MicroPython's await is yield from)


class _Coalesced:
    """The writer Microdot's ``Response.write`` gets: it writes the status
    line, each header and the blank line as writes of their own, each a
    system call and a trip through the event loop. The head is kept until
    its blank line and goes out in one write, with the body when the body
    is bytes (known whole); a streamed body (a file, events) follows as
    written. ``awrite`` is a plain method returning what to await: nothing
    (``_DONE``) while it keeps the head, the socket's write otherwise."""

    def __init__(self, writer, merge):
        self.writer = writer
        self.merge = merge
        self.head = []  # None once the head is out
        self.pending = None  # the whole head, waiting for the body

    def awrite(self, data):
        head = self.head
        if head is not None:
            head.append(data)
            if data != b'\r\n':
                return _DONE
            self.head = None
            data = b''.join(head)
            if self.merge:
                self.pending = data
                return _DONE
        elif self.pending is not None:
            data = self.pending + data
            self.pending = None
        return self.writer.awrite(data)

    def rest(self):
        """What is still kept (a head with no body after it), once."""
        data = self.pending or (b''.join(self.head) if self.head else None)
        self.pending = self.head = None
        return data


async def read_request(app, reader, writer):
    """Microdot's ``Request.create`` with the head capped at _MAX_HEAD
    bytes: Microdot caps each line (2 KB) but not their number, so one client
    could fill a 96 KB heap with headers. Too long a head raises (-> 400).

    The head is read in chunks, not by ``readline``: on a socket that reads
    one byte per system call (a 60-byte GET: 60 reads and a trip through the
    event loop per line). Bytes read past the head start the body; the
    request's ``consumed`` says how many (a body too large to keep is
    drained, less those)."""
    limit = Request.max_readline
    buf = await reader.read(_HEAD_CHUNK)
    start = 0  # of the next line
    method = url = http_version = None
    headers = NoCaseDict()
    content_length = 0
    while True:
        nl = buf.find(b'\n', start)
        if nl < 0:
            if len(buf) > _MAX_HEAD or len(buf) - start > limit:
                raise ValueError('request head too large')
            chunk = await reader.read(_HEAD_CHUNK)
            if chunk:
                buf += chunk
                continue
            if start >= len(buf):  # closed: what came is all there is
                break
            nl = len(buf)  # closed mid-line: the line as it is, as readline
        if nl >= _MAX_HEAD or nl + 1 - start > limit:
            raise ValueError('request head too large')
        line = buf[start:nl].strip()
        start = nl + 1
        if not line:  # the blank line; first: no request at all
            break
        line = line.decode()
        if method is None:
            method, url, http_version = line.split()
            http_version = http_version.split('/', 1)[1]
            continue
        header, value = line.split(':', 1)
        value = value.strip()
        headers[header] = value
        if header.lower() == 'content-length':
            content_length = int(value)
    if method is None:
        return None
    extra = buf[start:]
    body = b''
    stream = None
    if 0 < content_length <= Request.max_body_length:
        need = content_length - len(extra)
        body = extra[:content_length] if need <= 0 else \
            extra + await reader.readexactly(need)
    else:
        stream = reader
    req = Request(app, writer.get_extra_info('peername'), method, url,
                  http_version, headers, body=body, stream=stream,
                  sock=(reader, writer))
    req.consumed = len(extra)
    return req


async def _skip_head(reader):
    length = 0
    for _ in range(64):
        line = await reader.readline()
        if not line or line == b'\r\n' or line == b'\n':
            break
        if line[:15].lower() == b'content-length:':
            try:
                length = int(line[15:])
            except ValueError:
                pass
    while 0 < length:
        chunk = await reader.read(min(length, _DRAIN_CHUNK))
        if not chunk:
            break
        length -= len(chunk)


async def _drain(reader, length, timeout):
    async def skip():
        left = length
        while left > 0:
            chunk = await reader.read(min(left, _DRAIN_CHUNK))
            if not chunk:
                break
            left -= len(chunk)
    try:
        await asyncio.wait_for(skip(), timeout)
    except Exception:
        pass


async def _send_close(writer, data):
    try:
        await writer.awrite(data)
        await writer.aclose()
    except OSError:
        pass
