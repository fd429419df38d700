"""Changes of the config as plain functions, for whoever asks: the HTTP
routes (``app.http.admin``) and MQTT (``<base>/config/set``) call them with
a parsed body, never a request. Loaded by the first change (a board that
never changes its config keeps the heap).

Safe mode (``app.startup``) keeps the file it could not run in full as
config.rejected.json: a PUT (a whole new config) replaces it, DELETE
/api/config/rejected drops it; any other change keeps it.
"""
from micropython import const
from app import log, schema
from app.config import exists
from app.errors import ApiError, invalid
from app.strictjson import problem

_SECTIONS = const(('http', 'wifi', 'limits', 'mqtt', 'time', 'location',
                   'schedule'))  # merged key by key by a PATCH
_SECRETS = const((b'"api_token"', b'"password"', b'"ap_password"'))


def change(registry, store, body, replace=False):
    """Apply ``body`` (parsed JSON) to the config and save it; return the
    config as a client may see it (secrets redacted).

    ``replace`` False (PATCH): only what is sent: a section's keys replace
    those keys, ``bindings`` (if sent) replaces the list. True (PUT): a
    whole new config, ``bindings`` included (one without them would delete
    every binding). Either is checked in full and applied at once (all
    bindings replaced when ``bindings`` or ``limits`` are sent), or not at
    all: ApiError, nothing changed. A secret sent back as "********"
    keeps its stored value."""
    board = registry.board
    current = dict(store.data)  # the registry has the bindings
    current['bindings'] = registry.specs()
    current['schedules'] = store.schedules()  # and app.time the events
    if not replace:
        new = merge(current, body)
    elif isinstance(body, dict) and 'bindings' not in body:
        raise invalid('bindings', 'bindings is required in a PUT; use PATCH '
                      'to change part of the config')
    else:
        new = body
    data = schema.check(new, current)
    if data['board'] not in ('auto', board.name):
        raise invalid('board', 'this board is %s; use "auto" or "%s" (a '
                      'different board needs a reflash)'
                      % (board.name, board.name))
    # a PATCH of other sections leaves the bindings running as they are
    if replace or 'bindings' in body or 'limits' in body:
        limit = registry.max_bindings
        registry.max_bindings = data['limits']['bindings']
        try:
            # the pool takes the new size now, as it would at the next boot
            registry.replace_all(data['bindings'],
                                 data['limits']['virtual_timers'])
        except ApiError:
            registry.max_bindings = limit
            raise
    store.data = data
    if replace and store.rejected is not None:
        _forget(registry, store, 'a whole new config (PUT) replaced it')
    else:
        registry.on_change()
    return shown(registry, store)


def shown(registry, store):
    """The running config as a client may see it: secrets redacted, the
    bindings as the registry runs them."""
    out = schema.redact(store.data)
    out['bindings'] = registry.specs()
    out['schedules'] = store.schedules()
    return out


def merge(old, patch):
    """``old`` with ``patch`` laid over it: a section's keys one by one,
    anything else (``bindings`` too) whole. Not a dict: left to the check."""
    if not isinstance(patch, dict):
        return patch
    out = dict(old)
    for key, value in patch.items():
        if key in _SECTIONS and isinstance(value, dict) and isinstance(
                old.get(key), dict):
            section = dict(old[key])
            section.update(value)
            value = section
        out[key] = value
    return out


def rejected(store):
    """GET /api/config/rejected: the file safe mode kept, as it was but
    for its secrets ("********", as GET /api/config shows them; a PUT of
    it keeps the stored ones), parsed if it is a JSON object, and what in
    it did not validate. 404 when none is kept."""
    raw = _kept_text(store)
    raw = redact_text(raw)
    config = None
    if problem(raw) is None:
        import json
        config = json.loads(raw)
        if not isinstance(config, dict):
            config = None
    try:
        text = raw.decode()
    except UnicodeError:  # shown with U+FFFD for each byte that is not ASCII
        text = ''.join(chr(c) if c < 0x80 else '\ufffd' for c in raw)
    return {'config': config, 'text': text, 'errors': store.config_errors}


def drop(registry, store):
    """DELETE /api/config/rejected: forget the kept file; what runs stays
    (saved, so the next boot runs it too). 404 when none is kept."""
    _kept_text(store)
    _forget(registry, store, 'deleted on request')


def _kept_text(store):
    path = store.rejected
    try:
        if path is None:
            raise OSError
        with open(path, 'rb') as f:
            return f.read()
    except OSError:
        raise ApiError(404, 'not_found', 'no rejected config is kept: the '
                       'config on the board runs in full')


def _drop_rejected(store):
    """Forget the rejected file: the next save writes config.json without
    keeping it; then ``_remove_rejected`` deletes a kept one. (Here, not
    in app.config: only a change drops it, and a boot keeps the heap.)"""
    kept = store.rejected
    store.rejected = None
    store.config_errors = []
    store.problem = None
    return kept if kept != store.path else None


def _remove_rejected(kept):
    if kept is not None and exists(kept):
        import os
        os.remove(kept)


def _forget(registry, store, why):
    """Save without the kept file, then delete it; if the save fails,
    nothing is forgotten."""
    before = store.rejected, store.config_errors, store.problem
    kept = _drop_rejected(store)
    registry.on_change()
    error = store.error
    if error and error.get('code') == 'save_failed':
        store.rejected, store.config_errors, store.problem = before
        store.safe_mode = True
        return
    try:
        _remove_rejected(kept)
    except OSError as e:
        log.note('save failed: could not delete %s: %s' % (kept, e))
        return
    log.note('config: the rejected config (%s) is dropped: %s'
             % (kept or store.path, why))


def redact_text(raw):
    """``raw`` (bytes) with the string value of every key that holds a
    secret (api_token, password, ap_password) replaced by "********"; it
    stays valid JSON if it was."""
    out = raw
    for key in _SECRETS:
        i = out.find(key)
        while i >= 0:
            start = _skip(out, i + len(key))
            if start < len(out) and out[start] == 0x3a:  # ':'
                start = _skip(out, start + 1)
                if start < len(out) and out[start] == 0x22:  # '"'
                    end = start + 1
                    while end < len(out) and out[end] != 0x22:
                        end += 2 if out[end] == 0x5c else 1  # a \ escape
                    if end > start + 1:
                        out = out[:start + 1] + b'********' + out[end:]
            i = out.find(key, i + 1)
    return out


def _skip(raw, i):
    while i < len(raw) and (raw[i] == 0x20 or raw[i] == 0x0a
                            or raw[i] == 0x0d or raw[i] == 0x09):
        i += 1
    return i
