"""What boot runs once: build board, store and registry from config.json.

Loaded by ``app.main.boot`` and dropped after it (its code is heap on most
ports). Nothing here may brick a board: any problem with config.json boots
in safe mode.
"""
from app.board import Board
from app.config import Config
from app.errors import ApiError
from app.registry import Registry


def _error_dict(e):
    if isinstance(e, ApiError):
        return {'code': e.code, 'message': e.message, 'field': e.field}
    return {'code': 'invalid_config', 'message': str(e), 'field': 'board'}


def boot(config_path='config.json'):
    """Return (registry, store); never raises on a bad config."""
    store = Config(config_path)
    problem = None
    try:
        store.load()
    except ApiError as e:
        problem = e
    limits = store.data['limits']
    try:
        board = Board(store.data['board'], limits['virtual_timers'])
    except ValueError as e:
        problem = problem or e
        board = Board('auto', limits['virtual_timers'])
    registry = Registry(board, limits['bindings'])
    if problem is None:
        try:
            registry.replace_all(store.data['bindings'])
        except ApiError as e:
            problem = e
    if problem is not None:
        error = _error_dict(problem)
        store.enter_safe_mode(error)
        print('pinwheel: SAFE MODE:', error['message'])
    return registry, store
