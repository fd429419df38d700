"""pinwheel: timers bound to pins, served as a REST API (see README.md)."""
