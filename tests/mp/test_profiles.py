"""Board profiles inside the VM: each variant against its documented pins,
detection from the firmware's ``_build``/``_machine`` strings, the timer
callback kind per port and firmware version, and an unknown variant of a
known port booting in safe mode with no pins."""
import os
import unit
from app.board import board as board_mod
from app.board import profiles
from app import schema
from app import startup
from app.board.board import CAP_ADC, CAP_IN, CAP_OUT, CAP_PULL, Board
from app.errors import ApiError


def span(first, last):
    return set(range(first, last + 1))


def check_board(name, reserved, offered=(), absent=(), led=None, timers=None):
    """``name``'s profile reserves exactly ``reserved``, offers ``offered``,
    has none of ``absent``; no pin is both offered and reserved."""
    b = Board(name)
    assert set(b.reserved) == set(reserved), (name, sorted(b.reserved))
    assert all(b.reserved[p] for p in b.reserved), name  # each says why
    assert not set(b.pins) & set(b.reserved), (name, set(b.pins) & set(b.reserved))
    for p in offered:
        assert b.caps(p), (name, p)
    for p in absent:
        assert p not in b.pins, (name, p)
    assert b.led == led, (name, b.led)
    if led is not None:
        assert b.caps(led) & CAP_OUT, (name, led)
    if timers is not None:
        assert b.pool()['hardware'] == timers, (name, b.pool())
    return b


def test_pico_and_pico2_gpio25_is_the_user_led():
    # Pico / Pico 2 datasheets, 2.1: GPIO23 SMPS power save, GPIO24 VBUS
    # sense, GPIO25 the user LED, GPIO29 VSYS/3 on ADC3
    for name in ('pico', 'pico2'):
        b = check_board(name, {23, 24, 29}, offered=span(0, 22) | {25, 26, 27, 28},
                        absent=('LED',), led=25)
        assert 'Wi-Fi' not in ' '.join(b.reserved.values())
        assert sorted(p for p in b.pins if b.caps(p) & CAP_ADC) == [26, 27, 28]


def test_pico_w_and_pico2_w_gpio23_25_29_belong_to_the_wifi_chip():
    # Pico W / Pico 2 W datasheets: GPIO23 WL_ON, 24 SPI data/IRQ, 25 SPI
    # CS, 29 SPI clock (and VSYS/3); the LED is on the CYW43 ("LED")
    for name in ('pico_w', 'pico2_w'):
        b = check_board(name, {23, 24, 25, 29}, offered=span(0, 22) | {26, 27, 28},
                        absent=(25,), led='LED')
        assert b.caps('LED') == CAP_OUT  # a CYW43 GPIO: output only
        assert 'Wi-Fi' in b.reserved[25]


def test_classic_esp32_flash_uart_and_input_only_pins():
    b = check_board('esp32', {1, 3} | span(6, 11), offered=(0, 2, 16, 17, 32, 33),
                    led=2, timers=4)
    for p in (34, 35, 36, 39):  # input only, no internal pulls
        assert b.caps(p) == CAP_IN | CAP_ADC, p
    check_board('esp32_spiram', {1, 3, 16, 17} | span(6, 11), absent=(16, 17),
                timers=4)


def test_esp32_s3_flash_psram_usb_and_octal():
    # ESP32-S3 datasheet: GPIO26-32 SPI flash/PSRAM, 33-37 octal
    # flash/PSRAM on octal modules, 19/20 USB, 43/44 UART0; no GPIO22-25
    s3 = {19, 20, 43, 44} | span(26, 32)
    b = check_board('esp32_s3', s3, offered=span(33, 37) | {0, 21, 48},
                    absent=(22, 23, 24, 25, 49), timers=4)
    assert max(p for p in b.pins) == 48
    assert sorted(p for p in b.pins if b.caps(p) & CAP_ADC) == sorted(span(1, 10))
    check_board('esp32_s3_octal', s3 | span(33, 37), offered=(38, 48),
                absent=span(33, 37), timers=4)


