"""`make run` on the real VM: the request log, a clean Ctrl-C, and a board
without a network that keeps running its bindings headless."""
import re
import signal
import subprocess
import time

import pytest

from vm import MICROPYTHON, ROOT, VM, make_flash

BLINK = {'bindings': [{'id': 'led', 'kind': 'blink', 'pin': 2,
                       'period_ms': 20}]}
STOPPED = re.compile(r'^pinwheel: stopped \(Ctrl-C\): timers off, pins '
                     r'released \(1 of 1 bindings were running\)$', re.M)


def interrupt(vm):
    """SIGINT, as Ctrl-C in a terminal; the exit status and the output."""
    vm.proc.send_signal(signal.SIGINT)
    code = vm.proc.wait(10)
    vm.proc = None
    vm._logf.close()
    return code, vm.output()


def test_ctrl_c_stops_cleanly_and_requests_are_logged(tmp_path):
    vm = VM(make_flash(tmp_path / 'flash', BLINK)).start()
    try:
        assert vm.get('/api/bindings/led')[0] == 200
        assert vm.get('/api/nothing-here')[0] == 404
        assert vm.post('/api/bindings', {'kind': 'blinky'})[0] == 400
        code, out = interrupt(vm)
    finally:
        vm.stop()
    assert code == 0, out
    assert 'Traceback' not in out and 'KeyboardInterrupt' not in out, out
    assert len(STOPPED.findall(out)) == 1, out
    # method, path, status, milliseconds (none for a request no route took)
    assert re.search(r'^GET /api/bindings/led 200 \d+ ms$', out, re.M), out
    assert re.search(r'^GET /api/nothing-here 404 - ms$', out, re.M), out
    assert re.search(r'^POST /api/bindings 400 \d+ ms$', out, re.M), out
    # the serving line comes once the socket is bound, before any request
    serving = out.index('serving http://127.0.0.1:%d/' % vm.port)
    assert serving < out.index('GET /api/bindings/led'), out


def test_quiet_and_the_config_switch_turn_the_log_off(tmp_path):
    quiet = dict(BLINK, http={'port': 8080, 'log': False})
    vm = VM(make_flash(tmp_path / 'flash', quiet)).start()
    try:
        assert vm.get('/api/status')[0] == 200
        assert vm.get('/api/config')[1]['http']['log'] is False
        code, out = interrupt(vm)
    finally:
        vm.stop()
    assert code == 0 and 'GET /api' not in out, out
    flash = make_flash(tmp_path / 'flash2', BLINK)
    vm = VM(flash)
    proc = subprocess.Popen([MICROPYTHON, 'main.py', '--quiet'], cwd=flash,
                            env={'PINWHEEL_PORT': str(vm.port)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        line = proc.stdout.readline().decode()  # once the socket is bound
        assert 'serving http://127.0.0.1:%d/' % vm.port in line, line
        assert vm.get('/api/status')[0] == 200
        proc.send_signal(signal.SIGINT)
        out = proc.communicate(timeout=10)[0].decode()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert proc.returncode == 0, out
    assert 'GET /api/status' not in out and STOPPED.search(out), out


# A board with no network stack, on the unix port: the simulated board needs
# the host's sockets for its waker (a board's timers are hardware), so
# app.sim loads first; after that `import socket` finds a module that
# raises, as on a Pico without W.
NO_SOCKET = """\
import sys
sys.path.append('lib')
import asyncio
import app.sim
sys.modules.pop('socket', None)
sys.path.insert(0, 'nosocket')

async def report():  # the side channel: pin 2's level changes seen so far
    seen = 0
    level = app.sim.line(2).level
    while True:
        for _ in range(10):
            await asyncio.sleep_ms(10)
            if app.sim.line(2).level != level:
                level ^= 1
                seen += 1
        print('PIN2 %d' % seen)
asyncio.create_task(report())
from app.main import run
run()
"""


def test_no_socket_module_runs_the_bindings_headless(tmp_path):
    flash = make_flash(tmp_path / 'flash', BLINK)
    (flash / 'nosocket').mkdir()
    (flash / 'nosocket' / 'socket.py').write_text(
        "raise ImportError(\"no module named 'socket'\")\n")
    (flash / 'headless.py').write_text(NO_SOCKET)
    log = flash / 'vm.log'
    with open(log, 'wb') as out:
        proc = subprocess.Popen([MICROPYTHON, 'headless.py'], cwd=flash,
                                stdout=out, stderr=subprocess.STDOUT)
        try:
            counts = []
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and proc.poll() is None:
                counts = [int(n) for n in
                          re.findall(r'^PIN2 (\d+)$', log.read_text(), re.M)]
                if len(counts) >= 5 and counts[-1] > counts[0] + 5:
                    break
                time.sleep(0.1)
            alive = proc.poll() is None
            if alive:
                proc.send_signal(signal.SIGINT)
                proc.wait(10)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
    text = log.read_text()
    assert alive, text  # no network is not a crash
    assert 'serving http://' not in text, text  # nothing was served
    lines = [ln for ln in text.splitlines() if 'headless' in ln]
    assert lines == ['pinwheel: sim board, 1 binding, headless (no socket '
                     'module): running the bindings from config.json, no '
                     'API'], text
    # the blink keeps toggling pin 2 (every 20 ms) while nothing is served
    assert len(counts) >= 5 and counts[-1] > counts[0] + 5, (counts, text)
    assert proc.returncode == 0 and STOPPED.search(text), text


def test_a_taken_port_is_one_line_and_exit_1(tmp_path, make_vm):
    first = make_vm(config=BLINK)
    flash = make_flash(tmp_path / 'second', BLINK)
    res = subprocess.run([MICROPYTHON, 'main.py'], cwd=flash, timeout=30,
                         env={'PINWHEEL_PORT': str(first.port)},
                         capture_output=True, text=True)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert 'Traceback' not in out and 'serving' not in out, out
    # said in words, with the way out; no OSError repr
    assert re.search(r'^pinwheel: cannot serve on 127\.0\.0\.1:%d: port %d '
                     r'is taken: .*pick another port: make run PORT=%d$'
                     % (first.port, first.port, first.port + 1), out, re.M), out
    assert 'OSError' not in out and 'Errno' not in out, out


@pytest.mark.parametrize('port', ['abc', '70000', '0', '-1', '80 80'])
def test_a_port_that_is_none_is_one_line_and_exit_1(tmp_path, port):
    flash = make_flash(tmp_path / 'flash', BLINK)
    res = subprocess.run([MICROPYTHON, 'main.py'], cwd=flash, timeout=30,
                         env={'PINWHEEL_PORT': port}, capture_output=True,
                         text=True)
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert out.splitlines() == [
        'pinwheel: PORT=%s is not a port: use a number from 1 to 65535, '
        'e.g. make run PORT=8081' % port], out


def test_make_run_with_a_bad_port_is_one_line_and_exit_1(tmp_path):
    flash = make_flash(tmp_path / 'flash', BLINK)
    res = subprocess.run(['make', '-s', '-o', '.venv/.installed-run', 'run',
                          'PORT=70000', 'FLASH=%s' % flash], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode != 0, res.stdout + res.stderr
    said = [ln for ln in (res.stdout + res.stderr).splitlines()
            if ln.startswith('pinwheel:')]
    assert said == ['pinwheel: PORT=70000 is not a port: use a number from 1 '
                    'to 65535, e.g. make run PORT=8081'], res.stdout + res.stderr
    assert 'Traceback' not in res.stdout + res.stderr
