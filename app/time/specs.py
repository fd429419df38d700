"""Events' specs as the checks leave them (``app.time.checks``): defaults
filled in, days in week order, an id given to each that has none. Boot
code (``app.main.BOOT_ONLY``): a trusted boot only fills its config's
events (``app.time.check``); the checks import it, and it stays with them
once a change has loaded them.
"""
from app.time.schedules import DAYS, _days, _mask


def filled(spec):
    """An event's spec as the checks leave it (``app.time.checks``): its
    defaults filled in, its days in week order, no other key. Of a spec
    they passed: a trusted boot's events (``app.time.check``) are only
    filled (KeyError: one lacks what the checks require)."""
    out = {'binding': spec['binding'], 'do': spec['do'], 'at': spec['at'],
           'offset_min': spec.get('offset_min', 0),
           'days': _days(_mask(spec.get('days', DAYS))),
           'enabled': spec.get('enabled', True)}
    if 'id' in spec:
        out['id'] = spec['id']
    return out


def named(specs):
    """``specs`` (a config's events), each without an id given one
    (``new_id``)."""
    for spec in specs:
        if 'id' not in spec:
            spec['id'] = new_id(specs)
    return specs


def fill(data):
    """The events of a trusted config (``app.time.check``): ``filled``
    and ``named``, not checked."""
    specs = data['schedules'] = list(data['schedules'])
    for i in range(len(specs)):
        specs[i] = filled(specs[i])
    named(specs)


def new_id(specs):
    """``ev-N``, the first N no event of ``specs`` has."""
    n = 0
    while True:
        n += 1
        name = 'ev-%d' % n
        for s in specs:
            if s.get('id') == name:
                break
        else:
            return name
