"""Checking a binding's create, PATCH or PUT body, in full, before anything
is touched.

A kind lists its fields with their rules in ``FIELDS``; a new kind with a
new kind of field adds its rule to ``check_field``.
"""
from app.errors import ApiError, invalid
from micropython import const
from app.kinds.handler import REQUIRED
from app import kinds
from app.board.board import CAP_IN, CAP_OUT, CAP_PULL, pin_key

_COMMON = const(('id', 'kind', 'pin', 'start', 'power_on'))
POWER_ON = const(('off', 'on', 'restore', 'schedule'))  # at boot; see app.startup
_MAX_PERIOD_MS = const(86400000)  # one day
_ID_OK = const('_-0123456789abcdefghijklmnopqrstuvwxyz'
               'ABCDEFGHIJKLMNOPQRSTUVWXYZ')


def check_int(field, value, lo, hi):
    # bool is an int subclass: refuse true/false where a number is meant
    if not isinstance(value, int) or isinstance(value, bool):
        raise invalid(field, '%s must be an integer from %d to %d'
                      % (field, lo, hi))
    if not lo <= value <= hi:
        raise invalid(field, '%s must be from %d to %d, got %s'
                      % (field, lo, hi, short(value, 20, str)))
    return value


def check_field(field, rule, value, board):
    """``value`` of ``field`` checked against its ``rule`` (see
    ``Handler.FIELDS``); returns the value."""
    if rule == 'period':
        return check_int(field, value, board.min_period_ms, _MAX_PERIOD_MS)
    if rule == 'periods':
        if not isinstance(value, list) or not 2 <= len(value) <= 32:
            raise invalid(field, '%s must be a list of 2 to 32 durations in '
                          'ms' % field)
        for i, step in enumerate(value):
            check_field('%s[%d]' % (field, i), 'period', step, board)
        return value
    if rule == 'pull':
        if value is None or value in board.pulls:
            return value
        raise invalid(field, 'pull must be null or one of: %s'
                      % ', '.join(board.pulls))
    if rule == 'duty':  # a percentage in 0.1 % steps
        if (isinstance(value, (int, float)) and not isinstance(value, bool)
                and 0 <= value <= 100
                and abs(value * 10 - round(value * 10)) < 0.001):
            return value
        raise invalid(field, '%s must be a number from 0 to 100 in steps of '
                      '0.1, got %s' % (field, short(value, 20, str)))
    if rule == 'freq':  # the board's PWM range
        if not board.pwm:
            raise invalid(field, 'board %s has no PWM' % board.name)
        return check_int(field, value, board.pwm[0], board.pwm[1])
    if rule in ('rules', 'rules+count'):
        from app.kinds import rules  # loaded by the first binding with rules
        return rules.check(field, value, rule == 'rules+count')
    if isinstance(rule[0], str):  # one of these words
        if value in rule:
            return value
        raise invalid(field, '%s must be one of: %s' % (field, ', '.join(rule)))
    return check_int(field, value, rule[0], rule[1])


def check_id(value):
    if (not isinstance(value, str) or not 1 <= len(value) <= 32
            or any(c not in _ID_OK for c in value)):
        raise invalid('id', 'id must be 1 to 32 characters from '
                            'A-Z, a-z, 0-9, "_" and "-"')
    return value


def free_pins(board, need, taken=()):
    """The pins with capability ``need`` not in ``taken`` ((id, pin)
    pairs), as text for an error message."""
    used = [pin for _, pin in taken]
    pins = [p for p, caps in board.pins.items()
            if caps & need and p not in used]
    pins.sort(key=pin_key)
    return ', '.join(str(p) for p in pins) or 'none left'


def _kinds():
    return ', '.join(kinds.names())


