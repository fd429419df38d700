"""app.board.bootpins: the outputs go to their idle level before anything
else boots: from pins.json while it matches config.json, else from
config.json itself (both VMs)."""
import json
import os
import unit
from app.board import bootpins
from app import sim
from app.board.board import Board
from app.config import Config
from app.registry import Registry


DIR = 'bootpins-flash'  # cwd: the repo (unix port), /run (WebAssembly)
CONFIG = DIR + '/config.json'
PINS = DIR + '/pins.json'


def _flash():
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    cfg = Config(CONFIG)
    assert cfg.pins_path() == PINS
    reg = Registry(Board('sim', 8), 16)
    reg.create({'id': 'relay', 'kind': 'pulse', 'pin': 16, 'duration_ms': 50,
                'active_level': 0, 'start': False})
    reg.create({'id': 'led', 'kind': 'blink', 'pin': 17, 'period_ms': 50,
                'start': False})
    reg.create({'id': 'in', 'kind': 'sample', 'pin': 18, 'period_ms': 50,
                'start': False})
    cfg.idle_pins = reg.idle_pins
    cfg.drivable = reg.board.outputs()  # as app.main.persist
    cfg.save(reg.specs())
    for h in list(reg.bindings):
        reg.delete(h.id)
    return cfg


def _reset(*pins):
    for pin in pins:
        line = sim.line(pin)
        line.mode, line.level = -1, 0


def _cleanup():
    for name in (CONFIG, PINS, CONFIG + '.tmp', PINS + '.tmp', DIR):
        try:
            (os.rmdir if name == DIR else os.remove)(name)
        except OSError:
            pass


def test_saved_outputs_are_driven_idle_and_inputs_left_alone():
    try:
        _flash()
        _reset(16, 17, 18)
        assert bootpins.apply(CONFIG, PINS) == 2
        assert (sim.line(16).mode, sim.line(16).level) == (sim.Pin.OUT, 1)
        assert (sim.line(17).mode, sim.line(17).level) == (sim.Pin.OUT, 0)
        assert sim.line(18).mode == -1  # an input: never driven
    finally:
        _cleanup()


def _write(bindings, path=CONFIG, board='auto'):
    """config.json as deploy.py --config or a text editor leaves it."""
    with open(path, 'w') as f:
        json.dump({'board': board, 'bindings': bindings}, f)


class Watched(sim._Line):
    """A line that keeps every (mode, level) it is set to."""

    def __init__(self):
        self.seen = []
        sim._Line.__init__(self)

    @property
    def level(self):
        return self._level

    @level.setter
    def level(self, value):
        self._level = value
        self.seen.append((self.mode, value))


STALE = [{'id': 'relay', 'kind': 'pulse', 'pin': 16, 'duration_ms': 50,
          'active_level': 0, 'start': False},
         {'id': 'led', 'kind': 'blink', 'pin': 19, 'period_ms': 50},
         {'id': 'lamp', 'kind': 'pwm', 'pin': 21, 'duty': 40},
         {'id': 'in', 'kind': 'sample', 'pin': 18, 'period_ms': 50}]


def test_a_stale_pins_json_drives_the_outputs_from_config_json():
    try:
        _flash()  # pins.json for 16 (active-low) and 17
        _write(STALE)  # then a new config: pins.json no longer matches
        assert bootpins.read(CONFIG, PINS) is None
        _reset(16, 17, 18, 19, 21)
        assert bootpins.apply(CONFIG, PINS) == 3
        assert [(sim.line(p).mode, sim.line(p).level) for p in (16, 19, 21)] \
            == [(sim.Pin.OUT, 1), (sim.Pin.OUT, 0), (sim.Pin.OUT, 0)]
        assert sim.line(17).mode == -1  # pins.json's, not the config's
        assert sim.line(18).mode == -1  # an input: never driven
    finally:
        _cleanup()


def test_a_missing_or_damaged_pins_json_drives_them_from_config_json():
    try:
        _flash()
        _write(STALE)
        for damaged in (None, '{"config": ', '[1, 2]', '{"pins": [[16, 0]]}'):
            if damaged is None:
                os.remove(PINS)
            else:
                with open(PINS, 'w') as f:
                    f.write(damaged)
            _reset(16, 19, 21)
            assert bootpins.apply(CONFIG, PINS) == 3, damaged
            assert (sim.line(16).mode, sim.line(16).level) == (sim.Pin.OUT, 1)
    finally:
        _cleanup()


def test_pins_json_keeps_the_pins_the_board_may_drive():
    try:
        _flash()
        with open(PINS) as f:
            out = json.load(f)['out']
        assert 2 in out and 34 not in out and 6 not in out, out
        _write([{'kind': 'blink', 'pin': 2}, {'kind': 'blink', 'pin': 4}])
        _reset(2, 4)
        with open(PINS) as f:
            saved = json.load(f)
        saved['out'] = [4]  # as if this board could drive only 4
        with open(PINS, 'w') as f:
            json.dump(saved, f)
        assert bootpins.apply(CONFIG, PINS) == 1
        assert sim.line(2).mode == -1 and sim.line(4).mode == sim.Pin.OUT
    finally:
        _cleanup()


