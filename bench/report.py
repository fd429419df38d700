"""Turn bench results into bench/results.json, bench/results.md, the README
section and docs/bench.png. ``python bench/report.py`` redraws them from the
last results.json without measuring again."""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench'
CHART = ROOT / 'docs' / 'bench.png'
BEGIN = '<!-- bench:begin (written by `make bench`) -->'
END = '<!-- bench:end -->'
PLACEHOLDER = '<!-- section: benchmarks -->'

BUDGET_BINDINGS_RATIO = 0.85
BUDGET_HEAP_KB = 96
# the VM's name table (qstr pools, 64-bit unix port 1.29): the 621st name
# allocates a 6th pool of 640 entries, one 7 KB block (tests/test_heap.py)
NAMES_LIMIT = 620
NAMES_BLOCK = 7104  # 640 entries x 11 bytes + header
BUDGET_PER_BINDING = 1024
BUDGET_P99_US = 2000
BUDGET_STATIC_GZ = 12 * 1024


def ok(flag):
    return 'yes' if flag else '**no**'


def kb(n):
    return '—' if n is None else '%.1f KB' % (n / 1024)


def fmt(v, unit=''):
    if v is None:
        return '—'
    if isinstance(v, float):
        v = ('%.0f' if abs(v) >= 100 else '%.2f') % v
    return '%s%s' % (v, unit)


def lat_us(v):
    """A lateness bucket edge; the last bucket holds everything >= 4.95 ms."""
    if v is None:
        return '—'
    return '≥4950' if v >= 5000 else str(v)


def failed(results, name):
    sec = results.get(name)
    if not isinstance(sec, dict):
        return 'not measured'
    return sec.get('error')


