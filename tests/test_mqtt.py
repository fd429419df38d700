"""MQTT and Home Assistant discovery against a real broker.

Each test starts Debian's mosquitto (``make sysdeps`` installs it) on a
free 127.0.0.1 port with a config file of its own, drives pinwheel on the
VM over HTTP and watches the broker with paho-mqtt; every process is
stopped by its own pid. Home Assistant is played by ``HomeAssistant``:
its MQTT entities' arithmetic, and the discovery messages' templates
rendered with Jinja2 as Home Assistant renders them.
"""
import getpass
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

paho = pytest.importorskip('paho.mqtt.client')
jinja2 = pytest.importorskip('jinja2')
from vm import free_port, run_micropython  # noqa: E402

MOSQUITTO = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
PASSWD = shutil.which('mosquitto_passwd') or '/usr/bin/mosquitto_passwd'
USER, PASSWORD = 'board', 'right-password'
BLINK = {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500}
KINDS = [  # one binding of every kind, and the component each appears as
    ({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500}, 'switch'),
    ({'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 300},
     'button'),
    ({'id': 'sos', 'kind': 'pattern', 'pin': 5, 'steps_ms': [100, 200]},
     'switch'),
    ({'id': 'door', 'kind': 'sample', 'pin': 34, 'period_ms': 50},
     'binary_sensor'),
    ({'id': 'lamp', 'kind': 'pwm', 'pin': 13, 'duty': 30}, 'light'),
    ({'id': 'button', 'kind': 'edge', 'pin': 32, 'pull': 'up',
      'edge': 'falling'}, 'binary_sensor'),
    ({'id': 'meter', 'kind': 'counter', 'pin': 36}, 'sensor'),
    ({'id': 'porch', 'kind': 'switch', 'pin': 15}, 'switch'),
]


def wait_for(check, timeout=10, what='the condition'):
    """Poll ``check`` until it returns something true; return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError('timed out after %ss waiting for %s'
                                 % (timeout, what))
        time.sleep(0.05)


class Broker:
    """mosquitto on 127.0.0.1:``port``: anonymous clients allowed, and
    one user (USER, PASSWORD) whose wrong password is refused."""

    def __init__(self, tmp, port=None):
        self.dir = Path(tmp)
        self.port = port or free_port()
        self.proc = None
        passwd = self.dir / 'passwd'
        subprocess.run([PASSWD, '-b', '-c', str(passwd), USER, PASSWORD],
                       check=True, capture_output=True)
        self.conf = self.dir / 'mosquitto.conf'
        self.conf.write_text(
            # user: started as root, mosquitto would switch to the
            # mosquitto user, who cannot read this test's files
            'listener %d 127.0.0.1\nallow_anonymous true\n'
            'password_file %s\npersistence false\nlog_dest stderr\n'
            'user %s\n' % (self.port, passwd, getpass.getuser()))

    def start(self):
        self.log = open(self.dir / 'mosquitto.log', 'ab')
        self.proc = subprocess.Popen([MOSQUITTO, '-c', str(self.conf)],
                                     stdout=self.log, stderr=self.log)

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError('mosquitto exited: '
                                   + (self.dir / 'mosquitto.log').read_text())
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                return True
            except OSError:
                return False
        wait_for(listening, 10, 'mosquitto to listen')
        return self

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL our own pid: a crashed broker
            self.proc.wait(10)
        if self.proc:
            self.log.close()
        self.proc = None


class Watcher:
    """A paho client subscribed to everything, keeping what it sees:
    ``last[topic]`` (the latest payload, retained ones included) and
    ``log`` (every (topic, payload, retain) in order)."""

    def __init__(self, port, topic='#'):
        self.last = {}
        self.log = []
        self.lock = threading.Lock()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2,
                                  client_id='watcher-%d' % free_port())
        self.client.on_message = self._message
        self.client.on_connect = (
            lambda c, u, f, rc, p: c.subscribe(topic, 1))
        self.client.connect('127.0.0.1', port)
        self.client.loop_start()

    def _message(self, client, userdata, msg):
        with self.lock:
            self.last[msg.topic] = msg.payload
            self.log.append((msg.topic, msg.payload, msg.retain))

    def get(self, topic):
        with self.lock:
            return self.last.get(topic)

    def json(self, topic):
        raw = self.get(topic)
        return json.loads(raw) if raw else None

    def wait(self, topic, check=None, timeout=10):
        """The payload (bytes) of ``topic`` once there is one and ``check``
        (if given) accepts it."""
        def ok():
            raw = self.get(topic)
            if raw is None or (check is not None and not check(raw)):
                return None
            return (raw,)
        return wait_for(ok, timeout, 'a message on %s' % topic)[0]

    def wait_json(self, topic, check, timeout=10):
        def ok():
            raw = self.get(topic)
            if not raw:
                return None
            doc = json.loads(raw)
            return doc if check(doc) else None
        return wait_for(ok, timeout, 'a matching message on %s' % topic)

    def publish(self, topic, payload, qos=1):
        self.client.publish(topic, payload, qos).wait_for_publish(5)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path).start()
    yield b
    b.kill()


@pytest.fixture
def watch(broker):
    watchers = []

    def make(topic='#'):
        w = Watcher(broker.port, topic)
        watchers.append(w)
        return w
    yield make
    for w in watchers:
        w.close()


def mqtt_config(broker, bindings=(), **mqtt):
    cfg = {'host': '127.0.0.1', 'port': broker.port}
    cfg.update(mqtt)
    return {'board': 'auto', 'bindings': list(bindings), 'mqtt': cfg}


def status(vm):
    return vm.get('/api/status')[1]['mqtt']


def connected(vm):
    return wait_for(lambda: status(vm)['state'] == 'connected' and status(vm),
                    10, 'the board to connect')



def discovery_topic(client_id, component, binding_id):
    return 'homeassistant/%s/%s_%s/config' % (component, client_id,
                                               binding_id)


# Home Assistant's reading of a discovery message (its mqtt integration:
# abbreviations.py, discovery.py, and the components' schemas): the
# abbreviated keys spelled out (this is the part of its table that
# pinwheel uses; a key not in it stays as it is, and fails the checks),
# "~" at the start of a topic replaced by the "~" value, then each
# schema's defaults for what the message leaves out.
ABBREVIATIONS = {
    'avty_t': 'availability_topic', 'bri_cmd_t': 'brightness_command_topic',
    'bri_cmd_tpl': 'brightness_command_template',
    'bri_scl': 'brightness_scale', 'bri_stat_t': 'brightness_state_topic',
    'bri_val_tpl': 'brightness_value_template', 'cmd_t': 'command_topic',
    'dev': 'device', 'json_attr_t': 'json_attributes_topic',
    'pl_avail': 'payload_available', 'pl_not_avail': 'payload_not_available',
    'pl_off': 'payload_off', 'pl_on': 'payload_on',
    'pl_prs': 'payload_press', 'stat_cla': 'state_class',
    'stat_off': 'state_off', 'stat_on': 'state_on', 'stat_t': 'state_topic',
    'stat_val_tpl': 'state_value_template', 'uniq_id': 'unique_id',
    'val_tpl': 'value_template'}
DEVICE_ABBREVIATIONS = {
    'cu': 'configuration_url', 'ids': 'identifiers', 'mf': 'manufacturer',
    'mdl': 'model', 'name': 'name', 'sw': 'sw_version'}
DEFAULTS = {
    'switch': {'payload_on': 'ON', 'payload_off': 'OFF'},
    'light': {'payload_on': 'ON', 'payload_off': 'OFF'},
    'binary_sensor': {'payload_on': 'ON', 'payload_off': 'OFF'},
    'button': {'payload_press': 'PRESS'}, 'sensor': {}}


def discovered(raw, component):
    """The discovery message ``raw`` as Home Assistant reads it."""
    raw = json.loads(raw)
    # keys in the abbreviations above, "~" and name: nothing Home Assistant
    # would not know
    assert set(raw) <= set(ABBREVIATIONS) | {'~', 'name'}, raw
    doc = {ABBREVIATIONS.get(k, k): v for k, v in raw.items()}
    if 'device' in doc:
        doc['device'] = {DEVICE_ABBREVIATIONS.get(k, k): v
                         for k, v in doc['device'].items()}
    base = doc.pop('~', None)
    for key, value in doc.items():
        if base is not None and key.endswith('topic') and value[:1] == '~':
            doc[key] = base + value[1:]
    out = {'payload_available': 'online', 'payload_not_available': 'offline'}
    out.update(DEFAULTS[component])
    out.update(doc)
    return out


def wait_discovered(w, client_id, component, binding_id):
    """The discovery message of a binding once there is one, read as Home
    Assistant reads it."""
    return discovered(w.wait(discovery_topic(client_id, component,
                                             binding_id), bool), component)


def test_discovery_for_every_kind_appears_and_vanishes_with_its_binding(
        make_vm, broker, watch):
    w = watch()
    bindings = [dict(b, start=False) for b, _ in KINDS]
    vm = make_vm(config=mqtt_config(broker, bindings, client_id='kit'))
    connected(vm)
    assert w.wait('pinwheel/kit/status') == b'online'
    for binding, component in KINDS:
        doc = wait_discovered(w, 'kit', component, binding['id'])
        assert doc['unique_id'] == 'kit_' + binding['id']
        assert doc['name'] == binding['id']
        assert doc['availability_topic'] == 'pinwheel/kit/status'
        assert w.get('pinwheel/kit/status') == \
            doc['payload_available'].encode()  # shown as available
        assert doc['device'] == {
            'identifiers': ['kit'], 'name': 'kit', 'manufacturer': 'pinwheel',
            'model': 'pinwheel sim', 'sw_version': vm.get(
                '/api/status')[1]['version'],
            'configuration_url': 'http://127.0.0.1:%d/' % vm.port}
        # attributes: the configuration, never the state that moves
        assert doc['json_attributes_topic'] == \
            'pinwheel/kit/%s/attributes' % binding['id']
        if component != 'button':
            assert doc['state_topic'] == 'pinwheel/kit/%s/state' % binding['id']
        if component in ('switch', 'button'):
            assert doc['command_topic'] == 'pinwheel/kit/%s/set' % binding['id']
        if component == 'button':  # a press is the registry's verb pulse
            assert doc['payload_press'] == 'PULSE'
    # retained: a client that connects now gets them too
    late = watch()
    for binding, component in KINDS:
        late.wait(discovery_topic('kit', component, binding['id']))

    # a new binding appears, a deleted one is emptied (retained), and one
    # PUT to another kind moves to its new component
    assert vm.post('/api/bindings', {'id': 'fan', 'kind': 'blink', 'pin': 12,
                                     'period_ms': 100, 'start': False})[0] == 201
    w.wait(discovery_topic('kit', 'switch', 'fan'))
    assert vm.delete('/api/bindings/relay')[0] == 204
    w.wait(discovery_topic('kit', 'button', 'relay'), lambda p: p == b'')
    w.wait('pinwheel/kit/relay/state', lambda p: p == b'')
    w.wait('pinwheel/kit/relay/attributes', lambda p: p == b'')
    assert vm.put('/api/bindings/led', {'kind': 'sample', 'pin': 35,
                                        'period_ms': 100})[0] == 200
    w.wait(discovery_topic('kit', 'switch', 'led'), lambda p: p == b'')
    doc = wait_discovered(w, 'kit', 'binary_sensor', 'led')
    assert doc['unique_id'] == 'kit_led'
    # what a client connecting now is given: no trace of relay
    fresh = watch()
    fresh.wait(discovery_topic('kit', 'switch', 'fan'))
    time.sleep(0.5)
    assert fresh.get(discovery_topic('kit', 'button', 'relay')) is None
    assert fresh.get(discovery_topic('kit', 'switch', 'led')) is None
    assert fresh.get('pinwheel/kit/relay/state') is None
    assert fresh.get('pinwheel/kit/relay/attributes') is None


def test_a_base_with_letters_beyond_ascii(make_vm, broker, watch):
    # lengths on the wire are bytes, not characters: a topic and a JSON
    # payload in UTF-8 arrive whole
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [dict(BLINK, start=False)],
                                    client_id='uni', base='häuser/gärten'))
    connected(vm)
    assert w.wait('häuser/gärten/status') == b'online'
    doc = wait_discovered(w, 'uni', 'switch', 'led')
    assert doc['state_topic'] == 'häuser/gärten/led/state', doc
    assert doc['availability_topic'] == 'häuser/gärten/status', doc
    assert w.wait_json('häuser/gärten/led/state', lambda d: True) == {
        'running': False, 'error': None}
    w.publish('häuser/gärten/led/set', 'ON')
    wait_for(lambda: binding(vm, 'led')['running'], what='ON to start led')


def binding(vm, binding_id):
    return vm.get('/api/bindings/' + binding_id)[1]


def test_set_commands_drive_bindings_through_the_api_checks(
        make_vm, broker, watch):
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [
        dict(BLINK, start=False),
        {'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 60000}],
        client_id='cmd'))
    connected(vm)
    w.wait('pinwheel/cmd/led/state')
    w.publish('pinwheel/cmd/led/set', 'ON')
    wait_for(lambda: binding(vm, 'led')['running'], what='ON to start led')
    w.wait_json('pinwheel/cmd/led/state', lambda d: d['running'])
    w.publish('pinwheel/cmd/led/set', 'OFF')
    wait_for(lambda: not binding(vm, 'led')['running'], what='OFF')
    w.publish('pinwheel/cmd/led/set', 'TOGGLE')
    wait_for(lambda: binding(vm, 'led')['running'], what='TOGGLE on')
    w.publish('pinwheel/cmd/led/set', 'TOGGLE')
    wait_for(lambda: not binding(vm, 'led')['running'], what='TOGGLE off')
    w.publish('pinwheel/cmd/relay/set', 'PULSE')
    wait_for(lambda: binding(vm, 'relay')['running'], what='PULSE')
    assert binding(vm, 'relay')['level'] == 1
    w.publish('pinwheel/cmd/led/set', '{"period_ms": 250}')
    wait_for(lambda: binding(vm, 'led')['period_ms'] == 250, what='a PATCH')
    w.wait_json('pinwheel/cmd/led/attributes',
                lambda d: d['period_ms'] == 250)
    # what changed over MQTT is saved as a REST change is
    config = vm.get('/api/config')[1]
    assert [b['period_ms'] for b in config['bindings'] if b['id'] == 'led'] \
        == [250]

    # refusals: the REST API's error for the same body, on .../error
    def refused(topic, payload):
        w.last.pop(topic.replace('/set', '/error'), None)
        w.publish(topic, payload)
        return w.wait_json(topic.replace('/set', '/error'), lambda d: True)

    too_fast = {'period_ms': 0}
    rest = vm.patch('/api/bindings/led', too_fast)
    assert rest[0] == 400
    assert refused('pinwheel/cmd/led/set', json.dumps(too_fast)) == rest[1]
    bad = refused('pinwheel/cmd/led/set', '{"period_ms": 100,}')  # strict
    assert bad['error']['code'] == 'invalid_json'
    assert refused('pinwheel/cmd/led/set', '{"pin": 34}')['error'][
        'code'] == 'invalid_pin'
    # PULSE is the registry's verb pulse: its refusal for a blink is the
    # registry's, as a rule's or a schedule's would be
    pulse = refused('pinwheel/cmd/led/set', 'PULSE')['error']
    assert pulse['code'] not in ('internal', 'invalid_command'), pulse
    assert 'pulse' in pulse['message'], pulse
    assert refused('pinwheel/cmd/led/set', 'BLINK')['error'][
        'code'] == 'invalid_command'
    assert refused('pinwheel/cmd/nope/set', 'ON')['error'][
        'code'] == 'not_found'
    assert refused('pinwheel/cmd/led/set', b'{' + b' ' * 9000 + b'}')[
        'error']['code'] == 'too_large'
    assert refused('pinwheel/cmd/config/set', '{"limits": {"bindings": 4}}')[
        'error'] == {'code': 'forbidden', 'field': 'mqtt.allow_config',
                     'message': 'config over MQTT is off: set '
                     'mqtt.allow_config to true (PATCH /api/config) to '
                     'allow it'}
    assert binding(vm, 'led')['period_ms'] == 250  # nothing refused applied
    assert vm.get('/api/config')[1]['limits']['bindings'] == 16
    assert status(vm)['received'] >= 14


def test_on_never_restarts_a_running_binding(make_vm, broker, watch):
    # ON is the verb "on": start unless running. A pattern's rounds show a
    # restart (back to 0); a round takes 2 s.
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [
        {'id': 'sos', 'kind': 'pattern', 'pin': 5,
         'steps_ms': [1000, 1000]}], client_id='on'))
    connected(vm)
    wait_for(lambda: binding(vm, 'sos')['rounds'] >= 1, 10, 'a round')
    w.publish('pinwheel/on/sos/set', 'ON')
    w.publish('pinwheel/on/sos/set', 'BLINK')  # answered after ON: a marker
    w.wait_json('pinwheel/on/sos/error', lambda d: True)
    assert binding(vm, 'sos')['rounds'] >= 1, 'ON restarted it'
    w.publish('pinwheel/on/sos/set', 'OFF')
    wait_for(lambda: not binding(vm, 'sos')['running'], what='OFF')
    w.publish('pinwheel/on/sos/set', 'ON')
    wait_for(lambda: binding(vm, 'sos')['running'], what='ON')


def test_config_set_applies_a_patch_when_allowed(make_vm, broker, watch):
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [BLINK], client_id='cfg',
                                    allow_config=True))
    connected(vm)
    w.publish('pinwheel/cfg/config/set', '{"limits": {"bindings": 4}}')
    wait_for(lambda: vm.get('/api/config')[1]['limits']['bindings'] == 4,
             what='the config PATCH')
    w.publish('pinwheel/cfg/config/set', '{"limits": {"bindings": 0}}')
    err = w.wait_json('pinwheel/cfg/config/error', lambda d: True)
    assert err['error']['field'] == 'limits.bindings'
    # a change of the mqtt section restarts the bridge with it
    w.publish('pinwheel/cfg/config/set', '{"mqtt": {"base": "moved/cfg"}}')
    w.wait('moved/cfg/status', lambda p: p == b'online')
    w.wait('pinwheel/cfg/status', lambda p: p == b'offline')
    assert connected(vm)['base'] == 'moved/cfg'


def shown(b):
    """What the board's state message holds for the API's binding ``b``
    (``app.mqtt.hass.state``): what Home Assistant shows of it."""
    out = {'running': b['running'], 'error': b['error']}
    if 'target_duty' in b:
        out['duty'] = b['target_duty']
    if b['kind'] in ('sample', 'edge', 'counter'):
        active = 0 if b.get('edge') == 'falling' or (
            b.get('edge') in (None, 'both') and b.get('pull') == 'up') else 1
        out['level'] = b['level']
        out['active'] = b['level'] == active
    for key in ('count', 'rate_per_s', 'total'):
        if key in b:
            out[key] = b[key]
    return out


def configuration(b):
    """The attributes message for the API's binding ``b``."""
    live = {'id', 'running', 'level', 'stats', 'duty', 'target_duty',
            'fading', 'samples', 'high_count', 'edges', 'step', 'rounds',
            'presses', 'bounces', 'last_edge_ms', 'count', 'rate_per_s',
            'total'}
    out = {k: v for k, v in b.items() if k not in live}
    if 'target_duty' in b:  # a pwm's configured duty (its "duty" is live)
        out['duty'] = b['target_duty']
    return out


def test_retained_state_and_attributes_match_the_api(make_vm, broker, watch):
    bindings = [dict(b, start=False) for b, _ in KINDS]
    vm = make_vm(config=mqtt_config(broker, bindings, client_id='st'))
    connected(vm)
    vm.put('/api/sim/pins/34', {'level': 1})
    vm.post('/api/bindings/led/start')
    vm.patch('/api/bindings/sos', {'repeat': 3})
    vm.post('/api/bindings/relay/start')  # 300 ms, then it stops itself
    vm.post('/api/bindings/door/start')
    vm.post('/api/bindings/lamp/start')
    vm.patch('/api/bindings/lamp', {'duty': 62.5})
    time.sleep(0.4)
    vm.post('/api/bindings/door/stop')
    vm.post('/api/bindings/led/stop')
    wait_for(lambda: not binding(vm, 'relay')['running'], what='the pulse')
    api = {b['id']: b for b in vm.get('/api/bindings')[1]['bindings']}
    late = watch()  # sees only what the broker retained
    for binding_id, b in api.items():
        late.wait_json('pinwheel/st/%s/state' % binding_id,
                       lambda d: d == shown(b))
        late.wait_json('pinwheel/st/%s/attributes' % binding_id,
                       lambda d: d == configuration(b))
    assert late.json('pinwheel/st/lamp/state')['duty'] == 62.5


def test_broker_killed_and_restarted(make_vm, broker, watch, tmp_path):
    vm = make_vm(config=mqtt_config(broker, [dict(BLINK, start=False)],
                                    client_id='phoenix'))
    w0 = watch()
    connected(vm)
    broker_at = '127.0.0.1:%d' % broker.port
    assert 'pinwheel: mqtt: connected to %s\n' % broker_at in vm.output()
    broker.kill()
    st = wait_for(lambda: status(vm)['state'] in ('retrying', 'connecting')
                  and status(vm), what='the board to notice')
    # the API keeps answering, and changes made now are published later
    for _ in range(20):
        assert vm.get('/api/bindings')[0] == 200
    assert vm.patch('/api/bindings/led', {'period_ms': 300})[0] == 200
    assert vm.post('/api/bindings', {'id': 'fan', 'kind': 'blink', 'pin': 12,
                                     'period_ms': 100,
                                     'start': False})[0] == 201
    st = wait_for(lambda: status(vm)['error'] and status(vm),
                  what='an error in /api/status')
    assert 'broker' in st['error'], st
    time.sleep(2)  # down a while: the backoff has grown
    broker.start()  # same port, nothing retained (persistence false)
    t0 = time.monotonic()
    w = watch()
    w.wait('pinwheel/phoenix/status', lambda p: p == b'online', timeout=10)
    assert time.monotonic() - t0 < 10
    w.wait(discovery_topic('phoenix', 'switch', 'led'))
    w.wait(discovery_topic('phoenix', 'switch', 'fan'))
    w.wait_json('pinwheel/phoenix/led/attributes',
                lambda d: d['period_ms'] == 300)
    w.wait_json('pinwheel/phoenix/fan/attributes',
                lambda d: d['period_ms'] == 100)
    w.wait_json('pinwheel/phoenix/fan/state', lambda d: not d['running'])
    st = status(vm)
    assert st['state'] == 'connected' and st['error'] is None, st
    # the event log (the console prints each entry): connected, lost and
    # why, one line for the broker down however many retries, connected
    lines = [line for line in vm.output().splitlines()
             if line.startswith('pinwheel: mqtt: ')]
    assert lines[0] == 'pinwheel: mqtt: connected to ' + broker_at, lines
    assert lines[1].startswith('pinwheel: mqtt: lost ('), lines
    assert lines[1].endswith('), retry in 0.5 s'), lines
    assert lines[-1] == lines[0], lines
    down = [line for line in lines if ' no link to ' in line]
    assert 1 <= len(down) <= 2, lines
    assert down[0].startswith('pinwheel: mqtt: no link to %s (retry in '
                              % broker_at), lines
    # and MQTT publishes nothing of the log
    for seen in (w0, w):
        assert not [t for t, p, _ in seen.log
                    if b'mqtt: ' in p or '/log' in t], seen.log


def test_last_will_says_offline_when_the_vm_dies(make_vm, broker, watch):
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [BLINK], client_id='mortal',
                                    keepalive_s=10))
    connected(vm)
    w.wait('pinwheel/mortal/status', lambda p: p == b'online')
    vm.stop()  # SIGKILL: no DISCONNECT, so the broker sends the will
    w.wait('pinwheel/mortal/status', lambda p: p == b'offline')
    assert ('pinwheel/mortal/status', b'offline', False) in w.log or (
        watch().wait('pinwheel/mortal/status') == b'offline')  # retained


