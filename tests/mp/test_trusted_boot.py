"""A config.json pinwheel saved (or checked in full) on this image and
board boots without the checks (app.startup.trusted): the same registry,
statuses and power-on as the checking boot, and none of app.validate,
app.schema or app.strictjson loaded. Anything else boots the checking way,
safe mode and all (both VMs)."""
import json
import os
import sys
import unit
from app import log, main, sim
from app.config import Config

DIR = 'trusted-flash'  # cwd: the repo (unix port), /run (WebAssembly)
CONFIG = DIR + '/config.json'
PINS = DIR + '/pins.json'
KEPT = DIR + '/config.rejected.json'
CHECKERS = ('app.validate', 'app.schema', 'app.strictjson')
BLINK = {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500}
# a bit of everything a checking boot fills in: missing ids and fields,
# every power_on, sections in part, location in whole degrees, an event
MIXED = {
    'http': {'port': 8081},
    'limits': {'bindings': 8},
    'location': {'lat': 52, 'lon': 13},
    'mqtt': {'host': 'broker.local'},
    'time': {'tz': 'CET-1CEST,M3.5.0,M10.5.0/3'},
    'schedules': [{'binding': 'relay', 'do': 'on', 'at': '07:30'}],
    'bindings': [
        {'kind': 'blink', 'pin': 2, 'period_ms': 250},
        {'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 100,
         'active_level': 0, 'start': False},
        {'kind': 'blink', 'pin': 5, 'period_ms': 100, 'power_on': 'on',
         'start': False},
        {'id': 'off', 'kind': 'blink', 'pin': 12, 'period_ms': 100,
         'power_on': 'off'},
        {'id': 'sched', 'kind': 'blink', 'pin': 13, 'period_ms': 100,
         'power_on': 'schedule'},
        {'id': 'button', 'kind': 'edge', 'pin': 14, 'pull': 'up',
         'on': [{'when': 'press', 'do': 'toggle', 'binding': 'relay'}]},
        {'id': 'glow', 'kind': 'breathe', 'pin': 15, 'start': False},
    ],
}


def _write(config):
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    _remove()
    with open(CONFIG, 'w') as f:
        f.write(config if isinstance(config, str) else json.dumps(config))


def _remove():
    for path in (CONFIG, PINS, KEPT, CONFIG + '.tmp', PINS + '.tmp'):
        try:
            os.remove(path)
        except OSError:
            pass


def _cleanup():
    _remove()
    try:
        os.rmdir(DIR)
    except OSError:
        pass


def _forget_checkers():
    """Unload the checkers (as a board that booted trusted has them): an
    import after this puts them back in sys.modules."""
    import app
    for name in CHECKERS:
        sys.modules.pop(name, None)
        try:
            delattr(app, name[4:])
        except (AttributeError, KeyError):  # KeyError: MicroPython's
            pass


def _loaded():
    return [name for name in CHECKERS if name in sys.modules]


def _boot():
    """app.main.boot with the checkers unloaded first: (registry, store,
    the checkers it loaded). Boot drops them again with the boot code
    (app.main.BOOT_ONLY): a board keeps them only once a change needs
    them."""
    _forget_checkers()
    sys.modules.pop('app.time.checks', None)
    try:
        delattr(sys.modules['app.time'], 'checks')
    except (AttributeError, KeyError):
        pass
    seen = []
    drop = main._drop_boot_code

    def spy():  # what boot loaded, seen before it is dropped
        seen.extend(_loaded())
        if 'app.time.checks' in sys.modules:  # the event checks
            seen.append('app.time.checks')
        drop()
    main._drop_boot_code = spy
    try:
        registry, store = main.boot(CONFIG)
    finally:
        main._drop_boot_code = drop
    assert _loaded() == [], _loaded()
    return registry, store, seen


def _off(registry):
    """Stop and release every binding without a save (a reset)."""
    registry.on_change = None
    registry.load([])


def _state(registry, store):
    """What a boot gives: the bindings as built and running, the config
    and the statuses."""
    return ([(h.spec(), h.running, h.pin_id, type(h).__name__, h.power_on)
             for h in registry.bindings],
            registry.max_bindings, registry.board.name,
            registry.board.timers_total, store.data,
            (store.safe_mode, store.error, store.problem, store.config_errors,
             store.rejected))


def _stamp():
    with open(PINS) as f:
        return json.load(f).get('saved_by')


def test_1_a_config_pinwheel_saved_boots_without_the_checkers():
    """The first boot of a deployed config checks it, stamps pins.json
    (nothing was left out), the next builds it unchecked; a binding write
    loads app.validate then, and its save keeps the config trusted."""
    try:
        _write({'bindings': [BLINK]})
        registry, store, loaded = _boot()
        assert loaded == list(CHECKERS), loaded  # deployed: checked
        assert not store.safe_mode, store.error
        assert _stamp() is not None and _stamp()[2] == 'sim', _stamp()
        checked = _state(registry, store)
        _off(registry)
        registry, store, loaded = _boot()
        assert loaded == [], loaded
        assert _state(registry, store) == checked
        assert registry.get('led').running
        registry.create({'id': 'relay', 'kind': 'pulse', 'pin': 4,
                         'duration_ms': 50, 'start': False})
        assert 'app.validate' in sys.modules
        assert 'app.schema' not in sys.modules  # a binding write: no schema
        _off(registry)
        registry, store, loaded = _boot()
        assert loaded == [], loaded
        assert [h.id for h in registry.bindings] == ['led', 'relay']
        _off(registry)
    finally:
        _cleanup()


