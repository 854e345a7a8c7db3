"""Find, or else install, the Chromium that the browser tests drive.

``make test`` (and so ``.ci/run``) runs this file before pytest; the browser
harness calls :func:`find_browser` to launch the same executable. Standard
library only: it runs with any Python 3.11+.

Order, stopping at the first that gives a browser:

1. ``$CHROMIUM`` or ``$CHROME_PATH`` (an executable file; a wrong value is an
   error, not a fall-through), then ``chromium``, ``chromium-browser``,
   ``google-chrome``, ``google-chrome-stable`` on ``PATH``, then the usual
   install locations (Debian's ``/usr/bin/chromium``, Chrome's, macOS apps)
   and Playwright's own browser folder.
2. Debian/Ubuntu (``apt-get`` on ``PATH``), as root (``id -u`` is 0) or with
   passwordless sudo (``sudo -n true`` succeeds): ``apt-get update`` and
   ``apt-get install chromium``.
3. ``playwright install chromium`` (``playwright`` from ``PATH``; ``make``
   puts the project's ``.venv/bin`` first). It downloads from the internet,
   so it is tried last.
4. Otherwise exit with status 2 and the one command to type.

``STREAMLAB_BROWSER_PATHS`` (paths joined with ``os.pathsep``) replaces the
list of system install locations in step 1 (Playwright's folder is
``PLAYWRIGHT_BROWSERS_PATH``'s), so a test, or a person checking this logic,
can hide the browser. ``STREAMLAB_SKIP_BROWSER=1`` skips it all (the
browser tests then skip too).

Run it as ``python tests/browser/provision_browser.py [--find]``: it prints
the browser's path; ``--find`` only looks and never installs.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

ENV_VARS = ("CHROMIUM", "CHROME_PATH")
PATHS_ENV = "STREAMLAB_BROWSER_PATHS"
SKIP_ENV = "STREAMLAB_SKIP_BROWSER"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SYSTEM_PATHS = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
    "/snap/bin/chromium",
    "/opt/google/chrome/chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
APT_PACKAGE = "chromium"
# Playwright's download folder (PLAYWRIGHT_BROWSERS_PATH overrides it) and
# where a `playwright install chromium` puts the executable inside it.
PLAYWRIGHT_GLOBS = (
    "chromium-*/chrome-linux*/chrome",
    "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
)
INSTALL_TIMEOUT = 600  # seconds for one apt-get or playwright step


class BrowserError(RuntimeError):
    """No usable browser, with what was tried and the command that fixes it."""


def _executable(path: str | Path) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _playwright_folder() -> Path:
    custom = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if custom and custom != "0":
        return Path(custom)
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ms-playwright"
    return Path.home() / ".cache" / "ms-playwright"


def _install_locations() -> list[str]:
    listed = os.environ.get(PATHS_ENV)
    system = SYSTEM_PATHS if listed is None else [p for p in listed.split(os.pathsep) if p]
    found = list(system)
    for pattern in PLAYWRIGHT_GLOBS:  # newest revision first
        found += sorted(glob.glob(str(_playwright_folder() / pattern)), reverse=True)
    return found


def find_browser() -> Path | None:
    """The Chromium/Chrome executable to use, or None when there is none.

    Raises BrowserError when ``$CHROMIUM``/``$CHROME_PATH`` names something
    that is not an executable file: a typo should not silently pick another
    browser.
    """
    for var in ENV_VARS:
        value = os.environ.get(var)
        if value:
            if _executable(value):
                return Path(value)
            raise BrowserError(
                f"${var} is {value!r}, which is not an executable file. Point it at "
                f"Chromium or Chrome (e.g. {var}=/usr/bin/chromium) or unset it."
            )
    for name in NAMES:
        on_path = shutil.which(name)
        if on_path:
            return Path(on_path)
    for candidate in _install_locations():
        if _executable(candidate):
            return Path(candidate)
    return None


def _run(cmd: list[str], log: list[str]) -> bool:
    """Run one install step, echoing it; whether it succeeded (its output tail goes to log)."""
    print(f"provision_browser: {' '.join(cmd)}", file=sys.stderr, flush=True)
    try:
        out = subprocess.run(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=INSTALL_TIMEOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.append(f"`{' '.join(cmd)}` did not run to the end: {exc}")
        return False
    if out.returncode != 0:
        tail = "\n    ".join(out.stdout.strip().splitlines()[-5:])
        log.append(f"`{' '.join(cmd)}` exited with {out.returncode}:\n    {tail}")
    return out.returncode == 0


def _apt_prefix() -> list[str] | None:
    """How to run apt-get: [] as root, ["sudo", "-n"] with passwordless sudo, else None."""
    if _is_root():
        return []
    if _passwordless_sudo():
        return ["sudo", "-n"]
    return None


def _is_root() -> bool:
    try:
        out = subprocess.run(["id", "-u"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.stdout.strip() == "0"


def _passwordless_sudo() -> bool:
    if not shutil.which("sudo"):
        return False
    try:
        ok = subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return ok.returncode == 0


def provision() -> Path:
    """Find the browser, or install it (apt, then Playwright); raise BrowserError with the fix."""
    found = find_browser()
    if found:
        return found
    tried: list[str] = []
    fix = ".venv/bin/playwright install chromium"
    if shutil.which("apt-get"):
        prefix = _apt_prefix()
        fix = f"{'' if prefix == [] else 'sudo '}apt-get install {APT_PACKAGE}"
        if prefix is None:
            tried.append("apt-get: not root, and sudo is missing or asks for a password")
        elif _run([*prefix, "apt-get", "update", "-qq"], tried) and _run(
            [*prefix, "apt-get", "install", "-y", "-qq", APT_PACKAGE], tried
        ):
            found = find_browser()
            if found:
                return found
            tried.append(f"apt-get installed {APT_PACKAGE}, but no browser is where it looks")
    if shutil.which("playwright"):
        if _run(["playwright", "install", "chromium"], tried):
            found = find_browser()
            if found:
                return found
            tried.append("playwright installed chromium, but no browser is where it looks")
    else:
        tried.append("playwright is not on PATH (run through `make test`, which adds .venv/bin)")
    raise BrowserError(
        "No Chromium or Chrome for the browser tests, and none could be installed.\n"
        + "".join(f"  - {t}\n" for t in tried)
        + f"Type:\n\n    {fix}\n\n"
        + f"or point {ENV_VARS[0]}=/path/to/chromium at a browser you have, "
        + f"or skip the browser tests with {SKIP_ENV}=1."
    )


def main(argv: list[str]) -> int:
    if os.environ.get(SKIP_ENV) == "1":
        print(f"provision_browser: skipped ({SKIP_ENV}=1)", file=sys.stderr)
        return 0
    try:
        path = find_browser() if "--find" in argv else provision()
    except BrowserError as exc:
        print(f"provision_browser: {exc}", file=sys.stderr)
        return 2
    if path is None:
        print("provision_browser: no browser found", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
