"""The OpenAPI document (static/openapi.json) is true: every route the app
registers is in it, and schemathesis fuzzing the app on the real VM finds no
5xx and no response that breaks the document."""
import gzip
import http.client
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from vm import ROOT, VM, make_flash, run_micropython

DOC = ROOT / 'static' / 'openapi.json'
TOKEN = 'fuzz-token-0123456789'
ROUTES = r'''
import json
from app.main import boot
from app.main import build_app
registry, store = boot('no-such-config.json')
app = build_app(registry, store)
from app.http.server import METHODS
for pattern, bits, _ in app.routes:
    methods = [m for i, m in enumerate(METHODS) if bits >> i & 1]
    print('ROUTE', json.dumps([methods, pattern]))
'''


def doc():
    return json.loads(DOC.read_text())


def registered_routes(tmp_path):
    script = tmp_path / 'routes.py'
    script.write_text(ROUTES)
    result = run_micropython(script, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    routes = []
    for line in result.stdout.splitlines():
        if line.startswith('ROUTE '):
            methods, pattern = json.loads(line[6:])
            # "<name>", "<path:name>" -> OpenAPI "{name}"
            path = re.sub(r'<(?:[^:>]+:)?([^>]+)>', r'{\1}', pattern)
            routes += [(m.lower(), path) for m in methods]
    return routes


def test_every_registered_route_is_documented(tmp_path):
    routes = registered_routes(tmp_path)
    assert len(routes) >= 15, routes  # the app really was introspected
    paths = doc()['paths']
    missing = [(m, p) for m, p in routes if m not in paths.get(p, {})]
    assert not missing, 'routes missing from static/openapi.json: %s' % missing
    # and the document lists nothing the app does not serve
    documented = {(m, p) for p, item in paths.items() for m in item
                  if m in ('get', 'post', 'put', 'patch', 'delete')}
    assert documented == set(routes), documented ^ set(routes)


def test_kind_schemas_are_generated_from_fields(tmp_path):
    """The per-kind schemas come from each kind's FIELDS: regenerating them
    (tools/openapi.py, on the VM) must give the file as it is."""
    out = tmp_path / 'openapi.json'
    result = run_micropython(ROOT / 'tools' / 'openapi.py', [str(out)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.read_text() == DOC.read_text(), (
        'static/openapi.json is stale: run .venv/bin/micropython '
        'tools/openapi.py')
    schemas = doc()['components']['schemas']
    refs = [r['$ref'] for r in schemas['BindingCreate']['oneOf']]
    assert refs == ['#/components/schemas/%sCreate' % k for k in
                    ('Blink', 'Breathe', 'Counter', 'Edge', 'Pattern',
                     'Pulse', 'Pwm', 'Sample', 'Switch')]
    period = schemas['BlinkCreate']['properties']['period_ms']
    assert period['type'] == 'integer' and period['maximum'] == 86400000
    assert 'toggles' in period['description']


def test_document_is_openapi_3_and_refs_resolve():
    d = doc()
    assert d['openapi'].startswith('3.')
    text = DOC.read_text()
    for ref in set(re.findall(r'"\$ref": "#/([^"]+)"', text)):
        node = d
        for part in ref.split('/'):
            node = node[part]


def test_served_document_is_the_file(tmp_path):
    vm = VM(make_flash(tmp_path / 'flash', {'board': 'auto'})).start()
    try:
        conn = http.client.HTTPConnection('127.0.0.1', vm.port, timeout=10)
        conn.request('GET', '/api/openapi.json',
                     headers={'Accept-Encoding': 'gzip'})
        res = conn.getresponse()
        body = res.read()
        assert res.status == 200
        assert res.getheader('Content-Encoding') == 'gzip'
        assert json.loads(gzip.decompress(body)) == doc()
    finally:
        vm.stop()


CHECKS = ('not_a_server_error,status_code_conformance,content_type_conformance,'
          'response_schema_conformance,response_headers_conformance,'
          'negative_data_rejection')


def fuzz_schema(path):
    """The document without ``api_token`` in the config bodies: a fuzzed
    PUT or PATCH /api/config that set a random token would lock the rest of
    the run out (the token itself is covered by tests/test_hardening.py)."""
    d = doc()
    schemas = d['components']['schemas']
    for method, name in (('put', 'Config'), ('patch', 'ConfigPatch')):
        body = schemas[name + 'Fuzz'] = json.loads(json.dumps(schemas[name]))
        body['properties'].pop('api_token')
        content = d['paths']['/api/config'][method]['requestBody']['content']
        content['application/json']['schema'] = {
            '$ref': '#/components/schemas/%sFuzz' % name}
    path.write_text(json.dumps(d))
    return path


def test_schemathesis_finds_no_5xx_and_no_schema_violation(tmp_path):
    config = {'board': 'auto', 'api_token': TOKEN, 'bindings': [
        {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 50},
        {'id': 'button', 'kind': 'sample', 'pin': 34, 'period_ms': 20}]}
    # a request that breaks the document may be refused with 414 too: an
    # out-of-enum path parameter (the verb of /api/bindings/{id}/{verb}) is
    # often longer than the 96 characters a path may have
    (tmp_path / 'schemathesis.toml').write_text(
        '[checks.negative_data_rejection]\nexpected-statuses = ["400", "401", '
        '"403", "404", "405", "406", "409", "414", "415", "422", "428", '
        '"429", "5xx"]\n')
    vm = VM(make_flash(tmp_path / 'flash', config)).start()
    try:
        cmd = [str(Path(sys.executable).with_name('schemathesis')), 'run',
               str(fuzz_schema(tmp_path / 'openapi.json')),
               '--url', 'http://127.0.0.1:%d' % vm.port,
               '-H', 'Authorization: Bearer ' + TOKEN,
               '--exclude-path', '/api/events',  # an endless stream
               '--checks', CHECKS, '--phases', 'examples,coverage,fuzzing',
               '--max-examples', '5', '--workers', '1', '--seed', '1',
               '--request-timeout', '10', '--max-failures', '20']
        t0 = time.monotonic()
        result = subprocess.run(cmd, capture_output=True, text=True,
                                timeout=280, cwd=tmp_path)
        out = result.stdout + result.stderr
        took = time.monotonic() - t0
        cases = re.search(r'(\d+) generated', out)
        print('schemathesis: %s cases in %.0f s' % (
            cases.group(1) if cases else '?', took))
        assert result.returncode == 0, out[-6000:]
        assert cases and int(cases.group(1)) > 300, out[-3000:]
        # then sequences: create, use, delete, use after delete (links are
        # inferred from the paths)
        stateful = cmd[:cmd.index('--checks')] + [
            '--checks', CHECKS + ',use_after_free,ensure_resource_availability',
            '--phases', 'stateful', '--max-examples', '40', '--workers', '1',
            '--seed', '1', '--request-timeout', '10', '--max-failures', '20']
        result = subprocess.run(stateful, capture_output=True, text=True,
                                timeout=200, cwd=tmp_path)
        out = result.stdout + result.stderr
        steps = re.search(r'(\d+) generated', out)
        print('schemathesis stateful: %s cases' % (steps.group(1) if steps else '?'))
        assert result.returncode == 0, out[-6000:]
        # the server still answers and nothing crashed inside
        status, body, _ = vm.get('/api/status', headers={
            'Authorization': 'Bearer ' + TOKEN})
        assert status == 200, body
        assert 'Traceback' not in vm.output(), vm.output()[-3000:]
    finally:
        vm.stop()