def test_wrong_credentials_are_a_clear_error_then_right_ones_connect(
        make_vm, broker):
    vm = make_vm(config=mqtt_config(broker, [BLINK], client_id='auth',
                                    user=USER, password='wrong'))
    st = wait_for(lambda: status(vm)['error'] and status(vm),
                  what='the refusal')
    assert st['state'] in ('retrying', 'connecting'), st
    assert 'refused' in st['error'] and 'CONNACK' in st['error'], st
    assert vm.get('/api/bindings')[0] == 200  # no crash
    # the password never leaves the board, and sent back as shown keeps it
    config = vm.get('/api/config')[1]
    assert config['mqtt']['password'] == '********'
    assert vm.put('/api/config', config)[0] == 200
    time.sleep(1.5)
    assert status(vm)['error'], 'still the stored (wrong) password'
    assert vm.patch('/api/config', {'mqtt': {'password': PASSWORD}})[0] == 200
    st = connected(vm)
    assert st['error'] is None and st['client_id'] == 'auth'
    assert vm.get('/api/config')[1]['mqtt']['password'] == '********'
    flash = json.loads((vm.flash / 'config.json').read_text())
    assert flash['mqtt']['password'] == PASSWORD  # stored, only hidden


def test_config_turns_mqtt_on_and_off_without_a_reboot(make_vm, broker,
                                                       watch):
    w = watch()
    vm = make_vm(config={'board': 'auto', 'bindings': [BLINK]})
    assert status(vm) == {'state': 'off', 'error': None, 'broker': None,
                          'client_id': None, 'base': None, 'published': 0,
                          'received': 0}
    assert vm.get('/api/config')[1]['mqtt'] is None
    cfg = {'host': '127.0.0.1', 'port': broker.port}
    code, body, _ = vm.patch('/api/config', {'mqtt': cfg})
    assert code == 200, body
    st = connected(vm)
    assert st['client_id'] == 'pinwheel-%04x' % vm.port  # the sim's default
    assert st['broker'] == '127.0.0.1:%d' % broker.port
    base = 'pinwheel/' + st['client_id']
    w.wait(base + '/status', lambda p: p == b'online')
    # a changed section restarts the link: the old one's goodbye first
    seen = len(w.log)
    assert vm.patch('/api/config', {'mqtt': {'keepalive_s': 30}})[0] == 200
    said = lambda: [p for t, p, _ in w.log[seen:] if t == base + '/status']
    try:
        wait_for(lambda: said() == [b'offline', b'online'], what='goodbye')
    except AssertionError:
        raise AssertionError('offline, then online, not %s; broker log:\n%s'
                             % (said(), (broker.dir / 'mosquitto.log')
                                .read_text()[-1500:]))
    assert connected(vm)['published'] > 0
    assert vm.patch('/api/config', {'mqtt': None})[0] == 200
    w.wait(base + '/status', lambda p: p == b'offline')  # said goodbye
    assert status(vm)['state'] == 'off'


