"""deploy.py's parts: ``build`` makes the flash image, ``board`` talks to a
board through mpremote's transport, ``boot`` shows a board booting, ``cli``
ties them together. ``python deploy.py`` (the repo root) is the entry point.
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class DeployError(Exception):
    """Something the user must fix; the message is one line saying what."""
