"""Reading a ``time.tz`` text (``app.time.tz.Zone`` calls ``parse``), and
the named time zones: the common IANA names mapped to the POSIX rules
(``"time": {"tz": "Europe/Berlin"}``).

Each rule is the POSIX TZ string at the end of the system's tz database
file for that zone (``tail -n 1 /usr/share/zoneinfo/Europe/Berlin``), the
rule it follows from now on; ``tests/test_zones.py`` compares them with
the tz database and checks the offsets at every change from 2025 to 2030.

The table is the body of ``GET /api/time/zones`` itself, one string: the
answer costs no heap beyond this module, and a lookup is a ``find`` in it.
Loaded while a zone is parsed or the table listed and dropped again after
(``drop``): a board keeps the rules of its zone, never this code.
"""
from micropython import const

_EU = const(((3, 5, 0, 3600), (10, 5, 0, 3600), True))  # at 01:00 UTC
_US = const(((3, 2, 0, 7200), (11, 1, 0, 7200), False))  # at 02:00 local

JSON = (
    '{"zones": ['
    '{"name": "UTC", "posix": "UTC0"}, '
    '{"name": "Europe/London", "posix": "GMT0BST,M3.5.0/1,M10.5.0"}, '
    '{"name": "Europe/Dublin", "posix": "IST-1GMT0,M10.5.0,M3.5.0/1"}, '
    '{"name": "Europe/Lisbon", "posix": "WET0WEST,M3.5.0/1,M10.5.0"}, '
    '{"name": "Europe/Paris", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Berlin", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Madrid", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Rome", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Amsterdam", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Zurich", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Vienna", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Stockholm", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Warsaw", "posix": "CET-1CEST,M3.5.0,M10.5.0/3"}, '
    '{"name": "Europe/Athens", "posix": "EET-2EEST,M3.5.0/3,M10.5.0/4"}, '
    '{"name": "Europe/Helsinki", "posix": "EET-2EEST,M3.5.0/3,M10.5.0/4"}, '
    '{"name": "Europe/Kyiv", "posix": "EET-2EEST,M3.5.0/3,M10.5.0/4"}, '
    '{"name": "Europe/Istanbul", "posix": "<+03>-3"}, '
    '{"name": "Europe/Moscow", "posix": "MSK-3"}, '
    '{"name": "America/New_York", "posix": "EST5EDT,M3.2.0,M11.1.0"}, '
    '{"name": "America/Toronto", "posix": "EST5EDT,M3.2.0,M11.1.0"}, '
    '{"name": "America/Chicago", "posix": "CST6CDT,M3.2.0,M11.1.0"}, '
    '{"name": "America/Denver", "posix": "MST7MDT,M3.2.0,M11.1.0"}, '
    '{"name": "America/Phoenix", "posix": "MST7"}, '
    '{"name": "America/Los_Angeles", "posix": "PST8PDT,M3.2.0,M11.1.0"}, '
    '{"name": "America/Anchorage", "posix": "AKST9AKDT,M3.2.0,M11.1.0"}, '
    '{"name": "Pacific/Honolulu", "posix": "HST10"}, '
    '{"name": "America/Halifax", "posix": "AST4ADT,M3.2.0,M11.1.0"}, '
    '{"name": "America/Mexico_City", "posix": "CST6"}, '
    '{"name": "America/Bogota", "posix": "<-05>5"}, '
    '{"name": "America/Lima", "posix": "<-05>5"}, '
    '{"name": "America/Santiago", "posix": "<-04>4<-03>,M9.1.6/24,M4.1.6/24"}, '
    '{"name": "America/Sao_Paulo", "posix": "<-03>3"}, '
    '{"name": "America/Argentina/Buenos_Aires", "posix": "<-03>3"}, '
    '{"name": "Africa/Cairo", "posix": "EET-2EEST,M4.5.5/0,M10.5.4/24"}, '
    '{"name": "Africa/Lagos", "posix": "WAT-1"}, '
    '{"name": "Africa/Johannesburg", "posix": "SAST-2"}, '
    '{"name": "Africa/Nairobi", "posix": "EAT-3"}, '
    '{"name": "Asia/Dubai", "posix": "<+04>-4"}, '
    '{"name": "Asia/Tehran", "posix": "<+0330>-3:30"}, '
    '{"name": "Asia/Karachi", "posix": "PKT-5"}, '
    '{"name": "Asia/Kolkata", "posix": "IST-5:30"}, '
    '{"name": "Asia/Dhaka", "posix": "<+06>-6"}, '
    '{"name": "Asia/Bangkok", "posix": "<+07>-7"}, '
    '{"name": "Asia/Jakarta", "posix": "WIB-7"}, '
    '{"name": "Asia/Shanghai", "posix": "CST-8"}, '
    '{"name": "Asia/Hong_Kong", "posix": "HKT-8"}, '
    '{"name": "Asia/Singapore", "posix": "<+08>-8"}, '
    '{"name": "Asia/Tokyo", "posix": "JST-9"}, '
    '{"name": "Asia/Seoul", "posix": "KST-9"}, '
    '{"name": "Asia/Jerusalem", "posix": "IST-2IDT,M3.4.4/26,M10.5.0"}, '
    '{"name": "Australia/Perth", "posix": "AWST-8"}, '
    '{"name": "Australia/Adelaide", "posix": "ACST-9:30ACDT,M10.1.0,M4.1.0/3"}, '
    '{"name": "Australia/Brisbane", "posix": "AEST-10"}, '
    '{"name": "Australia/Sydney", "posix": "AEST-10AEDT,M10.1.0,M4.1.0/3"}, '
    '{"name": "Pacific/Auckland", "posix": "NZST-12NZDT,M9.5.0,M4.1.0/3"}]}')


