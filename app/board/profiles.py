"""Board profiles: one data table, one row per board variant.

Every board name pinwheel knows comes from here: ``Board`` builds its pin
map from a row, the config check names them, deploy.py offers them. Loaded
by ``Board()`` and dropped after boot (see ``app.main``): the table costs
heap only while a board is being built. Plain data, no ``micropython``
imports at the top, so deploy.py can read it on the host too.

A row:

- ``name``: what ``"board"`` in config.json and ``deploy.py --board`` say.
- ``port``: the ``sys.platform`` it runs on.
- ``builds`` / ``machines``: how auto-detection knows it. ``builds`` are
  ``sys.implementation._build`` values (``BOARD`` or ``BOARD-VARIANT``,
  firmware 1.22 and later); ``machines`` are the board part of
  ``sys.implementation._machine`` (``"<board> with <MCU>"``), for older
  firmware that has no ``_build``.
- ``pins``: ``(kind, pins)`` pairs. A kind is ``+``-joined: ``io`` (in,
  out, pulls), ``in``, ``out``, ``adc``. Pins are a space-separated
  string of GPIO numbers, ``a-b`` ranges and names such as ``LED``.
- ``reserved``: ``(why, pins)`` pairs: pins that exist but must not be
  touched.
- ``led``: the on-board LED's pin, or None. A first deploy's default
  config blinks it (tools/deploy/defaults.py).
- ``wire_led``: where ``led`` is None, the pin a first deploy blinks and
  asks you to wire an LED to: a plain output, no strapping pin.
- ``timers``: hardware timer ids, or None for virtual ``Timer(-1)`` timers
  (the pool size then comes from config).
- ``min_period_ms``: the shortest period a binding may ask for.
- ``callbacks``: what the port's ``machine.Timer`` does with a callback
  (one of the ``_*_TIMER`` rows below; see ``callbacks()``).
- ``pwm``: None (no PWM) or ``(lo, hi, slices)``: the frequencies in Hz
  ``machine.PWM`` takes, and whether GPIO pins share PWM slices (rp2: see
  ``_RP2_PWM``).
- ``why_not``: None, or the one line that says why pinwheel does not run
  on this board as deployed (deploy.py refuses it with that line).
- ``source``: where the pin facts come from.
"""

# What a pin spec's kind means, in app.board.board's CAP_* bits: out 1,
# in 2, adc 4, pull 8 (plain numbers: this table imports nothing).
CAPS = {'io': 1 | 2 | 8, 'in': 2, 'out': 1, 'adc': 4}

# What each port's machine.Timer does with a callback, checked in
# MicroPython's sources for 1.21 to 1.29:
# - hard: the value to pass as Timer.init(hard=...), from firmware
#   version ``since`` on; before that the port has no ``hard`` keyword
#   (passing one is a TypeError), so none is passed.
# - scheduled: a callback that is not hard runs from the scheduler queue
#   (mp_sched_schedule), which is ``depth`` entries deep.
_RP2_TIMER = {
    # ports/rp2/machine_timer.c: alarm_callback() calls mp_sched_schedule
    # up to 1.25; 1.26 adds hard= (default False; PR #17363) and
    # dispatches hard callbacks from the alarm IRQ.
    # ports/rp2/mpconfigport.h: MICROPY_SCHEDULER_DEPTH (8).
    'hard': True, 'since': (1, 26, 0), 'scheduled': True, 'depth': 8,
    # ports/rp2/machine_pin.c: Pin.irq takes hard= (mp_irq; a hard handler
    # runs in the GPIO interrupt).
    'pin_hard': True}
