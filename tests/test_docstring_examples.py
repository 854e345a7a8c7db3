"""The ``>>>`` examples in the package's docstrings run and print what they say.

Learners read these examples in ``help()`` and ``??``; a stale one teaches the
wrong thing.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import streamlab

PACKAGE = Path(streamlab.__file__).parent


def _modules() -> list[str]:
    """Every module of the package, found by file so that collecting imports nothing."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__main__":  # importing it runs the CLI
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_the_module_walk_finds_the_package():
    assert {"streamlab", "streamlab.sse._decoder", "streamlab.provider.server"} <= set(_modules())


def test_docstring_examples():
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    failed, attempted = [], 0
    for name in _modules():
        result = doctest.testmod(importlib.import_module(name), optionflags=flags, verbose=False)
        attempted += result.attempted
        if result.failed:
            failed.append(f"{name}: {result.failed} of {result.attempted}")
    assert attempted, "no docstring examples found: did the module walk break?"
    assert not failed, f"docstring examples failed (details above): {failed}"
