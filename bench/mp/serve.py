"""pinwheel as it boots on the board (``app.main.run``), plus three
benchmark-only routes added from outside ``app/``:

- ``GET /bench/heap``: ``gc.collect()``, then ``mem_alloc`` / ``mem_free``
- ``POST /bench/track/<id>``: start the lateness histogram of a binding's timer
- ``GET /bench/hist/<id>``: that histogram since the last call (then reset)

Run from a flash dir: ``PINWHEEL_PORT=N micropython serve.py``.
"""
import sys
sys.path.append('lib')
import gc
from app.sim import install  # noqa: E402
install()  # the simulated board is machine, as app.main makes it
import app.http.api as api
import lateness  # before any timer fires: it wraps app.sim._fire

_create_app = api.create_app


def create_app(registry, store, *rest):
    app = _create_app(registry, store, *rest)

    @app.route('/bench/heap')
    def heap(request):
        gc.collect()
        return {'mem_alloc': gc.mem_alloc(), 'mem_free': gc.mem_free()}

    @app.route('/bench/track/<bid>', ('POST',))
    def track(request, bid):
        lateness.track(registry.get(bid).timer)
        return {'ok': True}

    @app.route('/bench/hist/<bid>')
    def hist(request, bid):
        return lateness.take(registry.get(bid).timer)

    return app


api.create_app = create_app  # main.serve looks it up when it starts
from app.main import run  # noqa: E402
run()