@pytest.mark.parametrize('mqtt, field', [
    ({'port': 1883}, 'mqtt.host'),
    ({'host': 'h', 'port': 0}, 'mqtt.port'),
    ({'host': 'h', 'keepalive_s': 1}, 'mqtt.keepalive_s'),
    ({'host': 'h', 'base': 'a/+/b'}, 'mqtt.base'),
    ({'host': 'h', 'base': 'a/'}, 'mqtt.base'),
    ({'host': 'h', 'discovery_prefix': ''}, 'mqtt.discovery_prefix'),
    ({'host': 'h', 'client_id': 'a/b'}, 'mqtt.client_id'),
    ({'host': 'h', 'password': 'p'}, 'mqtt.password'),
    ({'host': 'h', 'tls': 'yes'}, 'mqtt.tls'),
    ({'host': 'h', 'retain': True}, 'mqtt.retain'),
    ('broker', 'mqtt'),
])
def test_bad_mqtt_config_is_refused_with_its_field(vm, mqtt, field):
    code, body, _ = vm.patch('/api/config', {'mqtt': mqtt})
    assert code == 400, body
    assert body['error']['field'] == field, body
    assert status(vm)['state'] == 'off'


def test_ten_boards_on_one_broker_with_eight_bindings_each(
        broker, watch, tmp_path):
    from vm import VM, make_flash
    bindings = [{'id': 'out%d' % i, 'kind': 'blink', 'pin': pin,
                 'period_ms': 200, 'start': i < 2}
                for i, pin in enumerate((12, 13, 14, 15, 16, 17))]
    bindings += [{'id': 'in%d' % i, 'kind': 'sample', 'pin': pin,
                  'period_ms': 100, 'start': False}
                 for i, pin in enumerate((34, 35))]
    w = watch('homeassistant/#')
    vms = [VM(make_flash(tmp_path / ('board%d' % i),
                         mqtt_config(broker, bindings)))
           for i in range(10)]
    try:
        for vm in vms:
            vm.start()
        ids = set()
        for vm in vms:
            client_id = connected(vm)['client_id']
            ids.add(client_id)
            for b in bindings:
                component = 'switch' if b['kind'] == 'blink' else \
                    'binary_sensor'
                doc = wait_discovered(w, client_id, component, b['id'])
                assert doc['device']['identifiers'] == [client_id]
        assert len(ids) == 10
        assert len([t for t, p in w.last.items() if p]) == 80
    finally:
        for vm in vms:
            vm.stop()


