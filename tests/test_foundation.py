"""The project's skeleton: packaging, environment files, the CLI and `make lab`."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from _support import ROOT, free_port
from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

BIN = Path(sys.executable).parent


def _pyproject_requirements(*extras: str) -> dict[str, str]:
    """Core dependencies plus those of the extras (streamlab[...] self-references left out)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in extras:
        reqs += project["optional-dependencies"][extra]
    parsed = [Requirement(r) for r in reqs]
    return {r.name.lower(): str(r.specifier) for r in parsed if r.name != "streamlab"}


def _environment_requirements(path: Path) -> tuple[dict[str, str], list[str]]:
    env = yaml.safe_load(path.read_text())
    pip_lists = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_lists) == 1, f"{path.name}: expected exactly one pip section"
    reqs, other = {}, []
    for line in pip_lists[0]:
        if line.startswith("-"):
            other.append(line)
            continue
        r = Requirement(line)
        reqs[r.name.lower()] = str(r.specifier)
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    assert any(d.startswith("python") for d in conda), f"{path.name} must pin python"
    return reqs, other


@pytest.mark.parametrize(
    "path, extras",
    [("environment.yml", ("course", "dev")), ("binder/environment.yml", ("course",))],
)
def test_environment_yml_agrees_with_pyproject(path, extras):
    """environment.yml is `.[dev]` (everything); Binder is what learners need, `.[course]`."""
    expected = _pyproject_requirements(*extras)
    found, other = _environment_requirements(ROOT / path)
    missing = sorted(set(expected) - set(found))
    extra = sorted(set(found) - set(expected))
    differ = sorted(n for n in set(expected) & set(found) if expected[n] != found[n])
    assert not (missing or extra or differ), (
        f"{path} disagrees with pyproject.toml: missing {missing}, extra {extra}, "
        f"different bounds {[(n, found[n], expected[n]) for n in differ]}"
    )
    if path == "environment.yml":
        assert "-e ." in other, "environment.yml must install streamlab itself (-e .)"
    else:  # repo2docker fails on `-e .` in the pip section; postBuild installs it
        assert "pip install --no-deps -e ." in (ROOT / "binder/postBuild").read_text()


def test_dev_includes_the_course():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "streamlab[course]" in project["optional-dependencies"]["dev"]


def test_python_floor_matches():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.10"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert "python>=3.10" in env["dependencies"]


def test_package_imports_lazily():
    code = "import sys, streamlab; print(streamlab.__version__); print('starlette' in sys.modules, 'ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    version, heavy = out.stdout.split("\n")[:2]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert heavy == "False False", "import streamlab must not load the server or widgets"


def test_every_public_name_resolves():
    import streamlab

    unresolved = []
    for name in streamlab._EXPORTS:
        try:
            getattr(streamlab, name)
        except (AttributeError, ImportError) as exc:
            unresolved.append(f"{name}: {exc}")
    assert not unresolved, "public names that do not resolve:\n" + "\n".join(unresolved)
    assert set(dir(streamlab)) >= set(streamlab._EXPORTS)


def test_unknown_attribute_has_clear_error():
    import streamlab

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        streamlab.nope  # noqa: B018


def test_console_script_help():
    exe = shutil.which("streamlab", path=str(BIN)) or shutil.which("streamlab")
    assert exe, "the streamlab console script is not installed"
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "usage: streamlab" in out.stdout
    assert "serve" in out.stdout and "info" in out.stdout
    out = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("streamlab ")


