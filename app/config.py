"""config.json: read at boot, checked, and saved atomically after changes.

A save writes ``config.json.tmp`` and renames it over ``config.json``, so a
power cut leaves the old file or the new one, never half of one.
"""
import json
import os
from app.errors import ApiError, invalid

SECRET = '********'  # what GET /api/config shows instead of a secret
DEFAULTS = {
    'board': 'auto',
    'http': {'port': 8080},
    'wifi': {'ssid': '', 'password': '', 'timeout_s': 20,
             'ap_fallback': True, 'ap_password': ''},
    'api_token': None,
    'auth': 'writes',  # with a token: "writes" or "all" (reads too)
    'limits': {'bindings': 16, 'virtual_timers': 8},
    'bindings': [],
}
_SECTIONS = {  # section -> {key: type}
    'http': {'port': int, 'host': str, 'max_streams': int,
             'max_connections': int, 'read_timeout_s': int,
             'cors_origins': list},
    'wifi': {'ssid': str, 'password': str, 'timeout_s': int,
             'ap_fallback': bool, 'ap_password': str, 'hostname': str},
    'limits': {'bindings': int, 'virtual_timers': int},
}
_RANGES = {'http.port': (1, 65535), 'http.max_streams': (0, 16),
           'http.max_connections': (2, 64), 'http.read_timeout_s': (1, 60),
           'wifi.timeout_s': (0, 600), 'limits.bindings': (1, 32),
           'limits.virtual_timers': (1, 32)}


def check(data):
    """Check everything but the bindings; return a full config dict."""
    if not isinstance(data, dict):
        raise ApiError(400, 'invalid_json', 'the config must be a JSON object')
    for key in data:
        if key not in DEFAULTS:
            raise invalid(key[:32], 'unknown config key "%s"; allowed: %s'
                          % (key[:32], ', '.join(sorted(DEFAULTS))))
    out = {}
    for key, default in DEFAULTS.items():
        value = data.get(key, default)
        if key in _SECTIONS:
            value = _section(key, value, default)
        elif key == 'board' and not isinstance(value, str):
            raise invalid('board', 'board must be a string: auto, sim, esp32, '
                                   'rp2 or esp8266')
        elif key == 'api_token' and value is not None and (
                not isinstance(value, str) or not value):
            raise invalid('api_token', 'api_token must be null or a non-empty '
                                       'string')
        elif key == 'auth' and value not in ('writes', 'all'):
            raise invalid('auth', 'auth must be "writes" (the token guards '
                                  'changes) or "all" (reads too)')
        elif key == 'bindings' and not isinstance(value, list):
            raise invalid('bindings', 'bindings must be a list')
        out[key] = value
    return out


def _section(name, value, default):
    if not isinstance(value, dict):
        raise invalid(name, '%s must be an object' % name)
    types = _SECTIONS[name]
    out = dict(default)
    for key, item in value.items():
        field = '%s.%s' % (name, key[:32])
        kind = types.get(key)
        if kind is None:
            raise invalid(field, 'unknown key %s; allowed: %s'
                          % (field, ', '.join(sorted(types))))
        if not isinstance(item, kind) or (kind is int and isinstance(item, bool)):
            raise invalid(field, '%s must be of type %s' % (field, kind.__name__))
        if kind is list and any(not isinstance(x, str) for x in item):
            raise invalid(field, '%s must be a list of strings' % field)
        bounds = _RANGES.get(field)
        if bounds and not bounds[0] <= item <= bounds[1]:
            raise invalid(field, '%s must be from %d to %d'
                          % (field, bounds[0], bounds[1]))
        out[key] = item
    return out


def redact(data):
    """A copy of ``data`` safe to send to a client: no token, no password."""
    out = dict(data)
    out['wifi'] = dict(data['wifi'])
    for section, key in ((out, 'api_token'), (out['wifi'], 'password'),
                         (out['wifi'], 'ap_password')):
        if section.get(key):
            section[key] = SECRET
    return out


def unredact(new, old):
    """Keep the stored secrets where a client sent back SECRET."""
    if new.get('api_token') == SECRET:
        new['api_token'] = old.get('api_token')
    wifi = new.get('wifi')
    if isinstance(wifi, dict):
        for key in ('password', 'ap_password'):
            if wifi.get(key) == SECRET:
                wifi[key] = old['wifi'].get(key, '')


class Config:
    """The config file and the state of the last load or save."""

    def __init__(self, path='config.json'):
        self.path = path
        self.data = check({})
        self.error = None  # what put us in safe mode, or a failed save
        self.safe_mode = False

    def load(self):
        """Read and check the file; on any problem raise ApiError with the
        field. A crash between write and rename may leave only the .tmp."""
        path = self.path
        if not _exists(path) and _exists(path + '.tmp'):
            os.rename(path + '.tmp', path)
        try:
            with open(path, 'rb') as f:  # bytes: text mode dies on non-UTF-8
                text = f.read()
        except OSError:
            raise ApiError(400, 'invalid_json', '%s not found' % path, None)
        try:
            data = json.loads(text)
        except Exception:  # ValueError, UnicodeError, too deep, too big
            raise ApiError(400, 'invalid_json', '%s is not valid JSON (%d bytes'
                           '; truncated or corrupt?)' % (path, len(text)), None)
        self.data = check(data)  # leaves data at the defaults if it raises
        return self.data

    def enter_safe_mode(self, error):
        """Run with no bindings. The broken file stays until the first save,
        which keeps it as config.json.bad."""
        self.safe_mode = True
        self.error = error
        self.data['bindings'] = []

    def save(self, bindings):
        self.data['bindings'] = bindings
        tmp = self.path + '.tmp'
        try:
            if self.safe_mode and _exists(self.path):
                _replace(self.path, self.path + '.bad')
            with open(tmp, 'w') as f:
                json.dump(self.data, f)
            _replace(tmp, self.path)
            if hasattr(os, 'sync'):
                os.sync()
        except OSError as e:
            self.error = {'code': 'save_failed', 'field': None, 'message':
                          'could not save %s: %s' % (self.path, e)}
            return
        if self.safe_mode or self.error:
            self.safe_mode = False
            self.error = None


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _replace(src, dst):
    # FAT (esp8266) will not rename over an existing file
    try:
        os.rename(src, dst)
    except OSError:
        os.remove(dst)
        os.rename(src, dst)
