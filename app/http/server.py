"""Microdot with limits: a deadline for reading a request, a cap on open
connections, and oversized bodies drained before the 413 goes out.

Microdot waits for a request with no timeout, so a client that sends half
a request and stops would hold its connection and its heap forever. Here
the request must arrive within ``read_timeout_s`` (else 408 and close), and
connections beyond ``max_connections`` get a 503 at once.

Microdot still parses each request (``Request.create``) and writes each
response (``Response.write``); what it is given to read from and write to
makes that cheaper (``_Lines``, ``_Out``). tests/mp/test_server_io.py checks
what this relies on in Microdot, so an upgrade that changes it fails there.
"""
import asyncio
from time import ticks_add, ticks_diff, ticks_ms
from micropython import const
from json import dumps
from microdot import Microdot, Request, Response
from app.errors import error

_DRAIN_CHUNK = const(512)
_MAX_HEAD = const(4096)  # request line + headers; a browser sends well under 2 KB
_MAX_PATH = const(96)  # our longest route with a 32-char id is 51; static names 64
_HEAD_CHUNK = const(512)  # a GET from curl or wrk is under 100 bytes, a browser's ~600
# a client that went away: broken pipe, reset (BSD, Linux), closed socket
_GONE = const((32, 54, 104, 128))
# RFC 9110 section 15; Microdot sends "N/A" for all but 200
REASONS = {200: 'OK', 201: 'Created', 204: 'No Content', 304: 'Not Modified',
           400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden',
           404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable',
           408: 'Request Timeout', 409: 'Conflict',
           413: 'Content Too Large', 414: 'URI Too Long',
           500: 'Internal Server Error', 503: 'Service Unavailable'}


def _error(status, code, message):
    return Response(*error(status, code, message))


def _canned(status, code, message):
    body = dumps(error(status, code, message)[0]).encode()
    return ('HTTP/1.0 %d %s\r\nContent-Type: application/json\r\n'
            'Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n'
            % (status, REASONS[status], len(body))).encode() + body


BUSY = _canned(503, 'busy', 'too many open connections; retry in a second')
TIMEOUT = _canned(408, 'timeout', 'the request did not arrive in time')
# built now: when the heap is too full for a request, it is too full to
# build an answer saying so
LOW_MEMORY = _canned(503, 'low_memory', 'the board ran out of memory for '
                     'this request; retry')


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
        # request would cost a task each
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

        # 3x the cap: the kernel holds a burst instead of dropping SYNs
        # (with a backlog of the cap alone, 50 clients waited seconds for
        # SYN retries while the server idled). Queued connections cost no
        # MicroPython heap; lwIP bounds them by its own PCB pool.
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
        # one coroutine per request, not two: each coroutine call costs CPU
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
            lines = _Lines(reader)
            try:
                req = await Request.create(self, lines, writer,
                                           writer.get_extra_info('peername'))
            except asyncio.CancelledError:
                if task in self._reading:  # not the watchdog's: pass it on
                    raise
                self.timeouts += 1
                await _send_close(writer, TIMEOUT)
                return
            except OSError as exc:
                if exc.errno not in _GONE:
                    raise
            except MemoryError:  # no room to read it: 503, not a 400
                await _send_close(writer, LOW_MEMORY)
                return
            except Exception:  # malformed request: req stays None -> 400
                pass
            finally:
                self._reading.pop(task, None)
            if req is not None and req.content_length > Request.max_body_length:
                # unread body: drain it, or closing resets the connection
                # and the client never sees the 413
                await _drain(lines, req.content_length, timeout)
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
                    if res.reason is None:  # Microdot's own: "N/A"
                        res.reason = REASONS.get(res.status_code)
                    if not isinstance(res.body, bytes) and not room():
                        # a streamed body allocates as it goes: a head
                        # sent now could be followed by a short body
                        _close(res.body)
                        res = None
                        await writer.awrite(LOW_MEMORY)
                        return
                    out = _Out(writer, isinstance(res.body, bytes))
                    try:
                        await res.write(out)
                    except MemoryError:
                        # nothing went out yet: say so; else part of the
                        # answer went out and closing is all that is left
                        if not out.sent:
                            out = None
                            await writer.awrite(LOW_MEMORY)
                    else:
                        await out.flush()
            finally:
                # this frame may outlive the request (a stale pointer the
                # GC sees): it should not hold the request and its answer
                req = res = out = lines = None
                try:
                    await writer.aclose()
                except OSError:
                    pass
        except OSError as e:
            if e.errno not in _GONE:
                print('pinwheel: connection error', e)
        except MemoryError:  # outside the answer: nothing of one went out
            await _send_close(writer, LOW_MEMORY)
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


