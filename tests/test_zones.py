"""The named zones (app/time/zones.py) against the tz database of this
machine: each zone's POSIX rules are the ones its tz database file ends
with, and app.time.tz, run on the MicroPython VM, gives the offset the
database gives on both sides of every change from 2025 through 2030. And
a named zone set through the API on the served VM."""
import json
import re
import zoneinfo
from datetime import datetime, timezone
from pathlib import Path

import pytest
from vm import ROOT, run_micropython

TABLE = json.loads(''.join(re.findall(
    r"^    '(.*)'", (ROOT / 'app' / 'time' / 'zones.py').read_text(), re.M)))
START = int(datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp())
END = int(datetime(2031, 1, 1, tzinfo=timezone.utc).timestamp())


def tzif(name):
    """The bytes of ``name``'s tz database file, or None."""
    for base in zoneinfo.TZPATH:
        path = Path(base) / ('Etc/UTC' if name == 'UTC' else name)
        if path.is_file():
            return path.read_bytes()
    return None


def offset(zone, t):
    return int(datetime.fromtimestamp(t, zone).utcoffset().total_seconds())


def changes(name):
    """[(UTC second of a change, offset before, offset after)], found by
    the day and then to the second."""
    zone = zoneinfo.ZoneInfo('UTC' if name == 'UTC' else name)
    out = []
    for day in range(START, END, 86400):
        a, b = day, day + 86400
        if offset(zone, a) == offset(zone, b):
            continue
        while b - a > 1:
            mid = (a + b) // 2
            if offset(zone, mid) == offset(zone, a):
                a = mid
            else:
                b = mid
        out.append((b, offset(zone, a), offset(zone, b)))
    return out


def test_the_table_holds_the_tz_databases_rules():
    if tzif('Europe/Berlin') is None:
        pytest.skip('no tz database on this machine (zoneinfo.TZPATH)')
    assert 40 <= len(TABLE['zones']) <= 64
    wrong = []
    for z in TABLE['zones']:
        footer = tzif(z['name']).rstrip(b'\n').rsplit(b'\n', 1)[1].decode()
        if footer != z['posix']:
            wrong.append((z['name'], z['posix'], footer))
    assert wrong == []


CHECK = r'''
import json
from app.time.tz import Zone
bad = []
cases = json.loads(open('cases.json').read())
for name, at, before, after in cases:
    z = Zone(name)
    got = (z.offset(at - 1), z.offset(at))
    if got != (before, after):
        bad.append([name, at, got, [before, after]])
print('CHECKED', len(cases), json.dumps(bad))
'''


def test_offsets_match_at_every_change_2025_to_2030(tmp_path):
    try:
        zoneinfo.ZoneInfo('Europe/Berlin')
    except zoneinfo.ZoneInfoNotFoundError:
        pytest.skip('no tz database on this machine')
    cases = [(z['name'], *c) for z in TABLE['zones'] for c in changes(z['name'])]
    # the zones with DST change twice a year, six years
    assert len(cases) >= 12 * 20, len(cases)
    # and the zones without DST: one second in the middle of each year
    for z in TABLE['zones']:
        zone = zoneinfo.ZoneInfo(z['name'])
        for year in range(2025, 2031):
            t = int(datetime(year, 7, 1, tzinfo=timezone.utc).timestamp())
            cases.append((z['name'], t, offset(zone, t - 1), offset(zone, t)))
    (tmp_path / 'cases.json').write_text(json.dumps(cases))
    script = tmp_path / 'check.py'
    script.write_text(CHECK)
    result = run_micropython(script, cwd=tmp_path)
    out = result.stdout + result.stderr
    line = [x for x in out.splitlines() if x.startswith('CHECKED ')]
    assert result.returncode == 0 and line, out
    _, count, bad = line[0].split(' ', 2)
    assert int(count) == len(cases)
    assert json.loads(bad) == []


def test_a_named_zone_through_the_api(make_vm):
    vm = make_vm(config={'bindings': []})
    status, body, _ = vm.patch('/api/config', {'time': {'tz': 'Europe/Berlin'}})
    assert status == 200 and body['time']['tz'] == 'Europe/Berlin', body
    status, body, _ = vm.get('/api/time')
    assert status == 200 and body['tz'] == 'Europe/Berlin', body
    berlin = zoneinfo.ZoneInfo('Europe/Berlin')
    want = offset(berlin, body['epoch'])
    assert body['local'].endswith('+%02d:00' % (want // 3600)), (body, want)
    status, body, _ = vm.patch('/api/config', {'time': {'tz': 'europe/berlin'}})
    assert status == 400 and body['error']['field'] == 'time.tz', body
    assert 'did you mean "Europe/Berlin"' in body['error']['message'], body
    status, body, _ = vm.get('/api/time/zones')
    assert status == 200 and body == TABLE, body
