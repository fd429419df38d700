"""Filling the other slot with a new image, checking it, switching to it.

The routes of app/http/ota.py call these, in this order (deploy.py --ota,
tools/deploy/ota.py): ``begin`` (refuses before writing anything when the
board has no api_token or its flash would not hold both images, then
empties the other slot), ``copy`` (the files that did not change, from the
running image), ``put`` (the changed ones, in chunks), ``commit`` (every
file checked against manifest.json's SHA-256, then the flag replaced in
one rename). The running image is never written to: a power cut at any
moment boots it, or, once the flag is replaced, the new one on trial.
"""
import json
import os
from binascii import hexlify
from hashlib import sha256
from app.errors import ApiError
from app import ota

_FILES = ('manifest.json', 'version.json') + ota.ROOT_FILES
_DIRS = ('app/', 'static/')  # what an image holds
_SAFE = '_-./0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
_BUF = 2048
_staging = {}  # target, version: while an update is under way


def running():
    """(the slot the board runs, its flag)."""
    slot = ota.read()
    return slot.get('run') or '', slot


def free_bytes():
    """(bytes free, block size). The unix port's flash is a host dir: with
    ``PINWHEEL_FLASH_BYTES`` set it plays a flash of that size."""
    v = os.statvfs('.')
    block = v[0] or 4096
    limit = getattr(os, 'getenv', lambda name: None)('PINWHEEL_FLASH_BYTES')
    if limit:
        return max(0, int(limit) - _used('', block)), block
    return v[1] * v[4], block


def _used(top, block):
    """Bytes the files under ``top`` take, each rounded up to whole blocks."""
    total = 0
    for entry in os.ilistdir(top or '.'):
        p = top + '/' + entry[0] if top else entry[0]
        if entry[1] & 0x4000:
            total += _used(p, block)
        else:
            total += (os.stat(p)[6] + block - 1) // block * block
    return total


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _remove_tree(p):
    try:
        entries = list(os.ilistdir(p))
    except OSError:  # a file, or nothing
        if _exists(p):
            os.remove(p)
        return
    for entry in entries:
        _remove_tree(p + '/' + entry[0])
    os.rmdir(p)


def _image_paths(slot):
    """The top-level paths that make up an image in ``slot``."""
    pre = slot + '/' if slot else ''
    return [pre + d[:-1] for d in _DIRS] + [ota.path(slot, f) for f in _FILES]


def _mkdirs(p):
    parts = p.split('/')[:-1]
    for i in range(1, len(parts) + 1):
        try:
            os.mkdir('/'.join(parts[:i]))
        except OSError:  # there already
            pass


def check_path(rel):
    """``rel`` if it is a path an image may hold, else a 400."""
    ok = rel in _FILES or (rel.startswith(_DIRS) and '..' not in rel
                           and len(rel) <= 80)
    for c in rel:
        if c not in _SAFE:
            ok = False
    if not ok:
        raise ApiError(400, 'invalid_path', 'an image holds main.py, '
                       'manifest.json, version.json and files under app/ '
                       'and static/, not "%s"' % rel[:80], 'path')
    return rel


def sha(p):
    """The SHA-256 of the file at ``p``, as hex."""
    h = sha256()
    buf = bytearray(_BUF)
    view = memoryview(buf)
    with open(p, 'rb') as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            h.update(view[:n])
    return hexlify(h.digest()).decode()


def begin(store, body):
    """Check that the update may and can go ahead, then empty the other
    slot. ``body``: {"version", "bytes", "files"} of the new image."""
    if not store.data.get('api_token'):
        raise ApiError(403, 'ota_needs_token', 'this board has no api_token, '
                       'so anyone on its network could replace its code: set '
                       'one first (PATCH /api/config {"api_token": "..."}; '
                       'deploy over USB generates one)', 'api_token')
    try:
        need = int(body['bytes'])
        files = int(body.get('files', 64))
        version = str(body['version'])
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        raise ApiError(400, 'invalid_json', 'send {"version": "...", '
                       '"bytes": N, "files": N}', None)
    run, slot = running()
    if slot.get('trial') is not None:
        raise ApiError(409, 'on_trial', 'the running image is still on trial '
                       '(not confirmed): its rollback image must stay', None)
    target = ota.other(run)
    free, block = free_bytes()
    reclaim = sum(_used(p, block) if _is_dir(p) else
                  (os.stat(p)[6] + block - 1) // block * block
                  for p in _image_paths(target) if _exists(p))
    # each file ends in a part block; LittleFS keeps a few for itself
    need += files * block // 2 + 4 * block
    if need > free + reclaim:
        raise ApiError(507, 'flash_full', 'the flash holds %d bytes free for '
                       'the new image and it needs about %d: a board keeps two '
                       'images (docs/ota.md); delete files you do not need, or '
                       'deploy over USB (one image)' % (free + reclaim, need),
                       None)
    if slot.get('prev') is not None and slot['prev'] == target:
        # that image is about to be overwritten: no rollback to it any more
        slot['prev'] = slot['prev_version'] = None
        ota.write(slot)
    for p in _image_paths(target):
        _remove_tree(p)
    _staging.clear()
    _staging['target'] = target
    _staging['version'] = version
    return {'target': target, 'free': free + reclaim}


