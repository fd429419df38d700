"""What boot runs once: build board, store and registry from config.json.

Loaded by ``app.main.boot`` and dropped after it (its code is heap on most
ports). Nothing here may brick a board, and a problem in one part of
config.json costs only that part ("safe mode"): every binding and event
that validates runs, a section key that does not takes its default, and
each part left out is listed in ``store.config_errors`` (GET /api/status)
and the event log. The file as it was is kept (``app.config``): GET
/api/config/rejected serves it until PUT /api/config applies a fixed one
or DELETE /api/config/rejected drops it. A file that is not JSON at all
boots with the defaults and no bindings, and says where it breaks.

A config.json that pinwheel itself wrote (a save) or checked in full
(a boot that rejected nothing), on this image and this board, is
trusted: pins.json has its checksum and a stamp of the image and board
(``stamp``), and no rejected file is kept. Such a boot builds the store
and the bindings from the file without checking it again (``trusted``),
so it loads none of ``app.schema``'s checks, ``app.validate`` or
``app.strictjson`` (their first use does). Anything
unexpected on that path (a key missing, a binding that cannot be built)
undoes what it built and boots the checking way, with every guarantee
above; so does a config the stamp does not match (a hand edit, a
``deploy.py --config``, an update, another board).
"""
import json
import os
from app.board.board import Board
from app import log
from app.config import CHECKS, MQTT, Config, defaults, exists, rejected_path
from app.errors import ApiError
from app.registry import Registry

_TRIES = 256  # each try leaves one part out: a config has fewer


def read(path):
    """config.json's bytes (bytes: text mode dies on non-UTF-8), or None if
    there is none. A crash between write and rename may leave only the
    .tmp: it is complete (the rename comes after the write)."""
    if not exists(path) and exists(path + '.tmp'):
        os.rename(path + '.tmp', path)
    try:
        with open(path, 'rb') as f:
            return f.read()
    except OSError:
        return None


def parse(text, rejected):
    """The JSON object of ``text``; ``{}`` (and the reason in ``rejected``)
    if it is none. Strict: MicroPython's parser would half-read a damaged
    file (commas and colons are optional to it) and apply what it made of
    it."""
    from app.strictjson import problem
    where = problem(text)
    try:
        if where is not None:
            raise ValueError
        data = json.loads(text)
    except Exception:  # ValueError, UnicodeError, too big
        rejected.add('config.json', ApiError(
            400, 'invalid_json', 'not valid JSON: %s(%d bytes; truncated or '
            'corrupt?); no part of it runs' % (
                where + ' ' if where else '', len(text))))
        return {}
    if not isinstance(data, dict):
        rejected.add('config.json', ApiError(
            400, 'invalid_json', 'the config must be a JSON object ({...}), '
            'so no part of it runs'))
        return {}
    return data


class Rejected:
    """What a config had that does not run: ``errors`` [{'where',
    'message'}] and ``first``, the first as the old "config_error" showed
    it ({'code', 'message', 'field'})."""

    def __init__(self):
        self.errors = []
        self.first = None
        self.fields = []  # the field of each, for deploy.py --config

    def add(self, where, e, message=None):
        message = message or e.message
        self.errors.append({'where': where, 'message': message})
        self.fields.append((e.field, e.message))
        if self.first is None:
            self.first = {'code': e.code, 'message': e.message,
                          'field': e.field}


def _index(field, name):
    """``i`` of a field ``name[i]...``, else None."""
    if field and field.startswith(name + '['):
        end = field.find(']')
        if end > 0:
            try:
                return int(field[len(name) + 1:end])
            except ValueError:
                pass
    return None


def _unprefixed(message, name, i):
    prefix = '%s[%d]: ' % (name, i)
    return message[len(prefix):] if message.startswith(prefix) else message


def _renumbered(e, name, i, orig):
    """``e`` (about item ``i`` of what was checked) about item ``orig`` of
    the file."""
    e.field = '%s[%d]%s' % (name, orig, e.field[e.field.find(']') + 1:])
    e.message = '%s[%d]: %s' % (name, orig, _unprefixed(e.message, name, i))
    return e


