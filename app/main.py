"""Boot: read the config, build board and registry, serve the API.

Nothing here may brick a board: a problem in config.json boots in safe
mode (what validates runs, server up, /api/status lists what does not:
``app.startup``), and a board
with no network (no ``socket`` module, as on a Pico without W, or Wi-Fi
and access point both down) runs its bindings headless. Ctrl-C stops the
timers, releases the pins and returns (exit status 0 on the unix port).

Before anything else, even the imports, the saved output pins go to their
idle level (``app.board.bootpins``): a relay must not float while the rest
boots (bench/boot_pins.py measures how soon).

This module is where the parts are put together, and the only one: the
simulated board stands in for ``machine`` on the unix port, persistence
and the pins.json hook are installed on the registry whether the board
serves or runs headless, and features the config does not use are never
imported. What runs once before serving (read PORT, boot, build the app)
is ``app.launch``, dropped with the rest of the boot code once the board
serves: this module keeps what requests and the features need.
"""
try:
    from machine import Pin  # noqa: F401  (a board: the real one)
except ImportError:  # the unix port: the simulated board is its machine
    from app.sim import install
    install()
import app.board.bootpins  # noqa: E402
app.board.bootpins.apply()  # boot code: dropped after boot (BOOT_ONLY)
import gc  # noqa: E402
# Collect every 4 KB while the modules load and boot builds its objects:
# otherwise the heap fills with the loader's garbage before the first
# collection, and what stays is left scattered between the holes (the GC
# never moves objects), raising the smallest heap that boots and serves.
# serve() turns it off again: at run time it would cost a collection every
# few requests.
gc.threshold(4096)
import asyncio  # noqa: E402
import sys  # noqa: E402
from time import ticks_diff, ticks_ms  # noqa: E402
from app import log  # noqa: E402
from app.config import CHECKS  # noqa: E402
from app.time import Time, check  # noqa: E402

# the config's clock and events: the config's checks run it (app.schema,
# and a trusted boot's defaults); installed in app.config's hook list,
# which loads no checks
CHECKS.append(check)

BOOT_ONLY = ('app.startup', 'app.board.profiles', 'app.board.net',
             'app.board.bootpins',
             # the checkers: the checking boot (a trusted one, for events'
             # defaults) loads them; the first change that needs them
             # loads them again, and they stay from then on
             'app.schema', 'app.validate', 'app.strictjson',
             'app.kinds.rulecheck', 'app.time.checks',
             # a refusal's words: a checking boot that refuses a part loads
             # them; the next refused change loads them again
             'app.refuse', 'app.badjson',
             # a zone's parser: the clock reads its zone at boot; a change
             # that brings a new one loads it again, and it stays
             'app.time.tzparse',
             # events' defaults and ids: the trusted boot's and the checks'
             'app.time.specs',
             # the config's defaults: boot's, and the config checks'
             'app.defaults')
# app.launch (app.main's steps before serving) forgets itself when serving
# starts (app.launch.app)


def boot(path='config.json'):
    """Return (registry, store), persistence installed: every change to
    the bindings saves config.json and pins.json, served or headless.
    Never raises on a bad config. The boot code (app.startup,
    app.board.profiles) is dropped once it has run: it runs once and a
    board keeps its heap for requests."""
    from app import startup
    try:
        registry, store = startup.boot(path)
    finally:
        _drop_boot_code()
    log.store = store  # the event log's size is the config's
    persist(registry, store)
    store.data['bindings'] = []  # built: the registry holds them (Config.save)
    return registry, store


def persist(registry, store):
    """Save every change of ``registry`` to ``store`` (config.json, then
    pins.json with the outputs' idle levels) through one
    ``app.config.Saver``: REST changes at once, the rest (rule actions,
    counters, schedules) coalesced by its task, which
    ``app.launch.start_saver`` starts. Return the saver."""
    from app.config import Saver
    store.idle_pins = registry.idle_pins
    store.drivable = registry.board.outputs()
    registry.on_change = saver = Saver(store, registry.specs)
    return saver


def _drop_boot_code():
    """Forget the boot code, so its bytecode is freed: ``sys.modules``
    and the attribute an import binds on the package both hold it.
    ``app.launch`` forgets itself, once the app is built
    (``app.launch.app``)."""
    for name in BOOT_ONLY:
        sys.modules.pop(name, None)
        package, _, leaf = name.rpartition('.')
        try:
            delattr(sys.modules[package], leaf)
        except (KeyError, AttributeError):
            pass


def _started(request):
    """The request log's first hook (``app.launch.log_requests``)."""
    request.t0 = ticks_ms()


def _done(request, response):
    """The request log's line: method, path, status and milliseconds."""
    if request is not None:  # None: a request the server could not parse
        t0 = request.t0
        # one write per line: print() writes the newline on its own,
        # a second system call per request on the unix port
        sys.stdout.write('%s %s %d %s ms\n' % (
            request.method, request.path, response.status,
            '-' if t0 is None else ticks_diff(ticks_ms(), t0)))
    return response


_collected_ms: list = [0]  # when _collect_before_writes last collected


def _collect_before_writes(request):
    """A request that may keep something (a binding, a config, a module
    loaded by its first body) starts on a collected heap: at most once a
    second, so a burst of writes (a slider, a script) pays for one
    collection, not one each."""
    if request.method not in ('GET', 'HEAD'):
        now = ticks_ms()
        if ticks_diff(now, _collected_ms[0]) >= 1000:
            _collected_ms[0] = now
            gc.collect()