def _is_dir(p):
    try:
        return bool(os.stat(p)[0] & 0x4000)
    except OSError:
        return False


def _target():
    if 'target' not in _staging:
        raise ApiError(409, 'not_begun', 'no update under way: POST '
                       '/api/ota/begin first (the board may have rebooted)')
    return _staging['target']


def copy(body):
    """Copy the files of ``body["files"]`` from the running image into
    the other slot (the root files need no copy: they stay)."""
    target = _target()
    run = running()[0]
    files = body.get('files') if isinstance(body, dict) else None
    if not isinstance(files, list):
        raise ApiError(400, 'invalid_json', 'send {"files": [path, ...]}')
    buf = bytearray(_BUF)
    for rel in files:
        rel = check_path(str(rel))
        if rel in ota.ROOT_FILES:
            continue
        dst = ota.path(target, rel)
        _mkdirs(dst)
        try:
            src = open(ota.path(run, rel), 'rb')
        except OSError:
            raise ApiError(409, 'missing', 'the running image has no %s: '
                           'send it' % rel, 'files')
        with src, open(dst, 'wb') as out:
            while True:
                n = src.readinto(buf)
                if not n:
                    break
                out.write(buf if n == _BUF else memoryview(buf)[:n])
    return {'copied': len(files)}


def put(rel, at, data):
    """Write ``data`` at offset ``at`` of the new image's file ``rel``
    (0 starts it; the next chunk must start where the file ends)."""
    target = _target()
    dst = ota.path(target, check_path(rel))
    if at == 0:
        _mkdirs(dst)
        mode = 'wb'
    else:
        size = os.stat(dst)[6] if _exists(dst) else -1
        if size != at:
            raise ApiError(409, 'wrong_offset', '%s holds %d bytes, not %d: '
                           'send it again from 0' % (rel, max(size, 0), at),
                           'at')
        mode = 'ab'
    with open(dst, mode) as f:
        f.write(data)
    return {'size': at + len(data)}


def commit(body, current):
    """Check every file of the new image, then switch to it: the next boot
    runs it on trial. ``current``: the running image's version."""
    target = _target()
    version = _staging['version']
    if not isinstance(body, dict) or body.get('version') != version:
        raise ApiError(409, 'wrong_version', 'this update is of version %s'
                       % version, 'version')
    trial_s = body.get('trial_s', 60)
    if not isinstance(trial_s, int) or not 5 <= trial_s <= 3600:
        raise ApiError(400, 'invalid_field', 'trial_s: 5 to 3600 seconds',
                       'trial_s')
    manifest = ota.path(target, 'manifest.json')
    try:
        with open(ota.path(target, 'version.json')) as f:
            said = json.load(f).get('version')
        made = sha(manifest)[:8]
    except (OSError, ValueError, AttributeError):
        raise ApiError(409, 'incomplete', 'the new image has no valid '
                       'manifest.json and version.json: send them', None)
    if not said == made == version:
        raise ApiError(409, 'image_mismatch', 'manifest.json hashes to %s, '
                       'version.json says %s, the update is of %s: nothing '
                       'was switched' % (made, said, version), None)
    with open(manifest) as f:
        files = json.load(f)['files']
    for rel in files:
        size, want = files[rel]
        p = ota.path(target, rel)
        if rel in ota.ROOT_FILES and not _exists(p):
            p = rel  # unchanged: the one at the root stays
        try:
            ok = os.stat(p)[6] == size and sha(p) == want
        except OSError:
            ok = False
        if not ok:  # field: the file, which deploy.py then sends
            raise ApiError(409, 'image_mismatch', '%s of the new image is '
                           'missing or does not match manifest.json: nothing '
                           'was switched' % rel, rel)
    files = None
    run, slot = running()
    # the new root files, boot_image first: the shim keeps calling it the
    # same way, so a power cut between the two renames boots either way
    for rel in reversed(ota.ROOT_FILES):
        if _exists(ota.path(target, rel)):
            os.rename(ota.path(target, rel), rel)
    ota.write({'run': target, 'prev': run, 'version': version,
               'prev_version': current, 'trial': 0, 'trial_s': trial_s})
    _staging.clear()
    return {'version': version, 'slot': target, 'reboot': True}
