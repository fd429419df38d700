"""PWM duty in answers: one decimal as JSON shows it (MicroPython prints a
double to 16 digits: 64.6 read 64.59999999999999), and the live duty
rounded, not floored (a breathe with "min": 5 read 4.9 at its low)."""
import json
import unit
from app import sim
from app.board.board import Board
from app.registry import Registry
from app.kinds.pwm import Tenths



def shown(h):
    """{field: the text JSON shows} of ``h``'s duty fields."""
    text = json.dumps(h.to_dict())
    found = {}
    for key in ('duty', 'target_duty', 'min', 'max'):
        at = text.find('"%s": ' % key)
        if at < 0:
            continue
        at += len(key) + 4
        end = at
        while text[end] not in ',}':
            end += 1
        found[key] = text[at:end]
    return found


def test_every_tenth_prints_as_itself():
    for pm in range(1001):
        text = json.dumps({'duty': Tenths(pm / 10)})
        assert text == '{"duty": %d.%d}' % (pm // 10, pm % 10), text
        assert Tenths(pm / 10) == pm / 10  # a number like any other


def test_pwm_duty_and_target_read_as_set():
    reg = Registry(Board('sim'))
    h = reg.create({'id': 'dim', 'kind': 'pwm', 'pin': 2, 'duty': 64.6})
    assert shown(h) == {'duty': '64.6', 'target_duty': '64.6'}, shown(h)
    for duty in (0, 0.1, 8.2, 8.3, 33.3, 99.9, 100):
        h = reg.update('dim', {'duty': duty})  # a new handler
        want = '%.1f' % duty
        assert shown(h) == {'duty': want, 'target_duty': want}, (duty, shown(h))
    reg.replace_all([])


def test_a_fade_reads_one_decimal_at_every_step():
    reg = Registry(Board('sim'))
    h = reg.create({'id': 'dim', 'kind': 'pwm', 'pin': 2, 'duty': 0,
                    'fade_ms': 400, 'curve': 'gamma'})
    h = reg.update('dim', {'duty': 100})  # fades from 0
    seen = set()
    for _ in range(45):
        sim.advance_ms(10)
        seen.add(shown(h)['duty'])
    assert len(seen) > 10 and shown(h)['duty'] == '100.0', sorted(seen)
    reg.replace_all([])


def test_breathe_min_5_reads_5_at_its_low():
    reg = Registry(Board('sim'))
    for curve in ('gamma', 'linear'):
        h = reg.create({'id': 'b', 'kind': 'breathe', 'pin': 2, 'min': 5,
                        'max': 64.6, 'period_ms': 1000, 'curve': curve})
        # begin() puts the low end out: the duty the PWM outputs is 5 %
        d = shown(h)
        assert d == {'duty': '5.0', 'min': '5.0', 'max': '64.6'}, (curve, d)
        assert sim.pwm_state(2)['duty'] == 5.0, sim.pwm_state(2)
        reg.delete('b')


def test_a_stopped_pwm_reads_0():
    reg = Registry(Board('sim'))
    h = reg.create({'id': 'dim', 'kind': 'pwm', 'pin': 2, 'duty': 64.6,
                    'start': False})
    assert shown(h) == {'duty': '0.0', 'target_duty': '64.6'}, shown(h)
    reg.replace_all([])


unit.main(globals())
