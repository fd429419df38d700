"""One truth about boards: app/board/profiles.py is the table, and every
page that names a board, a `deploy.py --board` name or a `"board"` value
agrees with it (README, docs/deploy.md, docs/boards.md, docs/api.md, the
OpenAPI document); the boards the README and deploy.md offer are the ones
the generated "Which boards it fits" table does not rule out, and the
walkthrough runs on one that fits. A first deploy's blink goes to each
board's LED, or to the pin the table says to wire one to."""
import json
import re

import pytest
from vm import ROOT

from tools.deploy.board import BOARD_CHOICES, PROFILES
from tools.deploy.defaults import first_config, led_pin

NAMES = PROFILES.NAMES
README = ROOT / 'README.md'
DOCS = ROOT / 'docs'
PAGES = [README] + sorted(DOCS.glob('*.md'))


def text(path):
    return path.read_text()


def table_rows(page, header):
    """The rows (lists of cells) of the markdown table under ``header``'s
    first line."""
    lines = text(page).splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith('|'):
            break
        rows.append([c.strip() for c in line.strip('|').split(' | ')])
    return rows


def fits():
    """{target: (profile, fits)} of boards.md's generated table."""
    rows = table_rows(DOCS / 'boards.md', '| target | profile |')
    return {r[0]: (r[1].strip('`'), r[4].strip('*')) for r in rows}


def test_boards_md_has_one_row_per_profile_with_its_led():
    rows = table_rows(DOCS / 'boards.md', '| name | port |')
    assert sorted(r[0].strip('`') for r in rows) == sorted(NAMES)
    for row in rows:
        name, port, led = row[0].strip('`'), row[1], row[5]
        profile = PROFILES.find(name)
        assert port == profile['port'], name
        pin, wire = led_pin(name)
        shown = 'GPIO %s' % pin if isinstance(pin, int) else '`"%s"`' % pin
        if pin is None:  # the simulated board: no LED
            assert led.startswith('- '), (name, led)
        elif wire:
            assert led == 'none: wire one to %s' % shown, (name, led)
        else:
            assert led.startswith(shown) and 'wire' not in led, (name, led)


def test_deploy_board_names_are_the_profiles():
    assert BOARD_CHOICES == ('auto',) + tuple(n for n in NAMES if n != 'sim')
    deploy_md = text(DOCS / 'deploy.md')
    para = deploy_md.split('`--board\n', 1)[1].split('`--dry-run`', 1)[0]
    assert set(re.findall(r'`(\w+)`', para)) == set(BOARD_CHOICES), para


def test_config_board_values_are_the_profiles():
    row = next(line for line in text(DOCS / 'api.md').splitlines()
               if line.startswith('| `board` |'))
    assert set(re.findall(r'`(\w+)`', row)) - {'board'} == \
        {'auto'} | set(NAMES), row
    doc = json.loads((ROOT / 'static' / 'openapi.json').read_text())
    for schema in ('Config', 'ConfigPatch'):
        enum = doc['components']['schemas'][schema]['properties']['board']['enum']
        assert enum == ['auto'] + list(NAMES), (schema, enum)
    config = json.loads((ROOT / 'config.json').read_text())
    assert config['board'] == 'auto' or config['board'] in NAMES


@pytest.mark.parametrize('page', PAGES, ids=lambda p: p.name)
def test_every_board_named_in_a_page_exists(page):
    t = text(page)
    for names in re.findall(r'--board[ =]([\w|]+)', t):  # esp32|rp2 too
        for name in names.split('|'):
            assert name in BOARD_CHOICES or name == 'NAME', (page.name, name)
    for name in re.findall(r'"board": "(\w+)"', t):
        assert name == 'auto' or name in NAMES, (page.name, name)
    for name in re.findall(r'pinwheel: (\w+) board, ', t):
        assert name in NAMES, (page.name, name)
    for name in re.findall(r'^board: (\w+), MicroPython', t, re.M):
        assert name in NAMES, (page.name, name)
    assert not re.search(r'ESP8266 works', t), page.name


def offered(sentence):
    """'A, B or Raspberry Pi C / D' -> {'A', 'B', 'C', 'D'}"""
    parts = re.split(r',\s*|\s+(?:and|or)\s+|\s*/\s*', sentence)
    return {re.sub(r'^Raspberry Pi ', '', p.strip()) for p in parts if p.strip()}


