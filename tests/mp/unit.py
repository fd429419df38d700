"""A tiny test runner for tests that run inside the MicroPython VM.

A test module defines ``test_*`` functions and ends with ``unit.main(globals())``.
Output: one ``PASS name`` / ``FAIL name`` line each, then ``N passed, M failed``.
"""
import sys


def main(scope):
    names = sorted(k for k in scope if k.startswith('test_'))
    only = sys.argv[1:]
    passed = failed = 0
    for name in names:
        if only and name not in only:
            continue
        try:
            scope[name]()
            passed += 1
            print('PASS', name)
        except Exception as e:
            failed += 1
            print('FAIL', name)
            sys.print_exception(e)
    print('%d passed, %d failed' % (passed, failed))
    sys.exit(1 if failed else 0)


def raises(exc_type, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc_type as e:
        return e
    raise AssertionError('%s not raised' % exc_type.__name__)
