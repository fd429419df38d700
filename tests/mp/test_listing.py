"""GET /api/bindings and /api/bindings/<id> through the app's routes (no
sockets): the cached JSON (handler.Listing) says what to_dict() says, and
follows every live change: a stale cache fails here."""
import json
import unit
from microdot.microdot import AsyncBytesIO
from app import config
from app.api import create_app
from app.board import Board
from app.handler import Listing
from app.registry import Registry
from app import sim

BODIES = [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 1000},
    {'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 1000},
    {'id': 'sos', 'kind': 'pattern', 'pin': 5, 'steps_ms': [1000, 2000, 3000],
     'repeat': 2},
    {'id': 'button', 'kind': 'sample', 'pin': 34, 'period_ms': 1000,
     'window': 4},
]


class Store(config.Config):
    def save(self, bindings):  # no file
        self.data['bindings'] = bindings


class Writer(AsyncBytesIO):
    def get_extra_info(self, name):
        return ('127.0.0.1', 40000)


def setup():
    reg = Registry(Board('sim'))
    app = create_app(reg, Store())
    for body in BODIES:
        reg.create(body)
    for h in reg.bindings:
        h._timer_deinit()  # the test fires the ISRs itself
    return reg, app


def request(app, method, path):
    raw = method + b' ' + path + b' HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
    writer = Writer(b'')
    unit.run(app.handle_request(AsyncBytesIO(raw), writer))
    head, body = writer.stream.getvalue().split(b'\r\n\r\n', 1)
    lines = head.decode().split('\r\n')
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(': ', 1)
        headers[k.lower()] = v
    if method != b'HEAD':
        assert int(headers['content-length']) == len(body), headers
    return status, headers, body


def get(app, path):
    status, headers, body = request(app, b'GET', path)
    assert status == 200, (path, status, body)
    assert headers['content-type'] == 'application/json; charset=UTF-8'
    return json.loads(body)


def check_same(reg, app):
    """Both routes say exactly what to_dict() says, now."""
    want = [h.to_dict() for h in reg.bindings]
    assert get(app, b'/api/bindings') == {'bindings': want}, want
    for d in want:
        assert get(app, b'/api/bindings/' + d['id'].encode()) == d, d


def find(doc, binding_id):
    for b in doc['bindings']:
        if b['id'] == binding_id:
            return b
    return None


def fire(h, n=1):
    for _ in range(n):
        h._isr(h.timer)  # its deferred work runs at the next bytecode


def test_same_as_to_dict_for_every_kind():
    reg, app = setup()
    check_same(reg, app)
    for h in reg.bindings:
        fire(h, 3)
    check_same(reg, app)
    for h in reg.bindings:
        h.stop()
    check_same(reg, app)


def test_follows_fires_level_and_kind_state():
    reg, app = setup()
    led, sos, button = reg.get('led'), reg.get('sos'), reg.get('button')
    before = get(app, b'/api/bindings')
    assert find(before, 'led')['stats']['fires'] == 0
    fire(led)
    fire(sos, 2)
    sim.drive(34, 1)
    fire(button, 2)
    after = get(app, b'/api/bindings')
    b = find(after, 'led')
    assert b['stats']['fires'] == 1 and b['level'] == 0, b
    assert b['stats']['deferred'] == 1, b
    b = find(after, 'sos')
    assert b['step'] == 2 and b['stats']['fires'] == 2, b
    b = find(after, 'button')
    assert b['samples'] == [1, 1] and b['high_count'] == 2, b
    assert b['edges'] == 1 and b['level'] == 1, b
    assert get(app, b'/api/bindings/button') == b
    sim.drive(34, 0)
    check_same(reg, app)


def test_follows_stop_start_and_errors():
    reg, app = setup()
    get(app, b'/api/bindings')
    status, _, body = request(app, b'POST', b'/api/bindings/led/stop')
    assert status == 200
    assert find(get(app, b'/api/bindings'), 'led')['running'] is False
    assert get(app, b'/api/bindings/led')['running'] is False
    request(app, b'POST', b'/api/bindings/led/start')
    reg.get('led')._timer_deinit()
    assert find(get(app, b'/api/bindings'), 'led')['running'] is True
    # an error appears (deferred work or an ISR fault stops the binding)
    reg.get('relay').fail(ValueError('boom'), 'test')
    b = find(get(app, b'/api/bindings'), 'relay')
    assert b['running'] is False and 'boom' in b['error'], b
    # an ISR fault the request itself folds in (sync)
    sos = reg.get('sos')
    sos._fault = OSError(5)
    b = find(get(app, b'/api/bindings'), 'sos')
    assert b['running'] is False and 'OSError' in b['error'], b
    check_same(reg, app)


def test_follows_bindings_that_come_go_and_change():
    reg, app = setup()
    assert len(get(app, b'/api/bindings')['bindings']) == 4
    reg.delete('relay')
    doc = get(app, b'/api/bindings')
    assert find(doc, 'relay') is None and len(doc['bindings']) == 3
    h = reg.create({'id': 'relay2', 'kind': 'blink', 'pin': 4,
                    'period_ms': 2000, 'start': False})
    doc = get(app, b'/api/bindings')
    assert find(doc, 'relay2')['period_ms'] == 2000
    # replace one by another of the same count: new params show
    reg.update('relay2', {'period_ms': 3000}, True)
    assert find(get(app, b'/api/bindings'), 'relay2')['period_ms'] == 3000
    reg.delete('relay2')
    reg.create({'id': 'relay3', 'kind': 'pulse', 'pin': 4,
                'duration_ms': 500, 'start': False})
    doc = get(app, b'/api/bindings')
    assert find(doc, 'relay2') is None and find(doc, 'relay3'), doc
    check_same(reg, app)
    assert h is not reg.find('relay3')


def test_stopped_input_shows_its_pin():
    reg, app = setup()
    reg.stop('button')
    sim.drive(34, 0)
    assert find(get(app, b'/api/bindings'), 'button')['level'] == 0
    sim.drive(34, 1)
    assert find(get(app, b'/api/bindings'), 'button')['level'] == 1
    assert get(app, b'/api/bindings/button')['level'] == 1
    sim.drive(34, 0)


def test_restart_of_a_running_sample_shows_its_reset_window():
    reg, app = setup()
    button = reg.get('button')
    sim.drive(34, 1)
    fire(button, 3)
    assert find(get(app, b'/api/bindings'), 'button')['samples'] == [1, 1, 1]
    reg.start('button')  # running already: begin() empties the window
    button._timer_deinit()
    assert find(get(app, b'/api/bindings'), 'button')['samples'] == []
    sim.drive(34, 0)


def test_unchanged_is_reused_and_listings_do_not_mix():
    reg, _ = setup()
    hs = reg.bindings
    a, b = Listing(), Listing()
    first = a.json(hs)
    assert a.json(hs) is first  # nothing moved: the same bytes
    led = reg.get('led')
    fire(led)
    got = b.json(hs)  # b renders (and marks) the new state ...
    # ... a must still see that led moved since its own render
    again = a.json(hs)
    assert again is not first
    assert find(json.loads(again), 'led')['stats']['fires'] == 1
    assert json.loads(got) == json.loads(again)


def test_head_has_no_body():
    reg, app = setup()
    status, headers, body = request(app, b'HEAD', b'/api/bindings')
    assert status == 200 and body == b'', body
    assert int(headers['content-length']) == len(json.dumps(
        {'bindings': [h.to_dict() for h in reg.bindings]})), headers


unit.main(globals())