def sections(data, rejected):
    """``schema.check`` of ``data`` with what fails left out, one part per
    try: an event (``schedules[i]``), else the key at fault, which takes
    its default (a section's key, else the whole top-level key)."""
    from app import schema
    events = data.get('schedules')
    index = list(range(len(events))) if isinstance(events, list) else None
    seen = []
    for _ in range(_TRIES):
        try:
            return schema.check(data, None)
        except ApiError as e:
            field = e.field or ''
            top = field.split('.')[0].split('[')[0]
            i = _index(field, 'schedules')
            events = data.get('schedules')
            if index is not None and isinstance(events, list) and (
                    i is not None and i < len(events) or
                    field == 'schedules' and e.code == 'limit_reached'
                    and events):
                if i is None:  # more events than limits.schedules: the last
                    i = len(events) - 1
                    e.field = 'schedules[%d]' % i
                orig = index.pop(i)
                events.pop(i)
                e = _renumbered(e, 'schedules', i, orig)
                rejected.add('schedules[%d]' % orig, e, _unprefixed(
                    e.message, 'schedules', orig))
                continue
            section = data.get(top)
            key = field[len(top) + 1:]
            if ('.' in field and isinstance(section, dict) and key in section
                    and field not in seen):
                seen.append(field)
                data[top] = dict(section)
                del data[top][key]
                where = field
            elif any(k[:32] == top for k in data):  # ids are cut to 32
                top = [k for k in data if k[:32] == top][0]
                data.pop(top)
                where = top
            else:  # nothing left to leave out: the defaults
                rejected.add('config.json', e)
                return schema.check({}, None)
            rejected.add(where, e, '%s; %s runs with its default' % (
                e.message, where))
    return schema.check({}, None)


def bindings(bodies, check, rejected):
    """The bindings of ``bodies`` that pass ``check`` (which takes a list
    and raises an ApiError naming ``bindings[i]`` if it refuses it, as
    ``Registry.replace_all`` does), one left out per try; returns them."""
    bodies = list(bodies)
    index = list(range(len(bodies)))
    for _ in range(_TRIES):
        try:
            check(bodies)
            return bodies
        except ApiError as e:
            i = _index(e.field, 'bindings')
            if i is None or i >= len(bodies):  # cannot say which: none run
                for orig in index:
                    rejected.add('bindings[%d]' % orig, e)
                bodies = []
                continue
            orig = index.pop(i)
            bodies.pop(i)
            e = _renumbered(e, 'bindings', i, orig)
            rejected.add('bindings[%d]' % orig, e,
                         _unprefixed(e.message, 'bindings', orig))
    return []


def boot(path='config.json'):
    """Return (registry, store); never raises on a bad config."""
    built = trusted(path)
    if built is not None:
        return built
    store = Config(path)
    rejected = Rejected()
    text = read(path)
    missing = text is None
    data = {} if missing else parse(text, rejected)
    store.data = data = sections(data, rejected)
    limits = data['limits']
    pins = True
    try:
        board = Board(data['board'], limits['virtual_timers'])
    except ValueError as e:
        # no pins: no binding can run, and each stays in the kept file
        rejected.add('board', ApiError(400, 'invalid_config', str(e),
                                       'board'))
        board = Board('auto', limits['virtual_timers'], safe=True)
        data['bindings'] = []
        pins = False
    registry = Registry(board, limits['bindings'])
    data['bindings'] = bindings(
        power_on(data['bindings']), registry.replace_all, rejected)
    if rejected.errors:
        store.rejected = path  # moved to config.rejected.json by the first save
    else:
        _kept(store, board, rejected)
    store.config_errors = rejected.errors
    store.problem = rejected.first
    if missing:
        store.problem = {'code': 'invalid_json', 'field': None, 'message':
                         '%s not found: running with the defaults and no '
                         'bindings until the first save writes one' % path}
    store.safe_mode = bool(rejected.errors) or missing
    store.error = store.problem
    _tell(store, registry, rejected, missing)
    if pins:
        store.stamp = stamp(board.name)  # every save writes it
    if pins and not missing:  # checked in full, nothing left out: trusted
        _save_pins(store, registry, not rejected.errors)
    return registry, store


