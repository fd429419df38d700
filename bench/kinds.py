#!/usr/bin/env python3
"""The figures of the kinds: edge -> output latency of a rule on the
simulated board (p50/p99, idle and under HTTP load; issue 14) and heap per
binding of every kind against issue 18's budgets (bench/mp/kinds_memory.py),
on the 64-bit unix port and, when MICROPYTHON32 names one, a 32-bit build of
it (the budgets are a 32-bit board's). Writes bench/kinds_results.json and
prints a table; separate from `make bench` (bench/run.py), which it reuses.

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
import run  # noqa: E402  (flash, in_vm, on_vm, call; tests/vm.py)
import vm as vms  # noqa: E402

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


def latency(presses, clients):
    flash = run.flash('kinds-latency', CONFIG, scripts=['kinds_serve.py'])
    vm = vms.VM(flash, script='kinds_serve.py')
    out = {}
    try:
        vm.start()
        assert run.call(vm, 'POST', '/bench/watch/button/lamp')[0] == 200
        for name, n_clients in (('idle', 0), ('http_load', clients)):
            stop = threading.Event()
            counts = []
            threads = [threading.Thread(target=hammer,
                                        args=(vm.port, stop, counts))
                       for _ in range(n_clients)]
            for t in threads:
                t.start()
            run.call(vm, 'GET', '/bench/latency')  # reset
            t0 = time.monotonic()
            status, body = run.call(vm, 'PUT', '/api/sim/pins/14', {
                'pulses': presses, 'high_ms': 20, 'low_ms': 30,
                'bounce': 2})
            assert status == 200, body
            time.sleep(body['ms'] / 1000 + 0.5)
            stop.set()
            for t in threads:
                t.join()
            status, got = run.call(vm, 'GET', '/bench/latency')
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
    results = {'meta': {'date': time.strftime('%Y-%m-%d %H:%M UTC',
                                              time.gmtime()),
                        'micropython': run.vm_version(),
                        'git': run.git_head(), 'quick': opts.quick,
                        'cpus': os.cpu_count(),
                        'load_avg': os.getloadavg()[0]}}
    results['latency'] = latency(40 if opts.quick else 200, 4)
    flash = run.flash('kinds-memory', scripts=['kinds_memory.py'])
    results['memory'] = {'vm64': run.in_vm('kinds_memory.py', flash)[
        'per_binding']}
    label = run.UNIX32 and run.unix32_vm(run.UNIX32)
    if label:
        results['memory']['unix32'] = run.on_vm(run.UNIX32, lambda: run.in_vm(
            'kinds_memory.py', flash)['per_binding'])
        results['meta']['unix32'] = label
    OUT.write_text(json.dumps(results, indent=1) + '\n')
    print('edge -> output (a rule toggling a blink), sim board:')
    for name, row in results['latency'].items():
        print('  %-9s n=%-4s p50 %s us  p99 %s us  max %s us  (%s req/s)  '
              '%s' % (name, row.get('n'), row.get('p50_us'),
                      row.get('p99_us'), row.get('max_us'),
                      row.get('requests_per_s'),
                      'ok' if row.get('p99_us', 1e9) <= BUDGET_US
                      else 'OVER 5 ms'))
    for vm, rows in results['memory'].items():
        print('heap per binding (%s), bytes; budgets are a 32-bit board\'s:'
              % vm)
        for kind, row in rows.items():
            print('  %-18s %5d (first, with timers: %d)  budget %d%s' % (
                kind, row['binding'], row['with_timer'], row['budget'],
                '' if vm != 'unix32' else ': ok'
                if row['binding'] <= row['budget'] else ': OVER'))
    print('wrote', OUT)
    return 0


if __name__ == '__main__':
    sys.exit(main())
