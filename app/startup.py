"""What boot runs once: build board, store and registry from config.json.

Loaded by ``app.main.boot`` and dropped after it (its code is heap on most
ports). Nothing here may brick a board: any problem with config.json boots
in safe mode.
"""
import json
import os
from app.board.board import Board
from app import schema
from app.strictjson import problem
from app.config import Config, exists
from app.errors import ApiError
from app.registry import Registry


def load(store):
    """Read and check ``store``'s file; on any problem raise ApiError with the
    field. A crash between write and rename may leave only the .tmp."""
    path = store.path
    if not exists(path) and exists(path + '.tmp'):
        os.rename(path + '.tmp', path)
    try:
        with open(path, 'rb') as f:  # bytes: text mode dies on non-UTF-8
            text = f.read()
    except OSError:
        raise ApiError(400, 'invalid_json', '%s not found' % path, None)
    # strict: MicroPython's parser would half-read a damaged file (commas
    # and colons are optional to it) and apply what it made of it
    where = problem(text)
    try:
        if where is not None:
            raise ValueError
        data = json.loads(text)
    except Exception:  # ValueError, UnicodeError, too big
        raise ApiError(400, 'invalid_json', '%s is not valid JSON (%s%d bytes'
                       '; truncated or corrupt?)' % (
                           path, where + '; ' if where else '', len(text)),
                       None)
    # leaves data at the defaults if it raises
    store.data = schema.check(data, None)
    return store.data


def _error_dict(e):
    if isinstance(e, ApiError):
        return {'code': e.code, 'message': e.message, 'field': e.field}
    return {'code': 'invalid_config', 'message': str(e), 'field': 'board'}


def boot(path='config.json'):
    """Return (registry, store); never raises on a bad config."""
    store = Config(path)
    problem = None
    try:
        load(store)
    except ApiError as e:
        problem = e
    limits = store.data['limits']
    try:
        board = Board(store.data['board'], limits['virtual_timers'])
    except ValueError as e:
        problem = problem or e
        board = Board('auto', limits['virtual_timers'], safe=True)
    registry = Registry(board, limits['bindings'])
    if problem is None:
        try:
            registry.replace_all(power_on(store.data['bindings']))
        except ApiError as e:
            problem = e
    if problem is not None:
        error = _error_dict(problem)
        store.enter_safe_mode(error)
        store.data['schedules'] = []
        print('pinwheel: SAFE MODE:', error['message'])
    else:
        _save_pins(store, registry)
    return registry, store


def power_on(bodies):
    """The bindings as boot starts them: ``power_on`` "on" runs, "off"
    and "schedule" (set by ``app.time.schedules`` once the clock is) stop,
    "restore" (the default) keeps the saved ``start``."""
    for body in bodies if isinstance(bodies, list) else ():
        if isinstance(body, dict):
            policy = body.get('power_on', 'restore')
            if policy == 'on':
                body['start'] = True
            elif policy in ('off', 'schedule'):
                body['start'] = False
    return bodies


def _save_pins(store, registry):
    """pins.json, when it is missing or stale (a config.json from deploy
    or a power cut between the two writes): the next boot drives the
    pins first."""
    from app.board.bootpins import outputs, read
    store.drivable = outputs(registry.board)
    pins = registry.idle_pins()
    if read(store.path, store.pins_path()) != pins:
        try:
            store.save_pins(pins)
        except OSError as e:
            print('pinwheel: cannot write pins.json: %r' % e)
