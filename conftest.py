"""nbval settings for the course notebooks (kept here, not in notebooks/, which holds only what learners use).

Cells marked ``# NBVAL_CHECK_OUTPUT`` keep their reference outputs in git,
but ``make strip`` (nbstripout) blanks every execution count, and nbval
refuses a reference cell with outputs and no count ("Unrun reference cell
has outputs"). A stripped count carries no information, so treat such cells
as run and let nbval compare their outputs.
"""

from __future__ import annotations

import pytest
from nbval.plugin import IPyNbCell


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if isinstance(item, IPyNbCell) and item.cell.get("outputs") and item.cell.get("execution_count") is None:
        item.cell.execution_count = 0