def test_esp32_c3_pins_0_21_and_two_hardware_timers():
    b = check_board('esp32_c3', span(11, 21), offered=span(0, 10), timers=2)
    assert max(b.pins) <= 21
    assert all(b.reserved[p] == 'SPI flash' for p in span(12, 17))
    assert 'USB' in b.reserved[18] and 'USB' in b.reserved[19]
    # one timer of its own; the other is shared by every binding beyond it
    own = b.acquire_timer()
    assert own.id == 0 and b.pool()['shared']['timer'] == 1, b.pool()
    assert b.acquire_timer() in b._queue.slots


def test_esp8266_profile_is_kept_but_not_deployable():
    b = check_board('esp8266', {1, 3} | span(6, 11), offered=(0, 2, 16), led=2)
    assert not b.caps(16) & CAP_PULL  # GPIO16: no pull-up
    why = profiles.find('esp8266')['why_not']
    assert why and '\n' not in why and 'frozen' in why
    assert all(profiles.find(n)['why_not'] is None
               for n in profiles.NAMES if n != 'esp8266')


def test_every_row_cites_a_source_and_expands():
    for name in profiles.NAMES:
        row = profiles.find(name)
        assert row['source'] and '\n' not in row['source'], name
        assert profiles.load(name)['pins'], name
    assert profiles.expand('0 2 12-15 LED') == [0, 2, 12, 13, 14, 15, 'LED']


def test_detection_from_build_then_machine():
    cases = (
        # firmware 1.22+: _build decides
        ('rp2', 'RPI_PICO', 'Raspberry Pi Pico with RP2040', 'pico'),
        ('rp2', 'RPI_PICO_W', 'Raspberry Pi Pico W with RP2040', 'pico_w'),
        ('rp2', 'RPI_PICO2', 'Raspberry Pi Pico2 with RP2350', 'pico2'),
        ('rp2', 'RPI_PICO2_W', 'Raspberry Pi Pico 2 W with RP2350', 'pico2_w'),
        ('esp32', 'ESP32_GENERIC', 'Generic ESP32 module with ESP32', 'esp32'),
        ('esp32', 'ESP32_GENERIC-SPIRAM',
         'Generic ESP32 module with SPIRAM with ESP32', 'esp32_spiram'),
        ('esp32', 'ESP32_GENERIC_S3', 'Generic ESP32S3 module with ESP32S3',
         'esp32_s3'),
        ('esp32', 'ESP32_GENERIC_S3-SPIRAM_OCT',
         'Generic ESP32S3 module with Octal-SPIRAM with ESP32S3',
         'esp32_s3_octal'),
        ('esp32', 'ESP32_GENERIC_C3', 'ESP32C3 module with ESP32C3', 'esp32_c3'),
        ('esp8266', 'ESP8266_GENERIC', 'ESP module with ESP8266', 'esp8266'),
        # older firmware: no _build, the board part of _machine decides
        ('rp2', '', 'Raspberry Pi Pico W with RP2040', 'pico_w'),
        ('rp2', '', 'Raspberry Pi Pico with RP2040', 'pico'),
        ('esp32', '', 'ESP32S3 module with ESP32S3', 'esp32_s3'),
        ('esp32', '', 'ESP32C3 module with ESP32C3', 'esp32_c3'),
        ('esp8266', '', 'ESP module with ESP8266', 'esp8266'),
        # unknown variants: never a guess
        ('rp2', 'PIMORONI_TINY2040', 'Raspberry Pi Pico with RP2040', None),
        ('rp2', '', 'Pimoroni Tiny 2040 with RP2040', None),
        ('esp32', 'ESP32_GENERIC_S2', 'ESP32S2 module with ESP32S2', None),
        ('esp32', 'RPI_PICO', '', None),  # a build of another port
        ('nrf', '', 'micro:bit with nRF51822', None),
    )
    for port, build, machine, name in cases:
        got = profiles.detect(port, build, machine)
        assert got == name, (port, build, machine, got)
        if name:  # Board('auto') takes the same name
            assert Board('auto', facts=(port, build, machine)).name == name


