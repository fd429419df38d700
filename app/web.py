"""The dashboard's files, served at ``/`` and ``/static/<name>`` (the
routes are in app/api.py; its live updates are app/events.py).

The flash image holds only the gzipped copies deploy.py makes
(``static/<name>.gz``); they go out as they are, with ``Content-Encoding:
gzip``. Every response carries an ETag so a reload costs a 304, and
``max-age=0`` so a phone never runs a stale app.js after a redeploy.
"""
import os
from micropython import const
from microdot import Response
from app.errors import error

_ROOT = const('static')
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


def _not_found(name):
    return error(404, 'not_found', 'no such file: /static/%s' % name[:64])


def _safe(name):
    """One plain file name we have a type for: no '/', '..', '%' or dot file."""
    if not name or name[0] == '.' or '..' in name or len(name) > 64:
        return False
    for c in name:
        if c not in _NAME_OK:
            return False
    return name.rsplit('.', 1)[-1] in TYPES


def send(request, name):
    """``static/<name>.gz`` as a gzip-encoded response, or a JSON 404."""
    if not _safe(name):
        return _not_found(name)
    path = '%s/%s.gz' % (_ROOT, name)
    try:
        st = os.stat(path)
    except OSError:
        return _not_found(name)
    # size and mtime: changes whenever deploy.py writes a different file
    etag = '"%x-%x"' % (st[6], st[8])
    if request.headers.get('If-None-Match') == etag:
        return '', 304, {'ETag': etag, 'Cache-Control': 'max-age=0'}
    ctype = TYPES[name.rsplit('.', 1)[1]]
    if request.method == 'HEAD':  # Microdot would open the file and never close it
        return '', 200, {'Content-Type': ctype, 'Content-Encoding': 'gzip',
                         'Content-Length': str(st[6]), 'ETag': etag,
                         'Cache-Control': 'max-age=0'}
    res = Response.send_file(path, content_type=ctype, compressed='gzip',
                             max_age=0)
    # 512-byte reads, not Microdot's 1 KB: one block of 512 is found more
    # easily in a small, cut-up heap; a file is a few KB gzipped
    res.send_file_buffer_size = 512
    res.headers['ETag'] = etag
    return res