_ESP32_TIMER = {
    # ports/esp32/machine_timer.c: machine_timer_isr_handler() calls
    # mp_sched_schedule. 1.21-1.26 have no hard keyword; from 1.27
    # (PR #17580) it is parsed, and hard=True raises "hard Timers are not
    # implemented". ports/esp32/mpconfigport.h: MICROPY_SCHEDULER_DEPTH (8).
    'hard': False, 'since': (1, 27, 0), 'scheduled': True, 'depth': 8,
    # ports/esp32/machine_pin.c: Pin.irq(handler, trigger, wake) has no hard
    # keyword; machine_pin_isr_handler() schedules the handler.
    'pin_hard': None}
_ESP8266_TIMER = {
    # ports/esp8266/modmachine.c: esp_timer_cb() is an SDK os_timer
    # callback (run from the SDK's task loop, not an interrupt) and only
    # calls mp_sched_schedule; its init takes mode, callback, period,
    # tick_hz, freq and no hard keyword (1.21-1.26 sources). Never passing
    # one is right on every version. No MICROPY_SCHEDULER_DEPTH in
    # ports/esp8266/mpconfigport.h: py/mpconfig.h's default (4).
    'hard': None, 'since': None, 'scheduled': True, 'depth': 4,
    # ports/esp8266/machine_pin.c: Pin.irq takes hard= (run in the ISR).
    'pin_hard': True}
_SIM_TIMER = {
    # app/sim/__init__.py: the timer thread calls callbacks directly, like a hard
    # interrupt; its Timer.init takes no hard keyword.
    'hard': None, 'since': None, 'scheduled': False, 'depth': None,
    'pin_hard': True}  # app/sim/__init__.py: Pin.irq runs handlers as hard IRQs

# PWM: (lowest Hz, highest Hz, slices shared by pin pairs).
# rp2: ports/rp2/machine_pwm.c refuses a frequency whose divider would pass
# 256 ("freq too small": ~7.5 Hz at the RP2040's 125 MHz, ~9 Hz at the
# RP2350's 150 MHz) or that leaves no count ("freq too large": clk_sys / 2).
# A slice drives two pins at one frequency: GPIO n is slice (n >> 1) & 7,
# channel n & 1 (pico-sdk hardware/pwm.h, PWM_GPIO_SLICE_NUM, for GPIO < 32),
# so GPIO n and n + 16 are even the same channel.
_RP2_PWM = (10, 62500000, True)
# esp32: LEDC, 1 Hz to 40 MHz, with fewer duty bits the higher it goes
# (MicroPython's esp32 quickref, "PWM (pulse width modulation)"); 8 LEDC
# timers, so at most 8 different frequencies at once (the esp32 PWM
# tutorial's "16 PWM channels and 8 timers"; 4 on the C3 and S3).
_ESP32_PWM = (1, 40000000, False)

# The classic ESP32 (and the simulated board, which copies it so the tests
# exercise input-only pins and reserved flash pins).
_ESP32_PINS = (('io', '0 2 4 5 12-19 21-23 25-27'), ('io+adc', '32 33'),
               ('in+adc', '34-36 39'))  # 34-39: input only, no pulls
_ESP_RESERVED = (('UART0 TX/RX (REPL)', '1 3'), ('SPI flash', '6-11'))
_PICO_PINS = (('io', '0-22 25'), ('io+adc', '26-28'))
_PICO_RESERVED = (('SMPS power-save control', '23'), ('VBUS sense', '24'),
                  ('VSYS/3 voltage ADC', '29'))
_PICO_W_PINS = (('io', '0-22'), ('io+adc', '26-28'), ('out', 'LED'))
_PICO_W_RESERVED = (('Wi-Fi chip power (CYW43 WL_ON)', '23'),
                    ('Wi-Fi chip SPI data/IRQ (CYW43)', '24'),
                    ('Wi-Fi chip SPI select (CYW43)', '25'),
                    ('Wi-Fi chip SPI clock (CYW43) / VSYS ADC', '29'))
