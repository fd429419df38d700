"""Deferred work runs promptly while the asyncio loop sleeps in poll():
the simulated board's Waker nudges the loop after a timer schedules work."""
import asyncio
import unit
from app.board import Board
from app.registry import Registry
from app.sim import Waker


def _deferred_while_idle(with_waker):
    reg = Registry(Board('sim'))
    h = reg.create({'kind': 'blink', 'pin': 2, 'period_ms': 10})

    async def main():
        task = asyncio.create_task(Waker().run()) if with_waker else None
        await asyncio.sleep_ms(400)  # the loop sits in poll() meanwhile
        if task:
            task.cancel()  # asyncio.run leaves tasks behind in MicroPython
        return h.fires, h.deferred

    fires, deferred = asyncio.run(main())
    reg.delete(h.id)
    return fires, deferred


def test_deferred_work_runs_while_loop_idles():
    fires, deferred = _deferred_while_idle(True)
    assert fires >= 10, fires
    # every toggle defers; at most one may still be queued at the end
    assert deferred >= fires - 2, (fires, deferred)



def test_without_waker_deferral_stalls():
    # the reason Waker exists: on the unix port, work scheduled from the
    # timer thread waits while the loop sleeps in poll()
    fires, deferred = _deferred_while_idle(False)
    assert fires >= 10, fires
    assert deferred < fires // 2, (fires, deferred)


unit.main(globals())
