"""The bindings, by id. Every request is validated in full before anything
is touched, so a rejected request changes nothing."""
from app.errors import ApiError, invalid
from app.handler import REQUIRED
from app.kinds import KINDS
from app.board import CAP_IN, CAP_OUT, CAP_PULL, pin_key

COMMON = ('id', 'kind', 'pin', 'start')
_ID_OK = '_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'


def _kinds():
    return ', '.join(sorted(KINDS))


def check_id(value):
    if (not isinstance(value, str) or not 1 <= len(value) <= 32
            or any(c not in _ID_OK for c in value)):
        raise invalid('id', 'id must be 1 to 32 characters from '
                            'A-Z, a-z, 0-9, "_" and "-"')
    return value


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

    def pins_for(self, need, taken):
        """The pins with capability ``need`` not in ``taken``, as text."""
        used = [pin for _, pin in taken]
        pins = [p for p, caps in self.board.pins.items()
                if caps & need and p not in used]
        pins.sort(key=pin_key)
        return ', '.join(str(p) for p in pins) or 'none left'

    def _check_pin(self, pin, cls, binding_id, taken):
        board = self.board
        need = CAP_OUT if cls.OUTPUT else CAP_IN
        what = 'an output' if cls.OUTPUT else 'an input'
        if isinstance(pin, bool) or not isinstance(pin, (int, str)):
            raise ApiError(400, 'invalid_pin', 'pin must be a GPIO number '
                           'or a pin name such as "LED"', 'pin')
        if isinstance(pin, str) and pin.isdigit():  # "5" would read as 5
            raise ApiError(400, 'invalid_pin', 'pin must be a JSON number: '
                           '%s, not "%s"' % (_clip(pin), _clip(pin)), 'pin')
        caps = board.caps(pin)
        status, code = 400, 'invalid_pin'
        if pin in board.reserved:
            problem = 'pin %s is reserved on %s (%s)' % (
                pin, board.name, board.reserved[pin])
        elif not caps:
            problem = 'pin %s does not exist on %s' % (_clip(pin), board.name)
        elif not caps & need:
            problem = 'pin %s cannot be %s; a %s needs %s pin' % (
                pin, what, cls.KIND, what)
        else:
            problem = None
            for other_id, other_pin in taken:
                if other_pin == pin and other_id != binding_id:
                    status, code = 409, 'pin_in_use'
                    problem = ('pin %s is used by binding "%s"; delete it or '
                               'pick another pin' % (pin, other_id))
                    break
        if problem is not None:  # the free-pin list is built only for errors
            raise ApiError(status, code, '%s; free pins for %s: %s' % (
                problem, cls.KIND, self.pins_for(need, taken)), 'pin')
        return caps

    def _new_id(self, kind, taken):
        ids = [i for i, _ in taken]
        n = 1
        while '%s-%d' % (kind, n) in ids:
            n += 1
        return '%s-%d' % (kind, n)

    def validate(self, body, current=None, partial=False, taken=None,
                 timers_total=None):
        """Check a create/PATCH/PUT body; return (id, cls, pin, params, start).

        ``taken`` lists the (id, pin) pairs already in use; by default the
        live bindings, so ``replace_all`` can check a whole new set against
        a pool of ``timers_total`` timers.
        """
        if not isinstance(body, dict):
            raise ApiError(400, 'invalid_json', 'the body must be a JSON object'
                           ' such as {"kind": "blink", "pin": 2, '
                           '"period_ms": 500}')
        if timers_total is None:
            timers_total = self.board.timers_total
        if taken is None:
            taken = [(h.id, h.pin_id) for h in self.bindings]
            timers_free = self.board.timers_free
        else:
            timers_free = timers_total - len(taken)
        base = current.spec() if current is not None and partial else {}
        kind = body.get('kind', base.get('kind'))
        if kind is None:
            raise invalid('kind', 'kind is required: one of ' + _kinds())
        cls = KINDS.get(kind) if isinstance(kind, str) else None
        if cls is None:
            raise ApiError(400, 'unknown_kind', 'unknown kind %s; valid kinds: '
                           '%s' % (_short(kind), _kinds()), 'kind')
        for alias, name in cls.ALIASES.items():
            if alias in body:
                body = dict(body)
                body[name] = body.pop(alias)
        if base and cls.KIND != base['kind']:
            base = {'pin': base['pin']}  # the old kind's fields do not apply
        names = [f[0] for f in cls.FIELDS]
        for key in body:
            if key not in COMMON and key not in names:
                raise invalid(key[:32], 'unknown field %s for %s; allowed: %s'
                              % (_short(key), cls.KIND,
                                 ', '.join(COMMON + tuple(names))))
        if current is not None:
            binding_id = current.id
            if 'id' in body and body['id'] != binding_id:
                raise invalid('id', 'id cannot change; DELETE the binding and '
                                    'POST it with the new id')
        elif 'id' in body:
            binding_id = check_id(body['id'])
            if any(i == binding_id for i, _ in taken):
                raise ApiError(409, 'id_exists', 'a binding with id "%s" exists'
                               ' already; PATCH it or choose another id'
                               % binding_id, 'id')
        else:
            binding_id = self._new_id(cls.KIND, taken)
        pin = body.get('pin', base.get('pin'))
        if pin is None:
            raise ApiError(400, 'invalid_pin', 'pin is required; free pins for '
                           '%s: %s' % (cls.KIND, self.pins_for(
                               CAP_OUT if cls.OUTPUT else CAP_IN, taken)), 'pin')
        caps = self._check_pin(pin, cls, binding_id, taken)
        params = {}
        for name, check, default in cls.FIELDS:
            if name in body:
                params[name] = check(name, body[name], self.board)
            elif name in base:
                params[name] = base[name]
            elif default is REQUIRED:
                raise invalid(name, '%s is required for a %s binding'
                              % (name, cls.KIND))
            else:
                params[name] = default
        if params.get('pull') and not caps & CAP_PULL:
            raise invalid('pull', 'pin %s has no internal pull resistors; '
                                  'use "pull": null and an external one' % pin)
        start = body.get('start', True if current is None else current.running)
        if not isinstance(start, bool):
            raise invalid('start', 'start must be true or false')
        if current is None:
            if len(taken) >= self.max_bindings:
                raise ApiError(409, 'limit_reached', 'this board holds at most'
                               ' %d bindings; delete one first'
                               % self.max_bindings, None)
            if timers_free <= 0:
                raise ApiError(409, 'no_free_timer', 'all %d timers are in use;'
                               ' delete a binding to free one'
                               % timers_total, None)
        return binding_id, cls, pin, params, start

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
        h = self._add(*self.validate(body))
        self._changed()
        return h

    def update(self, binding_id, body, partial=True):
        """PATCH (``partial``) or PUT. A running binding stays running."""
        old = self.get(binding_id)
        _, cls, pin, params, start = self.validate(body, old, partial)
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
        timers_total = self.board.pool_size(virtual_timers)
        if not isinstance(bodies, list):
            raise invalid('bindings', 'bindings must be a list of bindings')
        checked = []
        taken = []
        for i, body in enumerate(bodies):
            try:
                item = self.validate(body, taken=taken,
                                     timers_total=timers_total)
            except ApiError as e:
                e.field = 'bindings[%d]%s' % (i, '.' + e.field if e.field else '')
                e.message = 'bindings[%d]: %s' % (i, e.message)
                raise
            checked.append(item)
            taken.append((item[0], item[2]))
        for h in list(self.bindings):
            self._remove(h)
        self.board.resize_pool(virtual_timers)
        for item in checked:
            self._add(*item)


def _short(value, limit=40):
    """A value quoted for a message, cut so a hostile one cannot flood it."""
    try:
        text = repr(value)
    except RuntimeError:  # nested too deep to print (a hostile body)
        return '(a value nested too deep)'
    return text if len(text) <= limit else text[:limit] + '...'


def _clip(value, limit=40):
    """``value`` as %s shows it, cut like ``_short`` (a 4000-digit pin)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + '...'
