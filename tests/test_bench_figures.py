"""The figures the docs quote from the bench scripts that run on their own
(outside `make bench`) are the ones in their results files: a changed
figure means running the script, not editing the page.

- docs/schedules.md: bench/boot_pins.py (bench/boot_pins_results.json);
- docs/internals.md: bench/flash_saves.py (bench/flash_saves_results.json);
- docs/api.md: bench/kinds.py (bench/kinds_results.json).

docs/ota.md's are tests/test_ota.py's, docs/security.md's load figures
tests/test_docs.py's."""
import json
import re

from vm import ROOT


def results(name):
    return json.loads((ROOT / 'bench' / name).read_text())


def text(page):
    return ' '.join((ROOT / 'docs' / page).read_text().split())


def test_schedules_md_quotes_boot_pins_results():
    r = results('boot_pins_results.json')
    page = text('schedules.md')
    ratio = r['ratio_in_vm']
    heap = r['heap_per_event']
    parse = r['from_config_heap']
    for figure in (
            'matching `pins.json` takes %s times the bare script'
            % ratio['early'],
            '(`pins.json` stale) %s times with the repo\'s config and %s '
            'times with 16 bindings' % (ratio['stale'], ratio['stale_16']),
            'with no `pins.json`, %s times' % ratio['first'],
            'as after every config deploy before) %s times' % ratio['boot'],
            'its best run: %s ms against the bare script\'s %s ms' % (
                round(r['ms_in_vm_min']['boot'], 1),
                r['ms_in_vm_min']['bare']),
            'allocates %.1f KB (repo config) and %.1f KB (16 bindings' % (
                parse['repo_config']['bytes_allocated'] / 1000,
                parse['config_16']['bytes_allocated'] / 1000),
            'it holds %d bytes of heap on a 32-bit build of the unix port '
            'when a boot takes it from the config and %d when it is created '
            'by a request (%d and %d on the 64-bit unix port)' % (
                heap['unix32']['heap_per_event_from_config_bytes'],
                heap['unix32']['heap_per_event_bytes'],
                heap['vm64']['heap_per_event_from_config_bytes'],
                heap['vm64']['heap_per_event_bytes']),
            'takes about %d bytes of config.json' % round(
                heap['vm64']['config_bytes_per_event'], -1)):
        assert figure in page, figure
    assert heap['unix32']['word_bits'] == 32
    assert heap['vm64']['word_bits'] == 64


def test_internals_md_flash_table_is_flash_saves_results():
    r = results('flash_saves_results.json')
    page = (ROOT / 'docs' / 'internals.md').read_text()
    row = r'^\| ((?:rp2|esp32): [^|]+) \| ([^|]+) \| ([^|]+) \|$'
    rows = {m.group(1): (m.group(2), m.group(3))
            for m in re.finditer(row, page, re.M)}
    assert len(rows) == 4, rows

    def cells(fmt, *keys, port='rp2'):
        return tuple(fmt(*(r[port][config][k] for k in keys))
                     for config in ('repo_config', 'config_16'))
    assert rows['rp2: 4 KB erases, mean (most)'] == cells(
        '{} ({})'.format, 'erases_per_save_mean', 'erases_per_save_max')
    assert rows['rp2: bytes programmed, mean'] == cells(
        '{:,}'.format, 'programmed_bytes_per_save_mean')
    assert rows['rp2: interrupts off in all, mean (most), typical flash'] == \
        cells('{:.1f} ms ({:.1f} ms)'.format, 'irq_off_ms_per_save_mean_typ',
              'irq_off_ms_per_save_max_typ')
    assert rows['esp32: 4 KB erases, mean (most)'] == cells(
        '{} ({})'.format, 'erases_per_save_mean', 'erases_per_save_max',
        port='esp32')
    head = '| per save | repo config (%d bytes) | 16 bindings, 64 events ' \
        '(%.1f KB) |' % (r['rp2']['repo_config']['config_bytes'],
                         r['rp2']['config_16']['config_bytes'] / 1000)
    assert head in page, head


def test_api_md_quotes_kinds_results():
    r = results('kinds_results.json')['latency']
    page = text('api.md')
    for figure in (
            'it runs %s after the edge when idle (the median; 99 %% within '
            '%s), and 99 %% within %s under HTTP load (`bench/kinds.py`, %d '
            'presses each' % (ms(r['idle']['p50_us'], 2),
                              ms(r['idle']['p99_us']),
                              ms(r['http_load']['p99_us']),
                              r['idle']['presses']),):
        assert figure in page, figure
    assert r['idle']['n'] == r['idle']['presses']  # one action a press
    assert r['http_load']['n'] == r['http_load']['presses']


def ms(us, digits=1):
    return '%.*f ms' % (digits, us / 1000)
