"""Why ``app.validate`` refuses a body: each refusal's ApiError, worded
here (loaded by the first refusal, then kept: a board whose changes all
pass never holds these messages). Named as ``validate`` names them."""
from app.errors import ApiError, invalid
from app import kinds
from app.board.board import CAP_IN, CAP_OUT
from app.validate import COMMON, POWER_ON, count, free_pins, short


def check_int(field, value, lo, hi):
    if not isinstance(value, int) or isinstance(value, bool):
        return invalid(field, '%s must be an integer from %d to %d'
                       % (field, lo, hi))
    return invalid(field, '%s must be from %d to %d, got %s'
                   % (field, lo, hi, short(value, 20, str)))


def check_id():
    return invalid('id', 'id must be 1 to 32 characters from '
                         'A-Z, a-z, 0-9, "_" and "-"')


def periods(field):
    return invalid(field, '%s must be a list of 2 to 32 durations in ms'
                   % field)


def pull(field, board):
    return invalid(field, 'pull must be null or one of: %s'
                   % ', '.join(board.pulls))


def duty(field, value):
    return invalid(field, '%s must be a number from 0 to 100 in steps of '
                   '0.1, got %s' % (field, short(value, 20, str)))


def freq(field, board):
    return invalid(field, 'board %s has no PWM' % board.name)


def rule(field, words):
    return invalid(field, '%s must be one of: %s' % (field, ', '.join(words)))


def body():
    return ApiError(400, 'invalid_json', 'the body must be a JSON object'
                    ' such as {"kind": "blink", "pin": 2, '
                    '"period_ms": 500}')


def _kinds():
    return ', '.join(kinds.names())


def kind(kind):
    if kind is None:
        return invalid('kind', 'kind is required: one of ' + _kinds())
    return ApiError(400, 'unknown_kind', 'unknown kind %s; valid kinds: '
                    '%s' % (short(kind), _kinds()), 'kind')


def field(key, cls):
    names = tuple(f[0] for f in cls.FIELDS)
    if key == 'level':  # in every answer, and a pulse has active_level
        return invalid('level', 'level is the pin\'s live level, not a '
                       'setting; %s' % ('use active_level for the level '
                                        'that means on' if 'active_level'
                                        in names else 'remove it'))
    return invalid(key[:32], 'unknown field %s for %s; allowed: %s'
                   % (short(key), cls.KIND, ', '.join(COMMON + names)))


def current():
    return invalid('id', 'id cannot change; DELETE the binding and POST it '
                         'with the new id')


def id_exists(binding_id):
    return ApiError(409, 'id_exists', 'a binding with id "%s" exists'
                    ' already; PATCH it or choose another id'
                    % binding_id, 'id')


def pin(board, pin, cls, binding_id, taken, in_config):
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


def required(name, cls):
    return invalid(name, '%s is required for a %s binding' % (name, cls.KIND))


def CAP_PULL(pin):  # noqa: N802 (validate's name for the check)
    return invalid('pull', 'pin %s has no internal pull resistors; '
                           'use "pull": null and an external one' % pin)


def power_on():
    return invalid('power_on', 'power_on must be one of: %s (what the '
                   'binding does at boot)' % ', '.join(POWER_ON))


def start():
    return invalid('start', 'start must be true or false')


def max_bindings(n, in_config):
    return ApiError(409, 'limit_reached', (
        'this config has more than %s (limits.bindings)' if in_config
        else 'this board holds at most %s; delete one first')
        % count(n, 'binding'), None)


def bodies():
    return invalid('bindings', 'bindings must be a list of bindings')


def timers_total(n):
    return ApiError(409, 'no_free_timer', 'this config starts more bindings '
                    'than the %s of the pool; set "start": false on some'
                    % count(n, 'timer'), None)


def at(e, i, dot):
    """``e`` of the config's ``i``th binding: its field and message say
    which (``dot``: '.' after the first pass, whose field is always set)."""
    e.field = 'bindings[%d]%s' % (i, '.%s' % e.field if dot or e.field
                                  else '')
    e.message = 'bindings[%d]: %s' % (i, e.message)
    return e
