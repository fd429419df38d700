"""bench/run.py's smallest-heap search and bench/report.py's memory table.
The search is checked with a fake probe; one real probe runs the bare
Microdot app (bench/mp/bare.py) to check its sequence and statuses."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'bench'))
import report  # noqa: E402
import run  # noqa: E402
from vm import image  # noqa: E402


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
    flash = run.make_flash('bare', bench_work, scripts=['bare.py'])

    def start(heap):
        return run.VM(flash, 'bare.py', ['{port}'], heapsize=heap)
    assert run.fits(start, run.BARE_SEQUENCE, 512, settle=0) == (True, None)
    ok, why = run.fits(start, run.BARE_SEQUENCE, 16, settle=0)
    assert not ok and why


MEMORY = {
    'base': 6336, 'boot': 111232, 'boot_bindings': 1,
    'imports': [['asyncio', 4096], ['microdot', 25600], ['app.api', 60000]],
    'vm': {'vm': 1472, 'asyncio': 5568, 'microdot': 32512},
    'min_heap': {'min_kb': 124, 'step_kb': 4, 'confirm': 3,
                 'below': [120, 'PUT -> 500']},
    'min_heap_bare': {'min_kb': 56, 'step_kb': 4, 'confirm': 3,
                      'below': [52, 'GET /api/bindings -> 400']},
    'serving': {'pinwheel': 110848, 'bare': 45760},
    'per_binding': {'blink': {'binding': 800, 'with_timer': 1020}},
    'churn': {'cycles': 2000, 'growth': 0},
}


def test_report_shows_the_bare_floor_and_the_split():
    results = {'meta': {'date': 'd', 'micropython': '1.29.0', 'host': 'x',
                        'cpus': 2, 'load_avg': 0.1}, 'memory': MEMORY}
    md = report.markdown(results)
    assert ('needs 124 KB (bare Microdot on the same VM: 56 KB; pinwheel\'s '
            'own share: 68 KB)') in md
    assert ('124 KB (bare Microdot on the same VM needs 56 KB; pinwheel\'s own'
            ' share is 68 KB)') in md
    # VM + asyncio + Microdot | pinwheel's modules | pinwheel's objects
    objects = 111232 - 6336 - 89696
    assert '| %s / %s / %s |' % (report.kb(32512), report.kb(60000),
                                 report.kb(objects)) in md


def test_report_without_the_new_figures():
    old = {k: v for k, v in MEMORY.items() if k not in ('vm', 'min_heap_bare')}
    md = report.markdown({'meta': {'date': 'd', 'micropython': '1.29.0',
                                   'host': 'x', 'cpus': 2, 'load_avg': 0.1},
                          'memory': old})
    assert 'needs 124 KB |' in md and 'own share' not in md
