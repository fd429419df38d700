"""config.json's defaults: what a config holds that its file leaves out.
Boot code (``app.main.BOOT_ONLY``): boot fills the config with them; the
config's checks (``app.schema``, through ``app.config``'s names
``DEFAULTS``, ``MQTT`` and ``defaults``) load them again with the first
change, and they stay with the checks from then on.
"""

# MQTT (app.mqtt.hass, docs/mqtt.md): what a "mqtt" object's missing keys
# are. An empty client_id is pinwheel-XXXX (the MAC's last two bytes), an
# empty base pinwheel/<client_id>.
MQTT = {'host': '', 'port': 1883, 'user': '', 'password': '',
        'client_id': '', 'base': '', 'discovery': True,
        'discovery_prefix': 'homeassistant', 'keepalive_s': 60,
        'tls': False, 'allow_config': False}


def defaults():
    """A fresh config holding the defaults (``app.config.DEFAULTS``;
    ``app.schema`` checks a config against them)."""
    return {
        'board': 'auto',
        'http': {'port': 8080},
        'wifi': {'ssid': '', 'password': '', 'timeout_s': 20,
                 'ap_fallback': True, 'ap_password': ''},
        'api_token': None,
        'auth': 'writes',  # with a token: "writes" or "all" (reads too)
        'limits': {'bindings': 16, 'virtual_timers': 8, 'schedules': 64},
        'mqtt': None,  # off; a dict switches it on (MQTT below)
        'bindings': [],
        # the clock, the place for sunrise/sunset, and the events
        # (app.time.schedules)
        'time': {'tz': 'UTC', 'ntp_servers': ['pool.ntp.org'],
                 'ntp_sync_s': 21600},
        'location': {},
        'schedule': {'catch_up_min': 5},
        'schedules': [],
        # the event log's ring (app.log): entries kept, 0 = off
        'log': {'size': 32},
    }


DEFAULTS = defaults()  # what app.schema checks a config against