def test_info_never_prints_keys():
    env = {**os.environ, "OPENAI_API_KEY": "sk-secret-123456", "ANTHROPIC_API_KEY": "sk-ant-secret"}
    out = subprocess.run(
        [sys.executable, "-m", "streamlab", "info"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert "provider:" in out.stdout
    assert "secret" not in out.stdout + out.stderr


def test_make_lab_serves_the_notebooks(tmp_path):
    """`make lab` (as the README says) starts a server that lists notebooks/."""
    if not shutil.which("make"):
        pytest.fail("make is not installed: the README's commands need it")
    port, token = free_port(), "streamlab-test-token"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_DATA_DIR": str(tmp_path / "data"),
        "JUPYTERLAB_SETTINGS_DIR": str(tmp_path / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    args = f"--no-browser --ServerApp.token={token} --LabApp.news_url=None"
    proc = subprocess.Popen(
        ["make", "-s", "lab", f"PORT={port}", f"LAB_ARGS={args}", f"VENV={BIN.parent}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline, listing = time.monotonic() + 60, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                r = httpx.get(
                    f"http://127.0.0.1:{port}/api/contents", params={"token": token}, timeout=2
                )
                if r.status_code == 200:
                    listing = r.json()
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        if listing is None:
            out = proc.stdout.read().decode() if proc.poll() is not None else "(still running)"
            pytest.fail(f"JupyterLab did not answer on port {port} within 60 s:\n{out[-3000:]}")
        served = {item["name"] for item in listing["content"]}
        on_disk = {p.name for p in (ROOT / "notebooks").glob("*.ipynb")}
        assert on_disk and on_disk <= served, f"notebooks/ not served: {on_disk - served}"
        lab = httpx.get(f"http://127.0.0.1:{port}/lab", params={"token": token}, timeout=10)
        assert lab.status_code == 200 and "JupyterLab" in lab.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_code_is_lint_clean():
    """`make lint` passes, so a red lint shows up in `make test` too."""
    out = subprocess.run(
        ["make", "-s", "lint", f"VENV={BIN.parent}"], cwd=ROOT, capture_output=True, text=True
    )
    assert out.returncode == 0, f"make lint (fix with `make format`):\n{out.stdout}{out.stderr}"


def _readme_commands() -> list[str]:
    """`.venv/bin/...` commands in the READMEs that finish on their own (help, info)."""
    found = []
    for doc in ("README.md", "notebooks/README.md"):
        for cmd in re.findall(r"(\.venv/bin/[^`\n#]+)", (ROOT / doc).read_text()):
            cmd = cmd.strip().rstrip(".,;")
            if cmd.endswith("--help") or " info" in cmd or "help(" in cmd:
                found.append(cmd)
    return found


def test_readme_lists_runnable_commands():
    assert len(_readme_commands()) >= 3, _readme_commands()


@pytest.mark.parametrize("command", _readme_commands())
def test_readme_command_works_as_written(command):
    """Every command in the README works as written (run from the project root)."""
    env = {**os.environ, "PAGER": "cat", "TERM": "dumb"}
    local = command.replace(".venv/bin/", f"{BIN}/", 1)
    out = subprocess.run(
        local, shell=True, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, f"`{command}` failed:\n{out.stdout}\n{out.stderr}"
    assert out.stdout.strip(), f"`{command}` printed nothing"


def _source_repository() -> str:
    """``owner/name`` of the GitHub repository that pyproject.toml's Source URL names."""
    urls = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]
    found = re.fullmatch(r"https://github\.com/([\w.-]+/[\w.-]+?)/?", urls["Source"])
    assert found, (
        f"[project.urls] Source must be https://github.com/OWNER/NAME, not {urls['Source']}"
    )
    return found[1]


_REPO_LINK = re.compile(r"https://(?:mybinder\.org/v2/gh|github\.com)/([\w.-]+/[\w.-]+)")


@pytest.mark.parametrize("doc", ["README.md", "CONTRIBUTING.md", "notebooks/README.md"])
def test_docs_link_the_repository_in_pyproject(doc):
    """The Binder badge and GitHub links name the repository of pyproject's [project.urls]."""
    text = (ROOT / doc).read_text()
    named = set(_REPO_LINK.findall(text))
    if doc == "README.md":
        assert "mybinder.org/v2/gh/" in text, "README.md has lost its Binder badge"
    wrong = sorted(named - {_source_repository()})
    assert not wrong, (
        f"{doc} links {wrong}, but pyproject.toml's [project.urls] Source names "
        f"{_source_repository()}: change the links (pyproject is where the address lives)"
    )
