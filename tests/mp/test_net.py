"""app.board.net on the VM against a fake ``network`` module (the unix port has
none): join, timeout, access point fallback, refusing an open AP, and
whether a board has a network to serve on at all (``net.unavailable``)."""
import sys
import unit


class FakeWLAN:
    join_ok = True  # does connect() succeed?
    made = []

    def __init__(self, interface):
        self.interface = interface
        self.up = False
        self.linked = False
        self.options = {}
        FakeWLAN.made.append(self)

    def config(self, *args, **kw):
        if args:
            return b'\x24\x0a\xc4\x00\xab\xcd'
        self.options.update(kw)

    def active(self, up=None):
        if up is not None:
            self.up = bool(up)
        return self.up

    def connect(self, ssid, password):
        self.linked = FakeWLAN.join_ok and self.up

    def isconnected(self):
        return self.linked

    def status(self):
        return -2

    def ifconfig(self):
        return ('192.168.4.1' if self.interface else '192.168.1.23',
                '255.255.255.0', '0.0.0.0', '0.0.0.0')


class FakeNetwork:
    STA_IF = 0
    AP_IF = 1
    AUTH_WPA2_PSK = 3
    WLAN = FakeWLAN
    name = None

    @staticmethod
    def hostname(name=None):
        if name and len(name) > 32:
            raise ValueError('too long')
        FakeNetwork.name = name


sys.modules['network'] = FakeNetwork
from app.board import net  # noqa: E402  (after the fake is in place)

WIFI = {'ssid': 'home', 'password': 'pw', 'timeout_s': 1,
        'ap_fallback': True, 'ap_password': 'longenough'}


def reset(join_ok):
    net.network = FakeNetwork
    FakeWLAN.join_ok = join_ok
    FakeWLAN.made = []
    FakeNetwork.name = None


def test_joins_and_sets_the_hostname_from_the_mac():
    reset(True)
    assert net.start(WIFI, 8080) == '192.168.1.23'
    assert FakeNetwork.name == 'pinwheel-abcd'
    sta, ap = FakeWLAN.made[0], FakeWLAN.made[-1]
    assert sta.up and sta.linked
    assert ap.interface == 1 and not ap.up  # no stray AP (esp8266 default)


def test_configured_hostname_wins():
    reset(True)
    wifi = dict(WIFI)
    wifi['hostname'] = 'relays'
    net.start(wifi, 8080)
    assert FakeNetwork.name == 'relays'


def test_a_bad_hostname_does_not_stop_the_wifi():
    reset(True)
    wifi = dict(WIFI)
    wifi['hostname'] = 'x' * 40
    assert net.start(wifi, 8080) == '192.168.1.23'


def test_failed_join_falls_back_to_a_wpa2_access_point():
    reset(False)
    assert net.start(WIFI, 8080) == '192.168.4.1'
    ap = FakeWLAN.made[-1]
    assert ap.interface == 1 and ap.up
    assert ap.options == {'essid': 'pinwheel-abcd', 'password': 'longenough',
                          'authmode': 3}, ap.options
    assert not FakeWLAN.made[0].up  # the station was switched off


def test_no_ssid_goes_straight_to_the_access_point():
    reset(True)
    wifi = dict(WIFI)
    wifi['ssid'] = ''
    assert net.start(wifi, 8080) == '192.168.4.1'


def test_short_ap_password_is_refused():
    reset(False)
    wifi = dict(WIFI)
    wifi['ap_password'] = 'short'
    assert net.start(wifi, 8080) is None
    assert not any(w.up for w in FakeWLAN.made)


def test_no_fallback_no_access_point():
    reset(False)
    wifi = dict(WIFI)
    wifi['ap_fallback'] = False
    assert net.start(wifi, 8080) is None
    assert not any(w.up for w in FakeWLAN.made)


def test_driver_errors_do_not_stop_the_boot():
    reset(True)

    def broken(interface):
        raise OSError(5)
    FakeNetwork.WLAN = broken
    try:
        assert net.start(WIFI, 8080) is None
    finally:
        FakeNetwork.WLAN = FakeWLAN


# ---- net.unavailable: serve, or run headless --------------------------

NO_AP = {'ssid': 'home', 'password': 'pw', 'timeout_s': 0,
         'ap_fallback': True, 'ap_password': ''}  # too short: no AP


def with_socket():
    """A socket module to import: the WebAssembly port has none, and these
    tests are about Wi-Fi on a board that has one."""
    try:
        import socket  # noqa: F401
    except ImportError:
        sys.modules['socket'] = FakeNetwork  # any object: only imported


def test_the_unix_port_serves_on_the_hosts_network():
    reset(True)
    with_socket()
    net.network = None
    assert net.unavailable(NO_AP, 8080) is None


def test_joined_wifi_is_a_network():
    reset(True)
    with_socket()
    assert net.unavailable(NO_AP, 8080) is None


def test_wifi_and_access_point_both_down_is_none():
    reset(False)  # and the AP is refused: no ap_password
    with_socket()
    assert net.unavailable(NO_AP, 8080) == 'Wi-Fi and access point both down'


def test_no_socket_module_is_none():
    reset(True)
    net.network = None
    sys.modules.pop('socket', None)
    sys.path.insert(0, 'tests/mp/nosocket')
    try:
        assert net.unavailable(NO_AP, 8080) == 'no socket module'
    finally:
        sys.path.pop(0)


# ---- the event log's Wi-Fi lines (app.log) ----------------------------

def test_wifi_up_down_and_access_point_go_to_the_event_log():
    from app import log
    from fakes import Store
    log.store = store = Store()
    store.data['log'] = {'size': 0}
    log.entries()  # emptied
    store.data['log'] = {'size': 8}
    reset(True)
    net.start(WIFI, 8080)
    reset(False)  # the join times out, the access point opens
    net.start(WIFI, 8080)
    wifi = dict(WIFI)
    wifi['ap_password'] = 'short'
    net.start(wifi, 8080)  # down, and no access point
    assert [e['text'] for e in log.entries()] == [
        'wifi: joined "home", IP 192.168.1.23',
        'wifi: could not join "home" in 1 s (status -2): check wifi.ssid '
        'and wifi.password',
        'wifi: access point "pinwheel-abcd" (WPA2), IP 192.168.4.1',
        'wifi: could not join "home" in 1 s (status -2): check wifi.ssid '
        'and wifi.password',
        'wifi: no access point: wifi.ap_password needs 8+ characters (an '
        'open AP lets anyone drive the pins)'], log.entries()


unit.main(globals())