def _check_pin(board, pin, cls, binding_id, taken, in_config):
    need = CAP_OUT if cls.OUTPUT else CAP_IN
    what = 'an output' if cls.OUTPUT else 'an input'
    if isinstance(pin, bool) or not isinstance(pin, (int, str)):
        raise ApiError(400, 'invalid_pin', 'pin must be a GPIO number '
                       'or a pin name such as "LED"', 'pin')
    if isinstance(pin, str) and pin.isdigit():  # "5" would read as 5
        raise ApiError(400, 'invalid_pin', 'pin must be a JSON number: '
                       '%s, not "%s"' % (short(pin, show=str), short(pin, show=str)),
                       'pin')
    caps = board.caps(pin)
    status, code = 400, 'invalid_pin'
    if pin in board.reserved:
        problem = 'pin %s is reserved on %s (%s)' % (
            pin, board.name, board.reserved[pin])
    elif not caps:
        problem = 'pin %s does not exist on %s' % (short(pin, show=str),
                                                   board.name)
    elif not caps & need:
        problem = 'pin %s cannot be %s; a %s needs %s pin' % (
            pin, what, cls.KIND, what)
    else:
        problem = None
        for other_id, other_pin in taken:
            if other_pin == pin and other_id != binding_id:
                status, code = 409, 'pin_in_use'
                if in_config:  # the other one is in the same document
                    problem = ('two bindings in this config use pin %s: '
                               '"%s" and "%s"' % (pin, other_id, binding_id))
                else:
                    problem = ('pin %s is used by binding "%s"; delete it '
                               'or pick another pin' % (pin, other_id))
                break
    if problem is not None:  # the free-pin list is built only for errors
        raise ApiError(status, code, '%s; free pins for %s: %s' % (
            problem, cls.KIND, free_pins(board, need, taken)), 'pin')
    return caps


def _new_id(kind, taken):
    ids = [i for i, _ in taken]
    n = 1
    while '%s-%d' % (kind, n) in ids:
        n += 1
    return '%s-%d' % (kind, n)


def body(registry, body, current=None, partial=False, taken=None,
         peers=None):
    """Check a create/PATCH/PUT ``body`` against ``registry``; return
    (id, cls, pin, params, start, power_on): ``params`` the kind's fields
    only (the binding keeps that dict). Whether a timer is free to start
    it is the registry's to check.

    ``taken`` lists the (id, pin) pairs already in use; by default the
    live bindings, so ``Registry.replace_all`` can check a whole new set
    (with ``peers``, the (id, class, pin, params) of those before; the
    rules of a config are checked once all of it is, in ``bodies``).
    """
    board = registry.board
    if not isinstance(body, dict):
        raise ApiError(400, 'invalid_json', 'the body must be a JSON object'
                       ' such as {"kind": "blink", "pin": 2, '
                       '"period_ms": 500}')
    in_config = taken is not None  # checked against its own config
    if taken is None:
        taken = [(h.id, h.pin_id) for h in registry.bindings]
    base = current.spec() if current is not None and partial else {}
    cls, body, base = _kind(body, base)
    binding_id = _binding_id(body, cls, current, taken)
    pin = body.get('pin', base.get('pin'))
    if pin is None:
        raise ApiError(400, 'invalid_pin', 'pin is required; free pins for '
                       '%s: %s' % (cls.KIND, free_pins(
                           board, CAP_OUT if cls.OUTPUT else CAP_IN, taken)),
                       'pin')
    caps = _check_pin(board, pin, cls, binding_id, taken, in_config)
    params = _params(body, base, cls, board)
    if params.get('pull') and not caps & CAP_PULL:
        raise invalid('pull', 'pin %s has no internal pull resistors; '
                              'use "pull": null and an external one' % pin)
    power_on = _power_on(body.get('power_on', base.get('power_on',
                                                       'restore')))
    if hasattr(cls, 'check'):  # checks across a kind's fields
        cls.check(board, pin, params)
    if peers is None:
        peers = [(h.id, type(h), h.pin_id, h.params)
                 for h in registry.bindings]
    if hasattr(cls, 'check_peers'):  # a PWM slice shared with another
        cls.check_peers(board, binding_id, pin, params, peers)
    if params.get('on') and not in_config:
        from app.kinds import rules
        rules.links(binding_id, params['on'], rule_peers(peers, binding_id))
    start = body.get('start', True if current is None else current.running)
    if not isinstance(start, bool):
        raise invalid('start', 'start must be true or false')
    if current is None and len(taken) >= registry.max_bindings:
        raise ApiError(409, 'limit_reached', (
            'this config has more than %s (limits.bindings)' if in_config
            else 'this board holds at most %s; delete one first')
            % count(registry.max_bindings, 'binding'), None)
    return binding_id, cls, pin, params, start, power_on


