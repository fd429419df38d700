"""Turn bench results into bench/results.json, bench/results.md (the report),
docs/bench.png and the "Which boards it fits" section of docs/boards.md.
``python bench/report.py`` redraws them from the last results.json without
measuring again."""
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / 'bench'
CHART = ROOT / 'docs' / 'bench.png'
BOARDS_MD = ROOT / 'docs' / 'boards.md'
FITS_BEGIN = '<!-- fits:begin (written by bench/report.py from bench/results.json) -->'
FITS_END = '<!-- fits:end -->'

BUDGET_BINDINGS_RATIO = 0.85
BUDGET_HEAP_KB = 100  # smallest heap that serves, default config, 32-bit
BUDGET_BOOT_KB = 70  # heap after boot, default config, 32-bit
BUDGET_EVERYTHING_KB = 150  # smallest heap, everything on, 32-bit
BUDGET_PER_BINDING = 1024
BUDGET_PER_BINDING_TIMED = 512  # blink, pulse, pattern, sample
TO_32BIT = 0.68  # 64-bit heap -> 32-bit, measured on this app (issue 18)
BUDGET_P99_US = 2000
BUDGET_STATIC_GZ = 16 * 1024  # 12 KB, then 14 KB: see tests/test_dashboard.py
BUDGET_ISR_RATIO = 3.0  # a kind's interrupt vs a hand-written toggle
BUDGET_ISR_PATTERN = 4.0  # a pattern's (issue #19)
BUDGET_RATE_ERROR = 0.01
KB = 1024

# Before app.call/intern/forget were retired (every module now stays
# loaded after boot): the 64-bit figures are the previous bench run's
# (`git show 31619ee:bench/results.json`); the 32-bit ones come from the
# outside check in issue #10 (a 32-bit build of the 1.28 unix port,
# MICROPY_FORCE_32BIT=1) and, for a board, from real RPI_PICO firmware in
# the same issue.
# Before the "pay as you go" work (issue 18's outside check, a 32-bit build
# of the MicroPython 1.28 unix port, MICROPY_FORCE_32BIT=1, on main at
# 14375fd): heap after boot() + create_app(); smallest heap that serves the
# bench sequence; with 8 running blinks; everything on.
BEFORE_18 = {'boot_kb': 129.4, 'min_heap_kb': 152, 'eight_blinks_kb': 160,
             'everything_kb': 232, 'bare_kb': 32}
BEFORE = {
    'vm64': {'boot': 92352, 'serving': 102368, 'min_heap_kb': 116,
             'bare_kb': 56, 'source': 'previous bench run (31619ee)'},
    'vm32': {'boot_kb': (67, 72), 'min_heap_kb': (80, 88), 'bare_kb': 36,
             'pico_boot_kb': 61.9,
             'source': 'issue #10, outside check: 32-bit unix port 1.28 '
                       '(MICROPY_FORCE_32BIT=1); RPI_PICO firmware 1.28'},
}

# Each target's free heap at the MicroPython prompt as published, in
# bytes: (target, profile, bytes or None, what was measured, source).
# ESP32-family heaps grow on demand from the IDF since 1.21
# (MICROPY_GC_SPLIT_HEAP_AUTO): their figure is the heap's free space plus
# the largest area it can still add ("max new split"), what gc.mem_free()
# reports there (micropython PR #12366).
BOARDS = [
    ('ESP32', 'esp32', 134544,
     'gc.mem_free() at boot, Generic ESP32 module, v1.27.0',
     'https://github.com/micropython/micropython/issues/18859'),
    ('ESP32-S3', 'esp32_s3', 62432 + 188352,
     'mem_info(): free 62,432 + max new split 188,352, esp32 port with '
     'split heap (PR tested on GENERIC_S3 and GENERIC_SPIRAM; the example '
     'does not say which)',
     'https://github.com/micropython/micropython/pull/12141'),
    ('ESP32-C3', 'esp32_c3', 52608 + 139264,
     'mem_info(): free 52,608 + max new split 139,264, LOLIN_C3_MINI, '
     'v1.22.2', 'https://github.com/micropython/micropython/issues/14293'),
    ('Pico', 'pico', 245888,
     'measured: gc.mem_free() + gc.mem_alloc() at a fresh REPL, official RPI_PICO '
     'v1.28.0 (booted in an RP2040 emulator; the ELF\'s GC heap agrees); '
     'no Wi-Fi: it runs headless', None),
    ('Pico W', 'pico_w', 205184,
     'the same, official RPI_PICO_W v1.28.0 (lwIP and the CYW43 driver '
     'take 40.7 KB of RAM)', None),
    ('Pico 2 W', 'pico2_w', 456832,
     'the GC heap of official RPI_PICO2_W v1.28.0, read from its ELF',
     None),
    ('ESP8266', 'esp8266', 30192,
     'mem_info() after a soft reboot: GC total 37,952, free 30,192, v1.12',
     'https://github.com/micropython/micropython/issues/5949'),
]


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
              'Microdot, but pinwheel\'s server (app/http/server.py) reads a '
              'request head in 512-byte chunks (Microdot\'s `readline` on a '
              'socket is one read() system call per byte) and sends the '
              'response head, and a bytes body with it, in one write '
              '(Microdot writes the status line and each header on its own, '
              'each a system call and a trip through the event loop). The '
              'bare app is stock Microdot.']
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


def _kb1(v):
    return '—' if v is None else '%.0f' % v


def kbr(lo_hi):
    return '%d–%d KB' % lo_hi


