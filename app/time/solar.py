"""Sunrise and sunset: the "sunrise equation" (the NOAA/Meeus low-accuracy
solar position: mean anomaly, equation of centre, ecliptic longitude; see
https://en.wikipedia.org/wiki/Sunrise_equation), with the declination
taken again at the rise or set time itself. Within a minute or two of
published tables at mid latitudes (tests/mp/test_schedules.py checks it
against three of them).

Boards have single-precision floats (24-bit mantissa): a Julian date
(~2.46e6) would keep only a quarter of a day, so everything here counts
from 2000-01-01 (a few thousand days), and the times are fractions of a
day added to an integer noon.
"""
from math import acos, cos, degrees, radians, sin, sqrt
from micropython import const

_J2000 = const(10957)  # 2000-01-01 in days from 1970-01-01
_ALTITUDE = radians(-0.833)  # the upper limb at the horizon, refracted
_TILT = radians(23.4397)  # the obliquity of the ecliptic


def _sun(j, lon):
    """(days from noon UTC to the solar noon, sin of the declination) near
    day ``j`` (days from 2000-01-01 12:00 UTC, a float)."""
    m = radians((357.5291 + 0.98560028 * (j - lon / 360)) % 360)
    c = 1.9148 * sin(m) + 0.02 * sin(2 * m) + 0.0003 * sin(3 * m)
    lam = radians((degrees(m) + c + 282.9372) % 360)
    noon = -lon / 360 + 0.0053 * sin(m) - 0.0069 * sin(2 * lam)
    return noon, sin(lam) * sin(_TILT)


def _half_day(lat, sin_d):
    """Half the time the sun is up, in days; None if it never rises (-1:
    it never sets) that day."""
    phi = radians(lat)
    cos_w = (sin(_ALTITUDE) - sin(phi) * sin_d) / (
        cos(phi) * sqrt(1 - sin_d * sin_d))
    if cos_w > 1:
        return None
    if cos_w < -1:
        return -1
    return degrees(acos(cos_w)) / 360


def times(days, lat, lon):
    """(sunrise, sunset) of the date ``days`` (from 1970-01-01) at
    ``lat``, ``lon`` (degrees, north and east positive) in seconds from
    that date's 00:00 UTC (below 0 or past a day far east or west: small
    ints, where Unix seconds are heap objects on a 32-bit board); (None,
    None) on a day the sun does not rise or does not set."""
    n = days - _J2000
    noon, sin_d = _sun(n, lon)
    out = []
    for sign in (-1, 1):
        w = _half_day(lat, sin_d)
        if w is None or w == -1:
            return None, None
        # once more, with the sun where it is at that moment
        t, sin_d2 = _sun(n + noon + sign * w, lon)
        w = _half_day(lat, sin_d2)
        if w is None or w == -1:
            return None, None
        out.append(43200 + int((t + sign * w) * 86400 + 0.5))
    return out[0], out[1]
