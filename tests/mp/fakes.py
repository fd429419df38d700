"""What the in-VM tests and the bench (bench/mp) stand in for, in one place:
a config store that writes no file, a client connection in memory, and one
request through an app's ``handle_request`` without sockets. Runs on the
unix port and on the 32-bit WebAssembly port (which has no socket).
"""
import io
import json
from app import config


class Store(config.Config):
    """``app.config.Config`` with the defaults, whose ``save`` keeps the
    bindings and writes no file. Keyword arguments override ``http``
    settings (``Store(max_streams=1)``)."""

    def __init__(self, **http):
        config.Config.__init__(self)
        self.data['http'].update(http)

    def save(self, bindings):
        self.data['bindings'] = bindings


class Reader:
    """The client's end of a connection as the server reads it: ``data``
    (bytes), as much as asked for a read."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    async def read(self, n=-1):
        start = self.pos
        self.pos = len(self.data) if n < 0 else min(len(self.data), start + n)
        return self.data[start:self.pos]

    async def readinto(self, buf):
        data = await self.read(len(buf))
        buf[:len(data)] = data
        return len(data)


class Writer:
    """The client's end of a connection: what the app wrote collects in
    ``stream`` (``stream.getvalue()``), and ``writes`` keeps each write
    (bytes) to count them; ``keep=False`` keeps only the stream (the bench
    times requests: the copies would cost)."""

    def __init__(self, keep=True):
        self.stream = io.BytesIO()
        self.writes = [] if keep else None

    def write(self, data):  # what a canned answer is sent with
        if isinstance(data, str):  # ASCII: the app writes JSON as its str
            data = data.encode()
        if self.writes is not None:
            self.writes.append(bytes(data))
        self.stream.write(data)

    async def awrite(self, data):
        self.write(data)

    async def drain(self):  # write() wrote it all already
        pass

    async def aclose(self):
        pass

    def get_extra_info(self, name):
        return ('127.0.0.1', 40000)


def raw_request(method, path, body=None):
    """The bytes of one HTTP/1.1 request (method and path as str or
    bytes); ``body`` is sent as JSON."""
    if isinstance(method, bytes):
        method = method.decode()
    if isinstance(path, bytes):
        path = path.decode()
    data = b'' if body is None else json.dumps(body).encode()
    head = '%s %s HTTP/1.1\r\nHost: x\r\n' % (method, path)
    if body is not None:
        head += 'Content-Type: application/json\r\nContent-Length: %d\r\n' % (
            len(data))
    return head.encode() + b'\r\n' + data


async def handle(app, raw, keep=True):
    """Serve the request ``raw`` (bytes) through ``app``; the Writer."""
    writer = Writer(keep)
    await app.handle_request(Reader(raw), writer)
    return writer


def status_of(writer):
    """The status code the app answered with (0: it wrote nothing)."""
    out = writer.stream.getvalue()
    return int(out[9:12]) if len(out) >= 12 else 0


def request(app, method, path, body=None):
    """(status, parsed JSON body or None) of one request through ``app``,
    run to completion on either VM (``unit.run``)."""
    import unit
    writer = unit.run(handle(app, raw_request(method, path, body), False))
    head, _, out = writer.stream.getvalue().partition(b'\r\n\r\n')
    return int(head[9:12]), json.loads(out) if out else None
