"""A new image on trial: the watchdog until it confirms, and ``confirm``.

The boot shim (main.py, through boot_image) imports this only when
slot.json says the image is on trial, calls ``arm`` before it imports the
app and runs the app through ``run``; app.main calls ``confirm`` once the
board serves (or runs headless). Until then a reset
of any kind makes the next boot run the previous image; the watchdog turns
"never got there" into such a reset:

- rp2: ``machine.WDT`` runs at most 8388 ms and can never be stopped
  (ports/rp2/machine_wdt.c), so a 1 s timer feeds it while the trial is
  within ``trial_s`` and from ``confirm`` on; past the limit the feeding
  stops and the watchdog resets the board.
- esp32: ``machine.WDT(timeout=...)`` reconfigures the task watchdog each
  time it is called (ports/esp32/machine_wdt.c: esp_task_wdt_reconfigure),
  so the trial gets ``trial_s`` in one, and ``confirm`` sets a long timeout
  that a task feeds from then on.
- the unix port has no watchdog: tools/run_sim.py kills a VM whose trial
  outlives ``trial_s`` and starts it again, as a watchdog would.
"""
import sys
from time import ticks_diff, ticks_ms

_slot = {}
_state: list = [0, 0, 0, 0]  # confirmed, ticks_ms at arm, trial_s in ms, esp32
_keep = []  # the feeding timer, kept alive


def _save():  # boot_image's, given to arm()
    pass


def _fail(why):  # boot_image's: notes why, resets
    pass


def _feed():  # the watchdog's feed, bound once in arm(): the timer
    pass  # callback allocates nothing


def _tick(_timer):
    if _state[0] or ticks_diff(ticks_ms(), _state[1]) < _state[2]:
        _feed()


def arm(slot, save, fail, port=sys.platform):
    """Start the trial's watchdog. ``save()`` writes ``slot`` to the flag,
    ``fail(why)`` notes why the trial failed and resets (boot_image at the
    flash root: both are the old image's code as much as the new one's)."""
    global _slot, _save, _fail, _feed
    _slot, _save, _fail = slot, save, fail
    _state[1] = ticks_ms()
    _state[2] = slot.get('trial_s', 60) * 1000
    print('pinwheel: version %s on trial: it must serve within %d s'
          % (slot.get('version'), _state[2] // 1000))
    try:
        from machine import WDT
    except ImportError:  # the unix port: its runner watches
        return
    if port == 'rp2':
        _feed = WDT(timeout=8000).feed
        from machine import Timer
        _keep.append(Timer(-1, period=1000, callback=_tick))  # a soft timer
    elif port == 'esp32':
        _state[3] = 1
        WDT(timeout=_state[2])


def run(main):
    """Run the app (``main``, app.main.run): an exception before it
    confirms fails the trial (after, it is the app's, as on any boot)."""
    try:
        main()
    except Exception as e:
        if not pending():
            raise
        sys.print_exception(e)
        _fail('raised %s: %s' % (type(e).__name__, e))


def pending():
    """True while the running image is on trial."""
    return not _state[0] and 'trial' in _slot


def confirm():
    """The image serves (or runs headless): it stays. Safe to call twice."""
    if not pending():
        return
    _state[0] = 1
    for key in ('trial', 'trial_s', 'why', 'rolled_back'):
        _slot.pop(key, None)
    try:
        _save()
    except OSError as e:  # it runs on; a reset will roll it back
        print('pinwheel: cannot confirm the image (%r): the next boot runs '
              'the previous one' % e)
        return
    print('pinwheel: version %s confirmed' % _slot.get('version'))
    if _state[3]:  # esp32: its watchdog runs on, fed from now on
        _keep_fed()


def _keep_fed():
    import asyncio
    from machine import WDT
    wdt = WDT(timeout=120000)  # long: a blocking flash write or Wi-Fi join

    async def feed():
        while True:
            wdt.feed()
            await asyncio.sleep(10)
    _keep.append(asyncio.create_task(feed()))
