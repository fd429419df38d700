"""pinwheel on MQTT, and in Home Assistant through MQTT discovery.

The topics (docs/mqtt.md shows each with examples); ``<base>`` is
``mqtt.base``, by default ``pinwheel/<client_id>``:

- ``<base>/status``: ``online`` once connected, ``offline`` when the
  bridge stops or (the last will) the link dies; retained.
- ``<base>/<binding>/state``: the binding's JSON as ``GET
  /api/bindings/<id>`` gives it, retained, published when it changes, at
  most every 250 ms per binding: the change markers and limits of the
  event stream (``app.http.events``). Emptied when the binding is deleted.
- ``<base>/<binding>/set``: ``ON`` (start), ``OFF`` (stop), ``PULSE``
  (start a pulse), ``TOGGLE``, or a JSON object, applied as a PATCH. Each
  goes through the registry with the REST API's checks and limits.
- ``<base>/<binding>/error``: why a ``set`` was refused, as the API's
  error JSON.
- ``<base>/config/set``: a ``PATCH /api/config`` body, refused unless
  ``mqtt.allow_config``; its errors go to ``<base>/config/error``.
- ``<prefix>/<component>/<client_id>_<binding>/config``: Home Assistant
  discovery, one retained message per binding, emptied when it goes.

One task runs the link: it connects, and when the link fails it retries
after 0.5 s, doubling to 8 s. Connected, two more tasks run beside it: the
listener takes commands, the publisher polls the bindings every 100 ms.
"""
import asyncio
import json
from time import ticks_diff, ticks_ms
from micropython import const
from app.http import admin
from app.http.api import VERSION
from app.errors import ApiError
from app.http.events import BINDING_MS, STATS_MS, _Seen
from app.mqtt.client import Client, MqttError

_POLL_MS = const(100)
_FIRST_RETRY_MS = const(500)
_MAX_RETRY_MS = const(8000)  # the board is back within 10 s of the broker
_CHECK_MS = const(250)  # how often the link's health is looked at
_BYE_MS = const(2000)  # how long "offline" and DISCONNECT may take
_MAX_BODY = const(8192)  # as the REST API's bodies
_COMMANDS = const('send ON, OFF, PULSE (a pulse binding), TOGGLE or a JSON '
                  'object (a PATCH body) to <base>/<binding>/set')

# kind -> Home Assistant component. A kind not here is a switch if it
# drives an output, a binary_sensor if it reads an input.
COMPONENTS = {'blink': 'switch', 'pattern': 'switch', 'pulse': 'button',
              'sample': 'binary_sensor', 'edge': 'binary_sensor',
              'counter': 'sensor', 'pwm': 'light'}
_RUNNING = const("{{ 'ON' if value_json.running else 'OFF' }}")
_LEVEL = const("{{ 'ON' if value_json.level else 'OFF' }}")
# what each component adds to the discovery message; S = the state topic,
# C = the set topic
_ENTITY = {
    'switch': {'state_topic': 'S', 'command_topic': 'C',
               'value_template': _RUNNING, 'payload_on': 'ON',
               'payload_off': 'OFF', 'state_on': 'ON', 'state_off': 'OFF'},
    'button': {'command_topic': 'C', 'payload_press': 'PULSE'},
    'binary_sensor': {'state_topic': 'S', 'value_template': _LEVEL},
    'sensor': {'state_topic': 'S', 'state_class': 'total_increasing',
               'value_template': '{{ value_json.count }}'},
    # a pwm's brightness: its duty field, 0 to 1023 (one place to adjust
    # when the kind lands)
    'light': {'state_topic': 'S', 'command_topic': 'C',
              'state_value_template': _RUNNING, 'payload_on': 'ON',
              'payload_off': 'OFF', 'brightness_state_topic': 'S',
              'brightness_command_topic': 'C', 'brightness_scale': 1023,
              'brightness_value_template': '{{ value_json.duty }}',
              'brightness_command_template': '{"duty": {{ value }}}'},
}


