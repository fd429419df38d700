"""The checks of a binding's rules (``app.kinds.rules``): their shape
(``check``) and what they name (``links``), for ``app.validate``. A module
of its own, loaded by the first check (through ``app.kinds.rules``): a
board running bindings with rules holds none of it until a change is
checked."""
from micropython import const
from app.errors import ApiError, invalid
from app.kinds.handler import VERBS
from app.kinds.rules import WHEN, count_of

_KEYS = ('when', 'do', 'binding')
_MAX = const(8)
_COUNT_MAX = const(0x1FFFFFFF)  # as app.kinds.rules'


def check(field, value, counts):
    """``value`` of ``field`` as a list of rules (shape only: the bindings
    they name are ``links``' to check); ``counts``: ``count>=N`` allowed."""
    example = ('such as [{"when": "press", "do": "toggle", "binding": '
               '"relay"}]')
    if not isinstance(value, list) or len(value) > _MAX:
        raise invalid(field, '%s must be a list of at most %d rules %s'
                      % (field, _MAX, example))
    whens = 'press, release, rising, falling' + (
        ' or count>=N (N from 1 to %d)' % _COUNT_MAX if counts else '')
    for i, rule in enumerate(value):
        where = '%s[%d]' % (field, i)
        if not isinstance(rule, dict):
            raise invalid(where, '%s must be a rule %s' % (where, example))
        for key in rule:
            if key not in _KEYS:
                raise invalid('%s.%s' % (where, str(key)[:32]),
                              '%s: unknown key %s; a rule has when, do and '
                              'binding' % (where, str(key)[:32]))
        when = rule.get('when')
        if not (isinstance(when, str) and when in WHEN) and not (
                counts and count_of(when) is not None):
            raise invalid(where + '.when', '%s.when must be one of %s'
                          % (where, whens))
        if rule.get('do') not in VERBS:
            raise invalid(where + '.do', '%s.do must be one of %s'
                          % (where, ', '.join(VERBS)))
        target = rule.get('binding')
        if not isinstance(target, str) or not 1 <= len(target) <= 32:
            raise invalid(where + '.binding', '%s.binding must be the id of '
                          'a binding' % where)
    return value


def links(binding_id, rules, peers, field='on'):
    """Check what ``rules`` of ``binding_id`` name against ``peers``
    (``{id: (kind, rules)}``, the other bindings): each target exists, a
    ``pulse`` acts on a pulse binding, and no chain of rules leads back to
    ``binding_id``."""
    for i, rule in enumerate(rules):
        where = '%s[%d]' % (field, i)
        target = rule['binding']
        if target == binding_id:
            raise ApiError(400, 'rule_loop', '%s: a rule of "%s" acts on '
                           '"%s" itself; rules may not loop' % (
                               where, binding_id, target), where + '.binding')
        peer = peers.get(target)
        if peer is None:
            raise ApiError(400, 'invalid_field', '%s: no binding "%s"; '
                           'create it first (bindings: %s)' % (
                               where, target, ', '.join(sorted(peers))
                               or 'none'), where + '.binding')
        if rule['do'] == 'pulse' and peer[0] != 'pulse':
            raise invalid(where + '.do', '%s: "pulse" acts on a pulse '
                          'binding and "%s" is a %s; use start, on or toggle'
                          % (where, target, peer[0]))
        path = _path_back(target, binding_id, peers, [binding_id, target])
        if path:
            raise ApiError(400, 'rule_loop', '%s: a loop: %s; rules may not '
                           'lead back to their own binding' % (
                               where, ' -> '.join(path)), where + '.binding')


def _path_back(start, home, peers, path):
    """The chain of rules from ``start`` back to ``home``, else None."""
    peer = peers.get(start)
    if peer is None:
        return None
    for rule in peer[1] or ():
        nxt = rule['binding']
        if nxt == home:
            return path + [home]
        if nxt not in path:
            found = _path_back(nxt, home, peers, path + [nxt])
            if found:
                return found
    return None


def no_release(rules):
    """An input's ``"edge": "both"`` makes every edge a press: a rule on a
    release would never act (``app.kinds.inputs``' check)."""
    for i, rule in enumerate(rules):
        if rule['when'] == 'release':
            raise invalid('on[%d].when' % i, 'on[%d]: with "edge": "both" '
                          'every edge is a press; use rising or falling for '
                          'a release' % i)
