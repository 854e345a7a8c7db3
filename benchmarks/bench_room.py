"""Benchmark: what a room costs on one host, measured on a real JupyterHub.

The hub of ``tests/room`` (JupyterHub from PyPI, its PyPI proxy, one
single-user server per learner on the same 127.0.0.1, as on TLJH). Every
learner presses Run All on notebooks 00 and 07, one after the other, with
1, N/2 and N learners at once. It prints, per learner:

- the peak memory (VmHWM) of the single-user server and of each kernel;
- the CPU seconds each notebook's kernel used;
- how long Run All took with 1, N/2 and N learners together;

then the hub's and the proxy's own CPU and peak memory, and the sizing
figures the guide's "Running a room" table quotes: memory per learner and
learners per core (a learner's Run All wall time alone over its CPU
seconds: that many learners per core keep pace when all press Run All).

Figures are CPU seconds and peak resident memory from ``/proc`` (Linux):
other load on a shared machine stretches wall times more than those.
Not part of pytest, except ``--quick`` (2 learners, notebook 00, one round).

Run: ``.venv/bin/python benchmarks/bench_room.py [--learners N] [--quick]``

Measured (2026-12, 2 cores x86_64 shared with other work, 6 learners): Run
All of 00 then 07 took 25 / 41 / 40 s with 1 / 3 / 6 learners at once;
kernel CPU 5.0 s (00) and 3.0 s (07), peaks 180 and 107 MB; single-user
server 1.7 s, 146 MB; hub 0.4 s, 122 MB; proxy 4.7 s, 33 MB: 327 MB and
2.6 learners per core. The guide's "Running a room" table quotes these.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "room"))

from _hub import NOTEBOOKS, Hub, Learner, NotebookRun, cost  # noqa: E402


async def _round(hub: Hub, names: list[str], notebooks: tuple[str, ...]) -> list[NotebookRun]:
    async def one(name: str) -> list[NotebookRun]:
        learner = Learner(hub, name)
        try:
            return [await learner.run_notebook(nb) for nb in notebooks]
        finally:
            await learner.aclose()

    return [r for runs in await asyncio.gather(*(one(n) for n in names)) for r in runs]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--learners", type=int, default=6)
    parser.add_argument("--quick", action="store_true", help="2 learners, notebook 00, one round")
    args = parser.parse_args()
    n = 2 if args.quick else max(2, args.learners)
    notebooks = NOTEBOOKS[:1] if args.quick else NOTEBOOKS
    sizes = [n] if args.quick else sorted({1, n // 2, n})
    cores = os.cpu_count() or 1
    print(f"machine: {platform.machine()}, {cores} cores, Python {platform.python_version()}")
    hub = Hub(Path(tempfile.mkdtemp(prefix="bench-room-")))
    failures = []
    try:
        t0 = time.perf_counter()
        hub.start()
        names = [f"learner{i}" for i in range(n)]
        hub.add_learners(names, notebooks)
        print(f"hub up and {n} servers ready in {time.perf_counter() - t0:.1f} s")
        own = hub.own_pids()
        before = {k: cost(pid) for k, pid in own.items()}
        walls: dict[int, float] = {}
        runs_by_size: dict[int, list[NotebookRun]] = {}
        for k in sizes:
            if k == sizes[-1]:  # the servers' own CPU during the largest round
                server_before = {name: cost(hub.server_pid(name)) for name in names}
            t = time.perf_counter()
            runs = asyncio.run(_round(hub, names[:k], notebooks))
            walls[k] = time.perf_counter() - t
            runs_by_size[k] = runs
            failures += [f"{r.user} {r.notebook}: {r.errors[0][:300]}" for r in runs if r.errors]
        servers = {name: cost(hub.server_pid(name)) for name in names}
        after = {k: cost(pid) for k, pid in own.items()}
    finally:
        hub.stop()
    left = hub.leftovers()

    print("\nRun All (each learner: " + ", then ".join(notebooks) + ")")
    print(f"{'learners at once':>17} {'wall s':>8} {'per notebook s (median)':>24}")
    for k in sizes:
        per = statistics.median(r.seconds for r in runs_by_size[k])
        print(f"{k:>17} {walls[k]:>8.1f} {per:>24.1f}")
    print("\nper learner, largest round")
    print(f"{'notebook':<28} {'kernel CPU s':>12} {'kernel peak MB':>15}")
    last = runs_by_size[sizes[-1]]
    for nb in notebooks:
        mine = [r for r in last if r.notebook == nb and r.kernel]
        cpu = statistics.median(r.kernel.cpu_s for r in mine)
        mem = max(r.kernel.peak_mb for r in mine)
        print(f"{nb:<28} {cpu:>12.2f} {mem:>15.0f}")
    server_mb = max(c.peak_mb for c in servers.values() if c)
    server_cpu = statistics.median(
        servers[name].cpu_s - server_before[name].cpu_s
        for name in names
        if servers[name] and server_before[name]
    )
    print(f"{'single-user server':<28} {server_cpu:>12.2f} {server_mb:>15.0f}  (largest round)")
    for k in own:
        if before.get(k) and after.get(k):
            spent = after[k].cpu_s - before[k].cpu_s
            print(f"{k:<28} {spent:>12.2f} {after[k].peak_mb:>15.0f}  (during the rounds)")

    # Sizing: a learner's CPU (largest round) against the wall time of the smallest round.
    kernel_cpu = sum(r.kernel.cpu_s for r in last if r.kernel) / len({r.user for r in last})
    cpu_learner = kernel_cpu + server_cpu
    kernel_mb = max(r.kernel.peak_mb for r in last if r.kernel)
    wall_alone = walls[sizes[0]]
    per_core = wall_alone / cpu_learner if cpu_learner else float("inf")
    print("\nsizing")
    print(f"memory per learner (server + one kernel, peaks): {server_mb + kernel_mb:.0f} MB")
    print(
        f"CPU per learner's Run All: {cpu_learner:.1f} s (kernels {kernel_cpu:.1f}, server "
        f"{server_cpu:.1f}); alone it takes {wall_alone:.1f} s"
    )
    print(f"learners per core pressing Run All together: {per_core:.1f}")
    if len(sizes) > 1:
        print(f"slowdown with {n} at once on {cores} cores: {walls[n] / walls[sizes[0]]:.1f}x")
    print(f"learner runs: {sum(len(v) for v in runs_by_size.values())}, errors: {len(failures)}")
    for f in failures:
        print("  ", f)
    if left:
        print(f"left running: {left}")
    return 1 if failures or left else 0


if __name__ == "__main__":
    sys.exit(main())