def test_dashboard_shows_mqtt_and_sets_the_broker(make_vm, broker, watch):
    sync_api = pytest.importorskip('playwright.sync_api')
    chromium = '/usr/bin/chromium'
    if not Path(chromium).exists():
        pytest.fail('%s is missing: run `make sysdeps`' % chromium)
    expect = sync_api.expect
    vm = make_vm(config={'board': 'auto', 'bindings': [BLINK]})
    w = watch()
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                     args=['--no-sandbox', '--disable-gpu'])
        try:
            page = browser.new_page()
            page.set_default_timeout(10000)
            errors = []
            page.on('pageerror', lambda e: errors.append(str(e)))
            page.goto('http://127.0.0.1:%d/' % vm.port)
            expect(page.locator('#s-mqtt')).to_have_text('off')
            # a wrong password first: the status bar says retrying, and why
            page.fill('#m-host', '127.0.0.1')
            page.fill('#m-port', str(broker.port))
            page.fill('#m-user', USER)
            page.fill('#m-password', 'wrong')
            page.fill('#m-client_id', 'dash')
            page.click('#mqtt button[type=submit]')
            expect(page.locator('#s-mqtt')).to_have_text('retrying')
            expect(page.locator('#m-state')).to_contain_text('CONNACK')
            expect(page.locator('#m-password')).to_have_value('********')
            page.fill('#m-password', PASSWORD)
            page.click('#mqtt button[type=submit]')
            expect(page.locator('#s-mqtt')).to_have_text('connected')
            expect(page.locator('#m-state')).to_contain_text('pinwheel/dash/')
            w.wait(discovery_topic('dash', 'switch', 'led'))
            page.fill('#m-host', '')  # refused: the API's message shows
            page.click('#mqtt button[type=submit]')
            expect(page.locator('#mqtt .err')).to_contain_text('mqtt.host')
            page.click('#m-off')
            expect(page.locator('#s-mqtt')).to_have_text('off')
            w.wait('pinwheel/dash/status', lambda p: p == b'offline')
            assert not errors, errors
        finally:
            browser.close()


