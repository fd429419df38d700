#!/usr/bin/env python3
"""The figures of issue 14's kinds: edge -> output latency of a rule on the
simulated board (p50/p99, idle and under HTTP load) and heap per binding of
pwm, breathe, edge and counter. Writes bench/kinds_results.json and prints
a table; separate from `make bench` (bench/run.py), which it reuses.

    .venv/bin/python bench/kinds.py            # about a minute
    .venv/bin/python bench/kinds.py --quick    # fewer presses

Latency: a burst of presses (PUT /api/sim/pins/14, played by the sim's
timer thread) on an edge binding whose rule toggles a blink; the VM notes,
when the blink starts or stops, how long after the accepted edge that was
(bench/mp/kinds_serve.py). Under load, client threads keep GET
/api/bindings going meanwhile. Every VM is stopped by its pid.
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import run  # noqa: E402  (VM, make_flash, run_in_vm, the image)

OUT = BENCH / 'kinds_results.json'
CONFIG = {'board': 'auto', 'api_token': None, 'http': {'log': False},
          'limits': {'bindings': 16, 'virtual_timers': 16},
          'bindings': [
              {'id': 'lamp', 'kind': 'blink', 'pin': 4, 'period_ms': 1000,
               'start': False},
              {'id': 'button', 'kind': 'edge', 'pin': 14,
               'edge': 'rising', 'debounce_ms': 5,
               'on': [{'when': 'press', 'do': 'toggle',
                       'binding': 'lamp'}]}]}
BUDGET_US = 5000  # the "within 5 ms"
BUDGET_BYTES = 1024


def pct(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def summary(delays):
    if not delays:
        return {'n': 0}
    return {'n': len(delays), 'p50_us': pct(delays, 0.5),
            'p99_us': pct(delays, 0.99), 'max_us': max(delays),
            'mean_us': round(statistics.mean(delays))}


def hammer(port, stop, counts):
    """GET /api/bindings in a loop until ``stop`` is set."""
    n = 0
    while not stop.is_set():
        try:
            conn = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            conn.request('GET', '/api/bindings')
            conn.getresponse().read()
            conn.close()
            n += 1
        except OSError:
            time.sleep(0.01)
    counts.append(n)


def latency(image, presses, clients):
    flash = run.make_flash('kinds-latency', image, CONFIG,
                           scripts=['kinds_serve.py'])
    vm = run.VM(flash, 'kinds_serve.py')
    out = {}
    try:
        vm.start()
        assert vm.request('POST', '/bench/watch/button/lamp')[0] == 200
        for name, n_clients in (('idle', 0), ('http_load', clients)):
            stop = threading.Event()
            counts = []
            threads = [threading.Thread(target=hammer,
                                        args=(vm.port, stop, counts))
                       for _ in range(n_clients)]
            for t in threads:
                t.start()
            vm.request('GET', '/bench/latency')  # reset
            t0 = time.monotonic()
            status, body = vm.request('PUT', '/api/sim/pins/14', {
                'pulses': presses, 'high_ms': 20, 'low_ms': 30,
                'bounce': 2})
            assert status == 200, body
            time.sleep(body['ms'] / 1000 + 0.5)
            stop.set()
            for t in threads:
                t.join()
            status, got = vm.request('GET', '/bench/latency')
            row = summary(got['delays_us'])
            row['presses'] = presses
            row['requests_per_s'] = round(sum(counts) / (
                time.monotonic() - t0)) if counts else 0
            out[name] = row
    finally:
        vm.stop()
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--quick', action='store_true')
    opts = ap.parse_args(argv)
    run.WORK.mkdir(parents=True, exist_ok=True)
    image = run.WORK / 'image'
    run.deploy.build(image)
    results = {'meta': {'date': time.strftime('%Y-%m-%d %H:%M UTC',
                                              time.gmtime()),
                        'micropython': run.vm_version(),
                        'git': run.git_head(), 'quick': opts.quick,
                        'cpus': os.cpu_count(),
                        'load_avg': os.getloadavg()[0]}}
    results['latency'] = latency(image, 40 if opts.quick else 200, 4)
    flash = run.make_flash('kinds-memory', image)
    results['memory'] = run.run_in_vm('kinds_memory.py', image,
                                      cwd=flash)['per_binding']
    OUT.write_text(json.dumps(results, indent=1) + '\n')
    print('edge -> output (a rule toggling a blink), sim board:')
    for name, row in results['latency'].items():
        print('  %-9s n=%-4s p50 %s us  p99 %s us  max %s us  (%s req/s)  '
              '%s' % (name, row.get('n'), row.get('p50_us'),
                      row.get('p99_us'), row.get('max_us'),
                      row.get('requests_per_s'),
                      'ok' if row.get('p99_us', 1e9) <= BUDGET_US
                      else 'OVER 5 ms'))
    print('heap per binding (64-bit), bytes:')
    for kind, row in results['memory'].items():
        print('  %-13s %5d (first, with timers: %d)  %s' % (
            kind, row['binding'], row['with_timer'],
            'ok' if row['binding'] <= BUDGET_BYTES else 'OVER 1 KB'))
    print('wrote', OUT)
    return 0


if __name__ == '__main__':
    sys.exit(main())
