"""Over-the-air updates (deploy.py --ota, docs/ota.md) on the simulated
board: the unix port serving a flash dir on 127.0.0.1, run by
tools/run_sim.py (which starts it again when it reboots, and kills an image
whose trial outlives its limit, as a watchdog would). Every update goes
through the real command line; the board's request log says what went
over the wire."""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from vm import MICROPYTHON, ROOT, VM, free_port, image, make_flash

sys.path.insert(0, str(ROOT))
import deploy  # noqa: E402
from tools.deploy.build import ROOT_FILES, write_manifest  # noqa: E402

PYTHON = sys.executable
TOKEN = 'ota-test-token-0123456789'
CONFIG = {'board': 'auto', 'api_token': TOKEN,
          'bindings': [{'id': 'led', 'kind': 'blink', 'pin': 2,
                        'period_ms': 500}]}


class Board:
    """tools/run_sim.py on a flash dir: the simulated board as `make run`
    runs it. Stopped by its pid (SIGTERM: the runner stops its VM)."""

    def __init__(self, flash, env=None):
        self.flash = Path(flash)
        self.vm = VM(self.flash)  # its port, and its request helpers
        self.port = self.vm.port
        self.url = 'http://127.0.0.1:%d' % self.port
        self.env = env or {}
        self.log = self.flash.parent / (self.flash.name + '-run.log')
        self.proc = None

    def start(self):
        env = dict(os.environ, PINWHEEL_PORT=str(self.port), **self.env)
        self._logf = open(self.log, 'ab')
        self.proc = subprocess.Popen(
            [PYTHON, str(ROOT / 'tools' / 'run_sim.py'), str(self.flash),
             '--vm', MICROPYTHON], env=env, stdout=self._logf,
            stderr=subprocess.STDOUT)
        self.wait_serving()
        return self

    def wait_serving(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.output()
            try:
                return self.vm.get('/api/status', timeout=1)[1]
            except OSError:
                time.sleep(0.05)
        raise AssertionError('not serving:\n' + self.output())

    def status(self):
        status, body, _ = self.vm.get('/api/status')
        assert status == 200, body
        return body

    def output(self):
        return self.log.read_text(errors='replace') if self.log.exists() else ''

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc:
            self._logf.close()
        self.proc = None


@pytest.fixture
def board(tmp_path):
    started = []

    def make(config=CONFIG, env=None):
        b = Board(make_flash(tmp_path / ('flash%d' % len(started)), config),
                  env)
        started.append(b)
        return b.start()
    yield make
    for b in started:
        b.stop()


def variant(tmp_path, name, extra, module='errors'):
    """The test image with ``extra`` appended to app/<module>.py: a new
    version, one module changed."""
    out = tmp_path / name
    shutil.copytree(image(), out)
    src = next((ROOT / 'app').rglob(module + '.py'))
    rel = src.relative_to(ROOT).with_suffix('')
    changed = tmp_path / (name + '.py')
    changed.write_text(src.read_text() + '\n' + extra + '\n')
    deploy.compile_mpy(changed, out / rel.with_suffix('.mpy'),
                       '.'.join(rel.parts))
    for p in (out / 'manifest.json', out / 'version.json'):
        p.unlink()
    write_manifest(out, time.time())
    return out


def version_of(img):
    return json.loads((Path(img) / 'version.json').read_text())['version']


def run_ota(board, img, *args, token=TOKEN, timeout=120):
    cmd = [PYTHON, str(ROOT / 'deploy.py'), '--ota', board.url, '--image',
           str(img)]
    if token:
        cmd += ['--token', token]
    result = subprocess.run(cmd + list(args), cwd=ROOT, capture_output=True,
                            text=True, timeout=timeout)
    return result.returncode, result.stdout, result.stderr


def requests(board, since=0):
    """The writes the board logged after offset ``since`` of its log."""
    return re.findall(r'^(PUT|POST|PATCH|DELETE) (\S+) (\d+)',
                      board.output()[since:], re.M)


def flash_state(flash):
    """Every file of the flash dir but the logs and the runtime files the
    app writes itself, with its bytes."""
    skip = {'vm.log', 'config.json', 'pins.json'}
    return {p.relative_to(flash).as_posix(): p.read_bytes()
            for p in sorted(Path(flash).rglob('*'))
            if p.is_file() and p.name not in skip}


def complete_image(flash):
    """The version slot.json runs, after checking that every file of its
    manifest is on the flash with the right hash (a whole image)."""
    flash = Path(flash)
    try:
        run = json.loads((flash / 'slot.json').read_text()).get('run') or ''
    except FileNotFoundError:
        run = ''
    base = flash / run if run else flash
    manifest = (base / 'manifest.json').read_bytes()
    for rel, (size, sha) in json.loads(manifest)['files'].items():
        p = flash / rel if rel in ROOT_FILES else base / rel
        data = p.read_bytes()
        assert len(data) == size and hashlib.sha256(data).hexdigest() == sha, \
            '%s of the running image is broken' % p
    version = json.loads((base / 'version.json').read_text())['version']
    assert version == hashlib.sha256(manifest).hexdigest()[:8]
    return version


def test_a_changed_module_sends_only_it_and_the_manifest(board, tmp_path):
    b = board()
    old = b.status()['image']
    assert old['version'] == version_of(image()) and old['trial'] is False
    assert b.status()['host'] == {'name': 'pinwheel-sim', 'ip': '127.0.0.1'}
    root_before = flash_state(b.flash)
    new = variant(tmp_path, 'new', 'OTA_TEST_MARK = 1')
    mark = len(b.output())
    code, out, err = run_ota(b, new, '--follow')
    assert code == 0, out + err
    sent = [path for method, path, status in requests(b, mark)
            if method == 'PUT']
    assert sorted(sent) == sorted('/api/ota/file/' + p for p in (
        'app/errors.mpy', 'manifest.json', 'version.json')), b.output()
    assert all(s == '200' for _, _, s in requests(b, mark)), b.output()
    assert '3 sent' in out and 'copied on the board' in out, out
    v = version_of(new)
    assert re.search(r'serving version %s .* on pinwheel-sim \(127\.0\.0\.1\)'
                     % v, out), out
    image_now = b.status()['image']
    assert image_now['version'] == v and image_now['trial'] is False
    assert image_now['rolled_back'] is None
    slot = json.loads((b.flash / 'slot.json').read_text())
    assert slot == {'run': 'slot_b', 'prev': '', 'version': v,
                    'prev_version': old['version']}
    # the old image (the rollback) was not touched, the new one is whole
    after = flash_state(b.flash)
    assert {k: after[k] for k in root_before} == root_before
    assert complete_image(b.flash) == v
    assert 'run_sim: reboot' in b.output()
    # and back: this time the root slot is filled, slot_b stays
    code, out, err = run_ota(b, image(), '--follow')
    assert code == 0, out + err
    assert b.status()['image']['version'] == old['version']
    assert complete_image(b.flash) == old['version']
    assert json.loads((b.flash / 'slot.json').read_text())['prev'] == 'slot_b'


def test_an_update_that_changes_nothing_writes_nothing(board):
    b = board()
    up = b.status()['uptime_ms']
    before = flash_state(b.flash)
    mark = len(b.output())
    code, out, err = run_ota(b, image(), '--follow')
    assert code == 0, out + err
    assert 'already runs version %s: nothing sent, no reboot' \
        % version_of(image()) in out
    assert requests(b, mark) == [] and 'run_sim: reboot' not in b.output()
    assert b.status()['uptime_ms'] > up and flash_state(b.flash) == before


def test_a_dry_run_lists_what_would_be_sent_and_writes_nothing(board,
                                                                tmp_path):
    b = board()
    before = flash_state(b.flash)
    mark = len(b.output())
    code, out, err = run_ota(b, variant(tmp_path, 'new', 'X = 1'),
                             '--dry-run')
    assert code == 0, out + err
    assert '  would send app/errors.mpy (' in out and \
        out.count('would send ') == 2, out  # the file, then the summary
    assert 'nothing was written' in out and requests(b, mark) == []
    assert flash_state(b.flash) == before


def test_a_wrong_token_is_refused_and_nothing_is_written(board, tmp_path):
    b = board()
    before = flash_state(b.flash)
    code, out, err = run_ota(b, variant(tmp_path, 'new', 'X = 1'),
                             token='not-the-token')
    assert code == 1 and err.count('\n') == 1, out + err
    assert err.startswith('deploy: error: the board refused the token'), err
    assert [s for _, _, s in requests(b)] == ['401'], b.output()
    assert flash_state(b.flash) == before


def test_a_board_without_a_token_refuses_ota(board, tmp_path):
    b = board(config=dict(CONFIG, api_token=None))
    before = flash_state(b.flash)
    code, out, err = run_ota(b, variant(tmp_path, 'new', 'X = 1'), token=None)
    assert code == 1, out + err
    assert 'no api_token, so anyone on its network could replace its code' \
        in err, err
    assert flash_state(b.flash) == before


def test_a_broken_main_rolls_back_and_says_why(board, tmp_path):
    b = board()
    old = b.status()['image']['version']
    broken = variant(tmp_path, 'broken',
                     "raise RuntimeError('broken on purpose')", module='main')
    code, out, err = run_ota(b, broken, '--follow')
    assert code == 1, out + err
    v = version_of(broken)
    assert err.strip() == ('deploy: error: the board rolled back to version '
                           '%s: %s failed (raised RuntimeError: broken on '
                           'purpose at boot)' % (old, v)), err
    image_now = b.status()['image']
    assert image_now['version'] == old and image_now['trial'] is False
    assert image_now['rolled_back'] == {
        'version': v, 'why': 'raised RuntimeError: broken on purpose at boot'}
    assert complete_image(b.flash) == old
    assert 'update to version %s rolled back' % v in b.output()
    status, log, _ = b.vm.get('/api/log')
    if status == 200:  # the event log (issue 20), where the app has one
        assert any('rolled back' in e['text'] for e in log['events']), log


def test_an_image_that_never_serves_is_reset_by_the_watchdog(board, tmp_path):
    b = board()
    old = b.status()['image']['version']
    hangs = variant(tmp_path, 'hangs', 'import time\ntime.sleep(3600)',
                    module='main')
    code, out, err = run_ota(b, hangs, '--follow', '--trial-s', '5')
    assert code == 1, out + err
    why = b.status()['image']['rolled_back']['why']
    assert why == 'not confirmed: the watchdog reset it before it served', why
    assert b.status()['image']['version'] == old
    assert 'did not confirm in time' in b.output()


def test_a_full_flash_is_refused_before_anything_is_written(board, tmp_path):
    flash = make_flash(tmp_path / 'small', CONFIG)
    used = sum((p.stat().st_size + 4095) // 4096 * 4096
               for p in flash.rglob('*') if p.is_file())
    # room for the image it runs and a little more, not for a second one
    b = Board(flash, env={'PINWHEEL_FLASH_BYTES': str(used + 64 * 1024)})
    try:
        b.start()
        before = flash_state(b.flash)
        code, out, err = run_ota(b, variant(tmp_path, 'new', 'X = 1'))
        assert code == 1, out + err
        assert re.match(r'deploy: error: the board answered POST /api/ota/'
                        r'begin with 507: the flash holds \d+ bytes free for '
                        r'the new image and it needs about \d+: a board keeps '
                        r'two images', err), err
        assert flash_state(b.flash) == before
        assert b.status()['image']['version'] == version_of(image())
    finally:
        b.stop()


def test_a_power_cut_at_any_moment_boots_one_whole_image(tmp_path):
    """SIGKILL the board at points all through an update (upload, check,
    switch, reboot): it boots again, whole, on the old image or the new."""
    flash = make_flash(tmp_path / 'flash', CONFIG)
    new = variant(tmp_path, 'new', 'X = 1')
    versions = {version_of(image()), version_of(new)}
    seen = set()
    port = free_port()
    for delay in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.7):
        vm = VM(flash, port=port).start()  # no runner: a kill is final
        cmd = [PYTHON, str(ROOT / 'deploy.py'), '--ota',
               'http://127.0.0.1:%d' % port, '--token', TOKEN, '--image',
               str(new if vm.get('/api/status')[1]['image']['version']
                   != version_of(new) else image())]
        client = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        time.sleep(delay)
        vm.stop()  # SIGKILL, as a power cut (or it rebooted already)
        client.wait(60)
        version = complete_image(flash)
        assert version in versions
        vm = VM(flash, port=port).start()
        try:
            assert vm.get('/api/status')[1]['image']['version'] == version
        finally:
            vm.stop()
        seen.add(version)
    print('versions booted after the cuts:', sorted(seen))


