"""pinwheel on MQTT, and in Home Assistant through MQTT discovery.

The topics (docs/mqtt.md shows each with examples); ``<base>`` is
``mqtt.base``, by default ``pinwheel/<client_id>``:

- ``<base>/status``: ``online`` once connected, ``offline`` when the
  bridge stops or (the last will) the link dies; retained.
- ``<base>/<binding>/state``: what Home Assistant shows of the binding
  (``state``), retained, published when that changes: started or stopped,
  an error, a new configuration, an input's level; a counter's count and
  rate at most every ``_COUNT_MS``. Never per timer toggle: the change
  feed (``app.changes``) watches only those marks. Emptied when the
  binding is deleted.
- ``<base>/<binding>/attributes``: the binding's configuration and error,
  retained, published when either changes (Home Assistant's attributes).
- ``<base>/<binding>/set``: ``ON``, ``OFF``, ``TOGGLE``, ``PULSE`` (the
  registry's verbs on, off, toggle, pulse) or a JSON object, applied as a
  PATCH. Each goes through the registry with the REST API's checks.
- ``<base>/<binding>/error``: why a ``set`` was refused, as the API's
  error JSON.
- ``<base>/config/set``: a ``PATCH /api/config`` body (``app.settings``),
  refused unless ``mqtt.allow_config``; its errors go to
  ``<base>/config/error``.
- ``<prefix>/<component>/<client_id>_<binding>/config``: Home Assistant
  discovery, one retained message per binding, emptied when it goes.

One task runs the link: it connects, and when the link fails it retries
after 0.5 s, doubling to 8 s; each connect, loss and goodbye is a line of
the event log (``app.log``; nothing of the log is published). Connected,
two more tasks run beside it: the listener takes commands, the publisher
polls the change feed every 100 ms.

Nothing here imports the HTTP layer: commands (``app.mqtt.commands``,
loaded by the first one) call the registry's one action entry point
(``registry.do``) and ``app.settings.change``.
"""
import asyncio
import json
from time import ticks_diff, ticks_ms
from micropython import const
from app import log
from app.changes import COUNTS, LEVEL, Feed
from app.mqtt.client import Client, MqttError

_POLL_MS = const(100)
_COUNT_MS = const(5000)  # a counter's count and rate: at most this often
_FIRST_RETRY_MS = const(500)
_MAX_RETRY_MS = const(8000)  # the board is back within 10 s of the broker
_CHECK_MS = const(250)  # how often the link's health is looked at
_BYE_MS = const(2000)  # how long "offline" and DISCONNECT may take
_MAX_BODY = const(8192)  # a command's, as the REST API's bodies (app.mqtt.commands)

# kind -> Home Assistant component. A kind not here is a switch if it
# drives an output, a binary_sensor if it reads an input.
COMPONENTS = {'blink': 'switch', 'pattern': 'switch', 'switch': 'switch',
              'pulse': 'button', 'sample': 'binary_sensor',
              'edge': 'binary_sensor', 'counter': 'sensor', 'pwm': 'light'}


def component(h):
    """The Home Assistant component a binding appears as."""
    name = COMPONENTS.get(h.KIND)
    if name is None:
        name = 'switch' if h.OUTPUT else 'binary_sensor'
    return name


def active_level(h):
    """The level of an input while it is active (a button pressed): the
    end of the edge that is a press, or, where every edge is one (``both``,
    a sample), low with a pull-up (a button to ground), else high."""
    level = h.params.get('active_level')
    if level is not None:
        return level
    edge = h.params.get('edge')
    if edge == 'rising':
        return 1
    if edge == 'falling':
        return 0
    return 0 if h.params.get('pull') == 'up' else 1


def state(h):
    """What Home Assistant shows of ``h``, for its state topic: running and
    error; a pwm's duty (its target, not each step of a fade); an input's
    level and whether it is active; a counter's count, rate and total."""
    d = h.to_dict()
    out = {'running': d['running'], 'error': d['error']}
    if 'target_duty' in d:
        out['duty'] = d['target_duty']
    if not h.OUTPUT:
        out['level'] = d['level']
        out['active'] = d['level'] == active_level(h)
    for key in ('count', 'rate_per_s', 'total'):
        if key in d:
            out[key] = d[key]
    return out


def attributes(h):
    """The binding's configuration and error: Home Assistant's attributes
    (a counter's total, which moves, is in its state instead)."""
    out = {'kind': h.KIND, 'pin': h.pin_id, 'power_on': h.power_on}
    for key, value in h.params.items():
        if key != 'total':
            out[key] = value
    out['error'] = h.error
    return out


def _watch(h):
    """The change feed's marks for Home Assistant: an input's level for a
    binary sensor, the counters for a sensor; never an output's toggles."""
    name = component(h)
    return LEVEL if name == 'binary_sensor' else \
        COUNTS if name == 'sensor' else 0


