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
from json import dumps
from time import ticks_diff, ticks_ms
from micropython import const
from app import VERSION, log
from app.changes import COUNTS, LEVEL, Feed
from app.mqtt.client import Client, MqttError

_POLL_MS = const(100)
_COUNT_MS = const(5000)  # a counter's count and rate: at most this often
_FIRST_RETRY_MS = const(500)
_MAX_RETRY_MS = const(8000)  # the board is back within 10 s of the broker
_CHECK_MS = const(250)  # how often the link's health is looked at
_BYE_MS = const(2000)  # how long "offline" and DISCONNECT may take

# kind -> Home Assistant component. A kind not here is a switch if it
# drives an output, a binary_sensor if it reads an input.
COMPONENTS = {'blink': 'switch', 'pattern': 'switch', 'switch': 'switch',
              'pulse': 'button', 'sample': 'binary_sensor',
              'edge': 'binary_sensor', 'counter': 'sensor', 'pwm': 'light'}

# Discovery messages, in Home Assistant's abbreviations (stat_t is
# state_topic, "~" the binding's topic that the other topics begin with;
# docs/mqtt.md spells them out), leaving out what Home Assistant's defaults
# say anyway (ON/OFF, online/offline). A message is the common part, then
# its component's: two pieces, never joined into one string.
_CONFIG = const('{"~":%s,"name":"%s","uniq_id":"%s_%s","avty_t":%s,'
                '"json_attr_t":"~/attributes","dev":{"ids":["%s"],"name":'
                '"%s","mf":"pinwheel","mdl":"pinwheel %s","sw":"%s","cu":%s}')
_ENTITY = {
    'switch': ',"stat_t":"~/state","cmd_t":"~/set","val_tpl":"{{ \'ON\' if '
              'value_json.running else \'OFF\' }}"}',
    'button': ',"cmd_t":"~/set","pl_prs":"PULSE"}',
    # on while the input is active (a button pressed), whatever its pull
    'binary_sensor': ',"stat_t":"~/state","val_tpl":"{{ \'ON\' if '
                     'value_json.active else \'OFF\' }}"}',
    'sensor': ',"stat_t":"~/state","stat_cla":"total_increasing",'
              '"val_tpl":"{{ value_json.count }}"}',
    # brightness is the duty, 0-100 % both ways: Home Assistant scales its
    # 0-255 to bri_scl, so its 50 % sends {"duty": 50}. It sends the
    # brightness first, then ON, which never restarts a running pwm.
    'light': ',"stat_t":"~/state","cmd_t":"~/set","stat_val_tpl":"{{ \'ON\' '
             'if value_json.running else \'OFF\' }}","bri_stat_t":"~/state",'
             '"bri_cmd_t":"~/set","bri_scl":100,"bri_val_tpl":"{{ '
             'value_json.duty }}","bri_cmd_tpl":"{\\"duty\\": {{ value }}}"}',
}


def component(h):
    """The Home Assistant component a binding appears as."""
    return COMPONENTS.get(h.KIND) or (
        'switch' if h.OUTPUT else 'binary_sensor')


def state(h):
    """What Home Assistant shows of ``h``, for its state topic: running and
    error; a pwm's duty (its target, not each step of a fade); an input's
    level and whether it is active; a counter's count, rate and total."""
    d = h.to_dict()
    out = {'running': d['running'], 'error': d['error']}
    if 'target_duty' in d:
        out['duty'] = d['target_duty']
    if not h.OUTPUT:
        # active (a button pressed): at the level its press edge ends at,
        # or, where every edge is one ("both", a sample), low with a
        # pull-up (a button to ground), else high
        params = h.params
        level = params.get('active_level')
        if level is None:
            edge = params.get('edge')
            level = 1 if edge == 'rising' else 0 if edge == 'falling' else \
                0 if params.get('pull') == 'up' else 1
        out['level'] = d['level']
        out['active'] = d['level'] == level
    for key in ('count', 'rate_per_s', 'total'):
        if key in d:
            out[key] = d[key]
    return out


def _watch(h):
    """The change feed's marks for Home Assistant: an input's level for a
    binary sensor, the counters for a sensor; never an output's toggles."""
    name = component(h)
    return LEVEL if name == 'binary_sensor' else \
        COUNTS if name == 'sensor' else 0


