"""config.json: read at boot, checked, and saved atomically after changes.

A save writes ``config.json.tmp`` and renames it over ``config.json``, so a
power cut leaves the old file or the new one, never half of one.

Safe mode (``app.startup``): a config.json with parts that do not validate
runs the rest. The file as it was is kept: it stays config.json until the
first save, which moves it to config.rejected.json (``Config.save``);
it is dropped only by a whole new config (PUT /api/config) or on request
(DELETE /api/config/rejected; ``app.settings``): no save loses a rejected
binding.

Flash writes stop interrupts (an RP2040 stops both cores for each 4 KB
erase, docs/internals.md "Flash writes"), so only a change someone waits
for is saved at once: a REST change, before its answer (durable). What
runs on its own (rule actions, counter totals, schedule-driven starts and
stops) only marks the config dirty; one asyncio task (``Saver.run``) saves
it, coalesced, and never from a scheduled callback.
"""
import json
import os
from time import ticks_add, ticks_diff, ticks_ms

# Checks of sections that belong to a feature (the clock and events:
# app.time), installed by app.main: the feature's code is loaded only for a
# config that uses it. Each takes the checked config and raises ApiError;
# a trusted boot (app.startup) passes True too: fill in what the checks
# would (defaults, ids), check and load nothing. Here, not in app.schema,
# so that installing one loads no checks; both run them.
CHECKS = []


def __getattr__(name):
    """``defaults`` (a function: a fresh config holding the defaults),
    ``DEFAULTS`` (one such config) and ``MQTT`` (what a "mqtt" object's
    missing keys are): ``app.defaults``', boot code, loaded when they are
    imported (a module ``__getattr__``, PEP 562): boot and the config's
    checks (``app.schema``) use them, and nothing holds them in between."""
    from app import defaults as made
    return getattr(made, name)


SAVE_DELAY_MS = 1000  # the saver looks this often for a dirty config...
SAVE_GAP_MS = 5000  # ...and saves it at most once per gap


class Config:
    """The config file and the state of the last load or save."""

    def __init__(self, path='config.json'):
        self.path = path
        from app.defaults import defaults
        self.data = defaults()
        self.error = None  # what put us in safe mode, or a failed save
        self.safe_mode = False
        # safe mode: [{'where', 'message'}] of what the kept file has that
        # does not run, and the kept file's path (None: none is kept)
        self.config_errors: list = []
        self.rejected: 'str | None' = None
        self.problem: 'dict | None' = None  # the first, as ``error`` shows it
        # the outputs' [pin, idle level] pairs (Registry.idle_pins), set by
        # app.main.persist: each save writes them to pins.json
        self.idle_pins = None
        # the pins this board may drive (Board.outputs), kept
        # in pins.json for a boot that finds it stale
        self.drivable = None
        # pins.json's "saved_by" (app.startup.stamp: version, image, board),
        # set by a boot that built the board with its pins; every save
        # writes it (``save_pins``)
        self.stamp: 'list | None' = None
        # (stream=None) -> the config's events, once app.time.schedules
        # holds them (``data['schedules']`` is an empty list then):
        # ``schedules``; with a stream, written to it (``save``)
        self.events = None

    def schedules(self):
        """The config's events as config.json has them (a list of dicts):
        the schedules' own form made into dicts while they run, as the
        bindings are the registry's (``save``)."""
        events = self.events
        return self.data['schedules'] if events is None else events()

    def save(self, bindings):
        """Write the config with ``bindings``, then pins.json
        (``app.board.bootpins``) from ``idle_pins`` if set. The running
        bindings live in the registry: ``data`` holds them only while a
        save or a config change needs the whole document (``bindings`` is
        an empty list otherwise: a second copy of every binding's fields
        would cost heap for nothing); the events are the schedules' in
        the same way (``schedules``)."""
        data = self.data
        data['bindings'] = bindings
        tmp = self.path + '.tmp'
        try:
            if self.rejected == self.path:
                # a rejected config.json becomes config.rejected.json first
                # (one kept before is replaced, and the log says so);
                # OSError: the save fails and nothing is lost
                moved = rejected_path(self.path)
                if exists(moved):
                    from app import log
                    log.note('config: %s (kept before) replaced by the '
                             'config.json rejected at this boot' % moved)
                _replace(self.path, moved)
                self.rejected = moved
            with open(tmp, 'w') as f:
                events = self.events
                if events is None:
                    json.dump(data, f)
                else:
                    # the events are written by the schedules one at a
                    # time (each one's dict made, written, dropped), not
                    # all made at once: a save's peak of heap
                    f.write('{')
                    sep = ''
                    for key in data:
                        f.write(sep)
                        sep = ', '
                        json.dump(key, f)
                        f.write(': ')
                        if key == 'schedules':
                            events(f)
                        else:
                            json.dump(data[key], f)
                    f.write('}')
            _replace(tmp, self.path)
            if self.idle_pins is not None:
                self.save_pins(self.idle_pins())
            if hasattr(os, 'sync'):
                os.sync()
        except OSError as e:
            self.error = {'code': 'save_failed', 'field': None, 'message':
                          'could not save %s: %s' % (self.path, e)}
            return
        finally:
            data['bindings'] = []
        saved(self)

    def pins_path(self):
        return self.path.rpartition('/')[0] + '/pins.json' if '/' in \
            self.path else 'pins.json'

    def save_pins(self, pins, trusted=True):
        """pins.json for the config.json on flash now, with the pins this
        board may drive if known (OSError: the caller's). ``trusted``: that
        config.json is one this image wrote or checked in full on this
        board, and ``stamp`` says so: the next boot builds it without
        checking it again (``app.startup.trusted``)."""
        from app.board.pinsfile import checksum
        path = self.pins_path()
        saved = {'config': checksum(self.path), 'pins': pins}
        if self.drivable is not None:
            saved['out'] = self.drivable
        if trusted and self.stamp is not None:
            saved['saved_by'] = self.stamp
        with open(path + '.tmp', 'w') as f:
            json.dump(saved, f)
        _replace(path + '.tmp', path)


