"""NTP on a board with Wi-Fi: at boot, then every ``time.ntp_sync_s``
(default 6 h), from ``time.ntp_servers`` (default pool.ntp.org).

As micropython-lib's ``ntptime`` (one SNTP request, RFC 4330: a 48-byte
packet, mode 3; the answer's transmit time is seconds from 1900), but it
never blocks the event loop on the answer: the socket is non-blocking and
the task sleeps between looks. Looking up a server's name is the one call
that blocks (``getaddrinfo`` has no non-blocking form): it runs once per
server and boot, and a server given as an IP address skips it. The
timers run through it regardless (they are interrupts). A failed sync is
tried again after a minute, then less often, up to ``ntp_sync_s``.

``sync`` is the task that keeps the clock synced (``app.time.Time``
starts it on a board with a network): this module is loaded only there.
"""
import asyncio
import socket
import struct
from micropython import const

_NTP_TO_UNIX = const(2208988800)  # 1900-01-01 to 1970-01-01, in seconds
_WAIT_MS = const(2000)  # per server
_LOOK_MS = const(50)


def parse(data):
    """Unix seconds from an SNTP answer, or None if it is no good (not a
    server's answer, a kiss-of-death, no time)."""
    if len(data) < 48 or data[0] & 7 != 4 or data[1] == 0:
        return None
    secs = struct.unpack('!I', data[40:44])[0]
    if not secs:
        return None
    if secs < 0x80000000:  # NTP era 1 starts in 2036
        secs += 0x100000000
    frac = data[44]  # the top byte of the fraction: round to the second
    return secs - _NTP_TO_UNIX + (1 if frac >= 128 else 0)


async def query(server, addresses):
    """Unix seconds from ``server`` (a name or an address), or None; never
    raises. ``addresses``: server name -> address, looked up once (the
    caller keeps it)."""
    packet = bytearray(48)
    packet[0] = 0x1B  # version 3, mode 3 (client)
    s = None
    try:
        addr = addresses.get(server)
        if addr is None:
            addr = addresses[server] = socket.getaddrinfo(server, 123)[0][-1]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.sendto(packet, addr)
        for _ in range(_WAIT_MS // _LOOK_MS):
            await asyncio.sleep_ms(_LOOK_MS)
            try:
                return parse(s.recv(48))
            except OSError:  # EAGAIN: nothing yet
                pass
    except Exception as e:  # no route, no DNS: tried again later
        addresses.pop(server, None)
        print('pinwheel: NTP %s: %r' % (server, e))
    finally:
        if s is not None:
            s.close()
    return None


async def sync(clock):
    """Keep ``clock`` synced by NTP: at boot, then every
    ``time.ntp_sync_s`` (default 6 h); a failure is tried again after a
    minute, then less often, up to that. Runs for ever (a task of
    ``app.time.Time``)."""
    fails = 0
    addresses = {}  # server name -> address: looked up once
    while True:
        conf = clock.store.data.get('time', {})
        every = conf.get('ntp_sync_s', 21600)
        epoch = None
        for server in conf.get('ntp_servers') or ['pool.ntp.org']:
            epoch = await query(server, addresses)
            if epoch is not None:
                break
        if epoch is not None:
            clock.set(epoch, 'ntp')
            fails = 0
            await asyncio.sleep(every)
        else:
            fails += 1
            await asyncio.sleep(min(every, 60 << min(fails - 1, 8)))
