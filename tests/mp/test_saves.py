"""Flash writes off the outputs' path (app.config.Saver), on both VMs: REST
changes are saved before they are answered; rule actions, counters and
schedules only mark the config dirty, and one asyncio task saves it,
coalesced; Ctrl-C saves what is pending; PATCH ?live=1 saves nothing."""
import asyncio
import os
import unit
from time import ticks_diff, ticks_ms
from app import config, log, sim
from app.board.board import Board
from app.registry import Registry
from app.time.clock import Clock
from app.time.schedules import Schedules
from fakes import Store, request


class Counting(Store):
    """A store that counts its saves and which task made each one."""

    def __init__(self):
        Store.__init__(self)
        self.saves = 0
        self.tasks = []

    def save(self, bindings):
        Store.save(self, bindings)
        self.saves += 1
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no loop running: a plain call
            task = None
        self.tasks.append(task)


def setup():
    from app.main import persist
    store = Counting()
    reg = Registry(Board('sim', 8), 16)
    saver = persist(reg, store)
    reg.create({'id': 'relay', 'kind': 'blink', 'pin': 4, 'period_ms': 1000,
                'start': False})
    reg.create({'id': 'button', 'kind': 'edge', 'pin': 14,
                'on': [{'when': 'press', 'do': 'toggle', 'binding': 'relay'}]})
    store.saves = 0
    del store.tasks[:]
    return reg, store, saver


def test_rest_changes_save_at_once_rule_actions_only_mark():
    reg, store, saver = setup()
    reg.do('start', 'relay')
    assert (store.saves, saver.pending) == (1, False)
    reg.act('toggle', 'relay', reg.get('button'))  # as a rule does
    assert not reg.get('relay').running
    assert (store.saves, saver.pending) == (1, True)  # no write here
    reg.act('save', None, reg.get('button'))  # a counter's total
    assert store.saves == 1
    reg.do('start', 'relay')  # durable: takes what was pending along
    assert (store.saves, saver.pending) == (2, False)
    assert store.data['bindings'] == reg.specs()
    reg.replace_all([])


def test_a_burst_of_20_rule_actions_is_saved_at_most_twice():
    """20 presses in 2 s, each toggling the relay from the edge's deferred
    work: one save by the saver's task within a second, the rest in the
    next, after the gap; none from the rule actions themselves."""
    reg, store, saver = setup()
    acts = []

    def change(durable=True):
        acts.append(durable)
        saver(durable)
    reg.on_change = change

    async def main():
        saver.start()
        assert sim.burst(14, 20, 50, 50) == 2000
        t0 = ticks_ms()
        while (len(acts) < 20 or saver.pending) and \
                ticks_diff(ticks_ms(), t0) < 30000:
            await asyncio.sleep_ms(20)
        saver._task.cancel()
        await asyncio.sleep_ms(0)
    unit.run(main())
    assert acts == [False] * 20, acts
    assert 1 <= store.saves <= 2, store.saves
    assert all(t is saver._task for t in store.tasks), store.tasks
    assert not reg.get('relay').running  # 20 toggles
    assert store.data['bindings'] == reg.specs()
    reg.replace_all([])


def test_schedule_driven_starts_and_stops_are_not_saved_at_once():
    reg, store, saver = setup()
    sched = Schedules(reg, store, Clock(store))
    ev = sched.create({'binding': 'relay', 'do': 'start', 'at': '08:00'})
    assert (store.saves, saver.pending) == (1, False)  # REST: durable
    sched._fire(ev, 0, 0)
    assert reg.get('relay').running
    assert (store.saves, saver.pending) == (1, True)
    saver.flush()
    assert (store.saves, saver.pending) == (2, False)
    reg.replace_all([])


def test_shutdown_saves_what_is_pending():
    from app.main import shutdown
    reg, store, saver = setup()
    reg.act('toggle', 'relay', reg.get('button'))
    assert saver.pending and store.saves == 0
    shutdown(reg, [])
    assert store.saves == 1 and not saver.pending
    saved = {b['id']: b for b in store.data['bindings']}
    assert saved['relay']['start'] is True  # as it ran, not as stopped
    shutdown(reg, [])  # nothing pending, no counter: no write
    assert store.saves == 1
    reg.replace_all([])


def test_a_failed_save_is_noted_once_and_tried_again():
    reg = Registry(Board('sim', 8), 16)
    store = config.Config('no-such-dir/config.json')
    saver = config.Saver(store, reg.specs)
    reg.on_change = saver
    before = len(log.entries())
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 100,
                'start': False})
    assert store.error['code'] == 'save_failed'
    texts = [e['text'] for e in log.entries()[before:]]
    assert len(texts) == 1 and texts[0].startswith('save failed: '), texts
    assert saver.pending  # tried again
    reg.do('start', 'led')
    assert len(log.entries()) == before + 1  # still failing: not again
    reg.replace_all([])


def test_patch_live_applies_without_saving_then_a_plain_patch_saves():
    from app.http.api import create_app
    reg, store, saver = setup()
    reg.create({'id': 'lamp', 'kind': 'pwm', 'pin': 2, 'duty': 10})
    store.saves = 0
    app = create_app(reg, store)
    for duty in (20, 35, 50):
        status, body = request(app, 'PATCH', '/api/bindings/lamp?live=1',
                               {'duty': duty})
        assert status == 200 and body['target_duty'] == duty, body
        assert reg.get('lamp').params['duty'] == duty
    assert store.saves == 0 and not saver.pending
    saved = {b['id']: b for b in store.data['bindings']}
    assert saved['lamp']['duty'] == 10
    status, body = request(app, 'PATCH', '/api/bindings/lamp', {'duty': 50})
    assert status == 200 and store.saves == 1
    saved = {b['id']: b for b in store.data['bindings']}
    assert saved['lamp']['duty'] == 50
    # a live PATCH that is refused changes nothing
    status, body = request(app, 'PATCH', '/api/bindings/lamp?live=1',
                           {'duty': 500})
    assert status == 400 and reg.get('lamp').params['duty'] == 50
    assert store.saves == 1
    reg.replace_all([])


def test_config_file_written_by_the_task_is_the_running_state():
    """Through a real Config: the saver's file is what runs."""
    import json
    path = 'saves-flash'
    try:
        os.mkdir(path)
    except OSError:
        pass
    try:
        reg = Registry(Board('sim', 8), 16)
        store = config.Config(path + '/config.json')
        from app.main import persist
        saver = persist(reg, store)
        reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                    'duration_ms': 60000, 'active_level': 0, 'start': False})
        reg.create({'id': 'led', 'kind': 'blink', 'pin': 2,
                    'period_ms': 500, 'start': False})
        reg.act('start', 'led', reg.get('relay'))  # as a rule of relay's
        assert saver.pending
        saver.flush()
        with open(path + '/config.json') as f:
            saved = json.load(f)['bindings']
        assert [b['start'] for b in saved] == [False, True], saved
        with open(path + '/pins.json') as f:
            assert json.load(f)['pins'] == [[4, 1], [2, 0]]
        reg.replace_all([])
    finally:
        for name in ('config.json', 'pins.json'):
            try:
                os.remove(path + '/' + name)
            except OSError:
                pass
        os.rmdir(path)


unit.main(globals())