def _why(e):
    """What went wrong, for the status and the log; never raises (near the
    heap's limit, saying why must not end the link's task)."""
    try:
        if isinstance(e, MqttError):
            return str(e)
        if isinstance(e, OSError):
            return 'the link to the broker broke: %s' % e
        return '%s: %s' % (type(e).__name__, e)
    except Exception:
        return 'out of memory'


async def _goodbye(client, topic):
    """``offline``, then DISCONNECT, within _BYE_MS; closes either way."""
    try:
        await asyncio.wait_for_ms(client.disconnect(topic, b'offline'),
                                  _BYE_MS)
    except Exception:
        pass
    client.close()


class Bridge:
    """The registry's bindings on one broker, as ``config`` (the config's
    checked ``mqtt`` section) says. ``on_config`` is called after a
    ``<base>/config/set`` changed the config (the caller restarts the
    bridge if the ``mqtt`` section changed). Its link runs as a task from
    the start, after ``after`` if given (a task to wait for first: the
    goodbye of the bridge this one replaces)."""

    def __init__(self, registry, store, config, host, port, on_config=None,
                 after=None):
        self.registry = registry
        self.store = store
        self.config = config
        self.on_config = on_config
        client_id = config['client_id']
        try:
            import network
            if not client_id:
                # the last two bytes of the Wi-Fi MAC: the board's default
                # hostname too
                mac = network.WLAN(network.STA_IF).config('mac')
                client_id = 'pinwheel-%02x%02x' % (mac[-2], mac[-1])
            if host in ('0.0.0.0', ''):
                # serving on every interface (a board): the dashboard is at
                # the Wi-Fi address
                for iface in (network.STA_IF, network.AP_IF):
                    wlan = network.WLAN(iface)
                    if wlan.active() and (iface == network.AP_IF
                                          or wlan.isconnected()):
                        host = wlan.ifconfig()[0]
                        break
        except Exception:  # no network module: the unix port
            pass
        # on the unix port the HTTP port's hex digits tell boards apart
        self.client_id = client_id = client_id or 'pinwheel-%04x' % port
        if host in ('0.0.0.0', ''):
            host = '127.0.0.1'
        self.url = 'http://%s:%d/' % (host, port)
        self.base = config['base'] or 'pinwheel/' + client_id
        self.broker = config['host'] + ':' + str(config['port'])
        self.state = 'connecting'
        self.error = None
        self.client = None
        # binding id -> [component, handler, error]: announced (kept across
        # links: one deleted while the link was down is emptied on the
        # next), and the handler and error whose attributes this link sent
        self.announced = {}
        self._counts = [0, 0]  # published, received by links that ended
        self._lost = None  # why the current link is dead
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
        if client is None:
            return None
        if up:
            log.note('mqtt: disconnected from ' + self.broker)
            return asyncio.create_task(_goodbye(client, self.base + '/status'))
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
        cfg = self.config
        status = self.base + '/status'
        delay = _FIRST_RETRY_MS
        told = None  # the failure last logged: a broker down is one line
        while True:
            up_ms = None
            try:  # nothing may end this task: near the heap's limit too
                self.state = 'connecting'
                client = self.client = Client(cfg['keepalive_s'])
                try:
                    context = None
                    if cfg['tls']:
                        import ssl
                        # encrypted, not authenticated: a board holds no CA
                        # certificates
                        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                        context.verify_mode = ssl.CERT_NONE
                    # subscribed before "online": the broker takes one
                    # client's packets in order, so whoever sees "online" may
                    # send commands
                    await client.connect(cfg['host'], cfg['port'], context,
                                         self.client_id, cfg['user'],
                                         cfg['password'], status,
                                         self.base + '/+/set')
                    await client.publish(status, b'online', True, 1)
                    up_ms = ticks_ms()
                    self.state = 'connected'
                    self.error = self._lost = None
                    log.note('mqtt: connected to ' + self.broker)
                    listener = asyncio.create_task(self._pump(client, True))
                    publisher = asyncio.create_task(self._pump(client, False))
                    try:
                        while self._lost is None:
                            self._lost = client.stalled()
                            await asyncio.sleep_ms(_CHECK_MS)
                    finally:
                        listener.cancel()
                        publisher.cancel()
                    self.error = self._lost
                except Exception as e:  # CancelledError is not an Exception
                    self.error = _why(e)
                self.client = None
                self._counts[0] += client.published
                self._counts[1] += client.received
                client.close()
                if up_ms is not None and ticks_diff(ticks_ms(), up_ms) > 8000:
                    delay = _FIRST_RETRY_MS  # up a while: not a flapping link
                self.state = 'retrying'
                wait = '%g s' % (delay / 1000)
                if up_ms is not None:
                    told = None
                    log.note('mqtt: lost (%s), retry in %s' % (self.error,
                                                               wait))
                elif self.error != told:
                    told = self.error
                    # the why last: the log keeps 100 bytes of a line
                    log.note('mqtt: no link to %s (retry in %s): %s' % (
                        self.broker, wait, self.error))
            except Exception as e:  # no heap for the link, or to log it
                self.state = 'retrying'
                self.error = _why(e)
            await asyncio.sleep_ms(delay)
            delay = min(delay * 2, _MAX_RETRY_MS)

    async def _pump(self, client, listen):
        """One of a link's two tasks: the listener (``listen``) takes
        commands; the publisher publishes what changed and pings. Either
        one's failure is the link's (``_lost``)."""
        try:
            if listen:
                while True:
                    topic, payload = await client.receive()
                    # the commands' code: loaded by the first one, then kept
                    from app.mqtt import commands
                    await commands.apply(self, client, topic, payload)
            # this link publishes everything anew: a feed of its own
            feed = Feed(self.registry, _watch, _COUNT_MS)
            for mark in self.announced.values():
                mark[1] = None
            while True:
                await self._changes(client, feed)
                await client.ping()
                await asyncio.sleep_ms(_POLL_MS)
        except Exception as e:
            self._lost = self._lost or _why(e)

    async def _changes(self, client, feed):
        """Publish what the change feed says changed: discovery for
        bindings new to this link or moved to another component, the
        attributes when the configuration or the error changed, the state;
        and empty messages for bindings that are gone (deleted while the
        link was down too: ``announced`` outlives links)."""
        announced = self.announced
        base = self.base
        for h in feed.due(ticks_ms()):
            binding_id = h.id
            name = component(h)
            mark = announced.get(binding_id)
            if mark is None or mark[1] is None or mark[0] != name:
                if mark is not None and mark[0] != name:
                    # a PUT to another kind: the old entity goes
                    await self._announce(client, binding_id, mark[0], False)
                await self._announce(client, binding_id, name, True)
                mark = announced[binding_id] = [name, None, None]
            if mark[1] is not h or mark[2] != h.error:
                mark[1] = h
                mark[2] = h.error
                # its configuration and error: Home Assistant's attributes
                # (a counter's total, which moves, is in its state instead)
                out = {'kind': h.KIND, 'pin': h.pin_id,
                       'power_on': h.power_on}
                out.update(h.params)
                out.pop('total', None)
                out['error'] = h.error
                await client.publish('%s/%s/attributes' % (base, binding_id),
                                     dumps(out), True)
            await client.publish('%s/%s/state' % (base, binding_id),
                                 dumps(state(h)), True)
        feed.removed()  # the feed forgets them; announced does here:
        registry = self.registry
        if len(announced) > len(registry.bindings):
            for binding_id in list(announced):
                if registry.find(binding_id) is None:
                    await self._announce(client, binding_id,
                                         announced.pop(binding_id)[0], False)
                    # and its retained state and attributes
                    for leaf in ('state', 'attributes'):
                        await client.publish('%s/%s/%s' % (
                            base, binding_id, leaf), b'', True)

    async def _announce(self, client, binding_id, name, on):
        """Home Assistant discovery of a binding as component ``name``: its
        retained message (``on``), or an empty one (Home Assistant then
        removes the entity)."""
        cfg = self.config
        if not cfg['discovery']:
            return
        client_id = self.client_id
        payload = b''
        if on:
            payload = (_CONFIG % (
                dumps(self.base + '/' + binding_id), binding_id,
                client_id, binding_id, dumps(self.base + '/status'),
                client_id, client_id, self.registry.board.name, VERSION,
                dumps(self.url)), _ENTITY[name])
        await client.publish('%s/%s/%s_%s/config' % (
            cfg['discovery_prefix'], name, client_id, binding_id),
            payload, True, 1)