def test_readme_and_deploy_offer_the_boards_that_fit():
    """The boards README and deploy.md offer are the generated table's
    "yes" rows; a "tight" one is named with that word, a "no" one only
    with why."""
    table = fits()
    assert set(p for p, _ in table.values()) <= set(NAMES)
    assert {ok for _, ok in table.values()} <= {'yes', 'tight', 'no'}, table
    wanted = {target for target, (_, ok) in table.items() if ok == 'yes'}
    readme = ' '.join(text(README).split())
    deploy_md = ' '.join(text(DOCS / 'deploy.md').split())
    for page, pattern in ((readme, r'It targets (.*?) boards \('),
                          (deploy_md, r'takes this repo to a running (.*?) \(')):
        m = re.search(pattern, page)
        assert m and offered(m.group(1)) == wanted, (m and m.group(1), wanted)
        sentences = re.split(r'(?<=[.;:)])\s', page)
        for target, (_, ok) in table.items():
            if ok == 'tight':
                assert any(re.search(r'\b%s\b' % re.escape(target), x)
                           and 'tight' in x for x in sentences), target
            if ok == 'no':
                assert any(re.search(r'\b%s\b' % re.escape(target), x)
                           and 'frozen' in x for x in sentences), target


def test_the_deploy_walkthrough_runs_on_a_board_that_fits():
    deploy_md = text(DOCS / 'deploy.md')
    boards = re.findall(r'^board: (\w+), MicroPython', deploy_md, re.M)
    serving = re.findall(r'pinwheel: (\w+) board, \d+ bindings?, serving', deploy_md)
    assert boards and set(serving) == set(boards), (boards, serving)
    ok = {profile: fit for profile, fit in fits().values()}
    assert all(ok.get(b) == 'yes' for b in boards), (boards, ok)


@pytest.mark.parametrize('name', [n for n in NAMES if n != 'sim'])
def test_a_first_deploy_blinks_the_boards_led(name):
    config, words = first_config(name)
    data = json.loads(config)
    blink = [b for b in data['bindings'] if b['id'] == 'led']
    pin, wire = led_pin(name)
    assert pin is not None and blink and blink[0]['pin'] == pin, (name, blink)
    profile = PROFILES.load(name)
    assert profile['pins'][pin] & PROFILES.CAPS['out'], (name, pin)
    assert pin not in profile['reserved'], (name, pin)
    shown = 'GPIO %s' % pin if isinstance(pin, int) else '"%s"' % pin
    assert shown in words and ('wire' in words) == (
        wire or profile['port'] == 'esp32'), (name, words)
    rest = dict(data, bindings=[b for b in data['bindings'] if b['id'] != 'led'])
    repo = json.loads((ROOT / 'config.json').read_text())
    assert rest == dict(repo, bindings=[b for b in repo['bindings']
                                        if b['id'] != 'led'])


def test_the_leds_the_issue_names():
    assert led_pin('pico_w') == ('LED', False)
    assert led_pin('pico2_w') == ('LED', False)
    assert led_pin('pico') == (25, False)
    assert led_pin('esp32') == (2, False)
    assert led_pin('esp32_s3')[1] and led_pin('esp32_c3')[1]
    assert led_pin('no-such-board') == (None, False)


def test_the_simulated_board_gets_the_repo_config_as_it_is():
    config, words = first_config('sim')
    assert config == (ROOT / 'config.json').read_bytes() and words == ''
    assert led_pin('sim') == (None, False)  # the simulated board has none


def test_deploy_installs_it_and_says_where():
    """plan_config (tools/deploy/cli.py) on a board with no config.json:
    the config it would write and the line it prints."""
    from types import SimpleNamespace
    from tools.deploy.cli import plan_config
    args = SimpleNamespace(config=None, no_token_generation=False)
    firmware = {'pico_w': ('rp2', 'RPI_PICO_W'), 'pico': ('rp2', 'RPI_PICO'),
                'esp32_s3': ('esp32', 'ESP32_GENERIC_S3')}
    for name, pin, says in (
            ('pico_w', 'LED', 'it blinks the on-board LED ("LED")'),
            ('pico', 25, 'it blinks the on-board LED (GPIO 25)'),
            ('esp32_s3', 4, 'it blinks GPIO 4: this board has no LED a plain '
             'pin can light, so wire an LED and a 330 ohm resistor in series '
             'from GPIO 4 to GND')):
        port, build = firmware[name]  # what the board's probe would find
        board = SimpleNamespace(contents={}, info={
            'platform': port, 'build': build, 'machine': ''})
        config, note, token = plan_config(board, args, name)
        blink = [b for b in json.loads(config)['bindings'] if b['id'] == 'led']
        assert blink[0]['pin'] == pin, (name, blink)
        assert note[0] == ('the board had no config.json: installed the repo '
                           'default; ' + says), note
        assert note[1].endswith('default; ' + says), note
