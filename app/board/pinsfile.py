"""pins.json's name, the checksum that ties it to config.json, and the
stamp that says which image and board saved that config.json: what boot
(``app.board.bootpins``, ``app.startup``) and every save (``app.config``)
share, in a module of its own so that a save does not load the boot code
again."""

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


def stamp(board):
    """pins.json's ``saved_by``: [``app.VERSION``, the image's version
    (version.json's: a hash of its files, so an update that keeps
    ``VERSION`` changes it too; None when run from the sources), the
    board's name]. A boot trusts config.json (builds it unchecked,
    ``app.startup``) only when pins.json has its checksum and this stamp:
    a hand edit, an update or another board makes it check the file."""
    import app
    import json
    try:
        with open(getattr(app, 'IMAGE', '') + 'version.json') as f:
            image = json.load(f)['version']
    except Exception:  # none (run from the sources), or damaged
        image = None
    return [app.VERSION, image, board]
