"""GET /api/kinds: each binding kind as its class describes it, for the
dashboard's forms and for tools/openapi.py (the API document's per-kind
schemas). Loaded on the first request for it: a board that never serves
the dashboard never pays for it.

A field's ``schema`` is JSON Schema (``type``, ``minimum``, ``maximum``,
``items``, ``enum``...) built from the field's rule in ``Handler.FIELDS``;
``app.validate.check_field`` checks the same rules. A new rule needs both.
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


def doc(cls):
    """One line about the kind: its ``DOC`` if it has one (a kind from
    outside ``app/kinds``), a built-in kind's line, else what kind of pin
    it drives or reads."""
    return getattr(cls, 'DOC', None) or _DOCS.get(cls.KIND) or (
        'drives an output pin' if cls.OUTPUT else 'reads an input pin')


def field(spec, board):
    name, rule, default, unit, help_text = spec
    required = default is REQUIRED
    return {'name': name, 'schema': schema(rule, board),
            'required': required, 'default': None if required else default,
            'unit': unit, 'help': help_text}


def kind(cls, board):
    return {'kind': cls.KIND, 'output': cls.OUTPUT, 'doc': doc(cls),
            'fields': [field(f, board) for f in cls.FIELDS]}


def kinds(board):
    """The document of GET /api/kinds: every registered kind, by name."""
    return {'kinds': [kind(table.get(k), board) for k in table.names()]}
