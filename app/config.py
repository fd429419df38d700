"""config.json: read at boot, checked, and saved atomically after changes.

A save writes ``config.json.tmp`` and renames it over ``config.json``, so a
power cut leaves the old file or the new one, never half of one.
"""
import json
import os
from app import schema


class Config:
    """The config file and the state of the last load or save."""

    def __init__(self, path='config.json'):
        self.path = path
        self.data = schema.defaults()
        self.error = None  # what put us in safe mode, or a failed save
        self.safe_mode = False
        # the outputs' [pin, idle level] pairs (Registry.idle_pins), set by
        # app.http.api: each save writes them to pins.json
        self.idle_pins = None

    def enter_safe_mode(self, error):
        """Run with no bindings. The broken file stays until the first save,
        which keeps it as config.json.bad."""
        self.safe_mode = True
        self.error = error
        self.data['bindings'] = []

    def save(self, bindings):
        """Write the config with ``bindings``, then pins.json
        (``app.board.bootpins``) from ``idle_pins`` if set."""
        self.data['bindings'] = bindings
        tmp = self.path + '.tmp'
        try:
            if self.safe_mode and exists(self.path):
                _replace(self.path, self.path + '.bad')
            with open(tmp, 'w') as f:
                json.dump(self.data, f)
            _replace(tmp, self.path)
            if self.idle_pins is not None:
                self.save_pins(self.idle_pins())
            if hasattr(os, 'sync'):
                os.sync()
        except OSError as e:
            self.error = {'code': 'save_failed', 'field': None, 'message':
                          'could not save %s: %s' % (self.path, e)}
            return
        if self.safe_mode or self.error:
            self.safe_mode = False
            self.error = None


    def pins_path(self):
        return self.path.rpartition('/')[0] + '/pins.json' if '/' in \
            self.path else 'pins.json'

    def save_pins(self, pins):
        """pins.json for the config.json on flash now (OSError: the caller's)."""
        from app.board.bootpins import checksum
        path = self.pins_path()
        with open(path + '.tmp', 'w') as f:
            json.dump({'config': checksum(self.path), 'pins': pins}, f)
        _replace(path + '.tmp', path)


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
