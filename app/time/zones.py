"""The named time zones: the common IANA names mapped to the POSIX rules
(``"time": {"tz": "Europe/Berlin"}``).

Each rule is the POSIX TZ string at the end of the system's tz database
file for that zone (``tail -n 1 /usr/share/zoneinfo/Europe/Berlin``), the
rule it follows from now on; ``tests/test_zones.py`` compares them with
the tz database and checks the offsets at every change from 2025 to 2030.

The table is the body of ``GET /api/time/zones`` itself, one string: the
answer costs no heap beyond this module, and a lookup is a ``find`` in it.
Loaded by the first zone given by name (``app.time.tz``) or the first
``GET /api/time/zones``, and kept; a POSIX rule (``CET-1CEST,EU``) never
loads it.
"""


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


def rules(name):
    """The POSIX rules of the zone called ``name`` (``app.time.tz``);
    ValueError with a hint if there is none."""
    near = None
    if '"' not in name and '\\' not in name:
        key = '"name": "%s", "posix": "' % name
        i = JSON.find(key)
        if i >= 0:
            i += len(key)
            return JSON[i:JSON.find('"', i)]
        # the name but for upper and lower case?
        key = '"name": "%s"' % name.lower()
        i = JSON.lower().find(key)
        if i >= 0:
            near = JSON[i + 9:i + len(key) - 1]
    raise ValueError('no zone named "%s"%s; GET /api/time/zones lists '
                     'the named ones, or give POSIX rules such as '
                     '"CET-1CEST,M3.5.0,M10.5.0/3"' % (
                         name[:40], near and ' (did you mean "%s"?)'
                         % near or ''))
