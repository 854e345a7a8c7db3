"""Helpers shared by test modules.

They live here, not in ``conftest.py``: ``notebooks/conftest.py`` is also a
module named ``conftest``, so ``from conftest import ...`` would pick up
whichever of the two pytest imported first.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def not_attempted(*args: Any, **kwargs: Any) -> NoReturn:
    """An exercise answer as the notebook ships it: not written yet."""
    raise NotImplementedError


def assert_pending(capsys: Any, *checks: Callable[[Any], bool]) -> None:
    """Each check, given an answer not attempted yet, says so (⏳) and does not call it wrong."""
    for check in checks:
        assert not check(not_attempted)
    out = capsys.readouterr().out
    assert out.count("⏳") == len(checks) and "❌" not in out


def assert_explains(capsys: Any, check: Callable[[Any], bool], answer: Any, *says: str) -> None:
    """``check`` rejects ``answer`` and what it prints contains every phrase in ``says``."""
    assert not check(answer)
    out = capsys.readouterr().out
    missing = [s for s in says if s not in out]
    assert not missing, f"{missing} not in the check's output:\n{out}"
