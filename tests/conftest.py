"""Fixtures shared by the whole suite.

Area-specific fixtures live beside their tests (tests/_*.py helpers or the
test module itself); only truly shared ones belong here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import ROOT


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def local_server():
    """A running streamlab local provider with zero delays, shared by the session.

    Use per-request ``x-streamlab-*`` headers (extra_headers=) for timing or
    faults; ``local_server.stats`` counts generations.
    """
    from streamlab.provider import serve

    server = serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0)
    try:
        yield server
    finally:
        server.stop()
