"""Rules: "when this input changes, do that to a binding".

A binding that reads an input (``edge``, ``counter``, ``sample``) may carry
``"on": [{"when", "do", "binding"}, ...]``:

- ``when``: ``rising`` or ``falling`` (the pin's level went up or down),
  ``press`` or ``release`` (the edge the binding counts as a press, and the
  other one; see ``app.kinds.inputs``), or on a counter ``count>=N`` (once per
  run, when its count reaches N);
- ``do``: one of the verbs of ``app.kinds.handler.VERBS`` (start, stop,
  toggle, pulse, on, off), meaning what ``Registry.do`` does with it;
- ``binding``: the id of the binding acted on.

The interrupt only records what happened (``edge``, ``counter``: one byte
per edge in a ring of ``EVENTS``, and a full ring loses the edge; a
``sample``: its count of edges, which alternate, and the rules act on the
``EVENTS`` latest since they last ran; lost edges count in
``stats.drops``); the binding's deferred work runs the actions, in order,
through ``Registry.act`` (which calls ``Registry.do``, as a REST call does:
same checks, saved the same way, and noted in the event log). A rule naming
a binding that does not exist is refused at create; one whose binding is
deleted later shows in its own binding's ``error``. A rule may not lead
back to its own binding, directly or through other rules.
"""
from micropython import const

RISING = const(1)  # the event bits the interrupt records
FALLING = const(2)
PRESS = const(4)
RELEASE = const(8)
EVENTS = const(16)  # ring size: a power of two
WHEN = {'rising': RISING, 'falling': FALLING, 'press': PRESS,
        'release': RELEASE}
_COUNT_MAX = const(0x1FFFFFFF)
_SEEN = const(0x0FFFFFFF)  # a sample's edge count as its rules keep it
_MASK = const(0x1FFFFFFF)  # app.kinds.handler's: counters wrap here


def count_of(when):
    """N of ``"count>=N"``, else None."""
    if isinstance(when, str) and when.startswith('count>='):
        digits = when[7:]
        if digits.isdigit() and 0 < len(digits) <= 9 and digits[0] != '0':
            n = int(digits)
            if 1 <= n <= _COUNT_MAX:
                return n
    return None


def __getattr__(name):
    """``check`` and ``links``, what ``app.validate`` asks of a binding's
    rules, are ``app.kinds.rulecheck``'s: loaded by the first check, not
    by every board whose bindings have rules (a module's ``__getattr__``
    runs for a name it does not hold)."""
    from app.kinds import rulecheck
    return getattr(rulecheck, name)


def ring(press):
    """The event ring of a binding with rules, ``press`` the edges that are
    presses (RISING, FALLING or both): EVENTS bytes, then the write index,
    the read index, the bits of the ``count>=N`` rules that have fired this
    run, and what the interrupt records for a falling (``EVENTS + 3``) and a
    rising (``EVENTS + 4``) edge."""
    out = bytearray(EVENTS + 5)
    for i, bits in enumerate((FALLING, RISING)):
        out[EVENTS + 3 + i] = bits | (PRESS if bits & press else RELEASE)
    return out


def run(h, act, count=None):
    """A binding's rules, from its deferred work: each event the interrupt
    recorded, in order, then (``count``: a counter's) the ``count>=N``
    rules; every match calls ``act(do, binding id, h)``."""
    ring = h._ring
    on = h.params['on']
    while ring[EVENTS + 1] != ring[EVENTS]:
        tail = ring[EVENTS + 1]
        bits = ring[tail]
        ring[EVENTS + 1] = (tail + 1) & (EVENTS - 1)
        act_on(h, act, bits)
    if count is not None:
        for i, rule in enumerate(on):
            n = count_of(rule['when'])
            if n and count >= n and not ring[EVENTS + 2] & (1 << i):
                ring[EVENTS + 2] |= 1 << i
                act(rule['do'], rule['binding'], h)


def run_edges(h, act):
    """A sample's rules, from its deferred work: on each edge since they
    last ran, in order, the ``EVENTS`` latest at most (more count in
    ``drops``). Edges alternate: ``h._seen`` holds the count they saw
    (``_head``, 28 bits) << 1 | the level after the last one."""
    seen = h._seen
    head = h._head
    new = (head - (seen >> 1)) & _SEEN
    level = seen & 1
    if new > EVENTS:  # a burst: the oldest are skipped
        h.drops = (h.drops + new - EVENTS) & _MASK
        level ^= (new - EVENTS) & 1
        new = EVENTS
    h._seen = ((head & _SEEN) << 1) | (level ^ (new & 1))
    press = FALLING if h.params['pull'] == 'up' else RISING
    while new:
        new -= 1
        level ^= 1
        edge = RISING if level else FALLING
        act_on(h, act, edge | (PRESS if edge == press else RELEASE))


def act_on(h, act, bits):
    """The rules of ``h`` that an edge with ``bits`` (RISING or FALLING,
    and PRESS or RELEASE) matches, in order."""
    for rule in h.params['on']:
        if WHEN.get(rule['when'], 0) & bits:
            act(rule['do'], rule['binding'], h)


def reset(ring):
    """Empty ``ring`` and re-arm its ``count>=N`` rules (a start)."""
    ring[EVENTS] = ring[EVENTS + 1] = ring[EVENTS + 2] = 0