def _kind(body, base):
    """The kind's class, ``body`` and the part of ``base`` that still
    applies; a field the kind does not have is refused."""
    kind = body.get('kind', base.get('kind'))
    if kind is None:
        raise invalid('kind', 'kind is required: one of ' + _kinds())
    cls = kinds.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ApiError(400, 'unknown_kind', 'unknown kind %s; valid kinds: '
                       '%s' % (short(kind), _kinds()), 'kind')
    if base and cls.KIND != base['kind']:  # the old kind's fields do not apply
        base = {'pin': base['pin'], 'power_on': base.get('power_on', 'restore')}
    names = [f[0] for f in cls.FIELDS]
    for key in body:
        if key == 'level':  # in every answer, and a pulse has active_level
            raise invalid('level', 'level is the pin\'s live level, not a '
                          'setting; %s' % ('use active_level for the level '
                                           'that means on' if 'active_level'
                                           in names else 'remove it'))
        if key not in _COMMON and key not in names:
            raise invalid(key[:32], 'unknown field %s for %s; allowed: %s'
                          % (short(key), cls.KIND,
                             ', '.join(_COMMON + tuple(names))))
    return cls, body, base


def _power_on(value):
    if value not in POWER_ON:
        raise invalid('power_on', 'power_on must be one of: %s (what the '
                      'binding does at boot)' % ', '.join(POWER_ON))
    return value


def _binding_id(body, cls, current, taken):
    if current is not None:
        if 'id' in body and body['id'] != current.id:
            raise invalid('id', 'id cannot change; DELETE the binding and '
                                'POST it with the new id')
        return current.id
    if 'id' not in body:
        return _new_id(cls.KIND, taken)
    binding_id = check_id(body['id'])
    if any(i == binding_id for i, _ in taken):
        raise ApiError(409, 'id_exists', 'a binding with id "%s" exists'
                       ' already; PATCH it or choose another id'
                       % binding_id, 'id')
    return binding_id


def _params(body, base, cls, board):
    """The kind's fields: from ``body``, else ``base``, else the default."""
    params = {}
    for name, rule, default, _, _ in cls.FIELDS:
        if name in body:
            params[name] = check_field(name, rule, body[name], board)
        elif name in base:
            params[name] = base[name]
        elif default is REQUIRED:
            raise invalid(name, '%s is required for a %s binding'
                          % (name, cls.KIND))
        else:
            params[name] = default
    return params


def rule_peers(peers, binding_id):
    """``{id: (kind, rules)}`` of ``peers`` but ``binding_id``."""
    return {p[0]: (p[1].KIND, p[3].get('on')) for p in peers
            if p[0] != binding_id}


def count(n, noun):
    """'1 binding', '2 bindings'."""
    return '%d %s%s' % (n, noun, '' if n == 1 else 's')


def bodies(registry, bodies, timers_total):
    """Check a whole set of bindings (``Registry.replace_all``) for a pool
    of ``timers_total`` timers (for those that start); the error's field
    names the one at fault."""
    if not isinstance(bodies, list):
        raise invalid('bindings', 'bindings must be a list of bindings')
    checked = []
    taken = []
    peers = []
    starting = 0
    for i, one in enumerate(bodies):
        try:
            item = body(registry, one, None, False, taken, peers)
            starting += item[4] and item[1].timer_for(item[3], None)
            if starting > timers_total:
                raise ApiError(409, 'no_free_timer', 'this config starts '
                               'more bindings than the %s of the pool; set '
                               '"start": false on some'
                               % count(timers_total, 'timer'), None)
        except ApiError as e:
            e.field = 'bindings[%d]%s' % (i, '.' + e.field if e.field else '')
            e.message = 'bindings[%d]: %s' % (i, e.message)
            raise
        checked.append(item)
        taken.append((item[0], item[2]))
        peers.append((item[0], item[1], item[2], item[3]))
    for i, item in enumerate(checked):  # rules may name a binding after them
        if item[3].get('on'):
            from app.kinds import rules
            try:
                rules.links(item[0], item[3]['on'],
                            rule_peers(peers, item[0]))
            except ApiError as e:
                e.field = 'bindings[%d].%s' % (i, e.field)
                e.message = 'bindings[%d]: %s' % (i, e.message)
                raise
    return checked


def short(value, limit=40, show=repr):
    """``value`` for a message (``show`` it: repr quotes, str does not),
    cut so a hostile one cannot flood it (a 4000-digit pin)."""
    try:
        text = show(value)
    except RuntimeError:  # nested too deep to print (a hostile body)
        return '(a value nested too deep)'
    return text if len(text) <= limit else text[:limit] + '...'
