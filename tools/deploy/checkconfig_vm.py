"""Check a config file with the board's own rules, on the MicroPython VM (the
unix port), the way the board's boot checks it: ``app.startup``'s checks,
each part that fails listed, nothing applied. Run by tools/deploy/
checkconfig.py:

    micropython checkconfig_vm.py FILE [PORT BUILD MACHINE]

PORT, BUILD and MACHINE are what the board's firmware says (deploy.py's
probe): "board": "auto" then means the profile they pick, as on the board.
Without them the board is the simulated one (make run). Prints one JSON
line: {"board": name or null, "config_board": its "board",
"errors": [{"where", "field", "message"}]}.
"""
import json
import sys

ROOT = (__file__.rpartition('/')[0] or '.') + '/../..'
sys.path.insert(0, ROOT)

from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as on `make run`
from app import schema, startup, validate  # noqa: E402
from app.time import check as check_time, needed  # noqa: E402
# the clock's and events' checks, as app.main installs them on a board
schema.CHECKS.append(lambda data: check_time(data) if needed(data) else None)
from app.board.board import Board  # noqa: E402
from app.errors import ApiError  # noqa: E402
from app.registry import Registry  # noqa: E402


def check(path, facts):
    with open(path, 'rb') as f:
        text = f.read()
    rejected = startup.Rejected()
    data = startup.sections(startup.parse(text, rejected), rejected)
    limits = data['limits']
    name = None
    try:
        board = Board(data['board'], limits['virtual_timers'], facts=facts)
        name = board.name
        if facts and board.port != facts[0]:
            raise ValueError('board "%s" is a %s board, but this one runs %s'
                             % (data['board'], board.port, facts[0]))
    except ValueError as e:
        rejected.add('board', ApiError(400, 'invalid_config', str(e),
                                       'board'))
        board = None
    if board is not None:
        scratch = Registry(board, limits['bindings'])
        timers = board.pool_size(limits['virtual_timers'])
        startup.bindings(startup.power_on(data['bindings']),
                         lambda bodies: validate.bodies(scratch, bodies,
                                                        timers), rejected)
    return {'board': name, 'config_board': data['board'], 'errors': [
        {'where': error['where'], 'field': field, 'message': message}
        for error, (field, message) in zip(rejected.errors,
                                           rejected.fields)]}


facts = tuple(sys.argv[2:5]) if len(sys.argv) >= 5 else None
print(json.dumps(check(sys.argv[1], facts)))
