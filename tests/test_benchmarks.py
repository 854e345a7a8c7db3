"""The benchmarks still run: a short run of each prints its figures and ends without a traceback.

They are not timed here (machines are noisy; the figures live in the
benchmarks' own output): this only catches a benchmark broken by a change,
as bench_widgets once was when it read a private attribute that had gone.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from _support import ROOT

RUNS = {
    "widgets": (["bench_widgets.py", "--quick"], "targets: redraws"),
    "sse": (["bench_sse.py", "--quick"], "streamlab vs fastest peer"),
    "background": (["bench_background.py", "--quick"], "every delta exactly once"),
    "provider": (
        ["bench_provider.py", "--only", "c", "--streams", "12", "--tokens", "40", "--ramp-ms", "0"],
        "longest event-loop stall",
    ),
    # A real JupyterHub with 2 learners running notebook 00 (~60 s).
    "room": (["bench_room.py", "--quick"], "learners per core"),
}


@pytest.mark.parametrize("name", RUNS)
def test_a_short_run_completes(name):
    args, says = RUNS[name]
    run = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
    )
    # Exit 1 means a speed target was missed in this short run: fine here.
    assert run.returncode in (0, 1) and "Traceback" not in run.stderr, run.stderr[-3000:]
    assert says in run.stdout, run.stdout[-2000:]
