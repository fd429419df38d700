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
- The checks of events (``app.time.checks``) are loaded by the first
  body or config with events to check, and kept; a trusted boot's events
  (a config this board checked before) are only filled (``app.time.specs``).
- ``power_on: "schedule"`` bindings boot stopped and, once the clock is
  synced, take the state the events imply: the latest on, start, off or
  stop event before now (within a week) wins, applied as "on" or "off"
  (a binding started meanwhile is not restarted): ``app.time.poweron``,
  loaded by a board that has such a binding.
"""
import asyncio
from micropython import const
from app import log
from app.errors import ApiError
from app.time.tz import DAY, weekday

DAYS = const(('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'))
SUNRISE = const(-1)
SUNSET = const(-2)
_MAX_SLEEP_S = const(60)
_WEEK = const(8)  # days looked through for an event's next time

# An event is a list (a list of 11 is a third of an instance's heap, and
# less than half of a dict of its 7 keys): its spec's fields, its time and
# weekdays compiled, and what became of it. The config's events are kept
# in this form only: ``spec_of`` makes an event's dict again for whoever needs
# the config's JSON (a save, GET /api/config: ``Config.schedules``).
_ID = const(0)
_BINDING = const(1)
_DO = const(2)
_AT = const(3)  # minutes of the day, SUNRISE or SUNSET
_OFFSET = const(4)  # offset_min
_MASK = const(5)  # weekdays, bit 0 = Monday
_ENABLED = const(6)
_LAST_FIRED = const(7)  # when it last ran
_FIRED = const(8)  # the occurrence it last ran for
_NEXT_FIRE = const(9)
_ERROR = const(10)  # why its last firing failed
# The times an event keeps count seconds from 2024-01-01, not from 1970:
# Unix seconds are past 2**30, a heap object each on a 32-bit board, and
# these are small ints from 1990 to 2058 (correct beyond, only boxed).
_BASE = const(1704067200)


def _unix(t):
    return None if t is None else t + _BASE


def minutes(at):
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


# The lists of days the events have, by their mask: events on the same days
# share one list (nothing changes a spec's list in place: a change makes a
# new spec). At most 8 are kept (a list is 32 bytes on a 32-bit board).
_DAY_LISTS = {}


def _days(mask):
    """The list of the weekdays of ``mask``, in week order (shared)."""
    same = _DAY_LISTS.get(mask)
    if same is None:
        same = []  # loops, not comprehensions: each is a function of heap
        for i in range(7):
            if mask >> i & 1:
                same.append(DAYS[i])
        if len(_DAY_LISTS) < 8:
            _DAY_LISTS[mask] = same
    return same


def _mask(days):
    mask = 0
    for i, d in enumerate(DAYS):
        if d in days:
            mask |= 1 << i
    return mask


def _key(event_id):
    """How an event keeps ``event_id``: the N of an "ev-N" the board gave
    (``app.time.specs.new_id``), a small int where its string would be 32 bytes of heap;
    any other id as it is."""
    n = event_id[3:]
    if event_id[:3] == 'ev-' and n.isdigit() and n[0] != '0' and len(n) < 9:
        return int(n)
    return event_id


def _name(key):
    """The id an event's ``_key`` stands for."""
    return 'ev-%d' % key if isinstance(key, int) else key


def event(spec, before=None, registry=None):
    """The event of a checked ``spec``; ``before``: the event it replaces,
    whose record it keeps. With ``registry``: the binding's id is the
    running binding's own string (one copy of it on the heap)."""
    binding = spec['binding']
    h = None if registry is None else registry.find(binding)
    ev = [_key(spec['id']), h.id if h else binding, spec['do'],
          minutes(spec['at']) or 0,
          spec['offset_min'], _mask(spec['days']), spec['enabled'],
          None, None, None, None]
    if before is not None:
        ev[_LAST_FIRED] = before[_LAST_FIRED]
        ev[_FIRED] = before[_FIRED]
    return ev


