"""Helpers for the tests that stream from the local provider or into a StreamView.

A module, not ``conftest.py``: see ``tests/_support.py`` for why.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: The prompt the stream tests send (the local provider's answer depends on it and the seed).
PROMPT = "Explain server-sent events in three sentences."


def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Poll a condition that another thread (the server, a timer) makes true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)
