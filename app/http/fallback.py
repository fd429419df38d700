"""The answers of the HTTP core (``app.http.server``) that no route
makes: its JSON errors (400, 404, 405, 413, 414; 500 for a handler's
exception; the canned 503 ``busy`` and 408 ``timeout``) and OPTIONS.
Loaded by the first such request, then kept: a board asked only what it
serves never holds them."""
from app.errors import error
from app.http.server import MAX_BODY, MAX_PATH, METHODS, Response, _canned, \
    _match


def http_error(req, status):
    """The JSON error answer to ``req`` (None: unreadable) of a status the
    server answers itself: 400, 404, 405, 413, 414."""
    if status == 404:
        code, text = 'not_found', ('no such endpoint: %s; GET /api/openapi'
                                   '.json lists every endpoint, /api/kinds '
                                   'every kind' % req.path)
    elif status == 405:
        code, text = 'method_not_allowed', '%s is not allowed on %s' % (
            req.method, req.path)
    elif status == 413:
        code, text = 'too_large', ('the body is larger than %d bytes'
                                   % MAX_BODY)
    elif status == 414:
        code, text = 'uri_too_long', ('the path is longer than %d '
                                      'characters' % MAX_PATH)
    else:
        code, text = 'bad_request', 'malformed HTTP request'
    return Response(*error(status, code, text))


def answer(server, req, status):
    """``req`` that no route of ``server`` served: ``status`` 404 (no route
    has its path) or 405 (not with its method), whose OPTIONS is the
    methods allowed; else its error (0: unreadable, a 400)."""
    if status in (404, 405) and req.method == 'OPTIONS':
        allow = []
        for i, m in enumerate(METHODS):
            for url, bits, _ in server.routes:
                if bits >> i & 1 and _match(url, req.path) is not None:
                    allow.append(m)
                    break
        if 'GET' in allow:
            allow.append('HEAD')
        allow.append('OPTIONS')
        return Response(b'', 200, {'Allow': ', '.join(allow)})
    return http_error(req, status or 400)


def failed(req, exc):
    """The 500 for a handler's exception ``exc`` (not an ApiError, not a
    MemoryError: the server answers those)."""
    print('pinwheel: %s: %r' % (req and req.path, exc))
    return Response(*error(500, 'internal', '%s: %s' % (type(exc).__name__,
                                                        exc)))


def busy():
    """The bytes of the 503 to a connection beyond the cap."""
    return _canned(error(503, 'busy', 'too many open connections; retry in '
                         'a second'))


def timeout():
    """The bytes of the 408 to a request that did not arrive in time."""
    return _canned(error(408, 'timeout', 'the request did not arrive in '
                         'time'))