def heap32(m):
    """The 32-bit heap figures (KB) the budgets are about: measured on a
    32-bit build of the unix port when the bench ran one (MICROPYTHON32),
    else the 64-bit port's times TO_32BIT (marked projected). ``board_*``
    leave out the simulator's modules, which the unix port loads as its
    ``machine`` and a board never has."""
    u = m.get('unix32') or {}
    v64 = m.get('vm64') or {}
    if u.get('memory') and 'boot' in u['memory']:
        mem, scale, how = u['memory'], 1.0, 'measured'
        mh, me = u.get('min_heap') or {}, u.get('min_heap_everything') or {}
        boots = u.get('boot_heap') or {}
        ms = u.get('min_heap_saved') or {}
    elif 'boot' in v64:
        mem, scale, how = v64, TO_32BIT, 'projected'
        mh, me = m.get('min_heap') or {}, m.get('min_heap_everything') or {}
        boots = m.get('boot_heap') or {}
        ms = m.get('min_heap_saved') or {}
    else:
        return None
    sim = mem.get('sim', 0) * scale / KB
    # a board notes its Wi-Fi join at boot, which makes the event log's
    # ring: the smallest heaps' probes note it too (bench/mp/board_boot.py),
    # so it is in both columns; its size is said
    ring = boots.get('ring', 0) * scale / KB
    # and with everything on, syncs its clock by NTP, which the simulated
    # board's clock does not (bench/mp/memory.py's ``ntp``)
    ntp = mem.get('ntp', 0) * scale / KB
    # after boot: a board's usual boot (the config it saved) when measured,
    # else memory.py's boot (every module of a checking boot imported)
    out = {'how': how, 'sim_kb': sim, 'ring_kb': ring, 'ntp_kb': ntp,
           'boot_kb': boots.get('saved', mem['boot']) * scale / KB,
           'first_boot_kb': boots.get('first', mem['boot']) * scale / KB,
           'version': u.get('version')}
    for key, r in (('min_kb', mh), ('everything_kb', me),
                   ('saved_min_kb', ms)):
        out[key] = r.get('min_kb') and r['min_kb'] * scale
    for key in ('boot_kb', 'first_boot_kb'):
        out['board_' + key] = out[key] - sim
    for key in ('min_kb', 'everything_kb', 'saved_min_kb'):
        out['board_' + key] = out[key] and out[key] - sim + (
            ntp if key == 'everything_kb' else 0)
    feats = (u if how == 'measured' else m).get('min_heap_features') or {}
    out['features'] = {name: r['min_kb'] * scale - sim + (
        ntp if name == 'schedules' else 0)
        for name, r in feats.items() if r.get('min_kb')}
    out['per_binding'] = {k: round(r['binding'] * scale) for k, r in
                          (mem.get('per_binding') or {}).items()}
    return out


def projected_min_kb(m):
    """The 32-bit VM's smallest heap, projected (it cannot be measured
    there: the WebAssembly port collects garbage only between calls from
    JavaScript, so it never runs short inside one): the 64-bit port's
    smallest heap scaled by the two ports' live heap after serving."""
    v32, v64 = m.get('vm32') or {}, m.get('vm64') or {}
    mh = (m.get('min_heap') or {}).get('min_kb')
    if not mh or 'served' not in v32 or 'served' not in v64:
        return None
    return round(mh * v32['served'] / v64['served'])


def md_heap32(m):
    """Issue 18's figures: a board's heap on 32-bit, before and after."""
    h = heap32(m)
    if not h:
        return []
    b = BEFORE_18
    src = ('measured on a 32-bit build of the unix port (%s; MicroPython '
           '%s, MICROPY_FORCE_32BIT=1, built locally from the stock source: '
           'not part of the repo)' % ('MICROPYTHON32', h['version'])
           if h['how'] == 'measured' else
           'projected: the 64-bit port\'s figures times %.2f (no 32-bit '
           'unix build was at hand: set MICROPYTHON32)' % TO_32BIT)
    lines = ['### Memory on a 32-bit board', '',
             'Figures %s. The unix port loads the simulated board as its '
             '`machine` (`app.sim` and its routes, %.1f KB); a board never '
             'has it, so the board column leaves it out. A board notes its '
             'Wi-Fi join at boot, which makes the event log\'s ring (%.1f '
             'KB); every run here notes the same line at the same point '
             '(bench/mp/board_boot.py, bench/mp/boot_heap.py), so the ring '
             'is in both columns. With everything on a board also syncs its '
             'clock by NTP, which the simulated clock does not: the board '
             'column adds `app.time.ntp` (%.1f KB) there. "Before" is the '
             'outside check of issue 18 (main at 14375fd, the same 32-bit '
             'build). Smallest heap: `-X heapsize` bisection on a 4 KB grid, '
             'each size passing 3 times in a row; "everything on" is 8 '
             'bindings of 8 kinds with 2 rules, 16 schedule events, a time '
             'zone and a place, MQTT with Home Assistant discovery connected '
             'to a broker, and one event stream open (bench/run.py, '
             '`EVERYTHING_*`).'
             % (src, h['sim_kb'], h['ring_kb'], h['ntp_kb']), '',
             '| figure | a board | unix port | before | budget |',
             '|---|---:|---:|---:|---:|']
    for label, key, before, budget in (
            ('heap after boot (boot() + build_app(), default config, as the '
             'board saved it: every boot but the first after a deploy or a '
             'hand edit)', 'boot_kb', b['boot_kb'], BUDGET_BOOT_KB),
            ('heap after the first boot of a deployed or hand-edited config '
             '(checked in full)', 'first_boot_kb', b['boot_kb'], None),
            ('smallest heap that serves, default config (its first boot '
             'after a deploy: config.json checked in full)', 'min_kb',
             b['min_heap_kb'], BUDGET_HEAP_KB),
            ('smallest heap that serves, default config as the board saved '
             'it (every later boot)', 'saved_min_kb', b['min_heap_kb'],
             BUDGET_HEAP_KB),
            ('smallest heap that serves, everything on', 'everything_kb',
             b['everything_kb'], BUDGET_EVERYTHING_KB)):
        lines.append('| %s | %s KB | %s KB | %s KB | %s |' % (
            label, _kb1(h['board_' + key]), _kb1(h[key]), before,
            'none' if budget is None else '≤ %d KB: %s' % (budget, ok(
                h['board_' + key] is not None
                and h['board_' + key] <= budget))))
    for kind, n in sorted(h['per_binding'].items()):
        budget = (BUDGET_PER_BINDING_TIMED if kind in
                  ('blink', 'pulse', 'pattern', 'sample') else
                  BUDGET_PER_BINDING)
        lines.append('| heap per `%s` binding | %d B | | | ≤ %d B: %s |' % (
            kind, n, budget, ok(n <= budget)))
    rate = ((m.get('unix32') or {}).get('tight_rate')
            if h['how'] == 'measured' else None)
    if rate:
        lines += ['', 'On a tight heap the board collects garbage more often '
                  '(once a quarter of the heap free after boot has been '
                  'allocated, and before each write: docs/internals.md, '
                  'Memory): in a heap of %d KB (8 KB over the smallest that '
                  'serves, unix port) `GET /api/bindings` is answered %d '
                  'times a second over one connection, against %d in the '
                  'VM\'s default heap (the best of 3 runs each).' % (
                      rate['heap_kb'], rate['tight_rps'], rate['large_rps'])]
    return lines + ['']


