"""app.board.bootpins: the saved outputs go to their idle level before anything
else boots, only while pins.json matches config.json (both VMs)."""
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
    cfg.save(reg.specs())
    for h in list(reg.bindings):
        reg.delete(h.id)
    return cfg


def _reset(*pins):
    for pin in pins:
        line = sim.line(pin)
        line.mode, line.level = -1, 0


def _cleanup():
    for name in (CONFIG, PINS, DIR):
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


def test_a_config_that_changed_since_drives_nothing():
    try:
        _flash()
        with open(CONFIG) as f:
            data = json.load(f)
        data['bindings'] = []
        with open(CONFIG, 'w') as f:
            json.dump(data, f)  # as a power cut between the two writes
        _reset(16, 17)
        assert bootpins.apply(CONFIG, PINS) == 0
        assert sim.line(16).mode == -1 and sim.line(17).mode == -1
        os.remove(PINS)
        assert bootpins.apply(CONFIG, PINS) == 0
        with open(PINS, 'w') as f:
            f.write('{"config": ')  # damaged
        assert bootpins.apply(CONFIG, PINS) == 0
    finally:
        _cleanup()


unit.main(globals())
