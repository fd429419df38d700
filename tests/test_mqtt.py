"""MQTT and Home Assistant discovery against a real broker.

Each test starts Debian's mosquitto (``make sysdeps`` installs it) on a
free 127.0.0.1 port with a config file of its own, drives pinwheel on the
VM over HTTP and watches the broker with paho-mqtt; every process is
stopped by its own pid.
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
from vm import free_port  # noqa: E402

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


def test_smoke(make_vm, broker, watch):
    w = watch()
    vm = make_vm(config=mqtt_config(broker, [BLINK], client_id='b1'))
    st = connected(vm)
    print(st)
    assert w.wait('pinwheel/b1/status') == b'online'
    doc = w.wait_json('homeassistant/switch/b1_led/config', lambda d: True)
    print(json.dumps(doc, indent=1))
    print(w.wait_json('pinwheel/b1/led/state', lambda d: True))
