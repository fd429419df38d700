"""The checks of schedule events (a create, PUT or PATCH body, the
``schedules`` list of a config, the deletion of a binding they act on)
and of the config's zone. Loaded by the
first check (a checking boot with events or a zone, a change of the
events or the config: all of which load ``app.validate``, the API's
checks, whose rules these use) and kept. A trusted boot checks nothing
(``app.time.check``)."""
from micropython import const
from app.errors import ApiError, invalid
from app.kinds.handler import VERBS
from app.time.schedules import DAYS, _name, minutes
from app.time.specs import filled, named, new_id
from app.validate import check_id, check_int, count, short

_FIELDS = const(('id', 'binding', 'do', 'at', 'offset_min', 'days',
                 'enabled'))
_EXAMPLE = const('{"binding": "led", "do": "on", "at": "07:30", '
                 '"days": ["mon", "fri"]}')


def config(data):
    """The config's clock and events (``app.time.check``): the zone
    parses, the events are well-formed (given ids where they have none);
    raises ApiError."""
    from app.time.tz import Zone
    try:
        Zone(data['time']['tz'])
    except ValueError as e:
        raise invalid('time.tz', 'time.tz: %s (e.g. "UTC", "CET-1CEST,EU", '
                      '"EST5EDT,US", "<+0530>-5:30")' % e)
    data['schedules'] = check_all(data['schedules'],
                                  data['limits']['schedules'])


def check(body, base=None):
    """An event's create, PUT or PATCH (``base``: the event's spec) body,
    checked in full; returns its spec, defaults filled in (the id is the
    store's to give)."""
    if not isinstance(body, dict):
        raise ApiError(400, 'invalid_json', 'the body must be a JSON object '
                       'such as ' + _EXAMPLE)
    for key in body:
        if key not in _FIELDS:
            raise invalid(key[:32], 'unknown field %s for an event; allowed:'
                          ' %s' % (short(key), ', '.join(_FIELDS)))
    spec = dict(base) if base else {}
    spec.update(body)
    for key in ('binding', 'do', 'at'):
        if key not in spec:
            raise invalid(key, '%s is required; an event is like %s'
                          % (key, _EXAMPLE))
    binding = spec['binding']
    if not isinstance(binding, str):
        raise invalid('binding', 'binding must be the id of a binding')
    if spec['do'] not in VERBS:
        raise invalid('do', 'do must be one of: ' + ', '.join(VERBS))
    at = minutes(spec['at'])
    if at is None:
        raise invalid('at', 'at must be "HH:MM" (00:00 to 23:59, local '
                      'time), "sunrise" or "sunset"')
    if check_int('offset_min', spec.get('offset_min', 0), -720, 720) \
            and at >= 0:
        raise invalid('offset_min', 'offset_min goes with "sunrise" or '
                      '"sunset"; for a clock time change "at"')
    days = spec.get('days', DAYS)
    if (not isinstance(days, (list, tuple)) or not days
            or any(d not in DAYS for d in days)):
        raise invalid('days', 'days must be a non-empty list of: '
                      + ', '.join(DAYS))
    if not isinstance(spec.get('enabled', True), bool):
        raise invalid('enabled', 'enabled must be true or false')
    if 'id' in spec:
        check_id(spec['id'])
    return filled(spec)


def check_all(specs, limit):
    """The ``schedules`` of a config: a list of at most ``limit`` events
    with unique ids (given where missing); the error's field names the
    one at fault."""
    if not isinstance(specs, list):
        raise invalid('schedules', 'schedules must be a list of events')
    if len(specs) > limit:
        raise ApiError(409, 'limit_reached', 'this config has more than %s '
                       '(limits.schedules)' % count(limit, 'event'),
                       'schedules')
    out = []
    for i, one in enumerate(specs):
        try:
            spec = check(one)
            if 'id' in spec and any(s.get('id') == spec['id'] for s in out):
                raise ApiError(409, 'id_exists', 'two events have id "%s"'
                               % spec['id'], 'id')
        except ApiError as e:
            e.field = 'schedules[%d]%s' % (i, '.' + e.field if e.field else '')
            e.message = 'schedules[%d]: %s' % (i, e.message)
            raise
        out.append(spec)
    return named(out)


def create(body, registry, store, specs):
    """A create body, checked (``usable``), its id given when it has none;
    409 for an id taken or no room under ``limits.schedules``. ``specs``:
    the events' specs now."""
    spec = usable(check(body), registry, store)
    limit = store.data['limits'].get('schedules', 64)
    if 'id' in spec:
        if any(s['id'] == spec['id'] for s in specs):
            raise ApiError(409, 'id_exists', 'an event with id "%s" '
                           'exists already; PATCH it or choose another'
                           ' id' % spec['id'], 'id')
    else:
        spec['id'] = new_id(specs)
    if len(specs) >= limit:
        raise ApiError(409, 'limit_reached', 'this board holds at most '
                       '%s (limits.schedules); delete one first'
                       % count(limit, 'event'), None)
    return spec


def update(body, old, partial, registry, store):
    """A PATCH (``partial``) or PUT body for the event whose spec is
    ``old``, checked (``usable``); the id cannot change."""
    if isinstance(body, dict) and body.get('id', old['id']) != old['id']:
        raise invalid('id', 'id cannot change; DELETE the event and '
                      'POST it with the new id')
    spec = usable(check(body, old if partial else None), registry, store)
    spec['id'] = old['id']
    return spec


def binding_delete(events, binding_id, cascade):
    """DELETE of a binding (``Schedules.before_binding_delete``) that some
    of ``events`` (the runner's) act on: a 409 naming them, or with
    ``cascade`` the events without them."""
    # an event's _ID and _BINDING (app.time.schedules)
    ids = [_name(ev[0]) for ev in events if ev[1] == binding_id]
    if not cascade:
        raise ApiError(409, 'binding_scheduled', 'binding "%s" is used '
                       'by %s: %s; delete them first, or DELETE '
                       '/api/bindings/%s?cascade=1 to delete them too'
                       % (binding_id, count(len(ids), 'event'),
                          ', '.join(ids), binding_id), 'id')
    return [ev for ev in events if ev[1] != binding_id]


def usable(spec, registry, store):
    """``spec`` if the board can run it: its binding exists, "pulse" acts
    on a pulse binding, the sun needs a location."""
    h = registry.find(spec['binding'])
    if h is None:
        raise invalid('binding', 'no binding "%s"; bindings: %s' % (
            short(spec['binding'], 40, str),
            ', '.join(b.id for b in registry.bindings) or 'none'))
    if spec['do'] == 'pulse' and h.KIND != 'pulse':
        raise invalid('do', '"pulse" acts on a pulse binding and "%s" is '
                      'a %s; use on, start or toggle' % (h.id, h.KIND))
    loc = store.data.get('location') or {}
    if spec['at'] in ('sunrise', 'sunset') and (
            loc.get('lat') is None or loc.get('lon') is None):
        raise invalid('at', '%s needs the board\'s location: PATCH '
                      '/api/config {"location": {"lat": 51.5, "lon": '
                      '-0.1}}' % spec['at'])
    return spec
