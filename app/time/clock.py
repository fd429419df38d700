"""The wall clock: Unix epoch seconds, whether they can be trusted
(``synced``) and where they came from (``source``: "ntp", "browser",
"manual" or "none"), in the zone of ``time.tz`` (``app.time.tz``).

On a board the clock is the RTC: ``time.time()`` counts from the port's
epoch (2000-01-01 where ``time.gmtime(0)`` says so, 1970 elsewhere: see
MicroPython's ``time`` docs, "Epoch") and ``set`` writes
``machine.RTC().datetime``. It is not synced until NTP (``app.time.ntp``) or
``PUT /api/time`` sets it: an RP2040's RTC starts from a fixed date at
every reset, and schedules never fire on a clock nobody set. The task
that keeps it synced is ``app.time.ntp.sync``, loaded on a board with a
network only.

On the simulated board the clock is the host's (``app.sim.wall_s``),
and ``set`` keeps an offset from it (``PUT /api/sim/clock`` moves it:
``app.sim.routes.set_clock``); it counts as synced by NTP, as the host's
clock is. Without threads (the WebAssembly port) it moves with the sim's
virtual clock instead, from the host's time at start: ``sim.advance_ms``
moves it too. That code is app.sim's: a board's image has none of it.

Epoch seconds (~1.8e9) are heap integers on a 32-bit port: fine here, in
the event loop; never in interrupt code.
"""
import time
from app.board.board import SIM
from app.time.tz import DAY, Zone, civil_from_days, iso, weekday

_PORT_EPOCH = 0 if time.gmtime(0)[0] == 1970 else 946684800

if SIM:  # the simulated board's wall clock (app.sim stands in for machine)
    from machine import wall_s as _host  # pyright: ignore[reportAttributeAccessIssue]
else:
    def _host():
        return time.time() + _PORT_EPOCH


class Clock:
    """The board's one wall clock. ``on_set`` (a function) hears of every
    change: the schedule runner recomputes what is due."""

    def __init__(self, store):
        self.store = store  # reads "time" from store.data when needed
        self._offset = 0  # the simulated board's, from the host's clock
        self.synced = SIM
        self.source = 'ntp' if SIM else 'none'
        self.last_sync = self.now() if SIM else None  # epoch seconds
        self.on_set = None
        self._zone = Zone()
        self.zone()  # read now: made at boot, while its parser is loaded

    def now(self):
        """Unix epoch seconds (an int)."""
        return _host() + self._offset

    def zone(self):
        """The ``Zone`` of ``time.tz``; a new text is parsed once."""
        text = self.store.data.get('time', {}).get('tz', 'UTC')
        if self._zone.text != text:
            try:
                self._zone = Zone(text)
            except ValueError:  # checked when saved; keep the old one
                pass
        return self._zone

    def set(self, epoch, source='manual'):
        """Set the clock to ``epoch`` (Unix seconds); it counts as synced."""
        self._write(epoch)
        self.mark(source)

    def _write(self, epoch):
        if SIM:
            self._offset = epoch - _host()
            return
        from machine import RTC
        days = epoch // DAY
        y, m, d = civil_from_days(days)
        s = epoch % DAY
        RTC().datetime((y, m, d, weekday(days), s // 3600, s % 3600 // 60,
                        s % 60, 0))

    def mark(self, source, synced=True):
        self.synced = synced
        self.source = source if synced else 'none'
        self.last_sync = self.now() if synced else None
        if self.on_set is not None:
            self.on_set()

    def local_day(self, utc):
        """The local day (days from 1970-01-01) at ``utc``."""
        zone = self.zone()
        return (utc + zone.offset(utc)) // DAY

    def to_dict(self):
        """The body of GET /api/time."""
        now = self.now()
        zone = self.zone()
        return {'utc': iso(now), 'epoch': now, 'tz': zone.text,
                'local': iso(now, zone.offset(now)), 'synced': self.synced,
                'source': self.source,
                'last_sync_s': None if self.last_sync is None
                else now - self.last_sync}

    def status(self):
        """The ``clock`` of GET /api/status."""
        return {'synced': self.synced, 'source': self.source}

