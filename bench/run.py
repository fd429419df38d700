#!/usr/bin/env python3
"""`make bench`: pinwheel's speed, memory and timing, each next to its baseline.

Every figure is measured in the same run as its baseline (a bare Microdot
app on the same VM, a hand-written ISR, a bare simulated timer), runs are
interleaved and repeated, and the medians are reported. The memory and
ISR figures come from every VM: the 32-bit ones (MicroPython's WebAssembly
port, as every board is 32-bit, and a 32-bit unix port if
``MICROPYTHON32`` names one) and the 64-bit unix port. Writes
bench/results.json, bench/results.md (the report; the docs link to it) and
docs/bench.png.

    .venv/bin/python bench/run.py            # everything
    .venv/bin/python bench/run.py --quick    # short runs, to check the harness
    .venv/bin/python bench/run.py --only throughput,memory

A section is one function ``name(opts) -> dict`` in SECTIONS. VMs, flash
dirs and scripts in the VMs go through tests/vm.py, the one helper the
tests use too. Every process started here (VMs, wrk, socat, chromium) is
stopped by its pid.
"""
import argparse
import http.client
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench'
MP = BENCH / 'mp'
WORK = ROOT / 'build' / 'bench'
sys.path[:0] = [str(ROOT), str(ROOT / 'tests'), str(BENCH)]
import deploy  # noqa: E402
import vm as vms  # noqa: E402  tests/vm.py
from report import BUDGET_HEAP_KB, write_all  # noqa: E402

QUIET = {'port': 8080, 'log': False}  # a bench VM logs no requests
# Four bindings, one of each kind, for the throughput and lateness VMs.
BINDINGS = [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500},
    {'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 200,
     'start': False},
    {'id': 'sos', 'kind': 'pattern', 'pin': 5,
     'steps_ms': [100, 100, 100, 300, 300, 300], 'repeat': 0},
    {'id': 'button', 'kind': 'sample', 'pin': 34, 'period_ms': 20,
     'window': 32},
]
BENCH_CONFIG = {'board': 'auto', 'http': QUIET, 'api_token': None,
                'limits': {'bindings': 16, 'virtual_timers': 16},
                'bindings': BINDINGS}
DEFAULT_CONFIG = dict(json.loads((ROOT / 'config.json').read_text()),
                      http=QUIET)
# Eight blinks, as a board that runs a few outputs (the board load).
EIGHT = [{'id': 'b%d' % i, 'kind': 'blink', 'pin': pin, 'period_ms': 100}
         for i, pin in enumerate((2, 4, 5, 12, 13, 14, 15, 16))]
CYCLE_IDS = ['bench%d' % i for i in range(1, 11)]  # see bench/wrk.lua
# "Everything on" (issue 18's budget): 8 bindings of mixed kinds with 2
# rules, 16 schedule events, a time zone and a place, MQTT with Home
# Assistant discovery (a broker the bench starts), and one event stream open.
EVERYTHING_BINDINGS = [
    {'id': 'led', 'kind': 'blink', 'pin': 2, 'period_ms': 500},
    {'id': 'relay', 'kind': 'pulse', 'pin': 4, 'duration_ms': 200,
     'start': False},
    {'id': 'sos', 'kind': 'pattern', 'pin': 5,
     'steps_ms': [100, 100, 100, 300, 300, 300]},
    {'id': 'level', 'kind': 'sample', 'pin': 34, 'period_ms': 20,
     'window': 32, 'on': [{'when': 'press', 'do': 'pulse',
                           'binding': 'relay'}]},
    {'id': 'lamp', 'kind': 'pwm', 'pin': 12, 'duty': 30},
    {'id': 'glow', 'kind': 'breathe', 'pin': 13},
    {'id': 'button', 'kind': 'edge', 'pin': 35, 'pull': None,
     'on': [{'when': 'press', 'do': 'toggle', 'binding': 'led'}]},
    {'id': 'meter', 'kind': 'counter', 'pin': 36},
]
EVERYTHING_EVENTS = [
    {'binding': ('led', 'lamp', 'glow', 'relay')[i % 4],
     'do': ('start', 'stop')[i % 2],
     'at': 'sunset' if i == 0 else 'sunrise' if i == 1 else
     '%02d:%02d' % (6 + i, 5 * i % 60), 'days': ['mon', 'wed', 'fri']}
    for i in range(16)]
# A 32-bit unix-port build of MicroPython, if one is at hand (it is not in
# the repo: see bench/results.md): heap figures are then measured on 32-bit
# too, not projected from the 64-bit port.
UNIX32 = os.environ.get('MICROPYTHON32')
TO_32BIT = 0.68  # 64-bit heap -> 32-bit, measured on this app (issue 18)


def log(*args):
    print('[%s]' % time.strftime('%H:%M:%S'), *args, flush=True)


def median(values):
    return statistics.median(values) if values else None


# -- processes --------------------------------------------------------------

def flash(name, config=None, scripts=()):
    """A fresh flash dir under build/bench: the image, ``config`` (default:
    the repo's, with the request log off) and bench/mp ``scripts``
    (lateness.py, which bare.py and serve.py use, comes with them; with
    bare.py, Microdot's .mpy files in lib/)."""
    path = WORK / name
    if path.exists():
        shutil.rmtree(path)
    if scripts:
        scripts = list(scripts) + ['lateness.py']
    path = vms.make_flash(path, DEFAULT_CONFIG if config is None else config,
                          [MP / s for s in scripts])
    if 'bare.py' in scripts:  # the bare app runs Microdot: not in the image
        deploy.add_microdot(path)
    return path


def app_vm(path, script=None, args=(), heapsize=None):
    """A VM (not started) serving ``path``: pinwheel, or a bench/mp app."""
    if script is None:
        return vms.VM(path, heapsize=heapsize)
    return vms.VM(path, heapsize=heapsize, script=script, args=args)


# what a phone's browser asks for the dashboard with: its files gzipped, as
# the board stores them
BROWSER = {'Accept-Encoding': 'gzip, deflate'}


def call(vm, method, path, body=None, timeout=10):
    """(status, body) of one request; the dashboard's files as a browser
    asks for them."""
    headers = BROWSER if path == '/' or path.startswith('/static/') else None
    status, data, _ = vm.request(method, path, body, headers=headers,
                                 timeout=timeout)
    return status, data


