"""Issue 8: every course notebook runs cleanly in JupyterLab, as a learner runs it.

nbval executes the notebooks in a kernel; this opens each one in JupyterLab
in headless Chromium, runs all cells from the Run menu's command, waits for
every cell to finish and asserts that no cell shows an error (a traceback on
stderr, an error output, a widget that failed to render). Cells that are
meant to raise (tag ``raises-exception`` or ``# NBVAL_RAISES_EXCEPTION``) may
show their traceback. The notebooks are globbed at collection time.
"""

from __future__ import annotations

import pytest
from browser_harness import ROOT, LabNotebook

pytestmark = pytest.mark.browser

NOTEBOOKS = sorted(
    p.relative_to(ROOT).as_posix() for p in (ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb")
)
TIMEOUT = 90  # seconds per notebook: each must run offline in under 30 s


@pytest.mark.parametrize(
    "relpath",
    NOTEBOOKS or [pytest.param(None, id="no-notebooks")],
)
def test_notebook_runs_without_errors_in_jupyterlab(relpath, lab_server, lab_page):
    if relpath is None:
        pytest.fail("no course notebooks found: expected notebooks/NN-name.ipynb", pytrace=False)
    nb = LabNotebook(lab_page, lab_server, relpath).open()
    nb.run_all()
    cells = nb.wait_done(timeout=TIMEOUT)
    problems = nb.problems(cells)
    if problems:
        if nb.first_problem is not None:
            nb.scroll_to_cell(nb.first_problem)
        shot = nb.screenshot(f"notebook-{relpath.split('/')[-1]}.png")
        pytest.fail(
            f"{relpath} in JupyterLab ({len(problems)} problem(s); screenshot {shot}):\n\n"
            + "\n\n".join(problems),
            pytrace=False,
        )
