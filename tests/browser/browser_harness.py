"""Drive JupyterLab in headless Chromium: what a learner sees, tested.

- :class:`LabServer` starts ``jupyter lab`` on a free port with a token and
  throwaway config, settings, workspaces and runtime folders (two servers may
  run at once under pytest-xdist), rooted at the repository so it can open
  ``notebooks/`` and ``tests/browser/``.
- :func:`launch_chromium` starts, through Playwright, the Chromium or Chrome
  that ``provision_browser.find_browser`` finds (``make test`` installs one
  first when there is none; see that module for the order).
- :class:`LabNotebook` opens a notebook, waits for the kernel, runs all
  cells, waits for them to finish and lists error outputs.

Every wait is a wait-for on a condition, with a timeout and a message that
says what was being waited for.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from provision_browser import SKIP_ENV, BrowserError, find_browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
# Headless Chromium as root in a container: no sandbox (it needs user
# namespaces that containers lack), no GPU, and no background traffic
# (updates, sync, first-run pages) that would go to the internet.
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require_chromium() -> Path:
    """The browser to launch; fail (never skip silently) when there is none, unless opted out."""
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"browser tests skipped on request ({SKIP_ENV}=1)")
    try:
        found = find_browser()
    except BrowserError as exc:
        pytest.fail(str(exc), pytrace=False)
    if found is None:
        pytest.fail(
            "No Chromium or Chrome found, so the browser tests cannot run. `make test` "
            "installs one first (python tests/browser/provision_browser.py does the same "
            f"alone); or set CHROMIUM=/path/to/chromium, or opt out with {SKIP_ENV}=1.",
            pytrace=False,
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


class LabServer:
    """A JupyterLab server for one test session (use as a context manager)."""

    def __init__(self, root_dir: Path = ROOT, *, startup_timeout: float = 60.0) -> None:
        self.root_dir = root_dir
        self.startup_timeout = startup_timeout
        self.token = secrets.token_hex(16)
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="streamlab-lab-"))
        self.log_path = self.tmp / "lab.log"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def notebook_url(self, relpath: str) -> str:
        # ?reset: start from an empty workspace, whatever was open before.
        return f"{self.base_url}/lab/tree/{relpath}?reset&token={self.token}"

    def _prepare_dirs(self) -> dict[str, str]:
        settings = self.tmp / "settings"
        # No news toast, no update check: they cover the notebook in screenshots.
        _write_json(
            settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings",
            {"fetchNews": "false", "checkForUpdates": False},
        )
        # Render every cell in the DOM (Lab 4 can window long notebooks), so
        # outputs of all cells can be inspected.
        _write_json(
            settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings",
            {"windowingMode": "none"},
        )
        # Never write back: Lab autosaves open documents (every 120 s), which
        # would commit outputs into the course notebooks under test.
        _write_json(
            settings / "@jupyterlab" / "docmanager-extension" / "plugin.jupyterlab-settings",
            {"autosave": False},
        )
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / "workspaces"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            IPYTHONDIR=str(self.tmp / "ipython"),
            # The course runs offline by default; never let a CI variable point it elsewhere.
            STREAMLAB_PROVIDER="local",
            PYTHONUNBUFFERED="1",
        )
        for d in ("config", "workspaces", "runtime", "ipython"):
            (self.tmp / d).mkdir(parents=True, exist_ok=True)
        return env

    def start(self) -> LabServer:
        env = self._prepare_dirs()
        last_error = ""
        for _attempt in range(3):  # a free port can be taken by another worker meanwhile
            self.port = _free_port()
            cmd = [
                sys.executable,
                "-m",
                "jupyter",
                "lab",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.root_dir}",
                "--LabApp.news_url=None",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                # window.jupyterapp: run commands (Run All) the way the menu does.
                "--LabApp.expose_app_in_browser=True",
                # Lab writes a checkpoint copy of every notebook it opens, by
                # default into .ipynb_checkpoints/ beside it: in the repo, where
                # globs like notebooks/**/*.ipynb would find the stale copies.
                # An absolute directory keeps them all in the throwaway folder.
                f"--FileCheckpoints.checkpoint_dir={self.tmp / 'checkpoints'}",
            ]
            if hasattr(os, "geteuid") and os.geteuid() == 0:
                cmd.append("--allow-root")
            log = self.log_path.open("ab")
            self.proc = subprocess.Popen(
                cmd,
                cwd=self.root_dir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: kernels go with it
            )
            log.close()
            if self._wait_ready():
                return self
            last_error = self.log_tail()
            self._kill()
        raise RuntimeError(f"JupyterLab did not start after 3 attempts. Log:\n{last_error}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                return False
            try:
                r = httpx.get(
                    f"{self.base_url}/api/status", params={"token": self.token}, timeout=2
                )
                if r.status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)  # polling a process that is starting: nothing to wait on instead
        return False

    def shutdown_kernels(self) -> None:
        """End every session and its kernel (between notebooks: CPU is scarce)."""
        params = {"token": self.token}
        try:
            sessions = httpx.get(f"{self.base_url}/api/sessions", params=params, timeout=10).json()
            for session in sessions:
                httpx.delete(
                    f"{self.base_url}/api/sessions/{session['id']}", params=params, timeout=30
                )
        except httpx.HTTPError:
            pass  # the server is going away anyway

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    def _kill(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # Lab shuts its kernels down
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:  # anything left in the group we started (a stuck kernel)
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        self._kill()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def launch_chromium(playwright: Any, executable: Path) -> Any:
    """Headless ``executable`` (from :func:`require_chromium`) through Playwright."""
    return playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)


@dataclass
class CellReport:
    index: int
    prompt: str
    error_text: str


# Runs in the page: per cell, its prompt and the text of error-looking outputs.
_CELLS_JS = """
() => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell')].map((cell, i) => {
  const prompt = cell.querySelector('.jp-InputArea-prompt');
  const errors = [];
  for (const out of cell.querySelectorAll('.jp-OutputArea-output')) {
    const text = out.innerText || '';
    const stderr = out.getAttribute('data-mime-type') === 'application/vnd.jupyter.stderr';
    if ((stderr && text.includes('Traceback')) || out.classList.contains('jp-OutputArea-error')
        || text.includes('Error displaying widget') || text.includes('Error rendering output')) {
      errors.push(text.slice(0, 3000));
    }
  }
  return {index: i, code: cell.classList.contains('jp-CodeCell'),
          prompt: prompt ? prompt.innerText.trim() : '', errors};
})
"""

_KERNEL_IDLE_JS = """
() => { const bar = document.querySelector('#jp-main-statusbar');
        return !!bar && bar.innerText.includes('| Idle'); }
