"""Helpers shared by test modules.

They live here, not in ``conftest.py``: the repository's root ``conftest.py`` (nbval settings) is also a
module named ``conftest``, so ``from conftest import ...`` would pick up
whichever of the two pytest imported first.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]

#: The prompt the stream tests send (the local provider's answer depends on it and the seed).
PROMPT = "Explain server-sent events in three sentences."


def pyproject_requirements(*extras: str) -> list[Any]:
    """pyproject.toml's core requirements plus those of ``extras`` (self-references left out)."""
    import tomllib

    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return [r for r in map(Requirement, lines) if r.name != "streamlab"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> bool:
    """Poll a condition another thread (the server, a timer) makes true; whether it became true.

    Callers that assert on the state afterwards get a message with the values
    in it; :func:`wait_for` is the short form that fails by itself.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def wait_for(condition: Callable[[], object], timeout: float = 5.0) -> None:
    """Wait until ``condition()`` is true, or fail the test after ``timeout`` seconds."""
    if not wait_until(condition, timeout):
        raise AssertionError(f"condition not reached in {timeout} s")


def not_attempted(*args: Any, **kwargs: Any) -> NoReturn:
    """An exercise answer as the notebook ships it: not written yet."""
    raise NotImplementedError


def assert_pending(capsys: Any, *checks: Callable[[Any], bool]) -> None:
    """Each check, given an answer not attempted yet, says so ([TO DO]) and does not call it wrong."""
    for check in checks:
        assert not check(not_attempted)
    out = capsys.readouterr().out
    assert out.count("[TO DO]") == len(checks) and "[FAIL]" not in out


def assert_explains(capsys: Any, check: Callable[[Any], bool], answer: Any, *says: str) -> None:
    """``check`` rejects ``answer`` and what it prints contains every phrase in ``says``."""
    assert not check(answer)
    out = capsys.readouterr().out
    missing = [s for s in says if s not in out]
    assert not missing, f"{missing} not in the check's output:\n{out}"
