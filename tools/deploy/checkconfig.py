"""``deploy.py --config FILE``: read the file and check it with the board's
own rules before anything is copied, on every path (a board over USB,
``--sim-flash`` for ``make run``). The check is the app's: it runs on the
MicroPython VM (the unix port requirements.txt installs), so what deploy
accepts is what the board's boot runs in full. Each problem is told with
its line and column in the file."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import DeployError

VM_SCRIPT = Path(__file__).with_name('checkconfig_vm.py')


def read_config(path):
    """The bytes of ``path``, or DeployError saying why not (one line)."""
    try:
        return Path(path).read_bytes()
    except IsADirectoryError:
        raise DeployError('--config %s is a directory, not a config file'
                          % path) from None
    except OSError as e:
        raise DeployError('cannot read --config %s: %s' % (
            path, (e.strerror or str(e)).lower())) from None


def micropython():
    """The unix port's binary: $MICROPYTHON, else the one beside this
    Python (the venv's, from requirements.txt), else one on PATH."""
    given = os.environ.get('MICROPYTHON')
    if given:
        return shutil.which(given) or given
    beside = Path(sys.executable).with_name('micropython')
    if beside.exists():
        return str(beside)
    found = shutil.which('micropython')
    if found:
        return found
    raise DeployError('no MicroPython unix port to check the config with: '
                      '`make venv` installs it (requirements.txt)')


def check_config(path, text, facts=None, unknown=False):
    """Raise DeployError listing every part of ``text`` (of the file ``path``)
    that the board's boot would leave out; return the board's profile name.
    ``facts``: (port, build, machine) of the board's firmware; None: the
    simulated board. ``unknown``: the board has no profile (deploy says
    so): its pins cannot be checked."""
    args = [micropython(), str(VM_SCRIPT), str(path)]
    if facts:
        args += [str(f) for f in facts]
    try:
        result = subprocess.run(args, capture_output=True, text=True,
                                timeout=60)
    except OSError as e:
        raise DeployError('cannot run MicroPython to check the config: %s'
                          % e) from None
    lines = result.stdout.strip().splitlines()
    try:
        out = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise DeployError('the config check failed on the MicroPython VM: %s'
                          % (result.stdout + result.stderr).strip()[-300:]
                          .replace('\n', ' | ')) from None
    errors = out['errors']
    if unknown and out['config_board'] == 'auto':
        errors = [e for e in errors if e['where'] != 'board']
    if errors:
        where = 'the simulated board' if facts is None else (
            out['board'] or 'this board')
        raise DeployError('%s does not pass %s\'s checks, so nothing was '
                          'copied; fix it and deploy again:\n%s' % (
                              path, where, '\n'.join(
                                  '  ' + line for _, line in sorted(
                                      describe(text, e) for e in errors))))
    return out['board']


def describe(text, error):
    """One problem: ((line, column) or (0, 0), ``line L column C: where:
    message``)."""
    message = error['message']
    if error['where'] == 'config.json':  # not JSON: the message says where
        return (0, 0), message.replace('; no part of it runs', '')
    where = error['where']
    if message.startswith(where + ': '):
        message = message[len(where) + 2:]
    elif message.startswith(where):  # "http.port must be ..."
        where = ''
    field = error['field'] or error['where']
    at = locate(text.decode('utf-8', 'replace'), path_of(field))
    return at or (0, 0), '%s%s%s' % (
        '' if at is None else 'line %d column %d: ' % at,
        where + ': ' if where else '', message)


def path_of(field):
    """'bindings[5].kind' -> ['bindings', 5, 'kind']."""
    steps = []
    for part in field.split('.'):
        name, _, rest = part.partition('[')
        if name:
            steps.append(name)
        for index in rest.split('['):
            index = index.rstrip(']')
            if index.isdigit():
                steps.append(int(index))
    return steps


_decoder = json.JSONDecoder()


def locate(text, steps):
    """(line, column) of the value at ``steps`` in the JSON ``text``, or of
    the deepest one on the way that is there (a key that is missing: the
    object that lacks it); None if ``text`` is not JSON there."""
    i = _space(text, 0)
    found = None
    try:
        for step in steps:
            found = i
            if isinstance(step, int):
                if text[i] != '[':
                    break
                i = _space(text, i + 1)
                for _ in range(step):
                    i = _space(text, _decoder.raw_decode(text, i)[1])
                    if text[i] != ',':
                        return _line_column(text, found)
                    i = _space(text, i + 1)
                if text[i] == ']':
                    break
            else:
                if text[i] != '{':
                    break
                i = _space(text, i + 1)
                while text[i] != '}':
                    key, i = _decoder.raw_decode(text, i)
                    i = _space(text, _space(text, i) + 1)  # the colon
                    if key == step:
                        break
                    i = _space(text, _decoder.raw_decode(text, i)[1])
                    if text[i] == ',':
                        i = _space(text, i + 1)
                else:
                    break
        else:
            found = i
    except (IndexError, ValueError):
        pass
    return None if found is None else _line_column(text, found)


def _space(text, i):
    while i < len(text) and text[i] in ' \t\r\n':
        i += 1
    return i


def _line_column(text, i):
    line = text.count('\n', 0, i) + 1
    return line, i - (text.rfind('\n', 0, i) + 1) + 1
