"""Power-on by the events: a ``power_on: "schedule"`` binding boots stopped
and, once the clock is synced, takes the state its latest on, start, off
or stop event before now (within a week) says, applied as "on" or "off"
(one started by hand meanwhile keeps running as it is). Loaded by the
runner's first synced look on a board with such a binding
(``app.time.schedules``), and kept; a board without one holds none of it.
"""
from micropython import const

# the verbs that leave a binding in a state, and that state
_STATES = const(('on', 'start', 'off', 'stop'))
_WEEK = const(8)  # days looked through for an event's last time
# an event's _BINDING, _DO and _ENABLED (app.time.schedules)
_BINDING = const(1)
_DO = const(2)
_ENABLED = const(6)


def last_before(schedules, ev, now):
    """The latest time of ``ev`` at or before ``now`` within a week."""
    day = schedules.clock.local_day(now) + 1
    for d in range(day, day - _WEEK - 1, -1):
        t = schedules.when(ev, d)
        if t is not None and t <= now:
            return t
    return None


def apply(schedules, now):
    """Put each ``power_on: "schedule"`` binding of ``schedules`` (the
    runner) in the state its events imply at ``now``."""
    for h in list(schedules.registry.bindings):
        if h.power_on != 'schedule':
            continue
        latest = None
        for ev in schedules.events:
            if ev[_ENABLED] and ev[_BINDING] == h.id \
                    and ev[_DO] in _STATES:
                t = last_before(schedules, ev, now)
                if t is not None and (latest is None or t > latest[0]):
                    latest = (t, ev)
        if latest is not None:
            ev = latest[1]
            verb = 'on' if _STATES.index(ev[_DO]) < 2 else 'off'
            schedules._fire(ev, latest[0], now, verb)