def md_memory(m):
    v32, v64 = m.get('vm32') or {}, m.get('vm64') or {}
    mh = m.get('min_heap') or {}
    mb = m.get('min_heap_bare') or {}
    b32, b64 = BEFORE['vm32'], BEFORE['vm64']
    proj = projected_min_kb(m)
    lines = md_heap32(m) + ['### Memory: both VMs', '',
             'Both VMs run bench/mp/memory.py on the image\'s compiled .mpy '
             'files, as a board imports them: the 32-bit VM (MicroPython\'s '
             'WebAssembly port; it cannot give a smallest heap) and the 64-bit '
             'unix port (objects and pointers twice the size). "Before" is the '
             'code that loaded rarely used modules on demand and dropped them '
             'again (retired before issue 18); now a module is imported when '
             'the config or a request first needs it and kept (docs/internals.md'
             ', Memory), and only the boot code is dropped.', '',
             '| figure | 32-bit | 64-bit | 32-bit before | 64-bit before |',
             '|---|---:|---:|---:|---:|']
    if 'error' in v32:
        lines.append('| 32-bit VM | not measured: %s | | | |'
                     % v32['error'][-200:])
    lines.append('| heap after boot (boot() + create_app(), default config)'
                 ' | %s | %s | %s (Pico firmware: %s KB) | %s |' % (
                     kb(v32.get('boot')), kb(v64.get('boot')),
                     kbr(b32['boot_kb']), b32['pico_boot_kb'],
                     kb(b64['boot'])))
    lines.append('| heap after serving a few requests (in-memory streams) '
                 '| %s | %s | | |' % (kb(v32.get('served')),
                                      kb(v64.get('served'))))
    lines.append('| of which pinwheel\'s objects (boot + create_app; the '
                 'boot code it loads and drops not counted) | %s | '
                 '%s | | |' % (kb(v32.get('boot_objects')),
                               kb(v64.get('boot_objects'))))
    lines.append('| smallest heap that boots, serves %s and passes create/'
                 'reconfigure/delete | %s | %s KB (bare Microdot: %s KB) | '
                 '%s (bare Microdot: %d KB) | %d KB (bare: %d KB) |' % (
                     '`/`' if m.get('dashboard_in_sequence') else 'the API',
                     '~%d KB, projected' % proj if proj else '—',
                     mh.get('min_kb', '—'), mb.get('min_kb', '—'),
                     kbr(b32['min_heap_kb']), b32['bare_kb'],
                     b64['min_heap_kb'], b64['bare_kb']))
    me = m.get('min_heap_everything') or {}
    if me.get('min_kb'):  # 32-bit: the board table above
        lines.append('| smallest heap that serves everything on (as above) | '
                     'see "Memory on a 32-bit board" | %d KB | | |'
                     % me['min_kb'])
    lines.append('| live heap while serving over sockets (`GET /api/status?'
                 'gc=1`) | | %s (bare Microdot: %s) | | %s |' % (
                     kb((m.get('serving') or {}).get('pinwheel')),
                     kb((m.get('serving') or {}).get('bare')),
                     kb(b64['serving'])))
    for kind in (v64.get('per_binding') or {}):
        r32 = (v32.get('per_binding') or {}).get(kind, {})
        r64 = v64['per_binding'][kind]
        lines.append('| heap per `%s` binding (first time, with its timer '
                     'object) | %s B (%s B) | %s B (%s B) | | |' % (
                         kind, r32.get('binding', '—'),
                         r32.get('with_timer', '—'), r64['binding'],
                         r64['with_timer']))
    for label, key in (('heap growth over 2,000 create/delete cycles',
                        'churn'),):
        lines.append('| %s | %+d B | %+d B | | |' % (
            label, (v32.get(key) or {}).get('growth', 0),
            (v64.get(key) or {}).get('growth', 0)))
    lines += ['', 'Smallest heap: the 64-bit figure is measured (-X heapsize,'
              ' bisection on a %s KB grid, then %s passes in a row; at %s KB:'
              ' %s). The WebAssembly port cannot give one: its gc.collect() '
              'only asks for a collection, which runs when the call from '
              'JavaScript returns, and its heap grows instead of running out '
              '(ports/webassembly/main.c, MICROPY_GC_SPLIT_HEAP_AUTO). The '
              '32-bit figure is the 64-bit one scaled by the two VMs\' heap '
              'after serving (%s / %s); measure it on a board.' % (
                  mh.get('step_kb'), mh.get('confirm'),
                  (mh.get('below') or ['?', '?'])[0],
                  (mh.get('below') or ['?', '?'])[1],
                  kb(v32.get('served')), kb(v64.get('served')))]
    imports32 = dict((v32.get('imports') or []))
    lines += ['', '<details><summary>Heap per module (bytes each import adds,'
              ' in this order; dependencies count where first imported)'
              '</summary>', '', '| module | 32-bit | 64-bit |',
              '|---|---:|---:|']
    for name, n in v64.get('imports') or []:
        lines.append('| `%s` | %s | %d |' % (name, imports32.get(name, '—'),
                                             n))
    lines.append('| `boot()` + `create_app()` (objects) | %s | %s |' % (
        v32.get('boot_objects', '—'), v64.get('boot_objects', '—')))
    lines.append('| the boot code it drops (imported above) | -%s | -%s |' % (
        v32.get('boot_dropped', '—'), v64.get('boot_dropped', '—')))
    lines.append('| the VM and the bench script | %s | %s |' % (
        v32.get('vm', '—'), v64.get('vm', '—')))
    lines += ['', '`app.sim` is the simulated board: a board never loads it.'
              ' `app.board.profiles`, `app.startup` and `app.board.net` run at boot and '
              'are dropped after it (not in this table).', '', '</details>']
    return lines


