"""The steps of ``app.main`` that run once, before the board serves or runs
headless: read PORT, boot, wire the app, say where it serves. Boot code:
it forgets itself once the app is built (``app``) and ``app.main.serve``
drops the rest (``app.main.BOOT_ONLY``), so a serving board keeps only
what requests and the features need (``app.main``); a headless board
keeps it (``idle``).
"""
import asyncio
import os
import sys
from app import main


def start(path, argv, running):
    """``app.main.run`` up to the event loop: boot, then (registry, the
    coroutine to run: ``app.main.serve``, or ``idle`` without a network).
    ``running`` (a list) receives the app, so Ctrl-C can close its
    socket."""
    env_port()  # a PORT that is none: said before anything boots
    registry, store = main.boot(path)
    log = '--quiet' not in argv and store.data['http'].get('log', True)
    from app.board import net
    why = net.unavailable(store.data['wifi'], port(store))
    main._drop_boot_code()
    from app.time import Time
    timing = Time(registry, store)
    if why:
        return registry, idle(registry, why, timing)
    return registry, main.serve(registry, store, log, running, timing)


def port(store):
    """The port to serve on: PORT (``make run PORT=``), else the config's."""
    return env_port() or store.data['http']['port']


def env_port():
    """PINWHEEL_PORT (``make run PORT=``; the unix port only) or None. A
    PORT that is not one: one line, exit 1."""
    env = getattr(os, 'getenv', None)  # the unix port only
    value = env and env('PINWHEEL_PORT')
    if not value:
        return None
    if not (value.isdigit() and 1 <= int(value) <= 65535):
        print('pinwheel: PORT=%s is not a port: use a number from 1 to 65535,'
              ' e.g. make run PORT=8081' % value[:20])
        raise SystemExit(1)
    return int(value)


def app(registry, store, log, running, timing):
    """``app.main.serve`` up to its socket: the app built, MQTT and the
    saver started, the clock and events loaded if the config uses them.
    Returns (app, host, port, the lines to print once it serves)."""
    board = registry.board
    host = store.data['http'].get('host') or (
        '127.0.0.1' if board.sim else '0.0.0.0')
    at = port(store)
    timing.network = True
    mqtt = main.Mqtt(registry, store, host, at, timing)
    served = main.build_app(registry, store, mqtt, timing)
    if running is not None:
        running.append(served)
    if log:
        log_requests(served)
    mqtt.apply()  # before the collection: the bridge lives as long
    served.before.append(main._collect_before_writes)
    start_saver(registry)
    use_time(timing)
    n = len(registry.bindings)
    lines = 'pinwheel: %s board, %d binding%s, serving http://%s:%d/' % (
        board.name, n, '' if n == 1 else 's', host, at)
    token = store.data.get('api_token')
    if token and board.sim:  # make run: a link that logs the dashboard in
        lines += '\npinwheel: dashboard http://%s:%d/#token=%s' % (
            host, at, token)
    # the last step of the boot code: this module is forgotten (serve drops
    # its own reference), so its code is freed
    sys.modules.pop('app.launch', None)
    try:
        delattr(sys.modules['app'], 'launch')
    except AttributeError:
        pass
    return served, host, at, lines


def log_requests(served):
    """Print one line per request: method, path, status and milliseconds.

    The server's hooks (app.http.server): a ``before_request`` hook notes
    the time (put first, so the time includes the token check),
    ``after_request`` and ``after_error_request`` hooks print
    (``app.main._started``, ``app.main._done``). A request that matched
    no route (404, 405, a malformed one) never reaches
    ``before_request``: its time shows as ``-``. Answers the server sends
    before any hook (408, 503 at the connection cap) are not logged;
    /api/status counts them."""
    served.before.insert(0, main._started)
    served.after_request(main._done)
    served.after_error_request(main._done)


def use_time(timing):
    """Load the clock and schedules now if the config uses them (their
    runner and NTP start with them); otherwise the first time route or
    config change that needs them does."""
    if timing.needed():
        timing.schedules()


def start_saver(registry):
    """The saver's task (``app.main.persist``), once the loop runs, served
    or headless."""
    start = getattr(registry.on_change, 'start', None)
    if start is not None:
        start()


async def cannot_serve(e, registry, host, at, timing):
    """No socket (the port is taken, or the address is not ours): say why;
    on the unix port stop (``make run PORT=...`` picks another), on a
    board run headless."""
    from app import startup  # boot-only code: its words cost no heap
    sim = registry.board.sim
    print(startup.cannot_serve(e, host, at, sim))
    main._drop_boot_code()
    if sim:
        raise SystemExit(1)
    await idle(registry, 'no socket on port %d' % at, timing)


async def idle(registry, why, timing=None):
    """No network: the bindings run on their timers, nothing is served.
    The loop stays up for deferred work: it wakes every second, which on
    the unix port is when work a timer thread scheduled gets to run."""
    board = registry.board
    n = len(registry.bindings)
    print('pinwheel: %s board, %d binding%s, headless (%s): running the '
          'bindings from config.json, no API' % (
              board.name, n, '' if n == 1 else 's', why))
    start_saver(registry)
    if timing is not None:
        use_time(timing)
    main.confirm_image()
    while True:
        await asyncio.sleep(1)