def spec_of(ev):
    """The event's spec as config.json has it (as ``app.time.specs.filled``
    leaves it, with its id)."""
    at = ev[_AT]
    out = {'binding': ev[_BINDING], 'do': ev[_DO],
           'at': 'sunrise' if at == SUNRISE else 'sunset' if at == SUNSET
           else '%02d:%02d' % (at // 60, at % 60),
           'offset_min': ev[_OFFSET], 'days': _days(ev[_MASK]),
           'enabled': ev[_ENABLED]}
    out['id'] = _name(ev[_ID])
    return out


def make(registry, store):
    """The board's clock and its schedules (``app.time.Time``)."""
    from app.time.clock import Clock
    return Schedules(registry, store, Clock(store))


def to_dict(ev):
    """The event as the API shows it: its spec and what became of it."""
    out = spec_of(ev)
    out['last_fired'] = _unix(ev[_LAST_FIRED])
    out['next_fire'] = _unix(ev[_NEXT_FIRE])
    out['error'] = ev[_ERROR]
    return out


class Schedules:
    """The events of ``store`` acting on ``registry`` by ``clock``."""

    def __init__(self, registry, store, clock):
        self.registry = registry
        self.store = store
        self.clock = clock
        self.events = []
        self._known = None  # the empty list left in store.data['schedules']
        self._fresh = True  # plan every event before the next look
        self._last_now = 0
        self._powered = False  # power_on "schedule" applied
        self._sun = {}  # day -> (sunrise, sunset): a few days kept
        self._where = None  # the location _sun is for
        self._wake = asyncio.Event()
        clock.on_set = self.wake
        store.events = self.specs
        self._follow_config()

    # ---------------------------------------------------------- the store

    def _follow_config(self):
        """Take the events of store.data when they were replaced there
        (boot, PUT or PATCH /api/config), keeping what each id recorded.
        store.data keeps none after (an empty list): the events are the
        one copy, ``specs`` gives their specs back."""
        data = self.store.data
        specs = data.get('schedules', self._known)
        if specs is self._known:
            return
        old = {}
        for ev in self.events:
            old[ev[_ID]] = ev
        events = self.events = []
        for spec in specs:
            events.append(event(spec, old.get(_key(spec['id'])),
                                self.registry))
        self._known = data['schedules'] = []
        self._fresh = True

    def specs(self, stream=None):
        """The events as config.json has them (``Config.schedules``): a
        list of dicts, or with ``stream`` written to it as a JSON array,
        one event at a time (``Config.save``)."""
        self._follow_config()
        if stream is not None:
            from json import dump
            stream.write('[')
            sep = ''
            for ev in self.events:
                stream.write(sep)
                sep = ', '
                dump(spec_of(ev), stream)
            stream.write(']')
            return None
        out = []
        for ev in self.events:
            out.append(spec_of(ev))
        return out

    def _changed(self):
        save = self.registry.on_change
        if save is not None:
            save()
        else:
            self.store.save(self.registry.specs())
        self.wake()

    def get(self, event_id):
        self._follow_config()
        key = _key(event_id) if isinstance(event_id, str) else event_id
        for ev in self.events:
            if ev[_ID] == key:
                return ev
        from app.validate import short
        raise ApiError(404, 'not_found', 'no event with id "%s"; GET '
                       '/api/schedules lists them' % short(event_id, 40, str),
                       'id')

    def list(self):
        """The events now, a copy of the list (not of the events): a
        caller that awaits between them sees each once."""
        self._follow_config()
        return list(self.events)

    def create(self, body):
        self._follow_config()
        from app.time import checks
        spec = checks.create(body, self.registry, self.store, self.specs())
        ev = event(spec, None, self.registry)
        self._plan(ev, self.clock.now())
        self.events.append(ev)
        self._changed()
        return ev

    def update(self, event_id, body, partial=True):
        old = self.get(event_id)
        from app.time import checks
        spec = checks.update(body, spec_of(old), partial, self.registry,
                             self.store)
        ev = event(spec, old, self.registry)
        ev[_ERROR] = old[_ERROR]
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
        deletion, which follows). Its checks are ``app.time.checks``'s,
        loaded by the first binding with events to delete."""
        self._follow_config()
        for ev in self.events:
            if ev[_BINDING] == binding_id:
                from app.time import checks
                self.events = checks.binding_delete(self.events, binding_id,
                                                    cascade)
                return

    # ------------------------------------------------------------- times

    def when(self, ev, day):
        """When ``ev`` falls on local day ``day`` (Unix seconds), or None:
        not one of its weekdays, or no sunrise/sunset that day."""
        if not ev[_MASK] >> weekday(day) & 1:
            return None
        at = ev[_AT]
        if at >= 0:
            return self.clock.zone().utc(day * DAY + at * 60)
        # the sun's times of the day at the config's place: a few days kept
        loc = self.store.data.get('location') or {}
        where = loc.get('lat'), loc.get('lon')
        times = None
        if None not in where:
            if where != self._where:
                self._sun = {}
                self._where = where
            times = self._sun.get(day)
            if times is None:
                from app.time import solar  # loaded by the first sun event
                times = solar.times(day, where[0], where[1])
                if len(self._sun) > 9:
                    self._sun = {}
                self._sun[day] = times
        if times is None:
            ev[_ERROR] = '%s needs "location": {"lat", "lon"} in the config' \
                % ('sunrise' if at == SUNRISE else 'sunset')
            return None
        t = times[0 if at == SUNRISE else 1]
        return None if t is None else (
            day * DAY + t + ev[_OFFSET] * 60)

    def next_after(self, ev, after):
        """The first time of ``ev`` after ``after``, or None."""
        day = self.clock.local_day(after) - 1
        for d in range(day, day + _WEEK + 1):
            t = self.when(ev, d)
            if t is not None and t > after:
                return t
        return None

    def _plan(self, ev, after):
        """Set ``ev[_NEXT_FIRE]`` to its first time after ``after`` that it
        has not fired for already."""
        t = None
        if ev[_ENABLED] and self.clock.synced:
            t = self.next_after(ev, after)
            fired = _unix(ev[_FIRED])
            # the clock went back over a time it fired at: not again
            while t is not None and fired is not None and fired - DAY < t <= fired:
                t = self.next_after(ev, t)
        ev[_NEXT_FIRE] = None if t is None else t - _BASE

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
                ev[_NEXT_FIRE] = None
            return _MAX_SLEEP_S
        if not self._powered:  # before planning: what it fires is not due again
            self._powered = True
            for h in self.registry.bindings:
                if h.power_on == 'schedule':
                    from app.time import poweron  # loaded by the first, kept
                    poweron.apply(self, now)
                    break
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
            t = _unix(ev[_NEXT_FIRE])
            if t is not None and t <= now:
                if now - t >= window:  # jumped over it: one inside the window?
                    t = self.next_after(ev, now - window)
                if t is not None and t <= now:
                    self._fire(ev, t, now)
                self._plan(ev, now)
            t = _unix(ev[_NEXT_FIRE])
            if t is not None and t < soonest:
                soonest = t
        return soonest - now if soonest > now else 1

    def _fire(self, ev, t, now, verb=None):
        """Do what ``ev`` says (or ``verb``: power-on's on or off)."""
        ev[_LAST_FIRED] = now - _BASE
        ev[_FIRED] = t - _BASE
        binding = ev[_BINDING]
        verb = verb or ev[_DO]
        line = 'schedule "%s": %s "%s"' % (_name(ev[_ID]), verb, binding)
        error = None
        try:
            if self.registry.find(binding) is None:
                raise ApiError(404, 'not_found', 'binding "%s" does not '
                               'exist (deleted)' % binding)
            self.registry.do(verb, binding, False)  # saved later (app.config.Saver)
        except ApiError as e:
            error = e.message
        except Exception as e:  # the runner goes on whatever happens
            error = '%s: %s' % (type(e).__name__, e)
        ev[_ERROR] = error
        log.note(line if error is None else line + ': ' + error)

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
