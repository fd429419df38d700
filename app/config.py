"""config.json: read at boot, checked, and saved atomically after changes.

A save writes ``config.json.tmp`` and renames it over ``config.json``, so a
power cut leaves the old file or the new one, never half of one.

Safe mode (``app.startup``): a config.json with parts that do not validate
runs the rest. The file as it was is kept: it stays config.json until the
first save, which moves it to config.rejected.json (``keep_rejected``);
it is dropped only by a whole new config (PUT /api/config) or on request
(DELETE /api/config/rejected): no save loses a rejected binding.
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
        # safe mode: [{'where', 'message'}] of what the kept file has that
        # does not run, and the kept file's path (None: none is kept)
        self.config_errors: list = []
        self.rejected: 'str | None' = None
        self.problem: 'dict | None' = None  # the first, as ``error`` shows it
        # the outputs' [pin, idle level] pairs (Registry.idle_pins), set by
        # app.http.api: each save writes them to pins.json
        self.idle_pins = None

    def save(self, bindings):
        """Write the config with ``bindings``, then pins.json
        (``app.board.bootpins``) from ``idle_pins`` if set."""
        self.data['bindings'] = bindings
        tmp = self.path + '.tmp'
        try:
            keep_rejected(self)
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
        saved(self)

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


def rejected_path(path):
    """Where the rejected file of ``path`` is kept: config.rejected.json."""
    return (path[:-5] if path.endswith('.json') else path) + '.rejected.json'


def keep_rejected(store):
    """Before a save: a rejected config.json becomes config.rejected.json
    (one kept before is replaced, and the log says so). OSError: the save
    fails and nothing is lost."""
    if store.rejected != store.path:
        return
    kept = rejected_path(store.path)
    if exists(kept):
        from app import log
        log.note('config: %s (kept before) replaced by the config.json '
                 'rejected at this boot' % kept)
    _replace(store.path, kept)
    store.rejected = kept


def saved(store):
    """After a save: the config on flash is what runs; safe mode lasts while
    a rejected file is kept (nothing kept: nothing is left out)."""
    if store.rejected is None:
        store.config_errors = []
        store.problem = None
    store.safe_mode = bool(store.config_errors)
    store.error = store.problem if store.safe_mode else None


def drop_rejected(store):
    """Forget the rejected file: the next save writes config.json without
    keeping it; then ``remove_rejected`` deletes a kept one."""
    kept = store.rejected
    store.rejected = None
    store.config_errors = []
    store.problem = None
    return kept if kept != store.path else None


def remove_rejected(kept):
    if kept is not None and exists(kept):
        os.remove(kept)


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
