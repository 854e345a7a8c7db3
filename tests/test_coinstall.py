"""streamlab[course] installs beside the agent frameworks learners try next.

pip resolves (``--dry-run``, nothing is installed) this checkout with
openai-agents, pydantic-ai, instructor, langchain-openai and litellm, and the
versions it picks meet streamlab's floors. The core resolves beside all five;
the course beside all but instructor: every instructor release needs
``jiter<0.15``, which only openai <= 3.3 allows, below the course's
``openai>=3.31`` (openai 3.3 fails the Responses WebSocket steer tests). Needs PyPI: skipped, saying so, when it is
unreachable. The versions pip picks are printed and kept in
``artifacts/coinstall*.json``.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest
from _support import ROOT, pyproject_requirements
from packaging.requirements import Requirement
from packaging.version import Version

FRAMEWORKS = ("openai-agents", "pydantic-ai", "langchain-openai", "litellm")


def _pypi_reachable() -> bool:
    try:
        socket.create_connection(("pypi.org", 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _pypi_reachable(), reason="needs PyPI (pypi.org:443 is unreachable)")
@pytest.mark.parametrize(
    "extra, frameworks", [("", (*FRAMEWORKS, "instructor")), ("[course]", FRAMEWORKS)]
)
def test_streamlab_resolves_beside_the_agent_frameworks(tmp_path, extra, frameworks):
    report = tmp_path / "report.json"
    cmd = [sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed"]
    cmd += ["--quiet", "--report", str(report), f"{ROOT}{extra}", *frameworks]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, f"pip cannot install these together:\n{out.stderr[-4000:]}"
    picked = {
        i["metadata"]["name"].lower(): i["metadata"]["version"]
        for i in json.loads(report.read_text())["install"]
    }
    floors = {
        r.name.lower(): str(r.specifier)
        for r in pyproject_requirements(*(["course"] if extra else []))
    }
    for name in sorted(set(floors) & {"openai", "anthropic", "websockets", "starlette", "uvicorn"}):
        spec = Requirement(f"{name}{floors[name]}").specifier
        assert Version(picked[name]) in spec, f"pip picked {name} {picked[name]}, not {spec}"
    keep = {*floors, *_names(frameworks), "jiter", "openai", "anthropic"}
    shown = {n: picked[n] for n in sorted(picked) if n in keep}
    (ROOT / "artifacts").mkdir(exist_ok=True)
    name = f"coinstall{extra.strip('[]') and '-course'}.json"
    (ROOT / "artifacts" / name).write_text(json.dumps(shown, indent=1))
    print("pip picks:", ", ".join(f"{n} {v}" for n, v in shown.items()))


def _names(reqs: tuple[str, ...]) -> set[str]:
    return {Requirement(r).name.lower() for r in reqs}
