"""Simulated bursts follow the input's idle level, on both VMs: a pulled-up
button (edge: falling) idles high and is pressed low, a pulled-down one the
other way round; a burst of N is N presses, and the line is left idle as it
was (undriven, or driven where a test put it)."""
import unit
from app import sim
from app.board.board import Board
from app.registry import Registry




def done(pin, h=None, level=None):
    """The burst on ``pin`` has ended (and ``h`` has seen its last edge)."""
    return unit.wait_until(lambda: not sim.line(pin).burst.busy() and (
        h is None or h.to_dict()['level'] == level), 5000)


def release(pin):
    sim.line(pin).driven = -1  # as a fresh line: its pull decides


def test_pulled_up_falling_button_counts_n_presses_and_is_left_high():
    reg = Registry(Board('sim'))
    release(25)
    h = reg.create({'kind': 'edge', 'pin': 25, 'pull': 'up',
                    'edge': 'falling', 'debounce_ms': 0})
    assert sim.line(25).level == 1  # idle: high
    sim.burst(25, 5, 10, 10)
    assert done(25, h, 1), h.to_dict()
    d = h.to_dict()
    assert d['presses'] == 5 and d['level'] == 1, d
    line = sim.line(25)
    assert line.driven == -1 and line.level == 1, (line.driven, line.level)
    assert sim.line(25).burst.timer.error is None
    sim.burst(25, 3, 10, 10)  # again: the same line, still idle high
    assert done(25, h, 1)
    assert h.to_dict()['presses'] == 8, h.to_dict()
    reg.replace_all([])


def test_pulled_down_rising_button_counts_n_presses_and_is_left_low():
    reg = Registry(Board('sim'))
    release(26)
    h = reg.create({'kind': 'edge', 'pin': 26, 'pull': 'down',
                    'edge': 'rising', 'debounce_ms': 0})
    sim.burst(26, 4, 10, 10)
    assert done(26, h, 0), h.to_dict()
    d = h.to_dict()
    assert d['presses'] == 4 and d['level'] == 0, d
    assert sim.line(26).driven == -1
    reg.replace_all([])


def test_pulled_up_counter_with_bounces_counts_each_press_once():
    reg = Registry(Board('sim'))
    release(27)
    c = reg.create({'kind': 'counter', 'pin': 27, 'pull': 'up',
                    'edge': 'falling', 'debounce_ms': 5})
    sim.burst(27, 20, 10, 10, 3)
    assert done(27, c, 1), c.to_dict()
    sim.advance_ms(5)
    d = c.to_dict()
    assert d['count'] == 20 and d['error'] is None, d
    assert d['bounces'] == 120, d  # 3 glitches: 3 downs and 3 ups each
    assert sim.line(27).level == 1 and sim.line(27).driven == -1
    reg.replace_all([])


def test_a_line_driven_high_idles_high_and_stays_driven():
    """No pull (an external pull-up, stood in for by driving the line
    high): the presses go low, and the line is driven high again after."""
    reg = Registry(Board('sim'))
    release(34)
    sim.drive(34, 1)
    h = reg.create({'kind': 'edge', 'pin': 34, 'edge': 'falling',
                    'debounce_ms': 0})
    sim.burst(34, 3, 10, 10)
    assert done(34, h, 1), h.to_dict()
    assert h.to_dict()['presses'] == 3, h.to_dict()
    assert sim.line(34).driven == 1
    reg.replace_all([])
    release(34)


def test_a_burst_replaced_midway_keeps_the_idle_level():
    reg = Registry(Board('sim'))
    release(25)
    h = reg.create({'kind': 'edge', 'pin': 25, 'pull': 'up',
                    'edge': 'falling', 'debounce_ms': 0})
    sim.burst(25, 50, 20, 20)
    assert unit.wait_until(lambda: h.to_dict()['presses'] >= 2, 5000)
    sim.burst(25, 2, 10, 10)  # replaces it, maybe mid-press
    assert done(25, h, 1), h.to_dict()
    assert sim.line(25).driven == -1 and sim.line(25).level == 1
    reg.replace_all([])


unit.main(globals())
