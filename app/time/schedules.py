"""Schedules: events that act on a binding (a verb of ``Registry.do``: on,
off, start, stop, toggle, pulse) at a time of day ("HH:MM" local time, or
sunrise/sunset plus ``offset_min``) on chosen weekdays, their store
(``"schedules"`` in config.json) and the runner that fires them.

The runner is an asyncio task: it sleeps until the soonest event is due
(at most a minute, or until the clock or the events change) and acts
through ``Registry.do``, exactly as the REST API does, and notes each
firing in the event log. Nothing here runs in an interrupt.

- An event fires once per occurrence: at its minute, or later when the
  clock jumps forward over it by less than ``schedule.catch_up_min``
  (default 5); beyond that it is skipped.
- Never twice: when the clock goes back (an NTP step, a manual set) an
  occurrence that already fired is not due again. Daylight saving time
  changes nothing: the runner works in UTC, and a local time the clocks
  repeat is one occurrence (the first); one they skip falls an hour later.
- Nothing fires while the clock is not synced (``app.time.clock``).
- Each event keeps ``last_fired`` and ``next_fire`` (Unix seconds) and
  ``error``: why its last firing failed (its binding vanished, no timer
  free, no location for sunrise).
- ``power_on: "schedule"`` bindings boot stopped and, once the clock is
  synced, take the state the events imply: the latest on, start, off or
  stop event before now (within a week) wins, applied as "on" or "off"
  (a binding started meanwhile is not restarted).
"""
import asyncio
from micropython import const
from app import log
from app.errors import ApiError, invalid
from app.kinds.handler import VERBS
from app.time.tz import DAY, weekday
from app.validate import check_id, check_int, count, short

DAYS = const(('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'))
FIELDS = const(('id', 'binding', 'do', 'at', 'offset_min', 'days', 'enabled'))
SUNRISE = const(-1)
SUNSET = const(-2)
_MAX_SLEEP_S = const(60)
# the verbs that leave a binding in a state, and that state (power-on)
_STATES = {'on': 'on', 'start': 'on', 'off': 'off', 'stop': 'off'}
_WEEK = const(8)  # days looked through for an event's next or last time
_EXAMPLE = const('{"binding": "led", "do": "on", "at": "07:30", '
                 '"days": ["mon", "fri"]}')


def _minutes(at):
    """Minutes of the day of "HH:MM", SUNRISE or SUNSET; None if neither."""
    if at == 'sunrise':
        return SUNRISE
    if at == 'sunset':
        return SUNSET
    if (isinstance(at, str) and len(at) == 5 and at[2] == ':'
            and (at[:2] + at[3:]).isdigit()):
        h, m = int(at[:2]), int(at[3:])
        if h < 24 and m < 60:
            return h * 60 + m
    return None


def check(body, base=None):
    """An event's create, PUT or PATCH (``base``: the event's spec) body,
    checked in full; returns its spec, defaults filled in (the id is the
    store's to give)."""
    if not isinstance(body, dict):
        raise ApiError(400, 'invalid_json', 'the body must be a JSON object '
                       'such as ' + _EXAMPLE)
    for key in body:
        if key not in FIELDS:
            raise invalid(key[:32], 'unknown field %s for an event; allowed:'
                          ' %s' % (short(key), ', '.join(FIELDS)))
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
    at = _minutes(spec['at'])
    if at is None:
        raise invalid('at', 'at must be "HH:MM" (00:00 to 23:59, local '
                      'time), "sunrise" or "sunset"')
    offset = check_int('offset_min', spec.get('offset_min', 0), -720, 720)
    if offset and at >= 0:
        raise invalid('offset_min', 'offset_min goes with "sunrise" or '
                      '"sunset"; for a clock time change "at"')
    days = spec.get('days', DAYS)
    if (not isinstance(days, (list, tuple)) or not days
            or any(d not in DAYS for d in days)):
        raise invalid('days', 'days must be a non-empty list of: '
                      + ', '.join(DAYS))
    enabled = spec.get('enabled', True)
    if not isinstance(enabled, bool):
        raise invalid('enabled', 'enabled must be true or false')
    out = {'binding': binding, 'do': spec['do'], 'at': spec['at'],
           'offset_min': offset, 'days': [d for d in DAYS if d in days],
           'enabled': enabled}
    if 'id' in spec:
        out['id'] = check_id(spec['id'])
    return out


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
            if 'id' in spec and any(s['id'] == spec['id'] for s in out):
                raise ApiError(409, 'id_exists', 'two events have id "%s"'
                               % spec['id'], 'id')
        except ApiError as e:
            e.field = 'schedules[%d]%s' % (i, '.' + e.field if e.field else '')
            e.message = 'schedules[%d]: %s' % (i, e.message)
            raise
        out.append(spec)
    for spec in out:
        if 'id' not in spec:
            spec['id'] = _new_id(out)
    return out