def confirm_image():
    """An image on trial after an over-the-air update (app.ota.trial, which
    main.py imports only then) has come up: it stays (docs/ota.md)."""
    trial = sys.modules.get('app.ota.trial')
    if trial is not None:
        trial.confirm()


class Mqtt:
    """The MQTT bridge (``app.mqtt.hass``) as the config's ``mqtt`` says:
    started when it is set, restarted when it changes, stopped when it is
    null. ``app.mqtt.hass`` and ``app.mqtt.client`` are imported only when first used:
    a board without MQTT keeps that heap."""

    def __init__(self, registry, store, host, port, timing=None):
        self.registry = registry
        self.store = store
        self.host = host
        self.port = port
        self.timing = timing  # app.time.Time: told of a config change too
        self.config = None
        self.bridge = None

    def changed(self):
        """A config change that came over MQTT: what the HTTP config route
        does after one (the bridge itself, then the clock and events)."""
        self.apply()
        if self.timing is not None:
            self.timing.follow()

    def apply(self):
        """Call after the config changed; does nothing if ``mqtt`` did not."""
        config = self.store.data.get('mqtt')
        if config == self.config:
            return
        self.config = config
        goodbye = None
        if self.bridge is not None:
            goodbye = self.bridge.stop()
            self.bridge = None
        if config:
            from app.mqtt.hass import Bridge
            self.bridge = Bridge(self.registry, self.store, config, self.host,
                                 self.port, self.changed, goodbye)

    def status(self):
        """The ``mqtt`` block of GET /api/status: the bridge's, or "off"
        with nothing sent or received when the config has no mqtt."""
        if self.bridge is not None:
            return self.bridge.status()
        return {'state': 'off', 'error': None, 'broker': None,
                'client_id': None, 'base': None, 'published': 0,
                'received': 0}


def build_app(registry, store, mqtt=None, timing=None):
    """The app a board serves (app.http.server): the REST API and, on the unix
    port, the simulator's routes."""
    from app.http.api import create_app
    if timing is None:
        timing = Time(registry, store)
    app = create_app(registry, store, mqtt, timing)
    if registry.board.sim:  # the unix port: the simulator's own routes
        from app.sim import routes
        routes.install(app, registry, timing.clock)

    # over-the-air updates (docs/ota.md): app.http.ota loads with the
    # first request to this route, not at boot
    @app.route('/api/ota/<path:step>', ('GET', 'POST', 'PUT'))
    def ota(request, step):
        from app.http import ota
        return ota.route(request, step, store)
    return app


async def serve(registry, store, log=True, running=None, timing=None):
    """Serve the API; once the socket is bound, print where. ``running``
    (a list) receives the app, so Ctrl-C can close its socket."""
    if timing is None:
        timing = Time(registry, store)
    from app import launch  # the steps before serving: boot code
    app, host, port, lines = launch.app(registry, store, log, running,
                                        timing)
    del launch  # the last reference (launch.app forgot its module)
    _drop_boot_code()
    gc.collect()
    # booted: collect once a quarter of the free heap has been allocated,
    # not only when it is full, and before each write: the GC never moves
    # objects, and what a request keeps (a binding, a module loaded on
    # first use) then lands in the low holes, not scattered between
    # garbage. On a tight heap this lowers the smallest heap that serves;
    # on a large one it runs as rarely as before (MicroPython's
    # gc.threshold docs). Writes are rare; reads pay no extra collection.
    gc.threshold(gc.mem_free() // 4)

    def ready():
        confirm_image()
        print(lines)

    try:
        await app.start_server(host=host, port=port, ready=ready)
    except OSError as e:  # the port is taken, or the address is not ours
        from app import launch
        await launch.cannot_serve(e, registry, host, port, timing)


def shutdown(registry, running):
    """Ctrl-C: stop every timer and leave every pin a high-impedance input,
    as a reset would; config.json keeps what runs at the next boot.
    Return how many bindings were running."""
    for app in running:
        server = getattr(app, 'server', None)
        if server is not None:
            server.close()
    # what the saver holds and the counters' totals (app.kinds.counter):
    # saved as they are, "start" unchanged
    save = registry.on_change
    pending = save and getattr(save, 'pending', False)
    for h in registry.bindings:
        if h.KIND == 'counter':
            pending = save
    if pending:
        save(True)
    stopped = 0
    for h in registry.bindings:
        if h.running:
            stopped += 1
        h.stop()  # not registry.do('stop'): that would save "start": false
        registry.board.release_pin(h.pin_id)
    return stopped


def run(path='config.json', argv=None):
    """Boot and serve until Ctrl-C. ``--quiet`` (or ``"http": {"log":
    false}`` in config.json) turns the request log off."""
    running = []
    from app import launch  # boot code: serve() drops it
    registry, work = launch.start(path, sys.argv if argv is None else argv,
                                  running)
    del launch  # run's frame lives as long as the board serves
    try:
        asyncio.run(work)
    except KeyboardInterrupt:
        n = shutdown(registry, running)
        print('pinwheel: stopped (Ctrl-C): timers off, pins released (%d of '
              '%d bindings were running)' % (n, len(registry.bindings)))
