"""The baseline: a bare Microdot app on the same VM, returning small dicts.

Run from a flash dir (``lib/`` holds the same compiled Microdot as pinwheel):

    micropython bare.py PORT [timer_hz]

It answers the same paths the throughput benchmark hits, so one wrk script
drives both apps. With ``timer_hz`` it also runs one simulated timer with a
do-nothing callback (the lateness floor) and serves its histogram.
"""
import sys
sys.path.append('lib')
import asyncio
import gc
from microdot import Microdot

app = Microdot()
_timer = None


@app.get('/api/status')
def status(request):
    return {'ok': True, 'n': 1}


@app.get('/api/bindings')
def bindings(request):
    return {'ok': True, 'n': 1}


@app.post('/api/bindings')
def create(request):
    return {'ok': True, 'n': 1}, 201


@app.delete('/api/bindings/<bid>')
def delete(request, bid):
    return '', 204


_doc = None


@app.get('/bench/doc')
def doc(request):
    """pinwheel's GET /api/bindings document as a static dict (doc.json,
    written by run.py): the same payload with none of the work behind it."""
    global _doc
    if _doc is None:
        import json
        with open('doc.json') as f:
            _doc = json.load(f)
    return _doc


@app.get('/')
def index(request):
    return '<!doctype html><title>bare</title><h1>bare</h1>', 200, {
        'Content-Type': 'text/html'}


@app.get('/bench/heap')
def heap(request):
    gc.collect()
    return {'mem_alloc': gc.mem_alloc(), 'mem_free': gc.mem_free()}


@app.get('/bench/hist')
def hist(request):
    """The lateness histogram since the last call (then reset)."""
    import lateness
    return lateness.take(_timer)


def _noop(t):
    pass


def main():
    global _timer
    port = int(sys.argv[1])
    if len(sys.argv) > 2:
        sys.path.append('.')
        from app.sim import Timer
        import lateness
        _timer = Timer(-1)
        lateness.track(_timer)
        _timer.init(mode=Timer.PERIODIC, freq=int(sys.argv[2]), callback=_noop)

        asyncio.run(app.start_server(host='127.0.0.1', port=port))
    else:
        app.run(host='127.0.0.1', port=port)


main()
