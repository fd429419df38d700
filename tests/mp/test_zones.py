"""Named time zones in the VM (app.time.zones through app.time.tz): DST
changes of three zones on the dates the governments set, the name kept
as given, an unknown name refused with the POSIX form as a hint, the table
dropped after use, and GET /api/time/zones and PATCH /api/config through
the app."""
import json
import sys
import unit
from app.time.tz import Zone, iso
from app.board.board import Board
from app.registry import Registry
from fakes import Store, request

# (zone, UTC second of the change, offset before, offset after): 2026, as
# the EU (last Sundays of March and October, 01:00 UTC), the US Energy
# Policy Act 2005 (second Sunday of March, first of November, 02:00 local)
# and New South Wales (first Sunday of October and April, 02:00/03:00
# local) set them.
CHANGES = (
    ('Europe/Berlin', 1774746000, 3600, 7200),  # 2026-03-29T01:00Z
    ('Europe/Berlin', 1792890000, 7200, 3600),  # 2026-10-25T01:00Z
    ('America/New_York', 1772953200, -18000, -14400),  # 2026-03-08T07:00Z
    ('America/New_York', 1793512800, -14400, -18000),  # 2026-11-01T06:00Z
    ('Australia/Sydney', 1775318400, 39600, 36000),  # 2026-04-04T16:00Z
    ('Australia/Sydney', 1791043200, 36000, 39600),  # 2026-10-03T16:00Z
)


def test_dst_changes_of_three_named_zones_on_their_dates():
    for name, at, before, after in CHANGES:
        z = Zone(name)
        got = (z.offset(at - 1), z.offset(at))
        assert got == (before, after), (name, iso(at), got)
        # a second on each side, an hour off: nothing else moves
        assert z.offset(at - 3600) == before and z.offset(at + 3600) == after


def test_local_times_read_as_people_do():
    z = Zone('Europe/Berlin')
    assert iso(1774746000, z.offset(1774746000)) == '2026-03-29T03:00:00+02:00'
    z = Zone('America/New_York')
    assert iso(1793512800 - 1, z.offset(1793512800 - 1)) == \
        '2026-11-01T01:59:59-04:00'
    z = Zone('Asia/Kolkata')  # no DST, half an hour
    assert z.offset(1774746000) == 19800 and z.dst is None


def test_a_name_stays_the_name():
    assert Zone('Asia/Tokyo').text == 'Asia/Tokyo'


def test_an_unknown_name_is_refused_with_the_posix_form():
    e = unit.raises(ValueError, Zone, 'Europe/Berln')
    assert 'Europe/Berln' in str(e) and 'CET-1CEST,M3.5.0,M10.5.0/3' in str(e) \
        and '/api/time/zones' in str(e), str(e)
    e = unit.raises(ValueError, Zone, 'europe/berlin')
    assert 'did you mean "Europe/Berlin"' in str(e), str(e)
    for bad in ('Europe/Berlin"', 'a/\\b', '/', 'UTC/'):
        unit.raises(ValueError, Zone, bad)


def test_the_table_is_loaded_by_a_name_not_by_a_rule():
    """A POSIX rule never loads the named zones; the first name does, and
    they stay (a board pays for what its config uses, once)."""
    sys.modules.pop('app.time.zones', None)
    if hasattr(sys.modules['app.time'], 'zones'):
        delattr(sys.modules['app.time'], 'zones')
    Zone('CET-1CEST,M3.5.0,M10.5.0/3')
    assert 'app.time.zones' not in sys.modules
    Zone('Europe/London')
    assert 'app.time.zones' in sys.modules


def test_every_listed_zone_parses_and_is_found_by_its_name():
    from app.time import zones
    listed = json.loads(zones.JSON)['zones']
    assert 40 <= len(listed) <= 64, len(listed)
    names = [z['name'] for z in listed]
    assert len(set(names)) == len(names)
    for z in listed:
        assert sorted(z) == ['name', 'posix']
        Zone(z['posix'])  # the rules parse
        assert Zone(z['name']).std == Zone(z['posix']).std
    for continent in ('Europe/', 'America/', 'Asia/', 'Africa/',
                      'Australia/'):
        assert sum(n.startswith(continent) for n in names) >= 4, continent


def app():
    from app import schema
    from app.http.api import create_app
    from app.time import check, needed
    if not schema.CHECKS:  # as app.main installs the clock's check
        schema.CHECKS.append(lambda data: needed(data) and check(data))
    reg = Registry(Board('sim', 8), 8)
    reg.on_change = lambda: None
    store = Store()
    return create_app(reg, store), store


def test_get_zones_and_refuse_an_unknown_name():
    """(A zone that is accepted loads the clock and its runner task, which
    the WebAssembly port would wait on for ever: tests/test_zones.py sets
    one on the served VM.)"""
    a, store = app()
    status, body = request(a, 'GET', '/api/time/zones')
    assert status == 200, body
    berlin = [z for z in body['zones'] if z['name'] == 'Europe/Berlin']
    assert berlin == [{'name': 'Europe/Berlin',
                       'posix': 'CET-1CEST,M3.5.0,M10.5.0/3'}], berlin
    status, body = request(a, 'PATCH', '/api/config',
                           {'time': {'tz': 'America/Nwe_York'}})
    assert status == 400 and body['error']['field'] == 'time.tz', body
    assert 'CET-1CEST,M3.5.0,M10.5.0/3' in body['error']['message'], body
    assert store.data['time']['tz'] == 'UTC'


unit.main(globals())
