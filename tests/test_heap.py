"""The built image on the real VM: boot-only code is dropped once boot has
run, and every kind of request is served from in-memory streams."""
import json
from pathlib import Path
from vm import make_flash, run_micropython

PROBE = Path(__file__).parent / 'mp' / 'heap_probe.py'
BOOT_ONLY = ['app.board.profiles', 'app.startup', 'app.board.bootpins']
# the checkers (and the config's defaults): the checking boot (a fresh
# flash's) loads them and drops them with the boot code; the first body
# (the first config change: the defaults) loads them again, to stay
CHECKERS = ['app.schema', 'app.validate', 'app.strictjson',
            'app.kinds.rulecheck', 'app.defaults']


def probe(tmp_path):
    res = run_micropython(PROBE, flash=make_flash(tmp_path / 'flash'),
                          timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    return json.loads(res.stdout.split('HEAP ', 1)[1])


def test_boot_only_code_is_dropped_and_requests_are_served(tmp_path):
    heap = probe(tmp_path)
    assert heap['statuses'] == heap['want']
    for step in ('booted', 'served'):
        kept = [m for m in BOOT_ONLY if m in heap[step]]
        assert kept == [], (step, kept)
    assert [m for m in CHECKERS if m in heap['booted']] == []
    assert 'app.validate' in heap['served'] and 'app.validate' in heap['again']
    assert 'app.defaults' in heap['served']  # with the config's checks
    assert 'app.registry' in heap['served']  # the probe saw real modules
