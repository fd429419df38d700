"""A zone's text (``time.tz``, the forms ``app.time.tz`` lists) read into
its offsets and DST rule, for ``app.time.tz.Zone``. Boot code
(``app.main.BOOT_ONLY``): the clock reads its zone at boot; a later
change that brings a new zone loads it again, and it stays from then on.
"""
from micropython import const

_EU = const(((3, 5, 0, 3600), (10, 5, 0, 3600), True))  # at 01:00 UTC
_US = const(((3, 2, 0, 7200), (11, 1, 0, 7200), False))  # at 02:00 local


def parse(text):
    """(standard offset, DST offset or None, DST rule or None) of the
    ``time.tz`` text (app.time.tz says what it takes; offsets in seconds
    east of UTC); ValueError says what is wrong with it."""
    if not isinstance(text, str) or len(text) > 64:
        raise ValueError('a string of at most 64 characters')
    if '/' in text and ',' not in text:  # Area/Location (rules: M3.5.0/3,...)
        from app.time.zones import rules  # loaded by the first name
        text = rules(text)
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
