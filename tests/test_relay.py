"""The relay of notebook 10, over real sockets: each pitfall shown, then fixed."""

from __future__ import annotations

import time

import httpx
import pytest
from _support import wait_until
from starlette.middleware.gzip import GZipMiddleware

from streamlab.relay import (
    BARE_HEADERS,
    SSE_HEADERS,
    HeldSource,
    NaiveGZipMiddleware,
    create_proxy_app,
    create_relay_app,
    run_app,
    scripted_source,
    time_stream,
)
from streamlab.relay import watch_held as watch
from streamlab.sse import SSEDecoder

WORDS = [f"w{i} " for i in range(20)]
FULL = "".join(WORDS)


def slow(**kw):
    return scripted_source(WORDS, first_delay=0.05, delay=0.03, **kw)


@pytest.fixture
def relay():
    app = create_relay_app(slow())
    with run_app(app) as running:
        yield app, running


def test_relays_every_delta_in_order_with_the_right_headers(relay):
    _, running = relay
    with httpx.stream("GET", running.url + "/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for name, value in SSE_HEADERS.items():
            if name != "Content-Type":
                assert r.headers[name] == value
    t = time_stream(running.url + "/events")
    assert (t.status, t.text, t.last_event) == (200, FULL, "done")
    assert t.first_event is not None and t.first_event <= t.total


def test_relay_sends_each_delta_as_it_comes():
    src = HeldSource()
    with run_app(create_relay_app(src)) as running:
        seen = watch(running.url + "/events", src)
    assert seen.streamed, "the first delta should reach the client while the stream is still open"
    assert (seen.text, seen.last_event) == (FULL, "done")


def test_buffering_proxy_holds_a_bare_stream_back_and_lets_a_marked_one_through():
    # Each upstream holds its stream open after the first delta: the marked one
    # until the client has seen that delta, the bare one for 0.5 s.
    bare_src, good_src = HeldSource(hold=0.5), HeldSource()
    bare = run_app(create_relay_app(bare_src, headers=BARE_HEADERS))
    good = run_app(create_relay_app(good_src))
    try:
        with run_app(create_proxy_app(bare.url)) as px:
            held = watch(px.url + "/events", bare_src)
        with run_app(create_proxy_app(good.url)) as px:
            through = watch(px.url + "/events", good_src)
    finally:
        bare.stop()
        good.stop()
    assert held.text == through.text == FULL
    assert through.streamed, "X-Accel-Buffering: no should let the first event through at once"
    assert held.streamed is False, "the proxy should hold a bare stream back until it ends"


def test_compression_without_flush_delays_events_and_starlette_gzip_does_not():
    naive_src, stock_src = HeldSource(hold=0.5), HeldSource()
    naive = run_app(NaiveGZipMiddleware(create_relay_app(naive_src)))
    stock = run_app(GZipMiddleware(create_relay_app(stock_src)))
    try:
        n = watch(naive.url + "/events", naive_src, gzip=True)
        s = watch(stock.url + "/events", stock_src, gzip=True)
    finally:
        naive.stop()
        stock.stop()
    assert n.content_encoding == "gzip" and n.text == FULL
    assert n.streamed is False, "zlib keeps small events until the stream ends"
    assert s.content_encoding is None and s.text == FULL and s.streamed


def test_keepalive_comments_keep_an_idle_proxy_from_cutting_the_stream():
    # Both sources go quiet after 3 deltas: the quiet relay's source until the
    # proxy cuts the stream, the chatty one's until 8 keep-alives (0.8 s of
    # silence, more than the proxy's 0.6 s idle timeout) have come through.
    quiet_src, chatty_src = HeldSource(after=3), HeldSource(after=3)
    quiet = run_app(create_relay_app(quiet_src, keepalive=None))
    chatty = run_app(create_relay_app(chatty_src, keepalive=0.1))
    try:
        with run_app(create_proxy_app(quiet.url, idle_timeout=0.6)) as px:
            cut = watch(px.url + "/events", quiet_src, release_at_keepalive=1)
        with run_app(create_proxy_app(chatty.url, idle_timeout=0.6)) as px:
            kept = watch(px.url + "/events", chatty_src, release_at_keepalive=8)
    finally:
        quiet.stop()
        chatty.stop()
    assert cut.last_event == "delta" and cut.text == "".join(WORDS[:3]) and cut.keepalives == 0
    assert kept.last_event == "done" and kept.text == FULL and kept.keepalives >= 8


@pytest.mark.parametrize("cancel", [True, False])
def test_a_client_that_leaves_stops_the_upstream_only_when_handled(cancel):
    # The source holds after its first delta: only the client leaving can end it early.
    src = HeldSource()
    app = create_relay_app(src, cancel_on_disconnect=cancel)
    stats = app.state.stats
    with run_app(app) as running:
        with httpx.stream("GET", running.url + "/events") as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    break
        if cancel:
            wait_until(lambda: stats.running == 0)
            assert (stats.running, stats.cancelled, stats.completed) == (0, 1, 0)
            assert stats.upstream_deltas == 1
        else:
            time.sleep(0.2)
            assert (stats.running, stats.cancelled) == (1, 0)  # still generating for nobody
            src.released.set()
            wait_until(lambda: stats.running == 0)
            assert stats.completed == 1 and stats.upstream_deltas == len(WORDS)


def test_reconnect_with_last_event_id_resumes_without_loss_or_repeat():
    app = create_relay_app(slow(), drop_after=4, resume_grace=2.0)

    with run_app(app) as running:
        seen, last, connections = [], None, 0
        with httpx.Client() as client:
            while True:
                headers = {"Last-Event-ID": last} if last is not None else {}
                with client.stream(
                    "GET", running.url + "/events", params={"stream": "s1"}, headers=headers
                ) as r:
                    if r.status_code == 204:
                        break
                    connections += 1
                    dec = SSEDecoder()
                    for chunk in r.iter_bytes():
                        for ev in dec.feed(chunk):
                            seen.append(ev)
                            last = ev.id
        assert app.state.stats.started == 1
    text = "".join(ev.json()["text"] for ev in seen if ev.event == "delta")
    assert text == FULL and seen[-1].event == "done"
    assert connections >= 5


def test_stop_and_feedback_requests_reach_the_running_stream():
    # The source holds after 3 deltas, so the stream is still running when the
    # stop arrives however slow the machine is; unstopped, it would complete.
    src = HeldSource(after=3)
    events = []
    with (
        run_app(create_relay_app(src)) as running,
        httpx.Client() as client,
        client.stream("GET", running.url + "/events", params={"stream": "s2"}) as r,
    ):
        dec = SSEDecoder()
        for chunk in r.iter_bytes():
            for ev in dec.feed(chunk):
                events.append(ev)
                deltas = sum(e.event == "delta" for e in events)
                if ev.event == "delta" and deltas == 2:
                    assert (
                        client.post(
                            running.url + "/streams/s2/feedback", json={"text": "shorter"}
                        ).status_code
                        == 200
                    )
                if ev.event == "ack":
                    client.post(running.url + "/streams/s2/stop")
        assert httpx.post(running.url + "/streams/nope/stop").status_code == 404
    kinds = [e.event for e in events]
    assert "ack" in kinds and kinds[-1] == "done"
    assert events[-1].json()["reason"] == "stopped"
    assert kinds.count("delta") == 3


def test_serves_the_eventsource_page(relay):
    _, running = relay
    r = httpx.get(running.url + "/")
    assert r.status_code == 200 and "new EventSource(" in r.text and "source.close()" in r.text


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
def test_provider_source_relays_the_real_sdks_from_the_local_server(kind):
    import streamlab
    from streamlab.relay import provider_source

    with streamlab.serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        if kind == "anthropic":

            class AnthropicLike:  # what the source needs of a Provider(kind="anthropic")
                kind = "anthropic"
                anthropic_model = "streamlab-local"
                async_anthropic = staticmethod(server.async_anthropic)

            source = provider_source(AnthropicLike())
        else:
            source = provider_source(server)
        want = (
            server.openai()
            .responses.create(model="m", input="Tell me about the ocean.")
            .output_text
        )
        app = create_relay_app(source)
        with run_app(app) as running:
            t = time_stream(running.url + "/events", prompt="Tell me about the ocean.")
    assert t.last_event == "done" and t.text == want


def test_a_fetch_client_posts_the_prompt_and_resumes_with_last_event_id():
    app = create_relay_app(slow(), drop_after=6)
    with run_app(app) as running, httpx.Client(base_url=running.url) as client:
        body = {"prompt": "a question too long for a URL " * 50, "stream": "f1"}
        seen, last = [], None
        while True:
            headers = {"Last-Event-ID": last} if last is not None else {}
            with client.stream("POST", "/events", json=body, headers=headers) as r:
                if r.status_code == 204:
                    break
                assert r.status_code == 200 and r.headers["x-stream-id"] == "f1"
                dec = SSEDecoder()
                for chunk in r.iter_bytes():
                    for ev in dec.feed(chunk):
                        seen.append(ev)
                        last = ev.id
        assert app.state.stats.started == 1
        assert app.state.logs["f1"].prompt == body["prompt"]
        assert client.post("/events", json={"stream": "f1"}).status_code == 400  # no prompt
    assert "".join(ev.json()["text"] for ev in seen if ev.event == "delta") == FULL


def test_post_then_get_starts_a_stream_that_eventsource_can_read():
    src = HeldSource(after=2)
    app = create_relay_app(src)
    with run_app(app) as running, httpx.Client(base_url=running.url) as client:
        r = client.post("/streams", json={"prompt": "a long prompt, in a body"})
        assert r.status_code == 201
        created = r.json()
        assert created["events"] == f"streams/{created['id']}/events"
        assert len(created["id"]) == 32  # minted by the relay: 128 random bits
        seen = watch(f"{running.url}/{created['events']}", src)
        assert seen.streamed and seen.text == FULL and seen.last_event == "done"
        assert client.get("/streams/nope/events").status_code == 404
        again = client.get(f"/{created['events']}", headers={"Last-Event-ID": "20"})
        assert again.status_code == 204  # finished: EventSource stops
    assert app.state.stats.started == 1


def test_the_page_url_for_the_browser_goes_through_the_hub_proxy_when_there_is_one(monkeypatch):
    import importlib.util

    from streamlab.relay.lesson import browser_url

    monkeypatch.delenv("JUPYTERHUB_SERVICE_PREFIX", raising=False)
    assert browser_url("http://127.0.0.1:4321") == "http://127.0.0.1:4321/"
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")
    real = importlib.util.find_spec
    proxy = {"jupyter_server_proxy": object()}
    # Without jupyter-server-proxy the hub cannot forward the port: keep the direct address.
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n in proxy else real(n, *a)
    )
    assert browser_url("http://127.0.0.1:4321") == "http://127.0.0.1:4321/"
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: proxy.get(n) or real(n, *a))
    assert browser_url("http://127.0.0.1:4321") == "/user/ada/proxy/4321/"
