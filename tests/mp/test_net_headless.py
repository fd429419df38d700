"""app.net.unavailable on the VM: whether a board has a network to serve
on, against a fake ``network`` module (the unix port has none)."""
import sys
import unit


class FakeWLAN:
    join_ok = True

    def __init__(self, interface):
        self.interface = interface
        self.up = False

    def config(self, *args, **kw):
        if args:
            return b'\x24\x0a\xc4\x00\xab\xcd'

    def active(self, up=None):
        if up is not None:
            self.up = bool(up)
        return self.up

    def connect(self, ssid, password):
        pass

    def isconnected(self):
        return FakeWLAN.join_ok and self.up

    def status(self):
        return -2

    def ifconfig(self):
        return ('192.168.4.1' if self.interface else '192.168.1.23',
                '255.255.255.0', '0.0.0.0', '0.0.0.0')


class FakeNetwork:
    STA_IF = 0
    AP_IF = 1
    WLAN = FakeWLAN


from app import net  # noqa: E402


def with_socket():
    """A socket module to import: the WebAssembly port has none, and these
    tests are about Wi-Fi on a board that has one."""
    try:
        import socket  # noqa: F401
    except ImportError:
        sys.modules['socket'] = FakeNetwork  # any object: only imported

WIFI = {'ssid': 'home', 'password': 'pw', 'timeout_s': 0,
        'ap_fallback': True, 'ap_password': ''}


def test_the_unix_port_serves_on_the_hosts_network():
    with_socket()
    net.network = None
    assert net.unavailable(WIFI, 8080) is None


def test_joined_wifi_is_a_network():
    with_socket()
    net.network = FakeNetwork
    FakeWLAN.join_ok = True
    assert net.unavailable(WIFI, 8080) is None


def test_wifi_and_access_point_both_down_is_none():
    with_socket()
    net.network = FakeNetwork
    FakeWLAN.join_ok = False  # and the AP is refused: no ap_password
    assert net.unavailable(WIFI, 8080) == 'Wi-Fi and access point both down'


def test_no_socket_module_is_none():
    net.network = None
    sys.modules.pop('socket', None)
    sys.path.insert(0, 'tests/mp/nosocket')
    try:
        assert net.unavailable(WIFI, 8080) == 'no socket module'
    finally:
        sys.path.pop(0)


unit.main(globals())
