"""Regenerate the per-kind parts of static/openapi.json from the kinds'
FIELDS and their help lines (app.http.kindinfo), on the MicroPython VM so it
reads what a board runs:

    .venv/bin/micropython tools/openapi.py [OUT]

It rewrites ``<Kind>Create`` for every registered kind, ``BindingCreate``
(one of them, by ``kind``) and ``BindingPatch`` (every kind's fields) in
``components.schemas``; the rest of the document is kept as it is, key
order included. OUT defaults to static/openapi.json; tests/test_openapi.py
writes elsewhere and fails when the file differs (stale).

The document describes every board at once: periods from the shortest any
profile allows, and every pull a MicroPython port names.
"""
import json
import sys

ROOT = (__file__.rpartition('/')[0] or '.') + '/..'  # tools/..
sys.path.insert(0, ROOT)

from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
from app.kinds.handler import REQUIRED  # noqa: E402
from app.http.kindinfo import doc, help_of, schema  # noqa: E402
from app import kinds as kind_table  # noqa: E402
from app.board.profiles import NAMES, load  # noqa: E402

SOURCE = ROOT + '/static/openapi.json'


class AnyBoard:
    """The widest board: what the document promises holds on each one."""
    min_period_ms = min(load(name)['min_period_ms'] for name in NAMES)
    pulls = ('up', 'down')
    pwm = (min(load(n)['pwm'][0] for n in NAMES if load(n)['pwm']),
           max(load(n)['pwm'][1] for n in NAMES if load(n)['pwm']), False)


# ---- JSON that keeps its key order (MicroPython's dicts do not) -------

class Obj:
    """A JSON object as (key, value) pairs, in order."""

    def __init__(self, pairs=None):
        self.pairs = pairs or []

    def get(self, key):
        for k, v in self.pairs:
            if k == key:
                return v
        raise KeyError(key)

    def set(self, key, value, before=None):
        """Replace ``key``'s value in place, else add it before the key
        ``before`` (or at the end)."""
        keys = self.keys()
        if key in keys:
            self.pairs[keys.index(key)] = (key, value)
        elif before in keys:
            self.pairs.insert(keys.index(before), (key, value))
        else:
            self.pairs.append((key, value))

    def keys(self):
        return [k for k, _ in self.pairs]


def obj(*pairs):
    return Obj(list(pairs))


_WS = ' \t\r\n'
_END = ',]}' + _WS


def parse(text):
    value, i = _value(text, _skip(text, 0))
    if _skip(text, i) != len(text):
        raise ValueError('trailing text at %d' % i)
    return value


def _skip(text, i):
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _value(text, i):
    c = text[i]
    if c == '{':
        out = Obj()
        i = _skip(text, i + 1)
        if text[i] == '}':
            return out, i + 1
        while True:
            key, i = _string(text, i)
            i = _skip(text, i)
            if text[i] != ':':
                raise ValueError('":" expected at %d' % i)
            value, i = _value(text, _skip(text, i + 1))
            out.pairs.append((key, value))
            i = _skip(text, i)
            if text[i] == '}':
                return out, i + 1
            i = _skip(text, i + 1)  # past ','
    if c == '[':
        out = []
        i = _skip(text, i + 1)
        if text[i] == ']':
            return out, i + 1
        while True:
            value, i = _value(text, i)
            out.append(value)
            i = _skip(text, i)
            if text[i] == ']':
                return out, i + 1
            i = _skip(text, i + 1)
    if c == '"':
        return _string(text, i)
    j = i
    while j < len(text) and text[j] not in _END:
        j += 1
    return json.loads(text[i:j]), j  # a number, true, false or null


def _string(text, i):
    j = i + 1
    while text[j] != '"':
        j += 2 if text[j] == '\\' else 1
    return json.loads(text[i:j + 1]), j + 1


