"""The config's checks (every key known, of the right type, in range) and
the secrets a client never sees. Its defaults (and the hook list
``CHECKS``) are ``app.config``'s, which every boot loads: this module is
loaded by a config change, GET /api/config, or a boot that checks
config.json (``app.startup``), not by a boot from a config pinwheel saved.
"""
from app.config import CHECKS, DEFAULTS, MQTT, defaults  # noqa: F401
from app.errors import ApiError, invalid

SECRET = '********'  # what GET /api/config shows instead of a secret
_TOPIC_OK = '_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'


def redact(data):
    """A copy of ``data`` safe to send to a client: no token, no password."""
    out = dict(data)
    out['wifi'] = dict(data['wifi'])
    mqtt = out['mqtt'] = dict(data['mqtt']) if data.get('mqtt') else None
    for section, key in ((out, 'api_token'), (out['wifi'], 'password'),
                         (out['wifi'], 'ap_password'),
                         (mqtt or {}, 'password')):
        if section.get(key):
            section[key] = SECRET
    return out

_SECTIONS = {  # section -> {key: type}
    'http': {'port': int, 'host': str, 'max_streams': int,
             'max_connections': int, 'read_timeout_s': int,
             'cors_origins': list, 'log': bool},
    'wifi': {'ssid': str, 'password': str, 'timeout_s': int,
             'ap_fallback': bool, 'ap_password': str, 'hostname': str},
    'limits': {'bindings': int, 'virtual_timers': int, 'schedules': int},
    'mqtt': {'host': str, 'port': int, 'user': str, 'password': str,
             'client_id': str, 'base': str, 'discovery': bool,
             'discovery_prefix': str, 'keepalive_s': int, 'tls': bool,
             'allow_config': bool},
    'time': {'tz': str, 'ntp_servers': list, 'ntp_sync_s': int},
    'location': {'lat': float, 'lon': float},  # ints too
    'schedule': {'catch_up_min': int},
    'log': {'size': int},
}
_RANGES = {'http.port': (1, 65535), 'http.max_streams': (0, 16),
           'http.max_connections': (2, 64), 'http.read_timeout_s': (1, 60),
           'wifi.timeout_s': (0, 600), 'limits.bindings': (1, 32),
           'limits.virtual_timers': (1, 32), 'limits.schedules': (0, 128),
           'time.ntp_sync_s': (60, 604800), 'location.lat': (-90, 90),
           'location.lon': (-180, 180), 'schedule.catch_up_min': (0, 60),
           'mqtt.port': (1, 65535), 'mqtt.keepalive_s': (5, 3600),
           'log.size': (0, 128)}  # app.log: 112 bytes of heap each


def check(data, old=None):
    """Check everything but the bindings; return a full config dict."""
    if not isinstance(data, dict):
        raise ApiError(400, 'invalid_json', 'the config must be a JSON object')
    if old is not None:
        unredact(data, old)
    for key in data:
        if key not in DEFAULTS:
            raise invalid(key[:32], 'unknown config key "%s"; allowed: %s'
                          % (key[:32], ', '.join(sorted(DEFAULTS))))
    out = {}
    for key, default in DEFAULTS.items():
        value = data.get(key, default)
        if key == 'mqtt':
            value = None if value is None else _mqtt(value)
        elif key in _SECTIONS:
            value = _section(key, value, default)
        elif key == 'board' and not isinstance(value, str):
            raise invalid('board', 'board must be a string: auto or one of '
                                   + ', '.join(_board_names()))
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
    for extra in CHECKS:
        extra(out)
    return out

def _board_names():
    """The board names, from app.board.profiles' table (boot-time data: dropped
    again at once, see app.board.board)."""
    from app.board.board import drop_profiles
    from app.board.profiles import NAMES
    drop_profiles()
    return NAMES


def _mqtt(value):
    """The ``mqtt`` section with its defaults; names that go into topics
    are checked so that every topic built from them is valid."""
    if not isinstance(value, dict):
        raise invalid('mqtt', 'mqtt must be null (off) or an object with at '
                              'least "host"')
    out = _section('mqtt', value, MQTT)
    if not out['host'] or len(out['host']) > 253:
        raise invalid('mqtt.host', 'mqtt.host must be the broker\'s address '
                                   'or name (1 to 253 characters)')
    if out['password'] and not out['user']:
        raise invalid('mqtt.password', 'mqtt.password needs mqtt.user (MQTT '
                                       '3.1.1 sends no password alone)')
    client_id = out['client_id']
    if len(client_id) > 32 or any(c not in _TOPIC_OK for c in client_id):
        raise invalid('mqtt.client_id', 'mqtt.client_id must be up to 32 '
                      'characters from A-Z, a-z, 0-9, "_" and "-" ("" is '
                      'pinwheel-XXXX)')
    for key in ('base', 'discovery_prefix'):
        topic = out[key]
        if (len(topic) > 64 or topic[:1] in ('/', '$') or topic[-1:] == '/'
                or '//' in topic or any(c in topic for c in '+#\x00')
                or not (topic or key == 'base')):
            raise invalid('mqtt.' + key, 'mqtt.%s must be a topic of up to 64 '
                          'characters without "+", "#", "$" first, an empty '
                          'level or a "/" at either end' % key)
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
        if not _typed(item, kind):
            raise invalid(field, '%s must be of type %s' % (field, kind.__name__))
        if kind is list and any(not isinstance(x, str) for x in item):
            raise invalid(field, '%s must be a list of strings' % field)
        bounds = _RANGES.get(field)
        if bounds and not bounds[0] <= item <= bounds[1]:
            raise invalid(field, '%s must be from %d to %d'
                          % (field, bounds[0], bounds[1]))
        out[key] = float(item) if kind is float else item
    return out


def _typed(item, kind):
    """``item`` is a ``kind``: a whole number is a float too (degrees),
    a bool is no number."""
    if isinstance(item, bool):
        return kind is bool
    return isinstance(item, kind) or (kind is float and isinstance(item, int))


def unredact(new, old):
    """Keep the stored secrets where a client sent back SECRET."""
    if new.get('api_token') == SECRET:
        new['api_token'] = old.get('api_token')
    wifi = new.get('wifi')
    if isinstance(wifi, dict):
        for key in ('password', 'ap_password'):
            if wifi.get(key) == SECRET:
                wifi[key] = old['wifi'].get(key, '')
    mqtt = new.get('mqtt')
    if isinstance(mqtt, dict) and mqtt.get('password') == SECRET:
        mqtt['password'] = (old.get('mqtt') or {}).get('password', '')
