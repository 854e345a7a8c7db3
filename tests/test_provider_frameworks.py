"""Agent frameworks and client libraries from PyPI complete a tool round trip against the local provider, offline.

Their pins clash with ours (openai-agents needs ``websockets<17``; instructor
needs ``jiter<0.15``), so each group lives in its own throwaway virtualenv
under ``.venv-frameworks/`` (gitignored), made with ``python -m venv`` and pip
from PyPI and keyed by a hash of its requirements: made once, then reused.
The server runs here, in the test process; each framework runs as a script
in its venv, pointed at the server's base URL. A failed install fails the
test with pip's output: it is never skipped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _support import ROOT

SCRIPTS = Path(__file__).parent / "frameworks"
VENVS = ROOT / ".venv-frameworks"
AGENTS = ("openai-agents==0.24.0", "pydantic-ai-slim[openai]==2.68.0")
INSTRUCTOR = ("instructor==1.17.0",)
CLIENTS = ("langchain-openai==1.8.1", "langchain-anthropic==1.7.10", "litellm==1.110.2")


def framework_python(requirements: tuple[str, ...]) -> Path:
    """The python of a venv holding ``requirements``, made on first use."""
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    venv = VENVS / key
    python = venv / "bin" / "python"
    stamp = venv / ".installed"
    if stamp.exists():
        return python
    shutil.rmtree(venv, ignore_errors=True)
    VENVS.mkdir(exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", str(venv)],
        [
            str(python),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *requirements,
        ],
    ]
    for cmd in steps:
        run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if run.returncode != 0:
            pytest.fail(
                f"Could not make the frameworks venv {venv} ({' '.join(cmd[:4])} ... exited "
                f"{run.returncode}). It needs PyPI; pip said:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}",
                pytrace=False,
            )
    stamp.write_text("\n".join(requirements) + "\n")
    return python


def run_script(python: Path, script: str, base_url: str) -> dict:
    run = subprocess.run(
        [str(python), str(SCRIPTS / script), base_url],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "OPENAI_API_KEY": "local", "HOME": str(VENVS)},
    )
    assert run.returncode == 0, f"{script} failed:\n{run.stdout}\n{run.stderr[-4000:]}"
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def agents_python() -> Path:
    return framework_python(AGENTS)


def test_openai_agents_run_streamed_with_a_function_tool(agents_python, local_server):
    out = run_script(agents_python, "agents_roundtrip.py", local_server.base_url)
    assert out["calls"] == ["Lisbon"]
    assert out["items"] == ["tool_call_item", "tool_call_output_item", "message_output_item"]
    assert "Sunny and 21 C in Lisbon" in out["final"] and out["deltas"] > 5


def test_pydantic_ai_tool_and_structured_output(agents_python, local_server):
    out = run_script(agents_python, "pydantic_ai_roundtrip.py", local_server.base_url)
    assert out["calls"] == ["Lisbon"]
    assert out["tool_calls"] == ["get_weather", "final_result"]
    assert out["output"]["city"] == "Lisbon"
    assert "Sunny and 21 C" in out["output"]["summary"]


def test_instructor_tools_mode(local_server):
    python = framework_python(INSTRUCTOR)
    out = run_script(python, "instructor_tools.py", local_server.base_url)
    assert out["tools"]["city"] == "Lisbon" and isinstance(out["tools"]["population"], int)
    assert out["json"]["city"] and isinstance(out["json"]["population"], int)
    # create_partial names its tool after a Partial model, so the values may differ.
    last = out["partial"][-1]
    assert len(out["partial"]) > 2 and last["city"] == "Lisbon"
    assert isinstance(last["population"], int)


@pytest.fixture(scope="module")
def clients_python() -> Path:
    return framework_python(CLIENTS)


def test_langchain_streamed_tool_loop_on_all_three_apis(clients_python, local_server):
    out = run_script(clients_python, "langchain_roundtrip.py", local_server.base_url)
    for api in ("chat", "responses", "messages"):
        run = out[api]
        assert run["calls"] == [["get_weather", {"city": "Lisbon"}]], api
        assert "Sunny and 21 C in Lisbon" in run["final"], api
        assert run["chunks"] > 10, api


def test_litellm_streamed_tool_loop_as_openai_and_anthropic(clients_python, local_server):
    out = run_script(clients_python, "litellm_roundtrip.py", local_server.base_url)
    for route in ("openai", "anthropic"):
        run = out[route]
        assert run["calls"] == [["get_weather", {"city": "Lisbon"}]], route
        assert run["finishes"] == ["tool_calls", "stop"], route
        assert "Sunny and 21 C in Lisbon" in run["final"], route
