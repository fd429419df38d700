"""Hardening over real HTTP against the real MicroPython VM: the API token,
the Origin check and CORS, hostile input (never a 5xx, never a traceback,
nothing changed), slow and idle clients, the connection cap.
"""
import gzip
import http.client
import json
import socket
from pathlib import Path
import threading
import time
import urllib.error
import urllib.request

import pytest
from vm import ROOT, VM, make_flash, raw_exchange, snapshot

TOKEN = 'T0ken-for-tests_0123456789abcdef'
AUTH = {'Authorization': 'Bearer ' + TOKEN}
ALLOWED = 'http://allowed.example'
BINDINGS = [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 50},
    {'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 100,
     'start': False},
    {'id': 'morse', 'kind': 'pattern', 'pin': 5, 'steps_ms': [20, 40, 60]},
    {'id': 'button', 'kind': 'sample', 'pin': 34, 'period_ms': 20,
     'window': 8},
]
CONFIG = {
    'board': 'auto',
    'http': {'port': 8080, 'read_timeout_s': 2, 'max_connections': 6,
             'cors_origins': [ALLOWED]},
    'wifi': {'ssid': 'home', 'password': 'wifi-secret-pw',
             'ap_password': 'ap-secret-pw'},
    'api_token': TOKEN,
    'bindings': BINDINGS,
}


@pytest.fixture(scope='module')
def board(tmp_path_factory):
    """One VM for the module: token set, auth "writes", CORS for ALLOWED,
    a 2 s read timeout and a cap of 6 connections."""
    vm = VM(make_flash(tmp_path_factory.mktemp('hard'), CONFIG)).start()
    yield vm
    vm.stop()


def is_json_error(status, body, hdrs, code=None, field=...):
    assert 'application/json' in hdrs.get('content-type', ''), (status, body)
    assert isinstance(body, dict) and set(body) == {'error'}, body
    err = body['error']
    assert set(err) == {'code', 'message', 'field'}, err
    assert err['message'] and 'Traceback' not in err['message'], err
    if code is not None:
        assert err['code'] == code, err
    if field is not ...:
        assert err['field'] == field, err
    return err


def openapi(vm):
    """GET /api/openapi.json (sent gzipped): (status, document)."""
    conn = http.client.HTTPConnection('127.0.0.1', vm.port, timeout=10)
    try:
        conn.request('GET', '/api/openapi.json',
                     headers={'Accept-Encoding': 'gzip'})
        res = conn.getresponse()
        data = res.read()
        if res.status != 200:
            return res.status, None
        assert res.getheader('Content-Encoding') == 'gzip'
        assert 'application/json' in res.getheader('Content-Type')
        return res.status, json.loads(gzip.decompress(data))
    finally:
        conn.close()


def raw_http(vm, data, timeout=5.0):
    """Send raw bytes; return (status, headers, body bytes) of the reply."""
    got = raw_exchange(vm.port, data, timeout)
    head, _, body = got.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    status = int(lines[0].split()[1]) if lines[0] else 0
    hdrs = {k.strip().lower(): v.strip() for k, _, v in
            (ln.partition(':') for ln in lines[1:])}
    return status, hdrs, body


# ------------------------------------------------------- content coding

STATIC = ROOT / 'static'


def fetch(vm, path, accept=None, method='GET', headers=None):
    """(status, headers, body as sent) over urllib, which asks for no
    gzip unless ``accept`` says so."""
    req = urllib.request.Request('http://127.0.0.1:%d%s' % (vm.port, path),
                                 method=method, headers=headers or {})
    if accept is not None:
        req.add_header('Accept-Encoding', accept)
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.status, {k.lower(): v for k, v in res.getheaders()}, \
                res.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


