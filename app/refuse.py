"""Why ``app.validate`` refuses a body: the ApiError of each refusal,
worded here (loaded by the first refusal, then kept: a board whose changes
all pass never holds these messages). One function, not one a refusal: a
function is heap."""
from app.errors import ApiError, invalid
from app import kinds
from app.board.board import CAP_IN, CAP_OUT
from app.validate import COMMON, POWER_ON, count, free_pins, short


def refusal(why, args):
    """The ApiError of refusal ``why`` (the name ``app.validate`` gives it)
    with its ``args``."""
    if why == 'check_int':  # an integer field: (field, value, lo, hi)
        field, value, lo, hi = args
        if not isinstance(value, int) or isinstance(value, bool):
            return invalid(field, '%s must be an integer from %d to %d'
                           % (field, lo, hi))
        return invalid(field, '%s must be from %d to %d, got %s'
                       % (field, lo, hi, short(value, 20, str)))
    if why == 'check_id':
        return invalid('id', 'id must be 1 to 32 characters from '
                             'A-Z, a-z, 0-9, "_" and "-"')
    if why == 'periods':  # (field,)
        return invalid(args[0], '%s must be a list of 2 to 32 durations in '
                       'ms' % args[0])
    if why == 'pull':  # (field, board)
        return invalid(args[0], 'pull must be null or one of: %s'
                       % ', '.join(args[1].pulls))
    if why == 'duty':  # (field, value)
        return invalid(args[0], '%s must be a number from 0 to 100 in steps '
                       'of 0.1, got %s' % (args[0], short(args[1], 20, str)))
    if why == 'freq':  # (field, board)
        return invalid(args[0], 'board %s has no PWM' % args[1].name)
    if why == 'rule':  # one of these words: (field, words)
        return invalid(args[0], '%s must be one of: %s'
                       % (args[0], ', '.join(args[1])))
    if why == 'body':
        return ApiError(400, 'invalid_json', 'the body must be a JSON object'
                        ' such as {"kind": "blink", "pin": 2, '
                        '"period_ms": 500}')
    if why == 'kind':  # (kind,): none, or not one of ours
        names = ', '.join(kinds.names())
        if args[0] is None:
            return invalid('kind', 'kind is required: one of ' + names)
        return ApiError(400, 'unknown_kind', 'unknown kind %s; valid kinds: '
                        '%s' % (short(args[0]), names), 'kind')
    if why == 'field':  # not a field of the kind: (key, cls)
        key, cls = args
        names = tuple(f[0] for f in cls.FIELDS)
        if key == 'level':  # in every answer, and a pulse has active_level
            return invalid('level', 'level is the pin\'s live level, not a '
                           'setting; %s' % ('use active_level for the level '
                                            'that means on' if 'active_level'
                                            in names else 'remove it'))
        return invalid(key[:32], 'unknown field %s for %s; allowed: %s'
                       % (short(key), cls.KIND, ', '.join(COMMON + names)))
    if why == 'current':  # a PATCH/PUT with another id
        return invalid('id', 'id cannot change; DELETE the binding and POST '
                             'it with the new id')
    if why == 'id_exists':  # (binding_id,)
        return ApiError(409, 'id_exists', 'a binding with id "%s" exists'
                        ' already; PATCH it or choose another id'
                        % args[0], 'id')
    if why == 'pin':  # (board, pin, cls, binding_id, taken, in_config)
        return _pin(*args)
    if why == 'required':  # (name, cls)
        return invalid(args[0], '%s is required for a %s binding'
                       % (args[0], args[1].KIND))
    if why == 'CAP_PULL':  # a pull on a pin without: (pin,)
        return invalid('pull', 'pin %s has no internal pull resistors; '
                               'use "pull": null and an external one'
                       % args[0])
    if why == 'power_on':
        return invalid('power_on', 'power_on must be one of: %s (what the '
                       'binding does at boot)' % ', '.join(POWER_ON))
    if why == 'start':
        return invalid('start', 'start must be true or false')
    if why == 'max_bindings':  # (max_bindings, in_config)
        return ApiError(409, 'limit_reached', (
            'this config has more than %s (limits.bindings)' if args[1]
            else 'this board holds at most %s; delete one first')
            % count(args[0], 'binding'), None)
    if why == 'bodies':  # not a list
        return invalid('bindings', 'bindings must be a list of bindings')
    if why == 'timers_total':  # (timers_total,)
        return ApiError(409, 'no_free_timer', 'this config starts more '
                        'bindings than the %s of the pool; set "start": '
                        'false on some' % count(args[0], 'timer'), None)
    # 'at': (e, i, dot): e of the config's i-th binding, its field and
    # message say which (dot: '.' after the first pass, whose field is set)
    e, i, dot = args
    e.field = 'bindings[%d]%s' % (i, '.%s' % e.field if dot or e.field
                                  else '')
    e.message = 'bindings[%d]: %s' % (i, e.message)
    return e


def _pin(board, pin, cls, binding_id, taken, in_config):
    need = CAP_OUT if cls.OUTPUT else CAP_IN
    what = 'an output' if cls.OUTPUT else 'an input'
    status, code, problem = 400, 'invalid_pin', None
    if pin is None:
        problem = 'pin is required'
    elif isinstance(pin, bool) or not isinstance(pin, (int, str)):
        return ApiError(400, code, 'pin must be a GPIO number or a pin name '
                        'such as "LED"', 'pin')
    elif isinstance(pin, str) and pin.isdigit():  # "5" would read as 5
        return ApiError(400, code, 'pin must be a JSON number: %s, not "%s"'
                        % (short(pin, show=str), short(pin, show=str)),
                        'pin')
    elif pin in board.reserved:
        problem = 'pin %s is reserved on %s (%s)' % (
            pin, board.name, board.reserved[pin])
    elif not board.caps(pin):
        problem = 'pin %s does not exist on %s' % (short(pin, show=str),
                                                   board.name)
    elif not board.caps(pin) & need:
        problem = 'pin %s cannot be %s; a %s needs %s pin' % (
            pin, what, cls.KIND, what)
    else:
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
    # the free-pin list is built only for errors
    return ApiError(status, code, '%s; free pins for %s: %s' % (
        problem, cls.KIND, free_pins(board, need, taken)), 'pin')
