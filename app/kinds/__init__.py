"""The binding kinds, one class in one module each, imported when first
used (a binding of that kind, GET /api/kinds) and kept: a board that blinks
an LED holds no pattern, PWM or pin-interrupt code. A new kind is one
module here and one line in ``MODULES`` (and, for a new kind of field, its
rule in ``app.validate``)."""
import sys

MODULES = {'blink': 'Blink', 'breathe': 'Breathe', 'counter': 'Counter',
           'edge': 'Edge', 'pattern': 'Pattern', 'pulse': 'Pulse',
           'pwm': 'Pwm', 'sample': 'Sample', 'switch': 'Switch'}  # kind -> its class in app.kinds.<kind>
KINDS = {}  # name -> class, of the kinds loaded so far


def get(name):
    """The class of kind ``name``, or None if there is no such kind."""
    cls = KINDS.get(name)
    if cls is None and name in MODULES:
        module = 'app.kinds.' + name
        __import__(module)
        cls = KINDS[name] = getattr(sys.modules[module], MODULES[name])
    return cls


def register(cls):
    """Add a kind whose module lives outside ``app/kinds`` (imported
    before ``app.main.run()``)."""
    KINDS[cls.KIND] = cls


def names():
    """Every kind's name, sorted."""
    out = list(MODULES)
    for name in KINDS:
        if name not in MODULES:
            out.append(name)
    out.sort()
    return out
