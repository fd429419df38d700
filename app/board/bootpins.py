"""First thing at boot: every output pin of the saved bindings driven to
its idle level, before Wi-Fi, before the config is parsed, before Microdot
is imported (a relay input must not float while the rest boots).

``pins.json`` holds ``{"config": <checksum of config.json>, "pins":
[[pin, level], ...]}``; every save of config.json writes it next, with
the same write-then-rename (``app.config``). It only counts while its
checksum matches config.json: after a power cut between the two writes,
or a config.json copied by hand, nothing is driven early and the boot
(``app.startup``) drives the pins as it builds the bindings, then writes
a fresh pins.json. This module imports nothing of pinwheel but the
simulated ``Pin`` on the unix port.
"""
import json

PINS = 'pins.json'


def checksum(path):
    """CRC-32 of the file at ``path`` (its size, negated, on a port
    without ``binascii.crc32``); None if it cannot be read."""
    import binascii
    crc32 = getattr(binascii, 'crc32', None)
    buf = bytearray(512)
    view = memoryview(buf)
    crc = size = 0
    try:
        with open(path, 'rb') as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    break
                size += n
                if crc32 is not None:
                    crc = crc32(view[:n], crc)
    except OSError:
        return None
    return crc if crc32 is not None else -size


def read(config='config.json', pins=PINS):
    """The [pin, level] pairs of ``pins`` if it matches ``config``, else []."""
    try:
        with open(pins) as f:
            saved = json.load(f)
        if saved['config'] == checksum(config):
            return saved['pins']
    except Exception:  # missing, damaged: the boot drives them later
        pass
    return []


def apply(config='config.json', pins=PINS):
    """Drive the saved output pins to their idle level; how many. Never
    raises: a pin this board refuses is left to the boot's checks."""
    from machine import Pin  # on the unix port: app.sim (app.main)
    n = 0
    for pin, level in read(config, pins):
        try:
            Pin(pin, Pin.OUT, value=level)
            n += 1
        except Exception:
            pass
    return n
