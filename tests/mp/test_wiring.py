"""app.main puts the parts together, whether the board serves or not: a
headless board (booted, never served) saves every change of its bindings
to config.json and their idle levels to pins.json, as a serving one does
(both VMs)."""
import json
import os
import unit
from app import main

DIR = 'wiring-flash'  # cwd: the repo (unix port), /run (WebAssembly)


def _boot(bindings):
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    for name in ('config.json', 'pins.json', 'config.json.tmp'):
        try:
            os.remove(DIR + '/' + name)
        except OSError:
            pass
    with open(DIR + '/config.json', 'w') as f:
        json.dump({'bindings': bindings}, f)
    return main.boot(DIR + '/config.json')


def _cleanup():
    for name in ('config.json', 'pins.json', 'config.json.tmp',
                 'pins.json.tmp'):
        try:
            os.remove(DIR + '/' + name)
        except OSError:
            pass
    try:
        os.rmdir(DIR)
    except OSError:
        pass


def _saved():
    with open(DIR + '/config.json') as f:
        config = json.load(f)
    with open(DIR + '/pins.json') as f:
        pins = json.load(f)['pins']
    return config['bindings'], pins


def test_a_headless_board_saves_its_changes_and_pins():
    registry, store = _boot([{'id': 'led', 'kind': 'blink', 'pin': 2,
                              'period_ms': 500}])
    assert not store.safe_mode, store.error
    registry.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                     'duration_ms': 50, 'active_level': 0, 'start': False})
    bindings, pins = _saved()
    assert [b['id'] for b in bindings] == ['led', 'relay'], bindings
    assert [4, 1] in pins and [2, 0] in pins, pins  # active low: idle high
    registry.do('stop', 'led')
    bindings, _ = _saved()
    assert bindings[0]['start'] is False, bindings
    registry.delete('relay')
    bindings, pins = _saved()
    assert [b['id'] for b in bindings] == ['led'] and [4, 1] not in pins
    for h in list(registry.bindings):
        registry.delete(h.id)
    _cleanup()


def test_a_blink_boots_with_no_feature_it_does_not_use():
    """A blink and nothing else: no clock, schedules, MQTT, rules, other
    kinds or HTTP modules after boot (they load when first needed)."""
    import sys
    registry, _ = _boot([{'id': 'led', 'kind': 'blink', 'pin': 2,
                          'period_ms': 500}])
    loaded = [m for m in sys.modules if m.startswith('app.')]
    for unused in ('app.time.clock', 'app.time.schedules', 'app.time.tz',
                   'app.mqtt.client', 'app.mqtt.hass', 'app.kinds.rules',
                   'app.kinds.pulse', 'app.kinds.pwm', 'app.kinds.inputs',
                   'app.http.api', 'app.http.events', 'app.board.timerqueue'):
        assert unused not in loaded, (unused, loaded)
    assert 'app.kinds.blink' in loaded
    for h in list(registry.bindings):
        registry.delete(h.id)
    _cleanup()


unit.main(globals())
