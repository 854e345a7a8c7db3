"""Each branch of tests/browser/provision_browser.py (what `make test` runs first).

The script runs for real, as `make` runs it, but on a machine made up for the
test: PATH holds only fake ``id``, ``sudo``, ``apt-get`` and ``playwright``
(small Python scripts that log their arguments and "install" a browser by
creating an executable file), and ``STREAMLAB_BROWSER_PATHS`` replaces the
system install locations with a folder of the test's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from _support import ROOT

SCRIPT = ROOT / "tests" / "browser" / "provision_browser.py"

_FAKE = """#!{python}
import os, sys
from pathlib import Path
name, args = {name!r}, sys.argv[1:]
with open({log!r}, "a") as log:
    log.write(" ".join([name, *args]) + "\\n")
if name == "sudo" and args[:1] == ["-n"] and args[1:] != ["true"]:
    os.execvp(args[1], args[1:])  # passwordless sudo: run the command as is
if {creates!r} and (name != "apt-get" or "install" in args):
    Path({creates!r}).parent.mkdir(parents=True, exist_ok=True)
    Path({creates!r}).write_text("#!/bin/sh\\n")
    Path({creates!r}).chmod(0o755)
print("{name}: fake output")
sys.exit({code})
"""


@dataclass
class Machine:
    """A made-up machine: a PATH of fake tools and a system folder for browsers."""

    tmp: Path

    def __post_init__(self) -> None:
        self.bin = self.tmp / "bin"
        self.bin.mkdir()
        self.system = self.tmp / "usr-bin"  # stands for /usr/bin and friends
        self.log = self.tmp / "calls.log"
        self.log.touch()

    def tool(self, name: str, *, code: int = 0, creates: Path | None = None) -> None:
        path = self.bin / name
        path.write_text(
            _FAKE.format(
                python=sys.executable,
                name=name,
                log=str(self.log),
                creates=str(creates) if creates else "",
                code=code,
            )
        )
        path.chmod(0o755)

    def uid(self, uid: int) -> None:
        """A fake ``id`` for which ``id -u`` prints uid."""
        (self.bin / "id").write_text(f"#!{sys.executable}\nprint({uid})\n")
        (self.bin / "id").chmod(0o755)

    def browser(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    def run(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = {
            "PATH": str(self.bin),
            "HOME": str(self.tmp / "home"),
            "PLAYWRIGHT_BROWSERS_PATH": str(self.tmp / "ms-playwright"),
            "STREAMLAB_BROWSER_PATHS": str(self.system / "chromium"),
        }
        return subprocess.run(
            [sys.executable, str(SCRIPT), *args],
            env={**base, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    @property
    def calls(self) -> list[str]:
        return self.log.read_text().splitlines()


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    return Machine(tmp_path)


def test_an_existing_browser_is_used_and_nothing_installed(machine):
    machine.browser(machine.system / "chromium")
    machine.uid(0)
    machine.tool("apt-get")
    machine.tool("playwright")
    out = machine.run()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(machine.system / "chromium")
    assert machine.calls == []


@pytest.mark.parametrize("var", ["CHROMIUM", "CHROME_PATH"])
def test_the_environment_variable_wins(machine, var):
    machine.browser(machine.system / "chromium")
    mine = machine.browser(machine.tmp / "my" / "chrome")
    out = machine.run(**{var: str(mine)})
    assert out.returncode == 0 and out.stdout.strip() == str(mine), out.stderr


def test_a_wrong_environment_variable_is_an_error_not_a_fall_through(machine):
    machine.browser(machine.system / "chromium")
    out = machine.run(CHROMIUM=str(machine.tmp / "typo"))
    assert out.returncode == 2
    assert "$CHROMIUM" in out.stderr and "not an executable file" in out.stderr


def test_a_browser_on_path_is_found(machine):
    machine.browser(machine.bin / "google-chrome")
    out = machine.run()
    assert out.returncode == 0 and out.stdout.strip() == str(machine.bin / "google-chrome")


def test_root_on_debian_installs_with_apt(machine):
    machine.uid(0)
    machine.tool("apt-get", creates=machine.system / "chromium")
    machine.tool("playwright")
    out = machine.run()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(machine.system / "chromium")
    assert machine.calls == ["apt-get update -qq", "apt-get install -y -qq chromium"]


def test_passwordless_sudo_installs_with_apt(machine):
    machine.uid(1000)
    machine.tool("sudo", code=0)
    machine.tool("apt-get", creates=machine.system / "chromium")
    out = machine.run()
    assert out.returncode == 0, out.stderr
    assert machine.calls == [
        "sudo -n true",
        "sudo -n apt-get update -qq",
        "apt-get update -qq",
        "sudo -n apt-get install -y -qq chromium",
        "apt-get install -y -qq chromium",
    ]


def test_sudo_with_a_password_falls_through_to_playwright(machine):
    machine.uid(1000)
    machine.tool("sudo", code=1)
    machine.tool("apt-get")
    pw = machine.tmp / "ms-playwright" / "chromium-1234" / "chrome-linux64" / "chrome"
    machine.tool("playwright", creates=pw)
    out = machine.run()
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(pw)
    assert machine.calls == ["sudo -n true", "playwright install chromium"]


def test_a_failing_apt_falls_through_to_playwright(machine):
    machine.uid(0)
    machine.tool("apt-get", code=100)
    machine.tool("playwright", creates=machine.system / "chromium")
    out = machine.run()
    assert out.returncode == 0, out.stderr
    assert machine.calls == ["apt-get update -qq", "playwright install chromium"]


def test_debian_user_without_sudo_is_told_the_apt_command(machine):
    machine.uid(1000)
    machine.tool("apt-get")
    machine.tool("playwright", code=1)
    out = machine.run()
    assert out.returncode == 2
    assert "    sudo apt-get install chromium\n" in out.stderr
    assert "playwright install chromium` exited with 1" in out.stderr
    assert machine.calls == ["playwright install chromium"]


def test_elsewhere_is_told_the_playwright_command(machine):
    machine.tool("playwright", code=1)
    out = machine.run()
    assert out.returncode == 2
    assert "    .venv/bin/playwright install chromium\n" in out.stderr
    assert machine.calls == ["playwright install chromium"]
    assert "STREAMLAB_SKIP_BROWSER=1" in out.stderr


def test_find_only_never_installs(machine):
    machine.uid(0)
    machine.tool("apt-get", creates=machine.system / "chromium")
    machine.tool("playwright", creates=machine.system / "chromium")
    out = machine.run("--find")
    assert out.returncode == 1 and out.stdout == ""
    assert machine.calls == []


def test_opting_out_skips_everything(machine):
    machine.tool("playwright")
    out = machine.run(STREAMLAB_SKIP_BROWSER="1")
    assert out.returncode == 0 and "skipped" in out.stderr
    assert machine.calls == []


def test_the_harness_finds_what_the_script_finds(machine, monkeypatch):
    """browser_harness launches the same executable that `make test` provisioned."""
    found = machine.browser(machine.system / "chromium")
    for name, value in {
        "PATH": str(machine.bin),
        "STREAMLAB_BROWSER_PATHS": str(found),
    }.items():
        monkeypatch.setenv(name, value)
    for name in ("CHROMIUM", "CHROME_PATH", "STREAMLAB_SKIP_BROWSER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    from browser_harness import require_chromium

    assert require_chromium() == found
    assert os.fspath(found) == machine.run().stdout.strip()
