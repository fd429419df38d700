#!/usr/bin/env python3
"""How soon after start the outputs sit at their idle level, on the VM,
next to a bare ``Pin(n, Pin.OUT, value=0)`` script; the heap the
config.json path allocates; and the heap per schedule event (on the
64-bit unix port, and on a 32-bit build of it when MICROPYTHON32 names
one). Writes bench/boot_pins_results.json (not part of `make bench`: run
it on its own).

    [MICROPYTHON32=...] .venv/bin/python bench/boot_pins.py [--runs N]

Each script runs from a flash dir holding the built image and prints
``IDLE <pins> <us>`` when its pins are at idle: ``us`` is the time from
the script's first line (what a board spends after its firmware is up),
and the bench also takes the time from starting the process to that line
(process start included, the same for all):

- ``bare``: ``Pin(2, Pin.OUT, value=0)`` and nothing else (on the unix
  port the simulated Pin, as pinwheel's);
- ``early``: pinwheel's boot as main.py runs it, up to ``app.board.bootpins``
  (the first thing ``app.main`` does), pins.json matching config.json;
- ``stale``: the same after ``deploy.py --config`` (or a config written by
  hand, or a power cut between the two writes): config.json is new and
  pins.json is the old one's, so the levels come from config.json (the
  repo's config, one blink);
- ``stale_16``: the same with a config of 16 bindings (the default
  limit) and 64 schedule events;
- ``first``: the repo's config.json and no pins.json at all (a board's
  first boot): the pins the board may drive come from its profile;
- ``shim``: pins.json matching, ``app.board.bootpins`` called before
  ``app.main`` is even loaded (as a boot shim could call it; on the unix
  port the simulated board is installed first, as in ``bare``);
- ``boot``: the way it was before ``app.board.bootpins``, after a config
  deploy: ``app.main`` imported and ``boot()`` run on the ``stale``
  flash (the config parsed and checked in full, as every boot was before
  pins.json, the board and the bindings built), which is when the
  handlers drive their pins. That boot writes a matching pins.json (a
  later boot of the same files is the trusted one, without the checks),
  so the flash's files are put back before each run.

The runs are interleaved and the medians reported, with each case's ratio
to ``bare``. Every process is stopped by its own pid.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MICROPYTHON = os.path.abspath(os.environ.get('MICROPYTHON') or BIN / 'micropython')
# a 32-bit unix-port build, if one is at hand (as bench/run.py): the heap
# per schedule event is measured on it too
MICROPYTHON32 = os.environ.get('MICROPYTHON32')
sys.path.insert(0, str(ROOT))
import deploy  # noqa: E402

_T0 = """
import time
_t0 = time.ticks_us()
import sys
sys.path.append('lib')
"""
_EARLY = _T0 + """
from app.board import bootpins
_apply = bootpins.apply
def apply(*a):
    n = _apply(*a)
    print('IDLE', n, time.ticks_diff(time.ticks_us(), _t0))
    raise SystemExit  # measured: the rest of the boot is not
bootpins.apply = apply
from app.main import run
"""
SCRIPTS = {
    'bare': _T0 + """
from app.sim import Pin
Pin(2, Pin.OUT, value=0)
print('IDLE', 1, time.ticks_diff(time.ticks_us(), _t0))
""",
    'early': _EARLY,
    'stale': _EARLY,
    'stale_16': _EARLY,
    'first': _EARLY,
    'shim': _T0 + """
from app.sim import install
install()
from app.board import bootpins
n = bootpins.apply()
print('IDLE', n, time.ticks_diff(time.ticks_us(), _t0))
""",
    'boot': _T0 + """
from app.board import bootpins
bootpins.apply = lambda *a: 0  # as before app.board.bootpins
from app.main import boot
reg, store = boot('config.json')
print('IDLE', len(reg.idle_pins()), time.ticks_diff(time.ticks_us(), _t0))
""",
}
FLASH = {'bare': 'flash', 'early': 'flash', 'boot': 'flash-boot',
         'shim': 'flash',
         'stale': 'flash-stale', 'stale_16': 'flash-stale-16',
         'first': 'flash-first'}

# The heap bootpins.from_config allocates (garbage included: the collector
# is off while it runs): with pins.json's "out", and without (the
# profile table loaded).
HEAP = """
import gc, json, sys
sys.path.append('lib')
from app.sim import install
install()
from app.board import bootpins
try:
    out = json.load(open('pins.json'))['out']
except OSError:
    out = None