# wire_led: no strapping pin (the datasheets' strapping pins: ESP32 GPIO 0,
# 2, 5, 12, 15; ESP32-S3 0, 3, 45, 46; ESP32-C3 2, 8, 9),
# and on the S3/C3 DevKits the on-board LED is an RGB one (WS2812) that a
# plain pin cannot light.
_S3_RESERVED = (('USB D-/D+ (native USB)', '19 20'),
                ('SPI flash/PSRAM', '26-32'), ('UART0 TX/RX (REPL)', '43 44'))
_WHY_ESP8266 = ('pinwheel needs ~62 KB of heap after boot and an ESP8266 '
                'has ~30-40 KB free in all: it runs only frozen into the '
                'firmware (see docs/boards.md)')

PROFILES = (
    {'name': 'sim', 'port': 'unix', 'builds': (), 'machines': (),
     'pins': _ESP32_PINS, 'reserved': _ESP_RESERVED, 'led': None, 'wire_led': None,
     'timers': None, 'min_period_ms': 1, 'callbacks': _SIM_TIMER, 'pwm': _ESP32_PWM,
     'why_not': None, 'source': 'the classic ESP32 map (app/sim/__init__.py)'},
    {'name': 'pico', 'port': 'rp2', 'builds': ('RPI_PICO',),
     'machines': ('Raspberry Pi Pico',),
     'pins': _PICO_PINS, 'reserved': _PICO_RESERVED, 'led': 25, 'wire_led': None,
     'timers': None, 'min_period_ms': 1, 'callbacks': _RP2_TIMER, 'pwm': _RP2_PWM,
     'why_not': None,
     'source': 'Raspberry Pi Pico datasheet, 2.1 Pinout (GPIO23-25, 29)'},
    {'name': 'pico_w', 'port': 'rp2', 'builds': ('RPI_PICO_W',),
     'machines': ('Raspberry Pi Pico W',),
     'pins': _PICO_W_PINS, 'reserved': _PICO_W_RESERVED, 'led': 'LED', 'wire_led': None,
     'timers': None, 'min_period_ms': 1, 'callbacks': _RP2_TIMER, 'pwm': _RP2_PWM,
     'why_not': None,
     'source': 'Raspberry Pi Pico W datasheet, 2.1 Pinout and 3 Wireless'},
    {'name': 'pico2', 'port': 'rp2',
     'builds': ('RPI_PICO2', 'RPI_PICO2-RISCV'),
     'machines': ('Raspberry Pi Pico2', 'Raspberry Pi Pico 2'),
     'pins': _PICO_PINS, 'reserved': _PICO_RESERVED, 'led': 25, 'wire_led': None,
     'timers': None, 'min_period_ms': 1, 'callbacks': _RP2_TIMER, 'pwm': _RP2_PWM,
     'why_not': None,
     'source': 'Raspberry Pi Pico 2 datasheet, 2.1 Pinout (RP2350A)'},
    {'name': 'pico2_w', 'port': 'rp2',
     'builds': ('RPI_PICO2_W', 'RPI_PICO2_W-RISCV'),
     'machines': ('Raspberry Pi Pico 2 W',),
     'pins': _PICO_W_PINS, 'reserved': _PICO_W_RESERVED, 'led': 'LED', 'wire_led': None,
     'timers': None, 'min_period_ms': 1, 'callbacks': _RP2_TIMER, 'pwm': _RP2_PWM,
     'why_not': None,
     'source': 'Raspberry Pi Pico 2 W datasheet, 2.1 Pinout and 3 Wireless'},
    {'name': 'esp32', 'port': 'esp32',
     'builds': ('ESP32_GENERIC', 'ESP32_GENERIC-OTA',
                'ESP32_GENERIC-UNICORE'),
     'machines': ('Generic ESP32 module', 'ESP32 module'),
     'pins': _ESP32_PINS, 'reserved': _ESP_RESERVED, 'led': 2, 'wire_led': None,
     'timers': (0, 1, 2, 3), 'min_period_ms': 1, 'callbacks': _ESP32_TIMER, 'pwm': _ESP32_PWM,
     'why_not': None,
     'source': 'ESP32 datasheet, 2.2 Pin Description; MicroPython esp32 '
               'quickref (Pins and GPIO); LED: GPIO 2 on DevKit V1 boards '
               '(Espressif\'s DevKitC has none)'},
    {'name': 'esp32_spiram', 'port': 'esp32',
     'builds': ('ESP32_GENERIC-SPIRAM',),
     'machines': ('Generic ESP32 module with SPIRAM', 'ESP32 module (spiram)'),
     'pins': (('io', '0 2 4 5 12-15 18 19 21-23 25-27'),) + _ESP32_PINS[1:],
     'reserved': _ESP_RESERVED + (('PSRAM (WROVER modules)', '16 17'),),
     'led': None, 'wire_led': 4, 'timers': (0, 1, 2, 3), 'min_period_ms': 1,
     'callbacks': _ESP32_TIMER, 'pwm': _ESP32_PWM, 'why_not': None,
     'source': 'ESP32-WROVER-E datasheet, 2.2 Pin Description (GPIO16/17 '
               'to PSRAM)'},
    {'name': 'esp32_s3', 'port': 'esp32',
     'builds': ('ESP32_GENERIC_S3', 'ESP32_GENERIC_S3-FLASH_4M'),
     'machines': ('Generic ESP32S3 module', 'ESP32S3 module'),
     'pins': (('io+adc', '1-10'), ('io', '0 11-18 21 33-42 45-48')),
     'reserved': _S3_RESERVED, 'led': None, 'wire_led': 4,
     'timers': (0, 1, 2, 3), 'min_period_ms': 1, 'callbacks': _ESP32_TIMER, 'pwm': _ESP32_PWM,
     'why_not': None,
     'source': 'ESP32-S3 datasheet, 2.3 Pin Overview (GPIO26-32 SPI0/1 '
               'flash/PSRAM; ADC1 on GPIO1-10)'},
    {'name': 'esp32_s3_octal', 'port': 'esp32',
     'builds': ('ESP32_GENERIC_S3-SPIRAM_OCT',),
     'machines': ('Generic ESP32S3 module with Octal-SPIRAM',),
     'pins': (('io+adc', '1-10'), ('io', '0 11-18 21 38-42 45-48')),
     'reserved': _S3_RESERVED + (('octal flash/PSRAM', '33-37'),),
     'led': None, 'wire_led': 4, 'timers': (0, 1, 2, 3), 'min_period_ms': 1,
     'callbacks': _ESP32_TIMER, 'pwm': _ESP32_PWM, 'why_not': None,
     'source': 'ESP32-S3 datasheet, 2.3 Pin Overview (GPIO33-37 octal '
               'flash/PSRAM)'},
    {'name': 'esp32_c3', 'port': 'esp32', 'builds': ('ESP32_GENERIC_C3',),
     'machines': ('ESP32C3 module',),
     'pins': (('io+adc', '0-4'), ('io', '5-10')),
     'reserved': (('VDD_SPI flash supply (until freed by eFuse)', '11'),
                  ('SPI flash', '12-17'),
                  ('USB D-/D+ (USB Serial/JTAG)', '18 19'),
                  ('UART0 RX/TX (REPL)', '20 21')),
     'led': None, 'wire_led': 10, 'timers': (0, 1), 'min_period_ms': 1,
     'callbacks': _ESP32_TIMER, 'pwm': _ESP32_PWM, 'why_not': None,
     'source': 'ESP32-C3 datasheet, 2 Pins; ports/esp32/machine_timer.c: '
               'SOC_TIMER_GROUP_TOTAL_TIMERS (2 on C3)'},
    {'name': 'esp8266', 'port': 'esp8266',
     'builds': ('ESP8266_GENERIC', 'ESP8266_GENERIC-FLASH_1M',
                'ESP8266_GENERIC-FLASH_512K', 'ESP8266_GENERIC-OTA'),
     'machines': ('ESP module', 'ESP module (1M)', 'ESP module (512K)'),
     'pins': (('io', '0 2 4 5 12-15'), ('out+in', '16')),  # 16: no pull, no IRQ
     'reserved': _ESP_RESERVED, 'led': 2, 'wire_led': None,
     'timers': None, 'min_period_ms': 1, 'callbacks': _ESP8266_TIMER, 'pwm': None,
     'why_not': _WHY_ESP8266,
     'source': 'MicroPython esp8266 quickref (Pins and GPIO); ESP8266EX '
               'datasheet, 2.1 Pin Definitions'},
)

