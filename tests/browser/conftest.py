"""The browser fixtures for every test in this folder, defined in ``browser_harness.py``.

Registered here once, rather than imported into each test module. Nothing
imports this module (the root ``conftest.py`` shadows the name
``conftest``): helpers come from ``browser_harness``.
"""

from __future__ import annotations

from browser_harness import _browser_session, chromium, lab_page, lab_server

__all__ = ["_browser_session", "chromium", "lab_page", "lab_server"]
