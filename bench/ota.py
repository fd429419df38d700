#!/usr/bin/env python3
"""Over-the-air updates on the simulated board (docs/ota.md): how long
they take next to a local install, and how soon the board serves again.
Writes bench/ota_results.json (not part of `make bench`: run it on its own).

    .venv/bin/python bench/ota.py [--runs N]

Each run starts a fresh flash dir under tools/run_sim.py (as `make run`)
and times, as a user runs them, whole commands (Python start and the image
build included):

- ``sim_flash_s``: ``deploy.py --sim-flash DIR`` into an empty dir (build,
  copy every file): the budget's yardstick;
- ``ota_full_s``: ``deploy.py --ota URL`` of the same image to a board
  whose running image lists no files, so every file goes over loopback
  (build, send, check, switch);
- ``ota_one_module_s``: ``deploy.py --ota URL --image DIR`` of an image
  with one module changed (what goes over the wire: ``one_module_sent``);
- ``serve_again_s``: from the end of that update (the board has answered
  the switch, and reboots 0.3 s later) to the first GET /api/status that
  answers with the new version: reboot, boot, trial and confirm included.

The runs are interleaved and the medians reported (and the worst).
Every process is stopped by its own pid.
"""
import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests'))
from vm import MICROPYTHON, deploy, image, make_flash  # noqa: E402
from test_ota import Board, TOKEN, CONFIG, variant, version_of  # noqa: E402

PYTHON = sys.executable


def timed(cmd):
    started = time.monotonic()
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    took = time.monotonic() - started
    if result.returncode:
        raise SystemExit('%s failed:\n%s%s' % (' '.join(map(str, cmd)),
                                               result.stdout, result.stderr))
    return took, result.stdout


def board_image_bytes(path):
    """Bytes of the image in ``path``, each file in whole 4 KB blocks as
    LittleFS stores it, and as they are."""
    files = [p.stat().st_size for p in Path(path).rglob('*') if p.is_file()]
    return {'bytes': sum(files),
            'in_4k_blocks': sum((n + 4095) // 4096 * 4096 for n in files)}


def one_run(tmp, k, one_module):
    out = {}
    empty = tmp / ('simflash%d' % k)
    out['sim_flash_s'], _ = timed([PYTHON, 'deploy.py', '--sim-flash', empty])
    shutil.rmtree(empty)
    # a board whose running image lists no files (and has another version):
    # the update sends them all
    flash = make_flash(tmp / ('full%d' % k), CONFIG)
    (flash / 'manifest.json').write_text('{"files": {}}')
    (flash / 'version.json').write_text('{"version": "00000000", "date": null}')
    board = Board(flash).start()
    try:
        out['ota_full_s'], text = timed([PYTHON, 'deploy.py', '--ota',
                                         board.url, '--token', TOKEN])
        out['ota_full_files'] = int(re.search(r'(\d+) sent', text).group(1))
    finally:
        board.stop()
    board = Board(make_flash(tmp / ('one%d' % k), CONFIG)).start()
    try:
        out['ota_one_module_s'], text = timed([
            PYTHON, 'deploy.py', '--ota', board.url, '--token', TOKEN,
            '--image', one_module])
        ended = time.monotonic()
        m = re.search(r'(\d+) sent \(([\d,]+) bytes\)', text)
        out['one_module_sent'] = {'files': int(m.group(1)),
                                  'bytes': int(m.group(2).replace(',', ''))}
        want = version_of(one_module)
        while True:
            try:
                status = board.vm.get('/api/status', timeout=1)[1]
                if status['image']['version'] == want:
                    break
            except OSError:
                pass
            if time.monotonic() - ended > 30:
                raise SystemExit('not serving the new version within 30 s')
            time.sleep(0.01)
        out['serve_again_s'] = time.monotonic() - ended
    finally:
        board.stop()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--runs', type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix='pinwheel-bench-ota-'))
    try:
        one_module = variant(tmp, 'one-module', 'BENCH_MARK = 1')
        runs = [one_run(tmp, k, one_module) for k in range(args.runs)]
        deploy.build(tmp / 'board-image')
        board = board_image_bytes(tmp / 'board-image')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    keys = ('sim_flash_s', 'ota_full_s', 'ota_one_module_s', 'serve_again_s')
    median = {k: round(statistics.median(r[k] for r in runs), 3) for k in keys}
    worst = {k: round(max(r[k] for r in runs), 3) for k in keys}
    results = {
        'what': 'deploy.py commands on the unix-port VM over loopback, whole '
                'commands timed (Python start and image build included); '
                'medians of %d interleaved runs' % args.runs,
        'image_files': len(json.loads((image() / 'manifest.json').read_text())
                           ['files']),
        # a board's image (no simulator): what a board keeps twice
        'board_image_bytes': board,
        's': median,
        's_worst': worst,
        'ota_full_over_sim_flash': round(median['ota_full_s']
                                         / median['sim_flash_s'], 2),
        'ota_full_files': runs[0]['ota_full_files'],
        'one_module_sent': runs[0]['one_module_sent'],
        'budgets': {'serve_again_s': 5, 'ota_full_over_sim_flash': 3},
        'vm': subprocess.run([MICROPYTHON, '-c', 'import sys; '
                              'print(sys.version)'], capture_output=True,
                             text=True).stdout.strip(),
    }
    out = ROOT / 'bench' / 'ota_results.json'
    out.write_text(json.dumps(results, indent=1) + '\n')
    print(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