@pytest.mark.parametrize('path, name', [
    ('/', 'index.html'), ('/static/app.js', 'app.js'),
    ('/static/style.css', 'style.css'), ('/api/openapi.json', 'openapi.json'),
])
def test_gzip_only_for_clients_that_take_it(board, path, name):
    plain = (STATIC / name).read_bytes()
    if name.endswith('.js'):  # deploy.py compacts it
        import deploy
        plain = deploy.compact_js(plain.decode()).encode()
    status, hdrs, body = fetch(board, path)
    assert status == 200 and 'content-encoding' not in hdrs, hdrs
    assert body == plain
    assert int(hdrs['content-length']) == len(plain)
    assert hdrs['vary'] == 'Accept-Encoding'
    for accept in ('gzip', 'br, gzip;q=0.5', 'GZIP', '*', 'deflate, *;q=1'):
        status, hdrs2, body = fetch(board, path, accept)
        assert status == 200 and hdrs2['content-encoding'] == 'gzip', accept
        assert gzip.decompress(body) == plain
        assert int(hdrs2['content-length']) == len(body)
        assert hdrs2['vary'] == 'Accept-Encoding'
    for accept in ('gzip;q=0', 'gzip; q=0.000, br', 'identity', '*;q=0',
                   'br', ''):
        status, hdrs3, body = fetch(board, path, accept)
        assert status == 200 and 'content-encoding' not in hdrs3, accept
        assert body == plain, accept
    status, hdrs4, body = fetch(board, path, method='HEAD')
    assert status == 200 and body == b'' and 'content-encoding' not in hdrs4
    assert int(hdrs4['content-length']) == len(plain)
    if name != 'openapi.json':  # one ETag per coding; a 304 varies too
        assert hdrs['etag'] != hdrs2['etag']
        status, hdrs5, _ = fetch(board, path, headers={
            'If-None-Match': hdrs['etag']})
        assert status == 304 and hdrs5['vary'] == 'Accept-Encoding'
        status, _, body = fetch(board, path, 'gzip', headers={
            'If-None-Match': hdrs['etag']})
        assert status == 200 and gzip.decompress(body) == plain
    # the un-gzipping stream closes its file
    fds = Path('/proc/%d/fd' % board.proc.pid)
    before = len(list(fds.iterdir()))
    for _ in range(20):
        assert fetch(board, path)[2] == plain
    assert len(list(fds.iterdir())) <= before + 2


# ------------------------------------------------------------------- auth


@pytest.mark.parametrize('method, path, body', [
    ('POST', '/api/bindings', {'kind': 'blink', 'pin': 12, 'period_ms': 100}),
    ('PATCH', '/api/bindings/led', {'period_ms': 70}),
    ('PUT', '/api/bindings/led', {'kind': 'blink', 'pin': 2, 'period_ms': 70}),
    ('DELETE', '/api/bindings/led', None),
    ('POST', '/api/bindings/led/stop', None),
    ('POST', '/api/bindings/relay/start', None),
    ('PUT', '/api/config', {'bindings': []}),
    ('PUT', '/api/sim/pins/35', {'level': 1}),
])
@pytest.mark.parametrize('auth', [
    None, 'Bearer wrong', 'Bearer ' + TOKEN[:-1], 'Bearer ' + TOKEN + 'x',
    'Basic ' + TOKEN, TOKEN, 'Bearer ',
], ids=['none', 'wrong', 'prefix', 'longer', 'basic', 'no-scheme', 'empty'])
def test_writes_need_the_token(board, method, path, body, auth):
    before = snapshot(board)
    headers = {'Authorization': auth} if auth is not None else {}
    status, out, hdrs = board.request(method, path, body, headers=headers)
    assert status == 401, out
    is_json_error(status, out, hdrs, 'unauthorized')
    assert hdrs['www-authenticate'].startswith('Bearer realm="pinwheel"')
    assert snapshot(board) == before


def test_writes_with_the_token_work(board):
    status, out, _ = board.post('/api/bindings', {
        'id': 'tmp', 'kind': 'blink', 'pin': 12, 'period_ms': 100},
        headers=AUTH)
    assert status == 201, out
    # the scheme is case-insensitive (RFC 7235)
    status, out, _ = board.delete('/api/bindings/tmp',
                                  headers={'Authorization': 'bearer ' + TOKEN})
    assert status == 204, out


@pytest.mark.parametrize('path', ['/api/bindings', '/api/bindings/led',
                                  '/api/status', '/api/board', '/api/config'])
def test_reads_are_open_with_auth_writes(board, path):
    assert board.get(path)[0] == 200
    assert openapi(board)[0] == 200


