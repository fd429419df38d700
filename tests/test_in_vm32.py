"""Run the tests in tests/mp/ on a 32-bit MicroPython, as every board is:
the WebAssembly port under node (``make test32``; tools/wasm32/run.mjs).
Small ints there are 31-bit, so a value >= 2**30 is a heap object and
allocating one under the heap lock fails, as in a board's IRQ."""
from pathlib import Path
import pytest
from vm import run_micropython32

MP = Path(__file__).parent / 'mp'

# The one list of what the WebAssembly port cannot run by nature (it has no
# socket and no _thread): script -> {test name, or '*' for all: why}.
SKIP = {
    'test_log.py': {
        'test_a_full_ring_costs_its_size_whatever_the_texts':
            'measures the heap with gc.collect(), which this port runs only '
            'between top-level calls (tools/wasm32/run.mjs); the 32-bit unix '
            'VM measures it (MICROPYTHON=... make test)',
    },
    'test_faults.py': {
        'test_schedule_flood_counts_drops_never_stops_timers':
            'needs the timer thread: the main thread stays in C code while '
            'timers fire and flood the schedule queue (no _thread); the '
            'soft-mode tests in test_sim.py flood it on both VMs',
    },
}


@pytest.mark.parametrize('script', sorted(p.name for p in MP.glob('test_*.py')))
def test_in_vm32(script):
    skip = SKIP.get(script, {})
    if '*' in skip:
        pytest.skip(skip['*'])
    result = run_micropython32(MP / script, ['-' + name for name in skip])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert ' 0 failed' in out and 'FAIL' not in out, out
