#!/usr/bin/env python3
"""What one save costs the flash, and how long it stops interrupts on an
RP2040. Writes bench/flash_saves_results.json (not part of `make bench`:
run it on its own).

    .venv/bin/python bench/flash_saves.py

bench/mp/flash_saves.py boots each config as a board does (so the files
saved are a board's: defaults filled in, pins.json's boot stamp) and makes
60 REST changes on the unix port, its files on MicroPython's LittleFS over a RAM block device that counts what
a board's flash would be asked to do, in rp2's geometry (4 KB blocks,
256-byte programs) and esp32's (4 KB blocks, 32-byte programs): block
erases and programmed bytes per save, for the repo's config.json (one
binding) and a full one (16 bindings, 64 schedule events).

rp2 runs every erase and every program with interrupts off and the other
core parked (ports/rp2/rp2_flash.c, ``begin_critical_flash_section``), so
the time interrupts are off per save is the erases times the flash's
sector-erase time plus the pages programmed times its page-program time.
Those times are the W25Q16JV datasheet's (the Pico's 2 MB flash, per the
Pico datasheet): typical here, the datasheet's maximum beside it.
"""
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MICROPYTHON = os.path.abspath(os.environ.get('MICROPYTHON') or BIN / 'micropython')
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))
import deploy  # noqa: E402
from boot_pins import config_16  # noqa: E402

# W25Q16JV datasheet, AC electrical characteristics: tSE (4 KB sector
# erase) and tPP (page program, 256 bytes), typical and maximum, in ms.
SECTOR_ERASE_MS = (45, 400)
PAGE_PROGRAM_MS = (0.4, 3)
PAGE = 256
GEOMETRIES = {'rp2': 256, 'esp32': 32}  # LittleFS progsize as each port mounts it


def measure(image, config, progsize):
    env = dict(os.environ, MICROPYPATH='.frozen:%s:%s' % (image, image / 'lib'))
    res = subprocess.run([MICROPYTHON, str(ROOT / 'bench' / 'mp' / 'flash_saves.py'),
                          str(progsize), str(config)], cwd=image, env=env,
                         capture_output=True, text=True, timeout=300)
    for line in res.stdout.splitlines():
        if line.startswith('BENCH '):
            return json.loads(line[6:])
    raise RuntimeError(res.stdout[-2000:] + res.stderr[-2000:])


def summary(run, rp2):
    per = run['per_save']
    erases = [p[0] for p in per]
    pages = [-(-p[2] // PAGE) for p in per]
    out = {'config_bytes': run['bytes']['config.json'],
           'pins_bytes': run['bytes']['pins.json'],
           'erases_per_save_mean': round(statistics.mean(erases), 2),
           'erases_per_save_max': max(erases),
           'programmed_bytes_per_save_mean': round(statistics.mean(
               p[2] for p in per)),
           'program_calls_per_save_mean': round(statistics.mean(
               p[1] for p in per), 1)}
    if rp2:
        typ = [e * SECTOR_ERASE_MS[0] + n * PAGE_PROGRAM_MS[0]
               for e, n in zip(erases, pages)]
        out['irq_off_ms_per_save_mean_typ'] = round(statistics.mean(typ), 1)
        out['irq_off_ms_per_save_max_typ'] = round(max(typ), 1)
        out['irq_off_ms_longest_stretch_typ'] = SECTOR_ERASE_MS[0]
        out['irq_off_ms_longest_stretch_datasheet_max'] = SECTOR_ERASE_MS[1]
    return out


def main():
    work = ROOT / 'build' / 'bench-flash-saves'
    image = work / 'image'
    deploy.build(image, sim=True)
    configs = {'repo_config': json.loads((ROOT / 'config.json').read_text()),
               'config_16': config_16()}
    results = {
        'what': 'flash work per save of config.json + pins.json (one REST '
                'change), counted on MicroPython LittleFS over a counting '
                'RAM block device, 60 saves each; rp2 interrupts-off time '
                'from the W25Q16JV datasheet times (typical, ms)',
        'sector_erase_ms_typ_max': SECTOR_ERASE_MS,
        'page_program_ms_typ_max': PAGE_PROGRAM_MS,
    }
    for port, progsize in GEOMETRIES.items():
        results[port] = {}
        for name, config in configs.items():
            path = work / (name + '.json')
            path.write_text(json.dumps(config))
            results[port][name] = summary(measure(image, path, progsize),
                                          port == 'rp2')
    results['vm'] = subprocess.run(
        [MICROPYTHON, '-c', 'import sys; print(sys.version)'],
        capture_output=True, text=True).stdout.strip()
    out = ROOT / 'bench' / 'flash_saves_results.json'
    out.write_text(json.dumps(results, indent=1) + '\n')
    print(json.dumps(results, indent=1))


if __name__ == '__main__':
    main()
