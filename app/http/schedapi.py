"""The routes of the clock and the schedules (``app.time.clock``,
``app.time.schedules``): GET/PUT /api/time, GET/POST /api/schedules,
GET/PATCH/PUT/DELETE /api/schedules/<id> and GET /api/time/zones (and
the checks of a time body that PUT /api/sim/clock, ``app.sim.routes``,
uses on the simulated board). Loaded by the first request for
one of them. A body's parser and checks (``app.strictjson``,
``app.validate``) are loaded by the first body, as the API's own: a
board whose clock and events are only read never holds them."""
from json import dumps
from app.errors import ApiError, invalid
from app.http.server import json_items
from app.time.schedules import to_dict

_MIN_EPOCH = 946684800  # 2000-01-01: no board clock goes further back
_MAX_EPOCH = 4102444800  # 2100-01-01
_TIME_EXAMPLE = '{"epoch": 1796155200}'
_EVENT_EXAMPLE = ('{"binding": "led", "do": "start", "at": "07:30", '
                  '"days": ["mon", "fri"]}')


def _body(request, example):
    """The request's JSON body, parsed strictly; ``example``: what one is
    like, for the error."""
    from app.strictjson import loads
    return loads(request.body, example)


def _object(body, allowed):
    if not isinstance(body, dict):
        raise ApiError(400, 'invalid_json', 'the body must be a JSON object '
                       'such as ' + _TIME_EXAMPLE)
    for key in body:
        if key not in allowed:
            raise invalid(key[:32], 'unknown field "%s"; allowed: %s'
                          % (key[:32], ', '.join(allowed)))
    return body


def _epoch(body, required=True):
    if 'epoch' not in body and not required:
        return None
    from app.validate import check_int
    return check_int('epoch', body.get('epoch'), _MIN_EPOCH, _MAX_EPOCH)


def time(request, clock):
    """GET: the clock. PUT ``{"epoch": N}`` (Unix seconds; ``"source":
    "browser"`` when a page sends its own clock, else "manual"): set it."""
    if request.method == 'PUT':
        body = _object(_body(request, _TIME_EXAMPLE), ('epoch', 'source'))
        epoch = _epoch(body)
        source = body.get('source', 'manual')
        if source not in ('browser', 'manual'):
            raise invalid('source', 'source must be "browser" or "manual"')
        clock.set(epoch, source)
    return clock.to_dict()


def zones(request):
    """GET /api/time/zones: ``{"zones": [{"name", "posix"}]}``, the named
    zones ``time.tz`` takes (``app.time.zones``: its table is this body,
    sent as it is)."""
    from app.time import zones as table
    return table.JSON, 200, {'Content-Type': 'application/json; charset=UTF-8',
                       'Cache-Control': 'max-age=86400'}


def events(request, schedules):
    if request.method == 'POST':
        ev = to_dict(schedules.create(_body(request, _EVENT_EXAMPLE)))
        return ev, 201, {'Location': '/api/schedules/' + ev['id']}
    # an event at a time (app.http.server.json_items): its largest block
    # is one event's JSON, where the whole list as one string, and a copy
    # of every event for it, was the request that ran out of memory first
    # on a full board
    return json_items('{"schedules": [', schedules.list(), to_dict,
                      '], "clock": %s}' % dumps(schedules.clock.status()))


def event(request, schedules, event_id):
    method = request.method
    if method == 'DELETE':
        schedules.delete(event_id)
        return '', 204
    ev = schedules.get(event_id)  # 404 before 400 for a bad body
    if method in ('GET', 'HEAD'):
        return to_dict(ev)
    body = _body(request, _EVENT_EXAMPLE)
    return to_dict(schedules.update(event_id, body, method == 'PATCH'))