def test_timer_callbacks_per_port_and_version():
    # (row, firmware version) -> (timer_hard, soft_callbacks), as the
    # sources cited in app/board/profiles.py say
    cases = (
        ('pico', (1, 21, 0), (None, True)),  # no hard keyword: scheduled
        ('pico_w', (1, 25, 0), (None, True)),
        ('pico2_w', (1, 26, 0), (True, False)),  # hard= from 1.26
        ('pico', (1, 28, 0, 'preview'), (True, False)),
        ('esp32', (1, 21, 0), (None, True)),  # no hard keyword
        ('esp32_s3', (1, 26, 0), (None, True)),
        ('esp32_c3', (1, 27, 0), (False, True)),  # keyword, soft only
        ('esp32', (1, 29, 0), (False, True)),
        ('esp8266', (1, 21, 0), (None, True)),  # os_timer -> scheduled
        ('esp8266', (1, 29, 0), (None, True)),
        ('sim', (1, 29, 0), (None, False)),  # the sim's thread calls directly
    )
    for name, version, want in cases:
        got = profiles.callbacks(profiles.find(name), version)
        assert got == want, (name, version, got)
    depth = {'pico': 8, 'esp32': 8, 'esp8266': 4}
    for name, d in depth.items():
        assert profiles.find(name)['callbacks']['depth'] == d, name
    # on the unix port every profile runs on the simulated Timer
    for name in profiles.NAMES:
        b = Board(name)
        assert (b.timer_hard, b.soft_callbacks) == (None, False), name


def test_names_come_from_the_table():
    e = unit.raises(ValueError, Board, 'pyboard')
    for name in profiles.NAMES:
        assert name in str(e), (name, str(e))
    e = unit.raises(ApiError, schema.check, {'board': 7})
    assert e.field == 'board'
    for name in profiles.NAMES:
        assert name in e.message, (name, e.message)


def test_a_board_of_another_port_is_refused_on_hardware():
    board_mod.SIM = False
    try:
        e = unit.raises(ValueError, Board, 'pico_w',
                        facts=('esp32', 'ESP32_GENERIC', ''))
        assert 'rp2' in str(e) and 'esp32_c3' in str(e), str(e)
        # the same port, another variant: allowed (config says what it is)
        b = Board('pico', facts=('rp2', 'RPI_PICO_W', ''))
        assert b.name == 'pico' and b.port == 'rp2'
    finally:
        board_mod.SIM = True


def test_unknown_variant_boots_in_safe_mode_with_the_message():
    facts = ('rp2', 'PIMORONI_TINY2040', 'Pimoroni Tiny 2040 with RP2040')
    e = unit.raises(ValueError, Board, 'auto', facts=facts)
    for part in ('PIMORONI_TINY2040', 'Pimoroni Tiny 2040 with RP2040',
                 '"board"', 'config.json', 'pico, pico_w, pico2, pico2_w'):
        assert part in str(e), (part, str(e))
    path = 'test_profiles_config.json'
    with open(path, 'w') as f:
        f.write('{"board": "auto", "bindings": [{"id": "led", "kind": '
                '"blink", "pin": 2, "period_ms": 500}]}')
    real = board_mod.firmware
    board_mod.SIM = False
    board_mod.firmware = lambda: facts
    try:
        registry, store = startup.boot(path)
    finally:
        board_mod.SIM = True
        board_mod.firmware = real
        os.remove(path)
    b = registry.board
    assert store.safe_mode and store.error['field'] == 'board', store.error
    assert 'PIMORONI_TINY2040' in store.error['message'], store.error
    assert 'config.json' in store.error['message']
    assert b.name == 'unknown' and b.pins == {} and b.reserved == {}
    assert not registry.bindings and (b.timer_hard, b.soft_callbacks) == (None, False)
    assert b.firmware['build'] == 'PIMORONI_TINY2040'


def test_a_port_name_from_an_older_config_picks_the_variant():
    """Configs written before variants said "board": "rp2": that board
    boots as the variant its firmware names, not in safe mode."""
    from app.board.board import Board
    assert Board('rp2', facts=('rp2', 'RPI_PICO_W', '')).name == 'pico_w'
    assert Board('rp2', facts=('rp2', 'RPI_PICO', '')).name == 'pico'


unit.main(globals())
