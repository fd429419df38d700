"""pinwheel as it boots (``app.main.run``) plus two bench-only routes, for
bench/kinds.py's edge -> output latency:

- ``POST /bench/watch/<source>/<target>``: from now on, every time
  ``target`` starts or stops, note how long after ``source``'s last accepted
  edge (``ticks_us``) that was;
- ``GET /bench/latency``: those delays (us) since the last call (then reset).

Run from a flash dir: ``PINWHEEL_PORT=N micropython kinds_serve.py``.
"""
import sys
sys.path.append('lib')
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
import app.http.api as api
from time import ticks_diff, ticks_us

_create_app = api.create_app
_delays = []


def _watch(registry, source_id, target_id):
    target = registry.get(target_id)
    source = registry.get(source_id)

    def noted(method):
        def run(*args):
            method(*args)
            _delays.append(ticks_diff(ticks_us(), source._last_us))
        return run
    # instance attributes: Handler.start/stop call self.begin/self.stop
    target.begin = noted(target.begin)
    target.stop = noted(target.stop)


def create_app(registry, store, *rest):
    app = _create_app(registry, store, *rest)

    @app.route('/bench/watch/<source>/<target>', ('POST',))
    def watch(request, source, target):
        _watch(registry, source, target)
        return {'ok': True}

    @app.route('/bench/latency')
    def latency(request):
        out = list(_delays)
        _delays.clear()
        return {'delays_us': out}

    return app


api.create_app = create_app  # main.serve looks it up when it starts
from app.main import run  # noqa: E402
run()
