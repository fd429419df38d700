"""switch: a plain on/off output (a relay, a porch light)."""
from app.kinds.handler import Handler


class Switch(Handler):
    """Drives ``active_level`` while it runs (on), the other level while
    stopped (off). No timer: nothing happens between two actions, so
    ``start`` and ``on`` are the same and a switch never takes one from
    the pool."""
    KIND = 'switch'
    TIMER = False
    FIELDS = (('active_level', (0, 1), 1, None, None),)

    def begin(self):
        self._drive(self.params['active_level'])
