"""The event log on the real VM, served over HTTP: a line noted on the
board is printed on the console and served by GET /api/log with the
clock's time; log.size applies at once; the figures docs/api.md gives
are app/log.py's and the config's."""
import json
import re
import time

from vm import ROOT, VM, make_flash

# Boot and serve as app.main.run does, with the hook app.main is to set
# (log.store); the clock sets log.clock itself (app.time.Time). One line
# before the clock is loaded (as Wi-Fi's at boot), one after.
SCRIPT = '''
import sys
sys.path.append('lib')  # as the image's main.py
import asyncio
from app import main, log
from app.time import Time
registry, store = main.boot()
log.store = store
log.note('wifi: joined "home", IP 127.0.0.1')
timing = Time(registry, store)

async def go():
    timing.schedules()  # the clock: the simulated board's is synced
    log.note('schedule "ev1": start "porch"')
    await main.serve(registry, store, False, [], timing)

asyncio.run(go())
'''


def served(tmp_path, config=None):
    script = tmp_path / 'logged.py'
    script.write_text(SCRIPT)
    flash = make_flash(tmp_path / 'flash', config or {'bindings': []},
                       scripts=[script])
    return VM(flash, script='logged.py').start()


def test_noted_lines_are_printed_and_served_with_their_time(tmp_path):
    vm = served(tmp_path)
    try:
        before = int(time.time())
        status, body, _ = vm.get('/api/log')
        assert status == 200, body
        events = body['events']
        assert [e['text'] for e in events] == [
            'wifi: joined "home", IP 127.0.0.1',
            'schedule "ev1": start "porch"'], events
        assert all(sorted(e) == ['t', 'text', 'up_ms'] for e in events)
        # no clock yet: null; then the simulated board's, the host's clock
        assert events[0]['t'] is None, events
        assert before - 60 <= events[1]['t'] <= before + 1, (events, before)
        assert 0 <= events[0]['up_ms'] <= events[1]['up_ms'] < 60000, events
        out = vm.output()
        assert 'pinwheel: wifi: joined "home", IP 127.0.0.1\n' in out
        assert 'pinwheel: schedule "ev1": start "porch"\n' in out
        status, body, _ = vm.patch('/api/config', {'log': {'size': 1}})
        assert status == 200 and body['log'] == {'size': 1}, body
        assert [e['text'] for e in vm.get('/api/log')[1]['events']] == [
            'schedule "ev1": start "porch"']
        status, body, _ = vm.patch('/api/config', {'log': {'size': 0}})
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
    config = (ROOT / 'app' / 'defaults.py').read_text()  # the defaults
    default = int(re.search(r"'log': \{'size': (\d+)\}", config).group(1))
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
