"""The steps of an update as the API takes them (app/http/ota.py routes
``/api/ota/<step>`` here, and serves GET manifest itself): POST begin,
POST copy, PUT file/<path>?at=N, POST commit; app.ota.update does the
work. Imported by the first update request, never at boot."""
import app
from app.errors import ApiError
from app.strictjson import loads

_EXAMPLE = '-d \'{"files": ["app/main.mpy"]}\''


def _body(request):
    return loads(request.body, _EXAMPLE)


def handle(request, step, store, image):
    """The answer to one update request (an ApiError: its JSON error);
    ``image()``: the running image's status (its version)."""
    method = request.method
    from app.ota import update
    if method == 'PUT' and step.startswith('file/'):
        at = request.args.get('at', '0')
        if not at.isdigit():
            raise ApiError(400, 'invalid_field', 'at: a byte offset', 'at')
        return update.put(step[5:], int(at), request.body or b'')
    if method == 'POST' and step == 'begin':
        return update.begin(store, _body(request))
    if method == 'POST' and step == 'copy':
        return update.copy(_body(request))
    if method == 'POST' and step == 'commit':
        done = update.commit(_body(request), image()['version'])
        _reboot_soon()
        return done
    raise ApiError(404, 'not_found', 'no such update step: %s %s'
                   % (method, step[:40]))


def _reboot_soon():
    """Reboot once the answer is out."""
    import asyncio
    from app import ota

    async def later():
        await asyncio.sleep_ms(300)
        ota.reboot()
    asyncio.create_task(later())
