#!/usr/bin/env python3
"""Build pinwheel's flash image and put it on a board (or a local "flash" dir).

    python deploy.py                               # to the board on USB (auto)
    python deploy.py --port /dev/ttyUSB0 --follow  # ... and show its boot (exit 1 if it fails)
    python deploy.py --port socket://HOST:PORT     # a console bridged over TCP (the virtual board)
    python deploy.py --sim-flash build/sim-flash   # what `make run` uses
    python deploy.py --build-only build/image      # just build the image

The parts live in tools/deploy/ (build.py the image, board.py the board
through mpremote's transport, boot.py the reset and --follow, cli.py the
command line); this file is the entry point and keeps their names
importable as ``deploy.build`` and so on, for the tests and the bench.
"""
import sys

from tools.deploy import DeployError  # noqa: F401
from tools.deploy.board import (  # noqa: F401
    PROFILES, Board, check_firmware, close, compare, open_board)
from tools.deploy.build import (  # noqa: F401
    BOOT_SHIM, MICRODOT_MODULES, add_microdot, build, compact_js,
    compile_mpy, microdot_dir, mpy_cross_command)
from tools.deploy.cli import main

if __name__ == '__main__':
    sys.exit(main())
