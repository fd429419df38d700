"""The simulated board's routes, installed by ``app.main`` on the unix
port only (deploy leaves ``app/sim`` out of a board's image):
PUT /api/sim/pins/<pin> forces the level of a simulated input pin, or plays
a burst of pulses on it; PUT /api/sim/clock moves the simulated clock
(``set_clock``).
"""
from app import sim
from app.board.board import CAP_IN
from app.errors import ApiError, invalid


def install(app, registry, clock):
    """Add the simulator's routes to the ``app`` (app.http.server). ``clock``: a
    call that returns the board's clock (loaded on first use)."""
    def pins(request, pin):
        from app.strictjson import loads  # as a board: loaded by a body
        return drive(registry, pin, loads(request.body))

    def sim_clock(request):
        from app.http import schedapi as api  # its checks of a time body
        body = api._object(api._body(request, api._TIME_EXAMPLE),
                           ('epoch', 'synced'))
        epoch = api._epoch(body, False)
        now = clock()
        synced = body.get('synced', now.synced)
        if not isinstance(synced, bool):
            raise invalid('synced', 'synced must be true or false')
        return set_clock(now, epoch, synced).to_dict()

    app.route('/api/sim/pins/<pin>', ('PUT',))(pins)
    app.route('/api/sim/clock', ('PUT',))(sim_clock)

def set_clock(clock, epoch=None, synced=None):
    """PUT /api/sim/clock ``{"epoch": N, "synced": bool}`` (both
    optional): move the simulated board's clock (an ``app.time.clock.Clock``)
    to ``epoch``, synced or not as it was unless ``synced`` says (false: a
    board whose NTP has not answered yet). Here, not in app.time.clock: a
    board's image has none of it. Returns the clock."""
    if epoch is not None:
        clock._write(epoch)
        if clock.on_set is not None:
            clock.on_set()
    if synced is not None and synced != clock.synced:
        clock.mark('ntp', synced)
    return clock


# a burst's fields: (name, lo, hi, default or None: required)
_BURST = (('pulses', 1, 10000, None), ('high_ms', 1, 60000, 10),
          ('low_ms', 1, 60000, 10), ('bounce', 0, 16, 0))


def _burst_of(body):
    """The burst a body asks for ({"pulses", "high_ms", "low_ms",
    "bounce"}), checked; None for the level form."""
    if not isinstance(body, dict) or 'pulses' not in body:
        return None
    from app.validate import check_int
    names = [f[0] for f in _BURST]
    for key in body:
        if key not in names:
            raise invalid(key[:32], 'a burst takes %s; send "level" on its '
                          'own to set a level' % ', '.join(names))
    return {name: check_int(name, body[name], lo, hi) if name in body
            else default for name, lo, hi, default in _BURST}


def drive(registry, pin, body):
    """Drive ``pin`` (the path segment) to ``body['level']``, or play the
    burst the body describes (see ``app.sim.burst``); the answer."""
    pin = int(pin) if pin.isdigit() else pin
    burst = _burst_of(body)
    level = body.get('level') if isinstance(body, dict) else None
    if burst is None and (not isinstance(level, int) or isinstance(
            level, bool) or level not in (0, 1)):  # not 1.0, not true
        raise invalid('level', 'level must be 0 or 1, or send a burst: '
                      '{"pulses": 10, "high_ms": 20, "low_ms": 20, '
                      '"bounce": 0}')
    for key in body if burst is None else ():
        if key != 'level':
            raise invalid(key[:32], 'send "level" alone, or a burst: '
                          'pulses, high_ms, low_ms, bounce')
    if not registry.board.caps(pin):
        # the pins an answer of 200 awaits: inputs no output drives
        from app.validate import free_pins
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
    if burst is not None:
        ms = sim.burst(pin, *[burst[f[0]] for f in _BURST])  # pyright: ignore[reportArgumentType]
        return {'pin': pin, 'level': sim.line(pin).level, 'burst': burst,
                'ms': ms}
    sim.drive(pin, level)
    return {'pin': pin, 'level': level}
