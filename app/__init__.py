"""pinwheel: timers bound to pins, served as a REST API (see README.md)."""
VERSION = '0.1.0'  # GET /api/status's "version", Home Assistant's sw_version
