"""Where and why a text is not strict JSON: the words of
``app.strictjson``'s refusals, loaded by the first one (then kept)."""
from app.errors import ApiError

# what was expected, by app.strictjson's numbers (_VALUE is 0, ...)
EXPECTED = (
    'a value',
    'at most 32 levels of nesting',
    "'\"' (a key) or '}'",
    'a value (an object, array, string, number, true, false or null)',
    'the end of the text',
    "',' or '}'",
    "',' or ']'",
    "'\"' (a key)",
    "':'",
    'a digit',
    'a character, not a control byte (escape it: \\n, \\t, \\u0000)',
    "'\"' (the end of the string)",
    'a hex digit (\\u and 4 of them)',
    'no UTF-16 surrogate (\\ud800-\\udfff); send the character as UTF-8',
    'an escape: \\" \\\\ \\/ \\b \\f \\n \\r \\t or \\uXXXX',
    'UTF-8 text',
    'UTF-8 text (no UTF-16 surrogates)',
)


def where(raw, offset, expected):
    """``at line L column C: expected ...`` for byte ``offset`` of ``raw``:
    line and column from 1, as an editor shows them (a column counts UTF-8
    characters, not bytes)."""
    line = 1
    start = 0
    i = 0
    n = min(offset, len(raw))
    while i < n:
        if raw[i] == 0x0a:
            line += 1
            start = i + 1
        i += 1
    column = 1
    i = start
    while i < n:
        if not 0x80 <= raw[i] <= 0xbf:  # not a UTF-8 continuation byte
            column += 1
        i += 1
    return 'at line %d column %d: expected %s' % (line, column,
                                                  EXPECTED[expected])


def refusal(where, example):
    """The 400 for a body: empty (``where`` ''; ``example`` what to send,
    None for a binding), not strict JSON (``where`` says why) or refused
    by the parser all the same (None)."""
    if where == '':
        return ApiError(400, 'invalid_json', 'the body is empty; send a JSON '
                        'object, e.g. ' + (example or '-d \'{"kind": "blink",'
                                           ' "pin": 2, "period_ms": 500}\''))
    return ApiError(400, 'invalid_json', 'the body is not valid JSON'
                    + (': ' + where if where else ''))