def component(h):
    """The Home Assistant component a binding appears as."""
    name = COMPONENTS.get(h.KIND)
    if name is None:
        name = 'switch' if h.OUTPUT else 'binary_sensor'
    return name


def default_client_id(http_port):
    """``pinwheel-`` and the last two bytes of the Wi-Fi MAC (the board's
    default hostname too); on the unix port, which has no MAC, the HTTP
    port's four hex digits tell boards on one host apart."""
    try:
        import network
        mac = network.WLAN(network.STA_IF).config('mac')
        return 'pinwheel-%02x%02x' % (mac[-2], mac[-1])
    except Exception:
        return 'pinwheel-%04x' % http_port


def dashboard_url(host, port):
    """Where the dashboard is: the Wi-Fi address when serving on all of
    them (a board), else the address served on."""
    if host in ('0.0.0.0', ''):
        try:
            import network
            for iface in (network.STA_IF, network.AP_IF):
                wlan = network.WLAN(iface)
                if wlan.active() and (iface == network.AP_IF
                                      or wlan.isconnected()):
                    host = wlan.ifconfig()[0]
                    break
        except Exception:  # no network module: the unix port
            host = '127.0.0.1'
    return 'http://%s:%d/' % (host, port)


class _Message:
    """An MQTT payload standing in for a PATCH request (``app.strictjson`` and
    ``app.http.admin`` read ``method`` and ``body``)."""
    method = 'PATCH'

    def __init__(self, body):
        self.body = body


class _Entity(_Seen):
    """What this link last published about one binding, and as which
    Home Assistant component."""

    def __init__(self, name):
        _Seen.__init__(self)
        self.component = name


def _why(e):
    if isinstance(e, MqttError):
        return str(e)
    if isinstance(e, OSError):
        return 'the link to the broker broke: %s' % e
    return '%s: %s' % (type(e).__name__, e)


async def _later(func):
    func()


async def _goodbye(client, topic):
    """``offline``, then DISCONNECT, within _BYE_MS; closes either way."""
    async def bye():
        await client.publish(topic, b'offline', True, 1)
        await client.disconnect()
    try:
        await asyncio.wait_for_ms(bye(), _BYE_MS)
    except Exception:
        pass
    client.close()


