"""A 10-second version of bench/load.py (the 60-second run is `make bench`):
8 bindings at 100 Hz while wrk sends 50 connections of GET /api/bindings
mixed with PATCH/stop/start. Bounds are generous: the machine is shared."""
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'bench'))
import load  # noqa: E402


@pytest.mark.skipif(not shutil.which('wrk'), reason='wrk not installed (make sysdeps)')
def test_short_load(tmp_path):
    r = load.run_load(duration=10, connections=50, flash=tmp_path / 'flash')
    assert r['vm_alive'] and r['tracebacks'] == 0, r
    # every request got a valid response or a clean 503
    assert not r['bad_5xx'], r['statuses']
    assert set(r['statuses']) <= {200, 408, 503}, r['statuses']  # 408: a request that waited past read_timeout_s on a starved machine
    errors = r['socket_errors']
    assert errors['connect'] == errors['read'] == errors['write'] == 0, errors
    assert errors['timeout'] <= r['requests'] // 500, errors  # wrk's 10 s
    assert r['served_ok'] > 1000, r
    # every measured binding fired at its rate (5 % in the bench)
    for binding_id, rate in r['rates'].items():
        assert 0.8 <= rate['ratio'] <= 1.05, (binding_id, rate)
    # and the heap came back (after gc.collect(); see load.HEAP_SLACK)
    assert abs(r['heap_delta']) <= load.HEAP_SLACK, r
