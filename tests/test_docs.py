"""The docs stay true: README.md is a short front page whose curl taste runs
as written, every relative link and #anchor resolves, no page describes a
mechanism that is gone, and the figures in prose match the generated files
they come from (bench/results.json, bench/load_results.json) or the limit a
test enforces."""
import json
import re
import subprocess
from pathlib import Path

import pytest
import test_requirements
from vm import ROOT

README = ROOT / 'README.md'
PAGES = [README, ROOT / 'CHANGES.md'] + sorted((ROOT / 'docs').glob('*.md'))
GUIDE = [p for p in PAGES if p.name != 'CHANGES.md']  # history may name the past
FENCE = re.compile(r'^```.*?^```', re.S | re.M)
LINK = re.compile(r'\]\(([^)\s]+)\)')


def prose(path):
    """The page without its fenced code blocks."""
    return FENCE.sub('', path.read_text())


def slug(heading):
    """GitHub's anchor for a heading."""
    text = re.sub(r'[^\w\- ]', '', heading.strip().lower())
    return text.replace(' ', '-')


def anchors(path):
    seen, out = {}, set()
    for line in prose(path).splitlines():
        m = re.match(r'#{1,6}\s+(.*)', line)
        if m:
            base = slug(m.group(1))
            n = seen.get(base, 0)
            seen[base] = n + 1
            out.add(base if n == 0 else '%s-%d' % (base, n))
    return out


def test_readme_is_a_front_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= 150, len(lines)
    assert '](docs/dashboard.png)' in README.read_text()
    for page in ('docs/api.md', 'docs/deploy.md', 'docs/security.md',
                 'docs/internals.md', 'bench/results.md', 'CHANGES.md'):
        assert '](%s)' % page in README.read_text(), page


