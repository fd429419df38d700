"""``python deploy.py``: the command line, the config decision and the run."""
import argparse
import json
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mpremote.transport import TransportError

from . import ROOT, DeployError
from .board import (BOARD_CHOICES, MANAGED, PROFILES, Board,
                    check_firmware, close, compare, find_port, open_board)
from .boot import restart
from .build import (MANIFEST, ROOT_FILES, SLOT_FLAG, VERSION, add_sim,
                    build, check_image, image_mpy_version, sync_local)
from .checkconfig import check_config, read_config
from .defaults import first_config


def fmt_bytes(n):
    return '{:,} bytes'.format(n)


def plan_config(board, args, name='unknown'):
    """Decide the config.json the board gets: (bytes or None to keep it,
    (note, dry-run note), token or None). Refuses before anything is
    written: a config it copies must pass the checks of the board ``name``
    (its profile, as check_firmware found it) in full. A first deploy's
    blink goes to the board's LED (see defaults.py)."""
    has = 'config.json' in board.contents
    led = ''
    if args.config:
        path = args.config
        text = read_config(path)
    elif not has:
        path = ROOT / 'config.json'
        text, led = first_config(name)
        led = '; ' + led if led else ''
    if args.config or not has:
        info = getattr(board, 'info', None) or {}
        facts = None if name == 'sim' else (
            info.get('platform', ''), info.get('build', ''),
            info.get('machine', ''))
        if args.config:
            check_config(path, text, facts, unknown=name == 'unknown')
        else:  # the repo's default as it goes to this board (its LED pin)
            with tempfile.TemporaryDirectory() as tmp:
                default = Path(tmp) / 'config.json'
                default.write_bytes(text)
                check_config(default, text, facts, unknown=name == 'unknown')
    if args.config:
        note = ('replaced the board\'s config.json with %s' % args.config,
                'would replace the board\'s config.json with %s' % args.config)
    elif not has:
        note = ('the board had no config.json: installed the repo default'
                + led, 'the board has no config.json: would install the repo '
                'default' + led)
    else:
        text = None
        why = ' (it holds runtime changes; --config FILE replaces it)'
        note = ('kept the board\'s config.json' + why,
                'would keep the board\'s config.json' + why)
    raw = text if text is not None else board.contents['config.json']
    try:
        data = json.loads(raw)
    except ValueError:
        if text is not None:
            raise DeployError('%s is not valid JSON; fix it and deploy again'
                              % args.config) from None
        bad = ('; it is not valid JSON, so the board boots in safe mode: '
               'deploy with --config FILE to replace it')
        return None, (note[0] + bad, note[1] + bad), None
    if not isinstance(data, dict):
        raise DeployError('config.json must hold a JSON object')
    wifi = data.get('wifi') if isinstance(data.get('wifi'), dict) else {}
    token = None
    ap = wifi.get('ap_fallback', True) and len(wifi.get('ap_password') or '') >= 8
    if wifi.get('ssid'):
        network = 'Wi-Fi (ssid "%s")' % wifi['ssid']
    else:  # its own access point counts too: whoever has that password
        network = 'an access point' if ap else None
    if network and not data.get('api_token'):
        if args.no_token_generation:
            raise DeployError('the config sets up %s but has no api_token, so '
                              'anyone on that network could drive the pins: '
                              'set "api_token" in the config, or deploy '
                              'without --no-token-generation' % network)
        token = secrets.token_urlsafe(18)
        data['api_token'] = token
        text = json.dumps(data).encode()
    return text, note, token


