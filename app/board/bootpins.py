"""First thing at boot: every output pin of the saved bindings driven to
its idle level, before Wi-Fi, before the config is checked, before
Microdot is imported (a relay input must not float while the rest boots).

``pins.json`` holds ``{"config": <checksum of config.json>, "pins":
[[pin, level], ...]}``; every save of config.json writes it next, with
the same write-then-rename (``app.config``). It counts only while its
checksum matches config.json. When it does not (a config from
``deploy.py --config``, one written by hand, a power cut between the two
writes, a first boot), the levels come from config.json itself: a small
parse that reads only the bindings' ``kind``, ``pin`` and
``active_level`` (no checks, no kind imported), driving only pins the
board's profile lets drive, so a hand-written config cannot drive a
flash pin. The boot (``app.startup``) then builds and checks the
bindings and writes a matching pins.json, after the outputs are driven.
pins.json's ``saved_by`` (``app.startup.stamp``) says that
config.json is one this image saved or checked in full on this board:
then ``app.startup`` builds it without the checks.
This module imports nothing of pinwheel but, on that second path, the
board's profile table (dropped again), and the simulated ``Pin`` on the
unix port.
"""
import json
from app.board.pinsfile import PINS, checksum

# The kinds that drive their pin (their class has OUTPUT = True;
# tests/mp/test_bootpins.py checks this against app.kinds). A stopped one
# sits at 1 - active_level, and a kind without active_level at 0.
OUTPUT_KINDS = ('blink', 'breathe', 'pattern', 'pulse', 'pwm', 'switch')


def saved_pins(pins):
    """pins.json as a dict; {} if missing or damaged."""
    try:
        with open(pins) as f:
            saved = json.load(f)
        if isinstance(saved, dict):
            return saved
    except Exception:
        pass
    return {}


def read(config='config.json', pins=PINS, saved=None):
    """The [pin, level] pairs of ``pins`` (or of ``saved``, pins.json read
    already) if it matches ``config``, else None (missing, damaged or
    stale)."""
    saved = saved_pins(pins) if saved is None else saved
    try:
        if saved['config'] == checksum(config):
            return saved['pins']
    except Exception:
        pass
    return None


def _out(pins):
    return [pin for pin, caps in pins.items() if caps & 1]  # CAP_OUT


def from_config(config='config.json', drivable=None):
    """The [pin, idle level] pairs of the outputs ``config`` names, on
    pins this board may drive: ``drivable`` (pins.json's ``out``), or
    with None the board's profile (a first boot: no pins.json yet).
    [] if the file cannot be read. Cheap on purpose: only the bindings'
    part of the file is parsed, three keys a binding are read, nothing is
    checked (the boot's checks come later)."""
    try:
        with open(config, 'rb') as f:
            text = f.read()
        if drivable is None:  # rare: the whole file, for its "board"
            data = json.loads(text)
            text = None
            bindings = data['bindings']
            board = data.get('board', 'auto')
            data = None
            drivable = _drivable(board)
        else:
            bindings = _bindings(text)
            text = None
        out = []
        for body in bindings:
            if body.get('kind') in OUTPUT_KINDS:
                pin = body.get('pin')
                if type(pin) in (int, str) and pin in drivable:
                    out.append([pin, 1 if body.get('active_level') == 0
                                else 0])
        return out
    except Exception:  # not JSON, not a config, no heap: the boot says
        return []


def _bindings(text):
    """The top-level ``bindings`` array of config.json's bytes, parsed on
    its own: the rest (64 schedule events are ~8 KB) would cost heap and
    time for nothing. Its end is found by counting brackets, which a
    bracket inside a string can fool: then the whole file is parsed."""
    i = 0
    while True:  # "bindings": [ ... (limits has a "bindings": 16)
        i = text.index(b'"bindings"', i) + 10
        j = i
        while text[j] in b' \t\r\n':
            j += 1
        if text[j] == 58:  # ':'
            j += 1
            while text[j] in b' \t\r\n':
                j += 1
            if text[j] == 91:  # '['
                break
    depth = 0
    k = j
    try:
        while True:
            close = text.index(b']', k)
            opened = text.find(b'[', k, close)
            if opened >= 0:
                depth += 1
                k = opened + 1
            else:
                depth -= 1
                k = close + 1
                if depth == 0:
                    break
        return json.loads(text[j:k])
    except ValueError:
        return json.loads(text)['bindings']


def _drivable(name):
    """The pins of this board's profile that can drive (the board the
    config names, or the one the firmware says it is, as ``Board``
    decides); [] for a board pinwheel does not know."""
    from app.board import board, profiles
    try:
        port, build, machine = board.firmware()
        if name == 'auto' or (name == port and profiles.find(name) is None):
            name = 'sim' if board.SIM else profiles.detect(port, build,
                                                           machine)
        row = profiles.load(name) if isinstance(name, str) else None
        if row is None or (not board.SIM and row['port'] != port):
            return []
        return _out(row['pins'])
    finally:
        board.drop_profiles()


def apply(config='config.json', pins=PINS):
    """Drive the outputs to their idle level, from pins.json when it
    matches config.json, else from config.json itself; how many. Never
    raises: a pin this board refuses is left to the boot's checks."""
    from machine import Pin  # on the unix port: app.sim (app.main)
    saved = saved_pins(pins)
    levels = read(config, pins, saved)
    if levels is None:
        levels = from_config(config, saved.get('out'))
        saved = None
        import gc
        gc.collect()  # the parse's garbage, before the modules load
    n = 0
    for pin, level in levels:
        try:
            Pin(pin, Pin.OUT, value=level)
            n += 1
        except Exception:
            pass
    return n