def test_config_never_shows_secrets(board):
    status, out, _ = board.get('/api/config')
    assert status == 200
    assert out['api_token'] == '********'
    assert out['wifi']['password'] == '********'
    assert out['wifi']['ap_password'] == '********'
    assert out['wifi']['ssid'] == 'home'
    for path in ('/api/config', '/api/status', '/api/board', '/api/bindings'):
        text = json.dumps(board.get(path, headers=AUTH)[1])
        for secret in (TOKEN, 'wifi-secret-pw', 'ap-secret-pw'):
            assert secret not in text, (path, secret)


def test_config_round_trip_keeps_the_secrets(board):
    before = snapshot(board)
    out = board.get('/api/config')[1]
    status, put, _ = board.put('/api/config', out, headers=AUTH)
    assert status == 200, put
    assert put['api_token'] == '********'
    saved = json.loads((board.flash / 'config.json').read_text())
    assert saved['api_token'] == TOKEN
    assert saved['wifi']['password'] == 'wifi-secret-pw'
    assert snapshot(board)[0] == before[0]
    # and the token still guards writes
    assert board.post('/api/bindings/led/stop')[0] == 401


def test_make_run_prints_the_dashboard_link_with_the_token(board):
    # make run serves the sim board the same way: its console shows this line
    assert ('dashboard http://127.0.0.1:%d/#token=%s' % (board.port, TOKEN)
            in board.output())


@pytest.fixture
def auth_all(board):
    """Switch the shared board to auth "all" for one test."""
    cfg = board.get('/api/config')[1]
    cfg['auth'] = 'all'
    assert board.put('/api/config', cfg, headers=AUTH)[0] == 200
    yield board
    cfg['auth'] = 'writes'
    status, out, _ = board.put('/api/config', cfg, headers=AUTH)
    assert status == 200, out


@pytest.mark.parametrize('path', ['/api/bindings', '/api/bindings/led',
                                  '/api/status', '/api/board', '/api/config',
                                  '/api/events'])
def test_auth_all_guards_reads(auth_all, path):
    status, out, hdrs = auth_all.get(path)
    assert status == 401, out
    is_json_error(status, out, hdrs, 'unauthorized')
    assert 'www-authenticate' in hdrs
    wrong = auth_all.get(path, headers={'Authorization': 'Bearer nope'})
    assert wrong[0] == 401
    if path != '/api/events':  # a stream does not end; other tests read it
        assert auth_all.get(path, headers=AUTH)[0] == 200
        # EventSource cannot send headers: a GET may carry ?access_token=
        assert auth_all.get(path + '?access_token=' + TOKEN)[0] == 200
        assert auth_all.get(path + '?access_token=nope')[0] == 401


def test_auth_all_leaves_the_api_document_public(auth_all):
    status, doc = openapi(auth_all)
    assert status == 200 and doc['openapi'].startswith('3.')
    # and a write still cannot use the query token
    status, _, _ = auth_all.post('/api/bindings/led/stop?access_token=' + TOKEN)
    assert status == 401


# ------------------------------------------------------------ Origin, CORS


def test_no_cors_headers_for_other_origins(board):
    for origin in (None, 'http://evil.example', ALLOWED + '.evil.example'):
        headers = {'Origin': origin} if origin else {}
        hdrs = board.get('/api/status', headers=headers)[2]
        assert not any(k.startswith('access-control-') for k in hdrs), hdrs


