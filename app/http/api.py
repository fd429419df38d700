"""The REST API: JSON in, JSON out, and JSON errors for everything."""
import gc
import sys
from json import load
from time import ticks_diff, ticks_ms
import app
from app import VERSION, log
from app.http import auth
from app.errors import ApiError
from app.http.server import Server, json_items, unquote
from app.kinds.handler import VERBS

_BOOT_MS = ticks_ms()
_image = {}  # the running image's version and date, and the flag's
# rolled_back: read once, at boot
# when last read (ticks_ms, 0 = never), mem_free, mem_alloc, largest free block
_heap: list = [0, 0, 0, 0]


def heap_stats(fresh=False):
    """(mem_free, mem_alloc, largest free block), after a collection, read
    at most every 5 s unless ``fresh``: a collection walks the whole heap,
    and a failed probe of the largest block costs one more."""
    now = ticks_ms() or 1
    if fresh or not _heap[0] or ticks_diff(now, _heap[0]) >= 5000:
        _heap[0] = now
        gc.collect()
        n = _heap[1] = gc.mem_free()
        _heap[2] = gc.mem_alloc()
        # the largest block that can be had now, to within a quarter (a
        # lower bound): free memory in pieces is what makes a request fail
        # with the total looking ample. Tries all that is free, then 3/4
        # of the last try; the probe blocks are garbage at once.
        n &= ~15
        while n > 256:
            try:
                bytearray(n)
                break
            except MemoryError:
                n = (n * 3 // 4) & ~15
        _heap[3] = n if n > 256 else 0
        gc.collect()  # the probe's block
    return _heap[1], _heap[2], _heap[3]


def _read(path):
    try:
        with open(path) as f:
            return load(f)
    except Exception:  # none (an image from before OTA), or damaged
        return {}


def image():
    """{"version", "date", "trial", "rolled_back"} of the running image
    (docs/ota.md): GET /api/status's "image"."""
    if not _image:
        _image.update(_read(getattr(app, 'IMAGE', '') + 'version.json'))
        rolled = _image['rolled_back'] = _read('slot.json').get('rolled_back')
        if rolled:  # once per boot, in the event log
            log.note('update to version %s rolled back: %s'
                     % (rolled.get('version'), rolled.get('why')))
    trial = sys.modules.get('app.ota.trial')
    return {'version': _image.get('version'), 'date': _image.get('date'),
            'trial': bool(trial and trial.pending()),
            'rolled_back': _image['rolled_back']}


def host(store):
    """{"name", "ip"}: the board's hostname (mDNS answers it as NAME.local
    where the firmware runs a responder: docs/ota.md) and address."""
    try:
        import network
    except ImportError:  # the unix port: the host's network
        return {'name': store.data['wifi'].get('hostname') or 'pinwheel-sim',
                'ip': store.data['http'].get('host') or '127.0.0.1'}
    name = ip = None
    try:
        name = network.hostname() if hasattr(network, 'hostname') else None
        for itf in (network.STA_IF, network.AP_IF):
            wlan = network.WLAN(itf)
            if wlan.active() and (itf == network.AP_IF or wlan.isconnected()):
                ip = wlan.ifconfig()[0]
                break
    except Exception:  # a driver error must not break the status
        pass
    return {'name': name, 'ip': ip}


def _scrub(depth):
    """Overwrite the C stack below here with None before a gc.collect():
    the GC is conservative, and a stale pointer an earlier request left
    there (a GET /api/bindings' rendered document) would count as live."""
    a = b = c = d = e = f = g = h = None
    if depth:
        _scrub(depth - 1)
    return a or b or c or d or e or f or g or h




def _binding_id(registry, text):
    """The id in a binding's URL, if a binding has it; else a 404 that
    shows the text clipped (a binding's id is at most 32 characters)."""
    binding_id = unquote(text)
    if registry.find(binding_id) is None:
        raise ApiError(404, 'not_found', 'no binding with id "%s"; GET '
                       '/api/bindings lists them' % (
                           binding_id if len(binding_id) <= 40
                           else binding_id[:40] + '...'), 'id')
    return binding_id


def _to_dict(h):
    return h.to_dict()


def _body(request):
    """The request's JSON body, parsed strictly (``app.strictjson``, loaded
    by the first body: a board that is only read never holds it)."""
    from app.strictjson import loads
    return loads(request.body)


def create_app(registry, store, mqtt=None, timing=None):
    """The app (app.http.server) serving ``registry`` and ``timing`` (an
    ``app.time.Time``: the clock and schedules, loaded when first used;
    made here if None), persisting to ``store``. ``mqtt``
    (app.main.Mqtt): its status goes into /api/status ("off" included;
    null only for an app made without one), and it is told when the
    config changed."""
    image()  # a rollback goes into the event log now, not at the first status
    app = Server(lambda: store.data['http'])  # read timeout, connection cap
    auth.install(app, store)  # token, Origin check, CORS
    board = registry.board
    if timing is None:
        from app.time import Time
        timing = Time(registry, store)

    add = app.route
    # One route per URL, whatever its methods: a route is a tuple in a list.
    @add('/api/bindings', ['GET', 'POST'])
    def bindings(request):
        if request.method != 'POST':  # GET or HEAD: one binding at a time
            return json_items('{"bindings": [', registry.bindings, _to_dict,
                              ']}')
        h = registry.create(_body(request))
        return h.to_dict(), 201, {'Location': '/api/bindings/' + h.id}

    # and POST /api/bindings/<id>/start, stop, on, off, toggle, pulse: the
    # verbs of registry.do (docs/api.md, "Actions")
    @add('/api/bindings/<binding_id>', ['GET', 'PATCH', 'PUT', 'DELETE'])
    def binding(request, binding_id, verb=None):
        if verb is not None:
            if verb not in VERBS:
                from app.http.fallback import http_error
                return http_error(request, 404)
            return registry.do(verb, _binding_id(registry,
                                                 binding_id)).to_dict()
        binding_id = _binding_id(registry, binding_id)
        method = request.method
        if method == 'DELETE':
            registry.get(binding_id)  # 404 before 409
            timing.before_binding_delete(
                binding_id, request.args.get('cascade') in ('1', 'true'))
            registry.delete(binding_id)
            return '', 204
        h = registry.get(binding_id)  # 404 before 400 for a bad body
        if method in ('GET', 'HEAD'):
            return h.to_dict()
        partial = method == 'PATCH'
        # PATCH ?live=1: applied to the running binding, not saved (a
        # slider while it moves); the PATCH without it (on release) saves
        live = partial and request.args.get('live') in ('1', 'true')
        return registry.update(binding_id, _body(request), partial,
                               live).to_dict()

    add('/api/bindings/<binding_id>/<verb>', ['POST'])(binding)

    @add('/api/status')
    def status(request=None):
        """The /api/status document (the event stream sends it too, with
        no request); ``?gc=1``: the heap read now, after a collection."""
        fresh = request is not None and request.args.get('gc')
        if fresh:  # ?gc=1: live heap, without garbage
            _scrub(24)
            gc.collect()
        mem_free, mem_alloc, largest = heap_stats(fresh)
        hs = registry.bindings
        running = drops = missed = 0  # one loop: a generator is a function
        for h in hs:
            h.sync()
            if h.running:
                running += 1
            drops += h.drops
            missed += h.missed_now()
        return {
            'version': VERSION, 'board': board.name,
            'uptime_ms': ticks_diff(ticks_ms(), _BOOT_MS),
            'mem_free': mem_free, 'mem_alloc': mem_alloc,
            'heap': {'free': mem_free, 'alloc': mem_alloc,
                     'largest_free': largest},
            'bindings': len(hs),
            'running': running, 'drops_total': drops, 'missed_total': missed,
            'timers_free': board.timers_free,
            'safe_mode': store.safe_mode, 'config_error': store.error,
            'config_errors': store.config_errors,
            'clock': timing.status(),
            # connections open now, refused at the cap, dropped for slowness
            'http': {'open': app.open, 'refused': app.refused,
                     'timeouts': app.timeouts},
            'image': image(), 'host': host(store),  # docs/ota.md
            'mqtt': mqtt and mqtt.status(),  # app.main.Mqtt
        }

    # one handler for three URLs: a function is heap, a comparison is not
    @add('/api/board')
    def board_info(request):
        path = request.path
        if path == '/api/log':  # app.log: the last events, oldest first
            return {'events': log.entries()}
        if path == '/api/kinds':
            from app.http import kindinfo  # loaded by the first request
            return kindinfo.kinds(board)
        from app.http import admin
        return admin.board(registry)
    add('/api/kinds')(board_info)
    add('/api/log')(board_info)

    @add('/api/config', ['GET', 'PUT', 'PATCH'])
    def config(request):
        from app.http import admin
        if request.path != '/api/config':  # /api/config/rejected
            return admin.rejected(request, registry, store)
        out = admin.config(request, registry, store)
        if mqtt is not None and request.method in ('PUT', 'PATCH'):
            mqtt.apply()  # a changed mqtt section restarts the bridge
        timing.follow()  # the events, the zone or the place may be new
        return out

    add('/api/config/rejected', ['GET', 'DELETE'])(config)

    # The clock and the schedules: app.http.schedapi, loaded by the first use.
    @add('/api/time', ['GET', 'PUT'])
    def clock(request):
        from app.http import schedapi
        if request.path != '/api/time':  # /api/time/zones
            return schedapi.zones(request)
        return schedapi.time(request, timing.clock())
    add('/api/time/zones')(clock)

    @add('/api/schedules', ['GET', 'POST'])
    def schedules(request, event_id=None):
        from app.http import schedapi
        if event_id is None:
            return schedapi.events(request, timing.schedules())
        return schedapi.event(request, timing.schedules(), unquote(event_id))
    add('/api/schedules/<event_id>', ['GET', 'PATCH', 'PUT', 'DELETE'])(
        schedules)

    # The dashboard: its files (app.http.web) and live updates (app.http.events).
    @add('/')
    def static(request, name='index.html'):
        from app.http import web  # the dashboard: loaded by its first request
        if request.path == '/api/openapi.json':  # gzipped by deploy.py
            name = 'openapi.json'  # a file: the document costs no heap
        return web.send(request, name)
    add('/static/<path:name>')(static)
    add('/api/openapi.json')(static)

    streams = []  # app.http.events: imported by the first stream

    @add('/api/events')
    def events(request):
        if not streams:
            from app.http.events import Streams
            streams.append(Streams(registry, store, status))
        return streams[0].route(request)

    return app
