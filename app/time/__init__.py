"""The clock and what runs on it (``clock``, ``tz``, ``schedules``),
loaded when first needed and kept: a board whose config has no schedule
events, no ``power_on: "schedule"`` binding and the UTC zone holds none
of their code until a time route is called. What only some configs need
is loaded by its first use and kept too: ``checks`` (a config or body
with events to check), ``zones`` (a zone given by name, or the list),
``ntp`` (a board with a network: it keeps the clock synced), ``solar``
(the first sun event).

``Time`` is the one handle the rest of pinwheel has on them."""
import asyncio


def needed(data):
    """True if the config ``data`` uses the clock: events, a binding that
    powers on by them, or a zone other than UTC."""
    if data.get('schedules') or data.get('time', {}).get('tz', 'UTC') != 'UTC':
        return True
    for body in data.get('bindings') or ():
        if isinstance(body, dict) and body.get('power_on') == 'schedule':
            return True
    return False


def check(data, trusted=False):
    """The config's clock and events, checked (``app.schema`` calls it,
    and a trusted boot): the zone parses, the events are well-formed;
    raises ApiError (``app.time.checks``, loaded for it). A config that
    is not ``needed`` loads none of it. ``trusted``: a config this image
    checked on this board before (a trusted boot, ``app.startup``): its
    events only get what the checks would give them (defaults, ids), and
    no checks are loaded."""
    if not needed(data):
        return
    if trusted:
        from app.time.specs import fill
        fill(data)
    else:
        from app.time import checks
        checks.config(data)


class Time:
    """The board's clock and schedules, made by the first ``schedules()``
    (and their tasks started: the runner, and NTP on a board with a
    network)."""

    def __init__(self, registry, store, network=False):
        self.registry = registry
        self.store = store
        self.network = network
        self.loaded = None  # the Schedules, once made

    def schedules(self):
        """The ``app.time.schedules.Schedules``, made on the first call."""
        s = self.loaded
        if s is None:
            from app import log
            from app.time.schedules import make
            s = self.loaded = make(self.registry, self.store)
            log.clock = s.clock
            asyncio.create_task(s.run())
            if self.network and not self.registry.board.sim:
                from app.time.ntp import sync
                asyncio.create_task(sync(s.clock))
        return s

    def clock(self):
        return self.schedules().clock

    def follow(self):
        """After a config change: look at the events again, or load the
        schedules if the config needs them now."""
        if self.loaded is not None:
            self.loaded.wake()
        elif self.needed():
            self.schedules()

    def needed(self):
        """``needed`` for the running config, whose bindings the registry
        holds (app.config.Config.save)."""
        if needed(self.store.data):
            return True
        for h in self.registry.bindings:  # a loop: a generator is a function
            if h.power_on == 'schedule':
                return True
        return False

    def status(self):
        """The ``clock`` of GET /api/status (unsynced while not loaded)."""
        if self.loaded:
            return self.loaded.clock.status()
        return {'synced': False, 'source': None}

    def before_binding_delete(self, binding_id, cascade=False):
        if self.loaded is not None:
            self.loaded.before_binding_delete(binding_id, cascade)
