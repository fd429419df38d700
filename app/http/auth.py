"""Who may call the API: the bearer token, the Origin check and CORS.

Settings come from the live config (``store.data``), so a PUT /api/config
that sets or clears the token takes effect on the next request.

- ``api_token`` set: every POST/PUT/PATCH/DELETE needs
  ``Authorization: Bearer <token>``; with ``"auth": "all"`` so do the reads
  under /api/ (the dashboard's files and /api/openapi.json stay public so the
  page can load and ask for the token). ``EventSource`` cannot send headers,
  so a GET may carry the token as ``?access_token=`` instead (RFC 6750).
- A browser request whose ``Origin`` is neither this host nor listed in
  ``http.cors_origins`` may not change anything (403): a web page the user
  happens to visit cannot drive the relays, token or not.
- CORS headers only for the origins in ``http.cors_origins`` (none by
  default): app.http.cors, loaded by the first request from one.

A refusal (401, 403) is worded by app.http.denied, loaded by the first.
"""
from micropython import const

_WRITES = const(('POST', 'PUT', 'PATCH', 'DELETE'))
_PUBLIC = const('/api/openapi.json')


def same(given, token):
    """Compare two byte strings in time that depends only on ``token``'s
    length, not on where they differ (no early exit)."""
    n = len(token)
    m = len(given)
    diff = n ^ m
    if m == 0:
        given = b'\x00'
        m = 1
    i = 0
    while i < n:
        diff |= token[i] ^ given[i % m]
        i += 1
    return diff == 0


def install(app, store):
    """Check every routed request before its handler runs; add CORS headers
    to responses for the allowed origins. Only one hook runs on a normal
    request: CORS is added per request, when an allowed Origin came."""

    def check(request):
        data = store.data
        method = request.method
        write = method in _WRITES
        allowed = data['http'].get('cors_origins') or ()
        if write or allowed:
            origin = request.headers.get('origin')
            if origin is not None:
                if origin in allowed:  # CORS: app.http.cors, loaded now
                    from app.http.cors import grant
                    request.after_request(grant)
                # same origin: "http://<Host header>" (the dashboard
                # served by the board)
                elif write and origin.split('://', 1)[-1] != \
                        request.headers.get('host'):
                    from app.http.denied import origin as denied
                    return denied(origin)
        token = data.get('api_token')
        if not token:
            return None
        if not write and (data.get('auth') != 'all'
                          or not request.path.startswith('/api/')
                          or request.path == _PUBLIC):
            return None
        # the token the request carries, as bytes (b'' if none)
        given = request.headers.get('authorization')
        if given:
            given = given[7:].strip() if given[:7].lower() == 'bearer ' else ''
        elif method == 'GET':
            given = request.args.get('access_token') or ''
        given = given.encode() if given else b''
        if same(given, token.encode()):
            return None
        from app.http.denied import token as denied
        return denied(given)

    def grant_on_error(request, response):
        """404/405 and preflights skip check(): look at the Origin here."""
        if request is None:
            return response
        allowed = store.data['http'].get('cors_origins')
        if allowed and request.headers.get('origin') in allowed:
            from app.http.cors import grant
            return grant(request, response)
        return response

    app.before_request(check)
    app.after_error_request(grant_on_error)
