"""switch: a plain on/off output (a relay, a porch light)."""
from app.kinds.handler import Handler


class Switch(Handler):
    """Drives ``active_level`` while it runs (on), the other level while
    stopped (off). No timer: nothing happens between two actions, so
    ``start`` and ``on`` are the same and a switch never takes one from
    the pool."""
    KIND = 'switch'
    DOC = 'a plain on/off output: a relay or a light; running means on'
    TIMER = False
    FIELDS = (('active_level', (0, 1), 1, None,
               'the level that means on: 1, or 0 for an active-low relay'),)

    def idle_level(self, params):
        return 1 - params['active_level']

    def setup(self):
        # heap per binding: the usual active-high switch keeps the class's
        # IDLE (0) and adds no attribute
        if self.params['active_level'] == 0:
            self.IDLE = 1

    def begin(self):
        self._drive(self.params['active_level'])
