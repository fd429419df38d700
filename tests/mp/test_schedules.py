"""Clock, time zones, sunrise/sunset, schedules and power-on, inside the VM
(both VMs: tests/test_in_vm.py, tests/test_in_vm32.py).

The runner is driven by ``Schedules.tick(now)`` with the time given, so
clock jumps cost no waiting; one test runs the real task against the
clock moved to 07:59:58.
"""
import asyncio
import unit
from app import schema
import app.main  # noqa: F401  (installs the clock's config checks, as a board boots)
from app import sim
from app.time import solar
from app.time import tz
from app.board.board import Board
from app.time.clock import Clock
from app.errors import ApiError
from app.registry import Registry
from app.sim.routes import set_clock
from app.time.checks import check_all
from app.time.schedules import Schedules, to_dict
from app import startup

MIN = 60
MONDAY = tz.days_from_civil(2026, 11, 30)  # a Monday


def at(day, hh, mm, ss=0):
    """Unix seconds of ``day`` (days from 1970) at hh:mm:ss UTC."""
    return day * 86400 + hh * 3600 + mm * 60 + ss


class Store:
    """config.json without a file."""

    def __init__(self, data=None):
        self.data = data or schema.defaults()
        self.saves = 0

    def save(self, bindings):
        self.data['bindings'] = bindings
        self.saves += 1


def setup(bindings=({'id': 'led', 'kind': 'blink', 'pin': 2,
                     'period_ms': 100, 'start': False},), store=None):
    store = store or Store()
    reg = Registry(Board('sim', 8), 16)
    reg.replace_all(startup.power_on([dict(b) for b in bindings]))
    sched = Schedules(reg, store, Clock(store))
    sched.clock.set(at(MONDAY, 6, 0), 'manual')
    return reg, store, sched


def running(reg, binding_id='led'):
    h = reg.get(binding_id)
    h.sync()
    return h.running


# ------------------------------------------------------------ time zones

def test_dates_round_trip_and_weekdays():
    for y, m, d in ((1970, 1, 1), (2000, 2, 29), (2026, 12, 1), (2100, 3, 1),
                    (1969, 12, 31)):
        assert tz.civil_from_days(tz.days_from_civil(y, m, d)) == (y, m, d)
    assert tz.weekday(MONDAY) == 0
    assert tz.iso(1796155200) == '2026-12-01T20:00:00Z'
    assert tz.iso(1796155200, 3600) == '2026-12-01T21:00:00+01:00'
    assert tz.iso(1796155200, -19800) == '2026-12-01T14:30:00-05:30'


def test_eu_and_us_rules_change_at_the_published_moments():
    # EU: last Sunday of March and of October at 01:00 UTC (Directive
    # 2000/84/EC); US: second Sunday of March, first of November, 02:00
    # local (15 U.S.C. 260a). 2025: 30 March / 26 October; 9 March / 2 Nov.
    eu = tz.Zone('CET-1CEST,EU')
    posix = tz.Zone('CET-1CEST,M3.5.0,M10.5.0/3')
    day = tz.days_from_civil
    for z in (eu, posix):
        assert z.offset(at(day(2025, 3, 30), 0, 59, 59)) == 3600
        assert z.offset(at(day(2025, 3, 30), 1, 0)) == 7200
        assert z.offset(at(day(2025, 10, 26), 0, 59, 59)) == 7200
        assert z.offset(at(day(2025, 10, 26), 1, 0)) == 3600
    us = tz.Zone('EST5EDT,US')
    assert tz.Zone('EST5EDT').rule == us.rule  # US is the default rule
    assert us.offset(at(day(2025, 3, 9), 6, 59)) == -5 * 3600
    assert us.offset(at(day(2025, 3, 9), 7, 0)) == -4 * 3600
    assert us.offset(at(day(2025, 11, 2), 5, 59)) == -4 * 3600
    assert us.offset(at(day(2025, 11, 2), 6, 0)) == -5 * 3600
    # southern hemisphere: DST across the new year (Sydney)
    syd = tz.Zone('AEST-10AEDT,M10.1.0,M4.1.0/3')
    assert syd.offset(at(day(2025, 1, 15), 0, 0)) == 11 * 3600
    assert syd.offset(at(day(2025, 7, 15), 0, 0)) == 10 * 3600
    assert tz.Zone('<+0530>-5:30').offset(0) == 19800
    assert tz.Zone('UTC').offset(0) == 0