class Bridge:
    """The registry's bindings on one broker, as ``cfg`` (the config's
    checked ``mqtt`` section) says. ``on_config`` is called after a
    ``<base>/config/set`` changed the ``mqtt`` section (the caller
    restarts the bridge)."""

    def __init__(self, registry, store, cfg, http_host, http_port,
                 on_config=None):
        self.registry = registry
        self.store = store
        self.cfg = cfg
        self.client_id = cfg['client_id'] or default_client_id(http_port)
        self.base = cfg['base'] or 'pinwheel/' + self.client_id
        self.url = dashboard_url(http_host, http_port)
        self.on_config = on_config
        self.state = 'connecting'
        self.error = None
        self.client = None
        self.task = None
        self.announced = {}  # binding id -> component, kept across links
        self._counts = [0, 0]  # published, received by links that ended
        self._lost = None  # why the current link is dead

    def start(self, after=None):
        """Run the link as a task; ``after``: a task to wait for first (the
        goodbye of the bridge this one replaces)."""
        self.task = asyncio.create_task(self.run(after))

    def stop(self):
        """Leave: end the link's tasks, publish ``offline`` and DISCONNECT
        (in a task of their own, returned), so Home Assistant sees it at
        once."""
        if self.task is not None:
            self.task.cancel()
            self.task = None
        client, up = self.client, self.state == 'connected'
        self.client = None
        self.state = 'off'
        if client is not None and up:
            return asyncio.create_task(_goodbye(client, self.base + '/status'))
        if client is not None:
            client.close()
        return None

    def status(self):
        """The ``mqtt`` block of GET /api/status."""
        published, received = self._counts
        client = self.client
        if client is not None:
            published += client.published
            received += client.received
        return {'state': self.state, 'error': self.error,
                'broker': '%s:%d' % (self.cfg['host'], self.cfg['port']),
                'client_id': self.client_id, 'base': self.base,
                'published': published, 'received': received}

    async def run(self, after=None):
        """Connect, and reconnect with backoff, until cancelled."""
        if after is not None:
            # the old link's "offline" must not land after our "online", and
            # a second link with its client_id would push it off (its will)
            await after
        delay = _FIRST_RETRY_MS
        while True:
            self.state = 'connecting'
            up_ms = None
            try:
                up_ms = await self._link()
            except Exception as e:  # CancelledError is not an Exception
                self.error = _why(e)
            client = self.client
            self.client = None
            if client is not None:
                self._counts[0] += client.published
                self._counts[1] += client.received
                client.close()
            if up_ms is not None and ticks_diff(ticks_ms(), up_ms) > 8000:
                delay = _FIRST_RETRY_MS  # it was up a while: not a flapping link
            self.state = 'retrying'
            await asyncio.sleep_ms(delay)
            delay = min(delay * 2, _MAX_RETRY_MS)

    def _ssl(self):
        if not self.cfg['tls']:
            return None
        import ssl
        # encrypted, not authenticated: a board holds no CA certificates
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.verify_mode = ssl.CERT_NONE
        return context

    async def _link(self):
        """One link: raises if it never came up; else returns, once it
        died (``error`` says why), the ticks_ms it came up at."""
        cfg = self.cfg
        status = self.base + '/status'
        client = self.client = Client(
            self.client_id, cfg['user'], cfg['password'], cfg['keepalive_s'],
            (status, 'offline'), _MAX_BODY + 256)
        await client.connect(cfg['host'], cfg['port'], self._ssl())
        # subscribed before "online": the broker takes one client's packets
        # in order, so whoever sees "online" may send commands
        await client.subscribe(self.base + '/+/set', 1)
        await client.publish(status, b'online', True, 1)
        up_ms = ticks_ms()
        self.state = 'connected'
        self.error = None
        self._lost = None
        listener = asyncio.create_task(self._listen(client))
        publisher = asyncio.create_task(self._publish(client))
        try:
            while self._lost is None:
                self._lost = client.stalled()
                await asyncio.sleep_ms(_CHECK_MS)
        finally:
            listener.cancel()
            publisher.cancel()
        self.error = self._lost
        return up_ms

    async def _listen(self, client):
        try:
            while True:
                topic, payload = await client.receive()
                await self._command(client, topic, payload)
        except Exception as e:
            self._lost = self._lost or _why(e)

    async def _publish(self, client):
        try:
            seen = {}  # binding id -> _Entity: this link publishes all anew
            while True:
                await self._changes(client, seen)
                if client.idle_ms() >= client.keepalive_ms // 2:
                    await client.ping()
                await asyncio.sleep_ms(_POLL_MS)
        except Exception as e:
            self._lost = self._lost or _why(e)

    # topics
    def state_topic(self, binding_id):
        return '%s/%s/state' % (self.base, binding_id)

    def discovery_topic(self, name, binding_id):
        return '%s/%s/%s_%s/config' % (self.cfg['discovery_prefix'], name,
                                       self.client_id, binding_id)

    def discovery(self, name, binding_id):
        """The discovery message of one binding as component ``name``."""
        base = '%s/%s' % (self.base, binding_id)
        out = {'name': binding_id,
               'unique_id': '%s_%s' % (self.client_id, binding_id),
               'availability_topic': self.base + '/status',
               'payload_available': 'online',
               'payload_not_available': 'offline',
               'json_attributes_topic': base + '/state',
               'device': {'identifiers': [self.client_id],
                          'name': self.client_id, 'manufacturer': 'pinwheel',
                          'model': 'pinwheel ' + self.registry.board.name,
                          'sw_version': VERSION,
                          'configuration_url': self.url}}
        for key, value in _ENTITY[name].items():
            out[key] = (base + '/state' if value == 'S' else
                        base + '/set' if value == 'C' else value)
        return out

    async def _changes(self, client, seen):
        """Publish what changed since the last look: discovery for
        bindings new to this link, state at most every BINDING_MS (or
        STATS_MS when only the counters moved), and empty messages for
        bindings that are gone."""
        discover = self.cfg['discovery']
        now = ticks_ms()
        for h in self.registry.bindings:
            h.sync()
            s = seen.get(h.id)
            name = component(h)
            if s is None or s.component != name:
                old = self.announced.get(h.id)
                if old is not None and old != name:  # PUT to another kind
                    await self._forget(client, h.id, old, False)
                if discover:
                    await client.publish(
                        self.discovery_topic(name, h.id),
                        json.dumps(self.discovery(name, h.id)), True, 1)
                self.announced[h.id] = name
                s = seen[h.id] = _Entity(name)
            age = ticks_diff(now, s.sent_ms)
            if s.handler is None or (age >= BINDING_MS and s.changed(h)) or (
                    age >= STATS_MS and s.fires != h.fires):
                s.remember(h, now)
                await client.publish(self.state_topic(h.id),
                                     json.dumps(h.to_dict()), True)
        registry = self.registry
        if len(self.announced) > len(registry.bindings):
            for binding_id in list(self.announced):
                if registry.find(binding_id) is None:
                    name = self.announced.pop(binding_id)
                    seen.pop(binding_id, None)
                    await self._forget(client, binding_id, name, True)

    async def _forget(self, client, binding_id, name, state):
        """Empty the retained discovery (Home Assistant then removes the
        entity) and, if ``state``, the retained state."""
        if self.cfg['discovery']:
            await client.publish(self.discovery_topic(name, binding_id), b'',
                                 True, 1)
        if state:
            await client.publish(self.state_topic(binding_id), b'', True)

    # commands
    async def _command(self, client, topic, payload):
        """Apply one ``<base>/<name>/set`` message; a refusal is published
        to ``<base>/<name>/error``."""
        prefix = self.base + '/'
        if not (topic.startswith(prefix) and topic.endswith('/set')):
            return
        name = topic[len(prefix):-4]
        try:
            if payload is None:
                raise ApiError(413, 'too_large', 'the message is larger '
                               'than %d bytes' % _MAX_BODY)
            if name == 'config':
                self._config(payload)
            else:
                self._binding(name, payload)
        except ApiError as e:
            await self._refuse(client, name, e.response()[0])
        except MemoryError:
            raise
        except Exception as e:  # a bug: say so where the sender looks
            await self._refuse(client, name, {'error': {
                'code': 'internal', 'field': None,
                'message': '%s: %s' % (type(e).__name__, e)}})

    async def _refuse(self, client, name, body):
        await client.publish('%s/%s/error' % (self.base, name),
                             json.dumps(body))

    def _binding(self, binding_id, payload):
        registry = self.registry
        h = registry.get(binding_id[:40])
        word = bytes(payload).strip()
        if word == b'ON':
            registry.start(h.id)
        elif word == b'OFF':
            registry.stop(h.id)
        elif word == b'TOGGLE':
            h.sync()
            if h.running:
                registry.stop(h.id)
            else:
                registry.start(h.id)
        elif word == b'PULSE':
            if h.KIND != 'pulse':
                raise ApiError(400, 'invalid_command', 'PULSE starts a pulse;'
                               ' "%s" is a %s: send ON, OFF or TOGGLE'
                               % (h.id, h.KIND), None)
            registry.start(h.id)
        elif word[:1] == b'{':
            from app.strictjson import loads
            registry.update(h.id, loads(word), True)
        else:
            raise ApiError(400, 'invalid_command', _COMMANDS, None)

    def _config(self, payload):
        if not self.cfg['allow_config']:
            raise ApiError(403, 'forbidden', 'config over MQTT is off: set '
                           'mqtt.allow_config to true (PATCH /api/config) to '
                           'allow it', 'mqtt.allow_config')
        admin.config(_Message(bytes(payload)), self.registry, self.store)
        if self.store.data.get('mqtt') != self.cfg and self.on_config:
            # a task of its own: restarting cancels this one's parent
            asyncio.create_task(_later(self.on_config))