# A streamed answer (a file, un-gzipped as it goes) allocates a few small
# blocks per chunk after its head has gone out; it starts only with this
# much in one free block (after a collection if need be), so that it ends.
STREAM_ROOM = const(2048)


def room(need=STREAM_ROOM):
    """True if a block of ``need`` bytes can be had now. The probe block
    is garbage at once; a collection runs only if the heap is short."""
    try:
        bytearray(need)
        return True
    except MemoryError:
        return False


def _close(body):
    close = getattr(body, 'close', None)
    if close is not None:
        try:
            close()
        except Exception:
            pass


class _Lines:
    """The connection's reader as ``Request.create`` reads it: it asks for
    the head a line at a time, and a socket's ``readline`` makes a system
    call per byte (a 60-byte GET: 60 of them, and a trip through the event
    loop each). Lines are cut from 512-byte reads instead; bytes read past
    the head start the body. The head is capped at _MAX_HEAD bytes:
    Microdot caps each line (``Request.max_readline``) but not their
    number, so one client could fill a 96 KB heap with headers."""

    def __init__(self, reader):
        self.reader = reader
        self.buf = b''
        self.pos = 0  # of the first byte not handed out
        self.head = 0  # bytes handed out as lines

    async def readline(self):
        buf, start = self.buf, self.pos
        limit = Request.max_readline
        while True:
            nl = buf.find(b'\n', start)
            if nl >= 0:
                nl += 1
                break
            if len(buf) - start > limit:
                raise ValueError('line too long')
            chunk = await self.reader.read(_HEAD_CHUNK)
            if not chunk:  # closed: the rest, as a socket's readline
                nl = len(buf)
                break
            buf = buf[start:] + chunk if start < len(buf) else chunk
            start = 0
        self.head += nl - start
        if self.head > _MAX_HEAD:
            raise ValueError('request head too large')
        self.buf, self.pos = buf, nl
        return buf[start:nl]

    def _kept(self, n):
        """Up to ``n`` bytes read past the head, handed out once."""
        buf, pos = self.buf, self.pos
        if pos >= len(buf):
            return b''
        end = len(buf) if n < 0 else min(len(buf), pos + n)
        self.pos = end
        if end == len(buf):
            self.buf, self.pos = b'', 0
        return buf[pos:end]

    async def read(self, n=-1):
        return self._kept(n) or await self.reader.read(n)

    async def readexactly(self, n):
        if n < 0:  # a negative Content-Length
            raise ValueError('negative length')
        data = self._kept(n)
        if len(data) < n:
            data += await self.reader.readexactly(n - len(data))
        return data


class _Out:
    """What ``Response.write`` writes to. It writes the status line, each
    header and the blank line as writes of their own, each a system call
    and a trip through the event loop. A body that is bytes is known whole:
    then all is kept and goes out in one write (``flush``). A streamed body
    (a file, events) goes out as written, after its head, which is kept
    until the blank line that ends it: a head that runs out of memory half
    way has sent nothing, and a 503 can still go out instead."""

    def __init__(self, writer, whole):
        self.writer = writer
        self.whole = whole
        self.kept = []
        self.sent = False  # something went out

    async def awrite(self, data):
        kept = self.kept
        if kept is None:  # the head went out: a streamed body
            self.sent = True
            await self.writer.awrite(data)
            return
        kept.append(data)
        if not self.whole and data == b'\r\n':  # the head's end
            await self.flush()

    async def flush(self):
        if self.kept:
            data = b''.join(self.kept)
            self.kept = None
            self.sent = True
            await self.writer.awrite(data)
        self.kept = None


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