def trusted(path):
    """(registry, store) built from a config.json this image saved or
    checked in full on this board (see the module's docstring), without
    the checks: kinds from ``app.kinds.get``, handlers as the registry
    makes them, ``power_on`` as the checking boot applies it. None if the
    file is not trusted, or if building it failed (undone: the checking
    boot follows)."""
    from app.board.bootpins import saved_pins
    from app.board.pinsfile import checksum
    store = Config(path)
    saved = saved_pins(store.pins_path())
    mark = saved.get('saved_by')
    if (not isinstance(mark, list) or len(mark) != 3
            or exists(rejected_path(path))
            or saved.get('config') != checksum(path)
            or mark != stamp(mark[2])):
        return None
    registry = None
    try:
        text = read(path)
        if text is None:
            return None
        store.data = data = _filled(json.loads(text))
        text = None
        limits = data['limits']
        board = Board(data['board'], limits['virtual_timers'])
        if board.name != mark[2]:
            return None
        registry = Registry(board, limits['bindings'])
        data['bindings'] = power_on(data['bindings'])
        registry.load(_checked(data['bindings'], registry))
        store.stamp = mark
        _save_pins(store, registry, True)
        return registry, store
    except Exception as e:  # anything: the checks will say what
        if registry is not None:
            registry.load([])  # every pin and timer it took, given back
        log.note('config: %s was not built as saved (%r): checking it'
                 % (path, e))
        return None


def stamp(board):
    """pins.json's ``saved_by``: [``app.VERSION``, the image's version
    (version.json's: a hash of its files, so an update that keeps
    ``VERSION`` changes it too; None when run from the sources), the
    board's name]. Made at boot (``Config.stamp``), written by every
    save: a hand edit, an update or another board makes the next boot
    check config.json."""
    import app
    try:
        with open(getattr(app, 'IMAGE', '') + 'version.json') as f:
            image = json.load(f)['version']
    except Exception:  # none (run from the sources), or damaged
        image = None
    return [app.VERSION, image, board]


def _filled(data):
    """A config as ``app.schema.check`` returns it, for a file it passed:
    the defaults where a key is missing, numbers of ``location`` as
    floats, the feature's hooks (``CHECKS``, told the config is trusted:
    events get their defaults, unchecked) for a config that uses them.
    KeyError for a key the defaults do not have (only the checks would
    know what to do with it)."""
    out = defaults()
    for key, value in data.items():
        default = out[key]
        if isinstance(default, dict) and key != 'location':
            default.update(value)
        else:
            out[key] = value
    if out['mqtt'] is not None:
        mqtt = dict(MQTT)
        mqtt.update(out['mqtt'])
        out['mqtt'] = mqtt
    location = out['location'] = dict(out['location'])
    for key in location:
        location[key] = float(location[key])
    for extra in CHECKS:
        extra(out, True)
    return out


def _checked(bodies, registry):
    """The (id, class, pin, params, start, power_on) of each binding in
    ``bodies``, as ``app.validate.body`` returns them for a body it passed:
    the kind's defaults, ``power_on`` "restore" and ``start`` true where
    missing, an id given as it gives one. KeyError where a body lacks what
    the checks would have refused it for lacking; ValueError for a pin the
    board's profile does not let it use that way (a flash pin is never
    driven, whatever pins.json says)."""
    from app import kinds
    from app.board.board import CAP_IN, CAP_OUT
    from app.kinds.handler import REQUIRED
    board = registry.board
    items = []
    ids = []
    for body in bodies:
        cls = kinds.get(body['kind'])
        if cls is None:
            raise KeyError(body['kind'])
        pin = body['pin']
        if type(pin) not in (int, str) or not board.caps(pin) & (
                CAP_OUT if cls.OUTPUT else CAP_IN):
            raise ValueError('pin %r' % (pin,))
        binding_id = body.get('id')
        if binding_id is None:  # app.validate's _new_id
            n = 1
            while '%s-%d' % (cls.KIND, n) in ids:
                n += 1
            binding_id = '%s-%d' % (cls.KIND, n)
        params = {}
        for name, _, default, _, _ in cls.FIELDS:
            if name in body:
                params[name] = body[name]
            elif default is REQUIRED:
                raise KeyError(name)
            else:
                params[name] = default
        items.append((binding_id, cls, pin, params, body.get('start', True),
                      body.get('power_on', 'restore')))
        ids.append(binding_id)
    return items


def _kept(store, board, rejected):
    """A rejected file kept from an earlier boot: what it still has that
    does not run (the same checks, nothing applied), in ``rejected``."""
    kept = rejected_path(store.path)
    text = read(kept)
    if text is None:
        return
    store.rejected = kept
    data = sections(parse(text, rejected), rejected)
    if data['board'] not in ('auto', board.name):
        rejected.add('board', ApiError(
            400, 'invalid_config', 'this board is %s, not %s'
            % (board.name, data['board']), 'board'))
    else:
        from app import validate
        scratch = Registry(board, data['limits']['bindings'])
        timers = board.pool_size(data['limits']['virtual_timers'])
        bindings(power_on(data['bindings']), lambda bodies: validate.bodies(
            scratch, bodies, timers), rejected)
    if not rejected.errors:  # e.g. made by a newer image than this one
        rejected.add('config.json', ApiError(
            400, 'invalid_config', '%s (kept from an earlier boot) validates '
            'in full now: PUT it to /api/config to apply it, or DELETE '
            '/api/config/rejected' % kept))


