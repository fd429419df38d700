"""The dashboard's Schedule view in a real browser (as tests/test_dashboard.py:
Debian's chromium, an emulated phone, pinwheel on the real VM): a week
strip for each binding with events (labelled days and hours), adding,
editing and deleting events, the next event on a card, and "set clock from
this phone" when the clock is not set."""
import calendar
import re

import pytest
from vm import VM, make_flash
from test_dashboard import CHROMIUM, CHROMIUM_ARGS, PHONE, PROVOKED, SHOTS, browser  # noqa: F401

playwright = pytest.importorskip('playwright.sync_api')
expect = playwright.expect

CONFIG = {'bindings': [
    {'id': 'lamp', 'kind': 'blink', 'pin': 2, 'period_ms': 500, 'start': False},
    {'id': 'pump', 'kind': 'pulse', 'pin': 4, 'duration_ms': 1000, 'start': False}]}


@pytest.fixture(scope='module')
def board(tmp_path_factory):
    vm = VM(make_flash(tmp_path_factory.mktemp('dash-sched'), CONFIG)).start()
    # Monday 2026-11-30 06:00 UTC (the board's zone is UTC)
    vm.put('/api/sim/clock', {'epoch': calendar.timegm((2026, 11, 30, 6, 0, 0))})
    yield vm
    vm.stop()


@pytest.fixture(scope='module')
def page(browser, board):  # noqa: F811
    ctx = browser.new_context(**PHONE)
    ctx.set_default_timeout(10000)
    pg = ctx.new_page()
    errors = []
    pg.on('console', lambda m: m.type == 'error' and not PROVOKED.search(m.text)
          and errors.append(m.text))
    pg.on('pageerror', lambda e: errors.append('pageerror: %s' % e))
    pg.goto('http://127.0.0.1:%d/' % board.port)
    yield pg
    ctx.close()
    assert errors == [], errors


def week(page, binding_id):
    return page.locator('#weeks li', has=page.locator('h3', has_text=binding_id))


def test_no_strips_for_bindings_without_events(page):
    expect(page.locator('#b-lamp')).to_be_visible()
    expect(page.locator('#weeks li')).to_have_count(0)
    expect(page.locator('#no-ev')).to_have_text('No events yet: tap + to add one.')
    expect(page.locator('#s-clock')).to_have_text('set (ntp)')
    expect(page.locator('#clock')).to_be_hidden()


def test_add_an_event_see_it_on_the_strip_and_the_card(page, board):
    page.locator('#add-ev').tap()
    form = page.locator('#ev')
    form.locator('#e-binding').select_option('lamp')
    form.locator('#e-do').select_option('start')
    form.locator('#e-at').fill('7:30')  # not HH:MM: the API says so
    form.locator('button[type=submit]').tap()
    expect(form.locator('[data-err=at]')).to_contain_text('HH:MM')
    form.locator('#e-at').fill('07:30')
    for day in ('sat', 'sun'):
        form.locator('[name=%s]' % day).uncheck()
    form.locator('button[type=submit]').tap()
    expect(form).to_be_hidden()
    strip = week(page, 'lamp')
    expect(page.locator('#weeks li')).to_have_count(1)  # pump has none
    expect(page.locator('#no-ev')).to_be_hidden()
    expect(strip.locator('rect')).to_have_count(5)  # Monday to Friday
    # each row says its day, the axis its hours; the labels sit beside the
    # rows they name (Monday at the top, Sunday at the bottom)
    expect(strip.locator('.wk > p span')).to_have_text(
        ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'])
    expect(strip.locator('.hrs span')).to_have_text(
        ['0:00', '6:00', '12:00', '18:00', '24:00'])
    svg = strip.locator('svg').bounding_box()
    mon, sun = (strip.locator('.wk > p span').nth(i).bounding_box() for i in (0, 6))
    assert mon['x'] + mon['width'] <= svg['x'] and sun['x'] + sun['width'] <= svg['x']
    assert abs(mon['y'] - svg['y']) < 4
    assert abs(sun['y'] + sun['height'] - (svg['y'] + svg['height'])) < 4
    first, last = (strip.locator('.hrs span').nth(i).bounding_box() for i in (0, 4))
    assert first['y'] >= svg['y'] + svg['height']
    assert abs(first['x'] - svg['x']) < 4
    assert abs(last['x'] + last['width'] - (svg['x'] + svg['width'])) < 4
    expect(strip.locator('[data-ev]')).to_have_text('start 07:30 mon tue wed thu fri')
    expect(page.locator('#b-lamp [data-k=next]')).to_have_text('next: start mon 07:30')
    events = board.get('/api/schedules')[1]['schedules']
    assert [(e['binding'], e['at'], e['days']) for e in events] == [
        ('lamp', '07:30', ['mon', 'tue', 'wed', 'thu', 'fri'])]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / '20-schedule.png'), full_page=True,
                    style='header { position: static !important; }')


def test_edit_and_delete_an_event(page, board):
    week(page, 'lamp').locator('[data-ev]').tap()
    form = page.locator('#ev')
    expect(form.locator('#e-at')).to_have_value('07:30')
    form.locator('#e-do').select_option('stop')
    form.locator('#e-at').fill('22:15')
    form.locator('button[type=submit]').tap()
    expect(week(page, 'lamp').locator('[data-ev]')).to_have_text(
        'stop 22:15 mon tue wed thu fri')
    assert board.get('/api/schedules')[1]['schedules'][0]['do'] == 'stop'
    week(page, 'lamp').locator('[data-ev]').tap()
    page.locator('#e-del').tap()
    expect(week(page, 'lamp')).to_have_count(0)  # no events: no strip
    expect(page.locator('#no-ev')).to_be_visible()
    expect(page.locator('#b-lamp [data-k=next]')).to_be_hidden()
    assert board.get('/api/schedules')[1]['schedules'] == []


def test_deleting_a_scheduled_binding_asks_to_delete_its_events(page, board):
    assert board.post('/api/schedules', {'binding': 'pump', 'do': 'pulse',
                                         'at': '12:00'})[0] == 201
    page.evaluate('loadSched()')
    expect(week(page, 'pump').locator('[data-ev]')).to_have_count(1)
    seen = []

    def answer(dialog):
        seen.append(dialog.message)
        dialog.accept()
    page.on('dialog', answer)
    page.locator('#b-pump [data-a=delete]').tap()
    expect(page.locator('#b-pump')).to_have_count(0)
    page.remove_listener('dialog', answer)
    assert len(seen) == 2 and 'ev-1' in seen[1], seen
    expect(page.locator('#weeks li')).to_have_count(0)
    assert board.get('/api/schedules')[1]['schedules'] == []


def test_set_the_clock_from_this_phone(page, board):
    board.put('/api/sim/clock', {'synced': False})
    banner = page.locator('#clock')
    expect(banner).to_be_visible()  # the status stream says so
    expect(page.locator('#s-clock')).to_have_text('not set')
    banner.locator('#setclock').tap()
    expect(banner).to_be_hidden()
    expect(page.locator('#s-clock')).to_have_text('set (browser)')
    t = board.get('/api/time')[1]
    assert t['synced'] is True and t['source'] == 'browser'
    assert re.match(r'^\d{4}-', t['utc'])
