"""Run from a flash dir (the built image): boot, serve requests through
``app.handle_request`` from in-memory streams, and print one ``HEAP {json}``
line: the modules loaded after each step (read back by tests/test_heap.py).

    micropython heap_probe.py
"""
import sys
sys.path.append('lib')
sys.path.append('.')
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
from fakes import handle, raw_request, status_of  # noqa: E402

REQUESTS = [  # (method, path, body, status)
    ('GET', '/api/status', None, 200),
    ('GET', '/', None, 200),
    ('POST', '/api/bindings', {'id': 'p', 'kind': 'blink', 'pin': 13,
                               'period_ms': 50}, 201),
    ('PATCH', '/api/bindings/p', {'period_ms': 20}, 200),
    ('PUT', '/api/bindings/p', {'kind': 'pattern', 'pin': 14,
                                'steps_ms': [10, 20]}, 200),
    ('POST', '/api/bindings', {'kind': 'nope', 'pin': 14}, 400),
    ('GET', '/api/board', None, 200),
    ('GET', '/api/config', None, 200),
    ('PUT', '/api/sim/pins/34', {'level': 1}, 200),
    ('GET', '/static/app.js', None, 200),
    ('DELETE', '/api/bindings/p', None, 204),
]


def modules():
    return sorted(m for m in sys.modules if m.startswith('app.'))


async def main():
    from app.main import boot
    from app.main import build_app
    registry, store = boot('config.json')
    app = build_app(registry, store)
    gc.collect()
    out = {'booted': modules()}
    for step in ('served', 'again'):
        statuses = []
        for method, path, body, _ in REQUESTS:
            w = await handle(app, raw_request(method, path, body), False)
            statuses.append(status_of(w))
        out['statuses'] = statuses
        out[step] = modules()
    out['want'] = [r[3] for r in REQUESTS]
    print('HEAP ' + json.dumps(out))


asyncio.run(main())
