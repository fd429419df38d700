"""Over-the-air updates over the API (``deploy.py --ota``), and the
"image" and "host" parts of GET /api/status.

One route, ``/api/ota/<step>``: GET manifest (the running image's
manifest.json, streamed from flash), POST begin, POST copy, PUT
file/<path>?at=N, POST commit; the work is app.ota.update's, imported by
the first update and kept. Every write needs the API token
(app.http.auth), and app.ota.update refuses a board that has none.
After a commit the board reboots into the new image on trial
(docs/ota.md).
"""
import json
import sys
import app

_image = {}  # the running image's version and date, and the flag's
# rolled_back: read once, by the first status


def _read(path):
    try:
        with open(path) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except Exception:  # none (an image from before OTA), or damaged
        return {}


def image():
    """{"version", "date", "trial", "rolled_back"} of the running image."""
    if not _image:
        about = _read(getattr(app, 'IMAGE', '') + 'version.json')
        _image['version'] = about.get('version')
        _image['date'] = about.get('date')
        _image['rolled_back'] = _read('slot.json').get('rolled_back')
    trial = sys.modules.get('app.ota.trial')
    return {'version': _image['version'], 'date': _image['date'],
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


def install(server, store):
    """Add the update route to the Microdot app ``server``."""
    from app.errors import ApiError

    def body(request):
        try:
            return json.loads(request.body or b'{}')
        except ValueError:
            raise ApiError(400, 'invalid_json', 'the body is not JSON')

    @server.route('/api/ota/<path:step>', methods=['GET', 'POST', 'PUT'])
    def ota(request, step):
        try:
            if step == 'manifest' and request.method in ('GET', 'HEAD'):
                from microdot import Response
                try:
                    return Response.send_file(
                        getattr(app, 'IMAGE', '') + 'manifest.json',
                        content_type='application/json', max_age=0)
                except OSError:
                    return {'files': {}}  # an image from before OTA
            from app.ota import update
            method = request.method
            if method == 'PUT' and step.startswith('file/'):
                at = request.args.get('at', '0')
                if not at.isdigit():
                    raise ApiError(400, 'invalid_field', 'at: a byte offset',
                                   'at')
                return update.put(step[5:], int(at), request.body or b'')
            if method == 'POST' and step == 'begin':
                return update.begin(store, body(request))
            if method == 'POST' and step == 'copy':
                return update.copy(body(request))
            if method == 'POST' and step == 'commit':
                done = update.commit(body(request), image()['version'])
                _reboot_soon()
                return done
            raise ApiError(404, 'not_found', 'no such update step: %s %s'
                           % (method, step[:40]))
        except ApiError as e:
            return e.response()

    rolled = image()['rolled_back']
    if rolled:  # once per boot, in the event log where there is one
        try:
            from app import log
            log.note('update to version %s rolled back: %s'
                     % (rolled.get('version'), rolled.get('why')))
        except ImportError:
            print('pinwheel: update to version %s rolled back: %s'
                  % (rolled.get('version'), rolled.get('why')))


def _reboot_soon():
    """Reboot once the answer is out."""
    import asyncio

    async def later():
        await asyncio.sleep_ms(300)
        from app import ota
        ota.reboot()
    asyncio.create_task(later())
