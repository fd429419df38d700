"""The refusals of ``app.http.auth``: the 403 to a write from a foreign
Origin and the 401 to a request without the right token (loaded by the
first: a board without a token, asked by its own page, never holds them)."""
from app.errors import error


def origin(origin):
    """403: ``origin`` may not change this board."""
    return error(403, 'forbidden_origin', 'requests from %s may not change '
                 'this board; add the origin to http.cors_origins to allow '
                 'it' % origin[:64])


def token(given):
    """401: no token (``given`` b'') or the wrong one."""
    challenge = 'Bearer realm="pinwheel"'
    if given:
        challenge += ', error="invalid_token"'
    return error(401, 'unauthorized', 'this board needs its API token: '
                 'send "Authorization: Bearer <token>"' if not given else
                 'wrong API token', None, {'WWW-Authenticate': challenge})