@pytest.mark.parametrize('page', PAGES, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_resolves(page):
    checked = 0
    for target in LINK.findall(prose(page)):
        if re.match(r'[a-z]+:', target):  # http:, https:, mailto:
            continue
        path, _, anchor = target.partition('#')
        dest = (page.parent / path).resolve() if path else page
        assert dest.exists(), (page.name, target)
        if anchor:
            assert dest.suffix == '.md', (page.name, target)
            assert anchor in anchors(dest), (page.name, target,
                                             sorted(anchors(dest)))
        checked += 1
    assert checked, page  # each page links somewhere


GONE = ['app.call', 'app.intern', 'app.forget', '620 names', 'of 620',
        'name table', 'per call', 'fits in holes', 'loaded for the call',
        'loaded per call']


@pytest.mark.parametrize('page', GUIDE, ids=lambda p: p.name)
def test_no_page_describes_a_mechanism_that_is_gone(page):
    text = page.read_text()
    assert not [g for g in GONE if g in text], page.name


def results():
    return json.loads((ROOT / 'bench' / 'results.json').read_text())


def test_deploy_figures_are_the_generated_ones():
    d = results()['deploy']
    text = (ROOT / 'docs' / 'deploy.md').read_text()
    shown = re.findall(r'image: (\d+) files, ([\d,]+) bytes', text)
    assert shown == [(str(d['files']), '{:,}'.format(d['image_bytes']))]
    copied = re.findall(r'(\d+) copied \(([\d,]+) bytes\)', text)
    assert copied == [shown[0]], copied
    steps = re.findall(r'\[1/(\d+)\]', text)
    assert steps == [str(d['files'])], steps
    later = re.findall(r'1 copied, (\d+) unchanged', text)
    assert later == [str(d['files'] - 1)], later


def test_load_figures_are_the_generated_ones():
    load = json.loads((ROOT / 'bench' / 'load_results.json').read_text())
    text = prose(ROOT / 'docs' / 'security.md')
    m = re.search(r'([\d,]+)\s+requests, (\d+) answered 503, the eight '
                  r'bindings\' rates within ([\d.]+) %', text)
    assert m, 'the load figures sentence moved: update this test'
    assert m.group(1) == '{:,}'.format(load['requests'])
    assert int(m.group(2)) == load['refused_503']
    assert load['bindings'] == 8
    assert float(m.group(3)) == round(load['rate_error_max'] * 100, 2)


def test_size_limit_is_the_one_the_test_enforces():
    text = prose(README)
    assert re.findall(r'under (\d+) MB', text) == [str(test_requirements.LIMIT_MB)]


TASTE = re.compile(r'## A taste\n.*?```sh\n(.*?)```', re.S)


def test_the_curl_taste_runs_as_written(make_vm):
    """Each line of README's taste, pasted as it is (only the address is
    ours), against the repo's default config; twice, since a reader may."""
    block = TASTE.search(README.read_text()).group(1).splitlines()
    assert 3 <= len(block) <= 10, block
    assert block[0] == 'H=127.0.0.1:8080', block[0]
    vm = make_vm()  # the repo's config.json, as make run
    env = {'H': '127.0.0.1:%d' % vm.port, 'PATH': '/usr/bin:/bin'}
    for round_ in (1, 2):
        for line in block[1:]:
            command, _, want = line.partition('# -> ')
            assert want, 'every line says what comes back: %s' % line
            res = subprocess.run(['bash', '-c', command], env=env,
                                 capture_output=True, text=True, timeout=20)
            assert res.returncode == 0, (line, res.stderr)
            assert want.strip() in res.stdout, (round_, line, res.stdout)


# Which package may import which: imports go one way, from the board up to
# main (docs/internals.md, "Modules"). A layer is a folder of app/, or
# "core" for the modules at its top.
LAYERS = {'core': {'core', 'board', 'kinds'},
          'board': {'core', 'board'},
          'kinds': {'core', 'board', 'kinds'},
          'time': {'core', 'board', 'kinds', 'time'},
          'mqtt': {'core', 'board', 'kinds', 'time', 'mqtt'},
          'http': {'core', 'board', 'kinds', 'time', 'http', 'ota'},
          'ota': {'core', 'ota'},
          'sim': {'core', 'board', 'kinds', 'time', 'http', 'sim'}}
IMPORT = re.compile(r'^\s*(?:from\s+(app(?:\.\w+)*)\s+import\s+([\w, ]+)|import\s+(app(?:\.\w+)+))', re.M)


def layer_of(module):
    """'app.http.api' -> 'http'; 'app.registry' -> 'core'; 'app.main' -> 'main'."""
    parts = module.split('.')
    if len(parts) < 2:
        return None
    if (ROOT / 'app' / parts[1]).is_dir():
        return parts[1]
    # app.launch is app.main's boot half
    return 'main' if parts[1] in ('main', 'launch') else 'core'


def app_imports(path):
    """The app modules ``path`` imports, anywhere in it (lazy imports too)."""
    out = set()
    for frm, names, plain in IMPORT.findall(path.read_text()):
        if plain:
            out.add(plain)
        elif frm == 'app':
            out.update('app.' + n.split(' as ')[0].strip() for n in names.split(','))
        else:
            out.add(frm)
    return out


def test_imports_go_one_way():
    wrong = []
    for path in sorted((ROOT / 'app').rglob('*.py')):
        module = '.'.join(path.relative_to(ROOT).with_suffix('').parts)
        layer = layer_of(module)
        if layer == 'main':
            continue
        for target in app_imports(path):
            if layer_of(target) not in LAYERS[layer]:
                wrong.append('%s imports %s' % (module, target))
    assert wrong == []


def test_the_profile_table_imports_nothing_of_the_app():
    """app.board.board imports the profile table (its boot code); the table
    imports nothing of the app back (issue #18's board <-> profiles cycle),
    and deploy.py reads it on the host."""
    assert app_imports(ROOT / 'app' / 'board' / 'profiles.py') == set()


def test_the_module_map_names_every_module_and_only_those():
    text = (ROOT / 'docs' / 'internals.md').read_text()
    block = text.split('\n## Modules\n', 1)[1].split('```', 2)[1]
    mapped, folder = set(), ''
    for line in block.splitlines()[1:]:
        indent = len(line) - len(line.lstrip())
        words = line.split()
        if not words:
            continue
        if words[0].endswith('/'):
            folder = words[0]
            continue
        if indent == 2:
            folder = ''
        for word in words:
            if word.endswith('.py'):
                mapped.add('app/' + folder + word)
            else:
                break
    files = {p.relative_to(ROOT).as_posix() for p in (ROOT / 'app').rglob('*.py')
             if p.name != '__init__.py' or p.parent.name in ('kinds', 'sim')}
    assert sorted(files - mapped) == [], 'modules the map does not name'
    assert sorted(mapped - files) == [], 'the map names modules that are gone'
