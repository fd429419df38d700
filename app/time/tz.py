"""Dates and time zones without a tz database: Unix epoch seconds to civil
dates and back, and one zone from a POSIX-TZ-like string (``time.tz`` in
config.json), read by ``app.time.tzparse.parse``:

- a name from ``app.time.zones`` (``Europe/Berlin``): its POSIX rules;
- ``UTC`` (the default) or ``GMT``;
- ``STDoffset``: a fixed offset, POSIX sign (west of Greenwich is
  positive): ``JST-9``, ``<+0530>-5:30``;
- ``STDoffsetDST[offset][,rule]``: daylight saving time, one hour ahead
  unless its offset is given. The rule is ``EU`` (last Sunday of March to
  last Sunday of October, at 01:00 UTC), ``US`` (second Sunday of March
  to first Sunday of November, at 02:00 local; the default) or POSIX's
  ``Mm.w.d[/time],Mm.w.d[/time]``: ``CET-1CEST,EU`` is
  ``CET-1CEST,M3.5.0,M10.5.0/3``, ``EST5EDT,US`` is
  ``EST5EDT,M3.2.0,M11.1.0``.

The date arithmetic is Howard Hinnant's ``days_from_civil`` (public
domain, https://howardhinnant.github.io/date_algorithms.html): plain
integers, right for any year, whatever epoch ``time`` uses on a port.
"""
from micropython import const

DAY = const(86400)


def days_from_civil(y, m, d):
    """Days from 1970-01-01 to the date ``y-m-d``."""
    if m <= 2:
        y -= 1
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def civil_from_days(z):
    """(year, month, day) of day ``z`` after 1970-01-01."""
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (1 if m <= 2 else 0), m, doy - (153 * mp + 2) // 5 + 1


def weekday(days):
    """0 for Monday ... 6 for Sunday (1970-01-01 was a Thursday)."""
    return (days + 3) % 7


def iso(epoch, offset=0):
    """``2026-12-01T19:00:00+01:00`` (``Z`` for UTC) for ``epoch`` seen
    at ``offset`` seconds east of UTC."""
    t = epoch + offset
    y, m, d = civil_from_days(t // DAY)
    s = t % DAY
    zone = 'Z'
    if offset:
        a = offset if offset > 0 else -offset
        zone = '%s%02d:%02d' % ('+' if offset > 0 else '-', a // 3600,
                                a % 3600 // 60)
    return '%04d-%02d-%02dT%02d:%02d:%02d%s' % (y, m, d, s // 3600,
                                                s % 3600 // 60, s % 60, zone)


class Zone:
    """A fixed offset and an optional DST rule; ValueError says what is
    wrong with the text."""

    def __init__(self, text='UTC'):
        self.text = text  # as given: a zone's name stays its name
        self.std = 0  # seconds east of UTC
        self.dst = None  # seconds east of UTC during DST, None: no DST
        self.rule = None
        self._year = None  # the year _start/_end are for
        self._start = self._end = 0
        if text not in ('UTC', 'GMT'):
            # the parser is boot code (app.main.BOOT_ONLY): a board reads
            # its zone at boot (app.time.clock.Clock), and loads the parser
            # again, and keeps it, only when a change brings a new zone
            from app.time.tzparse import parse
            self.std, self.dst, self.rule = parse(text)

    def is_dst(self, utc):
        rule = self.rule
        if rule is None:
            return False
        year = civil_from_days((utc + self.std) // DAY)[0]
        if self._year != year:  # the year's changes, kept
            start, end, utc_rule = rule
            self._start = _moment(year, start) - (0 if utc_rule else self.std)
            self._end = _moment(year, end) - (0 if utc_rule else self.dst or 0)
            self._year = year
        start, end = self._start, self._end
        if start < end:
            return start <= utc < end
        return not end <= utc < start  # southern hemisphere

    def offset(self, utc):
        """Seconds east of UTC at ``utc``."""
        dst = self.dst
        return dst if dst is not None and self.is_dst(utc) else self.std

    def utc(self, local):
        """The UTC seconds of local time ``local``. A time the clocks
        skip (spring forward) counts as standard time, so it falls an hour
        later, after the jump; one they repeat (fall back) is the first."""
        dst = self.dst
        if self.rule is not None and dst is not None:
            t = local - dst
            if self.is_dst(t):
                return t
        return local - self.std


def _moment(year, when):
    """Local seconds of (month, week, weekday, time) in ``year``: the
    w-th such weekday of the month (5: the last)."""
    m, w, d, secs = when
    first = days_from_civil(year, m, 1)
    length = days_from_civil(year + (m == 12), m % 12 + 1, 1) - first
    day = (d - (first + 4) % 7) % 7 + 7 * (w - 1)  # 1970-01-01: Thursday
    while day >= length:
        day -= 7
    return (first + day) * DAY + secs