def _seconds(ms):
    return '%g s' % (ms / 1000)


def _why(e):
    if isinstance(e, MqttError):
        return str(e)
    if isinstance(e, OSError):
        return 'the link to the broker broke: %s' % e
    return '%s: %s' % (type(e).__name__, e)


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
    ``<base>/config/set`` changed the config (the caller restarts the
    bridge if the ``mqtt`` section changed)."""

    def __init__(self, registry, store, cfg, http_host, http_port,
                 on_config=None):
        self.registry = registry
        self.store = store
        self.cfg = cfg
        from app.mqtt import discovery
        self.client_id = cfg['client_id'] or discovery.client_id(http_port)
        self.url = discovery.url(http_host, http_port)
        self.base = cfg['base'] or 'pinwheel/' + self.client_id
        self.broker = '%s:%d' % (cfg['host'], cfg['port'])
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
        if up:
            log.note('mqtt: disconnected from ' + self.broker)
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
                'broker': self.broker,
                'client_id': self.client_id, 'base': self.base,
                'published': published, 'received': received}

    async def run(self, after=None):
        """Connect, and reconnect with backoff, until cancelled."""
        if after is not None:
            # the old link's "offline" must not land after our "online", and
            # a second link with its client_id would push it off (its will)
            await after
        delay = _FIRST_RETRY_MS
        told = None  # the failure last logged: a broker down is one line
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
            if up_ms is not None:
                told = None
                log.note('mqtt: lost (%s), retry in %s' % (
                    self.error, _seconds(delay)))
            elif self.error != told:
                told = self.error
                # the why last: the log keeps 100 bytes of a line
                log.note('mqtt: no link to %s (retry in %s): %s' % (
                    self.broker, _seconds(delay), self.error))
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
        log.note('mqtt: connected to ' + self.broker)
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
                # the commands' code: loaded by the first one, then kept
                from app.mqtt import commands
                await commands.apply(self, client, topic, payload)
        except Exception as e:
            self._lost = self._lost or _why(e)

    async def _publish(self, client):
        try:
            # this link publishes everything anew: a feed of its own
            feed = Feed(self.registry, _watch, _COUNT_MS)
            shown = {}  # binding id -> (handler, error) of its attributes
            while True:
                await self._changes(client, feed, shown)
                if client.idle_ms() >= client.keepalive_ms // 2:
                    await client.ping()
                await asyncio.sleep_ms(_POLL_MS)
        except Exception as e:
            self._lost = self._lost or _why(e)

    # topics
    def topic(self, binding_id, leaf):
        """``<base>/<binding>/<leaf>``: state, attributes, set, error."""
        return '%s/%s/%s' % (self.base, binding_id, leaf)

    def discovery_topic(self, name, binding_id):
        return '%s/%s/%s_%s/config' % (self.cfg['discovery_prefix'], name,
                                       self.client_id, binding_id)

    async def _changes(self, client, feed, shown):
        """Publish what the change feed says changed: discovery for
        bindings new to this link or moved to another component, the
        attributes when the configuration or the error changed, the state;
        and empty messages for bindings that are gone (deleted while the
        link was down too: ``announced`` outlives links)."""
        announced = self.announced
        for h in feed.due(ticks_ms()):
            binding_id = h.id
            name = component(h)
            old = announced.get(binding_id)
            if binding_id not in shown or old != name:
                if old is not None and old != name:  # PUT to another kind
                    await self._forget(client, binding_id, old, False)
                if self.cfg['discovery']:
                    from app.mqtt import discovery  # loaded by the first
                    await client.publish(
                        self.discovery_topic(name, binding_id),
                        discovery.config(self, name, binding_id), True, 1)
                announced[binding_id] = name
            mark = shown.get(binding_id)
            if mark is None or mark[0] is not h or mark[1] != h.error:
                shown[binding_id] = (h, h.error)
                await client.publish(self.topic(binding_id, 'attributes'),
                                     json.dumps(attributes(h)), True)
            await client.publish(self.topic(binding_id, 'state'),
                                 json.dumps(state(h)), True)
        for binding_id in feed.removed():
            del shown[binding_id]
        registry = self.registry
        if len(announced) > len(registry.bindings):
            for binding_id in list(announced):
                if registry.find(binding_id) is None:
                    await self._forget(client, binding_id,
                                       announced.pop(binding_id), True)

    async def _forget(self, client, binding_id, name, state):
        """Empty the retained discovery (Home Assistant then removes the
        entity) and, if ``state``, the retained state and attributes."""
        if self.cfg['discovery']:
            await client.publish(self.discovery_topic(name, binding_id), b'',
                                 True, 1)
        if state:
            await client.publish(self.topic(binding_id, 'state'), b'', True)
            await client.publish(self.topic(binding_id, 'attributes'), b'',
                                 True)
