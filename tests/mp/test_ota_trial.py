"""app.ota.trial: the watchdog of a new image on trial, per port, against a
``machine`` that records what the trial does with it (both VMs). The rp2
feeder is a timer callback: it feeds until the trial's limit, stops past
it (the watchdog then resets the board), feeds again once confirmed, and
allocates nothing (heap locked)."""
import sys
import micropython
from time import ticks_add, ticks_ms
import unit
from app.ota import trial


class WDT:
    made = []

    def __init__(self, timeout):
        self.timeout = timeout
        self.fed = 0
        WDT.made.append(self)

    def feed(self):
        self.fed += 1


class Timer:
    made = []

    def __init__(self, timer_id, period, callback):
        assert timer_id == -1  # rp2's soft timer: the bindings keep theirs
        self.period = period
        self.callback = callback
        Timer.made.append(self)


class Machine:  # what `from machine import WDT, Timer` finds
    pass


Machine.WDT = WDT
Machine.Timer = Timer


def _arm(port, trial_s=60):
    """A fresh trial on ``port`` with the recording machine; (slot, the
    saves, the failures)."""
    trial._state[:] = [0, 0, 0, 0]
    trial._keep.clear()
    WDT.made.clear()
    Timer.made.clear()
    saves, fails = [], []
    slot = {'run': 'slot_b', 'version': 'abcd1234', 'trial': 1,
            'trial_s': trial_s}
    real = sys.modules.get('machine')
    sys.modules['machine'] = Machine
    try:
        trial.arm(slot, lambda: saves.append(dict(slot)), fails.append, port)
    finally:
        sys.modules['machine'] = real
    return slot, saves, fails


def _tick_locked(timer):
    micropython.heap_lock()
    try:
        timer.callback(timer)
    finally:
        micropython.heap_unlock()


def test_rp2_feeds_within_the_limit_stops_past_it_and_after_confirm_for_good():
    slot, saves, fails = _arm('rp2', trial_s=30)
    assert [w.timeout for w in WDT.made] == [8000]  # its largest is 8388 ms
    timer, = Timer.made
    wdt, = WDT.made
    assert timer.period == 1000 and trial.pending()
    _tick_locked(timer)
    assert wdt.fed == 1
    trial._state[1] = ticks_add(ticks_ms(), -31000)  # 31 s into the trial
    _tick_locked(timer)
    _tick_locked(timer)
    assert wdt.fed == 1  # no more: the watchdog resets the board
    real = sys.modules.get('machine')
    sys.modules['machine'] = Machine
    try:
        trial.confirm()
    finally:
        sys.modules['machine'] = real
    assert not trial.pending() and 'trial' not in slot and len(saves) == 1
    assert saves[0] == {'run': 'slot_b', 'version': 'abcd1234'}
    _tick_locked(timer)
    assert wdt.fed == 2 and fails == []
    trial.confirm()  # twice: nothing more
    assert len(saves) == 1


def test_esp32_gives_the_trial_its_limit_and_a_long_fed_one_once_confirmed():
    import asyncio
    slot, saves, fails = _arm('esp32', trial_s=45)
    assert [w.timeout for w in WDT.made] == [45000] and Timer.made == []

    async def confirm_then_wait():
        trial.confirm()
        await asyncio.sleep_ms(50)
    real = sys.modules.get('machine')
    sys.modules['machine'] = Machine
    try:
        unit.run(confirm_then_wait())
    finally:
        sys.modules['machine'] = real
    assert [w.timeout for w in WDT.made] == [45000, 120000]
    assert WDT.made[1].fed >= 1 and len(saves) == 1
    for task in trial._keep:
        task.cancel()


def test_a_port_without_a_watchdog_arms_none():
    real = sys.modules.get('machine')
    sys.modules['machine'] = object()  # no WDT: the unix port, its runner
    try:
        trial._state[:] = [0, 0, 0, 0]
        WDT.made.clear()
        trial.arm({'trial': 1}, lambda: None, print, 'linux')
    except ImportError:
        raise AssertionError('arm must not need a watchdog')
    finally:
        sys.modules['machine'] = real
    assert WDT.made == [] and trial.pending()


def test_an_exception_on_trial_fails_it_and_after_confirm_is_the_apps():
    slot, saves, fails = _arm('linux')

    def broken():
        raise ValueError('bad pin')
    trial.run(broken)
    assert fails == ['raised ValueError: bad pin'] and saves == []
    trial.confirm()
    unit.raises(ValueError, trial.run, broken)
    assert len(fails) == 1


unit.main(globals())
