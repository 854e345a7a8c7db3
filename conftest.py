"""nbval settings for the course notebooks (kept here, not in notebooks/, which holds only what learners use).

``STREAMLAB_REHEARSE=1`` (``make test`` sets it) is meant for the notebooks'
kernels only: they then run under the real providers' default model names,
which the local provider checks as the real APIs do. It is taken out of this
process's environment and put back just while a notebook's kernel starts, so
the unit tests see the plain local provider they were written for.

Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their reference outputs in git,
but ``make strip`` (nbstripout) blanks every execution count, and nbval
refuses a reference cell with outputs and no count ("Unrun reference cell
has outputs"). A stripped count carries no information, so treat such cells
as run and let nbval compare their outputs.
"""

from __future__ import annotations

import os

import pytest
from nbval.plugin import IPyNbCell

_REHEARSE = os.environ.pop("STREAMLAB_REHEARSE", None)


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item):
    notebook = isinstance(item, IPyNbCell)
    if notebook and item.cell.get("outputs") and item.cell.get("execution_count") is None:
        item.cell.execution_count = 0
    if notebook and _REHEARSE:  # the kernel starts in the setup of a notebook's first cell
        os.environ["STREAMLAB_REHEARSE"] = _REHEARSE
    try:
        yield
    finally:
        os.environ.pop("STREAMLAB_REHEARSE", None)