NAMES = tuple(p['name'] for p in PROFILES)


def find(name):
    """The row called ``name``, or None."""
    for p in PROFILES:
        if p['name'] == name:
            return p
    return None


def detect(port, build, machine):
    """The name of the row for what the firmware says, or None.

    ``build`` (``sys.implementation._build``) decides when the firmware has
    one: an unknown build is an unknown board, never a guess from
    ``machine``, whose board part ("Raspberry Pi Pico W" in "Raspberry Pi
    Pico W with RP2040") is only read on firmware without ``_build``."""
    board = machine.rsplit(' with ', 1)[0] if machine else ''
    for p in PROFILES:
        if p['port'] == port and (
                build in p['builds'] if build else board in p['machines']):
            return p['name']
    return None


def port_names(port):
    """The names of the rows for ``port``, for messages."""
    return [p['name'] for p in PROFILES if p['port'] == port]


def callbacks(profile, version):
    """``(timer_hard, soft_callbacks)`` for ``profile`` on firmware
    ``version`` (``sys.implementation.version``).

    ``timer_hard``: True (pass ``hard=True`` to ``Timer.init``), False (the
    port takes the keyword but only runs soft callbacks) or None (pass no
    ``hard`` keyword). ``soft_callbacks``: every timer callback already
    runs in scheduled context, so deferred work may run inline."""
    c = profile['callbacks']
    hard = c['hard'] if c['since'] and tuple(version[:3]) >= c['since'] \
        else None
    return hard, c['scheduled'] and hard is not True


