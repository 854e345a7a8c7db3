"""On a shared host the lesson's servers answer only under this process's secret path."""

from __future__ import annotations

import httpx
import pytest
import websockets
import websockets.sync.client
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute

from streamlab.relay import create_proxy_app, create_relay_app, run_app, scripted_source
from streamlab.relay.lesson import browser_url, process_secret, time_stream

WORDS = [f"w{i} " for i in range(5)]


def test_private_app_answers_only_under_its_secret_path():
    with run_app(create_relay_app(scripted_source(WORDS)), private=True) as running:
        assert running.url.endswith("/" + process_secret()) and len(process_secret()) >= 24
        t = time_stream(running.url + "/events")  # the notebook's own calls work unchanged
        assert (t.status, t.text, t.last_event) == (200, "".join(WORDS), "done")
        page = httpx.get(running.browser_url)  # the page, whose links are relative
        assert page.status_code == 200 and "EventSource" in page.text
        with httpx.Client(base_url=running.url) as client:  # base_url joins keep the path
            created = client.post("/streams", json={"prompt": "hi"}).json()
            assert client.get(created["events"]).status_code == 200
        root = running.url.rsplit("/", 1)[0]
        for path in ("/", "/events", "/streams", f"/{process_secret()[:-1]}/events"):
            r = httpx.get(root + path)  # what another learner on 127.0.0.1 can try
            assert r.status_code == 403, path
            assert "secret path" in r.json()["error"]


def test_a_proxy_in_front_of_a_private_relay_forwards_under_the_secret():
    with (
        run_app(create_relay_app(scripted_source(WORDS)), private=True) as relay,
        run_app(create_proxy_app(relay.url), private=True) as proxy,
    ):
        assert time_stream(proxy.url + "/events").last_event == "done"


def test_private_websocket_route_refuses_the_handshake_without_the_secret():
    # Sync on purpose: a sync client needs no event loop in the test's thread.
    async def hello(ws):
        await ws.accept()
        await ws.send_text("hello")
        await ws.close()

    with run_app(Starlette(routes=[WebSocketRoute("/ws", hello)]), private=True) as running:
        ws_url = running.url.replace("http", "ws", 1)
        with websockets.sync.client.connect(ws_url + "/ws") as ws:
            assert ws.recv(timeout=5) == "hello"
        with pytest.raises(websockets.InvalidStatus) as refused:
            websockets.sync.client.connect(ws_url.rsplit("/", 1)[0] + "/ws")
        assert refused.value.response.status_code == 403


def test_private_is_the_default_only_on_a_shared_host(monkeypatch):
    for var in ("JUPYTERHUB_API_TOKEN", "JUPYTERHUB_USER", "JUPYTERHUB_SERVICE_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    app = create_relay_app(scripted_source(WORDS))
    with run_app(app) as running:
        assert running.url.count("/") == 2  # http://127.0.0.1:PORT: a laptop is one user's
    monkeypatch.setenv("JUPYTERHUB_USER", "learner-a")
    with run_app(app) as running:
        assert running.url.endswith("/" + process_secret())
        assert browser_url(running.url) == running.url + "/"  # no prefix set: the direct address