def _new_id(specs):
    n = 1
    while any(s.get('id') == 'ev-%d' % n for s in specs):
        n += 1
    return 'ev-%d' % n


class Event:
    """One event, compiled from its spec, and what became of it."""

    def __init__(self, spec):
        self.id = spec['id']
        self.binding = spec['binding']
        self.do = spec['do']
        at = _minutes(spec['at'])  # checked: never None here
        self.at = 0 if at is None else at
        self.offset = spec['offset_min']
        self.mask = 0  # weekdays, bit 0 = Monday
        for d in spec['days']:
            self.mask |= 1 << DAYS.index(d)
        self.enabled = spec['enabled']
        self.last_fired = None  # when it last ran (Unix seconds)
        self.fired = None  # the occurrence it last ran for
        self.next_fire = None
        self.error = None

    def spec(self):
        """The event as config.json and a create body have it."""
        at = self.at
        return {'id': self.id, 'binding': self.binding, 'do': self.do,
                'at': 'sunrise' if at == SUNRISE else 'sunset'
                if at == SUNSET else '%02d:%02d' % (at // 60, at % 60),
                'offset_min': self.offset,
                'days': [d for i, d in enumerate(DAYS) if self.mask >> i & 1],
                'enabled': self.enabled}

    def to_dict(self):
        out = self.spec()
        out['last_fired'] = self.last_fired
        out['next_fire'] = self.next_fire
        out['error'] = self.error
        return out


def make(registry, store):
    """The board's clock and its schedules (``app.main`` runs them)."""
    from app.time.clock import Clock
    return Schedules(registry, store, Clock(store))


class Schedules:
    """The events of ``store`` acting on ``registry`` by ``clock``."""

    def __init__(self, registry, store, clock):
        self.registry = registry
        self.store = store
        self.clock = clock
        self.events = []
        self._known = None  # the list in store.data the events came from
        self._fresh = True  # plan every event before the next look
        self._last_now = 0
        self._powered = False  # power_on "schedule" applied
        self._sun = {}  # day -> (sunrise, sunset): a few days kept
        self._where = None  # the location _sun is for
        self._wake = asyncio.Event()
        clock.on_set = self.wake
        self._follow_config()

    # ---------------------------------------------------------- the store

    def _follow_config(self):
        """Take the events of store.data when they were replaced there
        (boot, PUT or PATCH /api/config), keeping what each id recorded."""
        specs = self.store.data.get('schedules', [])
        if specs is self._known:
            return
        old = {ev.id: ev for ev in self.events}
        self.events = []
        for spec in specs:
            ev = Event(spec)
            before = old.get(ev.id)
            if before is not None:
                ev.last_fired, ev.fired = before.last_fired, before.fired
            self.events.append(ev)
        self._known = specs
        self._fresh = True

    def specs(self):
        return [ev.spec() for ev in self.events]

    def _changed(self):
        self._known = self.store.data['schedules'] = self.specs()
        save = self.registry.on_change
        if save is not None:
            save()
        else:
            self.store.save(self.registry.specs())
        self.wake()

    def get(self, event_id):
        self._follow_config()
        for ev in self.events:
            if ev.id == event_id:
                return ev
        raise ApiError(404, 'not_found', 'no event with id "%s"; GET '
                       '/api/schedules lists them' % short(event_id, 40, str),
                       'id')

    def list(self):
        self._follow_config()
        return [ev.to_dict() for ev in self.events]

    def _checked(self, body, base=None):
        spec = check(body, base)
        h = self.registry.find(spec['binding'])
        if h is None:
            raise invalid('binding', 'no binding "%s"; bindings: %s' % (
                short(spec['binding'], 40, str),
                ', '.join(b.id for b in self.registry.bindings) or 'none'))
        if spec['do'] == 'pulse' and h.KIND != 'pulse':
            raise invalid('do', '"pulse" acts on a pulse binding and "%s" is '
                          'a %s; use on, start or toggle' % (h.id, h.KIND))
        if spec['at'] in ('sunrise', 'sunset') and self._location() is None:
            raise invalid('at', '%s needs the board\'s location: PATCH '
                          '/api/config {"location": {"lat": 51.5, "lon": '
                          '-0.1}}' % spec['at'])
        return spec

    def create(self, body):
        self._follow_config()
        spec = self._checked(body)
        limit = self.store.data['limits'].get('schedules', 64)
        if 'id' in spec:
            if any(ev.id == spec['id'] for ev in self.events):
                raise ApiError(409, 'id_exists', 'an event with id "%s" '
                               'exists already; PATCH it or choose another'
                               ' id' % spec['id'], 'id')
        else:
            spec['id'] = _new_id([{'id': ev.id} for ev in self.events])
        if len(self.events) >= limit:
            raise ApiError(409, 'limit_reached', 'this board holds at most '
                           '%s (limits.schedules); delete one first'
                           % count(limit, 'event'), None)
        ev = Event(spec)
        self._plan(ev, self.clock.now())
        self.events.append(ev)
        self._changed()
        return ev

    def update(self, event_id, body, partial=True):
        old = self.get(event_id)
        if isinstance(body, dict) and body.get('id', old.id) != old.id:
            raise invalid('id', 'id cannot change; DELETE the event and '
                          'POST it with the new id')
        spec = self._checked(body, old.spec() if partial else None)
        spec['id'] = old.id
        ev = Event(spec)
        ev.last_fired, ev.fired, ev.error = old.last_fired, old.fired, old.error
        self._plan(ev, self.clock.now())
        self.events[self.events.index(old)] = ev
        self._changed()
        return ev

    def delete(self, event_id):
        self.events.remove(self.get(event_id))
        self._changed()

    def before_binding_delete(self, binding_id, cascade=False):
        """DELETE of a binding: a 409 naming the events that use it, or
        with ``cascade`` those events go too (saved with the binding's
        deletion, which follows)."""
        self._follow_config()
        ids = [ev.id for ev in self.events if ev.binding == binding_id]
        if not ids:
            return
        if not cascade:
            raise ApiError(409, 'binding_scheduled', 'binding "%s" is used '
                           'by %s: %s; delete them first, or DELETE '
                           '/api/bindings/%s?cascade=1 to delete them too'
                           % (binding_id, count(len(ids), 'event'),
                              ', '.join(ids), binding_id), 'id')
        self.events = [ev for ev in self.events if ev.binding != binding_id]
        self._known = self.store.data['schedules'] = self.specs()

    # ------------------------------------------------------------- times

    def _location(self):
        loc = self.store.data.get('location') or {}
        lat, lon = loc.get('lat'), loc.get('lon')
        return None if lat is None or lon is None else (lat, lon)

    def _sun_times(self, day):
        where = self._location()
        if where is None:
            return None
        if where != self._where:
            self._sun = {}
            self._where = where
        times = self._sun.get(day)
        if times is None:
            from app.time import solar  # loaded by the first sun event
            if len(self._sun) > 9:
                self._sun = {}
            times = self._sun[day] = solar.times(day, where[0], where[1])
        return times

    def when(self, ev, day):
        """When ``ev`` falls on local day ``day`` (Unix seconds), or None:
        not one of its weekdays, or no sunrise/sunset that day."""
        if not ev.mask >> weekday(day) & 1:
            return None
        if ev.at >= 0:
            return self.clock.zone().utc(day * DAY + ev.at * 60)
        times = self._sun_times(day)
        if times is None:
            ev.error = '%s needs "location": {"lat", "lon"} in the config' % (
                'sunrise' if ev.at == SUNRISE else 'sunset')
            return None
        t = times[0 if ev.at == SUNRISE else 1]
        return None if t is None else t + ev.offset * 60

    def next_after(self, ev, after):
        """The first time of ``ev`` after ``after``, or None."""
        day = self.clock.local_days(after)[0] - 1
        for d in range(day, day + _WEEK + 1):
            t = self.when(ev, d)
            if t is not None and t > after:
                return t
        return None

    def last_before(self, ev, now):
        """The latest time of ``ev`` at or before ``now`` within a week."""
        day = self.clock.local_days(now)[0] + 1
        for d in range(day, day - _WEEK - 1, -1):
            t = self.when(ev, d)
            if t is not None and t <= now:
                return t
        return None

    def _plan(self, ev, after):
        """Set ``ev.next_fire`` to its first time after ``after`` that it
        has not fired for already."""
        t = None
        if ev.enabled and self.clock.synced:
            t = self.next_after(ev, after)
            fired = ev.fired
            # the clock went back over a time it fired at: not again
            while t is not None and fired is not None and fired - DAY < t <= fired:
                t = self.next_after(ev, t)
        ev.next_fire = t

    # ------------------------------------------------------------ runner

    def wake(self):
        """Look again now: the clock or the events changed."""
        self._wake.set()

    def tick(self, now):
        """Fire what is due at ``now``; return the seconds until the next
        look."""
        self._follow_config()
        if not self.clock.synced:
            self._fresh = True
            for ev in self.events:
                ev.next_fire = None
            return _MAX_SLEEP_S
        if not self._powered:  # before planning: what it fires is not due again
            self._powered = True
            self.power_on(now)
        if self._fresh or now < self._last_now:
            # the first look (a minute's events are still due in it), the
            # events replaced, or the clock set back
            after = now - now % 60 - 1 if self._fresh else now
            for ev in self.events:
                self._plan(ev, after)
            self._fresh = False
        self._last_now = now
        window = max(60, self.store.data.get('schedule', {}).get(
            'catch_up_min', 5) * 60)
        soonest = now + _MAX_SLEEP_S
        for ev in self.events:
            t = ev.next_fire
            if t is not None and t <= now:
                if now - t >= window:  # jumped over it: one inside the window?
                    t = self.next_after(ev, now - window)
                if t is not None and t <= now:
                    self._fire(ev, t, now)
                self._plan(ev, now)
            t = ev.next_fire
            if t is not None and t < soonest:
                soonest = t
        return soonest - now if soonest > now else 1

    def _fire(self, ev, t, now, verb=None):
        """Do what ``ev`` says (or ``verb``: power-on's on or off)."""
        ev.last_fired = now
        ev.fired = t
        verb = verb or ev.do
        line = 'schedule "%s": %s "%s"' % (ev.id, verb, ev.binding)
        try:
            if self.registry.find(ev.binding) is None:
                raise ApiError(404, 'not_found', 'binding "%s" does not '
                               'exist (deleted)' % ev.binding)
            self.registry.do(verb, ev.binding, False)  # saved later (app.config.Saver)
            ev.error = None
        except ApiError as e:
            ev.error = e.message
        except Exception as e:  # the runner goes on whatever happens
            ev.error = '%s: %s' % (type(e).__name__, e)
        log.note(line if ev.error is None else line + ': ' + ev.error)

    def power_on(self, now):
        """Put each ``power_on: "schedule"`` binding in the state its
        latest on, start, off or stop event before ``now`` says: "on" or
        "off" (one started by hand meanwhile keeps running as it is)."""
        for h in list(self.registry.bindings):
            if h.power_on != 'schedule':
                continue
            latest = None
            for ev in self.events:
                if ev.enabled and ev.binding == h.id and ev.do in _STATES:
                    t = self.last_before(ev, now)
                    if t is not None and (latest is None or t > latest[0]):
                        latest = (t, ev)
            if latest is not None:
                ev = latest[1]
                self._fire(ev, latest[0], now, _STATES[ev.do])

    async def run(self):
        """The runner: a task of app.main, for ever."""
        while True:
            try:
                wait = self.tick(self.clock.now())
            except Exception as e:  # keep the task alive; say why
                print('pinwheel: schedules: %r' % e)
                wait = _MAX_SLEEP_S
            try:
                await asyncio.wait_for_ms(self._wake.wait(), wait * 1000)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
