"""The ``>>>`` examples in the package's docstrings run and print what they say.

Learners read these examples in ``help()`` and ``??``; a stale one teaches the
wrong thing.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import streamlab


def _modules() -> list[str]:
    names = [streamlab.__name__]
    for info in pkgutil.walk_packages(streamlab.__path__, prefix="streamlab."):
        if info.name != "streamlab.__main__":  # importing it runs the CLI
            names.append(info.name)
    return names


def _with_examples(name: str) -> bool:
    finder = doctest.DocTestFinder()
    return any(t.examples for t in finder.find(importlib.import_module(name)))


MODULES = [name for name in _modules() if _with_examples(name)]


def test_some_modules_have_examples():
    assert MODULES, "no docstring examples found: did the module walk break?"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testmod(importlib.import_module(name), optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) in {name} failed (see above)"