def expand(spec):
    """The pins in a spec string: ``'0 2 12-15 LED'`` -> 0, 2, 12..15,
    'LED'."""
    out = []
    for item in spec.split():
        if item[0].isdigit():
            ends = item.split('-')
            out.extend(range(int(ends[0]), int(ends[-1]) + 1))
        else:
            out.append(item)
    return out


def load(name):
    """The row called ``name`` with its pins expanded: ``pins``
    ``{pin: caps}`` (``CAPS`` bits, as ``app.board.board``'s CAP_*) and
    ``reserved`` ``{pin: why}``; None if there is no such row."""
    bits = CAPS
    row = find(name)
    if row is None:
        return None
    pins = {}
    for kind, spec in row['pins']:
        caps = 0
        for part in kind.split('+'):
            caps |= bits[part]
        for pin in expand(spec):
            pins[pin] = caps
    reserved = {}
    for why, spec in row['reserved']:
        for pin in expand(spec):
            reserved[pin] = why
    out = dict(row)
    out['pins'] = pins
    out['reserved'] = reserved
    return out


def resolve(name, safe, facts, sim, version):
    """What ``app.board.board.Board`` is built from: ``(profile, timer_hard,
    soft_callbacks)`` for the board ``name`` (or ``'auto'``) on the firmware
    ``facts`` (``(port, build, machine)``) and ``version``. ValueError names
    what is wrong and what to set; with ``safe`` an unknown board gets a
    profile with no pins (safe mode: never a guessed pin map). ``sim``: the
    simulated board, which runs any profile (``'auto'`` is its own
    profile there, ``app.board.board.Board`` says so). Boot code, dropped with this
    module: its messages cost a board no heap once it runs."""
    port, build, machine = facts
    if name == 'auto' or (name == port and find(name) is None):
        # a port's name ("rp2", as configs before variants said): its
        # variant is what the firmware says
        name = detect(port, build, machine)
    profile = load(name) if name is not None else None
    problem = None
    if name is None:
        known = port_names(port)
        problem = (
            'pinwheel has no profile for this %s board (firmware build '
            '"%s", machine "%s"), so it runs in safe mode with no pins: '
            'if its pins are those of a board pinwheel knows, set "board"'
            ' in config.json to that name (%s; see docs/boards.md) and '
            'reset it' % (port, build, machine, ', '.join(known))
            if known else
            'pinwheel has no profile for the "%s" port (machine "%s"); '
            'boards it knows: %s' % (port, machine, ', '.join(
                n for n in NAMES if n != 'sim')))
    elif profile is None:
        problem = 'unknown board "%s"; use one of: auto, %s' % (
            name, ', '.join(NAMES))
    elif not sim and profile['port'] != port:
        problem = ('board "%s" is a %s board, but this one runs %s: use '
                   '"auto" or one of: %s' % (
                       name, profile['port'], port,
                       ', '.join(port_names(port))))
    if problem and not safe:
        raise ValueError(problem)
    if problem or profile is None:  # safe mode: no pins, nothing to guess
        return ({'name': 'unknown', 'port': port, 'pins': {},
                 'reserved': {}, 'led': None, 'timers': None,
                 'min_period_ms': 1, 'pwm': None, 'callbacks': {}},
                None, False)
    if sim:  # the simulated Timer runs whatever profile is loaded
        return (profile,) + callbacks(find('sim'), (0, 0, 0))
    return (profile,) + callbacks(profile, version)


