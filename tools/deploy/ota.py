"""``deploy.py --ota URL``: update a running board over its HTTP API.

The board keeps two images: the one it runs and a second slot beside it
(``slot_b/``, or the flash root when it runs ``slot_b/``). An update fills
the other slot: files that did not change are copied there on the board,
the changed ones are sent here (PUT, in chunks the board takes whole), then
``manifest.json`` and ``version.json``. The board checks every file of the
new image against the manifest's SHA-256 before it switches (one rename of
``slot.json``) and reboots into the new image on trial; the boot shim
(``main.py``, tools/deploy/build.py) runs the previous image again if the
new one fails before it serves. docs/ota.md has the whole story.
"""
import http.client
import json
import os
import shutil
import socket
import tempfile
import time
import urllib.parse
from pathlib import Path

from . import DeployError
from .build import MANIFEST, VERSION, build, check_image

CHUNK = 8192  # the largest body the board reads (app/http/api.py)
COPY_BATCH = 40  # paths per copy request: well under the board's 8 KB body
TRIAL_S = 60  # seconds a new image has to reach "serving" (or headless)


def fmt_bytes(n):
    return '{:,} bytes'.format(n)


class Http:
    """The board's HTTP API: one connection per request (the board closes
    each), JSON in and out, and one-line DeployErrors for what goes wrong."""

    def __init__(self, url, token, timeout):
        if '://' not in url:
            url = 'http://' + url
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != 'http' or not parts.hostname:
            raise DeployError('--ota takes http://HOST[:PORT] (the board\'s '
                              'dashboard URL), not %s' % url)
        self.host = parts.hostname
        self.port = parts.port or 8080
        self.url = 'http://%s:%d' % (self.host, self.port)
        self.token = token
        self.timeout = timeout
        self.sent = 0  # body bytes sent

    def address(self):
        """The board's IP address (a .local name is resolved by the host's
        mDNS resolver: Avahi/nss-mdns on Linux, built into macOS and
        Windows 10+)."""
        try:
            return socket.getaddrinfo(self.host, self.port, socket.AF_INET,
                                      socket.SOCK_STREAM)[0][4][0]
        except socket.gaierror:
            hint = (': mDNS names need a resolver on this computer (on '
                    'Linux: avahi-daemon and libnss-mdns); the board prints '
                    'its IP address at boot' if self.host.endswith('.local')
                    else '')
            raise DeployError('cannot find the board "%s"%s'
                              % (self.host, hint)) from None

    def request(self, method, path, body=None, raw=None):
        """(status, parsed JSON or bytes)."""
        headers = {}
        if self.token:
            headers['Authorization'] = 'Bearer ' + self.token
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers['Content-Type'] = 'application/json'
        conn = http.client.HTTPConnection(self.host, self.port,
                                          timeout=self.timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            res = conn.getresponse()
            text = res.read()
        except ConnectionRefusedError:
            raise DeployError('nothing answers at %s: is the board on and '
                              'serving? (its boot output shows its URL)'
                              % self.url) from None
        except (socket.timeout, TimeoutError):
            raise DeployError('the board at %s stopped answering (%s %s took '
                              'over %d s)' % (self.url, method, path,
                                              self.timeout)) from None
        except (OSError, http.client.HTTPException) as e:
            raise DeployError('lost the board at %s (%s %s: %s)'
                              % (self.url, method, path, e)) from None
        finally:
            conn.close()
        self.sent += len(data or b'')
        if 'json' in (res.getheader('Content-Type') or ''):
            try:
                return res.status, json.loads(text)
            except ValueError:
                pass
        return res.status, text

    def call(self, method, path, body=None, raw=None, ok=(200, 201, 204)):
        """The JSON answer of a request that must succeed."""
        status, answer = self.request(method, path, body, raw)
        if status in ok:
            return answer
        self.fail(status, answer, method, path)

    def fail(self, status, answer, method, path):
        """Raise the DeployError for the board's answer ``status``."""
        error = answer.get('error') if isinstance(answer, dict) else None
        message = error.get('message') if isinstance(error, dict) else None
        if status == 401:
            raise DeployError('the board refused the token (%s): pass --token '
                              'with the api_token of its config.json'
                              % (message or '401'))
        if status == 404 and path.startswith('/api/ota'):
            raise DeployError('the board at %s runs a pinwheel without '
                              'over-the-air updates: deploy over USB once'
                              % self.url)
        if not message:
            message = answer if isinstance(answer, dict) else bytes(
                answer[:80]).decode(errors='replace')
        raise DeployError('the board answered %s %s with %d: %s'
                          % (method, path.split('?')[0], status, message))


def read_image(args, board_name):
    """(image dir, dir to remove or None, manifest files, version dict)."""
    cleanup = None
    if args.image:
        image = Path(args.image)
        check_image(image)
    else:  # the unix port's image holds the simulated board; a board's not
        image = cleanup = Path(tempfile.mkdtemp(prefix='pinwheel-ota-'))
        build_for(image, board_name == 'sim')
    try:
        files = json.loads((image / MANIFEST).read_bytes())['files']
        version = json.loads((image / VERSION).read_bytes())
    except (OSError, ValueError, KeyError):
        raise DeployError('%s has no manifest.json/version.json: build it '
                          'again with this deploy.py' % image) from None
    return image, cleanup, files, version


def build_for(image, sim):
    try:
        return build(image, sim=sim)
    except TypeError:  # a build without a separate simulator package
        return build(image)


def plan(new, running):
    """(files to send, files the board copies from its running image):
    a file is sent when the running image has none with its hash."""
    send, copy = [], []
    for rel, (size, sha) in sorted(new.items()):
        have = running.get(rel)
        (copy if have and have[1] == sha else send).append(rel)
    return send, copy


def ota(args):
    """Update the board at ``args.ota``; return the exit code."""
    started = time.monotonic()
    token = args.token or os.environ.get('PINWHEEL_TOKEN')
    board = Http(args.ota, token, args.timeout)
    ip = board.address()
    status = board.call('GET', '/api/status')
    image_now = status.get('image')
    host = status.get('host') or {}
    where = '%s (%s)' % (host.get('name') or board.host, host.get('ip') or ip)
    if not isinstance(image_now, dict):
        raise DeployError('the board at %s runs a pinwheel without over-the-air '
                          'updates: deploy over USB once' % board.url)
    name = status.get('board')
    print('board: %s at %s, running version %s (%s)'
          % (name if name != 'sim' else 'virtual board (unix port)', where,
             image_now.get('version'), image_now.get('date')))
    image, cleanup, files, version = read_image(args, name)
    try:
        total = sum(size for size, _ in files.values())
        print('image: %d files, %s, version %s (%s)'
              % (len(files), fmt_bytes(total), version['version'],
                 version['date']))
        if image_now.get('version') == version['version'] and not args.dry_run:
            print('the board already runs version %s: nothing sent, no reboot'
                  % version['version'])
            return 0
        running = board.call('GET', '/api/ota/manifest')
        send, copy = plan(files, running.get('files', {}) if isinstance(
            running, dict) else {})
        info = [MANIFEST, VERSION]
        info_bytes = sum((image / rel).stat().st_size for rel in info)
        send_bytes = sum(files[rel][0] for rel in send) + info_bytes
        if args.dry_run:
            for rel in send:
                print('  would send %s (%s)' % (rel, fmt_bytes(files[rel][0])))
            print('dry run: would send %d files (%s) and the manifest, the '
                  'board would copy %d unchanged ones; nothing was written'
                  % (len(send), fmt_bytes(send_bytes), len(copy)))
            return 0
        begun = board.call('POST', '/api/ota/begin', {
            'version': version['version'],
            'bytes': total + info_bytes, 'files': len(files) + len(info)})
        print('the board fills its slot "%s" (%s free)'
              % (begun.get('target') or '/', fmt_bytes(begun.get('free', 0))))
        for i in range(0, len(copy), COPY_BATCH):
            board.call('POST', '/api/ota/copy',
                       {'files': copy[i:i + COPY_BATCH]})
        if copy:
            print('  copied %d unchanged files on the board' % len(copy))
        done = 0
        queue = send + info
        for k, rel in enumerate(queue, 1):
            data = send_file(board, image, rel)
            done += len(data)
            print('  [%d/%d] %-26s %7s   (%s of %s)'
                  % (k, len(queue), rel, '{:,}'.format(len(data)),
                     '{:,}'.format(done), fmt_bytes(send_bytes)), flush=True)
        answer, resent = commit(board, image, version['version'], files,
                                args.trial_s)
        queue += resent
        done += sum(files[rel][0] for rel in resent)
        switched = time.monotonic()
        print('done in %.1f s: %d sent (%s), %d copied on the board; checked '
              'and switched to version %s, the board reboots into it on trial'
              % (switched - started, len(queue), fmt_bytes(done), len(copy),
                 answer.get('version', version['version'])))
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
    if args.follow:
        return follow(board, version['version'], switched, args.follow_s)
    return 0


def send_file(board, image, rel):
    data = (image / rel).read_bytes()
    for at in range(0, max(len(data), 1), CHUNK):
        board.call('PUT', '/api/ota/file/%s?at=%d' % (rel, at),
                   raw=data[at:at + CHUNK])
    return data


def commit(board, image, version, files, trial_s):
    """Have the board check the new image and switch to it: (its answer,
    files sent again). A file the board copied from its running image but
    that does not match (the running image differs from its manifest: a
    file changed by hand) is sent and the check runs again."""
    resent = []
    while True:
        status, answer = board.request('POST', '/api/ota/commit', {
            'version': version, 'trial_s': trial_s})
        error = answer.get('error') if isinstance(answer, dict) else None
        rel = error.get('field') if isinstance(error, dict) else None
        if (status != 409 or not isinstance(error, dict)
                or error.get('code') != 'image_mismatch'
                or rel not in files or rel in resent):
            break
        print('  %s on the board does not match its manifest: sending it'
              % rel)
        send_file(board, image, rel)
        resent.append(rel)
    if status != 200:
        board.fail(status, answer, 'POST', '/api/ota/commit')
    return answer, resent


def follow(board, version, since, limit_s):
    """Wait until the board serves again; print the version it runs and
    where, or the rollback and its reason (exit 1)."""
    print('waiting for the board to serve again (Ctrl-C to stop)')
    deadline = since + limit_s
    old_timeout, board.timeout = board.timeout, 2
    try:
        while time.monotonic() < deadline:
            try:
                status = board.call('GET', '/api/status')
            except DeployError:  # rebooting
                time.sleep(0.1)
                continue
            image = status.get('image') or {}
            back = image.get('rolled_back')
            host = status.get('host') or {}
            where = '%s (%s)' % (host.get('name'), host.get('ip'))
            if isinstance(back, dict) and back.get('version') == version:
                raise DeployError('the board rolled back to version %s: %s '
                                  'failed (%s)' % (image.get('version'),
                                                   version, back.get('why')))
            if image.get('version') == version and not image.get('trial'):
                print('board: serving version %s (%s) on %s, %.1f s after '
                      'the switch' % (version, image.get('date'), where,
                                      time.monotonic() - since))
                return 0
            time.sleep(0.1)
    except KeyboardInterrupt:
        return 0
    finally:
        board.timeout = old_timeout
    raise DeployError('the board did not serve version %s within %d s of the '
                      'switch (it rolls back if the new image never serves)'
                      % (version, limit_s))
