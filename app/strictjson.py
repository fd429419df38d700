"""Strict JSON: what a request's body, an MQTT command and config.json
pass through before they are parsed.

MicroPython's ``json.loads`` is lenient: it treats commas and colons as
optional, so ``{"pin": 12,}``, ``[1,,2]`` and ``{"id" "a"}`` all parse.
``problem`` checks a text against RFC 8259 before it is parsed: one pass
over the bytes, keeping only the kind of each open bracket (a 32-byte
array), so checking an 8 KB body costs no heap beyond that array.
"""
import json
from micropython import const

_MAX_DEPTH = const(32)  # our documents nest 4 deep; json.loads recurses
_QUOTE = const(0x22)
_BACKSLASH = const(0x5c)
_OPEN_OBJECT = const(0x7b)  # '{'; its closer '}' is 2 above, as for '[' ']'
_OPEN_ARRAY = const(0x5b)
_COMMA = const(0x2c)
_COLON = const(0x3a)
# What was expected where a text goes wrong: a number the scanner raises
# (ValueError(offset, number)), an index into app.badjson.EXPECTED, which
# words it (loaded by the first refusal: a board sent only good JSON never
# holds the words).
_VALUE = const(0)  # 'a value'
_DEEP = const(1)  # 'at most 32 levels of nesting'
_KEY_OR_END = const(2)  # '"' (a key) or '}'
_ANY_VALUE = const(3)  # 'a value (an object, array, ... or null)'
_END = const(4)  # 'the end of the text'
_NEXT_KEY = const(5)  # ',' or '}'
_NEXT_ITEM = const(6)  # ',' or ']'
_KEY = const(7)  # '"' (a key)
_COLON_HERE = const(8)  # ':'
_DIGIT = const(9)
_CONTROL = const(10)  # a control byte in a string
_STRING_END = const(11)
_HEX = const(12)  # \u and 4 hex digits
_SURROGATE = const(13)
_ESCAPE = const(14)
_UTF8 = const(15)
_UTF8_SURROGATE = const(16)


def loads(raw, example=None):
    """``raw`` (a request's body, whatever its Content-Type says: curl -d
    sends a form type by default) parsed, or ApiError 400. ``example``:
    what an empty body is told to send (None: a binding's)."""
    where = problem(raw) if raw else ''
    if where is None:
        try:
            return json.loads(raw)
        except MemoryError:
            raise
        except Exception:  # checked; a parser that disagrees still says no
            pass
    from app import badjson
    raise badjson.refusal(where, example)


def problem(raw):
    """None if ``raw`` (bytes) is one JSON text as RFC 8259 defines it, in
    UTF-8; else where and what was expected, for a message: ``at line 3
    column 14: expected ',' or '}'`` (both from 1; a column counts
    characters, not bytes). Also refused, though RFC 8259 allows them:
    UTF-16 surrogate escapes (MicroPython turns them into bytes that are
    not UTF-8) and nesting deeper than 32."""
    try:
        _scan(raw)
    except ValueError as e:  # only _scan's own: (offset, what was expected)
        from app import badjson
        return badjson.where(raw, *e.args)
    return None


def _scan(raw):
    n = len(raw)
    opened = bytearray(_MAX_DEPTH)  # the bracket of each open container
    depth = 0
    i = _space(raw, 0, n)
    while True:
        # a value starts at i
        if i >= n:
            raise ValueError(i, _VALUE)
        c = raw[i]
        if c == _OPEN_OBJECT or c == _OPEN_ARRAY:
            if depth == _MAX_DEPTH:
                raise ValueError(i, _DEEP)
            opened[depth] = c
            depth += 1
            i = _space(raw, i + 1, n)
            if i < n and raw[i] == c + 2:  # empty: {} or []
                depth -= 1
                i += 1
            elif c == _OPEN_OBJECT:
                i = _key(raw, i, n, _KEY_OR_END)
                continue
            else:
                continue
        elif c == _QUOTE:
            i = _string(raw, i + 1, n)
        elif c == 0x2d or 0x30 <= c <= 0x39:  # '-' or a digit
            i = _number(raw, i, n)
        elif raw.startswith(b'true', i):
            i += 4
        elif raw.startswith(b'false', i):
            i += 5
        elif raw.startswith(b'null', i):
            i += 4
        else:
            raise ValueError(i, _ANY_VALUE)
        # after a value: close what it ends, or find the next one
        while True:
            i = _space(raw, i, n)
            if depth == 0:
                if i < n:
                    raise ValueError(i, _END)
                return
            bracket = opened[depth - 1]
            c = raw[i] if i < n else -1
            if c == bracket + 2:
                depth -= 1
                i += 1
                continue
            if c != _COMMA:
                raise ValueError(i, _NEXT_KEY if bracket == _OPEN_OBJECT
                                 else _NEXT_ITEM)
            i = _space(raw, i + 1, n)
            if bracket == _OPEN_OBJECT:
                i = _key(raw, i, n, _KEY)
            break