def test_only_the_bindings_are_parsed_and_strings_cannot_fool_it():
    text = {'limits': {'bindings': 16, 'virtual_timers': 8},
            'wifi': {'ssid': 'bindings'},
            'bindings': [
                {'id': 'a', 'kind': 'pattern', 'pin': 2,
                 'steps_ms': [100, [200]]},
                {'id': 'b', 'kind': 'edge', 'pin': 4, 'on': [
                    {'when': 'press', 'do': 'start', 'binding': 'a'}]},
                {'id': 'c', 'kind': 'pulse', 'pin': 5, 'active_level': 0,
                 'duration_ms': 10}],
            'schedules': [{'id': 'e', 'binding': 'a', 'do': 'start',
                           'at': '07:00'}]}
    raw = json.dumps(text).encode()
    assert bootpins._bindings(raw) == text['bindings']
    assert bootpins._bindings(b'{"bindings" :\n [ ] }') == []
    for odd in ('x]', 'x[', '][', 'a]]]'):  # brackets inside a string
        text['bindings'][0]['id'] = odd
        assert bootpins._bindings(json.dumps(text).encode()) == \
            text['bindings'], odd
    try:
        _flash()
        with open(CONFIG, 'w') as f:
            f.write(json.dumps(text))
        assert bootpins.from_config(CONFIG, [2, 4, 5]) == [[2, 0], [5, 1]]
        assert bootpins.from_config(CONFIG, [5]) == [[5, 1]]
        assert bootpins.from_config(CONFIG) == [[2, 0], [5, 1]]  # profile
    finally:
        _cleanup()


def test_config_json_drives_only_pins_the_board_lets_drive():
    """No checks but the profile's: a hand-written config naming a flash
    pin (6) or an input-only pin (34) drives neither; a config that is no
    config drives nothing; a board of another kind drives by its map."""
    try:
        _flash()
        _write([{'kind': 'blink', 'pin': 6}, {'kind': 'blink', 'pin': 34},
                {'kind': 'pulse', 'pin': 'nope'}, {'kind': 'blink'},
                {'kind': 'blink', 'pin': [2]}, {'kind': 'blink', 'pin': 2},
                'junk', {'kind': 'edge', 'pin': 4}])
        _reset(6, 34, 2, 4)
        assert bootpins.from_config(CONFIG) == []  # 'junk': not a config
        _write([{'kind': 'blink', 'pin': 6}, {'kind': 'blink', 'pin': 34},
                {'kind': 'pulse', 'pin': 'nope'}, {'kind': 'blink'},
                {'kind': 'blink', 'pin': [2]}, {'kind': 'blink', 'pin': 2},
                {'kind': 'edge', 'pin': 4}, {'kind': 'magic', 'pin': 5}])
        assert bootpins.from_config(CONFIG) == [[2, 0]]
        _write([{'kind': 'blink', 'pin': 25}], board='pico')
        assert bootpins.from_config(CONFIG) == [[25, 0]]  # the Pico's LED
        _write([{'kind': 'blink', 'pin': 25}], board='no_such_board')
        assert bootpins.from_config(CONFIG) == []
        with open(CONFIG, 'w') as f:
            f.write('{"bindings": [{"kind": "blink", "pin": 2}')  # cut off
        assert bootpins.apply(CONFIG, PINS) == 0
        assert all(sim.line(p).mode == -1 for p in (6, 34, 2, 4))
    finally:
        _cleanup()


def test_an_active_low_pulse_stays_idle_from_reset_to_running():
    """config.json deployed without a matching pins.json: the relay's pin
    goes high (idle) first thing, stays high while the boot builds the
    binding, and the boot then writes the pins.json that matches."""
    from app import startup
    try:
        _flash()
        _write(STALE)
        sim._lines[16] = watched = Watched()
        bootpins.apply(CONFIG, PINS)
        assert watched.seen[-1] == (sim.Pin.OUT, 1), watched.seen
        early = len(watched.seen)
        reg, store = startup.boot(CONFIG)
        assert not store.safe_mode, store.error
        assert len(watched.seen) > early  # the boot drove it too...
        driven = [s for s in watched.seen if s[0] == sim.Pin.OUT]
        assert driven and all(level == 1 for _, level in driven), \
            watched.seen  # ...never to its active level
        assert reg.get('relay')._pin_value() == 1
        assert bootpins.read(CONFIG, PINS) == reg.idle_pins() \
            == [[16, 1], [19, 0], [21, 0]]
        reg.replace_all([])
    finally:
        sim._lines.pop(16, None)
        _cleanup()


def test_output_kinds_and_idle_levels_match_the_kinds():
    """bootpins knows the kinds without importing them: its list and its
    idle rule (1 - active_level, default 1) must be the kinds' own."""
    from app import kinds
    reg = Registry(Board('sim', 8), 16)
    required = {'period_ms': 500, 'duration_ms': 50, 'steps_ms': [50, 50]}
    for name in kinds.names():
        cls = kinds.get(name)
        assert (name in bootpins.OUTPUT_KINDS) == cls.OUTPUT, name
        if not cls.OUTPUT:
            continue
        has_level = any(f[0] == 'active_level' for f in cls.FIELDS)
        for level in ((0, 1) if has_level else (None,)):
            body = {'kind': name, 'pin': 2, 'start': False}
            for field in cls.FIELDS:
                if field[0] in required:
                    body[field[0]] = required[field[0]]
            if level is not None:
                body['active_level'] = level
            h = reg.create(body)
            assert h.IDLE == (1 if level == 0 else 0), (name, level)
            assert sim.line(2).level == h.IDLE, (name, level)
            reg.delete(h.id)


unit.main(globals())
