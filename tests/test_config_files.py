"""Config files work as users expect (issue 20, 6): ``deploy.py --config FILE``
checks the file with the board's own rules (the app's checks, on the
MicroPython VM) before anything is copied, on every path (``--sim-flash``,
a board over its console, ``--dry-run``), naming line and column; a missing
file is one line, exit 1; ``make run CONFIG=path`` runs with that config."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from test_deploy import board, image, run_deploy, snapshot  # noqa: F401
from vm import ROOT, VM, free_port, make_flash

sys.path.insert(0, str(ROOT))
from tools.deploy import DeployError  # noqa: E402
from tools.deploy.checkconfig import check_config, locate, path_of  # noqa: E402

GOOD = {'board': 'auto', 'bindings': [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 200}]}
# "blinky" on line 5, column 25 (its value); a second problem on line 7
BAD = """{
  "board": "auto",
  "bindings": [
    {"id": "led", "kind": "blink", "pin": 2, "period_ms": 200},
    {"id": "x", "kind": "blinky", "pin": 4}
  ],
  "schedules": [{"binding": "led", "do": "explode", "at": "07:00"}]
}
"""
NOT_JSON = '{\n  "bindings": [\n    {"id": "a", "kind": "blink", "pin": 2,}\n  ]\n}\n'


def one_line_error(code, out, err):
    assert code == 1, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('deploy: error: '), err
    assert 'Traceback' not in out + err
    return lines[0]


def refused(code, out, err):
    """The refusal: exit 1, the problems one a line with line and column,
    nothing copied."""
    assert code == 1, out + err
    assert 'Traceback' not in out + err and 'copied' not in out, out + err
    assert 'nothing was copied' in err, err
    return err


# ------------------------------------------------------------ --sim-flash

def test_sim_flash_missing_config_is_one_line(tmp_path):
    flash = tmp_path / 'flash'
    line = one_line_error(*run_deploy('--sim-flash', str(flash), '--config',
                                      str(tmp_path / 'missing.json')))
    assert 'missing.json' in line and 'no such file' in line, line
    assert not flash.exists()  # nothing built into it, nothing copied


def test_sim_flash_refuses_bad_content_before_copying(tmp_path):
    flash = make_flash(tmp_path / 'flash', GOOD)
    before = snapshot(flash)
    cfg = tmp_path / 'bad.json'
    cfg.write_text(BAD)
    err = refused(*run_deploy('--sim-flash', str(flash), '--config', str(cfg)))
    assert 'line 5 column 25: bindings[1]: unknown kind' in err, err
    assert "'blinky'" in err, err
    assert 'line 7 column 42: schedules[0]: do must be one of' in err, err
    assert err.index('line 5') < err.index('line 7')  # in the file's order
    assert snapshot(flash) == before


def test_sim_flash_refuses_a_file_that_is_not_json(tmp_path):
    flash = make_flash(tmp_path / 'flash', GOOD)
    before = snapshot(flash)
    cfg = tmp_path / 'broken.json'
    cfg.write_text(NOT_JSON)
    err = refused(*run_deploy('--sim-flash', str(flash), '--config', str(cfg)))
    assert 'not valid JSON: at line 3 column 43: expected' in err, err
    assert 'byte ' not in err, err
    assert snapshot(flash) == before


def test_sim_flash_good_config_replaces_and_drops_the_kept_file(tmp_path):
    flash = make_flash(tmp_path / 'flash', BAD.replace('blinky', 'blink'))
    (flash / 'config.rejected.json').write_text(BAD)
    cfg = tmp_path / 'good.json'
    cfg.write_text(json.dumps(GOOD))
    code, out, err = run_deploy('--sim-flash', str(flash), '--config',
                                str(cfg))
    assert code == 0, out + err
    assert 'config.json replaced by' in out and 'kept removed' in out, out
    assert json.loads((flash / 'config.json').read_text()) == GOOD
    assert not (flash / 'config.rejected.json').exists()


# ------------------------------------------- a board over its console

def test_board_refuses_bad_content_and_a_missing_file(board, image,  # noqa: F811
                                                       tmp_path):
    url, flash = board
    cfg = tmp_path / 'bad.json'
    cfg.write_text(BAD)
    before = snapshot(flash)
    for extra in ((), ('--dry-run',)):
        err = refused(*run_deploy('--port', url, '--image', str(image[0]),
                                  '--config', str(cfg), *extra))
        assert 'line 5 column 25: bindings[1]: unknown kind' in err, err
    assert snapshot(flash) == before  # not one file written
    line = one_line_error(*run_deploy('--port', url, '--image', str(image[0]),
                                      '--config', str(tmp_path / 'nope.json')))
    assert 'nope.json' in line, line
    assert snapshot(flash) == before


# ------------------------------------------------- the board's own rules

PICO_W = ('rp2', 'RPI_PICO_W', 'Raspberry Pi Pico W with RP2040')
LED = {'bindings': [{'id': 'led', 'kind': 'blink', 'pin': 'LED',
                     'period_ms': 500}]}
GPIO34_OUT = {'bindings': [{'id': 'out', 'kind': 'blink', 'pin': 34,
                            'period_ms': 500}]}


def check(tmp_path, config, facts=None):
    path = tmp_path / 'c.json'
    path.write_text(json.dumps(config, indent=1))
    return check_config(path, path.read_bytes(), facts)


def test_each_board_checks_with_its_own_pins(tmp_path):
    # "LED" is the Pico W's on-board LED; the simulated board (an ESP32's
    # pins) has none
    assert check(tmp_path, LED, PICO_W) == 'pico_w'
    with pytest.raises(DeployError, match=r'line 6 column 11: bindings\[0\]: '):
        check(tmp_path, LED)
    # GPIO 34 is input-only on an ESP32, and no GPIO of a Pico W
    with pytest.raises(DeployError, match='bindings'):
        check(tmp_path, GPIO34_OUT)
    with pytest.raises(DeployError, match='pico_w'):
        check(tmp_path, GPIO34_OUT, PICO_W)
    # a config for another board
    with pytest.raises(DeployError, match='board'):
        check(tmp_path, dict(LED, board='esp32s3'), PICO_W)


def test_locate_finds_the_value_or_what_lacks_it():
    text = '{"a": [1, {"b": 2}], "c": {"d": "x"}}'
    assert locate(text, path_of('a[1].b')) == (1, 17)
    assert locate(text, path_of('c.d')) == (1, 33)
    assert locate(text, path_of('c.e')) == (1, 27)  # missing: its object
    assert locate(text, path_of('a[5]')) == (1, 7)
    assert locate('{\n  "x": [\n\n  3]}', path_of('x[0]')) == (4, 3)


# ------------------------------------------------------ make run CONFIG=

def make_run(tmp_path, *args):
    """``make run`` with the venv as it is (-o: never reinstall it here)."""
    return subprocess.Popen(
        ['make', '-s', '-o', '.venv/.installed-run', 'run', *args], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True)


def stop_group(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)  # our make and its children
    proc.wait(10)


def test_make_run_config_runs_that_config(tmp_path):
    flash = make_flash(tmp_path / 'flash', {'board': 'auto', 'bindings': []})
    cfg = tmp_path / 'mine.json'
    cfg.write_text(json.dumps(GOOD))
    port = free_port()
    proc = make_run(tmp_path, 'CONFIG=%s' % cfg, 'FLASH=%s' % flash,
                    'PORT=%d' % port)
    try:
        vm = VM(flash, port=port)
        deadline = time.monotonic() + 60
        while True:
            try:
                status, body = vm.get('/api/bindings')[:2]
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    proc.stdout.read()
                time.sleep(0.2)
        assert status == 200 and [b['id'] for b in body['bindings']] == \
            ['led'], body
    finally:
        stop_group(proc)
    assert json.loads((flash / 'config.json').read_text()) == GOOD


def test_make_run_bad_config_stops_before_running(tmp_path):
    flash = make_flash(tmp_path / 'flash', GOOD)
    before = (flash / 'config.json').read_bytes()
    cfg = tmp_path / 'bad.json'
    cfg.write_text(BAD)
    proc = make_run(tmp_path, 'CONFIG=%s' % cfg, 'FLASH=%s' % flash,
                    'PORT=%d' % free_port())
    try:
        out = proc.communicate(timeout=120)[0]
    finally:
        stop_group(proc)
    assert proc.returncode != 0, out
    assert 'line 5 column 25: bindings[1]: unknown kind' in out, out
    assert 'serving' not in out and 'Traceback' not in out, out
    assert (flash / 'config.json').read_bytes() == before
    proc = make_run(tmp_path, 'CONFIG=%s' % (tmp_path / 'none.json'),
                    'FLASH=%s' % flash, 'PORT=%d' % free_port())
    try:
        out = proc.communicate(timeout=120)[0]
    finally:
        stop_group(proc)
    assert proc.returncode != 0 and 'none.json' in out, out
    assert [ln for ln in out.splitlines() if ln.startswith('deploy:')] == [
        ln for ln in out.splitlines() if 'none.json' in ln and
        ln.startswith('deploy: error: cannot read --config')], out
