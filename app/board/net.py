"""Wi-Fi at boot: join the configured network, or open an access point.

The unix port has no ``network`` module: the host's network is used. A
board with no ``socket`` module (a Pico without W) has no network at all:
it runs headless (see ``unavailable``). Boot-only: app.main drops this
module once it has run.
"""
import time
from app import log

try:
    import network
except ImportError:
    network = None

MIN_AP_PASSWORD = 8  # WPA2 needs 8; shorter would mean an open AP


def unavailable(wifi, port):
    """None when there is a network to serve on, else why not (a few words
    for the boot line): no ``socket`` module, or Wi-Fi and the access
    point both down. Without a ``network`` module the host's network is
    used (the unix port)."""
    try:
        import socket  # noqa: F401
    except ImportError:  # a Pico without W
        return 'no socket module'
    if network is None or start(wifi, port) is not None:
        return None
    return 'Wi-Fi and access point both down'


def start(wifi, port):
    """Bring Wi-Fi up from the config's ``wifi`` section and print where the
    dashboard is; return the IP address or None. Never raises: a board with
    bad Wi-Fi settings still boots (and serves on whatever it has)."""
    if network is None:
        return None
    try:
        sta = network.WLAN(network.STA_IF)
        sta.active(True)  # the Pico W knows its MAC once the radio is up
        mac = sta.config('mac')
        name = wifi.get('hostname') or 'pinwheel-%02x%02x' % (mac[-2], mac[-1])
        if hasattr(network, 'hostname'):  # before DHCP asks for an address
            try:
                network.hostname(name)
            except (ValueError, OSError) as e:  # too long: keep the default
                log.note('wifi: hostname %r refused: %r' % (name, e))
        ip = join(sta, wifi) if wifi.get('ssid') else None
        if ip is None:
            sta.active(False)
        ap_ip = None
        if ip is None and wifi.get('ap_fallback'):
            ip = ap_ip = access_point(network, name, wifi.get('ap_password') or '')
        if ap_ip is None:  # an esp8266 starts its own AP, with a known password
            network.WLAN(network.AP_IF).active(False)
        if ip is not None:
            print('pinwheel: dashboard http://%s:%d/ (hostname %s)'
                  % (ip, port, name))
        return ip
    except Exception as e:  # a driver error must not stop the boot
        log.note('wifi: failed: %r' % (e,))
        return None


def join(sta, wifi):
    """Connect the station to ``wifi['ssid']``; its IP, or None on timeout."""
    ssid = wifi['ssid']
    if not sta.isconnected():  # a soft reset keeps the link up
        sta.connect(ssid, wifi.get('password') or '')
    limit = wifi.get('timeout_s', 20) * 1000
    started = time.ticks_ms()
    while not sta.isconnected():
        if time.ticks_diff(time.ticks_ms(), started) > limit:
            log.note('wifi: could not join "%s" in %d s (status %s): check '
                     'wifi.ssid and wifi.password' % (ssid, limit // 1000,
                                                      sta.status()))
            return None
        time.sleep_ms(200)
    ip = sta.ifconfig()[0]
    log.note('wifi: joined "%s", IP %s' % (ssid, ip))
    return ip


def access_point(network, name, password):
    """Start a WPA2 access point ``name``; its IP, or None if refused."""
    if len(password) < MIN_AP_PASSWORD:
        log.note('wifi: no access point: wifi.ap_password needs %d+ '
                 'characters (an open AP lets anyone drive the pins)'
                 % MIN_AP_PASSWORD)
        return None
    ap = network.WLAN(network.AP_IF)
    options = {'essid': name, 'password': password}
    auth = getattr(network, 'AUTH_WPA2_PSK', None)
    if auth is not None:  # esp32/esp8266 would start an open AP without it
        options['authmode'] = auth
    ap.config(**options)
    ap.active(True)
    ip = ap.ifconfig()[0]
    log.note('wifi: access point "%s" (WPA2), IP %s' % (name, ip))
    return ip
