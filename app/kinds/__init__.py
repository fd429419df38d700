"""The binding kinds, one class in one module each, imported when first
used (a binding of that kind, GET /api/kinds) and kept: a board that blinks
an LED holds no pattern, PWM or pin-interrupt code. A new kind is one
module here, ``app/kinds/<kind>.py`` holding the class ``<Kind>`` (its
name capitalized), and its name in ``NAMES`` (and, for a new kind of
field, its rule in ``app.validate``). Its fields' help lines (for the
dashboard's forms and static/openapi.json) go in ``app.http.kindinfo``'s
``_HELP`` under its name, with None as the help in its ``FIELDS``: only a
board that serves GET /api/kinds holds them. (A kind registered from
outside ``app/kinds`` may give its help in ``FIELDS`` instead.)"""
import sys

NAMES = ('blink', 'breathe', 'counter', 'edge', 'pattern', 'pulse', 'pwm',
         'sample', 'switch')
KINDS = {}  # name -> class, of the kinds loaded so far


def get(name):
    """The class of kind ``name``, or None if there is no such kind."""
    cls = KINDS.get(name)
    if cls is None and name in NAMES:
        module = 'app.kinds.' + name
        __import__(module)
        cls = KINDS[name] = getattr(sys.modules[module],
                                    name[0].upper() + name[1:])
    return cls


def register(cls):
    """Add a kind whose module lives outside ``app/kinds`` (imported
    before ``app.main.run()``)."""
    KINDS[cls.KIND] = cls


def names():
    """Every kind's name, sorted."""
    out = list(NAMES)
    for name in KINDS:
        if name not in NAMES:
            out.append(name)
    out.sort()
    return out
