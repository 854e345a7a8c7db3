"""Real Node clients for tests, installed once from npm at pinned versions.

The Vercel AI SDK (``ai``, with its OpenAI and Anthropic providers) and the
official ``openai`` and ``@anthropic-ai/sdk`` packages go into a throwaway
folder under ``.cache/`` (gitignored) and stay there for later runs. Node and npm must be on the machine: a test that
needs them fails with a message saying so, it never skips silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from _support import ROOT

#: The AI SDK version the UI message stream is checked against (ai 6).
AI_VERSION = "6.0.326"
#: Every package the scripts in tests/node import; the providers are ai 6's line.
PACKAGES = {
    "ai": AI_VERSION,
    "@ai-sdk/openai": "3.0.141",
    "@ai-sdk/anthropic": "3.0.140",
    "openai": "7.60.0",
    "@anthropic-ai/sdk": "1.16.0",
    "zod": "4.6.7",
}
_TAG = hashlib.sha256(json.dumps(PACKAGES, sort_keys=True).encode()).hexdigest()[:10]
NODE_DIR = ROOT / ".cache" / f"node-clients-{_TAG}"
SCRIPTS = ROOT / "tests" / "node"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` is not on PATH, so the Node client tests cannot run. Install Node.js and "
            "npm (Debian: `sudo apt-get install nodejs npm`); the tests install the npm "
            "packages themselves.",
            pytrace=False,
        )
    return path


def clients_dir() -> Path:
    """A folder with ``PACKAGES`` in ``node_modules`` (installed on first use) and the test scripts."""
    node, npm = _tool("node"), _tool("npm")
    if not (NODE_DIR / "node_modules" / ".streamlab-complete").exists():
        tmp = NODE_DIR.with_name(f"{NODE_DIR.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "package.json").write_text(json.dumps({"private": True, "type": "module"}))
        specs = [f"{name}@{version}" for name, version in PACKAGES.items()]
        r = subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *specs],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if r.returncode != 0:
            pytest.fail(f"npm install {' '.join(specs)} failed:\n{r.stderr[-2000:]}", pytrace=False)
        (tmp / "node_modules" / ".streamlab-complete").write_text("\n".join(specs))
        try:
            tmp.rename(NODE_DIR)
        except OSError:  # another worker installed it first
            shutil.rmtree(tmp, ignore_errors=True)
    for script in SCRIPTS.glob("*.mjs"):  # ESM resolves packages next to the script
        shutil.copy(script, NODE_DIR / script.name)
    subprocess.run([node, "--version"], check=True, capture_output=True)
    return NODE_DIR


def run_node(script: str, *args: str, timeout: float = 60) -> dict:
    """Run ``tests/node/<script>`` with the Node clients; its last stdout line parsed as JSON."""
    folder = clients_dir()
    r = subprocess.run(
        [_tool("node"), str(folder / script), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert r.returncode == 0, f"node {script} failed:\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])
