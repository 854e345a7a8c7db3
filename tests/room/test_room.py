"""A room on a real JupyterHub: every learner runs the course at once, learners stay apart.

Run alone with ``make room``; ``STREAMLAB_ROOM_LEARNERS=N`` seats N learners
(default 6). The tests run in this file's order and the last one stops the
hub: everything it started must be gone.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from _hub import NOTEBOOKS, Learner

pytestmark = pytest.mark.room

# Learner A's kernel: its provider (through get_provider, as the notebooks do) and a relay.
A_CODE = """
import json, os, streamlab
from streamlab.relay import create_relay_app, run_app, scripted_source, time_stream
provider = streamlab.get_provider()
mine = provider.openai(max_retries=0).models.list().data[0].id
words = [f"word{i} " for i in range(40)]
relay_server = run_app(create_relay_app(scripted_source(words, first_delay=0.2, delay=0.05)))
own = time_stream(relay_server.url + "/events")
print(json.dumps({"provider": provider.server.base_url, "relay": relay_server.url,
                  "browser": relay_server.browser_url, "model": mine, "own_relay": own.last_event,
                  "env": {k: os.environ.get(k) for k in ("STREAMLAB_PROVIDER", "MEM_LIMIT", "CPU_LIMIT")}}))
"""

# Learner B's kernel: what another learner's code can try on the same 127.0.0.1.
B_CODE = """
import json, httpx, openai, streamlab
A = json.loads({a!r})
body = {{"model": "streamlab-local", "input": "hi", "stream": True}}
raw = httpx.post(A["provider"] + "/v1/responses", json=body, timeout=10)
guess = openai.OpenAI(base_url=A["provider"] + "/v1", api_key="sk-streamlab-local", max_retries=0)
try:
    guess.models.list()
    sdk = "answered"
except openai.AuthenticationError as exc:
    sdk = exc.status_code
relay_root = A["relay"].rsplit("/", 1)[0]
relay = [httpx.get(relay_root + path, timeout=10).status_code for path in ("/", "/events")]
own = streamlab.get_provider().openai(max_retries=0).models.list().data[0].id
print(json.dumps({{"raw": raw.status_code, "code": raw.json()["error"]["code"], "sdk": sdk,
                  "relay": relay, "own": own, "same_port": A["provider"] == streamlab.get_provider().server.base_url}}))
"""


async def _in_kernel(learner: Learner, code: str) -> dict:
    session, kernel = await learner.open("scratch.ipynb")
    try:
        (out,) = await learner.execute(kernel, [code], timeout=60)
    finally:
        await learner.close_session(session)
    return json.loads(out.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def learner_a(room):
    """Learner A's kernel, kept running with its provider and relay for the next tests."""

    async def start():
        a = Learner(room, room.names[0])
        session, kernel = await a.open("a.ipynb")
        (out,) = await a.execute(kernel, [A_CODE], timeout=60)
        await a.aclose()
        return session, json.loads(out.strip().splitlines()[-1])

    session, seen = asyncio.run(start())
    yield seen
    if room.proc.poll() is not None:  # the last test stopped the hub, kernel and all
        return

    async def stop():
        a = Learner(room, room.names[0])
        await a.close_session(session)
        await a.aclose()

    asyncio.run(stop())


def test_the_hub_loads_the_guides_config_snippet(room, learner_a):
    from _hub import guide_snippet

    assert "c.Spawner" in guide_snippet()
    assert "not recognized" not in room.log.read_text(), room.log_tail()
    env = learner_a["env"]
    assert env["STREAMLAB_PROVIDER"] == "local" and env["MEM_LIMIT"] and env["CPU_LIMIT"], env


def test_learner_b_cannot_use_a_provider_or_read_a_relay(room, learner_a):
    assert learner_a["model"] == "streamlab-local" and learner_a["own_relay"] == "done"
    assert learner_a["relay"].count("/") == 3, "on a hub the relay's address has a secret path"

    async def as_b():
        b = Learner(room, room.names[1])
        try:
            return await _in_kernel(b, B_CODE.format(a=json.dumps(learner_a)))
        finally:
            await b.aclose()

    b = asyncio.run(as_b())
    assert (b["raw"], b["code"], b["sdk"]) == (401, "invalid_api_key", 401), b
    assert b["relay"] == [403, 403], b
    assert b["own"] == "streamlab-local" and not b["same_port"], b


@pytest.mark.browser
def test_notebook_10s_page_streams_through_jupyter_server_proxy(room, learner_a):
    from browser_harness import launch_chromium, require_chromium
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    page_path = learner_a["browser"]
    assert page_path.startswith(f"/user/{room.names[0]}/proxy/"), page_path
    with sync_playwright() as pw:
        browser = launch_chromium(pw, executable)
        try:
            page = browser.new_page()
            page.goto(f"{room.url}/hub/login?next={page_path}%3Fautostart%3D1")
            page.fill("#username_input", room.names[0])
            page.fill("#password_input", "any")
            page.click("#login_submit")
            page.wait_for_function(
                "() => document.querySelector('#log')?.innerText.includes('done (completed)')",
                timeout=60_000,
            )
            out = page.inner_text("#out")
            log = page.inner_text("#log")
        finally:
            browser.close()
    assert out.split() == [f"word{i}" for i in range(40)], out
    assert "connected (EventSource, GET)" in log and "reconnected" not in log, log


def test_every_learner_runs_the_notebooks_at_once(room):
    async def learner_runs(name):
        learner = Learner(room, name)
        try:
            return [await learner.run_notebook(nb) for nb in NOTEBOOKS]
        finally:
            await learner.aclose()

    async def all_at_once():
        return await asyncio.gather(*(learner_runs(n) for n in room.names))

    t0 = time.perf_counter()
    runs = [run for runs in asyncio.run(all_at_once()) for run in runs]
    wall = time.perf_counter() - t0
    assert len(runs) == len(room.names) * len(NOTEBOOKS)
    problems = [f"{r.user} {r.notebook}: {r.errors}" for r in runs if r.errors]
    assert not problems, "\n".join(problems)
    assert all(r.cells >= 10 for r in runs), [(r.notebook, r.cells) for r in runs]
    print(f"{len(room.names)} learners ran {', '.join(NOTEBOOKS)} at once in {wall:.0f} s")


def test_everything_stops_and_nothing_is_left_behind(room):
    assert room.leftovers(), "the hub should be running before it is stopped"
    room.stop()
    assert room.proc.returncode is not None
    assert room.leftovers() == [], "processes the hub started are still running"
