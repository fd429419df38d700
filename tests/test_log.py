"""The event log on the real VM, served over HTTP: a line noted on the
board is printed on the console and served by GET /api/log with the
clock's time; log.size applies at once; the figures docs/api.md gives
are app/log.py's and the config's."""
import json
import re
import time

from vm import ROOT, VM, make_flash

# Boot and serve as app.main.run does, with the two hooks app.main sets
# (log.store, log.clock), and one line noted before serving.
SCRIPT = '''
import sys
sys.path.append('lib')  # as the image's main.py
import asyncio
from app import main, log
registry, store = main.boot()
from app.time.schedules import make
schedules = make(registry, store)
log.store = store
log.clock = schedules.clock
log.note('wifi: joined "home", IP 127.0.0.1')
asyncio.run(main.serve(registry, store, False, [], schedules))
'''


def served(tmp_path, config=None):
    script = tmp_path / 'logged.py'
    script.write_text(SCRIPT)
    flash = make_flash(tmp_path / 'flash', config or {'bindings': []},
                       scripts=[script])
    return VM(flash, script='logged.py').start()


def test_a_noted_line_is_printed_and_served_with_its_time(tmp_path):
    vm = served(tmp_path)
    try:
        before = int(time.time())
        status, body, _ = vm.get('/api/log')
        assert status == 200, body
        events = body['events']
        assert [e['text'] for e in events] == [
            'wifi: joined "home", IP 127.0.0.1'], events
        e = events[0]
        assert sorted(e) == ['t', 'text', 'up_ms'], e
        # the simulated board's clock is the host's: synced, so "t" is set
        assert before - 60 <= e['t'] <= before + 1, (e, before)
        assert 0 <= e['up_ms'] < 60000, e
        assert 'pinwheel: wifi: joined "home", IP 127.0.0.1\n' in vm.output()
        status, body, _ = vm.patch('/api/config', {'log': {'size': 0}})
        assert status == 200 and body['log'] == {'size': 0}, body
        assert vm.get('/api/log')[1] == {'events': []}
        status, body, _ = vm.patch('/api/config', {'log': {'size': 200}})
        assert status == 400 and body['error']['field'] == 'log.size', body
        saved = json.loads((vm.flash / 'config.json').read_text())
        assert saved['log'] == {'size': 0}, saved
    finally:
        vm.stop()


def test_an_unknown_path_says_where_the_api_is(make_vm):
    vm = make_vm(config={'bindings': []})
    status, body, _ = vm.get('/api/no/such/thing')
    message = body['error']['message']
    assert status == 404 and '/api/openapi.json' in message \
        and '/api/kinds' in message and 'README' not in message, body


def test_the_docs_figures_are_the_codes():
    log = (ROOT / 'app' / 'log.py').read_text()
    text_max = int(re.search(r'^TEXT_MAX = const\((\d+)\)', log, re.M).group(1))
    schema = (ROOT / 'app' / 'schema.py').read_text()
    size_max = int(re.search(r"'log\.size': \(0, (\d+)\)", schema).group(1))
    default = int(re.search(r"'log': \{'size': (\d+)\}", schema).group(1))
    doc = ' '.join((ROOT / 'docs' / 'api.md').read_text().split())
    m = re.search(r'`log\.size` \(default (\d+), at most (\d+)\).*? (\d+) bytes '
                  r'of text and (\d+) bytes of times per event \(([\d,]+) '
                  r'bytes for (\d+)\)', doc)
    assert m, 'the event log paragraph of docs/api.md moved: update this test'
    assert int(m.group(1)) == default and int(m.group(2)) == size_max
    assert int(m.group(3)) == text_max and int(m.group(4)) == 12  # array('i') x 3
    assert int(m.group(6)) == default
    assert int(m.group(5).replace(',', '')) == default * (text_max + 12)
    assert '| `log.size` | 0–%d (default %d)' % (size_max, default) in doc
    api = json.loads((ROOT / 'static' / 'openapi.json').read_text())
    size = api['components']['schemas']['Config']['properties']['log'][
        'properties']['size']
    assert (size['minimum'], size['maximum']) == (0, size_max)
    event = api['components']['schemas']['LogEvent']['properties']['text']
    assert event['maxLength'] == text_max
