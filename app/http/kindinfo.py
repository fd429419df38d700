"""GET /api/kinds: each binding kind as its class describes it, for the
dashboard's forms and for tools/openapi.py (the API document's per-kind
schemas). Loaded on the first request for it: a board that never serves
the dashboard never pays for it.

A field's ``schema`` is JSON Schema (``type``, ``minimum``, ``maximum``,
``items``, ``enum``...) built from the field's rule in ``Handler.FIELDS``;
``app.validate.check_field`` checks the same rules. A new rule needs both.
A field's ``help`` is the built-in kinds' line in ``_HELP`` (their
``FIELDS`` hold None), or a kind's own from its ``FIELDS``.
"""
from micropython import const
from app.kinds.handler import REQUIRED, VERBS
from app import kinds as table

# app.validate's limits: its constants are private to it (MicroPython
# drops a module's underscored const names).
_MAX_PERIOD_MS = const(86400000)  # one day
_MIN_STEPS = const(2)
_MAX_STEPS = const(32)


def schema(rule, board):
    """The JSON Schema of a field with ``rule`` on ``board`` (anything with
    ``min_period_ms`` and ``pulls``)."""
    if rule == 'period':
        return {'type': 'integer', 'minimum': board.min_period_ms,
                'maximum': _MAX_PERIOD_MS}
    if rule == 'periods':
        return {'type': 'array', 'minItems': _MIN_STEPS,
                'maxItems': _MAX_STEPS, 'items': schema('period', board)}
    if rule == 'pull':
        return {'type': ['string', 'null'],
                'enum': list(board.pulls) + [None]}
    if rule == 'duty':
        return {'type': 'number', 'minimum': 0, 'maximum': 100,
                'multipleOf': 0.1}
    if rule == 'freq':
        lo, hi = board.pwm[:2] if board.pwm else (0, 0)
        return {'type': 'integer', 'minimum': lo, 'maximum': hi}
    if rule in ('rules', 'rules+count'):
        when = {'type': 'string', 'enum': ['press', 'release', 'rising',
                                           'falling']}
        if rule == 'rules+count':
            when = {'type': 'string', 'pattern':
                    '^(press|release|rising|falling|count>=[1-9][0-9]{0,8})$'}
        return {'type': 'array', 'maxItems': 8, 'items': {
            'type': 'object', 'additionalProperties': False,
            'required': ['when', 'do', 'binding'],
            'properties': {
                'when': when,
                'do': {'type': 'string', 'enum': list(VERBS)},
                'binding': {'type': 'string', 'minLength': 1,
                            'maxLength': 32}}}}
    if isinstance(rule[0], str):
        return {'type': 'string', 'enum': list(rule)}
    return {'type': 'integer', 'minimum': rule[0], 'maximum': rule[1]}


# One line about a built-in kind (MicroPython keeps no docstrings): here,
# not on the class, so only a board that serves GET /api/kinds holds them.
_DOCS = {
    'breathe': 'fades a PWM output up and down, again and again',
    'counter': 'counts pulses on an input pin: count, rate, a saved total',
    'edge': 'watches a button or switch on an input pin: presses, rules',
    'pwm': 'drives a PWM output: a dimmable LED or a fan, with fades',
    'switch': 'a plain on/off output: a relay or a light; running means on',
}


# A built-in kind's field help (the fifth element of a ``FIELDS`` entry is
# None there): here, so only a board that serves GET /api/kinds (or the
# tool that writes static/openapi.json) holds the ~25 strings. A new
# built-in kind adds its fields' lines here; a kind from outside
# ``app/kinds`` gives them in its ``FIELDS``.
_PULL = 'internal pull resistor: up, down or none'
_ACTIVE = 'the level that means on: 1, or 0 for an active-low relay'
_RULES = ('rules: when press/release/rising/falling, do start/stop/on/off/'
          'toggle/pulse to a binding')
_INPUT = {'pull': _PULL,
          'edge': 'which edge is a press: rising, falling or both',
          'debounce_ms': 'an edge this soon after the last one is a bounce'}
_HELP = {
    'blink': {'period_ms':
              'time between toggles: on for one period, off for the next'},
    'breathe': {'period_ms': 'one breath: up from min to max and down again',
                'min': 'the lowest duty', 'max': 'the highest duty',
                'curve': 'linear in duty, or in perceived brightness (gamma)'},
    'counter': dict(_INPUT, **{
        'interval_ms': 'the rate is the pulses of the last interval',
        'debounce_ms': 'a pulse this soon after the last edge is a bounce',
        'total': 'the total to count on from (a meter reading)',
        'on': 'rules: when press/release/rising/falling/count>=N, do '
              'start/stop/on/off/toggle/pulse to a binding'}),
    'edge': dict(_INPUT, on=_RULES),
    'pattern': {'steps_ms': 'step lengths: on, off, on, ... (2 to 32 steps)',
                'repeat': 'times to play the pattern; 0 plays it forever'},
    'pulse': {'duration_ms': 'how long the output stays active',
              'active_level': _ACTIVE},
    'pwm': {'freq_hz': 'the PWM frequency',
            'duty': 'the share of each period the pin is high, in 0.1 % '
                    'steps',
            'fade_ms': 'how long a change of duty takes; 0 jumps',
            'curve': 'a fade linear in duty, or in perceived brightness '
                     '(gamma)'},
    'sample': {'period_ms': 'time between readings',
               'window': 'how many recent readings to keep', 'pull': _PULL,
               'on': _RULES},
    'switch': {'active_level': _ACTIVE},
}


def help_of(cls, spec):
    """The help line of field ``spec`` (a ``FIELDS`` entry) of kind
    ``cls``: its own, else a built-in kind's from ``_HELP`` (None if it
    has neither)."""
    return spec[4] if spec[4] is not None else \
        _HELP.get(cls.KIND, {}).get(spec[0])


def doc(cls):
    """One line about the kind: its ``DOC`` if it has one (a kind from
    outside ``app/kinds``), a built-in kind's line, else what kind of pin
    it drives or reads."""
    return getattr(cls, 'DOC', None) or _DOCS.get(cls.KIND) or (
        'drives an output pin' if cls.OUTPUT else 'reads an input pin')


def field(cls, spec, board):
    name, rule, default, unit, _ = spec
    required = default is REQUIRED
    return {'name': name, 'schema': schema(rule, board),
            'required': required, 'default': None if required else default,
            'unit': unit, 'help': help_of(cls, spec)}


def kind(cls, board):
    return {'kind': cls.KIND, 'output': cls.OUTPUT, 'doc': doc(cls),
            'fields': [field(cls, f, board) for f in cls.FIELDS]}


def kinds(board):
    """The document of GET /api/kinds: every registered kind, by name."""
    return {'kinds': [kind(table.get(k), board) for k in table.names()]}
