"""The bindings, by id. A change is checked in full (``app.validate``)
before anything is touched, so a rejected request changes nothing.

A binding holds a timer from the board's pool only while it runs: a
start takes one, a stop gives it back (a pulse or pattern that ended on
its own gives it back at the next change)."""
from app import validate
from app.errors import ApiError


class Registry:
    """Create, reconfigure, start, stop and delete bindings on one board."""

    def __init__(self, board, max_bindings=16):
        self.board = board
        self.max_bindings = max_bindings
        self.bindings = []  # in creation order
        self.on_change = None  # called after every change (persistence)

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
        return [h.spec() for h in self.bindings]

    def idle_pins(self):
        """[pin, idle level] of every output: what boot drives first."""
        return [[h.pin_id, h.IDLE] for h in self.bindings if h.OUTPUT]

    def _changed(self):
        if self.on_change is not None:
            self.on_change()

    def _release_idle(self):
        """Give back the timers of bindings that stopped on their own."""
        for h in self.bindings:
            if h.timer is not None and not h.running:
                h.sync()
                self.board.release_timer(h.detach())

    def _check_timer(self):
        """Raise 409 unless the pool has a timer free."""
        self._release_idle()
        if not self.board.timers_free:
            running = [b.id for b in self.bindings if b.running]
            raise ApiError(409, 'no_free_timer', 'all %d timers are in use '
                           'by running bindings: %s; stop one first'
                           % (self.board.timers_total, ', '.join(running)),
                           None)

    def _run(self, h):
        """Start ``h`` on a timer from the pool (it keeps the one it has)."""
        if h.timer is None:
            self._check_timer()
            h.attach(self.board.acquire_timer())
        h.start()

    def _halt(self, h):
        h.stop()
        timer = h.detach()
        if timer is not None:
            self.board.release_timer(timer)

    def _add(self, binding_id, cls, pin, params, start):
        if start:
            self._check_timer()  # before the pin is touched
        h = cls(self.board, binding_id, pin, params)
        self.bindings.append(h)
        if start:
            self._run(h)
        return h

    def create(self, body):
        h = self._add(*validate.body(self, body))
        self._changed()
        return h

    def update(self, binding_id, body, partial=True):
        """PATCH (``partial``) or PUT. A running binding stays running."""
        old = self.get(binding_id)
        _, cls, pin, params, start = validate.body(self, body, old, partial)
        if start and old.timer is None:
            self._check_timer()
        self._halt(old)
        if pin != old.pin_id:
            self.board.release_pin(old.pin_id)
        h = cls(self.board, binding_id, pin, params)
        h.carry_stats(old)
        self.bindings[self.bindings.index(old)] = h
        if start:
            self._run(h)  # the timer old gave back is free again
        self._changed()
        return h

    def start(self, binding_id):
        h = self.get(binding_id)
        self._run(h)
        self._changed()
        return h

    def stop(self, binding_id):
        h = self.get(binding_id)
        self._halt(h)
        self._changed()
        return h

    def _remove(self, h):
        self._halt(h)
        self.board.release_pin(h.pin_id)
        self.bindings.remove(h)

    def delete(self, binding_id):
        self._remove(self.get(binding_id))
        self._changed()

    def replace_all(self, bodies, virtual_timers=None):
        """Swap every binding for ``bodies``: all of them or, if any is
        invalid, none (the error's field says which one). A virtual timer
        pool takes the size ``virtual_timers`` (the config's limit)."""
        checked = validate.bodies(
            self, bodies, self.board.pool_size(virtual_timers))
        for h in list(self.bindings):
            self._remove(h)
        self.board.resize_pool(virtual_timers)
        for item in checked:
            self._add(*item)