def deploy(args):
    """Put the image on the board; return the exit code."""
    started = time.monotonic()
    device = find_port(args.port)
    transport = open_board(device, args.timeout)
    board = Board(transport, device)
    cleanup = []
    try:
        if args.image:  # built earlier (--build-only DIR)
            image = Path(args.image)
            sizes = check_image(image)
        else:  # a private dir: a concurrent `make image` cannot race us
            image = Path(tempfile.mkdtemp(prefix='pinwheel-image-'))
            cleanup.append(image)
            sizes = build(image, lines=args.lines)
        print('image: %d files, %s' % (len(sizes), fmt_bytes(sum(sizes.values()))))
        info = board.probe(list(ROOT_FILES) + [MANIFEST, VERSION,
                                               SLOT_FLAG],
                           read=['config.json'])
        name = check_firmware(info, image_mpy_version(image), args.board)
        if name == 'sim':  # the virtual board runs on the simulator
            sizes = add_sim(image)
        print('board: %s, MicroPython %s (%s), .mpy v%d, %s free on %s'
              % (name if name != 'sim' else 'virtual board (unix port)',
                 '.'.join(str(v) for v in info['version'][:3]),
                 info['machine'], info['mpy'] & 0xff,
                 fmt_bytes(info['free']) if info['free'] is not None else '?',
                 device))
        if name == 'unknown':
            print('note: pinwheel has no profile for this %s board (build "%s"'
                  '): it boots in safe mode with no pins until "board" in its '
                  'config.json names one of: %s (see docs/boards.md)'
                  % (info['platform'], info.get('build', ''),
                     ', '.join(PROFILES.port_names(info['platform']))))
        plan = compare(board, image, sizes)
        config, note, token = plan_config(board, args, name)
        stale = sorted(p for p in board.files
                       if p.startswith(tuple(d + '/' for d in MANAGED))
                       and p not in sizes)
        if args.dry_run:
            return dry_run(plan, sizes, stale, note, token)
        need = sum(sizes[p] for p in plan) - sum(
            board.files[p][0] for p in plan if p in board.files)
        if info['free'] is not None and need > info['free']:
            raise DeployError('the board\'s flash is full: %s needed, %s free;'
                              ' delete files you do not need (mpremote fs rm) '
                              'or erase the flash and reflash MicroPython'
                              % (fmt_bytes(need), fmt_bytes(info['free'])))
        for p in stale:  # first, to make room
            board.remove(p)
            print('  removed stale %s' % p)
        done = [0]
        copy_bytes = sum(sizes[p] for p in plan)
        for k, rel in enumerate(plan, 1):
            data = (image / rel).read_bytes()
            board.write(rel, data, lambda n: done.__setitem__(0, done[0] + n))
            print('  [%d/%d] %-26s %7s   (%s of %s)'
                  % (k, len(plan), rel, '{:,}'.format(len(data)),
                     '{:,}'.format(done[0]), fmt_bytes(copy_bytes)), flush=True)
        if config is not None:
            board.write('config.json', config)
        print('config.json: %s' % note[0])
        if SLOT_FLAG in board.files:  # it ran an over-the-air update's image
            board.remove(SLOT_FLAG)
            print('%s: removed, so the board boots the image just copied '
                  '(docs/ota.md)' % SLOT_FLAG)
        if token:
            print('api_token generated and stored in the board\'s config.json '
                  '(shown once, keep it): %s' % token)
        print('done in %.1f s: %d copied (%s), %d unchanged, %d stale removed'
              % (time.monotonic() - started, len(plan), fmt_bytes(copy_bytes),
                 len(sizes) - len(plan), len(stale)))
        restart(board, name, args)
    finally:
        close(transport)
        for d in cleanup:
            shutil.rmtree(d, ignore_errors=True)
    return 0


def dry_run(plan, sizes, stale, note, token):
    print('dry run: nothing is written to the board')
    for k, rel in enumerate(plan, 1):
        print('  would copy [%d/%d] %s (%s)' % (k, len(plan), rel,
                                                fmt_bytes(sizes[rel])))
    for p in stale:
        print('  would remove stale %s' % p)
    print('config.json: %s' % note[1])
    if token:
        print('api_token: would generate one (the config puts the board on '
              'Wi-Fi and has none)')
    print('would copy %d files (%s), %d unchanged, %d stale to remove'
          % (len(plan), fmt_bytes(sum(sizes[p] for p in plan)),
             len(sizes) - len(plan), len(stale)))
    return 0


