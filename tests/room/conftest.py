"""The room: one real JupyterHub with N learners for every test in this folder (see ``_hub``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "browser"))  # browser_harness

from _hub import NOTEBOOKS, Hub, learners_from_env  # noqa: E402


@pytest.fixture(scope="module")
def room(tmp_path_factory):
    """A started hub whose learners (``room.names``) each have a running server."""
    hub = Hub(tmp_path_factory.mktemp("hub"))
    try:
        hub.start()
        hub.names = [f"learner{i}" for i in range(learners_from_env())]
        hub.add_learners(hub.names, NOTEBOOKS)
        yield hub
    finally:
        hub.stop()
