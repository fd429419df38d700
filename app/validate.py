"""Checking a binding's create, PATCH or PUT body, in full, before anything
is touched.

A kind lists its fields with their rules in ``FIELDS``; a new kind with a
new kind of field adds its rule to ``check_field`` (and its message to
``app.refuse``). A refusal is worded by ``app.refuse``, loaded by the first
one: a board whose changes all pass never holds the messages.
"""
from app.errors import ApiError
from micropython import const
from app.kinds.handler import REQUIRED
from app import kinds
from app.board.board import CAP_IN, CAP_OUT, CAP_PULL, pin_key

COMMON = const(('id', 'kind', 'pin', 'start', 'power_on'))
POWER_ON = const(('off', 'on', 'restore', 'schedule'))  # at boot; see app.startup
_MAX_PERIOD_MS = const(86400000)  # one day
_ID_OK = const('_-0123456789abcdefghijklmnopqrstuvwxyz'
               'ABCDEFGHIJKLMNOPQRSTUVWXYZ')


def _no(why, *args):
    """The refusal ``why`` (an ApiError), as ``app.refuse`` words it."""
    from app.refuse import refusal
    return refusal(why, args)


def check_int(field, value, lo, hi):
    # bool is an int subclass: refuse true/false where a number is meant
    if not isinstance(value, int) or isinstance(value, bool) \
            or not lo <= value <= hi:
        raise _no('check_int', field, value, lo, hi)
    return value


def check_field(field, rule, value, board):
    """``value`` of ``field`` checked against its ``rule`` (see
    ``Handler.FIELDS``); returns the value."""
    if rule == 'period':
        return check_int(field, value, board.min_period_ms, _MAX_PERIOD_MS)
    if rule == 'periods':
        if not isinstance(value, list) or not 2 <= len(value) <= 32:
            raise _no('periods', field)
        for i, step in enumerate(value):
            check_field('%s[%d]' % (field, i), 'period', step, board)
        return value
    if rule == 'pull':
        if value is None or value in board.pulls:
            return value
        raise _no('pull', field, board)
    if rule == 'duty':  # a percentage in 0.1 % steps
        if (isinstance(value, (int, float)) and not isinstance(value, bool)
                and 0 <= value <= 100
                and abs(value * 10 - round(value * 10)) < 0.001):
            return value
        raise _no('duty', field, value)
    if rule == 'freq':  # the board's PWM range
        if not board.pwm:
            raise _no('freq', field, board)
        return check_int(field, value, board.pwm[0], board.pwm[1])
    if rule in ('rules', 'rules+count'):
        from app.kinds import rules  # loaded by the first binding with rules
        return rules.check(field, value, rule == 'rules+count')
    if isinstance(rule[0], str):  # one of these words
        if value in rule:
            return value
        raise _no('rule', field, rule)
    return check_int(field, value, rule[0], rule[1])


def check_id(value):
    if (not isinstance(value, str) or not 1 <= len(value) <= 32
            or any(c not in _ID_OK for c in value)):
        raise _no('check_id')
    return value


def free_pins(board, need, taken=()):
    """The pins with capability ``need`` not in ``taken`` ((id, pin)
    pairs), as text for an error message."""
    used = [pin for _, pin in taken]
    pins = [p for p, caps in board.pins.items()
            if caps & need and p not in used]
    pins.sort(key=pin_key)
    return ', '.join(str(p) for p in pins) or 'none left'


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
        raise _no('body')
    in_config = taken is not None  # checked against its own config
    if taken is None:
        taken = [(h.id, h.pin_id) for h in registry.bindings]
    base = current.spec() if current is not None and partial else {}
    # the kind, and the part of base that still applies
    kind = body.get('kind', base.get('kind'))
    cls = kinds.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise _no('kind', kind)
    if base and cls.KIND != base['kind']:  # the old kind's fields do not apply
        base = {'pin': base['pin'], 'power_on': base.get('power_on', 'restore')}
    for key in body:  # a field the kind does not have is refused
        if key not in COMMON:
            for f in cls.FIELDS:
                if f[0] == key != 'level':  # live; pulse has active_level
                    break
            else:
                raise _no('field', key, cls)
    # the id
    if current is not None:
        binding_id = current.id
        if body.get('id', binding_id) != binding_id:
            raise _no('current')
    elif 'id' in body:
        binding_id = check_id(body['id'])
        for i, _ in taken:
            if i == binding_id:
                raise _no('id_exists', binding_id)
    else:
        binding_id = _new_id(cls.KIND, taken)
    # the pin
    pin = body.get('pin', base.get('pin'))
    caps = 0
    if not isinstance(pin, bool) and (isinstance(pin, int) or isinstance(
            pin, str) and not pin.isdigit()) and pin not in board.reserved:
        caps = board.caps(pin)  # "5" (str) would read as 5: refused
        for other_id, other_pin in taken:
            if other_pin == pin and other_id != binding_id:
                caps = 0  # in use
    if not caps & (CAP_OUT if cls.OUTPUT else CAP_IN):
        raise _no('pin', board, pin, cls, binding_id, taken, in_config)
    # the kind's fields: from body, else base, else the default
    params = {}
    for name, rule, default, _, _ in cls.FIELDS:
        if name in body:
            params[name] = check_field(name, rule, body[name], board)
        elif name in base:
            params[name] = base[name]
        elif default is REQUIRED:
            raise _no('required', name, cls)
        else:
            params[name] = default
    if params.get('pull') and not caps & CAP_PULL:
        raise _no('CAP_PULL', pin)
    power_on = body.get('power_on', base.get('power_on', 'restore'))
    if power_on not in POWER_ON:
        raise _no('power_on')
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
        raise _no('start')
    if current is None and len(taken) >= registry.max_bindings:
        raise _no('max_bindings', registry.max_bindings, in_config)
    return binding_id, cls, pin, params, start, power_on


def _new_id(kind, taken):
    ids = [i for i, _ in taken]
    n = 1
    while '%s-%d' % (kind, n) in ids:
        n += 1
    return '%s-%d' % (kind, n)


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
        raise _no('bodies')
    checked = []
    taken = []
    peers = []
    starting = 0
    for i, one in enumerate(bodies):
        try:
            item = body(registry, one, None, False, taken, peers)
            starting += item[4] and item[1].timer_for(item[3], None)
            if starting > timers_total:
                raise _no('timers_total', timers_total)
        except ApiError as e:
            raise _no('at', e, i, '')
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
                raise _no('at', e, i, '.')
    return checked


def short(value, limit=40, show=repr):
    """``value`` for a message (``show`` it: repr quotes, str does not),
    cut so a hostile one cannot flood it (a 4000-digit pin)."""
    try:
        text = show(value)
    except RuntimeError:  # nested too deep to print (a hostile body)
        return '(a value nested too deep)'
    return text if len(text) <= limit else text[:limit] + '...'
