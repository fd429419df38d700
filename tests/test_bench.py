"""bench/run.py's smallest-heap search, bench/report.py's memory table and
the board table it writes into docs/boards.md. The search is checked with
a fake probe; one real probe runs the bare Microdot app (bench/mp/bare.py)
to check its sequence and statuses."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'bench'))
import report  # noqa: E402
import run  # noqa: E402
from vm import ROOT, image  # noqa: E402


def test_min_heap_finds_the_edge_and_confirms_it():
    calls = []

    def probe(kb):
        calls.append(kb)
        return kb >= 57, None if kb >= 57 else 'too small'
    r = run.min_heap(probe)
    assert r['min_kb'] == 60 and r['fits_96k'] and r['probes'] == [[60, 3]]
    assert r['below'] == [56, 'too small']
    assert len(calls) < 15


def test_min_heap_steps_up_past_a_lucky_pass():
    # 64 KB passes in the bisection, then fails once in the confirm round
    flaky = iter([True, True, False])

    def probe(kb):
        if kb == 64:
            return next(flaky, True), 'fragmented'
        return kb > 64, None
    r = run.min_heap(probe)
    assert r['min_kb'] == 68 and r['probes'][-1] == [68, 3], r


def test_min_heap_reports_a_failure_at_the_top():
    r = run.min_heap(lambda kb: (False, 'boom'))
    assert r['min_kb'] is None and 'boom' in r['error']


@pytest.fixture
def bench_work(tmp_path, monkeypatch):
    monkeypatch.setattr(run, 'WORK', tmp_path)
    return image()


def test_bare_app_answers_its_sequence(bench_work):
    path = run.flash('bare', scripts=['bare.py'])

    def start(heap):
        return run.app_vm(path, 'bare.py', ['{port}'], heapsize=heap)
    assert run.fits(start, run.BARE_SEQUENCE, 512, settle=0) == (True, None)
    ok, why = run.fits(start, run.BARE_SEQUENCE, 16, settle=0)
    assert not ok and why


def vm_figures(boot, served, blink):
    return {'boot': boot, 'served': served, 'boot_objects': 9000, 'vm': 11000,
            'sim': 10240,
            'imports': [['microdot', 18000], ['app.http.api', 5000]],
            'per_binding': {'blink': {'binding': blink, 'with_timer': blink}},
            'churn': {'cycles': 2000, 'growth': 0}}


MEMORY = {
    'vm32': vm_figures(100000, 106000, 448),
    'vm64': vm_figures(142000, 150000, 896),
    'min_heap': {'min_kb': 176, 'step_kb': 4, 'confirm': 3,
                 'below': [172, 'PUT -> 500']},
    'min_heap_bare': {'min_kb': 56, 'step_kb': 4, 'confirm': 3,
                      'below': [52, 'GET /api/bindings -> 400']},
    'serving': {'pinwheel': 155000, 'bare': 45000},
}
META = {'date': 'd', 'micropython': '1.29.0', 'micropython32': 'x 1.29.0',
        'host': 'x', 'cpus': 2, 'load_avg': 0.1}


def test_report_leads_with_a_boards_32_bit_heap_and_the_before_figures():
    md = report.markdown({'meta': META, 'memory': MEMORY})
    table = md[md.index('### Memory on a 32-bit board'):]
    # no 32-bit unix build: the 64-bit figures x 0.68, the simulator's
    # modules (10 KB x 0.68) left out for a board; issue 18's before
    assert 'projected' in table
    boot = 142000 * 0.68 / 1024 - 6.8
    assert '| heap after boot (boot() + build_app(), default config, as the ' \
        'board saved it: every boot but the first after a deploy or a hand ' \
        'edit) | %.0f KB | %.0f KB | 129.4 KB |' % (boot, boot + 6.8) in table
    assert '| smallest heap that serves, default config (its first boot ' \
        'after a deploy: config.json checked in full) | %.0f KB |' % (
            176 * 0.68 - 6.8) in table
    assert '| heap per `blink` binding | 609 B |' in table  # 896 x 0.68


def test_a_32_bit_unix_build_is_measured_not_projected():
    memory = dict(MEMORY, unix32={
        'version': '1.28.0', 'memory': vm_figures(100000, 106000, 448),
        'min_heap': {'min_kb': 120}, 'min_heap_everything': {'min_kb': 140}})
    h = report.heap32(memory)
    assert h['how'] == 'measured'
    assert h['board_min_kb'] == 110 and h['board_everything_kb'] == 130
    assert h['per_binding'] == {'blink': 448}
    rows, need, _, how = report.fits({'memory': memory})
    assert need == 110 and how == 'measured'


def test_after_boot_is_a_saved_configs_boot_and_the_first_boot_is_shown():
    """bench/mp/boot_heap.py booted twice: the budget row is the boot of a
    config the board saved (no checkers loaded); the first boot after a
    deploy, which checks config.json in full, has a row of its own."""
    memory = dict(MEMORY, unix32={
        'version': '1.28.0', 'memory': vm_figures(100000, 106000, 448),
        'boot_heap': {'first': 90 * 1024, 'saved': 70 * 1024},
        'min_heap': {'min_kb': 120}, 'min_heap_everything': {'min_kb': 140}})
    h = report.heap32(memory)
    assert h['board_boot_kb'] == 60 and h['board_first_boot_kb'] == 80
    table = report.markdown({'meta': META, 'memory': memory})
    assert 'hand edit) | 60 KB | 70 KB | 129.4 KB | ≤ 70 KB: yes |' in table
    assert '(checked in full) | 80 KB | 90 KB | 129.4 KB | none |' in table
    # the smallest heap of a saved config's boot: a row of its own
    memory['unix32']['min_heap_saved'] = {'min_kb': 108}
    table = report.markdown({'meta': META, 'memory': memory})
    assert 'as the board saved it (every later boot) | 98 KB | 108 KB' in table


def test_a_boards_smallest_heap_holds_the_event_logs_ring_once():
    """A board notes its Wi-Fi join at boot (the ring is made then), and so
    does every smallest-heap probe (bench/mp/board_boot.py): the board
    column leaves the simulator out and adds no second ring; with
    everything on it adds NTP, which the simulated clock does not run."""
    memory = dict(MEMORY, unix32={
        'version': '1.28.0', 'memory': vm_figures(100000, 106000, 448),
        'boot_heap': {'first': 90 * 1024, 'saved': 70 * 1024,
                      'ring': 3 * 1024},
        'min_heap': {'min_kb': 120}, 'min_heap_everything': {'min_kb': 140}})
    memory['unix32']['memory']['ntp'] = 1024
    h = report.heap32(memory)
    assert h['board_min_kb'] == 110 and h['board_everything_kb'] == 131
    assert h['board_boot_kb'] == 60  # measured with the ring already
    table = report.markdown({'meta': META, 'memory': memory})
    assert "makes the event log's ring (3.0 KB)" in table
    assert 'so the ring is in both columns' in table


def test_the_report_gives_the_rate_on_a_tight_heap():
    memory = dict(MEMORY, unix32={
        'version': '1.28.0', 'memory': vm_figures(100000, 106000, 448),
        'min_heap': {'min_kb': 104}, 'min_heap_everything': {'min_kb': 200},
        'tight_rate': {'heap_kb': 112, 'tight_rps': 1500, 'large_rps': 2400}})
    table = report.markdown({'meta': META, 'memory': memory})
    assert 'in a heap of 112 KB (8 KB over the smallest that serves, unix ' \
        'port) `GET /api/bindings` is answered 1500 times a second over one ' \
        'connection, against 2400 in the VM\'s default heap' in table


def test_the_board_table_says_which_features_fit_beside_the_default():
    """Each feature's smallest heap beside the default config (bench/run.py
    FEATURES, measured one at a time): a board lists those its free heap
    holds with 16 KB to spare, and the rest with what they need; the
    smallest heap a board needs is the larger of the two boots'."""
    memory = dict(MEMORY, unix32={
        'version': '1.28.0', 'memory': vm_figures(100000, 106000, 448),
        'boot_heap': {'first': 80 * 1024, 'saved': 80 * 1024, 'ring': 0},
        'min_heap': {'min_kb': 100}, 'min_heap_saved': {'min_kb': 104},
        'min_heap_everything': {'min_kb': 200},
        'min_heap_features': {'mqtt': {'min_kb': 110},
                              'schedules': {'min_kb': 114},
                              'kinds': {'min_kb': 130}}})
    rows, need, _, _ = report.fits({'memory': memory})
    assert need == 94  # 104 less the simulator's 10 KB
    why = {target: why for target, _, _, _, _, _, why in rows}
    assert why['ESP32'] == (
        '37 KB left over the smallest heap; beside the default config, one '
        'at a time: MQTT with Home Assistant, 16 schedule events with a zone '
        'and a place; not 8 bindings of mixed kinds with 2 rules (needs 120 '
        'KB); everything on (MQTT, schedules, 8 bindings): needs 190 KB, so '
        'not all at once')


def test_every_board_row_has_a_source_or_says_how_it_was_measured():
    rows, need, _, _ = report.fits({'memory': MEMORY})
    assert need == round(176 * 0.68 - 6.8)
    verdicts = {target: verdict for target, _, _, _, _, verdict, _ in rows}
    assert verdicts['ESP8266'] == 'no'
    for target, _, free, what, source, verdict, _ in rows:
        assert what and (source or 'measured' in what or 'read from' in what
                         or 'the same' in what), target
        assert (free is None) == (verdict == 'unverified'), target


def test_boards_md_holds_the_table_of_the_last_bench_run():
    """docs/boards.md's "Which boards it fits" is the one bench/report.py
    makes from bench/results.json: a changed figure means running the
    bench (or `python bench/report.py`), not editing the page."""
    results = json.loads((ROOT / 'bench' / 'results.json').read_text())
    text = (ROOT / 'docs' / 'boards.md').read_text()
    assert report.FITS_BEGIN in text and report.FITS_END in text
    shown = text.split(report.FITS_BEGIN, 1)[1].split(report.FITS_END, 1)[0]
    assert shown.strip() == report.boards_section(results).strip()
    assert 'ESP8266' in shown and '**no**' in shown
