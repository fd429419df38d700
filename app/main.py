"""Boot: read the config, build board and registry, serve the API.

Nothing here may brick a board: any problem with config.json boots in safe
mode (no bindings, server up, /api/status names the problem).
"""
import gc
# Collect every 16 KB while the modules load and boot builds its objects:
# otherwise the heap fills with the loader's garbage before the first
# collection, and what stays is left scattered between the holes (the GC
# never moves objects). Measured: the smallest heap that boots and serves
# drops by ~20 KB. serve() turns it off again: at run time it would cost
# a collection every few requests.
gc.threshold(16384)
import asyncio  # noqa: E402
import os  # noqa: E402


def boot(path='config.json'):
    """Return (registry, store); never raises on a bad config. The boot
    code (app.startup, app.profiles) is dropped once it has run: it runs
    once and a board keeps its heap for requests."""
    import sys
    from app import startup
    try:
        return startup.boot(path)
    finally:
        for name in ('app.startup', 'app.profiles'):
            sys.modules.pop(name, None)


def _port(store):
    env = getattr(os, 'getenv', None)  # the unix port only
    port = env and env('PINWHEEL_PORT')
    return int(port) if port else store.data['http']['port']


async def serve(registry, store):
    from app.api import create_app
    app = create_app(registry, store)
    gc.collect()
    gc.threshold(-1)  # booted: collect only when the heap is full
    board = registry.board
    host = store.data['http'].get('host') or (
        '127.0.0.1' if board.sim else '0.0.0.0')
    port = _port(store)
    print('pinwheel: %s board, %d bindings, serving http://%s:%d/'
          % (board.name, len(registry.bindings), host, port))
    token = store.data.get('api_token')
    if token and board.sim:  # make run: a link that logs the dashboard in
        print('pinwheel: dashboard http://%s:%d/#token=%s' % (host, port, token))
    await app.start_server(host=host, port=port)


def run(path='config.json'):
    registry, store = boot(path)
    if not registry.board.sim:  # the unix port has no Wi-Fi to bring up
        from app import net
        net.start(store.data['wifi'], _port(store))
    asyncio.run(serve(registry, store))
