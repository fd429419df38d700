"""The bindings, by id. A change is checked in full (``app.validate``)
before anything is touched, so a rejected request changes nothing.

``do(verb, binding_id)`` is the one entry point for actions: REST, rules
(through ``act``), schedules and MQTT all call it, with the verbs of
``VERBS``, each with one meaning (``do``'s docstring; docs/api.md,
"Actions").

A binding holds a timer from the board's pool only while it runs: a
start takes one, a stop gives it back (a pulse or pattern that ended on
its own gives it back at the next change).

``app.validate`` is loaded by the first change that needs it, not with
this module: a boot from a config pinwheel saved builds its bindings
without it (``load``, ``app.startup``)."""
from app import log
from app.errors import ApiError
from app.kinds.handler import MASK, VERBS


class Registry:
    """Create, reconfigure, start, stop and delete bindings on one board."""

    def __init__(self, board, max_bindings=16):
        self.board = board
        self.max_bindings = max_bindings
        self.bindings = []  # in creation order
        self.on_change = None  # called after every change (persistence)
        self._busy = 0  # changes under way (see the module's docstring)
        self._later = []  # rule actions that came meanwhile
        self._acts = self.act  # bound once, shared by the bindings it wires

    def find(self, binding_id):
        for h in self.bindings:
            if h.id == binding_id:
                return h
        return None

    def get(self, binding_id):
        h = self.find(binding_id)
        if h is None:
            raise ApiError(404, 'not_found', 'no binding with id "%s"; GET '
                           '/api/bindings lists them' % binding_id, 'id')
        return h

    def pin_user(self, pin):
        for h in self.bindings:
            if h.pin_id == pin:
                return h
        return None

    def specs(self):
        out = []  # (a loop: a comprehension is a function of its own)
        for h in self.bindings:
            out.append(h.spec())
        return out

    def idle_pins(self):
        """[pin, idle level] of every output: what boot drives first."""
        out = []
        for h in self.bindings:
            if h.OUTPUT:
                out.append([h.pin_id, h.IDLE])
        return out

    def _changed(self, durable=True):
        # durable: saved before the caller answers (REST); False: rule
        # actions, counters, schedules, saved later (app.config.Saver)
        if self.on_change is not None:
            self.on_change(durable)

    def _release_idle(self):
        """Give back the timers of bindings that stopped on their own."""
        for h in self.bindings:
            if h.timer is not None and h.timer_idle():
                h.sync()
                self.board.release_timer(h.detach())

    def _check_timer(self):
        """Raise 409 unless the pool has a timer free."""
        self._release_idle()
        if not self.board.timers_free:
            # the holders only: an idle pwm, an edge, a counter or a switch
            # runs with no timer, and stopping one frees nothing
            holders = ''
            for h in self.bindings:
                if h.timer is not None:
                    holders += (', ' if holders else '') + h.id
            raise ApiError(409, 'no_free_timer', 'all %d timers are held by '
                           'running bindings: %s; stop one first'
                           % (self.board.timers_total, holders or 'none'),
                           None)

    def _run(self, h, need=None):
        """Start ``h``, on a timer from the pool if it ``need``s one (by
        default: if its kind does); it keeps the one it has."""
        if need is None:
            need = h.timer_for(h.params, None)
        if h.timer is None and need:
            self._check_timer()
            h.timer = self.board.acquire_timer()
        h.start()

    def _wire(self, h):
        """Give ``h`` the way to act (a kind with rules, a counter, pwm)."""
        if h.params.get('on') or getattr(h, 'ACTS', False):
            h.act = self._acts
        return h

    def _halt(self, h):
        h.stop()
        timer = h.detach()
        if timer is not None:
            self.board.release_timer(timer)

    def _add(self, binding_id, cls, pin, params, start, power_on):
        if start and cls.timer_for(params, None):
            self._check_timer()  # before the pin is touched
        try:
            h = self._wire(cls(self.board, binding_id, pin, params, power_on))
        except BaseException:  # MemoryError: the pin back as it was
            self.board.release_pin(pin)
            raise
        self.bindings.append(h)
        if start:
            try:
                self._run(h)
            except BaseException:  # MemoryError: no half-made binding
                self._remove(h)
                raise
        return h

    def create(self, body):
        self._busy += 1  # rule actions wait (_done)
        try:
            from app import validate
            h = self._add(*validate.body(self, body))
            self._changed()
            return h
        finally:
            self._done()

    def update(self, binding_id, body, partial=True, live=False):
        """PATCH (``partial``) or PUT. A running binding stays running.
        ``live``: applied, not saved (a slider while it moves)."""
        self._busy += 1  # rule actions wait (_done)
        try:
            from app import validate
            old = self.get(binding_id)
            _, cls, pin, params, start, power_on = validate.body(
                self, body, old, partial)
            # old: still as it runs
            need = start and cls.timer_for(params, old)
            if need and old.timer is None:
                self._check_timer()
            running = old.running
            self._halt(old)
            if pin != old.pin_id:
                self.board.release_pin(old.pin_id)
            h = None
            try:
                h = self._wire(cls(self.board, binding_id, pin, params,
                                   power_on))
                h.carry_stats(old)
                if start:
                    self._run(h, need)  # the timer old gave back is free
            except BaseException:  # MemoryError: the old one back as it ran
                self._revive(old, h, pin, running)
                raise
            self.bindings[self.bindings.index(old)] = h
            if not live:
                self._changed()
            return h
        finally:
            self._done()

    def _revive(self, old, new, pin, running):
        """After an update failed half-way (a MemoryError near the heap's
        limit): ``new`` (if made) let go, and ``old`` rebuilt as it was,
        running if it ran; if even that fails, it stays in place stopped,
        its error saying so."""
        if new is not None:
            self._halt(new)
        if pin != old.pin_id:
            self.board.release_pin(pin)
        h = old
        try:  # old's params: old is let go of either way
            h = self._wire(type(old)(self.board, old.id, old.pin_id,
                                     old.params, old.power_on))
            h.carry_stats(old)
            self.bindings[self.bindings.index(old)] = h
            if running:
                self._run(h)
        except BaseException:
            h.error = 'stopped: out of memory while it was being changed'
            h.version = (h.version + 1) & MASK

    def do(self, verb, binding_id, durable=True):
        """``verb`` (one of ``VERBS``) on the binding ``binding_id``, as
        REST, rules, schedules and MQTT ask for it. One meaning each:

        - start: run from the beginning (a running blink or pattern
          restarts, a running pulse retriggers its full duration);
        - stop, off: stop (the output at its idle level);
        - toggle: stop if it runs, else start;
        - pulse: start, for a kind that ends on its own (pulse) only;
        - on: start unless it runs already (no restart).

        Returns the binding. Raises ApiError: 404 no such binding, 400 a
        verb that is not one or not for this kind, 409 no timer free. A
        verb that changes nothing (on while it runs, off while it is
        stopped) saves nothing. ``durable``: saved before this returns (a
        request waits for it); False: by the saver task, coalesced (a
        schedule, MQTT's repeat of a state)."""
        self._busy += 1  # rule actions wait (_done)
        try:
            return self._do(verb, self.get(binding_id), durable)
        finally:
            self._done()

    def _do(self, verb, h, durable=True):
        if verb not in VERBS:
            from app import validate
            raise ApiError(400, 'invalid_action', '"%s" is not an action; '
                           'actions: %s' % (validate.short(verb, 20, str),
                                            ', '.join(VERBS)), None)
        if verb == 'pulse' and h.KIND != 'pulse':
            raise ApiError(400, 'invalid_action', '"pulse" acts on a pulse '
                           'binding and "%s" is a %s; use start, on or '
                           'toggle' % (h.id, h.KIND), None)
        h.sync()  # running as it is now (a pulse that ended, a fault)
        if verb == 'toggle':
            verb = 'stop' if h.running else 'start'
        if verb == 'stop' or verb == 'off':
            if not h.running and h.timer is None:
                return h  # stopped already
            self._halt(h)
        elif verb == 'on' and h.running:
            return h
        else:  # start, on, pulse
            self._run(h)
        self._changed(durable)
        return h

    def _remove(self, h):
        self._halt(h)
        self.board.release_pin(h.pin_id)
        self.bindings.remove(h)

    def delete(self, binding_id):
        self._busy += 1  # rule actions wait (_done)
        try:
            self._remove(self.get(binding_id))
            for h in self.bindings:  # rules that act on it show an error
                for i, rule in enumerate(h.params.get('on') or ()):
                    if rule['binding'] == binding_id and h.error is None:
                        h.error = ('on[%d]: binding "%s" was deleted; this '
                                   'rule does nothing' % (i, binding_id))
                        h.version = (h.version + 1) & MASK
            self._changed()
        finally:
            self._done()

    def act(self, do, target_id, source):
        """A rule's action (``app.kinds.rules``), from ``source``'s deferred
        work: ``do`` (a verb) on the binding ``target_id``, as ``do`` does
        it (saved later, by the saver task: ``app.config.Saver``) and noted
        in the event log; or, for the
        binding itself, ``save`` (a counter's total) or ``release`` (give
        back the timer of a fade that ended).
        Never raises: a problem shows in ``source``'s ``error``."""
        if self._busy:  # a change is under way: after it
            self._later.append((do, target_id, source))
            return
        self._busy += 1
        try:
            if source not in self.bindings:  # deleted or replaced since
                pass
            elif do == 'save':
                self._changed(False)
            elif do == 'release':  # a timer no longer needed (a fade ended)
                self._release_idle()
            else:
                h = self.find(target_id)
                line = 'rule of "%s": %s "%s"' % (source.id, do, target_id)
                try:
                    if h is None:
                        raise ApiError(404, 'not_found', 'binding "%s" was '
                                       'deleted; this rule does nothing'
                                       % target_id)
                    self._do(do, h, False)
                except Exception as e:  # noted, then source's error below
                    log.note('%s: %s' % (line, e.message if isinstance(
                        e, ApiError) else repr(e)))
                    raise
                log.note(line)
        except Exception as e:
            if source.error is None:
                source.error = 'a rule (%s "%s"): %s' % (
                    do, target_id, e.message if isinstance(e, ApiError)
                    else repr(e))
                source.version = (source.version + 1) & MASK
        finally:
            self._done()

    def _done(self):
        """A change (create, update, do, delete, replace_all) or a rule's
        action ended: the rule actions that came while one was under way
        (a binding's deferred work may run in the middle of one) run now,
        in order, each as a change of its own."""
        self._busy -= 1
        later = self._later
        while later and not self._busy:
            self.act(*later.pop(0))

    def replace_all(self, bodies, virtual_timers=None):
        """Swap every binding for ``bodies``: all of them or, if any is
        invalid, none (the error's field says which one). A virtual timer
        pool takes the size ``virtual_timers`` (the config's limit)."""
        self._busy += 1  # rule actions wait (_done)
        try:
            from app import validate
            self.load(validate.bodies(
                self, bodies, self.board.pool_size(virtual_timers)),
                virtual_timers)
        finally:
            self._done()

    def load(self, checked, virtual_timers=None):
        """Swap every binding for ``checked``: (id, class, pin, params,
        start, power_on) each, as ``app.validate.body`` returns them (or a
        trusted boot builds them, ``app.startup``)."""
        for h in list(self.bindings):
            self._remove(h)
        self.board.resize_pool(virtual_timers)
        for item in checked:
            self._add(*item)