"""


class LabNotebook:
    """One notebook opened in a Playwright page of a running :class:`LabServer`."""

    def __init__(self, page: Any, lab: LabServer, relpath: str) -> None:
        self.page = page
        self.lab = lab
        self.relpath = relpath
        self.path = lab.root_dir / relpath
        self.nb = json.loads(self.path.read_text())

    def open(self, timeout: float = 60.0) -> LabNotebook:
        page = self.page
        page.goto(self.lab.notebook_url(self.relpath), wait_until="domcontentloaded")
        page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout * 1000)
        # The toolbar says idle while the kernel is still connecting; the
        # status bar's "| Idle" means it really is ready.
        try:
            page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout * 1000)
        except Exception as exc:
            dialog = page.locator(".jp-Dialog")
            hint = (
                f" A dialog is open: {dialog.first.inner_text()!r} (no kernelspec in the notebook?)."
                if dialog.count()
                else ""
            )
            raise AssertionError(
                f"{self.relpath}: the kernel never reached '| Idle' within {timeout:.0f} s.{hint}\n"
                f"Lab log:\n{self.lab.log_tail()}"
            ) from exc
        return self

    def run_all(self) -> None:
        # Not awaited: the command's promise resolves only when every cell is
        # done, and the tests want to watch the cells while they run.
        self.page.evaluate(
            "() => { void window.jupyterapp.commands.execute('notebook:run-all-cells'); }"
        )

    def cells(self) -> list[dict[str, Any]]:
        return list(self.page.evaluate(_CELLS_JS))

    def wait_done(self, timeout: float = 90.0) -> list[dict[str, Any]]:
        """Wait until no cell is queued or running and the kernel is idle."""
        done_js = (
            "() => { const cells = (" + _CELLS_JS + ")().filter(c => c.code);"
            " const idle = (" + _KERNEL_IDLE_JS + ")();"
            " return idle && cells.length > 0 && !cells.some(c => c.prompt.includes('*'))"
            " && cells.some(c => /\\d/.test(c.prompt)); }"
        )
        try:
            self.page.wait_for_function(done_js, timeout=timeout * 1000, polling=250)
        except Exception as exc:
            running = [c["index"] for c in self.cells() if "*" in c["prompt"]]
            raise AssertionError(
                f"{self.relpath}: cells still running or queued after {timeout:.0f} s: {running}"
            ) from exc
        return self.cells()

    def allowed_to_raise(self) -> set[int]:
        """Cells that are meant to raise (``raises-exception`` tag or NBVAL marker)."""
        allowed = set()
        for i, cell in enumerate(self.nb["cells"]):
            src = "".join(cell.get("source", ""))
            tags = cell.get("metadata", {}).get("tags", [])
            if "raises-exception" in tags or "NBVAL_RAISES_EXCEPTION" in src:
                allowed.add(i)
        return allowed

    def problems(self, cells: list[dict[str, Any]]) -> list[str]:
        """Error outputs and code cells that never ran, as readable lines."""
        allowed = self.allowed_to_raise()
        self.first_problem: int | None = None
        out = []
        sources = ["".join(c.get("source", "")) for c in self.nb["cells"]]
        for c in cells:
            i = c["index"]
            if c["errors"] and i not in allowed:
                self.first_problem = i if self.first_problem is None else self.first_problem
                out.append(f"cell {i} ({c['prompt']}) shows an error:\n{c['errors'][0]}")
            elif (
                c["code"]
                and i < len(sources)
                and sources[i].strip()
                and not any(ch.isdigit() for ch in c["prompt"])
            ):
                out.append(
                    f"cell {i} never ran (prompt {c['prompt']!r}): an earlier cell stopped Run All?"
                )
        return out

    def scroll_to_cell(self, index: int) -> None:
        cell = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(
            index
        )
        cell.scroll_into_view_if_needed()

    def screenshot(self, name: str, selector: str | None = None) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / name
        if selector:
            loc = self.page.locator(selector).first
            loc.scroll_into_view_if_needed()  # Lab scrolls inside its own panel
            loc.screenshot(path=str(path))
        else:
            self.page.screenshot(path=str(path))
        return path


# -- fixtures (tests/browser/conftest.py registers them for this folder) --------
#
# Imported into a test module, fixtures are registered once per importing
# module, so two modules would mean two JupyterLabs and two Playwrights, and
# a second sync Playwright cannot start while one runs in the same thread.
# The fixtures therefore share one of each per process (per xdist worker),
# counted, and the last user closes them, however they are registered.


class _Shared:
    def __init__(self) -> None:
        self.users = 0
        self.lab: LabServer | None = None
        self.playwright: Any = None
        self.browser: Any = None

    def acquire(self, executable: Path) -> _Shared:
        if self.users == 0:
            from playwright.sync_api import sync_playwright

            self.lab = LabServer(ROOT).start()
            try:
                self.playwright = sync_playwright().start()
                self.browser = launch_chromium(self.playwright, executable)
            except BaseException:
                self.release(force=True)
                raise
        self.users += 1
        return self

    def release(self, *, force: bool = False) -> None:
        self.users -= 1
        if self.users > 0 and not force:
            return
        self.users = 0
        if self.browser is not None:
            self.browser.close()
        if self.playwright is not None:
            self.playwright.stop()
        if self.lab is not None:
            self.lab.stop()
        self.lab = self.playwright = self.browser = None


_SHARED = _Shared()


@pytest.fixture(scope="session")
def _browser_session() -> Any:
    shared = _SHARED.acquire(require_chromium())
    try:
        yield shared
    finally:
        shared.release()


@pytest.fixture(scope="session")
def lab_server(_browser_session: _Shared) -> LabServer:
    """One JupyterLab per process (xdist worker), rooted at the repository."""
    assert _browser_session.lab is not None
    return _browser_session.lab


@pytest.fixture(scope="session")
def chromium(_browser_session: _Shared) -> Any:
    """Headless Chromium (or Chrome) driven by Playwright, one per process."""
    return _browser_session.browser


@pytest.fixture
def lab_page(chromium: Any, lab_server: LabServer) -> Any:
    """A fresh browser context and page, big enough for two panes side by side.

    Afterwards the page is closed and the kernels it started are shut down.
    """
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()
        lab_server.shutdown_kernels()