def _space(raw, i, n):
    while i < n:
        c = raw[i]
        if c != 0x20 and c != 0x0a and c != 0x0d and c != 0x09:
            break
        i += 1
    return i


def _key(raw, i, n, expected):
    """A key and its colon at ``i``; returns where its value starts."""
    if i >= n or raw[i] != _QUOTE:
        raise ValueError(i, expected)
    i = _space(raw, _string(raw, i + 1, n), n)
    if i >= n or raw[i] != _COLON:
        raise ValueError(i, _COLON_HERE)
    return _space(raw, i + 1, n)


def _number(raw, i, n):
    """-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at ``i``; returns
    just after it."""
    if raw[i] == 0x2d:
        i += 1
    c = raw[i] if i < n else -1
    if c == 0x30:
        i += 1
    else:
        i = _digits(raw, i, n)
    c = raw[i] if i < n else -1
    if c == 0x2e:  # '.'
        i = _digits(raw, i + 1, n)
        c = raw[i] if i < n else -1
    if c == 0x65 or c == 0x45:  # 'e' 'E'
        i += 1
        c = raw[i] if i < n else -1
        if c == 0x2b or c == 0x2d:
            i += 1
        i = _digits(raw, i, n)
    return i


def _digits(raw, i, n):
    """One digit or more at ``i``; returns just after them."""
    start = i
    while i < n and 0x30 <= raw[i] <= 0x39:
        i += 1
    if i == start:
        raise ValueError(i, _DIGIT)
    return i


def _string(raw, i, n):
    """From just after the opening quote; returns just after the closing.
    Its escapes and multi-byte UTF-8 characters are checked here too (a
    function each would be heap)."""
    while i < n:
        c = raw[i]
        if c == _QUOTE:
            return i + 1
        if c == _BACKSLASH:  # an escape
            i += 1
            c = raw[i] if i < n else -1
            if c == 0x75:  # \uXXXX
                value = 0
                k = i + 1
                while k < i + 5:
                    d = raw[k] if k < n else -1
                    if 0x30 <= d <= 0x39:
                        d -= 0x30
                    elif 0x61 <= d <= 0x66:
                        d -= 0x57
                    elif 0x41 <= d <= 0x46:
                        d -= 0x37
                    else:
                        raise ValueError(k, _HEX)
                    value = value * 16 + d
                    k += 1
                if 0xd800 <= value <= 0xdfff:
                    raise ValueError(i - 1, _SURROGATE)
                i += 5
            elif (c == _QUOTE or c == _BACKSLASH or c == 0x2f or c == 0x62
                    or c == 0x66 or c == 0x6e or c == 0x72 or c == 0x74):
                i += 1  # \" \\ \/ \b \f \n \r \t
            else:
                raise ValueError(i, _ESCAPE)
        elif c < 0x20:
            raise ValueError(i, _CONTROL)
        elif c < 0x80:
            i += 1
        else:
            # a multi-byte UTF-8 character (RFC 3629: no overlong forms,
            # no surrogates, nothing above U+10FFFF)
            lo, hi = 0x80, 0xbf  # the range of the second byte
            if 0xc2 <= c <= 0xdf:
                more = 1
            elif 0xe0 <= c <= 0xef:
                more = 2
                if c == 0xe0:
                    lo = 0xa0
                elif c == 0xed:  # U+D800-DFFF
                    hi = 0x9f
            elif 0xf0 <= c <= 0xf4:
                more = 3
                if c == 0xf0:
                    lo = 0x90
                elif c == 0xf4:
                    hi = 0x8f
            else:
                more = 0
            if more == 0 or i + more >= n:
                raise ValueError(i, _UTF8)
            c = raw[i + 1]
            if not lo <= c <= hi:
                raise ValueError(i, _UTF8_SURROGATE if hi == 0x9f else _UTF8)
            end = i + more + 1
            i += 2
            while i < end:
                if not 0x80 <= raw[i] <= 0xbf:
                    raise ValueError(i, _UTF8)
                i += 1
    raise ValueError(n, _STRING_END)