# -- Home Assistant's side ------------------------------------------------------

def render(template, payload=None, **variables):
    """A discovery message's template rendered as Home Assistant's MQTT
    integration renders it: Jinja2, with ``value`` (the payload as text)
    and ``value_json`` (it parsed, when it is JSON) for a value template,
    ``value`` (what is sent) for a command template; the result as text."""
    if payload is not None:
        text = payload.decode() if isinstance(payload, bytes) else payload
        variables['value'] = text
        try:
            variables['value_json'] = json.loads(text)
        except ValueError:
            pass
    return jinja2.Environment().from_string(template).render(**variables)


class HomeAssistant:
    """Home Assistant's MQTT entities, reduced to their arithmetic (from
    homeassistant/components/mqtt and light): each reads the retained
    state the watcher ``w`` has, with the discovery message's templates,
    and sends commands as Home Assistant does."""

    def __init__(self, w, client_id):
        self.w = w
        self.client_id = client_id

    def doc(self, component, binding_id):
        return wait_discovered(self.w, self.client_id, component,
                               binding_id)

    def state_of(self, doc, template_key='value_template'):
        payload = self.w.wait(doc['state_topic'])
        return render(doc[template_key], payload)

    # switch, binary_sensor, sensor
    def is_on(self, component, binding_id):
        doc = self.doc(component, binding_id)
        if component == 'light':
            value = self.state_of(doc, 'state_value_template')
            return {doc['payload_on']: True, doc['payload_off']: False}[value]
        value = self.state_of(doc)
        on = doc.get('state_on', doc.get('payload_on', 'ON'))
        off = doc.get('state_off', doc.get('payload_off', 'OFF'))
        return {on: True, off: False}[value]

    def sensor(self, binding_id):
        return self.state_of(self.doc('sensor', binding_id))

    def turn(self, component, binding_id, on):
        doc = self.doc(component, binding_id)
        self.w.publish(doc['command_topic'],
                       doc['payload_on' if on else 'payload_off'])

    # light: the default schema's turn_on and brightness state
    def light_on(self, binding_id, brightness_pct=None):
        """``light.turn_on`` with ``brightness_pct``: the brightness (0-255)
        scaled to ``brightness_scale`` and sent through the command
        template, then the ON payload (``on_command_type: last``)."""
        doc = self.doc('light', binding_id)
        if brightness_pct is not None:
            brightness = round(brightness_pct * 255 / 100)
            scale = doc['brightness_scale']
            device = max(min(round(brightness / 255 * scale), scale), 1)
            self.w.publish(doc['brightness_command_topic'], render(
                doc['brightness_command_template'], value=device))
        self.w.publish(doc['command_topic'], doc['payload_on'])

    def brightness_pct(self, binding_id):
        """The brightness the light shows, in %, from its state: None when
        Home Assistant ignores the message (empty or zero)."""
        doc = self.doc('light', binding_id)
        value = render(doc['brightness_value_template'],
                       self.w.wait(doc['brightness_state_topic']))
        if not value or float(value) == 0:
            return None
        brightness = min(round(float(value) / doc['brightness_scale'] * 255),
                         255)
        return round(brightness / 255 * 100)


