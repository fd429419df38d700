"""Over-the-air updates over the API (``deploy.py --ota``); the "image"
and "host" parts of GET /api/status are app.http.api's.

One route, ``/api/ota/<step>`` (app.main.build_app adds it; this module
loads with the first request to it): GET manifest (the running image's
manifest.json, streamed from flash), POST begin, POST copy, PUT
file/<path>?at=N, POST commit; app.ota.steps takes them, imported by the
first update and kept. Every write needs the API token
(app.http.auth), and app.ota.update refuses a board that has none.
After a commit the board reboots into the new image on trial
(docs/ota.md).
"""
import app
from app.http.api import image


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


def route(request, step, store):
    """/api/ota/<step> (``app.main.build_app`` routes it here: this module
    loads with the first update request). GET manifest streams the
    running image's manifest.json from flash; the other steps are
    app.ota.steps', imported by the first update and kept."""
    if step == 'manifest' and request.method in ('GET', 'HEAD'):
        return manifest()
    from app.ota.steps import handle
    return handle(request, step, store, image)