def test_unreachable_boards_are_one_line_errors():
    port = free_port()  # nothing listens there
    for url, says in (('http://127.0.0.1:%d' % port, 'nothing answers at'),
                      ('pinwheel-no-such-board.invalid', 'cannot find the board'),
                      ('ftp://x', '--ota takes http://HOST[:PORT]')):
        result = subprocess.run([PYTHON, str(ROOT / 'deploy.py'), '--ota', url,
                                 '--token', TOKEN], cwd=ROOT, text=True,
                                capture_output=True, timeout=60)
        assert result.returncode == 1, result
        assert result.stderr.startswith('deploy: error: ') and \
            says in result.stderr and result.stderr.count('\n') == 1, result


def test_sigkill_mid_upload_boots_the_old_image(tmp_path):
    from tools.deploy.ota import Http
    flash = make_flash(tmp_path / 'flash', CONFIG)
    new = variant(tmp_path, 'new', 'X = 1')
    files = json.loads((new / 'manifest.json').read_text())['files']
    vm = VM(flash).start()
    try:
        http = Http('http://127.0.0.1:%d' % vm.port, TOKEN, 10)
        http.call('POST', '/api/ota/begin', {'version': version_of(new),
                                             'bytes': 200000, 'files': 60})
        http.call('POST', '/api/ota/copy', {'files': sorted(files)[:10]})
        data = (new / 'app' / 'errors.mpy').read_bytes()
        http.call('PUT', '/api/ota/file/app/errors.mpy?at=0', raw=data[:100])
    finally:
        vm.stop()  # SIGKILL in the middle of the upload
    assert (flash / 'slot_b' / 'app' / 'errors.mpy').stat().st_size == 100
    assert not (flash / 'slot.json').exists()
    assert complete_image(flash) == version_of(image())
    vm = VM(flash).start()
    try:
        assert vm.get('/api/status')[1]['image']['version'] == \
            version_of(image())
        # the next update starts over (the board forgot the half one)
        status, body, _ = vm.request(
            'PUT', '/api/ota/file/app/errors.mpy?at=100', raw=data[100:],
            headers={'Authorization': 'Bearer ' + TOKEN})
        assert status == 409 and body['error']['code'] == 'not_begun', body
    finally:
        vm.stop()