def test_home_assistant_dims_a_pwm_light_in_percent_both_ways(
        make_vm, broker, watch):
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [
        {'id': 'lamp', 'kind': 'pwm', 'pin': 12, 'duty': 80, 'start': False}],
        client_id='ha'))
    connected(vm)
    ha = HomeAssistant(w, 'ha')
    assert not ha.is_on('light', 'lamp')
    assert ha.brightness_pct('lamp') == 80  # off, its duty kept
    # 50 % in Home Assistant is duty 50, and reads back as 50 %
    ha.light_on('lamp', 50)
    wait_for(lambda: binding(vm, 'lamp')['running'], what='the light on')
    lamp = binding(vm, 'lamp')
    assert (lamp['duty'], lamp['target_duty']) == (50, 50), lamp
    wait_for(lambda: ha.is_on('light', 'lamp'), what='the light shown on')
    wait_for(lambda: ha.brightness_pct('lamp') == 50, what='50 % shown')
    for pct in (1, 100, 33):
        ha.light_on('lamp', pct)
        wait_for(lambda: binding(vm, 'lamp')['target_duty'] == pct,
                 what='duty %d' % pct)
        wait_for(lambda: ha.brightness_pct('lamp') == pct,
                 what='%d %% shown' % pct)
    # a duty set on the board shows as that percentage
    assert vm.patch('/api/bindings/lamp', {'duty': 30})[0] == 200
    wait_for(lambda: ha.brightness_pct('lamp') == 30, what='30 % shown')
    assert binding(vm, 'lamp')['running']  # a PATCH keeps it running
    ha.turn('light', 'lamp', False)
    wait_for(lambda: not ha.is_on('light', 'lamp'), what='the light off')
    assert not binding(vm, 'lamp')['running']
    ha.light_on('lamp')  # on again, at the duty it had
    wait_for(lambda: ha.is_on('light', 'lamp'), what='on again')
    assert binding(vm, 'lamp')['duty'] == 30
    assert not w.get('pinwheel/ha/lamp/error'), w.get('pinwheel/ha/lamp/error')


