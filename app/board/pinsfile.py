"""pins.json's name and the checksum that ties it to config.json: what
boot (``app.board.bootpins``) and every save (``app.config``) share, in a
module of its own so that a save does not load the boot code again."""

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
