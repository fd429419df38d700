"""config.json: read at boot, checked, and saved atomically after changes.

A save writes ``config.json.tmp`` and renames it over ``config.json``, so a
power cut leaves the old file or the new one, never half of one.
"""
import json
import os
from app import forget

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


def defaults():
    """A fresh config holding the defaults."""
    out = dict(DEFAULTS)
    for key in ('http', 'wifi', 'limits'):
        out[key] = dict(DEFAULTS[key])
    out['bindings'] = []
    return out


def check(data, old=None):
    """Check everything but the bindings; return a full config dict. With
    ``old`` (the running config) a secret sent back as SECRET keeps its
    stored value.

    The checking code (app.schema) loads for the call and is dropped after
    it: boot and PUT /api/config are its only users, and it would otherwise
    hold ~3 KB of heap for good."""
    from app import schema
    try:
        return schema.check(data, old)
    finally:
        forget('schema')


def redact(data):
    """A copy of ``data`` safe to send to a client: no token, no password."""
    out = dict(data)
    out['wifi'] = dict(data['wifi'])
    for section, key in ((out, 'api_token'), (out['wifi'], 'password'),
                         (out['wifi'], 'ap_password')):
        if section.get(key):
            section[key] = SECRET
    return out


class Config:
    """The config file and the state of the last load or save."""

    def __init__(self, path='config.json'):
        self.path = path
        self.data = defaults()
        self.error = None  # what put us in safe mode, or a failed save
        self.safe_mode = False

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
            if self.safe_mode and exists(self.path):
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


def exists(path):
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
