"""The config a first deploy installs: the repo's config.json, whose "led"
blink goes to the board's own LED (app/board/profiles.py, ``led``) or, on a
board without one pinwheel can light, to the pin the table says to wire
one to (``wire_led``); the note deploy prints says which.

``first_config`` is the one place that choice is made: plan_config (cli.py)
calls it when the board has no config.json and no --config was given.
"""
import json

from . import ROOT
from .board import PROFILES

BLINK_ID = 'led'  # the blink of the repo's config.json
RESISTOR = 'an LED and a 330 ohm resistor in series'


def led_pin(name):
    """``(pin, wire)`` for board profile ``name``: the pin the default blink
    drives, and whether you must wire an LED to it (the board has none
    there); ``(None, False)`` for a board with neither (the simulated
    one) or no profile."""
    row = PROFILES.find(name)
    if row is None:
        return None, False
    if row['led'] is not None:
        return row['led'], False
    return row['wire_led'], row['wire_led'] is not None


def shown(pin):
    """How the docs and GET /api/board name ``pin``: GPIO 25, "LED"."""
    return 'GPIO %d' % pin if isinstance(pin, int) else '"%s"' % pin


def where(name):
    """What a first deploy's blink lights on board ``name``, in words
    (docs/boards.md's LED column says the same); '' for the simulated
    board and a board with no profile."""
    pin, wire = led_pin(name)
    if pin is None:
        return ''
    if wire:
        return ('it blinks %s: this board has no LED a plain pin can light, '
                'so wire %s from %s to GND' % (shown(pin), RESISTOR,
                                               shown(pin)))
    if PROFILES.find(name)['port'] == 'esp32':  # a DevKit V1's, not every board's
        return ('it blinks the LED on %s (ESP32 DevKit V1 boards; a board '
                'without one there: wire %s from %s to GND)'
                % (shown(pin), RESISTOR, shown(pin)))
    return 'it blinks the on-board LED (%s)' % shown(pin)


def first_config(name, text=None):
    """``(bytes, words)``: the config for a first deploy to board ``name``
    (``text``, default the repo's config.json, with its blink on the pin of
    ``led_pin``; unchanged when it is there already, or when the board has
    no profile), and ``where(name)``."""
    if text is None:
        text = (ROOT / 'config.json').read_bytes()
    pin, _ = led_pin(name)
    data = json.loads(text)
    blink = [b for b in data.get('bindings', ())
             if isinstance(b, dict) and b.get('id') == BLINK_ID]
    if pin is not None and blink and blink[0].get('pin') != pin:
        blink[0]['pin'] = pin
        text = (json.dumps(data, indent=2) + '\n').encode()
    return text, where(name) if blink else ''
