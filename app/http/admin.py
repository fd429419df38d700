"""The rare routes: /api/config, /api/config/rejected and GET /api/board."""
from micropython import const
from app import schema
from app.strictjson import loads
from app.board.board import CAP_ADC, CAP_IN, CAP_OUT, CAP_PULL, pin_key

_EXAMPLE = const('-d \'{"limits": {"bindings": 8}}\' with PATCH, or with PUT '
                 'the whole config (GET /api/config gives it)')


def config(request, registry, store):
    """GET: the running config, secrets redacted (in safe mode: what runs,
    the kept file is GET /api/config/rejected). PUT: a whole new config;
    PATCH: only what is sent (``app.settings.change``)."""
    method = request.method
    if method not in ('PUT', 'PATCH'):
        out = schema.redact(store.data)
        out['bindings'] = registry.specs()  # Config.save: the registry's
        out['schedules'] = store.schedules()  # and the schedules'
        return out
    from app import settings  # loaded by the first change, and kept
    return settings.change(registry, store, loads(request.body, _EXAMPLE),
                           method == 'PUT')


def rejected(request, registry, store):
    """GET /api/config/rejected: the file safe mode kept; DELETE drops it
    (``app.settings``)."""
    from app import settings
    if request.method == 'DELETE':
        settings.drop(registry, store)
        return '', 204
    return settings.rejected(store)


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
        pwm = board.pwm_info(pin)  # the simulated board's PWM
        if pwm is not None:
            pins[-1]['pwm'] = pwm
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