def test_cors_for_a_listed_origin(board):
    hdrs = board.get('/api/status', headers={'Origin': ALLOWED})[2]
    assert hdrs['access-control-allow-origin'] == ALLOWED
    assert 'Origin' in hdrs.get('vary', '')
    # errors carry it too, so the page can read the message
    status, out, hdrs = board.get('/api/bindings/nope', headers={'Origin': ALLOWED})
    assert status == 404 and hdrs['access-control-allow-origin'] == ALLOWED
    status, _, hdrs = board.request('OPTIONS', '/api/bindings/led', headers={
        'Origin': ALLOWED, 'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'authorization, content-type'})
    assert status == 200
    assert hdrs['access-control-allow-origin'] == ALLOWED
    assert 'PATCH' in hdrs['access-control-allow-methods']
    assert 'Authorization' in hdrs['access-control-allow-headers']
    # a preflight from another origin gets no grant
    hdrs = board.request('OPTIONS', '/api/bindings/led', headers={
        'Origin': 'http://evil.example',
        'Access-Control-Request-Method': 'PATCH'})[2]
    assert 'access-control-allow-origin' not in hdrs


def test_foreign_origin_cannot_write_even_with_the_token(board):
    before = snapshot(board)
    h = dict(AUTH, Origin='http://evil.example')
    # a text/plain POST needs no preflight: the Origin check stops it
    h['Content-Type'] = 'text/plain'
    status, out, hdrs = board.post('/api/bindings/led/stop', headers=h)
    assert status == 403, out
    is_json_error(status, out, hdrs, 'forbidden_origin')
    assert snapshot(board) == before
    # the board's own page (same origin) and listed origins may
    for origin in ('http://127.0.0.1:%d' % board.port, ALLOWED):
        status, out, _ = board.post('/api/bindings/led/start',
                                    headers=dict(AUTH, Origin=origin))
        assert status == 200, (origin, out)


# ------------------------------------------------------------ hostile input

DEEP = '[' * 2000 + ']' * 2000
DEEP_OBJ = '{"a":' * 500 + '1' + '}' * 500
HUGE = '9' * 4000
B = '{"kind": "blink", "pin": 12, "period_ms": %s}'

HOSTILE = [
    # (name, method, path, raw body, status, code, field)
    ('not-json', 'POST', '/api/bindings', b'{kind: blink', 400, 'invalid_json', None),
    ('empty', 'POST', '/api/bindings', b'', 400, 'invalid_json', None),
    ('form', 'POST', '/api/bindings', b'kind=blink&pin=2', 400, 'invalid_json', None),
    ('array', 'POST', '/api/bindings', b'[1, 2]', 400, 'invalid_json', None),
    ('string', 'POST', '/api/bindings', b'"blink"', 400, 'invalid_json', None),
    ('number', 'POST', '/api/bindings', b'42', 400, 'invalid_json', None),
    ('null', 'POST', '/api/bindings', b'null', 400, 'invalid_json', None),
    ('not-utf8', 'POST', '/api/bindings', b'{"id": "\xff\xfe", "kind": "blink"}',
     400, None, ...),
    ('surrogate-escape', 'PATCH', '/api/bindings/led',
     b'{"pin": "\\ud97a\\udfb3"}', 400, 'invalid_json', None),
    ('surrogate-bytes', 'POST', '/api/bindings',
     b'{"kind": "blink", "\xed\xa0\x80": 1}', 400, 'invalid_json', None),
    ('nul-bytes', 'POST', '/api/bindings', b'{"kind": "blink\x00"}', 400, None, ...),
    ('float-period', 'POST', '/api/bindings', (B % '100.5').encode(), 400,
     'invalid_field', 'period_ms'),
    ('float-int', 'POST', '/api/bindings', (B % '100.0').encode(), 400,
     'invalid_field', 'period_ms'),
    ('exp-float', 'POST', '/api/bindings', (B % '1e400').encode(), 400,
     'invalid_field', 'period_ms'),
    ('nan', 'POST', '/api/bindings', (B % 'NaN').encode(), 400, None, ...),
    ('huge-int', 'POST', '/api/bindings', (B % HUGE).encode(), 400,
     'invalid_field', 'period_ms'),
    ('negative-huge', 'POST', '/api/bindings', (B % ('-' + HUGE)).encode(), 400,
     'invalid_field', 'period_ms'),
    ('huge-pin', 'POST', '/api/bindings',
     ('{"kind": "blink", "pin": %s, "period_ms": 100}' % HUGE).encode(), 400,
     'invalid_pin', 'pin'),
    ('float-pin', 'POST', '/api/bindings',
     b'{"kind": "blink", "pin": 2.0, "period_ms": 100}', 400, 'invalid_pin', 'pin'),
    ('bool-period', 'POST', '/api/bindings', (B % 'true').encode(), 400,
     'invalid_field', 'period_ms'),
    ('string-period', 'POST', '/api/bindings', (B % '"100"').encode(), 400,
     'invalid_field', 'period_ms'),
    ('deep-body', 'POST', '/api/bindings', DEEP.encode(), 400, 'invalid_json', None),
    # nesting deeper than 32 is refused before parsing (the strict check)
    ('deep-period', 'POST', '/api/bindings', (B % DEEP).encode(), 400,
     'invalid_json', None),
    ('deep-kind', 'POST', '/api/bindings',
     ('{"kind": %s, "pin": 12}' % DEEP).encode(), 400, 'invalid_json', None),
    ('deep-pin', 'POST', '/api/bindings',
     ('{"kind": "blink", "pin": %s, "period_ms": 9}' % DEEP).encode(), 400,
     'invalid_json', None),
    ('deep-object', 'POST', '/api/bindings',
     ('{"kind": "blink", "pin": 12, "period_ms": 100, "x": %s}' % DEEP_OBJ)
     .encode(), 400, 'invalid_json', None),
    ('deep-steps', 'POST', '/api/bindings',
     ('{"kind": "pattern", "pin": 12, "steps_ms": [%s, %s]}' % (DEEP, DEEP))
     .encode(), 400, 'invalid_json', None),
    ('unicode-id', 'POST', '/api/bindings',
     '{"id": "l\u00e9d", "kind": "blink", "pin": 12, "period_ms": 9}'
     .encode(), 400, 'invalid_field', 'id'),
    ('emoji-id', 'POST', '/api/bindings',
     '{"id": "\U0001f4a1", "kind": "blink", "pin": 12, "period_ms": 9}'
     .encode(), 400, 'invalid_field', 'id'),
    ('escaped-id', 'POST', '/api/bindings',
     b'{"id": "a\\u0000b", "kind": "blink", "pin": 12, "period_ms": 9}',
     400, 'invalid_field', 'id'),
    ('long-id', 'POST', '/api/bindings',
     ('{"id": "%s", "kind": "blink", "pin": 12, "period_ms": 9}' % ('a' * 33))
     .encode(), 400, 'invalid_field', 'id'),
    ('unknown-field', 'POST', '/api/bindings',
     b'{"kind": "blink", "pin": 12, "period_ms": 100, "colour": "red"}',
     400, 'invalid_field', 'colour'),
    ('unknown-unicode-field', 'POST', '/api/bindings',
     '{"kind": "blink", "pin": 12, "period_ms": 100, "\u00fc": 1}'.encode(),
     400, 'invalid_field', '\u00fc'),
    ('unicode-kind', 'POST', '/api/bindings', '{"kind": "bl\u00efnk", "pin": 12}'
     .encode(), 400, 'unknown_kind', 'kind'),
    ('unicode-pin', 'POST', '/api/bindings',
     '{"kind": "blink", "pin": "\u00b2", "period_ms": 100}'.encode(), 400,
     'invalid_pin', 'pin'),
    ('patch-unknown', 'PATCH', '/api/bindings/led', b'{"speed": 3}', 400,
     'invalid_field', 'speed'),
    ('patch-float', 'PATCH', '/api/bindings/led', b'{"period_ms": 1.5}', 400,
     'invalid_field', 'period_ms'),
    ('patch-id', 'PATCH', '/api/bindings/led', b'{"id": "other"}', 400,
     'invalid_field', 'id'),
    ('patch-array', 'PATCH', '/api/bindings/led', b'[]', 400, 'invalid_json', None),
    ('put-partial', 'PUT', '/api/bindings/led', b'{"period_ms": 10}', 400,
     None, ...),
    ('patch-pin-taken', 'PATCH', '/api/bindings/led', b'{"pin": 4}', 409,
     'pin_in_use', 'pin'),
    ('config-unknown', 'PATCH', '/api/config', b'{"bogus": 1}', 400,
     'invalid_field', 'bogus'),
    ('config-unknown-http', 'PATCH', '/api/config', b'{"http": {"bogus": 1}}',
     400, 'invalid_field', 'http.bogus'),
    ('config-float-port', 'PATCH', '/api/config', b'{"http": {"port": 80.5}}',
     400, 'invalid_field', 'http.port'),
    ('config-huge-port', 'PATCH', '/api/config',
     ('{"http": {"port": %s}}' % HUGE).encode(), 400, 'invalid_field', 'http.port'),
    ('config-cors-type', 'PATCH', '/api/config', b'{"http": {"cors_origins": [1]}}',
     400, 'invalid_field', 'http.cors_origins'),
    ('config-auth', 'PATCH', '/api/config', b'{"auth": "none"}', 400,
     'invalid_field', 'auth'),
    ('config-token-type', 'PATCH', '/api/config', b'{"api_token": 5}', 400,
     'invalid_field', 'api_token'),
    ('config-bad-binding', 'PUT', '/api/config',
     b'{"bindings": [{"kind": "blink", "pin": 99, "period_ms": 10}]}', 400,
     'invalid_pin', 'bindings[0].pin'),
    ('config-dup-pin', 'PUT', '/api/config',
     b'{"bindings": [{"kind": "blink", "pin": 2, "period_ms": 10},'
     b' {"kind": "blink", "pin": 2, "period_ms": 10}]}', 409, 'pin_in_use',
     'bindings[1].pin'),
    ('config-deep', 'PUT', '/api/config', DEEP.encode(), 400, 'invalid_json', None),
    ('sim-level-float', 'PUT', '/api/sim/pins/35', b'{"level": 1.0}', 400,
     'invalid_field', 'level'),
    ('sim-extra', 'PUT', '/api/sim/pins/35', b'{"level": 1, "x": 2}', 400,
     'invalid_field', 'x'),
    ('sim-traversal', 'PUT', '/api/sim/pins/..%2f..%2fconfig.json',
     b'{"level": 1}', 400, 'invalid_pin', 'pin'),
    ('long-path-id', 'PATCH', '/api/bindings/' + 'x' * 1500, b'{"level": 1}',
     414, 'uri_too_long', None),
    ('long-path-pin', 'PUT', '/api/sim/pins/' + '9' * 300, b'{"level": 1}',
     414, 'uri_too_long', None),
    ('long-path-static', 'GET', '/static/' + 'a/' * 400, b'', 414,
     'uri_too_long', None),
    ('unicode-path-id', 'PATCH', '/api/bindings/l%C3%A9d', b'{"period_ms": 9}',
     404, 'not_found', ...),
    ('bad-percent', 'PATCH', '/api/bindings/%ff%fe', b'{"period_ms": 9}',
     404, None, ...),
    ('start-unknown', 'POST', '/api/bindings/%2e%2e/start', b'', 404, None, ...),
    ('delete-traversal', 'DELETE', '/api/bindings/..%2f..%2fconfig.json', b'',
     404, None, ...),
]


@pytest.mark.parametrize('name, method, path, data, status, code, field',
                         HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_body_is_refused_and_changes_nothing(board, name, method, path,
                                                     data, status, code, field):
    before = snapshot(board)
    got, out, hdrs = board.request(method, path, raw=data, headers=dict(AUTH))
    assert got == status, (got, out)
    err = is_json_error(got, out, hdrs, code, field)
    assert len(err['message']) < 600, err  # a hostile value is not echoed whole
    assert snapshot(board) == before


@pytest.mark.parametrize('size', [8 * 1024 + 1, 100 * 1024])
def test_oversized_body_is_413_and_changes_nothing(board, size):
    before = snapshot(board)
    data = b'{"kind": "blink", "pin": 12, "period_ms": 100, "x": "%s"}' % (
        b'y' * size)
    for method, path in (('POST', '/api/bindings'), ('PUT', '/api/config'),
                         ('PATCH', '/api/bindings/led')):
        got, out, hdrs = board.request(method, path, raw=data, headers=AUTH)
        assert got == 413, (method, path, got, out)
        is_json_error(got, out, hdrs, 'too_large')
    assert snapshot(board) == before


def test_lying_content_length_is_413(board):
    before = snapshot(board)
    status, hdrs, body = raw_http(board, (
        b'POST /api/bindings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n'
        b'Content-Length: 999999999999\r\n\r\n{}' % TOKEN.encode()))
    assert status == 413, body
    assert json.loads(body)['error']['code'] == 'too_large'
    assert snapshot(board) == before


MALFORMED = [
    ('garbage', b'GARBAGE\r\n\r\n'),
    ('no-version', b'GET /api/status\r\n\r\n'),
    ('header-no-colon', b'GET /api/status HTTP/1.1\r\nHost x\r\n\r\n'),
    ('bad-length', b'POST /api/bindings HTTP/1.1\r\nContent-Length: abc\r\n\r\n'),
    ('negative-length', b'POST /api/bindings HTTP/1.1\r\nContent-Length: -5\r\n'
                        b'Authorization: Bearer ' + TOKEN.encode() + b'\r\n\r\n'),
    ('long-line', b'GET /api/status?' + b'a' * 4000 + b' HTTP/1.1\r\n\r\n'),
    ('long-header', b'GET /api/status HTTP/1.1\r\nX: ' + b'a' * 4000 + b'\r\n\r\n'),
    ('binary-path', b'GET /api/\xff\xfe HTTP/1.1\r\n\r\n'),
    ('nul-path', b'GET /api/bindings/\x00 HTTP/1.1\r\n\r\n'),
    ('bad-query', b'GET /api/bindings?%zz=%ff HTTP/1.1\r\n\r\n'),
    ('unknown-method', b'BREW /api/status HTTP/1.1\r\n\r\n'),
    ('http09', b'GET /\r\n\r\n'),
]


@pytest.mark.parametrize('name, data', MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_http_gets_a_json_4xx(board, name, data):
    before = snapshot(board)
    status, hdrs, body = raw_http(board, data)
    assert 400 <= status < 500, (status, body)
    assert b'Traceback' not in body
    err = json.loads(body)['error']
    assert err['code'] and err['message']
    assert snapshot(board) == before


TRAVERSAL = ['/static/../config.json', '/static/..%2fconfig.json',
             '/static/%2e%2e/config.json', '/static/..%2f..%2fconfig.json',
             '/%2e%2e/config.json', '/static/....//config.json',
             '/static/%2e%2e%2fapp%2fmain.mpy', '/static/app.js/../../config.json',
             '/static//etc/passwd', '/static/..\\config.json',
             '/config.json', '/config.json.gz', '/app/main.mpy',
             '/static/config.json', '/static/%00', '/static/\u00e9.js']


@pytest.mark.parametrize('path', TRAVERSAL)
def test_static_paths_cannot_escape(board, path):
    status, hdrs, body = raw_http(board, b'GET %s HTTP/1.1\r\nHost: x\r\n\r\n'
                                  % path.encode())
    assert status in (400, 403, 404), (path, status, body[:200])
    assert TOKEN.encode() not in body and b'wifi-secret' not in body
    assert json.loads(body)['error']['code']


# ------------------------------------------------- slow clients, the cap


def test_half_a_request_is_dropped_and_blocks_nobody(board):
    slow = socket.create_connection(('127.0.0.1', board.port))
    idle = socket.create_connection(('127.0.0.1', board.port))
    try:
        slow.sendall(b'PATCH /api/bindings/led HTTP/1.1\r\nHost: x\r\nContent-')
        t0 = time.monotonic()
        for _ in range(20):  # others are served at once meanwhile
            assert board.get('/api/status', timeout=2)[0] == 200
        assert time.monotonic() - t0 < 10  # generous: the machine is shared
        slow.settimeout(10)
        idle.settimeout(10)
        got = slow.recv(4096)
        waited = time.monotonic() - t0
        assert got.startswith(b'HTTP/1.0 408'), got
        assert b'"timeout"' in got
        assert 1.5 <= waited <= 15, waited  # read_timeout_s is 2
        assert idle.recv(4096).startswith(b'HTTP/1.0 408')
        # and then the server closes them
        assert slow.recv(4096) == b''
    finally:
        slow.close()
        idle.close()


def test_slowloris_trickle_is_dropped(board):
    """A client trickling one byte at a time does not reset the deadline."""
    s = socket.create_connection(('127.0.0.1', board.port))
    try:
        s.settimeout(0.5)
        t0 = time.monotonic()
        dropped = False
        for ch in b'GET /api/status HTTP/1.1\r\nX-Pad: ' + b'a' * 200:
            try:
                s.sendall(bytes([ch]))
                if s.recv(4096, socket.MSG_PEEK):
                    dropped = True
                    break
            except socket.timeout:
                pass
            except OSError:
                dropped = True
                break
            if time.monotonic() - t0 > 15:
                break
        assert dropped, 'still connected after %.1f s' % (time.monotonic() - t0)
    finally:
        s.close()
    assert board.get('/api/status')[0] == 200


@pytest.fixture(scope='module')
def capped(tmp_path_factory):
    """A VM with a cap of 4 connections and a long read timeout, so idle
    sockets hold their slots for the whole test however slow the machine."""
    config = dict(CONFIG, http={'port': 8080, 'read_timeout_s': 30,
                                'max_connections': 4})
    vm = VM(make_flash(tmp_path_factory.mktemp('capped'), config)).start()
    yield vm
    vm.stop()


def test_connections_beyond_the_cap_get_503(capped):
    idle = []
    try:
        for _ in range(4):  # http.max_connections
            idle.append(socket.create_connection(('127.0.0.1', capped.port)))
        for _ in range(3):
            status, out, hdrs = capped.get('/api/status')
            assert status == 503, out
            is_json_error(status, out, hdrs, 'busy')
            assert hdrs.get('retry-after') == '1'
        # a 503 POST is clean too: the body is read, the reply arrives
        status, out, _ = capped.post('/api/bindings/led/stop', headers=AUTH,
                                     body={'pad': 'x' * 2000})
        assert status == 503, out
        assert capped.get('/api/status')[1]['error']['code'] == 'busy'
    finally:
        for s in idle:
            s.close()
    # closed sockets free their slots at once (EOF, not the timeout)
    deadline = time.monotonic() + 10
    while capped.get('/api/status')[0] != 200:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    status, out, _ = capped.get('/api/status')
    assert out['http']['refused'] >= 5, out['http']
    assert capped.get('/api/bindings/led')[1]['running'] is True  # not stopped


def test_idle_connections_are_freed_by_the_timeout(board):
    idle = [socket.create_connection(('127.0.0.1', board.port))
            for _ in range(6)]  # board: max_connections 6, read_timeout_s 2
    try:
        status = board.get('/api/status')[0]
        deadline = time.monotonic() + 15  # 2 s, generously
        while board.get('/api/status')[0] != 200:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert status == 503
        for s in idle:  # each got its 408
            s.settimeout(5)
            assert s.recv(64).startswith(b'HTTP/1.0 408')
    finally:
        for s in idle:
            s.close()


def test_server_still_answers_and_bindings_still_run(board):
    status, out, _ = board.get('/api/status')
    assert status == 200 and out['safe_mode'] is False
    f0 = board.get('/api/bindings/led')[1]['stats']['fires']
    time.sleep(0.3)
    assert board.get('/api/bindings/led')[1]['stats']['fires'] > f0
    assert 'Traceback' not in board.output(), board.output()[-3000:]


def test_header_floods_do_not_exhaust_a_small_heap(tmp_path):
    """Microdot caps each header line (2 KB) but not their number; the head
    is capped at 4 KB here. Three clients at once, in a heap with about
    80 KB free after boot (the 64-bit port's boot takes ~210 KB)."""
    vm = VM(make_flash(tmp_path / 'flash', {'board': 'auto', 'bindings': [
        {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 10}]}),
        heapsize='290k').start()
    floods = {
        'many-headers': b'GET /api/status HTTP/1.1\r\n' + b''.join(
            b'X-H%d: %s\r\n' % (i, b'a' * 1900) for i in range(200)) + b'\r\n',
        'one-huge-line': b'GET /api/status HTTP/1.1\r\nX-Big: ' +
        b'a' * 1000000 + b'\r\n\r\n',
    }
    try:
        for name, data in floods.items():
            replies = []

            def send():
                try:
                    replies.append(raw_http(vm, data, timeout=15)[0])
                except OSError as e:  # the server may close before reading all
                    replies.append(repr(e))
            threads = [threading.Thread(target=send) for _ in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            assert all(r == 400 or 'reset' in str(r).lower() for r in replies), \
                (name, replies)
            status, body, _ = vm.get('/api/status')
            assert status == 200, (name, body)
        assert vm.get('/api/bindings/led')[1]['running'] is True
        assert vm.proc.poll() is None
        assert 'Traceback' not in vm.output(), vm.output()[-2000:]
    finally:
        vm.stop()
