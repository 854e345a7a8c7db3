"""The Vercel AI SDK (the ``ai`` npm package) for tests, installed once from npm.

The package goes into a throwaway folder under ``.cache/`` (gitignored) and
stays there for later runs. Node and npm must be on the machine: a test that
needs them fails with a message saying so, it never skips silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _support import ROOT

#: The AI SDK version the UI message stream is checked against (ai 6).
AI_VERSION = "6.0.326"
NODE_DIR = ROOT / ".cache" / f"node-ai-{AI_VERSION}"
SCRIPTS = ROOT / "tests" / "node"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH, so the AI SDK reader cannot run. Install Node.js and "
            "npm (Debian: `sudo apt-get install nodejs npm`); the test installs the `ai` "
            "package itself.",
            pytrace=False,
        )
    return path


def ai_sdk_dir() -> Path:
    """A folder with ``node_modules/ai`` (installed from npm on first use) and the test scripts."""
    node, npm = _tool("node"), _tool("npm")
    if not (NODE_DIR / "node_modules" / "ai" / "package.json").exists():
        tmp = NODE_DIR.with_name(f"{NODE_DIR.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "package.json").write_text(json.dumps({"private": True, "type": "module"}))
        r = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", f"ai@{AI_VERSION}"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if r.returncode != 0:
            pytest.fail(f"npm install ai@{AI_VERSION} failed:\n{r.stderr[-2000:]}", pytrace=False)
        try:
            tmp.rename(NODE_DIR)
        except OSError:  # another worker installed it first
            shutil.rmtree(tmp, ignore_errors=True)
    for script in SCRIPTS.glob("*.mjs"):  # ESM resolves `ai` next to the script
        shutil.copy(script, NODE_DIR / script.name)
    subprocess.run([node, "--version"], check=True, capture_output=True)
    return NODE_DIR


def run_node(script: str, *args: str, timeout: float = 60) -> dict:
    """Run ``tests/node/<script>`` with the AI SDK; its stdout parsed as JSON."""
    folder = ai_sdk_dir()
    r = subprocess.run(
        [_tool("node"), str(folder / script), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, f"node {script} failed:\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])
