"""Heap use of the built image on the real VM: the code that requests load
on demand is dropped again, and the VM's name table stays below its next
doubling (see README, How it is built)."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from vm import MICROPYTHON, ROOT, image, make_flash

sys.path.insert(0, str(ROOT / 'bench'))
from report import NAMES_LIMIT  # noqa: E402

PROBE = Path(__file__).parent / 'mp' / 'heap_probe.py'
ON_DEMAND = ['app.admin', 'app.body', 'app.profiles', 'app.schema',
             'app.simpins', 'app.startup', 'app.validate', 'app.web']


def probe(tmp_path):
    flash = make_flash(tmp_path / 'flash')
    shutil.copyfile(PROBE, flash / 'heap_probe.py')
    res = subprocess.run([MICROPYTHON, 'heap_probe.py'], cwd=flash,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    heap = json.loads(res.stdout.split('HEAP ', 1)[1])
    tables = {}
    for step, n_pool, n_qstr in re.findall(
            r'TABLE (\w+)\nqstr pool: n_pool=(\d+), n_qstr=(\d+)', res.stdout):
        tables[step] = (int(n_pool), int(n_qstr))
    return heap, tables


def test_on_demand_code_is_dropped_after_its_requests(tmp_path):
    heap, _ = probe(tmp_path)
    assert heap['statuses'] == heap['want']
    for step in ('booted', 'served'):
        kept = [m for m in ON_DEMAND if m in heap[step]]
        assert kept == [], (step, kept)
    assert 'app.registry' in heap['served']  # the probe saw real modules


def test_names_stay_below_the_next_table_doubling(tmp_path):
    heap, tables = probe(tmp_path)
    assert heap['statuses'] == heap['want']
    booted, served = tables['booted'], tables['served']
    # every name the requests need was interned at boot (app.intern) ...
    assert served[0] == booted[0], (booted, served)
    # ... requests intern nothing (the table never shrinks: that would leak)
    assert tables['again'] == served, (served, tables['again'])
    # ... and all of them fit below the doubling: 7 KB of heap
    assert served[1] <= NAMES_LIMIT, (
        '%d names: over %d the VM allocates a 7 KB name table; shorten '
        'or share names (see README, How it is built)'
        % (served[1], NAMES_LIMIT))
