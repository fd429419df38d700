#!/usr/bin/env python3
"""How soon after start the outputs sit at their idle level, on the VM,
next to a bare ``Pin(n, Pin.OUT, value=0)`` script; and the heap per
schedule event. Writes bench/boot_pins_results.json
(not part of `make bench`: run it on its own).

    .venv/bin/python bench/boot_pins.py [--runs N]

Three scripts run from a flash dir holding the built image and the repo's
config.json (one blink on pin 2), each printing ``IDLE`` when its pins are
at idle; the time is from starting the process to reading that line
(process start included, the same for all three):

- ``bare``: ``Pin(2, Pin.OUT, value=0)`` and nothing else (on the unix
  port the simulated Pin, as pinwheel's);
- ``early``: pinwheel's boot as main.py runs it, up to ``app.board.bootpins``
  (the first thing ``app.main`` does, from pins.json);
- ``boot``: the way it was before: ``app.main`` imported and ``boot()``
  run (the config parsed, the board and the bindings built), which is
  when the handlers drive their pins.

The runs are interleaved and the medians reported. Every process is
stopped by its own pid.
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
sys.path.insert(0, str(ROOT))
import deploy  # noqa: E402

SCRIPTS = {
    'bare': """
import sys
sys.path.append('lib')
from app.sim import Pin
Pin(2, Pin.OUT, value=0)
print('IDLE')
""",
    'early': """
import sys
sys.path.append('lib')
from app.board import bootpins
_apply = bootpins.apply
def apply(*a):
    n = _apply(*a)
    print('IDLE', n)
    raise SystemExit  # measured: the rest of the boot is not
bootpins.apply = apply
from app.main import run
""",
    'boot': """
import sys
sys.path.append('lib')
from app.board import bootpins
bootpins.apply = lambda *a: 0  # as before app.board.bootpins
from app.main import boot
boot('config.json')
print('IDLE')
""",
}


def time_to_idle(flash, name):
    t0 = time.perf_counter()
    proc = subprocess.Popen([MICROPYTHON, name + '.py'], cwd=flash,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        for line in proc.stdout:
            if line.startswith('IDLE'):
                return (time.perf_counter() - t0) * 1000, line.split()[1:]
        raise RuntimeError('%s never printed IDLE' % name)
    finally:
        proc.kill()  # our own pid
        proc.wait(10)


def heap_per_event(image):
    """On the unix port only: the WebAssembly port's collector keeps
    garbage it cannot tell from live data (a 10 KB list dropped still
    counts), so its mem_alloc figures are no measure of what stays."""
    env = dict(os.environ, MICROPYPATH='.frozen:%s:%s' % (image, image / 'lib'))
    res = subprocess.run([MICROPYTHON, str(ROOT / 'bench' / 'mp' / 'sched_heap.py')],
                         cwd=image, env=env, capture_output=True, text=True,
                         timeout=120)
    return _bench_line(res)


def _bench_line(res):
    for line in res.stdout.splitlines():
        if line.startswith('BENCH '):
            return json.loads(line[6:])
    raise RuntimeError(res.stdout[-2000:] + res.stderr[-2000:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--runs', type=int, default=15)
    opts = ap.parse_args()
    work = ROOT / 'build' / 'bench-boot-pins'
    image = work / 'image'
    deploy.build(image)
    flash = work / 'flash'
    if flash.exists():
        shutil.rmtree(flash)
    shutil.copytree(image, flash)
    shutil.copyfile(ROOT / 'config.json', flash / 'config.json')
    for name, text in SCRIPTS.items():
        (flash / (name + '.py')).write_text(text)
    # the first boot writes pins.json (as a board's first boot after deploy)
    time_to_idle(flash, 'boot')
    subprocess.run([MICROPYTHON, '-c', "import sys\nsys.path.append('lib')\n"
                    "from app import startup\nstartup.boot('config.json')"],
                   cwd=flash, check=True, capture_output=True, timeout=60)
    assert (flash / 'pins.json').exists()
    times = {name: [] for name in SCRIPTS}
    driven = None
    for _ in range(opts.runs):
        for name in SCRIPTS:
            ms, rest = time_to_idle(flash, name)
            times[name].append(ms)
            if name == 'early':
                driven = int(rest[0])
    results = {
        'what': 'ms from process start to the output pins at idle, on the '
                'unix-port VM (process start included), medians of %d '
                'interleaved runs' % opts.runs,
        'pins_driven_early': driven,
        'ms': {name: round(statistics.median(v), 1) for name, v in times.items()},
        'ms_min': {name: round(min(v), 1) for name, v in times.items()},
        'heap_per_event': heap_per_event(image),
        'vm': subprocess.run([MICROPYTHON, '-c', 'import sys; print(sys.version)'],
                             capture_output=True, text=True).stdout.strip(),
    }
    out = ROOT / 'bench' / 'boot_pins_results.json'
    out.write_text(json.dumps(results, indent=1) + '\n')
    print(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
