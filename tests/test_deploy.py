"""deploy.py end to end on a virtual board.

The virtual board is the unix port in an empty "flash" dir with its console
bridged to 127.0.0.1 by socat (a new micropython process per connection, so
each deploy meets a freshly booted board; the files stay). deploy.py talks to
it over mpremote's raw REPL without a soft reset, as it would over USB.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from vm import MICROPYTHON, ROOT, VM, free_port

sys.path.insert(0, str(ROOT))
import deploy  # noqa: E402

PYTHON = sys.executable


def start_socat(listen, target, cwd):
    """socat in its own process group, so the micropython children it forks
    are stopped with it (by our pid, never by name)."""
    proc = subprocess.Popen(
        ['socat', listen, target], cwd=cwd, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc


def stop(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(('127.0.0.1', port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError('socat did not listen on %d' % port)


@pytest.fixture(scope='module')
def board(tmp_path_factory):
    """(url, flash dir) of a virtual board that starts with an empty flash."""
    flash = tmp_path_factory.mktemp('deploy') / 'flash'
    flash.mkdir()
    port = free_port()
    proc = start_socat(
        'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork' % port,
        'EXEC:%s,pty,raw,echo=0' % MICROPYTHON, flash)
    try:
        wait_port(port)
        yield 'socket://127.0.0.1:%d' % port, flash
    finally:
        stop(proc)


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """An image built now, so every deploy here compares against the same
    files even while app/ changes under us."""
    out = tmp_path_factory.mktemp('deploy-image') / 'image'
    sizes = deploy.build(out, sim=True)  # a virtual board gets the simulator
    return out, sizes


def run_deploy(*args, timeout=120):
    result = subprocess.run([PYTHON, str(ROOT / 'deploy.py'), *args],
                            cwd=ROOT, capture_output=True, text=True,
                            timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def deploy_to(board, image, *args):
    code, out, err = run_deploy('--port', board[0], '--image', str(image[0]),
                                *args)
    assert code == 0, out + err
    return out


def summary(out):
    """(copied, unchanged, removed) from the last line that has them."""
    import re
    m = re.search(r'(\d+) copied .*?, (\d+) unchanged, (\d+) stale removed', out)
    assert m, out
    return tuple(int(x) for x in m.groups())


def snapshot(flash):
    return {str(p.relative_to(flash)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(Path(flash).rglob('*')) if p.is_file()}


def image_files(flash):
    return {str(p.relative_to(flash)) for p in Path(flash).rglob('*')
            if p.is_file() and p.name not in ('config.json', 'vm.log')}


# The tests below run in order on one board: each starts from the state the
# previous one left (as a user's redeploys do). Run alone, a test that needs
# a deployed board gets one first.

@pytest.fixture
def deployed(board, image):
    if not (board[1] / 'main.py').exists():
        deploy_to(board, image)
    return board

def test_first_deploy_copies_the_full_image_and_it_boots(board, image):
    url, flash = board
    started = time.monotonic()
    out = deploy_to(board, image)
    took = time.monotonic() - started
    files, sizes = image[0], image[1]
    assert summary(out) == (len(sizes), 0, 0), out
    assert '[%d/%d]' % (len(sizes), len(sizes)) in out
    assert 'virtual board (unix port)' in out and '.mpy v6' in out
    assert 'installed the repo default' in out
    assert image_files(flash) == set(sizes)
    for rel in sizes:
        assert (flash / rel).read_bytes() == (files / rel).read_bytes(), rel
    assert (flash / 'config.json').read_bytes() == (ROOT / 'config.json').read_bytes()
    print('full deploy of %d files, %d bytes: %.1f s'
          % (len(sizes), sum(sizes.values()), took))
    vm = VM(flash).start()
    try:
        status, body, _ = vm.get('/api/status')
        assert status == 200 and body['board'] == 'sim', body
        # a runtime change: the board saves it to its config.json
        status, body, _ = vm.post('/api/bindings', {
            'id': 'runtime', 'kind': 'blink', 'pin': 4, 'period_ms': 250})
        assert status == 201, body
    finally:
        vm.stop()
    saved = json.loads((flash / 'config.json').read_text())
    assert any(b['id'] == 'runtime' for b in saved['bindings'])


def test_second_deploy_copies_nothing_and_keeps_the_runtime_config(deployed, image):
    url, flash = deployed
    before = (flash / 'config.json').read_bytes()
    started = time.monotonic()
    out = deploy_to(deployed, image)
    print('no-change deploy: %.1f s' % (time.monotonic() - started))
    assert summary(out) == (0, len(image[1]), 0), out
    assert "kept the board's config.json" in out
    assert (flash / 'config.json').read_bytes() == before


def test_changing_one_app_file_copies_one(deployed, image, tmp_path):
    url, flash = deployed
    changed = tmp_path / 'image'
    shutil.copytree(image[0], changed)
    src = tmp_path / 'errors.py'
    src.write_text((ROOT / 'app' / 'errors.py').read_text()
                   + '\nDEPLOY_TEST_MARK = 1\n')
    deploy.compile_mpy(src, changed / 'app' / 'errors.mpy', 'app/errors.py')
    out = deploy_to(deployed, (changed, None))
    assert summary(out) == (1, len(image[1]) - 1, 0), out
    assert '[1/1] app/errors.mpy' in out
    assert (flash / 'app/errors.mpy').read_bytes() == \
        (changed / 'app/errors.mpy').read_bytes()
    out = deploy_to(deployed, image)  # and back
    assert summary(out)[0] == 1, out


def test_dry_run_lists_and_touches_nothing(deployed, image):
    url, flash = deployed
    (flash / 'static' / 'style.css.gz').unlink(missing_ok=True)
    missing = sorted(image_files(image[0]) - image_files(flash))
    (flash / 'app' / 'old_module.mpy').write_bytes(b'M\x06stale')
    before = snapshot(flash)
    out = deploy_to(deployed, image, '--dry-run')
    assert 'nothing is written' in out
    for rel in missing:
        assert 'would copy' in out and rel in out, out
    assert 'would remove stale app/old_module.mpy' in out
    assert "would keep the board's config.json" in out
    assert snapshot(flash) == before
    out = deploy_to(deployed, image)
    assert summary(out) == (len(missing), len(image[1]) - len(missing), 1), out
    assert not (flash / 'app' / 'old_module.mpy').exists()


def test_a_dir_that_is_not_an_image_is_refused(board, tmp_path):
    before = snapshot(board[1])
    line = one_line_error(*run_deploy('--port', board[0], '--image',
                                      str(tmp_path)))
    assert 'not a pinwheel image' in line
    assert snapshot(board[1]) == before


def test_config_flag_replaces_the_config(board, image, tmp_path):
    url, flash = board
    cfg = tmp_path / 'mine.json'
    cfg.write_text(json.dumps({'board': 'auto', 'bindings': []}))
    out = deploy_to(board, image, '--config', str(cfg))
    assert "replaced the board's config.json with" in out
    assert json.loads((flash / 'config.json').read_text()) == {
        'board': 'auto', 'bindings': []}


def test_wifi_without_token_gets_one_or_is_refused(deployed, image, tmp_path):
    url, flash = deployed
    cfg = tmp_path / 'wifi.json'
    cfg.write_text(json.dumps({'wifi': {'ssid': 'home', 'password': 'secret12'},
                               'bindings': []}))
    before = snapshot(flash)
    code, out, err = run_deploy('--port', url, '--image', str(image[0]),
                                '--config', str(cfg), '--no-token-generation')
    assert code == 1 and not out.count('copied'), out + err
    assert err.count('\n') == 1 and 'api_token' in err, err
    assert snapshot(flash) == before
    out = deploy_to(deployed, image, '--config', str(cfg))
    saved = json.loads((flash / 'config.json').read_text())
    token = saved['api_token']
    assert len(token) >= 20 and out.count(token) == 1, out
    assert saved['wifi']['ssid'] == 'home'
    out = deploy_to(deployed, image)  # has a token now: none generated again
    assert 'api_token' not in out
    assert json.loads((flash / 'config.json').read_text())['api_token'] == token
    # the board's own config (kept) gets Wi-Fi at runtime: a token is added,
    # everything else in it stays
    saved['api_token'] = None
    saved['bindings'] = [{'id': 'kept', 'kind': 'blink', 'pin': 5,
                          'period_ms': 100}]
    (flash / 'config.json').write_text(json.dumps(saved))
    out = deploy_to(deployed, image)
    again = json.loads((flash / 'config.json').read_text())
    assert again['api_token'] and out.count(again['api_token']) == 1, out
    assert again['bindings'] == saved['bindings']
    # only its own access point (WPA2, so a password): a token as well;
    # an AP that would be refused (short password) is no network
    for ap_password, gets_token in (('longenough', True), ('short', False)):
        cfg.write_text(json.dumps({'wifi': {'ap_password': ap_password},
                                   'bindings': []}))
        code, out, err = run_deploy('--port', url, '--image', str(image[0]),
                                    '--config', str(cfg),
                                    '--no-token-generation')
        assert (code == 1) == gets_token, out + err
        if gets_token:
            assert 'access point' in err, err


def test_follow_shows_the_boot_output_with_the_url(board, image, tmp_path):
    url, flash = board
    port = free_port()
    cfg = tmp_path / 'port.json'
    cfg.write_text(json.dumps({'http': {'port': port}, 'bindings': []}))
    out = deploy_to(board, image, '--config', str(cfg), '--follow')
    assert 'http://127.0.0.1:%d/' % port in out, out


def test_follow_fails_with_the_last_line_of_a_failed_boot(deployed, image,
                                                         tmp_path):
    """A boot that dies is not a success because something printed a URL:
    deploy exits 1 with the exception (the traceback's last line)."""
    broken = tmp_path / 'image'
    shutil.copytree(image[0], broken)
    src = tmp_path / 'main.py'
    src.write_text("print('pinwheel: dashboard http://192.168.1.23:8080/')\n"
                   "def run():\n"
                   "    raise MemoryError('memory allocation failed, "
                   "allocating 4096 bytes')\n")
    deploy.compile_mpy(src, broken / 'app' / 'main.mpy', 'app.main')
    code, out, err = run_deploy('--port', deployed[0], '--image', str(broken),
                                '--follow', timeout=60)
    assert code == 1, out + err
    assert err.strip() == ('deploy: error: the board did not boot: MemoryError:'
                           ' memory allocation failed, allocating 4096 bytes'
                           ), out + err
    assert 'Traceback' in out  # the board's output is shown as it came
    deploy_to(deployed, image)  # and back


def test_board_without_hashlib_compares_contents(deployed, image):
    """Firmware built without hashlib: the probe lists sizes only, and a
    file of the right size is compared by mpremote's fs_hashfile, which
    then reads it and hashes it on the host."""
    url, flash = deployed
    transport = deploy.open_board(url, 10)
    try:
        # `import hashlib` now finds a module without sha256, as on such
        # firmware (this VM process ends when the connection closes)
        transport.exec("import sys\nsys.modules['hashlib'] = sys")
        b = deploy.Board(transport, url)
        b.probe(['main.py'])
        assert b.files and all(h is None for _, h in b.files.values()), b.files
        main = {'main.py': image[1]['main.py']}
        assert deploy.compare(b, image[0], main) == []
        (flash / 'main.py').write_bytes((flash / 'main.py').read_bytes()
                                        .replace(b'sys', b'SYS'))
        assert deploy.compare(b, image[0], main) == ['main.py']
    finally:
        deploy.close(transport)
    deploy_to(deployed, image)


def one_line_error(code, out, err):
    assert code != 0, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('deploy: error: '), err
    assert 'Traceback' not in out + err
    return lines[0]


def test_missing_port_is_one_line():
    port = free_port()  # nothing listens there
    line = one_line_error(*run_deploy('--port', 'socket://127.0.0.1:%d' % port))
    assert 'no board found' in line
    line = one_line_error(*run_deploy('--port', '/dev/ttyUSB-pinwheel-none'))
    assert 'no board found' in line


def test_auto_port_without_a_usb_board_is_one_line():
    import serial.tools.list_ports
    if any(p.vid is not None for p in serial.tools.list_ports.comports()):
        pytest.skip('a USB serial device is plugged in here')
    line = one_line_error(*run_deploy())
    assert 'no board found' in line and '--port' in line


def test_board_that_does_not_answer_is_one_line():
    srv = socket.socket()
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    held = []

    def accept():  # accept, then say nothing, like a hung board
        try:
            held.append(srv.accept()[0])
        except OSError:
            pass
    threading.Thread(target=accept, daemon=True).start()
    try:
        started = time.monotonic()
        line = one_line_error(*run_deploy(
            '--port', 'socket://127.0.0.1:%d' % srv.getsockname()[1],
            '--timeout', '2'))
        assert 'does not answer' in line and 'RESET' in line
        assert time.monotonic() - started < 30
    finally:
        for c in held:
            c.close()
        srv.close()


def test_busy_port_is_one_line(tmp_path):
    import fcntl
    link = tmp_path / 'ttyVIRT'
    proc = start_socat('PTY,link=%s,raw,echo=0' % link, 'EXEC:cat', tmp_path)
    try:
        deadline = time.monotonic() + 10
        while not link.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(link, 'rb+', buffering=0) as other:  # another program
            fcntl.flock(other.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            line = one_line_error(*run_deploy('--port', str(link)))
        assert 'busy' in line
    finally:
        stop(proc)


@pytest.mark.parametrize('size_kb,before_copying', [
    (40, True),  # less free than the image: refused before copying
    (None, False),  # the image's bytes and 8 KB, but each file takes whole
    # 4 KB pages: ENOSPC (the image's size, as it grows)
])
def test_full_flash_is_one_line(tmp_path, image, size_kb, before_copying):
    """A virtual board whose flash is a small tmpfs, mounted in a private
    mount namespace (gone with socat; needs root, as in CI)."""
    if os.geteuid() != 0 or not shutil.which('unshare'):
        pytest.skip('needs root for a private tmpfs')
    if size_kb is None:  # the image as deploy copies it (with the simulator)
        from tools.deploy.build import add_sim
        size_kb = sum(add_sim(image[0]).values()) // 1024 + 8
    flash = tmp_path / 'small'
    flash.mkdir()
    port = free_port()
    proc = subprocess.Popen(
        ['unshare', '-m', 'sh', '-c',
         'mount -t tmpfs -o size=%dk tmpfs "$1" && cd "$1" && exec socat '
         'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork '
         'EXEC:%s,pty,raw,echo=0' % (size_kb, port, MICROPYTHON), 'sh',
         str(flash)], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        try:
            wait_port(port, timeout=5)
        except RuntimeError:
            pytest.skip('no private tmpfs here: %s' % proc.stderr.read1(200))
        line = one_line_error(*run_deploy('--port', 'socket://127.0.0.1:%d'
                                          % port))
        assert "flash is full" in line
        assert ('bytes needed' in line) == before_copying, line
    finally:
        stop(proc)


def failing_transport(error='OSError: [Errno 28] ENOSPC'):
    """mpremote's transport on a board where every command raises
    ``error`` (by default what a full flash raises)."""
    from mpremote.transport import Transport, TransportExecError

    class Failing(Transport):
        def exec(self, code, data_consumer=None):
            raise TransportExecError(b'', (
                'Traceback (most recent call last):\r\n  File "<stdin>", '
                'line 3\r\n%s\r\n' % error))
    return Failing()


@pytest.mark.parametrize('folder_known', [False, True])
def test_enospc_from_the_board_is_one_line(folder_known):
    """From making the folder (mpremote's fs_mkdir) or from the write."""
    b = deploy.Board(failing_transport(), 'test')
    if folder_known:
        b.dirs.add('app')
    with pytest.raises(deploy.DeployError) as e:
        b.write('app/api.mpy', b'x' * 10)
    assert str(e.value).startswith("the board's flash is full: ")


def test_a_failing_fs_call_names_the_file():
    b = deploy.Board(failing_transport('OSError: [Errno 2] ENOENT'), 'test')
    with pytest.raises(deploy.DeployError) as e:
        b.remove('app/old.mpy')
    assert str(e.value) == ('the board failed on app/old.mpy: No such file or '
                            'directory')


@pytest.mark.parametrize('version,mpy,why', [
    ((1, 19, 1), 6, '1.21.0 or newer'),
    ((1, 12, 0), 5, '1.21.0 or newer'),
    ((1, 20, 0), None, '1.21.0 or newer'),
    ((2, 0, 0), 7, '.mpy v7'),
])
def test_old_firmware_gets_a_clear_message(version, mpy, why):
    info = {'version': version, 'platform': 'esp32',
            'mpy': None if mpy is None else mpy | (10 << 10)}
    with pytest.raises(deploy.DeployError) as e:
        deploy.check_firmware(info, 6, 'auto')
    assert why in str(e.value) and 'https://micropython.org/download/' in str(e.value)
    assert '\n' not in str(e.value)


def test_firmware_checks_pass_for_supported_boards():
    # the variant comes from _build, or from _machine on firmware without it
    for platform, build, machine, name in (
            ('esp32', 'ESP32_GENERIC', '', 'esp32'),
            ('esp32', 'ESP32_GENERIC_C3', '', 'esp32_c3'),
            ('rp2', 'RPI_PICO_W', '', 'pico_w'),
            ('rp2', '', 'Raspberry Pi Pico with RP2040', 'pico'),
            ('rp2', 'SOME_OTHER_RP2040', '', 'unknown')):
        info = {'version': (1, 24, 1), 'platform': platform, 'build': build,
                'machine': machine, 'mpy': 6 | (10 << 10)}
        assert deploy.check_firmware(info, 6, 'auto') == name
    with pytest.raises(deploy.DeployError, match='--board pico_w'):
        deploy.check_firmware({'version': (1, 24, 1), 'platform': 'esp32',
                               'mpy': 6}, 6, 'pico_w')


@pytest.mark.parametrize('build,board', [('ESP8266_GENERIC', 'auto'),
                                         ('', 'auto'), ('ESP8266_GENERIC',
                                                        'esp8266')])
def test_esp8266_is_refused_with_its_one_line(build, board):
    info = {'version': (1, 24, 1), 'platform': 'esp8266', 'build': build,
            'machine': 'ESP module with ESP8266', 'mpy': 6 | (10 << 10)}
    with pytest.raises(deploy.DeployError) as e:
        deploy.check_firmware(info, 6, board)
    assert str(e.value) == 'esp8266: ' + deploy.PROFILES.find('esp8266')[
        'why_not']
    assert '\n' not in str(e.value) and 'frozen' in str(e.value)
