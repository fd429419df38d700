"""The bindings, by id. A change is checked in full (``app.validate``)
before anything is touched, so a rejected request changes nothing."""
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

    def _changed(self):
        if self.on_change is not None:
            self.on_change()

    def _add(self, binding_id, cls, pin, params, start):
        timer = self.board.acquire_timer()
        try:
            h = cls(self.board, binding_id, pin, params, timer)
        except Exception:
            self.board.release_timer(timer)
            raise
        self.bindings.append(h)
        if start:
            h.start()
        return h

    def create(self, body):
        h = self._add(*validate.body(self, body))
        self._changed()
        return h

    def update(self, binding_id, body, partial=True):
        """PATCH (``partial``) or PUT. A running binding stays running."""
        old = self.get(binding_id)
        _, cls, pin, params, start = validate.body(self, body, old, partial)
        old.stop()
        if pin != old.pin_id:
            self.board.release_pin(old.pin_id)
        h = cls(self.board, binding_id, pin, params, old.timer)
        h.carry_stats(old)
        self.bindings[self.bindings.index(old)] = h
        if start:
            h.start()
        self._changed()
        return h

    def start(self, binding_id):
        h = self.get(binding_id)
        h.start()
        self._changed()
        return h

    def stop(self, binding_id):
        h = self.get(binding_id)
        h.stop()
        self._changed()
        return h

    def _remove(self, h):
        h.stop()
        self.board.release_timer(h.timer)
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