def md_throughput(r):
    lines = ['### Throughput (wrk; median of %s interleaved %s s runs per side)'
             % (r['reps'], r['seconds']), '',
             'req/s is wall-clock; req/CPU-s divides the requests by the CPU '
             'time the VM process used (both threads), which holds on a '
             'shared, noisy machine.', '',
             '| request | conns | pinwheel req/s | bare Microdot req/s | ratio |'
             ' pinwheel req/CPU-s | bare req/CPU-s | CPU ratio |'
             ' pinwheel p99 latency |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for case, row in r['cases'].items():
        name, conns = case.rsplit(' @', 1)
        pw, bare = row['pinwheel'], row['bare']
        note = ''
        if pw['non2xx'] or pw['errors']:
            note = ' (%d non-2xx, %d socket errors)' % (pw['non2xx'],
                                                        pw['errors'])
        lines.append('| `%s` | %s | %s%s | %s | %.2f× | %s | %s | %s | %.1f ms |'
                     % (name, conns, fmt(pw['rps']), note, fmt(bare['rps']),
                        row['ratio'], fmt(pw.get('per_cpu_s')),
                        fmt(bare.get('per_cpu_s')),
                        '%.2f×' % row['cpu_ratio'] if row.get('cpu_ratio')
                        else '—', pw['lat_p99_us'] / 1000))
    for case, row in r['cases'].items():
        doc = row.get('bare_doc')
        if doc:
            lines += ['', 'Same payload: bare Microdot returning pinwheel\'s '
                      '`/api/bindings` document (~1 KB) as a static dict, %s '
                      'conn: %s req/s, %s req/CPU-s; pinwheel is %.2f× (%.2f× '
                      'per CPU-s) of that.' % (
                          case.rsplit(' @', 1)[1], fmt(doc['rps']),
                          fmt(doc.get('per_cpu_s')), row['doc_ratio'],
                          row['doc_cpu_ratio'])]
    lines += ['', 'Why pinwheel can beat the bare app: both run the same '
              'Microdot, but pinwheel\'s server (app/server.py) reads a '
              'request head in 512-byte chunks (Microdot\'s `readline` on a '
              'socket is one read() system call per byte) and sends the '
              'response head, and a bytes body with it, in one write '
              '(Microdot writes the status line and each header on its own, '
              'each a system call and a trip through the event loop); and '
              'GET /api/bindings keeps its document as bytes until a binding '
              'changes (app.handler.Listing). The bare app is stock Microdot.']
    churn = r.get('http_churn') or {}
    lines += ['', 'A POST+DELETE cycle persists config.json twice (write a '
              'temp file, rename). Heap after each round of runs (after '
              '`gc.collect()`): %s bytes, over %s create/delete cycles in all.'
              % (', '.join(str(h) for h in churn.get('heap_after_each_rep', [])),
                 churn.get('cycles'))]
    return lines


def md_profile(p):
    lines = ['### Where a request\'s CPU time goes (in-VM, no sockets)', '',
             '%d requests through `app.handle_request` from in-memory streams;'
             ' CPU time of the VM process (getrusage), start-up subtracted, '
             'least of 5 runs. Sockets, accept and close come on top, the same for'
             ' both apps.' % p['requests'], '',
             '| app and request | CPU us per request |', '|---|---:|']
    for label, path, us in p['us_per_request']:
        lines.append('| %s | %s |' % (label, fmt(us)))
    return lines


def heap_split(m):
    """Heap after boot in three parts (bytes), or None: the VM + asyncio +
    Microdot (a total, in a near-empty script: bench/mp/vm.py), pinwheel's
    modules (the import table) and pinwheel's objects (boot + create_app)."""
    vm = m.get('vm')
    if not isinstance(vm, dict) or 'microdot' not in vm:
        return None
    ours = sum(n for name, n in m['imports'] if name.startswith('app'))
    objects = m['boot'] - m['base'] - sum(n for _, n in m['imports'])
    return vm['microdot'], ours, objects


def heap_floor(m):
    """(bare Microdot's smallest -X heapsize, pinwheel's share on top of
    it), in KB, or None."""
    pw = (m.get('min_heap') or {}).get('min_kb')
    bare = (m.get('min_heap_bare') or {}).get('min_kb')
    if pw is None or bare is None:
        return None
    return bare, pw - bare


def md_memory(m):
    mh = m.get('min_heap') or {}
    lines = ['### Memory (64-bit unix port: about twice a 32-bit board\'s '
             'figures)', '',
             '| figure | value | budget | met |', '|---|---:|---:|---|']
    serving = m.get('serving') or {}
    rom = m.get('romfs') or {}
    lines.append('| heap after boot, default config (boot + create_app, in-VM)'
                 ' | %s | | |' % kb(m['boot'] - m['base']))
    split = heap_split(m)
    if split:
        vm = m['vm']
        lines.append('| heap after boot, split: VM + asyncio + Microdot (%s + %s '
                     '+ %s, in a near-empty script) / pinwheel\'s modules / '
                     'pinwheel\'s objects (boot + create_app) | %s / %s / %s |'
                     ' | |' % (kb(vm['vm']), kb(vm['asyncio'] - vm['vm']),
                               kb(vm['microdot'] - vm['asyncio']),
                               kb(split[0]), kb(split[1]), kb(split[2])))
    names = m.get('names')
    if names:
        lines.append('| names in the VM\'s table after boot (it grows by '
                     'doubling, in one block: name %d would cost %s more; the '
                     'live updates take that block when they load) | %d of %d'
                     ' | | |' % (NAMES_LIMIT + 1, kb(NAMES_BLOCK),
                                 names['count'], NAMES_LIMIT))
    lines.append('| heap while serving, default config | %s (bare Microdot: %s)'
                 ' | | |' % (kb(serving.get('pinwheel')), kb(serving.get('bare'))))
    if 'boot_without_image' in rom:
        lines.append('| heap after boot with app/ and lib/ in a ROMFS partition '
                     '(bytecode runs in place; projected: the %s image, held '
                     'in the heap on the unix port, subtracted) | %s | | |'
                     % (kb(rom['image_bytes']), kb(rom['boot_without_image']
                                                  - rom['base'])))
    floor = heap_floor(m)
    if mh.get('min_kb') is not None:
        lines.append('| smallest `-X heapsize` that boots, serves %s and passes '
                     'create/reconfigure/delete | %d KB%s | %d KB | %s |' % (
                         '`/`' if m.get('dashboard_in_sequence') else 'the API',
                         mh['min_kb'], ' (bare Microdot on the same VM needs %d '
                         'KB; pinwheel\'s own share is %d KB)' % floor
                         if floor else '', BUDGET_HEAP_KB,
                         ok(mh['min_kb'] <= BUDGET_HEAP_KB)))
    else:
        lines.append('| smallest `-X heapsize` | %s | %d KB | **no** |'
                     % (mh.get('error'), BUDGET_HEAP_KB))
    for kind, row in m['per_binding'].items():
        lines.append('| heap per `%s` binding (with its simulated timer object, '
                     'created once per pool slot) | %d B (%d B) | %d B | %s |'
                     % (kind, row['binding'], row['with_timer'],
                        BUDGET_PER_BINDING,
                        ok(row['binding'] <= BUDGET_PER_BINDING)))
    c = m['churn']
    lines.append('| heap growth over %d create/delete cycles (in-VM) | %+d B |'
                 ' 0 | %s |' % (c['cycles'], c['growth'], ok(c['growth'] <= 0)))
    mb = m.get('min_heap_bare') or {}
    if floor:
        lines += ['', 'Bare Microdot: bench/mp/bare.py (same VM, same compiled '
                  'Microdot) answering 20 `GET /api/bindings`, a `GET '
                  '/api/status`, a POST and a DELETE, probed like pinwheel '
                  '(bisection on a %d KB grid, then %d passes in a row; at %d '
                  'KB: %s).' % (mb['step_kb'], mb['confirm'], mb['below'][0],
                                mb['below'][1])]
    elif 'min_heap_bare' in m:
        lines += ['', 'Bare Microdot\'s smallest heap: %s' % mb.get('error')]
    lines += ['', '<details><summary>Where the heap goes at boot (bytes each '
              'import adds, in order)</summary>', '',
              '| module | bytes |', '|---|---:|']
    for name, n in m['imports']:
        lines.append('| `%s` | %d |' % (name, n))
    lines.append('| `boot()` + `create_app()` | %d |' % (
        m['boot'] - m['base'] - sum(n for _, n in m['imports'])))
    if split:
        imports = dict(m['imports'])
        vm = m['vm']
        lines += ['', 'In a near-empty script the VM holds %d bytes, %d after '
                  '`import asyncio` and %d after `import microdot`. The import '
                  'table runs after the bigger bench script, which has already '
                  'grown the VM\'s string table (it grows in blocks), so its '
                  'Microdot figure is %d bytes lower.' % (
                      vm['vm'], vm['asyncio'], vm['microdot'],
                      (vm['microdot'] - vm['asyncio'])
                      - imports.get('microdot', 0))]
    lines += ['', '</details>']
    return lines


def md_isr(r):
    lines = ['### ISR cost (in-VM, %d direct calls, median of %d runs)'
             % (r['n'], r['reps']), '',
             '| ISR | ns per call (with its deferred work) | ns per call, '
             'interrupt only | bytes per call | runs under `heap_lock` |',
             '|---|---:|---:|---:|---|']
    for kind in ['bare'] + [k for k in r if isinstance(r[k], dict)
                            and k != 'bare']:
        row = r[kind]
        label = 'hand-written toggle (baseline)' if kind == 'bare' else kind
        lines.append('| %s | %d | %s | %g | %s |' % (
            label, row['ns'], row.get('ns_irq_only', row['ns']),
            row['bytes_per_call'],
            'yes' if row['heap_lock_error'] is None else
            '**no**: ' + row['heap_lock_error']))
    lines += ['', 'A kind\'s ISR queues its deferred work with '
              '`micropython.schedule` (blink, pulse and pattern on every fire, '
              'sample on an edge); the unix port runs it at once, inside the '
              'first column. The second column holds that work back (a '
              'deferral already pending): the time an interrupt costs on a '
              'board, where the deferred work runs later in the main loop.']
    return lines


def md_lateness(r):
    lines = ['### Timer lateness on the simulated board (us; 50 us buckets, '
             'upper edges)', '',
             '| rate | load | pinwheel p50 / p99 / max | bare timer p50 / p99 /'
             ' max | fires | p99 budget |', '|---|---|---:|---:|---:|---|']
    for rate, row in r['rates'].items():
        for phase in ('idle', 'load'):
            pw, bare = row['pinwheel_' + phase], row['bare_' + phase]
            load = 'idle' if phase == 'idle' else 'wrk 10 conns (%s req/s)' % (
                fmt(pw.get('load_rps')))
            budget = ''
            if rate == '100 Hz' and phase == 'load':
                budget = '< %d: %s' % (BUDGET_P99_US, ok(
                    pw['p99_us'] is not None and pw['p99_us'] < BUDGET_P99_US))
            lines.append('| %s | %s | %s / %s / %s | %s / %s / %s | %d | %s |'
                         % (rate, load, lat_us(pw['p50_us']), lat_us(pw['p99_us']),
                            lat_us(pw['max_us']), lat_us(bare['p50_us']),
                            lat_us(bare['p99_us']), lat_us(bare['max_us']),
                            pw['n'], budget))
    return lines


def md_dashboard(d):
    lines = ['### Dashboard', '',
             '| figure | value | budget | met |', '|---|---:|---:|---|',
             '| gzipped assets (%s) | %d B | %d B | %s |' % (
                 ', '.join(sorted(d['assets'])) or 'none', d['gz_bytes'],
                 BUDGET_STATIC_GZ, ok(d['gz_bytes'] <= BUDGET_STATIC_GZ))]
    render = d.get('render')
    if isinstance(render, dict):
        pw, bare = render['pinwheel'], render['bare']
        lines.append('| first contentful paint, headless Chromium (median of %d'
                     ' cold loads) | %s ms (bare page: %s ms) | | |'
                     % (render['loads'], fmt(pw['fcp_ms']), fmt(bare['fcp_ms'])))
        lines.append('| load event / bindings on screen (median) | %s / %s ms |'
                     ' | |' % (fmt(pw['load_ms']), fmt(pw['data_ms'])))
    else:
        lines.append('| time to first render | %s | | |' % render)
    return lines


def md_deploy(d):
    lines = ['### Deploy', '', '| figure | value |', '|---|---:|',
             '| image on flash | %d B in %d files (%s) |' % (
                 d['image_bytes'], d['files'], ', '.join(
                     '%s %d B' % kv for kv in sorted(d['by_dir'].items()))),
             '| build (mpy-cross + gzip) | %s s |' % d['build_s']]
    dep = d.get('deploy')
    if isinstance(dep, dict):
        for label, run in dep.items():
            lines.append('| deploy to the virtual board, %s | %s s%s |' % (
                label.replace('_', '-'), run['s'],
                '' if run['rc'] == 0 else ' (**failed**: %s)'
                % ' '.join(run['tail'])))
    else:
        lines.append('| deploy to the virtual board | %s |' % dep)
    return lines


def md_mqtt(r):
    lines = ['### MQTT', '',
             '%d bindings, a local mosquitto; docs/mqtt.md.' % r['bindings'], '',
             '| figure | value |', '|---|---:|']
    heap = r['heap']
    lines.append('| live heap, MQTT connected / off (cost) | %s / %s (%s) |' % (
        kb(heap['connected']), kb(heap['off']), kb(heap['cost'])))
    for label, lat in r['publish_latency'].items():
        lines.append('| publish latency, binding change to broker, %s (n=%d)'
                     ' | p50 %s ms, p99 %s ms |' % (
                         label.replace('_', ' '), lat['n'], fmt(lat['p50_ms']),
                         fmt(lat['p99_ms'])))
    tp = r['throughput']
    for label, ratio in tp['ratio'].items():
        why = (r.get('errors') or {}).get(label)
        lines.append('| GET /api/bindings @10, broker %s%s: req/s against MQTT '
                     'off | %s / %s = %s |' % (
                         label, ' (%s)' % why if why else '',
                         fmt(tp['rps'][label]), fmt(tp['rps']['off']),
                         fmt(ratio)))
    return lines


def summary(results):
    """The budgets, one line each."""
    rows = []
    tp = results.get('throughput')
    if isinstance(tp, dict) and 'cases' in tp:
        for conns in (1, 10):
            row = tp['cases'].get('GET /api/bindings @%d' % conns)
            if row:
                cpu = row.get('cpu_ratio') or 0
                rows.append(('`GET /api/bindings` ≥ %.2f× bare Microdot (%d conn)'
                             % (BUDGET_BINDINGS_RATIO, conns),
                             '%.2f× req/s, %.2f× req/CPU-s' % (row['ratio'], cpu),
                             row['ratio'] >= BUDGET_BINDINGS_RATIO
                             and cpu >= BUDGET_BINDINGS_RATIO))
    m = results.get('memory')
    if isinstance(m, dict) and 'per_binding' in m:
        mh = m.get('min_heap') or {}
        floor = heap_floor(m)
        rows.append(('boots and serves in %d KB' % BUDGET_HEAP_KB,
                     'needs %s KB%s' % (mh.get('min_kb'), ' (bare Microdot on '
                                        'the same VM: %d KB; pinwheel\'s own '
                                        'share: %d KB)' % floor if floor else ''),
                     mh.get('min_kb') is not None
                     and mh['min_kb'] <= BUDGET_HEAP_KB))
        worst = max(r['binding'] for r in m['per_binding'].values())
        rows.append(('≤ 1 KB per binding', 'worst kind %d B' % worst,
                     worst <= BUDGET_PER_BINDING))
        rows.append(('no heap growth over 2,000 create/delete cycles',
                     '%+d B' % m['churn']['growth'], m['churn']['growth'] <= 0))
    i = results.get('isr')
    if isinstance(i, dict) and 'bare' in i:
        kinds = [k for k in i if isinstance(i[k], dict) and k != 'bare']
        worst = max(i[k]['bytes_per_call'] for k in kinds)
        locked = all(i[k]['heap_lock_error'] is None for k in kinds)
        rows.append(('ISR allocates 0 bytes (every kind)',
                     '%g B/call, heap_lock %s' % (worst, 'ok' if locked
                                                  else 'FAILED'),
                     worst == 0 and locked))
    lat = results.get('lateness')
    if isinstance(lat, dict) and 'rates' in lat and '100 Hz' in lat['rates']:
        p99 = lat['rates']['100 Hz']['pinwheel_load']['p99_us']
        rows.append(('timer p99 lateness < 2 ms at 100 Hz under load',
                     '%s us' % lat_us(p99), p99 is not None and p99 < BUDGET_P99_US))
    d = results.get('dashboard')
    if isinstance(d, dict) and 'gz_bytes' in d:
        rows.append(('dashboard assets ≤ 12 KB gzipped', '%d B' % d['gz_bytes'],
                     0 < d['gz_bytes'] <= BUDGET_STATIC_GZ))
    lines = ['| budget | measured | met |', '|---|---:|---|']
    lines += ['| %s | %s | %s |' % (a, b, ok(c)) for a, b, c in rows]
    return lines


def markdown(results):
    meta = results['meta']
    lines = ['`make bench` measures each figure next to its baseline in the '
             'same run (interleaved, repeated, medians) and writes '
             'bench/results.json, bench/results.md, this section and the '
             'chart. This run: %s, MicroPython %s unix port, %s, %s CPUs '
             '(shared with other jobs; load average %.1f at the start), %s s '
             '(bench/load.py, the 60 s load test, runs after it)%s.' % (
                 meta['date'], meta['micropython'], meta['host'], meta['cpus'],
                 meta['load_avg'], meta.get('total_s'),
                 ' (**--quick run: noisy**)' if meta.get('quick') else ''),
             '']
    lines += summary(results)
    for name, fn in (('throughput', md_throughput), ('profile', md_profile),
                     ('memory', md_memory),
                     ('isr', md_isr), ('lateness', md_lateness),
                     ('dashboard', md_dashboard), ('deploy', md_deploy),
                     ('mqtt', md_mqtt)):
        lines.append('')
        err = failed(results, name)
        if err:
            lines += ['### %s' % name, '', 'Not measured: %s' % err]
            continue
        lines += fn(results[name])
    notes = explain(results)
    if notes:
        lines += ['', '### Where budgets are missed, and why', ''] + [
            '- ' + n for n in notes]
    return '\n'.join(lines) + '\n'


def _profile_us(results, label_start):
    p = results.get('profile')
    if not isinstance(p, dict) or 'us_per_request' not in p:
        return None
    for label, path, us in p['us_per_request']:
        if label.startswith(label_start):
            return us
    return None


def explain(results):
    """One note per missed budget, with the figures that locate the cost."""
    notes = []
    tp = results.get('throughput')
    if isinstance(tp, dict) and 'cases' in tp:
        rows = [tp['cases'].get('GET /api/bindings @%d' % c) for c in (1, 10)]
        worst = min(min(r['ratio'], r.get('cpu_ratio') or r['ratio'])
                    for r in rows if r)
        if worst < BUDGET_BINDINGS_RATIO:
            bare = _profile_us(results, 'bare Microdot, small')
            doc = _profile_us(results, 'bare Microdot, pinwheel')
            empty = _profile_us(results, 'pinwheel, GET /api/bindings, no')
            full = _profile_us(results, 'pinwheel, GET /api/bindings (4')
            rps = rows[0]['bare'].get('per_cpu_s') if rows[0] else None
            known = None not in (bare, doc, empty, full)
            notes.append(
                '`GET /api/bindings` is %.2f× to %.2f× bare Microdot (budget '
                '%.2f×). The bare app costs ~%s us of CPU per request end to '
                'end, most of it Microdot and asyncio on the socket (strace: '
                'every byte of the request head is its own read() call, and '
                'every response header line its own write and trip through the'
                ' event loop). Inside the VM (profile table) the bare request is %s '
                'us and pinwheel\'s %s us: %s us for the connection cap, the '
                'read deadline, the auth hook and routing (no bindings: %s us),'
                ' %s us to build four binding dicts, and %s us because the '
                'answer is ~1 KB of JSON instead of 20 bytes (the bare app '
                'sending the same document as a static dict: %s us). Fixed in '
                'this round: a per-request `asyncio.wait_for` (a task per '
                'request, ~50 us) became one watchdog task; /api/status no '
                'longer walks the 2 MB heap twice per request (~0.7 ms; now '
                'once a second).'
                % (min(r['ratio'] for r in rows if r),
                   max(r['ratio'] for r in rows if r), BUDGET_BINDINGS_RATIO,
                   '%.0f' % (1e6 / rps) if rps else '?', fmt(bare), fmt(full),
                   fmt(empty - bare) if known else '?', fmt(empty),
                   fmt(full - empty - (doc - bare)) if known else '?',
                   fmt(doc - bare) if known else '?', fmt(doc)))
    m = results.get('memory')
    if isinstance(m, dict) and 'imports' in m:
        mh = m.get('min_heap') or {}
        if mh.get('min_kb') is None or mh['min_kb'] > BUDGET_HEAP_KB:
            imports = dict(m['imports'])
            ours = sum(n for name, n in m['imports'] if name.startswith('app'))
            rom = m.get('romfs') or {}
            serving = (m.get('serving') or {}).get('pinwheel')
            split, floor = heap_split(m), heap_floor(m)
            if split and floor:
                before = ('the VM, asyncio and Microdot hold %s before any '
                          'pinwheel code, and a bare Microdot app needs a %d KB'
                          ' heap on the same VM, so pinwheel\'s own share is '
                          '%d KB:' % (kb(split[0]), floor[0], floor[1]))
            else:
                before = ('Microdot %s and asyncio %s before any pinwheel '
                          'code,' % (kb(imports.get('microdot')),
                                     kb(imports.get('asyncio'))))
            notes.append(
                'The 96 KB heap is not met on the 64-bit unix port: the app '
                'needs %s KB. Code loaded from .mpy files lives in the heap: '
                '%s pinwheel\'s'
                ' modules %s (largest: %s), plus %s of objects built at boot. '
                'The live heap while serving is %s; the rest of the minimum is '
                'headroom for requests and fragmentation (MicroPython\'s GC '
                'never moves objects, so one block of a KB or two can be '
                'missing with more than that free in pieces; %s). Every object '
                'and pointer is '
                'twice the size of a 32-bit board\'s. With app/ and lib/ in a '
                'ROMFS partition (bytecode runs in place; MicroPython >= 1.25 '
                'boards) the boot heap would be %s instead of %s.'
                % (mh.get('min_kb'), before, kb(ours), ', '.join(
                       '`%s` %s' % (n, kb(b)) for n, b in sorted(
                           ((n, b) for n, b in m['imports']
                            if n.startswith('app')), key=lambda x: -x[1])[:3]),
                   kb(m['boot'] - m['base'] - sum(imports.values())),
                   kb(serving), 'at %s KB: %s' % tuple(mh['below'])
                   if mh.get('below') else 'see the probes in results.json',
                   kb(rom['boot_without_image'] - rom['base'])
                   if 'boot_without_image' in rom else '?',
                   kb(m['boot'] - m['base'])))
            if floor:
                notes.append(
                    'What it would take: the bare app\'s %d KB leaves %d KB '
                    'of a 96 KB heap for pinwheel, headroom included, and '
                    'pinwheel\'s modules that stay loaded already hold %s '
                    '(`app.sim`, the simulated board a real board never loads, '
                    '%s of it). Code only a change or a rare request runs is '
                    'loaded per call and dropped (app.call), and the VM\'s '
                    'name table is kept below its next doubling (%d of %d '
                    'names, else one more %s block); going further means '
                    'dropping features the API, the limits or the simulated '
                    'board need.' % (
                        floor[0], BUDGET_HEAP_KB - floor[0], kb(ours),
                        kb(imports.get('app.sim')),
                        (m.get('names') or {}).get('count', 0), NAMES_LIMIT,
                        kb(NAMES_BLOCK)))
    lat = results.get('lateness')
    if isinstance(lat, dict) and '100 Hz' in lat.get('rates', {}):
        row = lat['rates']['100 Hz']
        p99 = row['pinwheel_load']['p99_us']
        if p99 is None or p99 >= BUDGET_P99_US:
            notes.append(
                'Timer p99 at 100 Hz under load is %s us for pinwheel and %s us'
                ' for a bare simulated timer with a do-nothing callback in the '
                'bare Microdot app under the same load: the tail is the host, '
                'not pinwheel. The simulated timer is a thread that the Linux '
                'scheduler wakes, on 2 cores shared with wrk and other jobs '
                '(load average %.1f at the start); on a board the timer is a '
                'hardware interrupt.' % (
                    lat_us(p99), lat_us(row['bare_load']['p99_us']),
                    results['meta']['load_avg']))
    return notes


def chart(results, path=CHART):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 4.8))
    tp = results.get('throughput')
    if isinstance(tp, dict) and 'cases' in tp:
        names = list(tp['cases'])
        x = range(len(names))
        pw = [tp['cases'][n]['pinwheel']['rps'] for n in names]
        bare = [tp['cases'][n]['bare']['rps'] for n in names]
        doc = [(tp['cases'][n].get('bare_doc') or {}).get('rps') or 0
               for n in names]
        ax1.bar([i - 0.27 for i in x], bare, 0.27, label='bare Microdot',
                color='#bbbbbb')
        if any(doc):
            ax1.bar([i for i in x], doc, 0.27, color='#dddddd', hatch='//',
                    edgecolor='#999999',
                    label='bare Microdot, same ~1 KB document')
        ax1.bar([i + 0.27 for i in x], pw, 0.27, label='pinwheel',
                color='#2a7ab0')
        for i, n in enumerate(names):
            ax1.text(i + 0.27, pw[i], '%.2f×' % tp['cases'][n]['ratio'],
                     ha='center', va='bottom', fontsize=8)
        ax1.set_xticks(list(x))
        ax1.set_xticklabels([n.replace(' @', '\n@').replace(' /api', '\n/api')
                             for n in names], fontsize=7)
        ax1.set_ylabel('requests/s (median)')
        ax1.set_title('Throughput on the same VM (wrk, 1 and 10 connections)')
        ax1.legend(fontsize=8)
    lat = results.get('lateness')
    if isinstance(lat, dict) and 'rates' in lat:
        colors = {'10 Hz': '#1b9e77', '100 Hz': '#d95f02', '1000 Hz': '#7570b3'}
        for rate, row in lat['rates'].items():
            for key, style in (('pinwheel_load', '-'), ('pinwheel_idle', ':'),
                               ('bare_load', '--')):
                counts = row[key].get('counts')
                if not counts or not sum(counts):
                    continue
                # the share of fires at least x late (log scale: the tail)
                n, left, xs, ys = sum(counts), sum(counts), [], []
                for i, c in enumerate(counts):
                    xs.append(i * 50 / 1000)
                    ys.append(max(left / n, 1e-5))
                    left -= c
                ax2.step(xs, ys, style, where='post', color=colors.get(rate),
                         label='%s %s' % (rate, key.replace('_', ', ')))
        ax2.axvline(BUDGET_P99_US / 1000, color='red', lw=0.8)
        ax2.axhline(0.01, color='red', lw=0.5, ls=':')
        ax2.text(BUDGET_P99_US / 1000, 0.012, ' p99 budget (100 Hz, load)',
                 color='red', fontsize=7)
        ax2.set_yscale('log')
        ax2.set_ylim(1e-4, 1.2)
        ax2.set_xlim(0, 5)
        ax2.set_xlabel('timer lateness, ms (50 us buckets; the last holds '
                       'everything ≥ 4.95 ms)')
        ax2.set_ylabel('share of fires at least this late')
        ax2.set_title('Simulated timer lateness: pinwheel vs a bare timer')
        ax2.legend(fontsize=6, loc='upper right')
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def paste_readme(md, readme=ROOT / 'README.md'):
    """Put the tables right after the benchmarks placeholder, replacing what
    an earlier run put there (between our markers); nothing else changes."""
    text = readme.read_text()
    block = '%s\n## Benchmarks\n\n![benchmarks](docs/bench.png)\n\n%s%s\n' % (
        BEGIN, md, END)
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + '.*?' + re.escape(END) + '\n?',
                      lambda _: block, text, flags=re.S)
    elif PLACEHOLDER in text:
        text = text.replace(PLACEHOLDER, PLACEHOLDER + '\n' + block, 1)
    else:
        print('README.md has no %s placeholder; not pasted' % PLACEHOLDER)
        return
    readme.write_text(text)


def write_all(results, readme=True):
    (BENCH / 'results.json').write_text(json.dumps(results, indent=1) + '\n')
    md = markdown(results)
    (BENCH / 'results.md').write_text('# pinwheel benchmarks\n\n' + md)
    chart(results)
    if readme:
        paste_readme(md)
    print(md)


if __name__ == '__main__':
    write_all(json.loads((BENCH / 'results.json').read_text()),
              readme='--no-readme' not in sys.argv)