# (key in bench/mp/isr.py's results, label, budget × toggle or None)
ISR_ROWS = (
    ('blink', '`blink`', BUDGET_ISR_RATIO),
    ('pulse', '`pulse` (its end reported)', BUDGET_ISR_RATIO),
    ('sample', '`sample` (no edge)', BUDGET_ISR_RATIO),
    ('pattern', '`pattern` [1000, 2000, 3000] ms, per interrupt (ticks of '
     '1 s: 3 count down, 3 end a step)', BUDGET_ISR_PATTERN),
    ('pattern_steps', '`pattern` [1000, 1000] ms: every tick ends a step, '
     'every other one a round', None),
    ('pattern_per_step', '`pattern` [1000, 99000] ms: a timer armed per step '
     '(Timer.init a C stand-in)', None),
    ('pwm', '`pwm` fade step, linear', BUDGET_ISR_RATIO),
    ('pwm_gamma', '`pwm` fade step, gamma', BUDGET_ISR_RATIO),
    ('breathe', '`breathe` step', BUDGET_ISR_RATIO),
    ('edge', '`edge`/`counter`, an edge, no debounce', BUDGET_ISR_RATIO),
    ('edge_debounced', '`edge`, an edge past its 20 ms debounce',
     BUDGET_ISR_RATIO),
    ('edge_bounce', '`edge`, no level change', BUDGET_ISR_RATIO),
)
ISR_VMS = ('vm64', 'unix32', 'vm32')
# what an interrupt does beyond the toggle's read, flip, write and call
ISR_WORK = {
    'blink': 'the on-time check (a clock read, a compare, the next due '
             'time) and the fire count',
    'pulse': 'the on-time check, the fire count, running false, the '
             'deferral test',
    'sample': 'the on-time check, the fire count, a pin read, a compare '
              'with the last level',
    'pattern': 'on the ticks that end a step, the on-time check, the next '
               'step (its index, its ticks, its due time) and a round\'s '
               'count; the others only count down',
    'pwm': 'the position from the clock, the fade\'s end test, a table '
           'lookup',
    'pwm_gamma': 'the position from the clock, the fade\'s end test, a '
                 'table lookup',
    'breathe': 'the position within the breath from the clock (up or down), '
               'a table lookup',
    'edge': 'the fire count, a compare with the last level, the rules and '
            'deferral tests',
    'edge_debounced': 'as an edge without debounce, and a ticks_us read, '
                      'its compare with the last accepted edge, its store',
    'edge_bounce': 'the fire count and the bounce count',
}


def isr_ratio(run, key):
    """A kind's interrupt over the toggle in one run of bench/mp/isr.py."""
    row, bare = (run or {}).get(key) or {}, ((run or {}).get('bare') or {}
                                           ).get('ns')
    ns = row.get('ns_irq_only', row.get('ns'))
    return ns / bare if ns and bare else None


def isr_vms(r):
    """[(name, label, now, before)] of the VMs measured."""
    out = []
    for name in ISR_VMS:
        vm = (r.get('vms') or {}).get(name)
        if vm:
            out.append((name, vm.get('label', name), vm.get('now') or {},
                        vm.get('before') or {}))
    return out


def isr_misses(r):
    """{vm name: [(key, ratio, budget)]} of the budgets missed now."""
    out = {}
    for name, _, now, _ in isr_vms(r):
        for key, _, budget in ISR_ROWS:
            ratio = isr_ratio(now, key)
            if budget and ratio is not None and ratio > budget:
                out.setdefault(name, []).append((key, ratio, budget))
    return out


