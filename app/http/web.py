"""The dashboard's files, served at ``/`` and ``/static/<name>``, and the
API's description at ``/api/openapi.json`` (static/openapi.json; the
routes are in app/http/api.py; live updates are app/http/events.py).

The flash image holds only the gzipped copies deploy.py makes
(``static/<name>.gz``). A client that takes gzip (``Accept-Encoding``,
RFC 9110 section 12.5.3) gets them as they are, with ``Content-Encoding:
gzip``; any other gets the plain bytes, un-gzipped as they stream out by
MicroPython's ``deflate`` module (a 4 KB window: deploy.py compresses
with one). A port built without ``deflate`` answers such a client 406.
Every response says ``Vary: Accept-Encoding`` and carries an ETag (one per
encoding) so a reload costs a 304, and ``max-age=0`` so a phone never runs
a stale app.js after a redeploy.
"""
import os
from micropython import const
import app
from app.errors import error

try:
    import deflate  # noqa: F401 (its presence is what counts here)
    _CAN_UNGZIP = True
except ImportError:  # a port built without it: gzip or nothing
    _CAN_UNGZIP = False

# the running image's static/: slot_b/static after an over-the-air update
# (the boot shim sets app.IMAGE; docs/ota.md)
STATIC = getattr(app, 'IMAGE', '') + 'static'
_WINDOW_BITS = const(12)  # deploy.GZIP_WINDOW_BITS
TYPES = {
    'html': 'text/html; charset=utf-8',
    'js': 'application/javascript; charset=utf-8',
    'css': 'text/css; charset=utf-8',
    'json': 'application/json',
    'svg': 'image/svg+xml',
    'png': 'image/png',
    'ico': 'image/x-icon',
}
_NAME_OK = const('_-.0123456789abcdefghijklmnopqrstuvwxyz'
                 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')


def _safe(name):
    """One plain file name we have a type for: no '/', '..', '%' or dot file."""
    if not name or name[0] == '.' or '..' in name or len(name) > 64:
        return False
    for c in name:
        if c not in _NAME_OK:
            return False
    return name.rsplit('.', 1)[-1] in TYPES


def accepts_gzip(request):
    """True if the request's Accept-Encoding takes gzip: named (or ``*``)
    with a q above 0. No header: only identity (what urllib sends)."""
    header = request.headers.get('accept-encoding')
    if not header:
        return False
    star = False
    for item in header.split(','):
        parts = item.split(';')
        name = parts[0].strip().lower()
        wanted = True
        for param in parts[1:]:
            key, _, value = param.strip().partition('=')
            if key.strip().lower() == 'q':
                # q=0, q=0.0, q=0.000: refused (no floats needed)
                wanted = value.strip().rstrip('0') not in ('0.', '0', '')
        if name == 'gzip' or name == 'x-gzip':
            return wanted
        if name == '*':
            star = wanted
    return star


def stream(path, headers, ungzip=False):
    """The response streaming the file at ``path`` (un-gzipped with
    ``ungzip``); ``headers`` give its Content-Length."""
    f = open(path, 'rb')
    try:
        if ungzip:  # read as its plain bytes; closing it closes f
            import deflate
            f = deflate.DeflateIO(f, deflate.GZIP, _WINDOW_BITS, True)
    except BaseException:  # MemoryError: no answer, and no file left open
        f.close()
        raise
    body = _chunks(f)
    next(body)  # its first chunk read now (else f is closed, and it raises)
    return body, 200, headers


def _chunks(f):
    """A file's bytes as the server streams a body: a generator of chunks
    (a function costs less heap than a class; the server's ``close()``
    ends it, which closes ``f``). It reads into one buffer made with the
    response, before its head goes out: a read allocates nothing (a new
    bytes object per chunk could fail once the head is sent), and the
    un-gzip stream makes its 4 KB window at the first read, which the
    priming ``next()`` runs. 512-byte reads: one block of 512 is found
    more easily in a small, cut-up heap; a file is a few KB gzipped."""
    try:
        buf = bytearray(512)
        n = f.readinto(buf)
        yield  # primed: started, so that close() runs the finally
        while n:
            yield buf if n == len(buf) else memoryview(buf)[:n]
            n = f.readinto(buf)
    finally:
        f.close()


def send(request, name):
    """``static/<name>.gz`` as the answer: as it is if the client takes
    gzip, else un-gzipped as it streams; a JSON 404 if there is no such
    file."""
    path = '%s/%s.gz' % (STATIC, name)
    try:
        if not _safe(name):
            raise OSError
        st = os.stat(path)
    except OSError:
        return error(404, 'not_found', 'no such file: /static/%s' % name[:64])
    gz = accepts_gzip(request)
    headers = {'Content-Type': TYPES[name.rsplit('.', 1)[1]],
               'Vary': 'Accept-Encoding', 'Cache-Control': 'max-age=0'}
    # size and mtime: change whenever deploy.py writes a different file
    tag = '"%x-%x%s"' % (st[6], st[8], '-gz' if gz else '')
    headers['ETag'] = tag
    if request.headers.get('if-none-match') == tag:
        return '', 304, headers
    if gz:
        headers['Content-Encoding'] = 'gzip'
        size = st[6]
    elif not _CAN_UNGZIP:
        return error(406, 'not_acceptable', 'this board stores %s gzipped '
                     'and cannot un-gzip it; send Accept-Encoding: gzip'
                     % path[:64], None, {'Vary': 'Accept-Encoding'})
    else:  # the un-gzipped size: a gzip file ends with it (RFC 1952
        # ISIZE, 4 bytes little-endian)
        with open(path, 'rb') as f:
            f.seek(-4, 2)
            tail = f.read(4)
        size = tail[0] | tail[1] << 8 | tail[2] << 16 | tail[3] << 24
    headers['Content-Length'] = str(size)
    if request.method == 'HEAD':  # the head alone: no file to open
        return '', 200, headers
    return stream(path, headers, not gz)
