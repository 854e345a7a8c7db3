"""A real JupyterHub on loopback for the room tests and ``benchmarks/bench_room.py``.

JupyterHub (PyPI), its proxy (the PyPI ``configurable-http-proxy``, which
needs no node), ``DummyAuthenticator`` and ``SimpleLocalProcessSpawner``:
every learner's single-user server is a process of this Unix user, on the
same 127.0.0.1, as on one TLJH host. The test drives it only through the
hub's REST API and the ``/user/NAME/...`` URLs its proxy routes, with a
service token. Every process it starts carries ``STREAMLAB_ROOM=<id>`` in its
environment, so :meth:`Hub.leftovers` finds any that outlived :meth:`Hub.stop`.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
#: How many learners the room tests seat (STREAMLAB_ROOM_LEARNERS overrides).
DEFAULT_LEARNERS = 6
#: The notebooks each learner runs with Run All.
NOTEBOOKS = ("00-why-stream.ipynb", "07-showing-a-stream.ipynb")


def learners_from_env() -> int:
    raw = os.environ.get("STREAMLAB_ROOM_LEARNERS", str(DEFAULT_LEARNERS))
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"STREAMLAB_ROOM_LEARNERS={raw!r} is not a whole number") from None
    if n < 2:
        raise ValueError(f"STREAMLAB_ROOM_LEARNERS={raw!r}: a room needs at least 2 learners")
    return n


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


GUIDE = ROOT / "notebooks" / "README.md"


def guide_snippet() -> str:
    """The ``jupyterhub_config.py`` snippet of the guide's "Running a room" section."""
    text = GUIDE.read_text()
    section = text[text.index("## Running a room") :]
    section = section[: section.index("\n## ", 1)]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("```", start)]


def hub_config(*, port: int, hub_port: int, proxy_api_port: int, token: str, home: Path) -> str:
    """The ``jupyterhub_config.py`` of the test room (the guide's snippet, plus test plumbing)."""
    allow_root = ', "--ServerApp.allow_root=True"' if os.geteuid() == 0 else ""
    return f"""\
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.command = [{str(BIN / "configurable-http-proxy")!r}]
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = {str(home / "{username}")!r}
c.Spawner.cmd = [{str(BIN / "jupyterhub-singleuser")!r}]
c.Spawner.args = ["--ServerApp.iopub_msg_rate_limit=0"{allow_root}]
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.JupyterHub.services = [{{"name": "room-test", "api_token": {token!r}}}]
c.JupyterHub.load_roles = [{{
    "name": "room-test",
    "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
    "services": ["room-test"],
}}]
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
# The guide's snippet, as TLJH would load it from jupyterhub_config.d:
{guide_snippet()}
c.Spawner.environment["STREAMLAB_ROOM"] = {os.environ["STREAMLAB_ROOM"]!r}
"""


# --------------------------------------------------------------------------- processes


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def pids_with(marker: str, also: str | None = None) -> list[int]:
    """Processes whose environment holds ``STREAMLAB_ROOM=marker`` (and ``also``, if given)."""
    tag = f"STREAMLAB_ROOM={marker}".encode()
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            env = _environ(int(entry)).split(b"\0")
            if tag in env and (also is None or also.encode() in env):
                out.append(int(entry))
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


@dataclass
class ProcCost:
    """What one process has cost so far: CPU seconds and peak resident memory."""

    cpu_s: float
    peak_mb: float