def test_trusted_and_checking_boots_agree():
    """Registry, statuses and power-on: the same both ways, for a config
    whose defaults, ids and events the checking boot fills in."""
    try:
        _write(MIXED)
        registry, store, loaded = _boot()
        assert 'app.validate' in loaded and not store.safe_mode, store.error
        checked = _state(registry, store)
        running = dict((h.id, h.running) for h in registry.bindings)
        assert running == {'blink-1': True, 'relay': False, 'blink-2': True,
                           'off': False, 'sched': False, 'button': True,
                           'glow': False}, running
        assert store.data['location'] == {'lat': 52.0, 'lon': 13.0}
        assert store.data['schedules'][0]['id'] == 'ev-1'  # filled in
        _off(registry)
        registry, store, loaded = _boot()
        assert loaded == [], loaded  # the events' checks neither
        assert _state(registry, store) == checked
        # a save (what pinwheel writes) and its boot: the same again
        registry.on_change(True)
        _off(registry)
        registry, store, loaded = _boot()
        assert 'app.schema' not in loaded, loaded
        assert _state(registry, store)[:3] == checked[:3]
        _off(registry)
    finally:
        _cleanup()


def test_a_hand_edit_boots_the_checking_way():
    try:
        _write({'bindings': [BLINK]})
        registry, _, _ = _boot()
        _off(registry)
        with open(CONFIG) as f:
            text = f.read()
        with open(CONFIG, 'w') as f:  # a text editor's change
            f.write(text.replace('500', '250'))
        registry, store, loaded = _boot()
        assert loaded == list(CHECKERS), loaded
        assert registry.get('led').params['period_ms'] == 250
        assert not store.safe_mode
        _off(registry)
        registry, store, loaded = _boot()  # checked in full: trusted now
        assert loaded == [], loaded
        _off(registry)
    finally:
        _cleanup()


def test_another_image_or_board_boots_the_checking_way():
    """The stamp names app.VERSION, the image and the board: a config
    saved by another version, image or board is checked."""
    try:
        _write({'bindings': [BLINK]})
        registry, _, _ = _boot()
        _off(registry)
        stamp = _stamp()
        for i, other in ((0, '0.0.1'), (1, 'deadbeef'), (2, 'esp32')):
            with open(PINS) as f:
                saved = json.load(f)
            saved['saved_by'] = list(stamp)
            saved['saved_by'][i] = other
            with open(PINS, 'w') as f:
                json.dump(saved, f)
            registry, store, loaded = _boot()
            assert loaded == list(CHECKERS), (other, loaded)
            assert not store.safe_mode and registry.get('led').running
            assert _stamp() == stamp  # checked in full: stamped again
            _off(registry)
    finally:
        _cleanup()


def _stamped(config):
    """config.json as it is written, and pins.json saying pinwheel saved
    it on this board (as a save does), whatever it holds."""
    from app import startup
    _write(config)
    store = Config(CONFIG)
    store.stamp = startup.stamp('sim')
    store.save_pins([])


def test_a_trusted_boot_that_fails_falls_back_to_the_checks():
    """A stamped file the trusted path cannot build: what it built is
    undone and the checking boot runs it, safe mode and all."""
    for config, where in (
            # the second binding lacks its pin: a KeyError midway, after
            # the first was built
            ({'bindings': [BLINK, {'id': 'x', 'kind': 'blink',
                                   'period_ms': 100}]}, 'bindings[1]'),
            # a pin the board has not: the handler cannot be made
            ({'bindings': [BLINK, {'id': 'x', 'kind': 'blink', 'pin': 99,
                                   'period_ms': 100}]}, 'bindings[1]'),
            ({'bindings': [BLINK], 'colour': 'red'}, 'colour'),
            ({'bindings': [BLINK], 'http': 8080}, 'http')):
        try:
            _stamped(config)
            registry, store, loaded = _boot()
            assert loaded == list(CHECKERS), (where, loaded)
            assert store.safe_mode, where
            assert [e['where'] for e in store.config_errors] == [where], \
                store.config_errors
            assert store.rejected == CONFIG
            assert [h.id for h in registry.bindings] == ['led']
            assert registry.get('led').running
            assert sim.line(2).mode == sim.Pin.OUT
            assert any('not built as saved' in e['text']
                       for e in log.entries())
            assert _stamp() is None  # not clean: no stamp
            _off(registry)
        finally:
            _cleanup()


def test_a_kept_rejected_file_boots_the_checking_way():
    """Safe mode's kept file (config.rejected.json) is checked at every
    boot, however config.json was saved."""
    try:
        _stamped({'bindings': [BLINK]})
        with open(KEPT, 'w') as f:
            json.dump({'bindings': [BLINK, {'id': 'x', 'kind': 'blink',
                                            'pin': 2, 'period_ms': 100}]}, f)
        registry, store, loaded = _boot()
        assert loaded == list(CHECKERS), loaded
        assert store.safe_mode and store.rejected == KEPT
        assert [e['where'] for e in store.config_errors] == ['bindings[1]']
        assert registry.get('led').running
        _off(registry)
    finally:
        _cleanup()


def test_no_config_boots_the_checking_way():
    try:
        _write('{}')
        os.remove(CONFIG)
        registry, store, _ = _boot()
        assert store.safe_mode and registry.bindings == []
        assert store.problem['code'] == 'invalid_json'
    finally:
        _cleanup()


unit.main(globals())
