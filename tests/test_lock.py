"""The lock: every install path installs it, it satisfies pyproject.toml, and the package knows it.

`make lock` writes requirements/dev.lock.txt, requirements/course.lock.txt and
src/streamlab/_verified.py; these tests fail when someone edits one and not the
others, or adds an install path that does not use the lock.
"""

from __future__ import annotations

import importlib.util
import os
import re
from importlib import metadata

import pytest
import yaml
from _support import ROOT, pyproject_requirements
from packaging.utils import canonicalize_name

_spec = importlib.util.spec_from_file_location("lockfile", ROOT / ".ci" / "lockfile.py")
lockfile = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lockfile)

DEV, COURSE = lockfile.DEV_LOCK, lockfile.COURSE_LOCK


@pytest.mark.parametrize("lock, extras", [(DEV, ("course", "dev")), (COURSE, ("course",))])
def test_the_lock_satisfies_pyproject(lock, extras):
    """Every direct requirement is pinned, for every Python the markers name, inside its range."""
    pins: dict[str, list[str]] = {}
    for name, version, _marker in lockfile.read_lock(lock):
        pins.setdefault(name, []).append(version)
    problems = []
    for req in pyproject_requirements(*extras):
        versions = pins.get(canonicalize_name(req.name))
        if not versions:
            problems.append(f"{req} is not in {lock.name}")
        elif not all(req.specifier.contains(v, prereleases=True) for v in versions):
            problems.append(f"{req} but {lock.name} pins {versions}")
    assert not problems, "run `make lock` and commit the result:\n" + "\n".join(problems)


def test_the_lock_has_hashes_for_every_pin():
    text = DEV.read_text()
    pin_lines = re.findall(r"^[A-Za-z0-9][^\s=]*==", text, re.M)
    assert len(pin_lines) == len(lockfile.read_lock(DEV)) > 50, "a pin read_lock cannot parse"
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [b.split()[0] for b in blocks if "==" in b and "--hash=sha256:" not in b]
    assert not unhashed, f"pins without hashes: {unhashed}"


def test_the_course_lock_is_the_dev_lock_at_the_same_versions():
    dev = {(n, m): v for n, v, m in lockfile.read_lock(DEV)}
    course = {(n, m): v for n, v, m in lockfile.read_lock(COURSE)}
    assert set(course) < set(dev), (
        f"course pins missing from the dev lock: {set(course) - set(dev)}"
    )
    differ = {k: (v, dev[k]) for k, v in course.items() if dev[k] != v}
    assert not differ, f"the course lock and the dev lock disagree: {differ}; run `make lock`"
    assert not any(n in {"pytest", "ruff", "playwright"} for n, _ in course), (
        "test tools in the course"
    )


def test_the_package_knows_the_verified_versions():
    """src/streamlab/_verified.py is what `make lock` would write from today's lock."""
    from streamlab._verified import VERIFIED

    namespace: dict = {}
    exec(lockfile.verified_source(), namespace)  # noqa: S102 - our own generated module
    assert VERIFIED == namespace["VERIFIED"], "run `make lock` (it rewrites _verified.py)"
    assert set(VERIFIED) >= {"openai", "anthropic", "jupyterlab"}


def _pip_lines(path) -> list[str]:
    env = yaml.safe_load(path.read_text())
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d]
    return pip


def test_every_install_path_installs_the_lock():
    makefile = (ROOT / "Makefile").read_text()
    assert "pip install --quiet -r $(DEV_LOCK)" in makefile
    assert "pip install --quiet -r $(COURSE_LOCK)" in makefile
    assert re.search(r"^DEV_LOCK\s*:=\s*requirements/dev\.lock\.txt$", makefile, re.M)
    assert re.search(r"^COURSE_LOCK\s*:=\s*requirements/course\.lock\.txt$", makefile, re.M)
    # conda-env writes the pip lines to a file beside environment.yml, so -r is relative to it.
    assert _pip_lines(ROOT / "environment.yml") == ["-r requirements/dev.lock.txt"]
    assert _pip_lines(ROOT / "binder/environment.yml") == ["-r ../requirements/course.lock.txt"]
    assert "pip install --no-deps -e ." in (ROOT / "binder/postBuild").read_text()
    assert "pip install --no-deps -e ." in (ROOT / "environment.yml").read_text()


@pytest.mark.skipif(
    bool(os.environ.get("STREAMLAB_UNLOCKED")),
    reason="this venv is deliberately not the lock (make test-latest, the floors run)",
)
def test_this_environment_is_the_lock():
    """What `make test` runs in is what the lock says, so a green run verifies the lock."""
    differ = lockfile.drift(DEV)
    missing = [row for row in differ if row[2] == "not installed"]
    other = [row for row in differ if row[2] != "not installed"]
    assert not other, f"installed versions differ from {DEV.name}: {other}"
    assert not missing, f"locked but not installed: {missing}"


def test_drift_lists_what_differs(tmp_path):
    """The drift report names a package whose installed version is not the locked one."""
    real = metadata.version("openai")
    fake = tmp_path / "lock.txt"
    fake.write_text(
        f"openai==0.0.1 \\\n    --hash=sha256:{'0' * 64}\nhttpx=={metadata.version('httpx')}\n"
    )
    assert lockfile.drift(fake) == [("openai", "0.0.1", real)]


def test_info_prints_the_verified_versions_beside_the_installed():
    import subprocess
    import sys

    from streamlab._verified import VERIFIED

    env = {**os.environ, "STREAMLAB_REHEARSE": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "streamlab", "info"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    (row,) = [line for line in out.stdout.splitlines() if line.split()[:1] == ["openai"]]
    assert row.split()[1] == metadata.version("openai")
    assert f"{VERIFIED['openai'][1]} (>= {VERIFIED['openai'][0]})" in row
    assert "gpt-5-mini" in out.stdout  # rehearsal names the real default models


def test_check_versions_warns_in_one_line_outside_the_range(monkeypatch, capsys):
    from streamlab import versions

    assert versions.check_versions() is None or os.environ.get("STREAMLAB_UNLOCKED")
    installed = metadata.version("openai")
    monkeypatch.setitem(versions.VERIFIED, "openai", ("0.1", "0.2"))
    line = versions.check_versions()
    assert line and "\n" not in line and f"openai {installed} is newer" in line
    assert capsys.readouterr().out.strip() == line
    monkeypatch.setitem(versions.VERIFIED, "openai", ("999.0", "999.1"))
    assert "is older" in versions.check_versions()


def test_notebook_00_checks_the_versions_first():
    import json

    nb = json.loads((ROOT / "notebooks" / "00-why-stream.ipynb").read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "streamlab.check_versions()" in "".join(first["source"])