def parser():
    ap = argparse.ArgumentParser(
        prog='deploy.py',
        description='Build pinwheel\'s image and deploy it to a MicroPython '
                    'board (only the files that changed).')
    ap.add_argument('--port', default='auto',
                    help='auto (the first USB serial board), a device such as '
                         '/dev/ttyUSB0 or COM3, or socket://HOST:PORT')
    ap.add_argument('--board', default='auto',
                    choices=BOARD_CHOICES,
                    help='expected board (see docs/boards.md); auto takes '
                         'what the firmware reports')
    ap.add_argument('--config', metavar='FILE',
                    help='replace the board\'s config.json with FILE (default:'
                         ' keep the board\'s, which holds runtime changes)')
    ap.add_argument('--dry-run', action='store_true',
                    help='show what would be copied/removed; write nothing')
    ap.add_argument('--follow', action='store_true',
                    help='after the reset, show the boot output up to the '
                         'serving line; exit 1 with the error if boot fails '
                         '(with --ota: wait until it serves again and print '
                         'its version, or the rollback and why)')
    ap.add_argument('--follow-s', type=float, default=60, help=argparse.SUPPRESS)
    ap.add_argument('--no-token-generation', action='store_true',
                    help='refuse (instead of generating an api_token) when the '
                         'config has Wi-Fi but no api_token')
    ap.add_argument('--timeout', type=float, default=10,
                    help='seconds to wait for the board to answer (default 10)')
    ap.add_argument('--image', metavar='DIR',
                    help='deploy an image built earlier with --build-only DIR '
                         '(default: build one now)')
    ap.add_argument('--build-only', metavar='DIR',
                    help='build the image into DIR and stop')
    ap.add_argument('--ota', metavar='URL',
                    help='update a running board over Wi-Fi instead of USB: '
                         'http://HOST[:PORT] (HOST may be its name.local); '
                         'see docs/ota.md')
    ap.add_argument('--token', help='with --ota: the board\'s api_token '
                                    '(default: $PINWHEEL_TOKEN)')
    ap.add_argument('--trial-s', type=int, default=60,
                    help='with --ota: seconds the new image has to serve '
                         'before the board rolls back (default 60)')
    ap.add_argument('--lines', action='store_true',
                    help='keep line numbers in the bytecode, for tracebacks '
                         'that say where (costs ~4 KB of the board\'s heap)')
    ap.add_argument('--sim-flash', metavar='DIR',
                    help='install the image into a local flash dir for the '
                         'unix port (make run)')
    return ap


def main(argv=None):
    args = parser().parse_args(argv)
    if args.build_only or args.sim_flash:
        if args.sim_flash and args.config:  # before anything is built
            try:
                check_config(args.config, read_config(args.config))
            except DeployError as e:
                print('deploy: error: %s' % e, file=sys.stderr)
                return 1
        image = Path(args.build_only or ROOT / 'build' / 'image')
        sizes = build(image, sim=bool(args.sim_flash), lines=args.lines)
        print('image: %d files, %d bytes' % (len(sizes), sum(sizes.values())))
        if args.sim_flash:
            sync_local(image, args.sim_flash, args.config)
        return 0
    try:
        if args.ota:
            from .ota import ota
            return ota(args)
        return deploy(args)
    except DeployError as e:
        print('deploy: error: %s' % e, file=sys.stderr)
        return 1
    except (OSError, TransportError) as e:  # e.g. unplugged during --follow
        print('deploy: error: lost the board (%s): check the cable and run '
              'deploy again' % (e,), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print('deploy: interrupted; run it again to finish (only what is '
              'missing is copied)', file=sys.stderr)
        return 130