def rejected_path(path):
    """Where the rejected file of ``path`` is kept: config.rejected.json."""
    return (path[:-5] if path.endswith('.json') else path) + '.rejected.json'


def saved(store):
    """After a save: the config on flash is what runs; safe mode lasts while
    a rejected file is kept (nothing kept: nothing is left out)."""
    if store.rejected is None:
        store.config_errors = []
        store.problem = None
    store.safe_mode = bool(store.config_errors)
    store.error = store.problem if store.safe_mode else None


class Saver:
    """``registry.on_change`` (``app.main.persist``): ``saver(True)`` saves
    now (a REST change), ``saver(False)`` marks the config dirty for the
    task, which saves it within ``SAVE_DELAY_MS`` of the first change and
    then at most once per ``SAVE_GAP_MS``: 20 rule actions in 2 s are two
    saves. A save writes everything, so a durable one takes what was
    pending too."""

    def __init__(self, store, specs):
        self.store = store
        self.specs = specs  # () -> the bindings to save (Registry.specs)
        self.pending = False  # a change not saved yet
        self._saved_ms = ticks_add(ticks_ms(), -SAVE_GAP_MS)
        self._failed = False  # the last save failed (noted once)
        self._task = None

    def __call__(self, durable=True):
        self.pending = True  # a plain store: safe from a scheduled callback
        if durable:
            self.flush()

    def flush(self):
        """Save now if a change is pending (the task, a REST change,
        Ctrl-C). A failed save stays pending and is noted in the event
        log (``app.log``), once until a save succeeds."""
        if not self.pending:
            return
        store = self.store
        self.pending = False
        self._saved_ms = ticks_ms()
        store.save(self.specs())
        error = store.error
        failed = False
        if error is not None and error.get('code') == 'save_failed':
            failed = self.pending = True  # tried again after the gap
            if not self._failed:
                from app import log
                log.note('save failed: ' + error['message'])
        self._failed = failed

    def start(self):
        """Start the task, once (app.main, when the asyncio loop runs)."""
        if self._task is None:
            import asyncio
            self._task = asyncio.create_task(self.run())

    async def run(self):
        import asyncio
        while True:
            await asyncio.sleep_ms(SAVE_DELAY_MS)
            try:
                if self.pending and ticks_diff(
                        ticks_ms(), self._saved_ms) >= SAVE_GAP_MS:
                    self.flush()
            except Exception as e:  # the task lives on whatever a save does
                from app import log
                log.note('save failed: %r' % e)


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