def build(board, name, virtual_timers, safe, facts, shared_timers, sim,
          pull_down, pwm):
    """What ``app.board.board.Board()`` does (its arguments, then what it
    knows of the firmware: simulated, ``Pin.PULL_DOWN``, ``machine.PWM``):
    ``board``'s profile, callbacks and timer pool. Boot code, dropped with
    this module: a board keeps only what it built."""
    import sys
    import micropython
    version = sys.implementation.version
    profile, hard, soft = resolve(name, safe, facts, sim, version)
    # the timer pool
    hardware = profile['timers']
    board._hardware = hardware
    ids = hardware or (-1,) * virtual_timers
    board._virtual = not hardware
    # A hardware pool keeps its last timer for a queue that more
    # bindings share (app.board.timerqueue); virtual timers are a queue in
    # the firmware already (rp2's soft timers, esp8266's os timers).
    board._shared_id = -1
    board.shared_max = 0  # 0: no shared timer
    if hardware and len(ids) > 1:
        board._shared_id = ids[-1]
        ids = ids[:-1]
        board.shared_max = shared_timers
    board._queue = None  # made when the first binding needs it
    board._timer_ids = ids
    board.timers_total = len(ids) + board.shared_max
    board._timers = [None] * len(ids)  # created on first use
    board._free = list(range(len(ids)))
    if hasattr(micropython, 'alloc_emergency_exception_buf'):
        micropython.alloc_emergency_exception_buf(100)
    board.name = profile['name']
    board.port = profile['port']
    board.firmware = {'build': facts[1], 'machine': facts[2],
                      'version': '%d.%d.%d' % version[:3]}
    board.sim = sim
    board.pins = profile['pins']
    board.reserved = profile['reserved']
    board.led = profile['led']
    board.min_period_ms = profile['min_period_ms']
    board.timer_hard = hard  # True, False or None: see callbacks()
    board.soft_callbacks = soft
    board.pulls = ('up', 'down') if pull_down else ('up',)
    # Pin.irq's hard= (None: the port takes no such keyword)
    board.irq_hard = profile['callbacks'].get('pin_hard')
    # (lowest Hz, highest Hz, rp2-style slices) or None: no PWM
    board.pwm = profile.get('pwm') if pwm else None