def test_home_assistant_switches_a_relay(make_vm, broker, watch):
    # the switch kind is a Home Assistant switch; an active-low relay is on
    # while its pin is low
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [
        {'id': 'relay', 'kind': 'switch', 'pin': 4, 'active_level': 0,
         'start': False}], client_id='relay'))
    connected(vm)
    ha = HomeAssistant(w, 'relay')
    assert not ha.is_on('switch', 'relay')
    for on in (True, False, True):
        ha.turn('switch', 'relay', on)
        wait_for(lambda: binding(vm, 'relay')['running'] == on,
                 what='the relay %s' % ('on' if on else 'off'))
        assert binding(vm, 'relay')['level'] == (0 if on else 1)
        wait_for(lambda: ha.is_on('switch', 'relay') == on,
                 what='the switch shown %s' % ('on' if on else 'off'))
    assert vm.post('/api/bindings/relay/off')[0] == 200  # the board's side
    wait_for(lambda: not ha.is_on('switch', 'relay'), what='off shown')


def test_home_assistant_reads_an_input_on_while_it_is_pressed(
        make_vm, broker, watch):
    # a button to ground (pull-up, pressed = falling), one to 3V3 (pull-down,
    # pressed = rising), a sample with a pull-up: each ON while pressed
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [
        {'id': 'to_gnd', 'kind': 'edge', 'pin': 32, 'pull': 'up',
         'edge': 'falling'},
        {'id': 'to_vcc', 'kind': 'edge', 'pin': 33, 'pull': 'down',
         'edge': 'rising'},
        {'id': 'door', 'kind': 'sample', 'pin': 27, 'pull': 'up',
         'period_ms': 20}], client_id='inputs'))
    connected(vm)
    ha = HomeAssistant(w, 'inputs')
    pressed = {'to_gnd': 0, 'to_vcc': 1, 'door': 0}
    pins = {'to_gnd': 32, 'to_vcc': 33, 'door': 27}
    for binding_id, level in pressed.items():
        for now_pressed in (False, True, False):
            pin_level = level if now_pressed else 1 - level
            assert vm.put('/api/sim/pins/%d' % pins[binding_id],
                          {'level': pin_level})[0] == 200
            wait_for(lambda: ha.is_on('binary_sensor', binding_id)
                     == now_pressed, what='%s %s' % (
                         binding_id, 'pressed' if now_pressed else 'released'))


