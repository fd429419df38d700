"""The MQTT bridge (``app.mqtt.hass``) near the heap's limit, without a
broker: whatever step of a link runs out of memory (making the client,
connecting, publishing, logging why), the bridge's task lives on, says
why in its status and connects again; a new link publishes everything
anew. Against a real broker: tests/test_mqtt.py."""
import asyncio
import unit
from app import log
from app.board.board import Board
from app.config import MQTT
from app.mqtt import hass
from app.registry import Registry
from fakes import Store


class FakeClient:
    """The bridge's side of ``app.mqtt.client.Client``, recording what it
    is asked to do; ``fail`` (a set of step names: 'make', 'connect',
    'publish') raises MemoryError there."""
    fail = set()
    made = []

    def __init__(self, keepalive_s):
        if 'make' in FakeClient.fail:
            raise MemoryError
        self.published = self.received = 0
        self.keepalive_ms = keepalive_s * 1000
        self.sent = []
        self.closed = False
        FakeClient.made.append(self)

    async def connect(self, *args):
        if 'connect' in FakeClient.fail:
            raise MemoryError

    async def publish(self, topic, payload, retain=False, qos=0):
        if 'publish' in FakeClient.fail and topic.endswith('/state'):
            raise MemoryError
        if isinstance(payload, tuple):
            payload = ''.join(payload)
        self.sent.append((topic, payload))
        self.published += 1

    async def receive(self):
        while True:
            await asyncio.sleep_ms(1000)

    async def ping(self):
        pass

    def stalled(self):
        return None

    def close(self):
        self.closed = True


def run_bridge(ms, fail=(), during=None):
    """A bridge with one blink, run for ``ms`` with FakeClient failing at
    ``fail``; ``during()`` runs halfway. Returns the bridge, still running
    (its task checked alive at the end, then stopped)."""
    FakeClient.fail = set(fail)
    FakeClient.made = []
    old = hass.Client
    hass.Client = FakeClient
    registry = Registry(Board('sim', 8), 16)
    registry.create({'id': 'led', 'kind': 'blink', 'pin': 2,
                     'period_ms': 500, 'start': False})
    cfg = dict(MQTT, host='127.0.0.1', client_id='t')
    made = []

    async def main():
        bridge = hass.Bridge(registry, Store(), cfg, '127.0.0.1', 8080)
        made.append(bridge)
        await asyncio.sleep_ms(ms // 2)
        if during:
            during()
        await asyncio.sleep_ms(ms - ms // 2)
        alive = not bridge.task.done()
        bridge.stop()
        await asyncio.sleep_ms(10)
        return alive
    try:
        alive = unit.run(main())
    finally:
        hass.Client = old
        FakeClient.fail = set()
        registry.delete('led')
    assert alive, 'the bridge task ended'
    return made[0]


def test_a_link_publishes_discovery_attributes_and_state():
    run_bridge(300)
    sent = FakeClient.made[0].sent
    topics = [t for t, _ in sent]
    assert topics[0] == 'pinwheel/t/status', topics
    assert 'homeassistant/switch/t_led/config' in topics, topics
    assert 'pinwheel/t/led/attributes' in topics, topics
    assert 'pinwheel/t/led/state' in topics, topics


def test_no_heap_for_the_client_or_to_connect_is_retried():
    for step in ('make', 'connect'):
        bridge = run_bridge(1300, [step])  # tries at 0, 0.5 s, 1.5 s
        assert bridge.error == 'MemoryError: ', (step, bridge.error)
    assert len(FakeClient.made) >= 2  # 'connect': a client per try


def test_no_heap_to_log_why_is_retried():
    note = log.note
    tries = []

    def starved(text):
        tries.append(text)
        raise MemoryError
    log.note = starved
    try:
        bridge = run_bridge(1300, ['connect'])
    finally:
        log.note = note
    assert tries, 'nothing was logged'
    # it tried again after the log line it had no heap for
    assert len(FakeClient.made) >= 2, FakeClient.made
    assert bridge.error == 'MemoryError: ', bridge.error


def test_no_heap_to_publish_drops_the_link_and_the_next_one_sends_all():
    def heap_back():
        FakeClient.fail = set()
    # links at 0, ~0.75 s and ~2 s (each failure is seen within 250 ms,
    # then 0.5 s, 1 s of backoff); the heap is back at 1.3 s
    bridge = run_bridge(2600, ['publish'], heap_back)
    assert len(FakeClient.made) >= 2, FakeClient.made
    # the link that could not publish was closed; the next sent everything
    assert FakeClient.made[0].closed
    topics = [t for t, _ in FakeClient.made[-1].sent]
    assert 'homeassistant/switch/t_led/config' in topics, topics
    assert 'pinwheel/t/led/state' in topics, topics
    assert bridge.state == 'off'  # stopped by run_bridge


unit.main(globals())
