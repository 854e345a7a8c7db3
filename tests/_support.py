"""Helpers shared by test modules.

They live here, not in ``conftest.py``: ``notebooks/conftest.py`` is also a
module named ``conftest``, so ``from conftest import ...`` would pick up
whichever of the two pytest imported first.
"""

from __future__ import annotations

import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
