"""`make run`'s runner: the simulated board (the unix port of MicroPython
running main.py in its flash dir), started again when it reboots.

A board's ``machine.reset()`` starts the same firmware on the same flash;
the unix port cannot restart itself, so it exits with status 75 instead
(the boot shim and app/ota do, after an over-the-air update or a failed
trial) and this runner starts it again: same flash dir, same port, same
arguments. It also stands in for the hardware watchdog of a board: while
``slot.json`` says a new image is on trial and it has not confirmed within
its ``trial_s``, the process is killed (SIGKILL, as a watchdog reset) and
started again with ``PINWHEEL_RESET=watchdog`` in its environment (what
``machine.reset_cause()`` tells on a board), so the boot shim rolls back.

    python tools/run_sim.py FLASH_DIR [--vm micropython] [-- main.py's args]

Any other exit (Ctrl-C: 0, a port in use: 1) ends the runner with that
status. The port comes from ``PINWHEEL_PORT`` as for main.py.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

REBOOT = 75  # the exit status that asks for a restart (build.py's shim)
FLAG = 'slot.json'


def trial_limit(flash):
    """Seconds the image on trial may take to confirm, or None if none is."""
    try:
        with open(os.path.join(flash, FLAG)) as f:
            slot = json.load(f)
    except (OSError, ValueError):
        return None
    if isinstance(slot, dict) and slot.get('trial'):
        return slot.get('trial_s') or 60
    return None


def run_once(cmd, flash, env):
    """Run the VM until it exits; its status, or 'watchdog'."""
    proc = subprocess.Popen(cmd, cwd=flash, env=env)
    started = time.monotonic()
    try:
        while True:
            try:
                return proc.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
            limit = trial_limit(flash)
            if limit is not None and time.monotonic() - started > limit:
                proc.kill()  # our own child, by its pid
                proc.wait()
                return 'watchdog'
    except KeyboardInterrupt:  # the terminal sent SIGINT to the VM as well
        return proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('flash', help='the flash dir (main.py and config.json)')
    ap.add_argument('--vm', default='micropython',
                    help='the MicroPython unix-port binary')
    args, rest = ap.parse_known_args(argv)  # the rest is main.py's
    # SIGTERM (a test stopping us by pid): the finally above stops the VM
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    cmd = [args.vm, 'main.py', *[a for a in rest if a != '--']]
    cause = None
    while True:
        env = dict(os.environ)
        env.pop('PINWHEEL_RESET', None)
        if cause:
            env['PINWHEEL_RESET'] = cause
        code = run_once(cmd, args.flash, env)
        if code == 'watchdog':
            print('run_sim: the image on trial did not confirm in time: '
                  'killed, as a watchdog reset; starting again', flush=True)
            cause = 'watchdog'
        elif code == REBOOT:
            print('run_sim: reboot: starting it again', flush=True)
            cause = 'reset'
        else:
            return code


if __name__ == '__main__':
    sys.exit(main())
