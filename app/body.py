"""A request's JSON body, for the routes that take one."""
import json
from app.errors import ApiError


def read_json(request):
    """The body as JSON, whatever Content-Type says (curl -d sends a form
    type by default)."""
    raw = request.body
    if not raw:
        raise ApiError(400, 'invalid_json', 'the body is empty; send a JSON '
                       'object, e.g. -d \'{"kind": "blink", "pin": 2, '
                       '"period_ms": 500}\'')
    if _surrogates(raw):
        raise ApiError(400, 'invalid_json', 'the body holds a UTF-16 surrogate'
                       ' (\\ud800-\\udfff); send characters as UTF-8')
    try:
        return json.loads(raw)
    except Exception:
        raise ApiError(400, 'invalid_json', 'the body is not valid JSON')


def _surrogates(raw):
    """True if ``raw`` holds a surrogate, escaped or as bytes: MicroPython
    accepts them, and an error message echoing one would not be UTF-8."""
    for mark, step, low in ((b'\\u', 2, b'dD'), (b'\xed', 1, None)):
        i = raw.find(mark)
        while i >= 0:
            nxt = raw[i + step:i + step + 2]
            if low is None:
                if nxt and nxt[0] >= 0xa0:
                    return True
            elif len(nxt) == 2 and nxt[0] in low and nxt[1] in b'89abcdefABCDEF':
                return True
            i = raw.find(mark, i + 1)
    return False
