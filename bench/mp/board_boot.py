"""pinwheel booting through the image's ``main.py`` as a board does, with
the one thing a board does that the unix port cannot: it joins Wi-Fi and
notes it (``app.board.net``), which makes the event log's ring. The note
comes where a board makes it: after ``boot()``, before the boot code is
dropped. So every smallest heap bench/run.py measures holds the ring, as a
board's does, whether or not the run notes anything else (an MQTT connect
also makes it).

    micropython board_boot.py        (cwd: a flash dir)
"""
import app.main
from app import log

_drop = app.main._drop_boot_code
_joined = []


def _joined_then_drop():
    if not _joined:  # serving drops boot code again later: one join
        _joined.append(log.note('wifi: joined "bench", IP 10.0.0.2'))
    _drop()


app.main._drop_boot_code = _joined_then_drop
exec(open('main.py').read())