def _tell(store, registry, rejected, missing):
    """The console and the event log: each part left out, then one line."""
    for error in rejected.errors:
        log.note('config: %s rejected: %s' % (error['where'],
                                              error['message']))
    if missing:
        log.note('SAFE MODE: ' + store.problem['message'])
    elif store.rejected == store.path and not store.data['bindings'] and \
            rejected.errors[0]['where'] in ('config.json', 'board'):
        log.note('SAFE MODE: %s: %s; running with no bindings. GET '
                 '/api/config/rejected has the file as it was' % (
                     rejected.errors[0]['where'],
                     rejected.errors[0]['message']))
    elif store.rejected == store.path:
        log.note('SAFE MODE: %s has %d part%s that do%s not validate (listed '
                 'above); running the rest: %d binding%s, %d event%s. GET '
                 '/api/config/rejected has the file as it was' % (
                     store.path, len(rejected.errors),
                     '' if len(rejected.errors) == 1 else 's',
                     'es' if len(rejected.errors) == 1 else '',
                     len(registry.bindings),
                     '' if len(registry.bindings) == 1 else 's',
                     len(store.data['schedules']),
                     '' if len(store.data['schedules']) == 1 else 's'))
    elif store.rejected is not None:
        log.note('SAFE MODE: %s is kept with %d part%s that did not validate;'
                 ' fix it and PUT it to /api/config, or DELETE '
                 '/api/config/rejected' % (
                     store.rejected, len(rejected.errors),
                     '' if len(rejected.errors) == 1 else 's'))


def power_on(bodies):
    """The bindings as boot starts them: ``power_on`` "on" runs, "off"
    and "schedule" (set by ``app.time.schedules`` once the clock is) stop,
    "restore" (the default) keeps the saved ``start``."""
    for body in bodies if isinstance(bodies, list) else ():
        if isinstance(body, dict):
            policy = body.get('power_on', 'restore')
            if policy == 'on':
                body['start'] = True
            elif policy in ('off', 'schedule'):
                body['start'] = False
    return bodies


def _save_pins(store, registry, clean):
    """pins.json, when it is missing or stale (a config.json from deploy
    or a power cut between the two writes): the next boot drives the
    pins first; and when its stamp is not what it should be: ``clean``
    (config.json checked in full, nothing of it left out, or trusted) is
    stamped (``trusted``), anything else not."""
    from app.board.bootpins import read, saved_pins
    store.drivable = registry.board.outputs()
    pins = registry.idle_pins()
    path = store.pins_path()
    saved = saved_pins(path)
    if read(store.path, path, saved) != pins or saved.get('saved_by') != (
            store.stamp if clean else None):
        try:
            store.save_pins(pins, clean)
        except OSError as e:
            print('pinwheel: cannot write pins.json: %r' % e)


def cannot_serve(e, host, port, sim):
    """Why ``app.main.serve`` could not have its socket, in words (no
    OSError repr)."""
    import errno
    code = e.args[0] if e.args else None
    again = ('make run PORT=%d' % (port + 1 if port < 65535 else 8080)
             if sim else 'set "http": {"port": N} in config.json')
    if code == getattr(errno, 'EADDRINUSE', 98):
        why = ('port %d is taken: another program (another pinwheel?) is '
               'listening on it; stop that one, or pick another port: %s'
               % (port, again))
    elif code == getattr(errno, 'EACCES', 13):
        why = ('port %d is below 1024, which needs root; pick one from 1024 '
               'up: %s' % (port, again))
    elif code == getattr(errno, 'EADDRNOTAVAIL', 99):
        why = ('%s is not an address of this machine; fix "http": {"host"} '
               'in config.json, or leave it out' % host)
    else:
        why = 'error %s' % errno.errorcode.get(code, code) if hasattr(
            errno, 'errorcode') else 'error %s' % code
    return 'pinwheel: cannot serve on %s:%d: %s' % (host, port, why)
