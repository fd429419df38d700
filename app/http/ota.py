"""Over-the-air updates over the API (``deploy.py --ota``), and the
"image" and "host" parts of GET /api/status.

One route, ``/api/ota/<step>``: GET manifest (the running image's
manifest.json, streamed from flash), POST begin, POST copy, PUT
file/<path>?at=N, POST commit; app.ota.steps takes them, imported by the
first update and kept. Every write needs the API token
(app.http.auth), and app.ota.update refuses a board that has none.
After a commit the board reboots into the new image on trial
(docs/ota.md).
"""
import json
import sys
import app

_image = {}  # the running image's version and date, and the flag's
# rolled_back: read once, at boot


def _read(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:  # none (an image from before OTA), or damaged
        return {}


def image():
    """{"version", "date", "trial", "rolled_back"} of the running image."""
    if not _image:
        _image.update(_read(getattr(app, 'IMAGE', '') + 'version.json'))
        rolled = _image['rolled_back'] = _read('slot.json').get('rolled_back')
        if rolled:  # once per boot, in the event log
            from app import log
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


def manifest():
    """The response to GET /api/ota/manifest: the file, streamed."""
    import os
    from app.http.web import stream
    path = getattr(app, 'IMAGE', '') + 'manifest.json'
    try:
        size = os.stat(path)[6]
    except OSError:
        return {'files': {}}  # an image from before OTA
    return stream(path, {'Content-Type': 'application/json',
                         'Cache-Control': 'max-age=0',
                         'Content-Length': str(size)})


def install(server, store):
    """Add the update route to the app ``server`` (app.http.server): one
    route; its work (app.ota.steps) is imported by the first update. GET
    manifest streams the running image's manifest.json from flash."""
    def ota(request, step):
        if step == 'manifest' and request.method in ('GET', 'HEAD'):
            return manifest()
        from app.ota.steps import handle
        return handle(request, step, store, image)
    server.route('/api/ota/<path:step>', ('GET', 'POST', 'PUT'))(ota)
    image()  # a rollback goes into the event log now, not at the first status