def bench_json(result, script):
    """The JSON a bench/mp script printed after ``BENCH``."""
    for line in result.stdout.splitlines():
        if line.startswith('BENCH '):
            return json.loads(line[6:])
    raise RuntimeError('%s failed (%s):\n%s%s' % (
        script, result.returncode, result.stdout[-2000:],
        result.stderr[-2000:]))


def in_vm(script, path, args=(), timeout=300):
    """Run bench/mp/<script> on the 64-bit unix port in the flash dir."""
    return bench_json(vms.run_micropython(MP / script, args, timeout=timeout,
                                          flash=path), script)


def in_vm32(script, path, args=(), then=(), timeout=600):
    """Run bench/mp/<script> on the 32-bit VM (WebAssembly) in the flash
    dir."""
    return bench_json(vms.run_micropython32(MP / script, args, timeout=timeout,
                                            flash=path, then=then), script)


def cpu_seconds(pid):
    """User + system CPU time a process has used so far (all threads)."""
    with open('/proc/%d/stat' % pid) as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def wrk(vm, path, conns, seconds, mode='get'):
    """One wrk run (one thread per connection): requests/s, latency, and
    requests per CPU-second of the VM (robust on a shared machine)."""
    env = dict(os.environ, BENCH_MODE=mode)
    cpu0 = cpu_seconds(vm.proc.pid)
    cmd = ['wrk', '-t%d' % conns, '-c%d' % conns, '-d%ss' % seconds,
           '-s', str(BENCH / 'wrk.lua'),
           'http://127.0.0.1:%d%s' % (vm.port, path)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=seconds + 30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise RuntimeError('wrk did not finish: ' + out[-500:])
    m = re.search(r'^BENCH (\{.*\})$', out, re.M)
    if not m:
        raise RuntimeError('wrk failed: ' + out[-500:])
    r = json.loads(m.group(1))
    r['rps'] = r['requests'] * 1e6 / max(r['duration_us'], 1)
    r['cpu_s'] = cpu_seconds(vm.proc.pid) - cpu0
    r['per_cpu_s'] = r['requests'] / r['cpu_s'] if r['cpu_s'] else None
    return r


class Load:
    """wrk running in the background (for the lateness-under-load windows)."""

    def __init__(self, vm, path='/api/bindings', conns=10, seconds=5):
        cmd = ['wrk', '-t1', '-c%d' % conns, '-d%ss' % seconds,
               '-s', str(BENCH / 'wrk.lua'),
               'http://127.0.0.1:%d%s' % (vm.port, path)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)

    def wait(self, timeout):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        m = re.search(r'^BENCH (\{.*\})$', out or '', re.M)
        if not m:
            return None
        r = json.loads(m.group(1))
        return r['requests'] * 1e6 / max(r['duration_us'], 1)


# -- 1. throughput ------------------------------------------------------------

CASES = [('GET /api/bindings', '/api/bindings', 'get'),
         ('GET /api/status', '/api/status', 'get'),
         ('POST+DELETE /api/bindings', '/api/bindings', 'cycle')]


def cleanup_cycle(vm):
    """Delete what a wrk cycle run left behind (stopped between POST and
    DELETE), so the next run's POSTs do not hit 409."""
    for bid in CYCLE_IDS:
        vm.request('DELETE', '/api/bindings/' + bid)


def live_heap(vm):
    status, data = call(vm, 'GET', '/api/status?gc=1')
    return data.get('mem_alloc') if status == 200 else None


def cpu_per_request(path_, which, path, n):
    """CPU microseconds per request through handle_request (bench/mp/
    handle.py), the VM's start-up subtracted; the least of five runs (other
    jobs on the machine only ever add time)."""
    env = dict(os.environ, MICROPYPATH='.frozen:.:lib:%s' % (
        ROOT / 'tests' / 'mp'))

    def cpu(count):
        proc = subprocess.Popen([vms.MICROPYTHON, str(MP / 'handle.py'),
                                 which, path, str(count)], cwd=path_, env=env,
                                stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        if status:
            raise RuntimeError('handle.py %s %s failed' % (which, path))
        return usage.ru_utime + usage.ru_stime
    runs = sorted((cpu(n) - cpu(0)) / n * 1e6 for _ in range(5))
    return round(runs[0])


PROFILE = [  # (label, app, path): where a request's CPU time goes
    ('bare Microdot, small dict', 'bare', '/api/bindings'),
    ('bare Microdot, pinwheel\'s /api/bindings document as a static dict',
     'bare', '/bench/doc'),
    ('pinwheel, GET /api/bindings, no bindings (connection limits, read '
     'deadline, auth hook, routing)', 'pinwheel0', '/api/bindings'),
    ('pinwheel, GET /api/bindings (4 bindings)', 'pinwheel', '/api/bindings'),
    ('pinwheel, unknown path (all routes tried, JSON 404)', 'pinwheel',
     '/nope'),
    ('pinwheel, GET /api/status', 'pinwheel', '/api/status'),
    ('pinwheel, GET /api/bindings, 8 running blinks (the document changes '
     'between any two polls)', 'pinwheel8', '/api/bindings'),
]


def profile(opts):
    path = flash('profile', BENCH_CONFIG)
    deploy.add_microdot(path)  # handle.py's bare app
    (path / 'config0.json').write_text(json.dumps(dict(BENCH_CONFIG,
                                                       bindings=[])))
    (path / 'config8.json').write_text(json.dumps(dict(BENCH_CONFIG,
                                                       bindings=EIGHT)))
    vm = app_vm(path).start()
    try:
        (path / 'doc.json').write_text(json.dumps(
            call(vm, 'GET', '/api/bindings')[1]))
    finally:
        vm.stop()
    n = 500 if opts.quick else 3000
    return {'requests': n, 'us_per_request': [
        [label, url, cpu_per_request(path, which, url, n)]
        for label, which, url in PROFILE]}


def throughput(opts):
    pw = app_vm(flash('tp-pinwheel', BENCH_CONFIG))
    bare = app_vm(flash('tp-bare', scripts=['bare.py']), 'bare.py', ['{port}'])
    out = {'seconds': opts.secs, 'reps': opts.reps, 'cases': {}}
    try:
        pw.start()
        bare.start()
        # the bare app also serves pinwheel's document as a static dict
        (bare.flash / 'doc.json').write_text(json.dumps(
            call(pw, 'GET', '/api/bindings')[1]))
        for vm, path in ((pw, '/api/bindings'), (bare, '/api/bindings'),
                         (bare, '/bench/doc')):  # warm up: first requests allocate
            wrk(vm, path, 10, 1)
        cleanup_cycle(pw)
        heaps = []
        runs = {}
        for rep in range(opts.reps):
            for name, path, mode in CASES:
                for conns in (1, 10):
                    order = [('pinwheel', pw, path), ('bare', bare, path)]
                    if path == '/api/bindings' and mode == 'get':
                        order.append(('bare_doc', bare, '/bench/doc'))
                    if rep % 2:  # ABBA: drift hits both sides alike
                        order.reverse()
                    for label, vm, url in order:
                        r = wrk(vm, url, conns, opts.secs, mode)
                        runs.setdefault((name, conns), {}).setdefault(
                            label, []).append(r)
                        if mode == 'cycle' and label == 'pinwheel':
                            cleanup_cycle(vm)
            heaps.append(live_heap(pw))
            log('throughput rep %d/%d done' % (rep + 1, opts.reps))
        for (name, conns), sides in runs.items():
            row = {}
            for label, rs in sides.items():
                row[label] = {
                    'rps': round(median([r['rps'] for r in rs]), 1),
                    'per_cpu_s': round(median([r['per_cpu_s'] for r in rs
                                               if r['per_cpu_s']] or [0]), 1),
                    'runs': [round(r['rps'], 1) for r in rs],
                    'lat_p50_us': median([r['lat_p50_us'] for r in rs]),
                    'lat_p99_us': median([r['lat_p99_us'] for r in rs]),
                    'non2xx': sum(r['non2xx'] for r in rs),
                    'errors': sum(r['errors'] for r in rs),
                }
            ratios = [a['rps'] / b['rps'] for a, b in
                      zip(sides['pinwheel'], sides['bare']) if b['rps']]
            row['ratio'] = round(median(ratios), 3) if ratios else None
            ratios = [a['per_cpu_s'] / b['per_cpu_s'] for a, b in
                      zip(sides['pinwheel'], sides['bare'])
                      if a['per_cpu_s'] and b['per_cpu_s']]
            row['cpu_ratio'] = round(median(ratios), 3) if ratios else None
            if 'bare_doc' in sides:
                row['doc_ratio'] = round(median(
                    [a['rps'] / b['rps'] for a, b in
                     zip(sides['pinwheel'], sides['bare_doc']) if b['rps']]), 3)
                row['doc_cpu_ratio'] = round(median(
                    [a['per_cpu_s'] / b['per_cpu_s'] for a, b in
                     zip(sides['pinwheel'], sides['bare_doc'])
                     if a['per_cpu_s'] and b['per_cpu_s']]), 3)
            out['cases']['%s @%d' % (name, conns)] = row
        cycles = sum(r['requests'] // 2 for (n, c), s in runs.items()
                     if n.startswith('POST') for r in s['pinwheel'])
        out['http_churn'] = {'heap_after_each_rep': heaps, 'cycles': cycles,
                             'growth': (heaps[-1] - heaps[0])
                             if len(heaps) > 1 and None not in heaps else None}
        out['alive'] = pw.alive() and bare.alive()
    finally:
        pw.stop()
        bare.stop()
    return out


# -- 2. memory ----------------------------------------------------------------

SEQUENCE = [  # (method, path, body, expected status)
    ('GET', '/api/status', None, 200),
    ('GET', '/', None, 200),
    ('POST', '/api/bindings', {'id': 'seq', 'kind': 'blink', 'pin': 13,
                               'period_ms': 50}, 201),
    ('PATCH', '/api/bindings/seq', {'period_ms': 20}, 200),
    ('PUT', '/api/bindings/seq', {'kind': 'pattern', 'pin': 14,
                                  'steps_ms': [10, 20, 30]}, 200),
    ('POST', '/api/bindings', {'id': 'in', 'kind': 'sample', 'pin': 34,
                               'period_ms': 10, 'window': 256}, 201),
    ('GET', '/api/bindings', None, 200),
    ('POST', '/api/bindings/seq/stop', None, 200),
    ('DELETE', '/api/bindings/seq', None, 204),
    ('DELETE', '/api/bindings/in', None, 204),
    ('GET', '/api/status', None, 200),
]


BARE_SEQUENCE = [('GET', '/api/bindings', None, 200)] * 20 + [
    ('GET', '/api/status', None, 200),
    ('POST', '/api/bindings', {'id': 'x'}, 201),
    ('DELETE', '/api/bindings/x', None, 204),
]


def fits(start, sequence, heap_kb, settle=0.2):
    """Does the app that ``start(heapsize)`` returns (a VM, not started)
    start and answer ``sequence`` with the expected statuses in a heap of
    heap_kb, and still answer after ``settle`` seconds?"""
    vm = start('%dk' % heap_kb)
    try:
        vm.start(timeout=10)
        for method, path, body, want in sequence:
            status, _ = call(vm, method, path, body, timeout=5)
            if status != want:
                return False, '%s %s -> %s' % (method, path, status)
        time.sleep(settle)  # let the timers run a little with the heap tight
        status, _ = call(vm, 'GET', '/api/bindings', timeout=5)
        if status != 200 or not vm.alive():
            return False, 'died after the sequence'
        return True, None
    except (RuntimeError, OSError, http.client.HTTPException) as e:
        lines = str(e).splitlines() or [repr(e)]
        where = [x.strip() for x in lines if x.strip().startswith('File ')]
        return False, ((where[-1] + ': ') if where else '') + lines[-1][:200]
    finally:
        vm.stop()


def min_heap(probe, lo=32, hi=512, step=4, confirm=3):
    """The smallest -X heapsize (KB, on a ``step`` grid) at which
    ``probe(kb)`` (-> ok, why) passes ``confirm`` times in a row. Near the
    edge a pass depends on fragmentation (MicroPython's GC does not move
    objects), so one lucky pass is not enough: bisect, then step up until
    the answer holds."""
    ok_hi, why = probe(hi)
    if not ok_hi:
        return {'min_kb': None, 'error': 'fails even at %d KB: %s' % (hi, why)}
    at_budget, why_budget = probe(BUDGET_HEAP_KB)
    if at_budget:
        hi = BUDGET_HEAP_KB
    else:
        lo = BUDGET_HEAP_KB
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if probe(mid)[0]:
            hi = mid
        else:
            lo = mid
    probes = []
    while True:
        results = [probe(hi) for _ in range(confirm)]
        probes.append([hi, sum(1 for ok, _ in results if ok)])
        if all(ok for ok, _ in results):
            break
        hi += step
    below = probe(hi - step)
    return {'min_kb': hi, 'fits_96k': at_budget, 'step_kb': step,
            'confirm': confirm, 'probes': probes,
            'below': [hi - step, below[1]],
            'fail_at_96k': None if at_budget else why_budget}


def min_heap_pinwheel(dashboard, config=None, sequence=SEQUENCE,
                      stream=False, saved=False):
    """pinwheel (a fresh flash each probe: the sequence rewrites its
    config.json) booting as a board does (bench/mp/board_boot.py: with the
    event log's ring), serving / and passing ``sequence``; with
    ``stream`` an event-stream client stays connected throughout. A fresh
    flash boots as the first boot after a deploy (config.json checked in
    full); with ``saved`` it has booted once before, with room to spare,
    so the probe boots the config as the board saved it (every later
    boot: docs/internals.md, The trusted boot)."""
    sequence = [x for x in sequence if dashboard or x[1] != '/']

    def start(heap):
        path = flash('heap-probe', config, scripts=['board_boot.py'])
        if saved:
            app_vm(path).start().stop()
        vm = app_vm(path, 'board_boot.py', heapsize=heap)
        return _Streaming(vm) if stream else vm
    return min_heap(lambda kb: fits(start, sequence, kb))


class _Streaming:
    """A VM that keeps one /api/events client connected once started."""

    def __init__(self, vm):
        self.vm = vm
        self.sock = None

    def __getattr__(self, name):
        return getattr(self.vm, name)

    def start(self, timeout=15):
        self.vm.start(timeout)
        self.sock = socket.create_connection(('127.0.0.1', self.vm.port), 5)
        self.sock.sendall(b'GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n')
        self.sock.settimeout(5)
        if b' 200 ' not in self.sock.recv(256):
            raise RuntimeError('the event stream was not answered')
        return self

    def stop(self):
        if self.sock is not None:
            self.sock.close()
        self.vm.stop()


EVERYTHING_SEQUENCE = [
    ('GET', '/api/status', None, 200),
    ('GET', '/', None, 200),
    ('GET', '/api/bindings', None, 200),
    ('GET', '/api/schedules', None, 200),
    ('POST', '/api/bindings/relay/start', None, 200),
    ('PATCH', '/api/bindings/lamp', {'duty': 60}, 200),
    ('GET', '/api/status', None, 200),
]


def min_heap_everything(dashboard):
    """Everything on: EVERYTHING_BINDINGS and _EVENTS, a zone, a place,
    MQTT with discovery connected to a broker, one event stream open."""
    broker = Mosquitto('heap-broker')
    try:
        config = dict(BENCH_CONFIG, bindings=EVERYTHING_BINDINGS,
                      schedules=EVERYTHING_EVENTS,
                      time={'tz': 'CET-1CEST,M3.5.0,M10.5.0/3'},
                      location={'lat': 52.52, 'lon': 13.4},
                      mqtt={'host': '127.0.0.1', 'port': broker.port,
                            'client_id': 'heap'},
                      limits={'bindings': 16, 'virtual_timers': 16,
                              'schedules': 64})
        return min_heap_pinwheel(dashboard, config, EVERYTHING_SEQUENCE,
                                 stream=True)
    finally:
        broker.stop()


# One feature at a time beside the default config (docs/boards.md says
# which fit beside it on each board): (name, the config's added sections,
# what the probe asks). The events are EVERYTHING_EVENTS', on the one blink.
FEATURES = [
    ('mqtt', lambda port: {'mqtt': {'host': '127.0.0.1', 'port': port,
                                    'client_id': 'heap'}},
     [('GET', '/api/status', None, 200), ('GET', '/', None, 200),
      ('GET', '/api/bindings', None, 200),
      ('POST', '/api/bindings/led/stop', None, 200),
      ('GET', '/api/status', None, 200)]),
    ('schedules', lambda port: {
        'schedules': [dict(e, binding='led') for e in EVERYTHING_EVENTS],
        'time': {'tz': 'CET-1CEST,M3.5.0,M10.5.0/3'},
        'location': {'lat': 52.52, 'lon': 13.4},
        'limits': {'bindings': 16, 'virtual_timers': 8, 'schedules': 64}},
     [('GET', '/api/status', None, 200), ('GET', '/', None, 200),
      ('GET', '/api/schedules', None, 200),
      ('POST', '/api/bindings/led/stop', None, 200),
      ('GET', '/api/status', None, 200)]),
    ('kinds', lambda port: {
        'bindings': EVERYTHING_BINDINGS,
        'limits': {'bindings': 16, 'virtual_timers': 16}},
     [('GET', '/api/status', None, 200), ('GET', '/', None, 200),
      ('GET', '/api/bindings', None, 200),
      ('POST', '/api/bindings/relay/start', None, 200),
      ('PATCH', '/api/bindings/lamp', {'duty': 60}, 200),
      ('GET', '/api/status', None, 200)]),
]


def min_heap_features(dashboard):
    """{feature: the smallest heap of the default config with that one
    feature added} (FEATURES; MQTT's broker started here)."""
    out = {}
    broker = Mosquitto('heap-broker-features')
    try:
        for name, sections, sequence in FEATURES:
            config = dict(DEFAULT_CONFIG, **sections(broker.port))
            out[name] = min_heap_pinwheel(dashboard, config, sequence)
    finally:
        broker.stop()
    return out


def tight_heap_rate(min_kb, n=2000, rounds=3):
    """GET /api/bindings a second, one connection, the default config: in a
    heap 8 KB over the smallest that serves (where the GC's threshold,
    app.main, collects often) and in the VM's default heap; the best of
    ``rounds`` each, interleaved."""
    path = flash('tight-rate', scripts=['board_boot.py'])
    best = {'tight': 0, 'large': 0}
    for _ in range(rounds):
        for which, heap in (('tight', '%dk' % (min_kb + 8)), ('large', None)):
            vm = app_vm(path, 'board_boot.py', heapsize=heap)
            try:
                vm.start()
                conn = http.client.HTTPConnection('127.0.0.1', vm.port, 10)
                for i in range(n + 50):
                    if i == 50:  # warmed up
                        t0 = time.perf_counter()
                    conn.request('GET', '/api/bindings')
                    conn.getresponse().read()
                rate = n / (time.perf_counter() - t0)
                conn.close()
            finally:
                vm.stop()
            best[which] = max(best[which], rate)
    return {'heap_kb': min_kb + 8, 'tight_rps': round(best['tight']),
            'large_rps': round(best['large'])}


def min_heap_bare():
    """The bare Microdot app (bench/mp/bare.py) answering BARE_SEQUENCE:
    the floor under any Microdot app on this VM."""
    path = flash('heap-probe-bare', scripts=['bare.py'])
    return min_heap(lambda kb: fits(
        lambda heap: app_vm(path, 'bare.py', ['{port}'], heapsize=heap),
        BARE_SEQUENCE, kb, settle=0))


def boot_heap():
    """Heap after boot() + build_app() (bench/mp/boot_heap.py), default
    config, on one flash dir booted twice: ``first``, the first boot after
    a deploy (config.json checked in full), and ``saved``, every later boot
    (the config as the board saved it, built without the checks)."""
    path = flash('boot-heap', scripts=['boot_heap.py'])
    first = in_vm('boot_heap.py', path)
    saved = in_vm('boot_heap.py', path)
    return {'first': first['boot'], 'saved': saved['boot'],
            'ring': saved['ring'],
            'modules_first': first['modules'],
            'modules_saved': saved['modules']}


def memory(opts):
    """The same in-VM figures on both VMs (bench/mp/memory.py), then the
    64-bit port's smallest heap and live heap while serving over sockets
    (the WebAssembly port has no socket, and it collects garbage only
    between calls from JavaScript, so no heap size there is a limit)."""
    path = flash('mem')
    out = {'vm64': in_vm('memory.py', path)}
    try:
        out['vm32'] = in_vm32('memory.py', flash('mem32'),
                              then=['step()'] * 120)
    except (RuntimeError, subprocess.SubprocessError) as e:
        out['vm32'] = {'error': str(e)[-600:]}
    dashboard = any((vms.image() / 'static').glob('index.*.gz'))
    out['dashboard_in_sequence'] = dashboard
    out['min_heap'] = min_heap_pinwheel(dashboard)
    out['min_heap_saved'] = min_heap_pinwheel(dashboard, saved=True)
    out['min_heap_everything'] = min_heap_everything(dashboard)
    out['min_heap_bare'] = min_heap_bare()
    out['boot_heap'] = boot_heap()
    if not UNIX32:  # else measured on 32-bit only (below): bench time
        out['min_heap_features'] = min_heap_features(dashboard)
    if UNIX32:  # the same on a 32-bit build of the unix port
        out['unix32'] = on_vm(UNIX32, lambda: {
            'version': vm_version(),
            'memory': in_vm('memory.py', flash('mem-u32')),
            'boot_heap': boot_heap(),
            'min_heap': min_heap_pinwheel(dashboard),
            'min_heap_saved': min_heap_pinwheel(dashboard, saved=True),
            'min_heap_everything': min_heap_everything(dashboard),
            'min_heap_features': min_heap_features(dashboard),
            'min_heap_bare': min_heap_bare()})
        mk = out['unix32']['min_heap'].get('min_kb')
        if mk:
            out['unix32']['tight_rate'] = on_vm(
                UNIX32, lambda: tight_heap_rate(mk))
    # live heap while serving, next to the bare app (same VM, same Microdot)
    pw = app_vm(flash('mem-pinwheel'))
    bare = app_vm(flash('mem-bare', scripts=['bare.py']), 'bare.py',
                  ['{port}'])
    try:
        pw.start()
        bare.start()
        for vm in (pw, bare):
            vm.request('GET', '/api/bindings')
            vm.request('GET', '/api/status')
        out['serving'] = {'pinwheel': live_heap(pw),
                          'bare': call(bare, 'GET', '/bench/heap')[1]
                          ['mem_alloc']}
    finally:
        pw.stop()
        bare.stop()
    return out


# -- 3. ISR -------------------------------------------------------------------

# The code the outside check of issue #19 measured (the layout commit, the
# same ISRs as main then): bench/mp/isr.py runs on it too, as "before".
ISR_BEFORE = '1a67ad8'
UNIX32_LABEL = ('MicroPython v%s unix port, 32-bit (MICROPY_FORCE_32BIT=1), '
                'built locally')


def flash_at(name, rev):
    """A flash dir holding app/ as it was at ``rev`` (sources: the VM
    compiles them) and the Microdot it ran on."""
    path = WORK / name
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    archive = subprocess.run(['git', 'archive', rev, 'app'], cwd=ROOT,
                             capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', str(path)], input=archive, check=True)
    deploy.add_microdot(path)  # the app then ran on Microdot
    return path


def unix32_vm(binary):
    """The label of a 32-bit unix-port binary (``MICROPYTHON32``), or None
    when it is not one."""
    res = subprocess.run([binary, '-c', 'import sys; print(sys.maxsize, '
                          '"%d.%d.%d" % sys.implementation.version[:3])'],
                         capture_output=True, text=True)
    parts = res.stdout.split()
    if len(parts) != 2 or parts[0] != str(2 ** 31 - 1):
        return None
    return UNIX32_LABEL % parts[1]


def isr(opts):
    """Each kind's interrupt next to a hand-written toggle, measured as on a
    board (bench/mp/isr.py), on every VM: the 64-bit unix port, a 32-bit
    unix port when ``MICROPYTHON32`` names one, the WebAssembly port (32
    bits); the code now and before issue #19; and what each executes per
    fire (bench/isr_ops.py)."""
    import isr_ops
    now = flash('isr')
    before = flash_at('isr-before', ISR_BEFORE)
    out = {'before_rev': ISR_BEFORE, 'vms': {}}
    runs = [('vm64', 'MicroPython %s unix port, 64-bit (pinned)'
             % vm_version(), lambda path: in_vm('isr.py', path))]
    if UNIX32:
        label = unix32_vm(UNIX32)
        if label:
            runs.append(('unix32', label, lambda path: on_vm(
                UNIX32, lambda: in_vm('isr.py', path))))
        else:
            out['unix32_error'] = '%s is no 32-bit unix port' % UNIX32
    runs.append(('vm32', 'MicroPython WebAssembly port, 32-bit (%s)'
                 % wasm_version(), lambda path: in_vm32('isr.py', path)))
    for name, label, run in runs:
        row = out['vms'][name] = {'label': label}
        for which, path in (('now', now), ('before', before)):
            try:
                row[which] = run(path)
            except (RuntimeError, subprocess.SubprocessError) as e:
                row[which] = {'error': str(e)[-600:]}
    out['ops'] = {'now': isr_ops.count(str(ROOT)),
                  'before': isr_ops.count(str(before), isr_ops.BEFORE)}
    return out


# 12 blinks on the esp32 profile: 3 on timers of their own, 9 sharing the
# last hardware timer (app/board/timerqueue.py). Periods differ so the queue's
# deadlines interleave.
RATE_PINS = [2, 4, 5, 12, 13, 14, 15, 16, 17, 18, 19, 21]
RATE_PERIODS = [50, 100, 100, 200, 50, 70, 100, 150, 200, 250, 300, 500]


def rates(opts):
    """Each binding's fires over a long window against its period: within
    1 % (fires counted from two reads of GET /api/bindings; their times are
    taken around the requests)."""
    bindings = [{'id': 'r%d' % i, 'kind': 'blink', 'pin': pin,
                 'period_ms': period} for i, (pin, period) in
                enumerate(zip(RATE_PINS, RATE_PERIODS))]
    config = dict(BENCH_CONFIG, board='esp32', bindings=bindings)
    vm = app_vm(flash('rates', config)).start()
    window = 5 if opts.quick else 30
    try:
        def read():
            t0 = time.monotonic()
            body = call(vm, 'GET', '/api/bindings')[1]
            t1 = time.monotonic()
            return (t0 + t1) / 2, {b['id']: b['stats'] for b in
                                   body['bindings']}
        time.sleep(1)
        t0, s0 = read()
        time.sleep(window)
        t1, s1 = read()
        board = call(vm, 'GET', '/api/board')[1]
    finally:
        vm.stop()
    rows = []
    for b in bindings:
        want = (t1 - t0) * 1000 / b['period_ms']
        got = s1[b['id']]['fires'] - s0[b['id']]['fires']
        rows.append({'id': b['id'], 'period_ms': b['period_ms'],
                     'fires': got, 'expected': round(want, 1),
                     'error': round(got / want - 1, 4),
                     'missed': s1[b['id']]['missed'] - s0[b['id']]['missed']})
    return {'window_s': round(t1 - t0, 2), 'board': board.get('board'),
            'timers': board.get('timers'), 'bindings': rows,
            'worst_error': max(abs(r['error']) for r in rows)}


def board_load(opts):
    """A board-realistic load on GET /api/bindings: a phone polling every
    2 s and one event stream open while 8 blinks run. The VM's CPU over the
    window with the polls and without (the stream and the timers alone),
    and the latency of each poll; the in-VM CPU per request is the profile's
    8-blink row."""
    vm = app_vm(flash('board-load', dict(BENCH_CONFIG, bindings=EIGHT))).start()
    window = 6 if opts.quick else 20
    stop = threading.Event()
    events = [0]

    def stream():  # one dashboard's event stream, read as it comes
        conn = http.client.HTTPConnection('127.0.0.1', vm.port, timeout=5)
        try:
            conn.request('GET', '/api/events')
            res = conn.getresponse()
            while not stop.is_set():
                line = res.fp.readline()
                if not line:
                    break
                if line.startswith(b'event:'):
                    events[0] += 1
        except OSError:
            pass
        finally:
            conn.close()
    reader = threading.Thread(target=stream, daemon=True)
    reader.start()
    out = {'window_s': window, 'poll_every_s': 2}
    try:
        time.sleep(1)
        for phase in ('stream only', 'stream + polls'):
            cpu0, t0, latencies = cpu_seconds(vm.proc.pid), time.monotonic(), []
            while time.monotonic() - t0 < window:
                if phase == 'stream + polls':
                    a = time.monotonic()
                    status, _ = call(vm, 'GET', '/api/bindings')
                    latencies.append(round((time.monotonic() - a) * 1000, 2))
                time.sleep(2)
            elapsed = time.monotonic() - t0
            out[phase] = {'cpu_share': round(
                (cpu_seconds(vm.proc.pid) - cpu0) / elapsed, 4),
                'polls': len(latencies), 'latency_ms': latencies}
        out['events'] = events[0]
        out['alive'] = vm.alive()
    finally:
        stop.set()
        vm.stop()
    reader.join(5)
    return out


# -- 4. timer lateness ----------------------------------------------------------

def percentiles(counts, bucket_us):
    """p50/p99/max (us, bucket upper edge) of a lateness histogram."""
    n = sum(counts)
    if not n:
        return {'n': 0, 'p50_us': None, 'p99_us': None, 'max_us': None}

    def pct(q):
        target = q * n
        acc = 0
        for i, c in enumerate(counts):
            acc += c
            if acc >= target:
                return (i + 1) * bucket_us
        return len(counts) * bucket_us
    top = max(i for i, c in enumerate(counts) if c)
    return {'n': n, 'p50_us': pct(0.5), 'p99_us': pct(0.99),
            'max_us': (top + 1) * bucket_us}


def lateness(opts):
    pw = app_vm(flash('lat-pinwheel', BENCH_CONFIG, scripts=['serve.py']),
                'serve.py')
    out = {'window_s': opts.window, 'rates': {}}
    pw.start()
    try:
        for hz in (10, 100, 1000):
            bare = app_vm(flash('lat-bare', scripts=['bare.py']),
                          'bare.py', ['{port}', hz])
            bare.start()
            try:
                status, _ = call(pw, 'POST', '/api/bindings', {
                    'id': 'lat', 'kind': 'blink', 'pin': 13,
                    'period_ms': 1000 // hz})
                assert status == 201, status
                call(pw, 'POST', '/bench/track/lat')
                window = opts.window * (2 if hz == 10 else 1)
                row = {}
                for phase in ('idle', 'load'):
                    for label, vm, hist in (
                            ('pinwheel', pw, '/bench/hist/lat'),
                            ('bare', bare, '/bench/hist')):
                        call(vm, 'GET', hist)  # reset
                        load = Load(vm, seconds=window) if phase == 'load' \
                            else None
                        time.sleep(window)
                        rps = load.wait(30) if load else None
                        _, h = call(vm, 'GET', hist)
                        r = percentiles(h['counts'], h['bucket_us'])
                        r['counts'] = h['counts']
                        if rps is not None:
                            r['load_rps'] = round(rps, 1)
                        row['%s_%s' % (label, phase)] = r
                call(pw, 'DELETE', '/api/bindings/lat')
                out['rates']['%d Hz' % hz] = row
                log('lateness %d Hz: pinwheel p99 idle %s us, load %s us' % (
                    hz, row['pinwheel_idle']['p99_us'],
                    row['pinwheel_load']['p99_us']))
            finally:
                bare.stop()
    finally:
        pw.stop()
    return out


# -- 5. dashboard ---------------------------------------------------------------

def dashboard(opts):
    image = vms.image()
    static = sorted((image / 'static').glob('*.gz')) if (
        image / 'static').is_dir() else []
    assets = [p for p in static if p.name != 'openapi.json.gz']
    out = {'assets': {p.name: p.stat().st_size for p in assets},
           'gz_bytes': sum(p.stat().st_size for p in assets)}
    if not any(p.name.startswith('index.') for p in assets):
        out['render'] = 'not available: static/ holds no dashboard yet'
        return out
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        out['render'] = 'not available: playwright is not installed'
        return out
    pw = app_vm(flash('dash-pinwheel', BENCH_CONFIG))
    bare = app_vm(flash('dash-bare', scripts=['bare.py']), 'bare.py',
                  ['{port}'])
    try:
        pw.start()
        bare.start()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path='/usr/bin/chromium',
                                        headless=True, args=['--no-sandbox'])
            try:
                res = {'pinwheel': [], 'bare': []}
                for i in range(opts.loads):
                    for label, vm, text in (('pinwheel', pw, 'button'),
                                            ('bare', bare, 'bare')):
                        res[label].append(page_timing(browser, vm.port, text))
                out['render'] = {
                    label: {k: median([r[k] for r in rs if r.get(k) is not None])
                            for k in rs[0]} for label, rs in res.items()}
                out['render']['loads'] = opts.loads
            finally:
                browser.close()
    finally:
        pw.stop()
        bare.stop()
    return out


def page_timing(browser, port, text):
    """One cold load (fresh context, empty cache): ms to first contentful
    paint, to the load event, and until ``text`` (a binding id the API
    returns) shows on the page: the first render with live data."""
    ctx = browser.new_context()
    try:
        page = ctx.new_page()
        t0 = time.monotonic()
        page.goto('http://127.0.0.1:%d/' % port, wait_until='load')
        loaded = (time.monotonic() - t0) * 1000
        try:
            page.wait_for_function(
                'text => document.body && document.body.innerText.includes('
                'text)', arg=text, timeout=10000)
            data = round((time.monotonic() - t0) * 1000, 1)
        except Exception:
            data = None
        fcp = page.evaluate(
            "() => { const e = performance.getEntriesByName("
            "'first-contentful-paint')[0]; return e ? e.startTime : null; }")
        return {'fcp_ms': fcp, 'load_ms': round(loaded, 1), 'data_ms': data}
    finally:
        ctx.close()


# -- 6. deploy ------------------------------------------------------------------

def deploy_figures(opts):
    t0 = time.monotonic()
    sizes = deploy.build(WORK / 'image-timed')
    out = {'build_s': round(time.monotonic() - t0, 2),
           'image_bytes': sum(sizes.values()), 'files': len(sizes),
           'by_dir': {}}
    for rel, n in sizes.items():
        top = rel.split('/')[0] if '/' in rel else rel
        out['by_dir'][top] = out['by_dir'].get(top, 0) + n
    if 'socket://' not in (ROOT / 'deploy.py').read_text():
        out['deploy'] = 'not available: deploy.py has no --port socket://'
        return out
    board = tempfile.mkdtemp(prefix='bench-board-', dir=WORK)
    port = vms.free_port()
    socat = subprocess.Popen(
        ['socat', 'TCP-LISTEN:%d,bind=127.0.0.1,reuseaddr,fork' % port,
         'EXEC:%s,pty,raw,echo=0' % vms.MICROPYTHON],
        cwd=board, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)  # its own group: its VMs stop with it
    try:
        time.sleep(0.3)
        runs = {}
        for label in ('full', 'no_change'):
            t0 = time.monotonic()
            res = subprocess.run(
                [sys.executable, str(ROOT / 'deploy.py'), '--port',
                 'socket://127.0.0.1:%d' % port, '--config',
                 str(ROOT / 'config.json')],
                cwd=ROOT, capture_output=True, text=True, timeout=180)
            runs[label] = {'s': round(time.monotonic() - t0, 2),
                           'rc': res.returncode,
                           'tail': (res.stdout + res.stderr).strip()
                           .splitlines()[-1:]}
        out['deploy'] = runs
    except subprocess.TimeoutExpired as e:
        out['deploy'] = 'failed: %s' % e
    finally:
        os.killpg(socat.pid, signal.SIGTERM)
        socat.wait(10)
        shutil.rmtree(board, ignore_errors=True)
    return out


# -- report -----------------------------------------------------------------------

# -- 8. MQTT -------------------------------------------------------------------

MQTT_BINDINGS = BINDINGS + [
    {'id': 'out%d' % i, 'kind': 'blink', 'pin': pin, 'period_ms': 1000,
     'start': False} for i, pin in enumerate((12, 13, 14, 15))]  # 8 in all


class Mosquitto:
    """Debian's mosquitto on a free 127.0.0.1 port, stopped by its pid."""

    def __init__(self, name):
        import getpass
        self.dir = WORK / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = vms.free_port()
        conf = self.dir / 'mosquitto.conf'
        conf.write_text('listener %d 127.0.0.1\nallow_anonymous true\n'
                        'persistence false\nuser %s\n'
                        % (self.port, getpass.getuser()))
        exe = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
        self.proc = subprocess.Popen([exe, '-c', str(conf)],
                                     stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(('127.0.0.1', self.port), 1).close()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError('mosquitto did not start')
                time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def mqtt_vm(name, host=None, port=None):
    config = dict(BENCH_CONFIG, bindings=MQTT_BINDINGS)
    if host:
        config['mqtt'] = {'host': host, 'port': port, 'client_id': name}
    return app_vm(flash(name, config))


def mqtt_state(vm):
    return call(vm, 'GET', '/api/status')[1]['mqtt']


def publish_latency(vm, broker, n, under_load):
    """Milliseconds from a binding change (the PATCH's answer) to its
    attributes message (its configuration) at a subscriber, ``n`` times, changes 400 ms apart (the bridge
    publishes a binding at most every 250 ms); with wrk on GET
    /api/bindings meanwhile if ``under_load``."""
    import threading
    import paho.mqtt.client as paho
    got = {}
    cond = threading.Condition()

    def message(client, userdata, msg):
        if msg.payload:
            period = json.loads(msg.payload).get('period_ms')
            with cond:
                got.setdefault(period, time.monotonic())
                cond.notify_all()
    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id='bench-sub')
    sub.on_message = message
    sub.connect('127.0.0.1', broker.port)
    sub.subscribe('pinwheel/mqtt-on/out0/attributes', 0)
    sub.loop_start()
    load = Load(vm, conns=10, seconds=int(n * 0.5) + 5) if under_load else None
    out = []
    try:
        time.sleep(1)
        for i in range(n):
            period = 2000 + i + (1000 if under_load else 0)  # never the stored one
            status, _ = call(vm, 'PATCH', '/api/bindings/out0',
                                   {'period_ms': period})
            t0 = time.monotonic()
            with cond:
                cond.wait_for(lambda: period in got, 5)
            if status == 200 and period in got:
                out.append((got[period] - t0) * 1000)
            # a random phase against the bridge's 100 ms poll
            time.sleep(0.4 + random.random() / 10)
    finally:
        if load:
            load.proc.kill()
            load.wait(10)
        sub.loop_stop()
        sub.disconnect()
    return out


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 1) \
        if values else None


def mqtt(opts):
    """Heap with MQTT on (8 bindings, discovery published) against off;
    publish latency, binding change to broker, p50/p99, idle and under
    HTTP load; API throughput (GET /api/bindings, 10 connections) with the
    broker unreachable (refusing, and a blackhole address), and connected,
    each against MQTT off."""
    broker = Mosquitto('mqtt-broker')
    apps = {}
    out = {'bindings': len(MQTT_BINDINGS)}
    try:  # whatever fails, the broker and every VM made are stopped
        dead = vms.free_port()  # nothing listens: connections are refused
        apps['off'] = mqtt_vm('mqtt-off')
        apps['connected'] = mqtt_vm('mqtt-on', '127.0.0.1', broker.port)
        apps['refused'] = mqtt_vm('mqtt-refused', '127.0.0.1', dead)
        # TEST-NET-1 (RFC 5737): no one answers, a connect times out
        apps['blackhole'] = mqtt_vm('mqtt-blackhole', '192.0.2.1', 1883)
        for vm in apps.values():
            vm.start()
        deadline = time.monotonic() + 15
        while mqtt_state(apps['connected'])['state'] != 'connected':
            if time.monotonic() > deadline:
                raise RuntimeError('the board did not connect')
            time.sleep(0.1)
        time.sleep(2)  # discovery and state published
        heap = {k: live_heap(apps[k]) for k in ('off', 'connected')}
        out['heap'] = dict(heap, cost=heap['connected'] - heap['off'])
        n = 10 if opts.quick else 60
        lat = {}
        for label, loaded in (('idle', False), ('http_load', True)):
            ms = publish_latency(apps['connected'], broker, n, loaded)
            lat[label] = {'n': len(ms), 'p50_ms': pct(ms, 0.5),
                          'p99_ms': pct(ms, 0.99), 'max_ms': pct(ms, 1.0)}
        out['publish_latency'] = lat
        runs = {k: [] for k in apps}
        for vm in apps.values():
            wrk(vm, '/api/bindings', 10, 1)  # warm up
        for rep in range(opts.reps):
            order = list(apps) if rep % 2 == 0 else list(apps)[::-1]  # ABBA
            for label in order:
                runs[label].append(wrk(apps[label], '/api/bindings', 10,
                                       opts.secs)['rps'])
        rps = {k: round(median(v), 1) for k, v in runs.items()}
        out['throughput'] = {
            'rps': rps, 'runs': {k: [round(x, 1) for x in v]
                                 for k, v in runs.items()},
            'ratio': {k: round(rps[k] / rps['off'], 3)
                      for k in rps if k != 'off' and rps['off']}}
        out['states'] = {k: mqtt_state(vm)['state'] for k, vm in apps.items()}
        out['errors'] = {k: mqtt_state(vm)['error'] for k, vm in apps.items()}
        out['alive'] = all(vm.alive() for vm in apps.values())
    finally:
        for vm in apps.values():
            vm.stop()
        broker.stop()
    return out


SECTIONS = {'throughput': throughput, 'profile': profile,
            'memory': memory, 'isr': isr, 'rates': rates,
            'board_load': board_load, 'lateness': lateness,
            'dashboard': dashboard, 'deploy': deploy_figures, 'mqtt': mqtt}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true',
                    help='short runs to check the harness (noisy figures)')
    ap.add_argument('--only', help='comma-separated sections: ' +
                    ', '.join(SECTIONS))
    opts = ap.parse_args(argv)
    opts.secs = 1 if opts.quick else 2
    opts.reps = 1 if opts.quick else 5
    opts.window = 1 if opts.quick else 4
    opts.loads = 2 if opts.quick else 5
    only = opts.only.split(',') if opts.only else list(SECTIONS)
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    results = load_previous() if opts.only else {}
    results['meta'] = {
        'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        'micropython': vm_version(), 'micropython32': wasm_version(),
        'host': platform.machine(),
        'cpus': os.cpu_count(), 'load_avg': os.getloadavg()[0],
        'quick': opts.quick, 'git': git_head()}
    for name in only:
        log('--', name)
        t0 = time.monotonic()
        try:
            results[name] = SECTIONS[name](opts)
        except Exception as e:  # one broken section must not lose the rest
            results[name] = {'error': '%s: %s' % (type(e).__name__, e)}
            log('!!', name, 'failed:', e)
        results[name]['section_s'] = round(time.monotonic() - t0, 1)
    results['meta']['total_s'] = round(time.monotonic() - started, 1)
    write_all(results)
    log('done in %.0f s' % results['meta']['total_s'])
    return 0


def on_vm(binary, work):
    """``work()`` with tests/vm.py running ``binary`` instead."""
    saved = vms.MICROPYTHON
    vms.MICROPYTHON = binary
    try:
        return work()
    finally:
        vms.MICROPYTHON = saved


def load_previous():
    try:
        return json.loads((BENCH / 'results.json').read_text())
    except (OSError, ValueError):
        return {}


def vm_version():
    res = subprocess.run([vms.MICROPYTHON, '-c', 'import sys; print('
                          '"%d.%d.%d" % sys.implementation.version[:3])'],
                         capture_output=True, text=True)
    return res.stdout.strip()


def wasm_version():
    """The npm package of the 32-bit VM (tools/wasm32/package.json)."""
    pkg = json.loads((vms.WASM32 / 'package.json').read_text())
    return ', '.join('%s %s' % kv for kv in pkg['dependencies'].items())


def git_head():
    res = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                         capture_output=True, text=True)
    return res.stdout.strip()


if __name__ == '__main__':
    sys.exit(main())