def cost(pid: int) -> ProcCost | None:
    """CPU (user + system of this process alone) and VmHWM of ``pid``.

    Not its children's: a server reaps the kernels it stopped, whose CPU would
    then count twice (the kernel's own cost is read while it runs).
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(stat[11]) + int(stat[12])) / ticks  # utime, stime
    hwm = next(
        (int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM")), 0
    )
    return ProcCost(cpu, hwm / 1024)


# --------------------------------------------------------------------------- the hub


@dataclass
class Hub:
    """A running hub: ``url`` (through its proxy), ``api`` (the hub's REST API, as the service)."""

    workdir: Path
    url: str = ""
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    marker: str = field(default_factory=lambda: uuid.uuid4().hex)
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> Hub:
        for tool in ("jupyterhub", "configurable-http-proxy", "jupyterhub-singleuser"):
            if not (BIN / tool).exists():
                raise RuntimeError(
                    f"{BIN / tool} is missing: the room needs JupyterHub and its proxy in this "
                    "environment (pip install -e '.[dev]', as `make room` does)"
                )
        os.environ["STREAMLAB_ROOM"] = self.marker  # inherited by the hub and its proxy
        home = self.workdir / "home"
        home.mkdir(parents=True, exist_ok=True)
        port = free_port()
        config = self.workdir / "jupyterhub_config.py"
        config.write_text(
            hub_config(
                port=port,
                hub_port=free_port(),
                proxy_api_port=free_port(),
                token=self.token,
                home=home,
            )
        )
        self.url = f"http://127.0.0.1:{port}"
        self.log = self.workdir / "jupyterhub.log"
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(config)],
                cwd=self.workdir,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(self.url + "/hub/api/", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterHub did not start; its log:\n{self.log_tail()}")
            time.sleep(0.2)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        r = httpx.request(
            method, f"{self.url}/hub/api{path}", headers=self.headers, timeout=60, **kw
        )
        if r.status_code >= 400:
            raise RuntimeError(f"{method} /hub/api{path}: {r.status_code} {r.text[:500]}")
        return r

    def add_learners(self, names: list[str], notebooks: tuple[str, ...] = ()) -> None:
        """Create the users, copy ``notebooks`` into each home, start every server at once."""
        self.api("POST", "/users", json={"usernames": names})
        for name in names:
            home = self.workdir / "home" / name
            home.mkdir(parents=True, exist_ok=True)
            for nb in notebooks:
                shutil.copy(ROOT / "notebooks" / nb, home / nb)
        for name in names:
            self.api("POST", f"/users/{name}/server")
        deadline = time.monotonic() + 120
        waiting = set(names)
        while waiting:
            for name in sorted(waiting):
                server = self.api("GET", f"/users/{name}").json()["servers"].get("")
                if server and server.get("ready"):
                    waiting.discard(name)
            if time.monotonic() > deadline:
                raise RuntimeError(f"servers not ready: {waiting}\n{self.log_tail()}")
            time.sleep(0.3)

    def server_pid(self, name: str) -> int:
        """The pid of ``name``'s single-user server."""
        for pid in pids_with(self.marker, f"JUPYTERHUB_USER={name}"):
            if "jupyterhub-singleuser" in cmdline(pid):
                return pid
        raise LookupError(f"no single-user server process for {name}")

    def own_pids(self) -> dict[str, int]:
        """The hub's and the proxy's pids."""
        assert self.proc is not None
        pids = {"hub": self.proc.pid}
        for pid in pids_with(self.marker):
            if "configurable-http-proxy" in cmdline(pid) and "jupyterhub-singleuser" not in cmdline(
                pid
            ):
                pids["proxy"] = pid
        return pids

    def stop(self, timeout: float = 30) -> None:
        """Stop every server, then the hub (which stops its proxy); kill what still runs."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                names = [u["name"] for u in self.api("GET", "/users").json() if u["servers"]]
                with ThreadPoolExecutor(max(1, len(names))) as pool:  # each takes seconds
                    list(pool.map(lambda n: self.api("DELETE", f"/users/{n}/server"), names))
            except (RuntimeError, httpx.TransportError):
                pass
            deadline = time.monotonic() + timeout
            while any("jupyterhub-singleuser" in cmdline(p) for p in pids_with(self.marker)):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        deadline = time.monotonic() + 10
        while self.leftovers() and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid in self.leftovers():  # a bug, reported by the tests; never leave it running
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def leftovers(self) -> list[int]:
        """Processes this hub started that still run (zombies included)."""
        return pids_with(self.marker)


# --------------------------------------------------------------------------- running notebooks


@dataclass
class NotebookRun:
    """One notebook run with Run All in a learner's server, through the hub's proxy."""

    user: str
    notebook: str
    seconds: float = 0.0
    cells: int = 0
    errors: list[str] = field(default_factory=list)
    kernel: ProcCost | None = None  # the kernel's CPU and peak memory, read before it stops


def _message(session: str, code: str) -> dict[str, Any]:
    msg_id = uuid.uuid4().hex
    return {
        "header": {
            "msg_id": msg_id,
            "username": "room",
            "session": session,
            "msg_type": "execute_request",
            "version": "5.3",
        },
        "parent_header": {},
        "metadata": {},
        "content": {
            "code": code,
            "silent": False,
            "store_history": True,
            "user_expressions": {},
            "allow_stdin": False,
            "stop_on_error": True,
        },
        "channel": "shell",
        "buffers": [],
    }


class Learner:
    """One learner's server, reached only as ``{hub}/user/NAME/...`` with a token."""

    def __init__(self, hub: Hub, name: str) -> None:
        self.hub, self.name = hub, name
        self.base = f"{hub.url}/user/{name}"
        self.client = httpx.AsyncClient(base_url=self.base, headers=hub.headers, timeout=60)

    async def open(self, path: str) -> tuple[str, str]:
        """A notebook session (kernel started in the notebook's folder): (session id, kernel id)."""
        body = {"path": path, "name": path, "type": "notebook", "kernel": {"name": "python3"}}
        r = await self.client.post("/api/sessions", json=body)
        r.raise_for_status()
        return r.json()["id"], r.json()["kernel"]["id"]

    async def execute(self, kernel: str, codes: list[str], timeout: float = 120) -> list[str]:
        """Run ``codes`` in order on the kernel's websocket; each cell's outputs as text, or raise."""
        import websockets

        url = self.base.replace("http", "ws", 1) + f"/api/kernels/{kernel}/channels"
        session = uuid.uuid4().hex
        outputs = []
        async with websockets.connect(
            url, additional_headers=self.hub.headers, max_size=None
        ) as ws:
            for code in codes:
                msg = _message(session, code)
                await ws.send(json.dumps(msg))
                text, error, replied, idle = [], None, False, False
                async with asyncio.timeout(timeout):
                    while not (replied and idle):
                        reply = json.loads(await ws.recv())
                        if reply.get("parent_header", {}).get("msg_id") != msg["header"]["msg_id"]:
                            continue
                        kind, content = reply["msg_type"], reply["content"]
                        if kind == "stream":
                            text.append(content["text"])
                        elif kind in ("execute_result", "display_data"):
                            text.append(content["data"].get("text/plain", ""))
                        elif kind == "error":
                            error = f"{content['ename']}: {content['evalue']}"
                        elif kind == "status" and content["execution_state"] == "idle":
                            idle = True
                        elif kind == "execute_reply":
                            replied = True
                            if content["status"] != "ok" and error is None:
                                error = f"{content.get('ename')}: {content.get('evalue')}"
                if error is not None:
                    raise CellError(code, error, "".join(text))
                outputs.append("".join(text))
        return outputs

    async def close_session(self, session: str) -> None:
        (await self.client.delete(f"/api/sessions/{session}")).raise_for_status()

    async def run_notebook(self, path: str, cell_timeout: float = 120) -> NotebookRun:
        """Run All on ``path`` (read through the contents API), as nbval's lax mode would."""
        run = NotebookRun(self.name, path)
        r = await self.client.get(f"/api/contents/{path}")
        r.raise_for_status()
        codes = []
        for cell in r.json()["content"]["cells"]:
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            if cell["cell_type"] == "code" and "NBVAL_SKIP" not in source:
                codes.append(source)
        session, kernel = await self.open(path)
        t0 = time.perf_counter()
        try:
            for code in codes:
                try:
                    await self.execute(kernel, [code], cell_timeout)
                except CellError as exc:
                    if "NBVAL_RAISES_EXCEPTION" not in code:
                        run.errors.append(str(exc))
                        break
                run.cells += 1
            run.seconds = time.perf_counter() - t0
            run.kernel = self.kernel_cost()
        finally:
            await self.close_session(session)
        return run

    def kernel_cost(self) -> ProcCost | None:
        """CPU and peak memory of this learner's (one) running kernel."""
        for pid in pids_with(self.hub.marker, f"JUPYTERHUB_USER={self.name}"):
            if "ipykernel" in cmdline(pid):
                return cost(pid)
        return None

    async def aclose(self) -> None:
        await self.client.aclose()


class CellError(Exception):
    """A cell ended with an error: the code, the error and what it printed."""

    def __init__(self, code: str, error: str, output: str) -> None:
        super().__init__(f"{error}\n--- in cell:\n{code[:600]}\n--- output:\n{output[-1500:]}")
        self.error = error
