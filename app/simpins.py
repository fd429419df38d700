"""PUT /api/sim/pins/<pin>: force the level of a simulated input pin.

For tests and demos on the unix port.
"""
from app import sim
from app.board import CAP_IN
from app.errors import ApiError, invalid
from app.validate import free_pins


def drive(registry, pin, body):
    """Drive ``pin`` (the path segment) to ``body['level']``; the answer."""
    pin = int(pin) if pin.isdigit() else pin
    level = body.get('level') if isinstance(body, dict) else None
    if (not isinstance(level, int) or isinstance(level, bool)
            or level not in (0, 1)):  # not 1.0, not true
        raise invalid('level', 'level must be 0 or 1')
    for key in body:
        if key != 'level':
            raise invalid(key[:32], 'only "level" may be sent')
    if not registry.board.caps(pin):
        # the pins an answer of 200 awaits: inputs no output drives
        held = [(h.id, h.pin_id) for h in registry.bindings if h.OUTPUT]
        raise ApiError(400, 'invalid_pin', 'pin %s does not exist on '
                       'the simulated board; pins you can drive: %s'
                       % (str(pin)[:40], free_pins(registry.board, CAP_IN,
                                                   held)), 'pin')
    h = registry.pin_user(pin)
    if h is not None and h.OUTPUT:
        raise ApiError(409, 'pin_in_use', 'pin %s is an output of '
                       'binding "%s"; only inputs can be driven'
                       % (pin, h.id), 'pin')
    sim.drive(pin, level)
    return {'pin': pin, 'level': level}
