"""Run the tests in tests/mp/ inside the MicroPython VM (unix port)."""
from pathlib import Path
import pytest
from vm import run_micropython

MP = Path(__file__).parent / 'mp'


@pytest.mark.parametrize('script', sorted(p.name for p in MP.glob('test_*.py')))
def test_in_vm(script):
    result = run_micropython(MP / script)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert ' 0 failed' in out and 'FAIL' not in out, out