def drop():
    """Forget this module: its table is freed once its last user lets go
    (``app.time.drop``)."""
    import app.time
    app.time.drop(__name__)


def posix(name):
    """The POSIX rules of the zone called ``name``, or None."""
    if '"' in name or '\\' in name:
        return None
    key = '"name": "%s", "posix": "' % name
    i = JSON.find(key)
    if i < 0:
        return None
    i += len(key)
    return JSON[i:JSON.find('"', i)]


def like(name):
    """The zone whose name is ``name`` but for upper and lower case, or
    None (for a hint)."""
    want = '"name": "%s"' % name.lower()
    i = JSON.lower().find(want)
    return JSON[i + 9:i + len(want) - 1] if i >= 0 else None


def parse(text):
    """(standard offset, DST offset or None, DST rule or None) of the
    ``time.tz`` text (app.time.tz says what it takes; offsets in seconds
    east of UTC); ValueError says what is wrong with it."""
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError('a string of at most 64 characters')
    if '/' in text and ',' not in text:  # Area/Location (rules: M3.5.0/3,...)
        text = _named(text)
    name, i = _name(text, 0)
    if i == len(text) and name in ('UTC', 'GMT'):
        return 0, None, None
    off, i = _clock(text, i, 'the offset after "%s"' % name)
    std = -off
    if i == len(text):
        return std, None, None
    dst = None
    if text[i] != ',':
        name, i = _name(text, i)
        if i < len(text) and text[i] != ',':
            off, i = _clock(text, i, 'the offset after "%s"' % name)
            dst = -off
        else:
            dst = std + 3600
    if dst is None:
        raise ValueError('a rule needs a DST name first, as in '
                         'CET-1CEST,EU')
    rule = text[i + 1:] if i < len(text) else 'US'
    if rule in ('EU', 'US'):
        return std, dst, _EU if rule == 'EU' else _US
    parts = rule.split(',')
    if len(parts) != 2:
        raise ValueError('the rule must be EU, US or '
                         'Mm.w.d[/time],Mm.w.d[/time]')
    return std, dst, (_when(parts[0]), _when(parts[1]), False)


def _named(name):
    """The POSIX rules of the zone called ``name``; ValueError with a hint
    if there is none."""
    rules = posix(name)
    if rules is None:
        near = like(name)
        raise ValueError('no zone named "%s"%s; GET /api/time/zones lists '
                         'the named ones, or give POSIX rules such as '
                         '"CET-1CEST,M3.5.0,M10.5.0/3"' % (
                             name[:40], near and ' (did you mean "%s"?)'
                             % near or ''))
    return rules


def _name(text, i):
    if i < len(text) and text[i] == '<':
        j = text.find('>', i)
        if j < 0:
            raise ValueError('"<" without ">"')
        return text[i + 1:j], j + 1
    j = i
    while j < len(text) and text[j].isalpha():
        j += 1
    if j - i < 3:
        raise ValueError('a zone name of 3 or more letters at %d, as in '
                         'CET-1CEST,EU' % i)
    return text[i:j], j


def _clock(text, i, what):
    """[+-]h[h][:mm[:ss]] at ``i`` as seconds; (seconds, end)."""
    sign = 1
    if i < len(text) and text[i] in '+-':
        sign = -1 if text[i] == '-' else 1
        i += 1
    total = 0
    for n in range(3):
        j = i
        while j < len(text) and text[j].isdigit() and j - i < 3:
            j += 1
        if j == i:
            if n == 0:
                raise ValueError('%s: a number of hours' % what)
            break
        total += int(text[i:j]) * (3600, 60, 1)[n]
        i = j
        if i < len(text) and text[i] == ':' and n < 2:
            i += 1
        else:
            break
    if total > 167 * 3600:
        raise ValueError('%s is out of range' % what)
    return sign * total, i


def _when(text):
    """``Mm.w.d[/time]`` as (month, week, weekday from Sunday, seconds)."""
    spec, _, at = text.partition('/')
    parts = spec[1:].split('.') if spec[:1] == 'M' else ()
    try:
        m, w, d = [int(p) for p in parts]
    except ValueError:
        m = w = d = 0
    if not (1 <= m <= 12 and 1 <= w <= 5 and 0 <= d <= 6):
        raise ValueError('"%s": a change is Mm.w.d (month 1-12, week 1-5, '
                         'day 0-6 from Sunday) with an optional /time'
                         % text[:20])
    secs = 7200
    if at:
        secs, end = _clock(at, 0, 'the time of "%s"' % text[:20])
        if end != len(at):
            raise ValueError('"%s": a bad time' % text[:20])
    return m, w, d, secs
