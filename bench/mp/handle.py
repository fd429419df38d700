"""CPU cost of one request inside the VM, without sockets: N requests go
through ``app.handle_request`` (pinwheel's Server or a bare Microdot app)
from in-memory streams. run.py times the process with getrusage and
subtracts a run with N = 0, so only the requests count.

    micropython handle.py bare|pinwheel|pinwheel0|pinwheel8 PATH N
    (cwd: a flash dir; tests/mp on the path for fakes)

The bare app also serves ``/bench/doc``: pinwheel's GET /api/bindings
document (``doc.json``) as a static dict. pinwheel boots config.json,
pinwheel0 config0.json (no bindings), pinwheel8 config8.json (8 running).
"""
import asyncio
import sys
from fakes import handle

REQUEST = b'GET %s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n'

def bare_app():
    from microdot import Microdot
    app = Microdot()

    @app.get('/api/bindings')
    def bindings(request):
        return {'ok': True, 'n': 1}

    doc = []

    @app.get('/bench/doc')
    def document(request):  # pinwheel's /api/bindings, as a static dict
        if not doc:
            import json
            with open('doc.json') as f:
                doc.append(json.load(f))
        return doc[0]
    return app


def pinwheel_app(config):
    from app.main import boot
    from app.main import build_app
    registry, store = boot(config)
    app = build_app(registry, store)
    import gc  # as app.main.serve does once booted (see app/main.py)
    gc.collect()
    gc.threshold(-1)
    return app


async def main(which, path, n):
    if which == 'bare':
        app = bare_app()
    else:
        app = pinwheel_app('config%s.json' % which[len('pinwheel'):])
    raw = REQUEST % path.encode()
    for _ in range(n):
        await handle(app, raw, keep=False)


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