def test_a_normal_boot_loads_no_update_code(tmp_path):
    """The update's code is imported by the first update request only: a
    board that boots, serves and answers its status holds neither the
    route's module (app/http/ota.py) nor app.ota."""
    from test_heap import probe
    heap = probe(tmp_path)
    assert 'app.registry' in heap['served'], heap['served']
    for step in ('booted', 'served', 'again'):
        assert [m for m in heap[step] if m.startswith('app.ota')
                or m == 'app.http.ota'] == [], step


def test_a_file_changed_by_hand_on_the_board_is_sent(board, tmp_path):
    """The running image differs from its manifest (a file changed on the
    board): the copy of it fails the check, deploy.py sends it, and the
    update goes through."""
    b = board()
    css = b.flash / 'static' / 'style.css.gz'
    css.write_bytes(css.read_bytes() + b'changed by hand')
    new = variant(tmp_path, 'new', 'X = 1')
    code, out, err = run_ota(b, new, '--follow')
    assert code == 0, out + err
    assert 'static/style.css.gz on the board does not match its manifest: ' \
        'sending it' in out, out
    assert complete_image(b.flash) == version_of(new)


def test_the_figures_of_docs_ota_come_from_the_bench():
    """docs/ota.md's figures are bench/ota.py's (bench/ota_results.json):
    a changed figure means running the bench, not editing the page; and
    the figures recorded there hold the issue's budgets."""
    r = json.loads((ROOT / 'bench' / 'ota_results.json').read_text())
    text = ' '.join((ROOT / 'docs' / 'ota.md').read_text().split())
    size = r['board_image_bytes']
    runs = re.search(r'medians of (\d+)', r['what']).group(1)
    for figure in (
            'image is {:,} bytes in its files'.format(size['bytes']),
            'it is %d KB' % (size['in_4k_blocks'] // 1024),
            'two take at most %d KB' % (2 * size['in_4k_blocks'] // 1024),
            'medians of %s runs' % runs,
            'new version %.1f s after an update ends' % r['s']['serve_again_s'],
            'sends %d files ({:,} bytes)'.format(r['one_module_sent']['bytes'])
            % r['one_module_sent']['files'],
            'takes %.1f s against %.1f s' % (r['s']['ota_full_s'],
                                            r['s']['sim_flash_s']),
            '%.2f times' % r['ota_full_over_sim_flash']):
        assert figure in text, figure
    assert r['s_worst']['serve_again_s'] <= r['budgets']['serve_again_s']
    assert r['ota_full_over_sim_flash'] <= r['budgets']['ota_full_over_sim_flash']
    assert r['one_module_sent']['files'] == 3  # the module and the manifest


def test_a_usb_deploy_or_sim_flash_runs_the_image_it_copied(tmp_path):
    """After an OTA update the board runs slot_b/; a USB deploy writes the
    root image and removes slot.json, so the board runs what it copied
    (and so does deploy.py --sim-flash, which make run uses)."""
    from test_deploy import start_socat, stop, wait_port
    flash = make_flash(tmp_path / 'flash', CONFIG)
    slot = {'run': 'slot_b', 'prev': '', 'version': 'abcd1234'}
    (flash / 'slot.json').write_text(json.dumps(slot))
    port = free_port()
    proc = start_socat('TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork' % port,
                       'EXEC:%s,pty,raw,echo=0' % MICROPYTHON, flash)
    try:
        wait_port(port)
        result = subprocess.run(
            [PYTHON, str(ROOT / 'deploy.py'), '--port',
             'socket://127.0.0.1:%d' % port, '--image', str(image())],
            cwd=ROOT, capture_output=True, text=True, timeout=120)
    finally:
        stop(proc)
    assert result.returncode == 0, result.stdout + result.stderr
    assert 'slot.json: removed, so the board boots the image just copied' \
        in result.stdout, result.stdout
    assert not (flash / 'slot.json').exists()
    (flash / 'slot.json').write_text(json.dumps(slot))
    subprocess.run([PYTHON, str(ROOT / 'deploy.py'), '--sim-flash',
                    str(flash)], cwd=ROOT, check=True, capture_output=True,
                   timeout=120)
    assert not (flash / 'slot.json').exists()
