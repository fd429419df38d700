"""Over-the-air updates on the board: two image slots and the flag that
picks one (docs/ota.md).

Slot ``""`` is the flash root, where USB deploy writes; slot ``slot_b`` is
a folder beside it. An update fills the slot the board does not run
(``app.ota.update``) and switches by replacing ``slot.json``, which the
boot shim (main.py, written by tools/deploy/build.py) reads first:
``{"run": slot, "prev": slot, "version", "prev_version", "trial": 0 or 1,
"trial_s", "why", "rolled_back": {"version", "why"}}``. No slot.json: the
root image runs. Imported only for an update, or by the boot shim when an
image is on trial (``app.ota.trial``): a normal boot never loads it.
"""
import json
import os

FLAG = 'slot.json'
SLOT_B = 'slot_b'
# at the flash root only, shared by both slots: the boot shim and the module
# that picks the image (tools/deploy/build.py writes both)
ROOT_FILES = ('main.py', 'boot_image.mpy')


def read():
    """The flag as a dict ({} when there is none: the root image runs)."""
    try:
        with open(FLAG) as f:
            slot = json.load(f)
        return slot if isinstance(slot, dict) else {}
    except Exception:  # none; a write is a rename, so never half of one
        return {}


def write(slot):
    """Replace the flag: write, then rename, so a power cut leaves the old
    flag or the new one (LittleFS renames atomically)."""
    with open(FLAG + '.tmp', 'w') as f:
        json.dump(slot, f)
    os.rename(FLAG + '.tmp', FLAG)
    if hasattr(os, 'sync'):
        os.sync()


def other(slot):
    """The slot an update fills while ``slot`` runs."""
    return '' if slot else SLOT_B


def path(slot, rel):
    """Where the image file ``rel`` of ``slot`` is on the flash. The root
    files of a new image wait in its slot as ``<name>.next`` until the
    switch renames them over the root's."""
    if rel in ROOT_FILES:
        rel += '.next'
    return slot + '/' + rel if slot else rel


def reboot():
    """A board's reset; the unix port exits with 75 and its runner
    (tools/run_sim.py) starts it again on the same flash and port."""
    import sys
    if sys.platform in ('linux', 'darwin'):
        raise SystemExit(75)
    import machine
    machine.reset()
