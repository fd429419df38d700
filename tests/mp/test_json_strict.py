"""app.strictjson.problem: RFC 8259 JSON only (MicroPython's json.loads takes
commas and colons as optional), said with the line and column, at no heap
cost beyond a few bytes."""
import gc
import json
import unit
from app.strictjson import problem

VALID = [
    b'{}', b'[]', b' {"a": 1} ', b'{"a": [1, 2, {"b": null}], "c": true}',
    b'0', b'-0', b'12', b'-1.5e+3', b'1E5', b'0.25', b'"x"', b'false',
    b'{"s": "\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\u20AC"}',
    '{"\u00fc": "\u20ac \U0001f4a1"}'.encode(),
    b'\t\r\n[\n1\n]\n', b'[[[[[[[[[[]]]]]]]]]]',
    b'{"id": "t4", "kind": "blink", "pin": 12, "period_ms": 100}',
]

# body -> (byte offset, words the message must hold); all on one line,
# ASCII up to the offset: the column is the offset + 1
INVALID = [
    (b'{"kind": "blink", "pin": 12, "period_ms": 100,}', 46, "'\"' (a key)"),
    (b'{"kind": "blink" "pin": 12}', 17, "',' or '}'"),
    (b'{"kind" "blink"}', 8, "':'"),
    (b'{"a": 1,, "b": 2}', 8, "'\"' (a key)"),
    (b'{, "a": 1}', 1, "'\"' (a key) or '}'"),
    (b'[1, 2,]', 6, 'a value'),
    (b'[,1]', 1, 'a value'),
    (b'[1 2]', 3, "',' or ']'"),
    (b'{"id" "t4" "kind" "blink" "pin" 12}', 6, "':'"),
    (b'', 0, 'a value'),
    (b'   ', 3, 'a value'),
    (b'{"a": 1}x', 8, 'the end of the text'),
    (b'{"a": 1}{}', 8, 'the end of the text'),
    (b'{"a": 1', 7, "',' or '}'"),
    (b'{"a": "b', 8, 'the end of the string'),
    (b'{a: 1}', 1, "'\"' (a key)"),
    (b"{'a': 1}", 1, "'\"' (a key)"),
    (b'[01]', 2, "',' or ']'"),
    (b'[1.]', 3, 'a digit'),
    (b'[.5]', 1, 'a value'),
    (b'[-]', 2, 'a digit'),
    (b'[1e]', 3, 'a digit'),
    (b'[+1]', 1, 'a value'),
    (b'[NaN]', 1, 'a value'),
    (b'[Infinity]', 1, 'a value'),
    (b'[tru]', 1, 'a value'),
    (b'[True]', 1, 'a value'),
    (b'["a\tb"]', 3, 'control byte'),
    (b'["\\x41"]', 3, 'an escape'),
    (b'["\\u12g4"]', 6, 'a hex digit'),
    (b'["\\ud83d\\udca1"]', 2, 'surrogate'),
    (b'["\xed\xa0\x80"]', 2, 'surrogates'),
    (b'["\xff"]', 2, 'UTF-8'),
    (b'["\xc3"]', 2, 'UTF-8'),
    (b'["\xc0\xaf"]', 2, 'UTF-8'),
    (b'["\xe0\x80\xaf"]', 2, 'UTF-8'),
    (b'["\xf4\x90\x80\x80"]', 2, 'UTF-8'),
    (b'[1]\xef\xbb\xbf', 3, 'the end of the text'),
    (b'\xef\xbb\xbf[1]', 0, 'a value'),  # no byte-order mark either
    (b'[' * 33 + b']' * 33, 32, 'levels of nesting'),
    (b'[' * 3000, 32, 'levels of nesting'),
    (b'\x00' * 16, 0, 'a value'),
]


def test_valid_texts_pass():
    for text in VALID:
        assert problem(text) is None, (text, problem(text))
        json.loads(text)  # and MicroPython agrees


def test_invalid_texts_say_where_and_what():
    for text, offset, says in INVALID:
        got = problem(text)
        assert got is not None, text
        assert got.startswith('at line 1 column %d: expected ' % (offset + 1)), \
            (text, got)
        assert says in got, (text, got, says)


def test_lines_and_columns_as_an_editor_counts_them():
    # lines from 1 after each \n; a column counts characters, not bytes
    text = '{\n  "name": "\u00fc\u20ac",\n  "pin": 12,\n}'.encode()
    assert problem(text) == "at line 4 column 1: expected '\"' (a key)", \
        problem(text)
    text = '{"n\u00fc\u00fc": 1 "b": 2}'.encode()
    assert problem(text).startswith('at line 1 column 11: '), problem(text)
    text = b'[1,\r\n 2,\r\n]'
    assert problem(text).startswith('at line 3 column 1: '), problem(text)
    truncated = b'{\n  "bindings": [\n    {"id": "a"'
    assert problem(truncated) == "at line 3 column 15: expected ',' or '}'", \
        problem(truncated)


def test_what_micropython_would_have_taken():
    # the reason for the check: each of these parses on MicroPython
    for text in (b'{"a": 1,}', b'{"a" 1}', b'[1,,2]', b'[,1]', b'[1, 2,]',
                 b'{"id" "t4" "kind" "blink"}'):
        try:
            json.loads(text)
        except ValueError:
            continue  # a stricter parser: fine too
        assert problem(text) is not None, text


def _heap(text):
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        result = problem(text)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    return used, result


def test_an_8k_body_costs_next_to_no_heap():
    item = '{"id": "led-%d", "kind": "pattern", "pin": 12, "steps_ms": ' \
           '[100, 2.5e1, -0], "name": "\u00fc\u20ac\\u00e9\\n"}'
    items = []
    size = 2
    while size < 7800:
        items.append(item % len(items))
        size += len(items[-1].encode()) + 2
    text = ('[' + ', '.join(items) + ']').encode()
    assert 7700 < len(text) <= 8192, len(text)
    used, result = _heap(text)
    assert result is None, result
    # the bracket array and the call frames' leftovers, not the body
    assert used <= 256, used
    bad = text[:-1] + b',]'
    problem(b'[')  # the first refusal loads its words (app.badjson), kept
    used, result = _heap(bad)
    assert result is not None and result.startswith(
        'at line 1 column %d' % len(bad.decode())), result
    assert used <= 512, used  # plus the message


unit.main(globals())
