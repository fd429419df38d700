"""The rare routes: GET/PUT /api/config and GET /api/board."""
from app import schema
from app.body import read_json
from app.board import CAP_ADC, CAP_IN, CAP_OUT, CAP_PULL, pin_key
from app.errors import ApiError, invalid


def config(request, registry, store):
    """GET: the running config, secrets redacted. PUT: check the whole new
    config, apply it (all bindings replaced at once), save it."""
    board = registry.board
    if request.method != 'PUT':
        store.data['bindings'] = registry.specs()
        return schema.redact(store.data)
    data = schema.check(read_json(request), store.data)
    if data['board'] not in ('auto', board.name):
        raise invalid('board', 'this board is %s; use "auto" or "%s" (a '
                      'different board needs a reflash)'
                      % (board.name, board.name))
    limit = registry.max_bindings
    registry.max_bindings = data['limits']['bindings']
    try:
        # the pool takes the new size now, as it would at the next boot
        registry.replace_all(data['bindings'],
                             data['limits']['virtual_timers'])
    except ApiError:
        registry.max_bindings = limit
        raise
    store.data = data
    registry.on_change()
    return schema.redact(store.data)


def board(registry):
    """Every pin with its capabilities and user, the reserved pins, the
    timer pool, and which board this is: the profile's name and port, what
    the firmware said (``_build``, ``_machine``, version), the on-board LED
    and how timer callbacks run (``hard`` interrupt, ``scheduled``, or
    ``direct`` on the simulated board)."""
    board = registry.board
    names = ((CAP_OUT, 'out'), (CAP_IN, 'in'), (CAP_ADC, 'adc'),
             (CAP_PULL, 'pull'))
    pins = []
    for pin in sorted(board.pins, key=pin_key):
        caps = board.pins[pin]
        h = registry.pin_user(pin)
        pins.append({'pin': pin,
                     'caps': [n for bit, n in names if caps & bit],
                     'used_by': h.id if h else None,
                     'level': h.level if h else board.read(pin)})
    return {'board': board.name, 'port': board.port,
            'firmware': board.firmware, 'sim': board.sim, 'led': board.led,
            'callbacks': 'hard' if board.timer_hard else
                         'scheduled' if board.soft_callbacks else 'direct',
            'pins': pins,
            'reserved': [{'pin': p, 'why': why}
                         for p, why in board.reserved.items()],
            'timers': board.pool(),
            'min_period_ms': board.min_period_ms,
            'max_bindings': registry.max_bindings}
