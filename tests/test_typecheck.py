"""Port correctness without hardware: app/ type-checks with pyright against
each port's MicroPython stubs, and everything that goes to a board compiles
with mpy-cross.

Each port's stubs (pinned in requirements-stubs.txt) are installed into
their own dir, build/stubs/<port>, on first use: they cannot share one
site-packages, as they define the same modules differently.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from vm import BIN, ROOT

sys.path.insert(0, str(ROOT))
import deploy  # noqa: E402

PORTS = ('esp32', 'rp2', 'esp8266')
STUBS = ROOT / 'build' / 'stubs'


def pins():
    lines = (ROOT / 'requirements-stubs.txt').read_text().splitlines()
    return [ln.split('#')[0].strip() for ln in lines
            if ln.split('#')[0].strip()]


def stubs_for(port):
    """build/stubs/<port> with that port's stubs and the stdlib stubs."""
    want = [p for p in pins() if p.startswith(('micropython-%s-stubs==' % port,
                                               'micropython-stdlib-stubs=='))]
    assert len(want) == 2, want
    target = STUBS / port
    stamp = target / '.pins'
    if stamp.exists() and stamp.read_text() == '\n'.join(want):
        return target
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([str(BIN / 'python'), '-m', 'pip', 'install', '--quiet',
                    '--disable-pip-version-check', '--no-deps',
                    '--target', str(target), *want], check=True)
    stamp.write_text('\n'.join(want))
    return target


@pytest.mark.parametrize('port', PORTS)
def test_app_typechecks_against_port_stubs(port):
    stubs = stubs_for(port)
    config = STUBS / ('pyrightconfig-%s.json' % port)
    # paths in a pyright config are relative to the config file
    config.write_text(json.dumps({
        'include': [os.path.relpath(ROOT / 'app', STUBS)],
        'extraPaths': [os.path.relpath(ROOT, STUBS)],
        'stubPath': port,
        'typeshedPath': port,  # MicroPython's stdlib, not CPython's
        'pythonVersion': '3.11',
        'typeCheckingMode': 'standard',
        'reportMissingModuleSource': 'none',
    }))
    env = dict(os.environ, PYRIGHT_PYTHON_IGNORE_WARNINGS='1')
    result = subprocess.run([str(BIN / 'pyright'), '--outputjson', '-p',
                             str(config)], capture_output=True, text=True,
                            env=env, timeout=300, cwd=ROOT)
    try:
        report = json.loads(result.stdout)
    except ValueError:
        pytest.fail('pyright did not run:\n%s%s' % (result.stdout, result.stderr))
    problems = ['%s:%d: %s' % (os.path.relpath(d['file'], ROOT),
                               d['range']['start']['line'] + 1, d['message'])
                for d in report['generalDiagnostics']
                if d['severity'] == 'error']
    assert report['summary']['filesAnalyzed'] >= len(list((ROOT / 'app').glob('*.py')))
    assert not problems, '%s stubs:\n%s' % (port, '\n'.join(problems))


def test_everything_for_the_board_compiles_with_mpy_cross(tmp_path):
    sources = sorted((ROOT / 'app').glob('*.py'))
    shim = tmp_path / 'main.py'
    shim.write_text(deploy.BOOT_SHIM)
    sources.append(shim)
    failed = []
    for src in sources:
        out = tmp_path / 'out.mpy'
        result = subprocess.run(deploy.mpy_cross_command() + [
            '-o', str(out), str(src)], capture_output=True, text=True)
        if result.returncode or out.read_bytes()[:2] != b'M\x06':
            failed.append('%s: %s' % (src.name, result.stderr.strip()))
    assert not failed, '\n'.join(failed)
