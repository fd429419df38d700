#!/usr/bin/env python3
"""What each kind's interrupt executes per fire, counted from MicroPython's
own bytecode: ``micropython -v -v`` prints every function it compiles
(py/showbc.c); this walks an ISR's bytecode along one path (which way each
conditional jump goes, as the scenario says) and counts the bytecodes by
what they cost on a board: attribute and global lookups (a hash-map lookup
each), calls (C functions here: pin I/O, the clock), subscripts, and all
bytecodes. The same counts hold on every VM (the same compiler; mpy-cross
emits the same bytecode for a board's image).

A scenario is (label, file, function, jumps): ``jumps`` has one letter per
conditional jump met on the path, ``j`` taken, ``n`` not; a walk that
meets more or fewer than that fails, so a scenario that no longer matches
its code shows up rather than miscounting.

    .venv/bin/python bench/isr_ops.py [--app DIR] [--show]

prints the counts as JSON (``bench/run.py`` stores them with the ISR
figures); ``--app DIR --before`` counts the code before issue #19 (its own
scenarios: an ISR and the tick it called), ``--show`` prints each path.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / 'tests')]
import vm as vms  # noqa: E402  tests/vm.py

CONDITIONAL = {'POP_JUMP_IF_FALSE', 'POP_JUMP_IF_TRUE', 'JUMP_IF_TRUE_OR_POP',
               'JUMP_IF_FALSE_OR_POP'}
JUMP = {'JUMP', 'POP_EXCEPT_JUMP', 'UNWIND_JUMP'}
LOOKUP = {'LOAD_ATTR', 'STORE_ATTR', 'LOAD_METHOD', 'LOAD_GLOBAL',
          'STORE_GLOBAL', 'LOAD_NAME'}
CALL = {'CALL_FUNCTION', 'CALL_METHOD', 'CALL_FUNCTION_VAR_KW',
        'CALL_METHOD_VAR_KW'}
SUBSCR = {'LOAD_SUBSCR', 'STORE_SUBSCR'}

# kind -> [(label, [(file, function, jumps), ...])]: the functions of one
# fire are summed (an ISR and the Python functions it calls), the fires of
# a kind averaged (a pattern's round: its ticks, steps and round end in
# proportion)
TOGGLE = [('toggle', [('isr.py', 'toggle', '')])]
SCENARIOS = {
    'bare': TOGGLE,
    'blink': [('on time', [('blink.py', 'isr', 'j')])],
    'pulse': [('on time, its end reported', [('pulse.py', 'isr', 'jj')])],
    # [1000, 2000, 3000]: 6 ticks a round: 3 count down, 2 end a step,
    # 1 ends the round
    'pattern': [('tick', [('pattern.py', 'isr', 'n')])] * 3 + [
        ('step', [('pattern.py', 'isr', 'jjj')])] * 2 + [
        ('round', [('pattern.py', 'isr', 'jjnj')])],
    # [1000, 1000]: every tick ends a step, every other one a round
    'pattern_steps': [('step', [('pattern.py', 'isr', 'jjj')]),
                      ('round', [('pattern.py', 'isr', 'jjnj')])],
    'pattern_per_step': [('step, Timer.init', [
        ('pattern.py', 'isr_per_step', 'jjj')]), ('round, Timer.init', [
            ('pattern.py', 'isr_per_step', 'jnjj')])],
    'sample': [('on time, no edge', [('sample.py', 'isr', 'jj')])],
    # an edge: its fire number noted, no rules, deferral pending (so
    # the ISR does not call defer)
    'sample_edge': [('an edge', [('sample.py', 'isr', 'jnj')])],
    'pwm': [('a fade step, linear', [('pwm.py', 'isr', 'j')])],
    'pwm_gamma': [('a fade step, gamma', [('pwm.py', 'isr', 'j')])],
    'breathe': [('up', [('breathe.py', 'isr', 'jn')])],
    # an edge (a press or a release: the same work), no rules, deferral
    # pending
    'edge': [('an edge', [('inputs.py', 'edge_isr_at_once', 'jjj')])],
    'edge_debounced': [('an edge', [('inputs.py', 'edge_isr', 'jjjj')])],
    'edge_bounce': [('same level', [('inputs.py', 'edge_isr', 'n')])],
    # a blink's fire that came late (the first of a burst): what the
    # on-time check hands to Handler._off_time
    'blink_late': [('late', [('blink.py', 'isr', 'n'),
                             ('handler.py', '_off_time', 'jnjn')])],
}
# The code before issue #19 (git show 1a67ad8:app): Handler.isr and the
# kind's tick, the Python functions a tick called.
BEFORE = {
    'bare': TOGGLE,
    'blink': [('on time', [('handler.py', 'isr', 'njj'),
                           ('blink.py', 'tick', '')])],
    'pulse': [('on time, its end reported', [
        ('handler.py', 'isr', 'jj'), ('pulse.py', 'tick', ''),
        ('handler.py', 'defer', 'n')])],
    'pattern': [('step', [('handler.py', 'isr', 'jj'),
                          ('pattern.py', 'tick', 'n'),
                          ('handler.py', '_rearm', 'j')])] * 2 + [
        ('round', [('handler.py', 'isr', 'jj'), ('pattern.py', 'tick', 'jj'),
                   ('handler.py', '_rearm', 'j')])],
    'pattern_steps': [('step', [('handler.py', 'isr', 'jj'),
                                ('pattern.py', 'tick', 'n'),
                                ('handler.py', '_rearm', 'j')])],
    'sample': [('on time, no edge', [('handler.py', 'isr', 'njj'),
                                     ('sample.py', 'tick', 'jj')])],
    'pwm': [('a fade step, linear', [
        ('handler.py', 'isr', 'njj'), ('pwm.py', 'tick', 'n'),
        ('pwm.py', 'put', 'n'), ('pwm.py', 'write', 'nj')])],
    'pwm_gamma': [('a fade step, gamma', [
        ('handler.py', 'isr', 'njj'), ('pwm.py', 'tick', 'n'),
        ('pwm.py', 'put', 'j'), ('pwm.py', 'write', 'nj')])],
    'breathe': [('up', [('handler.py', 'isr', 'njj'),
                        ('breathe.py', 'tick', 'nn'), ('pwm.py', 'put', 'j'),
                        ('pwm.py', 'write', 'nj')])],
    'edge': [('press', [('inputs.py', 'edge_isr', 'jjnnjj')]),
             ('release', [('inputs.py', 'edge_isr', 'jjjjjj')])],
    'edge_bounce': [('same level', [('inputs.py', 'edge_isr', 'n')])],
}
DRIVER = '''
import sys
sys.path.insert(0, %r)
import isr
import app.kinds.blink, app.kinds.pulse, app.kinds.pattern, app.kinds.sample
import app.kinds.pwm, app.kinds.breathe, app.kinds.edge
'''
OP = re.compile(r'^(\d+) ([A-Z_]+)(?: (.*))?$')
BLOCK = re.compile(r"^File (\S+), code block '([^']+)'")


def dump(app_dir):
    """{(file name, function): [(offset, op, arg)]} of every function the
    VM compiles importing the kinds and bench/mp/isr.py."""
    with tempfile.TemporaryDirectory() as tmp:
        driver = Path(tmp) / 'driver.py'
        driver.write_text(DRIVER % str(ROOT / 'bench' / 'mp'))
        env = dict(os.environ, MICROPYPATH='.frozen:%s:%s' % (
            app_dir, vms.image() / 'lib'))
        out = subprocess.run([vms.MICROPYTHON, '-v', '-v', str(driver)],
                             capture_output=True, text=True, env=env,
                             timeout=120).stdout
    blocks = {}
    ops = None
    for line in out.splitlines():
        m = BLOCK.match(line)
        if m:
            ops = blocks.setdefault((Path(m.group(1)).name, m.group(2)), [])
            continue
        m = OP.match(line)
        if m and ops is not None:
            ops.append((int(m.group(1)), m.group(2), m.group(3) or ''))
    return blocks


def walk(ops, jumps, show=False):
    """Counts along the path ``jumps`` takes through ``ops``."""
    at = {off: i for i, (off, _, _) in enumerate(ops)}
    counts = {'bytecodes': 0, 'lookups': 0, 'calls': 0, 'subscripts': 0}
    i = 0
    left = list(jumps)
    path = []
    while True:
        off, op, arg = ops[i]
        path.append('%3d %s %s' % (off, op, arg))
        counts['bytecodes'] += 1
        if op in LOOKUP:
            counts['lookups'] += 1
        elif op in CALL:
            counts['calls'] += 1
        elif op in SUBSCR:
            counts['subscripts'] += 1
        if op == 'RETURN_VALUE':
            break
        if op in CONDITIONAL:
            if not left:
                raise ValueError('more conditional jumps than %r' % jumps)
            if left.pop(0) == 'j':
                i = at[int(arg)]
                continue
        elif op in JUMP:
            i = at[int(arg)]
            continue
        i += 1
    if left:
        raise ValueError('fewer conditional jumps than %r' % jumps)
    if show:
        print('\n'.join(path))
    return counts


def count(app_dir, scenarios=None, show=False):
    blocks = dump(app_dir)
    out = {}
    for name, fires in (scenarios or SCENARIOS).items():
        total = {}
        try:
            for label, functions in fires:
                for file, function, jumps in functions:
                    if show:
                        print('--', name, label, function)
                    c = walk(blocks[(file, function)], jumps, show)
                    for k, v in c.items():
                        total[k] = total.get(k, 0) + v
        except (KeyError, ValueError, IndexError) as e:  # not in this code
            out[name] = {'error': '%s: %s' % (type(e).__name__, e)}
            continue
        n = len(fires)
        out[name] = {k: round(v / n, 1) for k, v in total.items()}
        out[name]['path'] = ', '.join(sorted({f[0] for f in fires}))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--app', default=str(ROOT),
                    help='the directory holding the app/ package to count')
    ap.add_argument('--before', action='store_true',
                    help='the scenarios of the code before issue #19')
    ap.add_argument('--show', action='store_true', help='print each path')
    opts = ap.parse_args(argv)
    print(json.dumps(count(opts.app, BEFORE if opts.before else SCENARIOS,
                           opts.show), indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
