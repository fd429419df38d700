"""Home Assistant discovery for the bridge (``app.mqtt.hass``): the board's
default client_id and dashboard address, and each binding's discovery
(config) message. Loaded when the bridge is made, and kept."""
import json
from micropython import const
from app import VERSION

_RUNNING = const("{{ 'ON' if value_json.running else 'OFF' }}")
# what each component adds to the discovery message; S = the state topic,
# C = the set topic
_ENTITY = {
    'switch': {'state_topic': 'S', 'command_topic': 'C',
               'value_template': _RUNNING, 'payload_on': 'ON',
               'payload_off': 'OFF', 'state_on': 'ON', 'state_off': 'OFF'},
    'button': {'command_topic': 'C', 'payload_press': 'PULSE'},
    # on while the input is active (a button pressed), whatever its pull
    'binary_sensor': {'state_topic': 'S', 'value_template':
                      "{{ 'ON' if value_json.active else 'OFF' }}"},
    'sensor': {'state_topic': 'S', 'state_class': 'total_increasing',
               'value_template': '{{ value_json.count }}'},
    # brightness is the duty, 0-100 % both ways: Home Assistant scales its
    # 0-255 to brightness_scale, so its 50 % sends {"duty": 50}. It sends
    # the brightness first, then ON, which never restarts a running pwm.
    'light': {'state_topic': 'S', 'command_topic': 'C',
              'state_value_template': _RUNNING, 'payload_on': 'ON',
              'payload_off': 'OFF', 'brightness_state_topic': 'S',
              'brightness_command_topic': 'C', 'brightness_scale': 100,
              'brightness_value_template': '{{ value_json.duty }}',
              'brightness_command_template': '{"duty": {{ value }}}'},
}


def client_id(http_port):
    """``pinwheel-`` and the last two bytes of the Wi-Fi MAC (the board's
    default hostname too); on the unix port, which has no MAC, the HTTP
    port's four hex digits tell boards on one host apart."""
    try:
        import network
        mac = network.WLAN(network.STA_IF).config('mac')
        return 'pinwheel-%02x%02x' % (mac[-2], mac[-1])
    except Exception:
        return 'pinwheel-%04x' % http_port


def url(host, port):
    """Where the dashboard is: the Wi-Fi address when serving on all of
    them (a board), else the address served on."""
    if host in ('0.0.0.0', ''):
        try:
            import network
            for iface in (network.STA_IF, network.AP_IF):
                wlan = network.WLAN(iface)
                if wlan.active() and (iface == network.AP_IF
                                      or wlan.isconnected()):
                    host = wlan.ifconfig()[0]
                    break
        except Exception:  # no network module: the unix port
            host = '127.0.0.1'
    return 'http://%s:%d/' % (host, port)


def config(bridge, name, binding_id):
    """The discovery message (JSON text) of one binding of ``bridge`` as
    component ``name``."""
    base = '%s/%s' % (bridge.base, binding_id)
    client_id = bridge.client_id
    out = {'name': binding_id,
           'unique_id': '%s_%s' % (client_id, binding_id),
           'availability_topic': bridge.base + '/status',
           'payload_available': 'online',
           'payload_not_available': 'offline',
           'json_attributes_topic': base + '/attributes',
           'device': {'identifiers': [client_id],
                      'name': client_id, 'manufacturer': 'pinwheel',
                      'model': 'pinwheel ' + bridge.registry.board.name,
                      'sw_version': VERSION,
                      'configuration_url': bridge.url}}
    for key, value in _ENTITY[name].items():
        out[key] = (base + '/state' if value == 'S' else
                    base + '/set' if value == 'C' else value)
    return json.dumps(out)