def test_local_times_the_clocks_skip_or_repeat():
    eu = tz.Zone('CET-1CEST,EU')
    day = tz.days_from_civil(2025, 3, 30)
    # 02:30 does not exist that night: it counts an hour later (03:30 CEST)
    assert eu.utc(day * 86400 + 2 * 3600 + 30 * MIN) == at(day, 1, 30)
    day = tz.days_from_civil(2025, 10, 26)
    # 02:30 happens twice: the first one (CEST)
    assert eu.utc(day * 86400 + 2 * 3600 + 30 * MIN) == at(day, 0, 30)


def test_bad_zones_are_refused_with_a_reason():
    for text in ('CET', 'CET-1CEST,M13.1.0,M10.5.0', 'X-1', '<+05', 'CET-1,EU',
                 'CET-1CEST,EU,US', 5, 'CET-1CEST,M3.5.0'):
        e = unit.raises(ValueError, tz.Zone, text)
        assert str(e), text
    e = unit.raises(ApiError, schema.check, {'time': {'tz': 'CET'}})
    assert e.field == 'time.tz', e.field


# ------------------------------------------------------------- sun

def _near(t, hh, mm, offset_h):
    local = t + offset_h * 3600  # t: seconds from the date's 00:00 UTC
    want = hh * 3600 + mm * 60
    return abs(local - want) <= 150, (local // 3600, local % 3600 // 60)


def test_sunrise_and_sunset_match_published_tables():
    # Published times are rounded to the minute: +-2 min plus that rounding.
    # timeanddate.com, Little Rock, Arkansas (34.75 N, 92.29 W), CDT
    # (UTC-5), 2021-06-20: sunrise 5:56 am, sunset 8:25 pm; 2021-06-01:
    # 5:56 am, 8:17 pm (quoted by KARK/fox16.com, "The earliest Arkansas
    # sunrise of the year", 2021-06-11).
    # Chichester, England (50.84 N, 0.78 W), GMT, 2021-12-21: sunrise
    # 8.03 am, sunset 3.59 pm (chichester.co.uk, winter solstice 2021).
    # timeanddate.com, Sydney (33.87 S, 151.21 E), AEDT (UTC+11),
    # 2021-12-29: sunrise 5:45 am, day length 14:23:19 (sunset 8:08 pm).
    cases = ((34.7465, -92.2896, (2021, 6, 20), -5, (5, 56), (20, 25)),
             (34.7465, -92.2896, (2021, 6, 1), -5, (5, 56), (20, 17)),
             (50.8365, -0.7792, (2021, 12, 21), 0, (8, 3), (15, 59)),
             (-33.8688, 151.2093, (2021, 12, 29), 11, (5, 45), (20, 8)))
    for lat, lon, date, off, rise, sets in cases:
        days = tz.days_from_civil(*date)
        r, s = solar.times(days, lat, lon)
        ok, got = _near(r, rise[0], rise[1], off)
        assert ok, ('sunrise', date, got, rise)
        ok, got = _near(s, sets[0], sets[1], off)
        assert ok, ('sunset', date, got, sets)


def test_no_sunrise_in_the_polar_night():
    days = tz.days_from_civil(2025, 12, 21)
    assert solar.times(days, 78.2, 15.6) == (None, None)  # Longyearbyen
    days = tz.days_from_civil(2025, 6, 21)
    assert solar.times(days, 78.2, 15.6) == (None, None)  # midnight sun


# ---------------------------------------------------------- schedules

def test_a_weekday_event_fires_at_its_minute_and_only_then():
    reg, store, sched = setup()
    ev = sched.create({'binding': 'led', 'do': 'start', 'at': '08:00',
                       'days': ['mon']})
    sched.tick(at(MONDAY, 7, 0))
    assert to_dict(ev)['next_fire'] == at(MONDAY, 8, 0), to_dict(ev)['next_fire']
    sched.tick(at(MONDAY, 7, 59, 59))
    assert not running(reg)
    sched.tick(at(MONDAY, 8, 0))
    assert running(reg) and to_dict(ev)['last_fired'] == at(MONDAY, 8, 0)
    reg.do('stop', 'led')
    for t in (at(MONDAY, 8, 0, 30), at(MONDAY, 8, 1), at(MONDAY, 9, 0),
              at(MONDAY + 1, 8, 0), at(MONDAY + 6, 8, 0)):
        sched.tick(t)
        assert not running(reg), tz.iso(t)  # once, and only on Mondays
    assert to_dict(ev)['next_fire'] == at(MONDAY + 7, 8, 0)
    sched.tick(at(MONDAY + 7, 8, 0))
    assert running(reg)


def test_local_time_and_a_dst_night_fire_once():
    reg, store, sched = setup()
    store.data['time']['tz'] = 'CET-1CEST,EU'
    sunday = tz.days_from_civil(2025, 10, 26)  # 02:00-03:00 twice
    sched.clock.set(at(sunday, 0, 0))
    ev = sched.create({'binding': 'led', 'do': 'toggle', 'at': '02:30'})
    fired = []
    for minute in range(0, 4 * 60):
        now = at(sunday - 1, 22, 0) + minute * MIN
        before = to_dict(ev)['last_fired']
        sched.tick(now)
        if to_dict(ev)['last_fired'] != before:
            fired.append(now)
    assert fired == [at(sunday, 0, 30)], [tz.iso(t) for t in fired]


def test_the_times_an_event_keeps_are_small_ints():
    # Unix seconds are past 2**30: on a 32-bit board each would be a heap
    # object held per event; the kept ones (last fired, the occurrence,
    # the next) and the sun's cached times must add without allocating
    import micropython
    reg, store, sched = setup()
    store.data['location'] = {'lat': 50.8365, 'lon': -0.7792}
    ev = sched.create({'binding': 'led', 'do': 'start', 'at': '08:00'})
    sun = sched.create({'binding': 'led', 'do': 'stop', 'at': 'sunset'})
    sched.tick(at(MONDAY, 8, 0))
    # an event's _LAST_FIRED, _FIRED, _NEXT_FIRE (app.time.schedules)
    assert ev[7] is not None and ev[8] is not None and ev[9] is not None
    assert sun[9] is not None and sched._sun
    kept = [ev[7], ev[8], ev[9], sun[9]]
    for rise, sets in sched._sun.values():
        kept += [rise, sets]
    total = 0
    micropython.heap_lock()
    try:
        for t in kept:
            total += t  # a heap int would need memory here
    finally:
        micropython.heap_unlock()
    assert total
    reg.do('stop', 'led')


def test_forward_jump_within_catch_up_fires_late_beyond_it_skips():
    reg, store, sched = setup()
    ev = sched.create({'binding': 'led', 'do': 'start', 'at': '08:00'})
    sched.tick(at(MONDAY, 7, 58))
    sched.tick(at(MONDAY, 8, 3))  # 3 minutes late, catch_up_min 5
    assert running(reg) and to_dict(ev)['last_fired'] == at(MONDAY, 8, 3)
    # _FIRED: the occurrence it fired for, kept in seconds from 2024
    assert ev[8] == at(MONDAY, 8, 0) - tz.days_from_civil(2024, 1, 1) * 86400
    reg.do('stop', 'led')
    sched.tick(at(MONDAY + 1, 7, 58))
    sched.tick(at(MONDAY + 1, 8, 10))  # 10 minutes: beyond it
    assert not running(reg)
    assert to_dict(ev)['next_fire'] == at(MONDAY + 2, 8, 0)
    store.data['schedule']['catch_up_min'] = 15
    sched.tick(at(MONDAY + 2, 7, 58))
    sched.tick(at(MONDAY + 2, 8, 10))
    assert running(reg)


def test_backward_jump_never_fires_twice():
    reg, store, sched = setup()
    ev = sched.create({'binding': 'led', 'do': 'toggle', 'at': '08:00'})
    sched.tick(at(MONDAY, 7, 59))
    sched.tick(at(MONDAY, 8, 0))
    assert running(reg) and to_dict(ev)['last_fired'] == at(MONDAY, 8, 0)
    for back in (at(MONDAY, 7, 59, 58), at(MONDAY, 7, 0), at(MONDAY - 1, 9, 0)):
        sched.tick(back)  # an NTP step back, a manual set back
        sched.tick(at(MONDAY, 8, 0))
        sched.tick(at(MONDAY, 8, 0, 30))
        assert running(reg) and to_dict(ev)['last_fired'] == at(MONDAY, 8, 0), tz.iso(back)
    sched.tick(at(MONDAY + 1, 8, 0))  # the next day's is a new one
    assert not running(reg)


def test_nothing_fires_while_the_clock_is_not_synced():
    reg, store, sched = setup()
    ev = sched.create({'binding': 'led', 'do': 'start', 'at': '08:00'})
    sched.clock.mark('none', False)
    for t in (at(MONDAY, 7, 59), at(MONDAY, 8, 0), at(MONDAY, 8, 1)):
        sched.tick(t)
    assert not running(reg) and to_dict(ev)['last_fired'] is None and to_dict(ev)['next_fire'] is None
    assert sched.clock.status() == {'synced': False, 'source': 'none'}
    sched.clock.set(at(MONDAY, 8, 2), 'browser')  # synced now
    sched.tick(at(MONDAY, 8, 2))
    assert not running(reg)  # 08:00 was before anyone knew the time
    assert to_dict(ev)['next_fire'] == at(MONDAY + 1, 8, 0)


def test_sunrise_event_with_an_offset():
    reg, store, sched = setup()
    e = unit.raises(ApiError, sched.create, {'binding': 'led', 'do': 'start',
                                             'at': 'sunrise'})
    assert (e.status, e.field) == (400, 'at'), e.message
    store.data['location'] = {'lat': 50.8365, 'lon': -0.7792}
    ev = sched.create({'binding': 'led', 'do': 'start', 'at': 'sunrise',
                       'offset_min': -30})
    day = tz.days_from_civil(2021, 12, 21)
    sched.tick(at(day, 6, 0))
    rise = day * 86400 + solar.times(day, 50.8365, -0.7792)[0]
    assert to_dict(ev)['next_fire'] == rise - 30 * MIN, (to_dict(ev)['next_fire'], rise)
    sched.tick(to_dict(ev)['next_fire'])
    assert running(reg)


def test_a_trusted_boot_fills_the_events_as_the_checks_do():
    # a trusted boot (a config this board checked before) loads no checks:
    # app.time.check(data, True) must give the events what they give
    from app.time import check
    from app.time.checks import config
    events = [{'binding': 'led', 'do': 'start', 'at': '08:00'},
              {'id': 'ev-1', 'binding': 'led', 'do': 'stop', 'at': 'sunset',
               'offset_min': -30, 'days': ['sun', 'mon'], 'enabled': False},
              {'binding': 'fan', 'do': 'toggle', 'at': '23:59',
               'days': ['fri', 'tue', 'wed']},
              {'days': ['sat'], 'at': 'sunrise', 'do': 'on', 'binding': 'x',
               'id': 'wake'}]
    checked = schema.defaults()
    checked['schedules'] = [dict(e) for e in events]
    config(checked)
    trusted = schema.defaults()
    trusted['schedules'] = [dict(e) for e in events]
    check(trusted, True)
    assert trusted['schedules'] == checked['schedules'], trusted['schedules']
    assert [e['id'] for e in checked['schedules']] == [
        'ev-2', 'ev-1', 'ev-3', 'wake']
    assert checked['schedules'][2]['days'] == ['tue', 'wed', 'fri']
    # events on the same days share one list; a change of one is its own
    reg, store, sched = setup()
    one = sched.create({'binding': 'led', 'do': 'start', 'at': '08:00',
                        'days': ['sat', 'sun']})
    two = sched.create({'binding': 'led', 'do': 'stop', 'at': '09:00',
                        'days': ['sun', 'sat']})
    assert to_dict(one)['days'] is to_dict(two)['days']
    sched.update(to_dict(two)['id'], {'days': ['mon']})
    assert [to_dict(ev)['days'] for ev in sched.events] == [
        ['sat', 'sun'], ['mon']]
    bad = schema.defaults()
    bad['schedules'] = [{'binding': 'led', 'at': '08:00'}]  # no "do"
    unit.raises(KeyError, check, bad, True)  # the checking boot follows


def test_events_are_checked_in_full():
    reg, store, sched = setup()
    good = {'binding': 'led', 'do': 'start', 'at': '08:00'}
    for bad, field in (({'at': '8:00'}, 'at'), ({'at': '24:00'}, 'at'),
                       ({'do': 'blink'}, 'do'), ({'binding': 'nope'}, 'binding'),
                       ({'days': []}, 'days'), ({'days': ['monday']}, 'days'),
                       ({'offset_min': 5}, 'offset_min'),
                       ({'enabled': 1}, 'enabled'), ({'level': 1}, 'level'),
                       ({'id': 'a b'}, 'id'), ({'id': None}, 'id'),
                       ({'id': ''}, 'id'), ({'id': 'x' * 33}, 'id'),
                       ({'offset_min': 721}, 'offset_min'),
                       ({'offset_min': True}, 'offset_min')):
        body = dict(good)
        body.update(bad)
        e = unit.raises(ApiError, sched.create, body)
        assert e.field == field, (bad, e.field, e.message)
    assert sched.events == [] and store.saves == 0
    sched.create(dict(good, days=['fri', 'mon']))
    assert sched.specs() == [{'id': 'ev-1', 'binding': 'led', 'do': 'start',
                              'at': '08:00', 'offset_min': 0,
                              'days': ['mon', 'fri'], 'enabled': True}]
    e = unit.raises(ApiError, sched.create, dict(good, id='ev-1'))
    assert (e.status, e.code) == (409, 'id_exists')


def test_ids_come_back_exactly_as_given():
    # an event keeps an "ev-N" as its number: any other id as it is
    reg, store, sched = setup()
    ids = ['ev-07', 'ev-2', 'ev-123456789', 'ev-0', 'ev-x', 'EV-3', 'ev-']
    for event_id in ids:
        sched.create({'id': event_id, 'binding': 'led', 'do': 'on',
                      'at': '08:00'})
    ev = sched.create({'binding': 'led', 'do': 'off', 'at': '09:00'})
    assert to_dict(ev)['id'] == 'ev-1'
    assert [s['id'] for s in sched.specs()] == ids + ['ev-1']
    for event_id in ids + ['ev-1']:
        assert to_dict(sched.get(event_id))['id'] == event_id
    assert to_dict(sched.get('ev-2'))['id'] == 'ev-2'
    e = unit.raises(ApiError, sched.get, 'ev-7')  # not ev-07
    assert e.status == 404
    e = unit.raises(ApiError, sched.create, {'id': 'ev-2', 'binding': 'led',
                                             'do': 'on', 'at': '08:00'})
    assert (e.status, e.code) == (409, 'id_exists')


def test_64_events_persist_and_come_back():
    reg, store, sched = setup()
    for i in range(64):
        sched.create({'binding': 'led', 'do': ('start', 'stop')[i % 2],
                      'at': '%02d:%02d' % (i // 4, i % 4 * 15),
                      'days': [('mon', 'tue', 'wed')[i % 3]]})
    e = unit.raises(ApiError, sched.create,
                    {'binding': 'led', 'do': 'start', 'at': '23:59'})
    assert (e.status, e.code) == (409, 'limit_reached'), e.message
    saved = sched.specs()
    assert len(saved) == 64 and store.saves == 64
    assert store.data['schedules'] == []  # the events are the one copy
    # a restart: the config as config.json holds it, checked as at boot
    data = eval(repr(store.data))  # a deep copy
    data['schedules'] = eval(repr(saved))
    data = schema.check(data)
    reg2, store2, sched2 = setup(store=Store(data))
    assert sched2.specs() == saved
    assert check_all(saved, 64) == saved
    # the same JSON, key for key, as the checked config's own dicts
    import json
    assert json.dumps(sched2.specs()) == json.dumps(
        check_all(eval(repr(saved)), 64))


def test_a_binding_with_events_is_not_deleted_silently():
    reg, store, sched = setup([{'id': 'led', 'kind': 'blink', 'pin': 2,
                                'period_ms': 100, 'start': False},
                               {'id': 'fan', 'kind': 'blink', 'pin': 4,
                                'period_ms': 100, 'start': False}])
    sched.create({'id': 'on', 'binding': 'led', 'do': 'start', 'at': '08:00'})
    sched.create({'id': 'off', 'binding': 'led', 'do': 'stop', 'at': '09:00'})
    sched.create({'id': 'fan-on', 'binding': 'fan', 'do': 'start', 'at': '08:00'})
    e = unit.raises(ApiError, sched.before_binding_delete, 'led')
    assert (e.status, e.code) == (409, 'binding_scheduled')
    assert 'on, off' in e.message, e.message
    sched.before_binding_delete('led', cascade=True)
    assert [to_dict(ev)['id'] for ev in sched.events] == ['fan-on']
    assert store.events() == sched.specs()
    # a binding that vanishes anyway (PUT /api/config): the event says so
    sched.tick(at(MONDAY, 7, 0))
    reg.replace_all([])
    sched.tick(at(MONDAY, 8, 0))
    ev = sched.get('fan-on')
    assert to_dict(ev)['last_fired'] == at(MONDAY, 8, 0)
    assert 'does not exist' in to_dict(ev)['error'], to_dict(ev)['error']
    assert to_dict(ev)['next_fire'] == at(MONDAY + 1, 8, 0)


def test_power_on_policies_across_a_restart():
    bindings = [
        {'id': 'off', 'kind': 'blink', 'pin': 2, 'period_ms': 100,
         'start': True, 'power_on': 'off'},
        {'id': 'on', 'kind': 'blink', 'pin': 4, 'period_ms': 100,
         'start': False, 'power_on': 'on'},
        {'id': 'restore', 'kind': 'blink', 'pin': 5, 'period_ms': 100,
         'start': True},
        {'id': 'sched', 'kind': 'blink', 'pin': 12, 'period_ms': 100,
         'start': True, 'power_on': 'schedule'},
    ]
    reg, store, sched = setup(bindings)
    assert [running(reg, b['id']) for b in bindings] == [False, True, True,
                                                         False]
    assert reg.get('restore').spec().get('power_on') is None  # the default
    assert reg.get('sched').to_dict()['power_on'] == 'schedule'
    sched.create({'binding': 'sched', 'do': 'start', 'at': '07:00'})
    sched.create({'binding': 'sched', 'do': 'stop', 'at': '22:00'})
    sched.create({'binding': 'sched', 'do': 'toggle', 'at': '12:00'})
    # booted at 12:30 on Monday: the last start/stop before now is 07:00
    sched._powered = False
    sched.tick(at(MONDAY, 12, 30))
    assert running(reg, 'sched')
    # booted at 01:00 on Tuesday: Monday's 22:00 stop wins
    reg.do('stop', 'sched')
    reg.do('start', 'sched')
    sched._powered = False
    sched.tick(at(MONDAY + 1, 1, 0))
    assert not running(reg, 'sched')
    e = unit.raises(ApiError, reg.create, {'kind': 'blink', 'pin': 13,
                                           'period_ms': 100, 'power_on': 'x'})
    assert e.field == 'power_on'


def test_an_active_low_output_never_shows_its_active_level():
    reg = Registry(Board('sim', 8), 16)
    line = sim.line(15)
    line.level = 1
    seen = []
    value = sim.Pin.value

    def spy(self, level=None):
        if level is not None and self.id == 15:
            seen.append(1 if level else 0)
        return value(self, level)
    sim.Pin.value = spy
    try:
        reg.create({'kind': 'pulse', 'pin': 15, 'duration_ms': 100,
                    'active_level': 0, 'start': False})
    finally:
        sim.Pin.value = value
    assert seen and 0 not in seen, seen
    assert reg.idle_pins() == [[15, 1]]


def test_started_by_a_schedule_the_isr_stays_heap_locked_and_clean():
    reg, store, sched = setup()
    sched.create({'binding': 'led', 'do': 'start', 'at': '08:00'})
    sched.tick(at(MONDAY, 7, 59))
    sched.tick(at(MONDAY, 8, 0))
    h = reg.get('led')
    fires = h.fires
    sim.advance_ms(350)  # the sim runs each fire with the heap locked
    h.sync()
    assert h.running and h.error is None and h.fires > fires, h.error
    reg.do('stop', 'led')


def test_the_runner_fires_when_the_clock_passes_8():
    reg, store, sched = setup()
    sched.create({'binding': 'led', 'do': 'start', 'at': '08:00'})

    async def main():
        task = asyncio.create_task(sched.run())
        await asyncio.sleep_ms(10)
        set_clock(sched.clock, at(MONDAY + 7, 7, 59, 58))  # wakes the runner
        for _ in range(100):  # polled: up to 10 s on a busy machine
            await asyncio.sleep_ms(100)
            if running(reg):
                break
        task.cancel()
        return running(reg)
    assert unit.run(main())
    assert to_dict(sched.list()[0])['last_fired'] >= at(MONDAY + 7, 8, 0)
    reg.do('stop', 'led')


def test_an_sntp_answer_is_read_or_refused():
    try:
        from app.time import ntp
    except ImportError:  # no socket module (the WebAssembly port)
        return
    import struct
    answer = bytearray(48)
    answer[0] = 0x24  # version 4, mode 4 (server)
    answer[1] = 2  # stratum
    answer[40:44] = struct.pack('!I', 1796148000 + 2208988800)
    answer[44] = 0x80  # half a second: rounds up
    assert ntp.parse(bytes(answer)) == 1796148001
    kiss = bytearray(answer)
    kiss[1] = 0  # kiss-of-death
    assert ntp.parse(bytes(kiss)) is None
    client = bytearray(answer)
    client[0] = 0x1B  # mode 3: our own request echoed
    assert ntp.parse(bytes(client)) is None
    assert ntp.parse(b'short') is None



def test_a_query_gets_the_time_from_a_server_that_answers():
    """``app.time.ntp.query`` against an SNTP server in this VM (on a port
    of its own: the looked-up addresses are the caller's to keep), and
    None from one that does not answer."""
    try:
        import socket
        from app.time import ntp
    except ImportError:  # no socket module (the WebAssembly port)
        return
    import struct
    from time import ticks_ms
    port = 20000 + ticks_ms() % 10000  # below the ports the system hands out
    here = socket.getaddrinfo('127.0.0.1', port)[0][-1]
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(here)
    server.setblocking(False)

    async def answer():
        while True:
            try:
                _, addr = server.recvfrom(48)
            except OSError:
                await asyncio.sleep_ms(5)
                continue
            data = bytearray(48)
            data[0], data[1] = 0x24, 2  # a server's answer, stratum 2
            data[40:44] = struct.pack('!I', 1796148000 + 2208988800)
            server.sendto(data, addr)

    async def main():
        task = asyncio.create_task(answer())
        # "silent": a port nobody serves
        addresses = {'silent': socket.getaddrinfo('127.0.0.1', port + 1)[0][-1],
                     'here': here}
        try:
            return (await ntp.query('silent', addresses),
                    await ntp.query('here', addresses))
        finally:
            task.cancel()
    try:
        assert unit.run(main()) == (None, 1796148000)
    finally:
        server.close()


unit.main(globals())