def state_messages(w, topic, since):
    return [p for t, p, _ in w.log[since:] if t == topic]


def test_state_follows_what_home_assistant_shows_never_a_toggle(
        make_vm, broker, watch):
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [
        {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 20},
        {'id': 'meter', 'kind': 'counter', 'pin': 35}], client_id='calm'))
    connected(vm)
    ha = HomeAssistant(w, 'calm')
    assert ha.is_on('switch', 'led')
    assert ha.sensor('meter') == '0'
    # a 20 ms blink toggles 50 times a second: its state does not move
    seen = len(w.log)
    fires = binding(vm, 'led')['stats']['fires']
    time.sleep(1.5)
    assert binding(vm, 'led')['stats']['fires'] > fires + 20
    assert state_messages(w, 'pinwheel/calm/led/state', seen) == []
    assert state_messages(w, 'pinwheel/calm/led/attributes', seen) == []
    # what Home Assistant shows does: off, on
    ha.turn('switch', 'led', False)
    wait_for(lambda: not ha.is_on('switch', 'led'), what='the switch off')
    ha.turn('switch', 'led', True)
    wait_for(lambda: ha.is_on('switch', 'led'), what='the switch on')
    # a counter's count: at most every 5 s (the bridge's _COUNT_MS), then
    # once more when the pulses stop, so its rate falls back
    seen = len(w.log)
    t0 = time.monotonic()
    burst = vm.put('/api/sim/pins/35', {'pulses': 300, 'high_ms': 10,
                                        'low_ms': 10})[1]
    wait_for(lambda: binding(vm, 'meter')['count'] == 300, 30,
             'the burst of %s ms' % burst['ms'])
    wait_for(lambda: ha.sensor('meter') == '300', 15, 'the count shown')
    last = w.json('pinwheel/calm/meter/state')
    wait_for(lambda: w.json('pinwheel/calm/meter/state')['rate_per_s'] == 0,
             15, 'the rate back to 0 (last: %s)' % last)
    spent = time.monotonic() - t0
    sent = state_messages(w, 'pinwheel/calm/meter/state', seen)
    assert 2 <= len(sent) <= 2 + spent / 5, (len(sent), spent)


def test_mqtt_imports_nothing_of_the_http_layer(tmp_path):
    script = tmp_path / 'imports.py'
    script.write_text(
        'import sys\n'
        'from app.sim import install\n'
        'install()\n'
        'import app.mqtt.hass\n'
        'print("LOADED", sorted(m for m in sys.modules\n'
        '      if m.startswith("app") or m.startswith("microdot")))\n')
    res = run_micropython(script)
    assert res.returncode == 0, res.stdout + res.stderr
    loaded = res.stdout.split('LOADED', 1)[1]
    for module in ('app.http', 'microdot', 'app.time'):
        assert "'%s" % module not in loaded, loaded
    assert "'app.changes'" in loaded and "'app.mqtt.client'" in loaded
