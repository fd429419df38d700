"""The rare routes: GET/PUT/PATCH /api/config and GET /api/board."""
from micropython import const
from app import schema
from app.strictjson import loads
from app.board.board import CAP_ADC, CAP_IN, CAP_OUT, CAP_PULL, pin_key
from app.errors import ApiError, invalid

_SECTIONS = const(('http', 'wifi', 'limits', 'mqtt', 'time', 'location',
                   'schedule'))  # merged key by key by PATCH
_EXAMPLE = const('-d \'{"limits": {"bindings": 8}}\' with PATCH, or with PUT '
                 'the whole config (GET /api/config gives it)')


def config(request, registry, store):
    """GET: the running config, secrets redacted. PUT: a whole new config,
    ``bindings`` included (a PUT without them would delete every binding).
    PATCH: only what is sent: a section's keys replace those keys,
    ``bindings`` (if sent) replaces the list. Either is checked in full
    and applied at once (all bindings replaced when ``bindings`` or
    ``limits`` are sent), then saved; a secret sent back as "********"
    keeps its stored value."""
    board = registry.board
    method = request.method
    store.data['bindings'] = registry.specs()
    if method not in ('PUT', 'PATCH'):
        return schema.redact(store.data)
    sent = loads(request.body, _EXAMPLE)
    if method == 'PATCH':
        new = merge(store.data, sent)
    elif isinstance(sent, dict) and 'bindings' not in sent:
        raise invalid('bindings', 'bindings is required in a PUT; use PATCH '
                      'to change part of the config')
    else:
        new = sent
    data = schema.check(new, store.data)
    if data['board'] not in ('auto', board.name):
        raise invalid('board', 'this board is %s; use "auto" or "%s" (a '
                      'different board needs a reflash)'
                      % (board.name, board.name))
    # a PATCH of other sections leaves the bindings running as they are
    if method == 'PUT' or 'bindings' in sent or 'limits' in sent:
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


def merge(old, patch):
    """``old`` with ``patch`` laid over it: a section's keys one by one,
    anything else (``bindings`` too) whole. Not a dict: left to the check."""
    if not isinstance(patch, dict):
        return patch
    out = dict(old)
    for key, value in patch.items():
        if key in _SECTIONS and isinstance(value, dict) and isinstance(
                old.get(key), dict):
            section = dict(old[key])
            section.update(value)
            value = section
        out[key] = value
    return out


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