def dump(value, pad=''):
    """As CPython's ``json.dumps(value, indent=1)``."""
    inner = pad + ' '
    if isinstance(value, Obj):
        if not value.pairs:
            return '{}'
        return '{\n' + ',\n'.join(inner + json.dumps(k) + ': ' + dump(v, inner)
                                  for k, v in value.pairs) + '\n' + pad + '}'
    if isinstance(value, dict):
        return dump(Obj(list(value.items())), pad)
    if isinstance(value, list):
        if not value:
            return '[]'
        return '[\n' + ',\n'.join(inner + dump(v, inner) for v in value) + \
            '\n' + pad + ']'
    return json.dumps(value)


# ---- the per-kind schemas ---------------------------------------------

def ordered(schema_dict):
    """A field schema with its keys in a fixed order (a dict's is not)."""
    out = Obj()
    for key in ('type', 'minimum', 'maximum', 'minLength', 'maxLength',
                'pattern', 'minItems', 'maxItems', 'additionalProperties',
                'required', 'items', 'properties', 'enum', 'default',
                'description'):
        if key in schema_dict:
            value = schema_dict[key]
            if key == 'properties':  # in the order "required" lists them
                value = Obj([(k, ordered(value[k])) for k in
                             schema_dict.get('required') or sorted(value)])
            elif isinstance(value, dict):
                value = ordered(value)
            out.set(key, value)
    return out


def field_schema(cls, spec, board):
    name, rule, default, unit, _ = spec
    help_text = help_of(cls, spec)
    if help_text is None:
        raise ValueError('%s.%s has no help: give it one in '
                         'app.http.kindinfo' % (cls.KIND, name))
    out = schema(rule, board)
    if not is_required(spec) and default is not None:
        out['default'] = default
    out['description'] = help_text + (' [%s]' % unit if unit else '')
    return ordered(out)


def is_required(spec):
    return spec[2] is REQUIRED


def create_schema(cls, common, board):
    props = Obj([('id', common.get('id')),
                 ('kind', obj(('type', 'string'), ('enum', [cls.KIND]))),
                 ('pin', common.get('pin')),
                 ('start', obj(('type', 'boolean'))),
                 ('power_on', common.get('power_on'))])
    for spec in cls.FIELDS:
        props.set(spec[0], field_schema(cls, spec, board))
    required = ['kind', 'pin'] + [f[0] for f in cls.FIELDS if is_required(f)]
    return obj(('type', 'object'), ('additionalProperties', False),
               ('description', cls.KIND + ': ' + doc(cls)),
               ('required', required), ('properties', props))


def name_of(kind):
    return kind[0].upper() + kind[1:] + 'Create'


def regenerate(document):
    schemas = document.get('components').get('schemas')
    common = schemas.get('Binding').get('properties')  # id and pin, one place
    board = AnyBoard()
    kinds = kind_table.names()
    # the schemas of kinds that are gone
    old = [ref.get('$ref').rpartition('/')[2]
           for ref in schemas.get('BindingCreate').get('oneOf')]
    gone = [name for name in old if name not in [name_of(k) for k in kinds]]
    schemas.pairs = [p for p in schemas.pairs if p[0] not in gone]
    patch = Obj([('id', common.get('id')),
                 ('kind', obj(('type', 'string'), ('enum', kinds))),
                 ('pin', common.get('pin')),
                 ('start', obj(('type', 'boolean'))),
                 ('power_on', common.get('power_on'))])
    for kind in kinds:
        create = create_schema(kind_table.get(kind), common, board)
        schemas.set(name_of(kind), create, 'BindingCreate')
        for key, value in create.get('properties').pairs:
            if key not in patch.keys():
                patch.set(key, value)
    schemas.set('BindingCreate', obj(
        ('oneOf', [obj(('$ref', '#/components/schemas/' + name_of(k)))
                   for k in kinds]),
        ('discriminator', obj(('propertyName', 'kind')))))
    schemas.set('BindingPatch', obj(
        ('type', 'object'), ('additionalProperties', False),
        ('properties', patch),
        ('description', 'Any fields of the binding; the rest stay '
                        '({} changes nothing).')))
    return document


def main(out=SOURCE):
    with open(SOURCE) as f:
        document = parse(f.read())
    text = dump(regenerate(document)) + '\n'
    with open(out, 'w') as f:
        f.write(text)
    print('wrote', out)


if __name__ == '__main__':
    main(*sys.argv[1:2])
