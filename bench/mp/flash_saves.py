"""What one save of config.json (and pins.json) asks of the flash: block
erases and programmed bytes, counted on a RAM block device under
MicroPython's own LittleFS (``vfs.VfsLfs2``), in a board's geometry.

    micropython flash_saves.py <progsize> <config.json to start from>

4 KB blocks as on rp2 and esp32; ``progsize`` 256 as rp2's _boot.py
mounts its flash, 32 (LittleFS's default in MicroPython) as esp32's
inisetup.py does. The saves are pinwheel's own: the config is booted
from that flash as ``app.main.run`` boots it (``app.main.boot``, the
schedules holding its events), on the simulated board, then SAVES REST
changes (a blink's period, each one durable, through
``app.main.persist``'s ``app.config.Saver``) are each counted on their
own. Prints ``BENCH {json}``."""
import json
import os
import sys
import vfs
from app.main import boot, use_time  # the simulated board is its machine
from app.time import Time

BLOCK = 4096
BLOCKS = 256  # 1 MB of "flash": a Pico's filesystem is 1.4 MB, an ESP32's 2 MB
SAVES = 60


class Flash:
    """A block device (MicroPython's extended protocol) in RAM that counts
    erases, program calls and programmed bytes."""

    def __init__(self):
        self.data = bytearray(BLOCK * BLOCKS)
        self.erases = self.progs = self.prog_bytes = 0

    def readblocks(self, n, buf, off=0):
        a = n * BLOCK + off
        buf[:] = self.data[a:a + len(buf)]

    def writeblocks(self, n, buf, off=None):
        if off is None:  # the simple protocol: erase, then program
            self._erase(n)
            off = 0
        a = n * BLOCK + off
        self.data[a:a + len(buf)] = buf
        self.progs += 1
        self.prog_bytes += len(buf)

    def _erase(self, n):
        self.erases += 1
        self.data[n * BLOCK:(n + 1) * BLOCK] = b'\xff' * BLOCK

    def ioctl(self, op, arg):
        if op == 4:  # block count
            return BLOCKS
        if op == 5:  # block size
            return BLOCK
        if op == 6:  # erase
            self._erase(arg)
        return 0


def main():
    progsize = int(sys.argv[1])
    with open(sys.argv[2]) as f:
        text = f.read()
    flash = Flash()
    vfs.VfsLfs2.mkfs(flash, progsize=progsize)
    vfs.mount(vfs.VfsLfs2(flash, progsize=progsize), '/flash')
    with open('/flash/config.json', 'w') as f:  # as deploy.py leaves it
        f.write(text)
    # booted as a board boots (app.main.run): the config checked and
    # filled in, the boot stamp, persistence, and the schedules holding
    # the config's events, so every save writes what a board's does
    reg, store = boot('/flash/config.json')
    assert not store.safe_mode, store.config_errors
    use_time(Time(reg, store))
    saver = reg.on_change
    saver(True)  # the files exist: every save below replaces them
    blink = [h.id for h in reg.bindings if h.KIND == 'blink'][0]
    per_save = []
    for i in range(SAVES):
        before = (flash.erases, flash.progs, flash.prog_bytes)
        reg.update(blink, {'period_ms': 200 + i})
        per_save.append([flash.erases - before[0], flash.progs - before[1],
                         flash.prog_bytes - before[2]])
    assert store.error is None, store.error
    sizes = {name: os.stat('/flash/' + name)[6]
             for name in ('config.json', 'pins.json')}
    vfs.umount('/flash')
    print('BENCH ' + json.dumps({'progsize': progsize, 'saves': SAVES,
                                 'per_save': per_save, 'bytes': sizes}))


main()
