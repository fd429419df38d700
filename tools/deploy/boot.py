"""After the copy: reset the board and, with ``--follow``, show it booting.

The unix port (the virtual board of the tests) cannot reboot: there
``--follow`` runs ``main.py`` in the REPL to show its boot output instead.
"""
import time

from . import DeployError
from .board import close

# The lines app.main prints once the board runs: serving (the socket is
# bound) or headless (no network; the bindings run anyway).
BOOTED = ('serving http://', ', headless (')
# The program is over: a board falls back to its REPL, whose banner ends
# with this line; the unix port's raw REPL ends an exec with \x04 after its
# output and again after its errors.
REPL_BANNER = 'Type "help()" for more information.'


def restart(board, name, args):
    """Reset a real board (and follow its boot output); leave the virtual
    board as it is (with --follow it runs main.py in the REPL until the URL
    shows)."""
    if name == 'sim':
        if args.follow:
            follow_vm(board)
        else:
            print('virtual board (unix port): no reset; start it with '
                  '`micropython main.py` in its flash dir')
        return
    print('resetting the board')
    try:
        board.t.exec_raw_no_follow('import machine\nmachine.reset()')
    except Exception:
        pass  # the reset may cut the line before the reply
    if args.follow:
        close(board.t)
        follow_serial(board.device, args.follow_s)


def show_boot(read, limit_s):
    """Print boot output from ``read()`` until the serving (or headless)
    line and a little after, ``limit_s`` seconds, or Ctrl-C. A traceback,
    or the program ending, before that line is a failed boot: DeployError
    with the traceback's last line (the exception)."""
    deadline = time.monotonic() + limit_s
    buf = b''
    booted = None
    in_traceback = False
    ends = 0  # \x04 seen
    try:
        while time.monotonic() < deadline:
            data = read()
            if not data:
                if booted and time.monotonic() > booted:
                    return True
                time.sleep(0.05)
                continue
            ends += data.count(b'\x04')
            buf += data
            lines = buf.split(b'\n')
            buf = lines.pop()
            if ends >= 2:  # the exec is over: nothing more will come
                lines.append(buf)
                buf = b''
            for line in lines:
                text = line.decode(errors='replace').replace('\x04', '')
                text = text.rstrip()
                if text:
                    print('  | ' + text, flush=True)
                if booted is not None:
                    continue
                if any(m in text for m in BOOTED):
                    booted = time.monotonic() + 1.0
                elif text.startswith('Traceback (most recent call last)'):
                    in_traceback = True
                elif in_traceback and text and not text[0].isspace():
                    raise DeployError('the board did not boot: %s' % text)
                elif text == REPL_BANNER:
                    ends = 2
            if booted is None and ends >= 2:
                raise DeployError('the board did not boot: main.py ended '
                                  'before serving; see its output above')
    except KeyboardInterrupt:
        return True
    if booted:
        return True
    print('no URL within %d s (still connecting to Wi-Fi?); see the output '
          'above' % limit_s)
    return False


def follow_serial(device, limit_s):
    """Reopen the port after a reset (USB boards re-enumerate) and show the
    boot output."""
    import serial
    print('boot output (Ctrl-C to stop):')
    deadline = time.monotonic() + 15
    while True:
        try:
            port = serial.serial_for_url(device, baudrate=115200, timeout=0.1)
            break
        except (OSError, serial.SerialException):
            if time.monotonic() > deadline:
                raise DeployError('the board did not come back on %s after the'
                                  ' reset: unplug and replug it' % device)
            time.sleep(0.3)
    try:
        show_boot(lambda: port.read(256), limit_s)
    finally:
        port.close()


def follow_vm(board):
    """The virtual board: run main.py in the REPL and show its output until
    the URL (or a failed boot: DeployError). Closing the connection
    afterwards ends this micropython process (socat's child)."""
    t = board.t
    print('boot output of main.py on the virtual board:')
    t.exec_raw_no_follow("exec(open('main.py').read(), {'__name__': '__main__'})")

    def read():
        n = t.serial.inWaiting()
        return t.serial.read(n) if n else b''
    show_boot(read, 30)