gc.collect()
gc.disable()
a = gc.mem_alloc()
pins = bootpins.from_config('config.json', out)
print('HEAP', len(pins), gc.mem_alloc() - a)
"""


def config_16():
    """16 bindings, 10 of them outputs, and 64 schedule events."""
    kinds = [('blink', {'period_ms': 500}), ('pulse', {'duration_ms': 800,
              'active_level': 0}), ('pattern', {'steps_ms': [100, 200, 300]}),
             ('pwm', {'duty': 40}), ('breathe', {})]
    bindings = []
    outs = [2, 4, 5, 12, 13, 14, 15, 16, 17, 18]
    for i, pin in enumerate(outs):
        kind, extra = kinds[i % len(kinds)]
        body = {'id': 'out%d' % i, 'kind': kind, 'pin': pin, 'start': False}
        body.update(extra)
        bindings.append(body)
    for i, pin in enumerate([19, 21, 22, 23, 25, 26]):
        bindings.append({'id': 'in%d' % i, 'kind': 'edge' if i % 2 else
                         'sample', 'pin': pin, 'period_ms': 100}
                        if i % 2 == 0 else {'id': 'in%d' % i, 'kind': 'edge',
                                            'pin': pin})
    events = [{'id': 'ev%d' % i, 'binding': 'out%d' % (i % 10),
               'do': 'start' if i % 2 else 'stop',
               'at': '%02d:%02d' % (i % 24, i % 60), 'offset_min': 0,
               'days': ['mon', 'tue', 'wed', 'thu', 'fri'], 'enabled': True}
              for i in range(64)]
    cfg = json.loads((ROOT / 'config.json').read_text())
    cfg['bindings'] = bindings
    cfg['schedules'] = events
    return cfg


def time_to_idle(flash, name):
    """(ms from process start, µs from the script's first line, pins)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([MICROPYTHON, name + '.py'], cwd=flash,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        for line in proc.stdout:
            if line.startswith('IDLE'):
                ms = (time.perf_counter() - t0) * 1000
                _, pins, us = line.split()
                return ms, int(us), int(pins)
        raise RuntimeError('%s never printed IDLE' % name)
    finally:
        proc.kill()  # our own pid
        proc.wait(10)


def run_script(flash, text, tag):
    res = subprocess.run([MICROPYTHON, '-c', text], cwd=flash,
                         capture_output=True, text=True, timeout=60)
    for line in res.stdout.splitlines():
        if line.startswith(tag + ' '):
            return [int(v) for v in line.split()[1:]]
    raise RuntimeError(res.stdout[-2000:] + res.stderr[-2000:])


def heap_per_event(image):
    """bench/mp/sched_heap.py on the unix port, and on a 32-bit build of it
    when MICROPYTHON32 names one (a board is 32-bit). Not on the
    WebAssembly port: its collector keeps garbage it cannot tell from live
    data (a 10 KB list dropped still counts), so its mem_alloc figures are
    no measure of what stays."""
    env = dict(os.environ, MICROPYPATH='.frozen:%s:%s' % (image, image / 'lib'))
    out = {'what': 'heap one schedule event holds (bytes, after gc; 64 '
                   'events on one binding, ids the board gave; '
                   'bench/mp/sched_heap.py): created one by one as POST '
                   '/api/schedules does, and taken from a config as a boot '
                   'does; config_bytes_per_event: its JSON in config.json'}
    vms = [('vm64', MICROPYTHON)]
    if MICROPYTHON32:
        vms.append(('unix32', MICROPYTHON32))
    for name, binary in vms:
        res = subprocess.run([binary, str(ROOT / 'bench' / 'mp' /
                                          'sched_heap.py')],
                             cwd=image, env=env, capture_output=True,
                             text=True, timeout=120)
        out[name] = _bench_line(res)
        out[name]['vm'] = vm_label(binary)
    return out


def vm_label(binary):
    return subprocess.run([binary, '-c', 'import sys; print(sys.version, '
                           'sys.maxsize > 2 ** 32 and "64-bit" or "32-bit")'],
                          capture_output=True, text=True).stdout.strip()


def _bench_line(res):
    for line in res.stdout.splitlines():
        if line.startswith('BENCH '):
            return json.loads(line[6:])
    raise RuntimeError(res.stdout[-2000:] + res.stderr[-2000:])


def put_back(flash, files):
    """The flash dir's files as ``files`` ({name: bytes}) has them, and
    no config.rejected.json."""
    for name, data in files.items():
        (flash / name).write_bytes(data)
    rejected = flash / 'config.rejected.json'
    if rejected.exists():
        rejected.unlink()


def make_flash(work, image, name, config, pins_from=None):
    """A flash dir: the image, ``config`` as config.json, and the
    pins.json the boot of ``pins_from`` (a config) wrote, if given."""
    flash = work / name
    if flash.exists():
        shutil.rmtree(flash)
    shutil.copytree(image, flash)
    for script, text in SCRIPTS.items():
        (flash / (script + '.py')).write_text(text)
    boot = ("import sys\nsys.path.append('lib')\nfrom app.sim import "
            "install\ninstall()\nfrom app import startup\n"
            "startup.boot('config.json')")
    (flash / 'config.json').write_text(json.dumps(pins_from or config))
    subprocess.run([MICROPYTHON, '-c', boot], cwd=flash, check=True,
                   capture_output=True, timeout=60)
    assert (flash / 'pins.json').exists()
    (flash / 'config.json').write_text(json.dumps(config))  # deployed
    return flash


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=15)
    opts = ap.parse_args()
    work = ROOT / 'build' / 'bench-boot-pins'
    image = work / 'image'
    deploy.build(image, sim=True)
    repo = json.loads((ROOT / 'config.json').read_text())
    old = dict(repo, bindings=[{'id': 'old', 'kind': 'blink', 'pin': 4,
                                'period_ms': 100}])
    flashes = {
        # the first boot wrote pins.json (as a board's first boot after deploy)
        'flash': make_flash(work, image, 'flash', repo),
        # config.json replaced since pins.json was written
        'flash-stale': make_flash(work, image, 'flash-stale', repo, old),
        'flash-stale-16': make_flash(work, image, 'flash-stale-16',
                                     config_16(), old),
        'flash-first': make_flash(work, image, 'flash-first', repo),
    }
    os.remove(flashes['flash-first'] / 'pins.json')
    # config.json deployed, pins.json the old one's (as flash-stale): put
    # back before each boot run, which saves a matching pins.json
    flashes['flash-boot'] = make_flash(work, image, 'flash-boot', repo, old)
    deployed = {name: (flashes['flash-boot'] / name).read_bytes()
                for name in ('config.json', 'pins.json')}
    times = {name: [] for name in SCRIPTS}
    us = {name: [] for name in SCRIPTS}
    driven = {}
    for _ in range(opts.runs):
        for name in SCRIPTS:
            if FLASH[name] == 'flash-boot':
                put_back(flashes['flash-boot'], deployed)
            ms, t, pins = time_to_idle(flashes[FLASH[name]], name)
            times[name].append(ms)
            us[name].append(t)
            driven[name] = pins
    med = {name: statistics.median(v) for name, v in times.items()}
    med_us = {name: statistics.median(v) for name, v in us.items()}
    heap = {}
    for name in ('flash-stale', 'flash-stale-16', 'flash-first'):
        pins, allocated = run_script(flashes[name], HEAP, 'HEAP')
        heap[name] = {'pins': pins, 'bytes_allocated': allocated}
    results = {
        'what': 'time to the output pins at idle on the unix-port VM, '
                'medians of %d interleaved runs: ms from process start '
                '(process start included) and ms from the script\'s first '
                'line (the VM already up, as a board\'s firmware is at '
                'main.py); ratio: to the bare Pin script, of the latter'
                % opts.runs,
        'pins_driven': driven,
        'ms': {name: round(v, 1) for name, v in med.items()},
        'ms_min': {name: round(min(v), 1) for name, v in times.items()},
        'ms_in_vm': {name: round(v / 1000, 2) for name, v in med_us.items()},
        'ms_in_vm_min': {name: round(min(v) / 1000, 2) for name, v in us.items()},
        'ratio_in_vm': {name: round(v / med_us['bare'], 1)
                        for name, v in med_us.items()},
        'from_config_heap': {
            'what': 'bytes bootpins.from_config allocates (garbage included,'
                    ' the collector off; freed before the modules load): '
                    'pins.json stale, for the repo config (1 binding) and '
                    'one of 16 bindings and 64 events; and no pins.json '
                    '(the whole file parsed, the profile table loaded)',
            'repo_config': heap['flash-stale'],
            'config_16': heap['flash-stale-16'],
            'first_boot_repo_config': heap['flash-first'],
            'config_16_bytes': len(json.dumps(config_16()))},
        'heap_per_event': heap_per_event(image),
        'vm': vm_label(MICROPYTHON),
    }
    out = ROOT / 'bench' / 'boot_pins_results.json'
    out.write_text(json.dumps(results, indent=1) + '\n')
    print(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