def md_isr(r):
    vms = isr_vms(r)
    ops_now = (r.get('ops') or {}).get('now') or {}
    ops_before = (r.get('ops') or {}).get('before') or {}
    run0 = vms[0][2] if vms else {}
    lines = ['### Interrupt cost, on every VM', '',
             'Each kind\'s ISR called directly (%s calls a run on the 64-bit '
             'VM, enough for 100 clock steps where the clock is coarser; the '
             'fastest of %s runs, round robin with a hand-written toggle, no '
             'garbage collection during a run) on the same VM, timed with '
             'the VM\'s own `time.ticks_us`, as on a '
             'board: what a board does in C is C here too (pin I/O, PWM, the '
             'clock, `Timer.init`: see bench/mp/isr.py), so the figures weigh '
             'the interpreter\'s own work, as the outside check on an RP2040 '
             'did (issue #19: blink 7.1×, pattern 20.5× before). Each cell: '
             '× the toggle now (before, the code at %s, measured the same '
             'way). Per fire (bench/isr_ops.py, from the VM\'s bytecode): '
             'bytecodes / map lookups (attributes, globals) / calls; the '
             'toggle: %s.' % (
                 run0.get('n'), run0.get('reps'), r.get('before_rev'),
                 ops_cell(ops_now.get('bare'))), '']
    for name, label, now, before in vms:
        lines.append('- **%s**: the toggle %s ns (before: %s ns)%s' % (
            label, fmt((now.get('bare') or {}).get('ns')),
            fmt((before.get('bare') or {}).get('ns')),
            '; not measured: ' + now['error'][-200:] if 'error' in now
            else ''))
    head = '| ISR | budget | per fire now | before |' + ''.join(
        ' %s |' % {'vm64': '64-bit unix', 'unix32': '32-bit unix',
                   'vm32': 'WebAssembly (32-bit)'}[n] for n, _, _, _ in vms)
    lines += ['', head, '|---|---|---|---|' + '---:|' * len(vms)]
    for key, label, budget in ISR_ROWS:
        cells = []
        for _, _, now, before in vms:
            a, b = isr_ratio(now, key), isr_ratio(before, key)
            cell = '—' if a is None else '%.1f×' % a
            if a is not None and budget and a > budget:
                cell = '**%s**' % cell
            cells.append('%s (%s)' % (cell, '—' if b is None else '%.1f×' % b))
        lines.append('| %s | %s | %s | %s |%s' % (
            label, '≤ %.0f×' % budget if budget else '—',
            ops_cell(ops_now.get(key)), ops_cell(ops_before.get(key)),
            ''.join(' %s |' % c for c in cells)))
    late = ops_now.get('blink_late')
    lines += ['', 'A late fire (the first of a catch-up burst) adds '
              '`Handler._off_time` to a blink\'s interrupt: %s in all. '
              'Allocation: %s; every ISR runs %s calls under `heap_lock`: %s.'
              % (ops_cell(late), ', '.join(sorted({
                  '%g B/call' % (row.get('bytes_per_call') or 0)
                  for _, _, now, _ in vms for key, _, _ in ISR_ROWS
                  for row in [now.get(key) or {}]})) or '—',
                 run0.get('n'), 'all ran' if all(
                     (now.get(key) or {}).get('heap_lock_error') is None
                     for _, _, now, _ in vms for key, _, _ in ISR_ROWS)
                 else 'some raised')]
    q1 = (run0.get('queue_1_due') or {}).get('ns')
    q9 = (run0.get('queue_9_due') or {}).get('ns')
    init = (run0.get('timer_init') or {}).get('ns')
    lines += ['', 'The shared timer queue (app/board/timerqueue.py, esp32 '
              'family) with 9 blink slots: %s ns an interrupt with 1 due, %s '
              'with all 9 (%s ns a blink fired), 64-bit. The simulated '
              'board\'s Python `Timer.init` costs %s ns (a board\'s is C: '
              '28.8 µs on the RP2040, issue #19, which is why a pattern counts '
              'ticks of a periodic timer).' % (
                  fmt(q1), fmt(q9), fmt(q9 // 9 if q9 else None), fmt(init))]
    return lines


def ops_cell(ops):
    if not ops or 'error' in ops:
        return '—'
    return '%g / %g / %g' % (ops['bytecodes'], ops['lookups'], ops['calls'])


def md_rates(r):
    lines = ['### Rates with a shared timer (12 blinks, esp32 profile)', '',
             'Three blinks on timers of their own and nine on the shared '
             'queue (app/board/timerqueue.py) on the simulated board, over %s s: '
             'fires counted against each period (budget: within %d %%).'
             % (r['window_s'], BUDGET_RATE_ERROR * 100), '',
             '| binding | period | fires | expected | error | missed |',
             '|---|---:|---:|---:|---:|---:|']
    for b in r['bindings']:
        lines.append('| %s | %d ms | %d | %.1f | %+.2f %% | %d |' % (
            b['id'], b['period_ms'], b['fires'], b['expected'],
            b['error'] * 100, b['missed']))
    lines += ['', 'Worst: %.2f %% (%s).' % (
        r['worst_error'] * 100, ok(r['worst_error'] <= BUDGET_RATE_ERROR))]
    return lines


def md_board_load(r, profile):
    per = _profile(profile, 'pinwheel, GET /api/bindings, 8 running')
    cached = BEFORE_LISTING_US
    a, b = r.get('stream only') or {}, r.get('stream + polls') or {}
    lat = sorted(b.get('latency_ms') or [])
    lines = ['### GET /api/bindings under a board-realistic load', '',
             'A phone polling `GET /api/bindings` every %s s and one event '
             'stream open while 8 blinks run (100 ms each), %s s per phase.'
             % (r['poll_every_s'], r['window_s']), '',
             '| figure | value |', '|---|---:|',
             '| VM CPU, event stream and timers only | %.1f %% |' % (
                 a.get('cpu_share', 0) * 100),
             '| VM CPU, with the polls | %.1f %% |' % (
                 b.get('cpu_share', 0) * 100),
             '| poll latency, median / max | %s / %s ms |' % (
                 lat[len(lat) // 2] if lat else '—', lat[-1] if lat else '—'),
             '| CPU per GET /api/bindings with 8 running blinks (in-VM, '
             'profile table) | %s us |' % fmt(per),
             '| its share of one CPU at one poll per %s s | %s |' % (
                 r['poll_every_s'], '%.3f %%' % (per / 1e4 / r['poll_every_s'])
                 if per else '—'),
             '| event-stream events received | %s |' % r.get('events')]
    lines += ['', 'What dropping the Listing cache cost: at one poll every '
              '2 s every binding has fired between two polls, so the cache '
              'would have rebuilt the document for each of them anyway; it '
              'only paid off under wrk, where requests come faster than '
              'fires. The last run with it measured %s us per GET /api/'
              'bindings (4 bindings, in-VM, 31619ee); now %s us with 8.'
              % (cached, fmt(per))]
    return lines


BEFORE_LISTING_US = 105  # 31619ee profile: GET /api/bindings, 4 bindings


def _profile(p, label_start):
    if not isinstance(p, dict):
        return None
    for label, path, us in p.get('us_per_request', []):
        if label.startswith(label_start):
            return us
    return None


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
    h = heap32(m) if isinstance(m, dict) else None
    if h:
        b = BEFORE_18
        for label, key, budget, before in (
                ('heap after boot, default config', 'boot_kb',
                 BUDGET_BOOT_KB, b['boot_kb']),
                ('smallest heap that serves, default config', 'min_kb',
                 BUDGET_HEAP_KB, b['min_heap_kb']),
                ('smallest heap that serves, everything on', 'everything_kb',
                 BUDGET_EVERYTHING_KB, b['everything_kb'])):
            board = h['board_' + key]
            rows.append(('%s ≤ %d KB (32-bit, a board)' % (label, budget),
                         '%s KB %s (%.0f KB on the unix port with its '
                         'simulator); before: %s KB' % (
                             _kb1(board), h['how'], h[key] or 0, before),
                         board is not None and board <= budget))
        per = h['per_binding']
        timed = [k for k in ('blink', 'pulse', 'pattern', 'sample') if k in per]
        if timed:
            worst = max(timed, key=lambda k: per[k])
            rows.append(('≤ %d B per blink/pulse/pattern/sample binding '
                         '(32-bit)' % BUDGET_PER_BINDING_TIMED,
                         'worst `%s` %d B (%s)' % (worst, per[worst], h['how']),
                         per[worst] <= BUDGET_PER_BINDING_TIMED))
        others = [k for k in per if k not in timed]
        if others:
            worst = max(others, key=lambda k: per[k])
            rows.append(('≤ 1 KB per binding of the other kinds (32-bit)',
                         'worst `%s` %d B (%s)' % (worst, per[worst],
                                                   h['how']),
                         per[worst] <= BUDGET_PER_BINDING))
    if isinstance(m, dict) and 'vm64' in m:
        growth = m['vm64']['churn']['growth']
        rows.append(('no heap growth over 2,000 create/delete cycles '
                     '(64-bit)', '%+d B' % growth, growth <= 0))
    i = results.get('isr')
    if isinstance(i, dict) and 'vms' in i:
        for name, label, now, _ in isr_vms(i):
            ratios = {key: (isr_ratio(now, key), budget)
                      for key, _, budget in ISR_ROWS if budget}
            ratios = {k: v for k, v in ratios.items() if v[0] is not None}
            if not ratios:
                continue
            worst = max(ratios, key=lambda k: ratios[k][0] / ratios[k][1])
            misses = [k for k, (x, b) in ratios.items() if x > b]
            rows.append(('interrupts ≤ %.0f× a hand-written toggle (pattern '
                         '≤ %.0f×): %s' % (BUDGET_ISR_RATIO,
                                           BUDGET_ISR_PATTERN, label),
                         'worst `%s` %.1f×%s' % (
                             worst, ratios[worst][0],
                             '; over: ' + ', '.join(misses) if misses
                             else ''), not misses))
        runs = [now for _, _, now, _ in isr_vms(i)]
        alloc = max([(run.get(key) or {}).get('bytes_per_call') or 0
                     for run in runs for key, _, _ in ISR_ROWS] or [0])
        locked = all((run.get(key) or {}).get('heap_lock_error') is None
                     for run in runs for key, _, _ in ISR_ROWS)
        rows.append(('ISR allocates 0 bytes (every kind, every VM)',
                     '%g B/call, heap_lock %s' % (alloc, 'ok' if locked
                                                  else 'FAILED'),
                     alloc == 0 and locked))
    ra = results.get('rates')
    if isinstance(ra, dict) and 'worst_error' in ra:
        rows.append(('12 blinks on the esp32 profile, each rate within 1 %',
                     '%.2f %% worst' % (ra['worst_error'] * 100),
                     ra['worst_error'] <= BUDGET_RATE_ERROR))
    lat = results.get('lateness')
    if isinstance(lat, dict) and 'rates' in lat and '100 Hz' in lat['rates']:
        p99 = lat['rates']['100 Hz']['pinwheel_load']['p99_us']
        rows.append(('timer p99 lateness < 2 ms at 100 Hz under load',
                     '%s us' % lat_us(p99), p99 is not None and p99 < BUDGET_P99_US))
    d = results.get('dashboard')
    if isinstance(d, dict) and 'gz_bytes' in d:
        rows.append(('dashboard assets ≤ 16 KB gzipped', '%d B' % d['gz_bytes'],
                     0 < d['gz_bytes'] <= BUDGET_STATIC_GZ))
    lines = ['| budget | measured | met |', '|---|---:|---|']
    lines += ['| %s | %s | %s |' % (a, b, ok(c)) for a, b, c in rows]
    return lines


# bench/run.py's FEATURES: each measured beside the default config alone
FEATURES = (('mqtt', 'MQTT with Home Assistant'),
            ('schedules', '16 schedule events with a zone and a place'),
            ('kinds', '8 bindings of mixed kinds with 2 rules'))


def _beside(free, h):
    """What fits beside the default config on a board with ``free`` bytes,
    one feature at a time (its smallest heap and 16 KB to spare, as for
    everything on), then everything on at once."""
    feats = h.get('features') or {}
    fit, short = [], []
    for name, label in FEATURES:
        if name in feats:
            need = feats[name]
            if free >= need * KB + 16 * KB:
                fit.append(label)
            else:
                short.append('%s (needs %.0f KB)' % (label, need))
    parts = []
    if fit or short:
        parts.append('beside the default config, one at a time: %s%s' % (
            ', '.join(fit) or 'none of the features',
            '; not ' + ', '.join(short) if short else ''))
    everything = h.get('board_everything_kb')
    if everything:
        parts.append('everything on (MQTT, schedules, 8 bindings): %s' % (
            'fits' if free >= everything * KB + 16 * KB else
            'needs %.0f KB, so not all at once' % everything))
    return ''.join('; ' + p for p in parts)


def fits(results):
    """One row per target: (target, profile, free bytes or None, what,
    source, verdict, why). The smallest heap a board needs is the larger
    of the first boot's and a saved config's."""
    m = results.get('memory') or {}
    h = heap32(m) or {}
    need = max(h.get('board_min_kb') or 0, h.get('board_saved_min_kb') or 0)
    need = need and round(need) or None
    boot = h.get('board_boot_kb')
    rows = []
    for target, profile, free, what, source in BOARDS:
        if profile == 'esp8266':
            verdict, why = 'no', ('frozen firmware only: deploy.py refuses '
                                  'it')
        elif free is None or need is None:
            verdict, why = 'unverified', 'no published free heap to compare'
        elif free >= need * KB + 32 * KB:
            verdict, why = 'yes', '%s KB left over the smallest heap' % (
                free // KB - need) + _beside(free, h)
        elif free >= need * KB:
            verdict, why = 'tight', ('less than 32 KB over the smallest '
                                     'heap' + _beside(free, h))
        else:
            verdict, why = 'no', 'short of the smallest heap by %d KB' % (
                need - free // KB)
        rows.append((target, profile, free, what, source, verdict, why))
    return rows, need, boot, h.get('how')


def boards_section(results):
    """The "Which boards it fits" section of docs/boards.md."""
    rows, need, boot, how = fits(results)
    lines = ['## Which boards it fits', '',
             'Generated by `make bench` (bench/report.py) from '
             'bench/results.json; tests/test_bench.py keeps it in step. '
             'pinwheel on a 32-bit board, default config (one blink): %s KB '
             'of heap after boot and a smallest heap that serves of %s KB '
             '(the larger of its first boot after a deploy and a later one; '
             '%s, see [the bench report](../bench/results.md#memory-on-a-'
             '32-bit-board)). "Fits" means the free heap at the prompt holds '
             'that with 32 KB to spare for requests; the esp32 port can grow '
             'its heap a little past its figure while the IDF has memory '
             'left. The features beside it are measured one at a time, each '
             'added to the default config (bench/run.py, `FEATURES`), and '
             'all at once ("everything on"); one fits where the free heap '
             'holds its smallest heap with 16 KB to spare.'
             % (_kb1(boot), need, how), '',
             '| target | profile | published free heap | what was measured |'
             ' fits | why |', '| --- | --- | ---: | --- | --- | --- |']
    for target, profile, free, what, source, verdict, why in rows:
        lines.append('| %s | `%s` | %s | %s%s | %s | %s |' % (
            target, profile, '—' if free is None else '{:,} B'.format(free),
            what, ' ([source](%s))' % source if source else '',
            {'yes': 'yes', 'tight': '**tight**', 'no': '**no**',
             'unverified': 'unverified'}[verdict], why))
    lines += ['', 'A target marked no is not supported as deployed. ESP8266: '
              'freeze pinwheel into the firmware (see [internals]'
              '(internals.md#freezing-pinwheel-into-firmware--romfs)); '
              '`deploy.py` refuses it with one line.']
    return '\n'.join(lines) + '\n'


def write_boards(results, path=BOARDS_MD):
    text = path.read_text()
    block = '%s\n%s%s' % (FITS_BEGIN, boards_section(results), FITS_END)
    if FITS_BEGIN in text:
        text = re.sub(re.escape(FITS_BEGIN) + '.*?' + re.escape(FITS_END),
                      lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip('\n') + '\n\n' + block + '\n'
    path.write_text(text)


def markdown(results):
    meta = results['meta']
    lines = ['`make bench` measures each figure next to its baseline in the '
             'same run (interleaved, repeated, medians) and writes '
             'bench/results.json, this report, docs/bench.png and the board '
             'table of docs/boards.md. This run: %s, MicroPython %s unix port'
             ' (64-bit) and the WebAssembly port (32-bit: %s), %s, %s CPUs '
             '(shared with other jobs; load average %.1f at the start), %s s '
             '(bench/load.py, the 60 s load test, runs after it)%s.' % (
                 meta['date'], meta['micropython'],
                 meta.get('micropython32', '?'), meta['host'], meta['cpus'],
                 meta['load_avg'], meta.get('total_s'),
                 ' (**--quick run: noisy**)' if meta.get('quick') else ''),
             '']
    lines += summary(results)
    sections = (('memory', md_memory), ('isr', md_isr), ('rates', md_rates),
                ('board_load', lambda r: md_board_load(
                    r, results.get('profile'))),
                ('throughput', md_throughput), ('profile', md_profile),
                ('lateness', md_lateness), ('dashboard', md_dashboard),
                ('deploy', md_deploy), ('mqtt', md_mqtt))
    for name, fn in sections:
        if name not in results:
            continue
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


def explain(results):
    """One note per missed budget, with the figures that locate the cost."""
    notes = []
    tp = results.get('throughput')
    if isinstance(tp, dict) and 'cases' in tp:
        rows = [tp['cases'].get('GET /api/bindings @%d' % c) for c in (1, 10)]
        rows = [r for r in rows if r]
        worst = min(min(r['ratio'], r.get('cpu_ratio') or r['ratio'])
                    for r in rows) if rows else 1
        if worst < BUDGET_BINDINGS_RATIO:
            p = results.get('profile')
            notes.append(
                '`GET /api/bindings` is %.2f× bare Microdot at worst (budget '
                '%.2f×). In the VM without sockets (profile table) the bare '
                'request costs %s us and pinwheel\'s with 4 bindings %s us: '
                'the document is ~1 KB of JSON built for every request.' % (
                    worst, BUDGET_BINDINGS_RATIO,
                    fmt(_profile(p, 'bare Microdot, small')),
                    fmt(_profile(p, 'pinwheel, GET /api/bindings (4'))))
    m = results.get('memory')
    h = heap32(m) if isinstance(m, dict) else None
    if h and (h['board_min_kb'] or 999) > BUDGET_HEAP_KB:
        mem = ((m.get('unix32') or {}).get('memory') if h['how'] == 'measured'
               else m.get('vm64')) or {}
        scale = 1.0 if h['how'] == 'measured' else TO_32BIT
        top = sorted(((n, b * scale) for n, b in mem.get('imports', [])
                      if n not in ('app.sim', 'app.sim.routes')),
                     key=lambda x: -x[1])[:4]
        notes.append(
            'The %d KB smallest heap (default config, 32-bit board) is not '
            'met: %s KB, down from %s KB. What a default-config board holds '
            'after boot is %s KB; the largest parts: %s. The rest of the '
            'smallest heap is what requests need while they run (a request\'s'
            ' objects, the dashboard\'s un-gzip window, fragmentation). On '
            'boards that are short of heap, the way out is bytecode in ROM '
            '(ROMFS or frozen firmware: docs/internals.md).' % (
                BUDGET_HEAP_KB, _kb1(h['board_min_kb']),
                BEFORE_18['min_heap_kb'], _kb1(h['board_boot_kb']),
                ', '.join('`%s` %.1f KB' % (n, b / KB) for n, b in top)))
    i = results.get('isr')
    if isinstance(i, dict) and 'vms' in i:
        labels = {name: label for name, label, _, _ in isr_vms(i)}
        ops = (i.get('ops') or {}).get('now') or {}
        for name, misses in isr_misses(i).items():
            notes.append(
                'Interrupt budget (%s): %s. Per fire (bytecodes / lookups / '
                'calls; the toggle %s): %s.' % (
                    labels[name], ', '.join('`%s` %.1f× (≤ %.0f×)' % m
                                           for m in misses),
                    ops_cell(ops.get('bare')),
                    '; '.join('`%s` %s: %s' % (
                        m[0], ops_cell(ops.get(m[0])), ISR_WORK.get(
                            m[0], 'see bench/isr_ops.py')) for m in misses)))
    lat = results.get('lateness')
    if isinstance(lat, dict) and '100 Hz' in lat.get('rates', {}):
        row = lat['rates']['100 Hz']
        p99 = row['pinwheel_load']['p99_us']
        if p99 is None or p99 >= BUDGET_P99_US:
            notes.append(
                'Timer p99 at 100 Hz under load is %s us for pinwheel and %s us'
                ' for a bare simulated timer in the bare Microdot app under the'
                ' same load: the tail is the host (a timer thread the Linux '
                'scheduler wakes, on 2 shared cores), not pinwheel.' % (
                    lat_us(p99), lat_us(row['bare_load']['p99_us'])))
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


def write_all(results):
    (BENCH / 'results.json').write_text(json.dumps(results, indent=1) + '\n')
    md = markdown(results)
    (BENCH / 'results.md').write_text('# pinwheel benchmarks\n\n' + md)
    write_boards(results)
    chart(results)
    print(md)


if __name__ == '__main__':
    write_all(json.loads((BENCH / 'results.json').read_text()))
