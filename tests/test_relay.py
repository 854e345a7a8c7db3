"""The relay of notebook 09, over real sockets: each pitfall shown, then fixed."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.middleware.gzip import GZipMiddleware

from streamlab.relay import (
    BARE_HEADERS,
    SSE_HEADERS,
    NaiveGZipMiddleware,
    create_proxy_app,
    create_relay_app,
    run_app,
    scripted_source,
    time_stream,
)

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
    assert t.first_event < t.total / 2


def test_buffering_proxy_holds_a_bare_stream_back_and_lets_a_marked_one_through():
    bare = run_app(create_relay_app(slow(), headers=BARE_HEADERS))
    good = run_app(create_relay_app(slow()))
    try:
        with run_app(create_proxy_app(bare.url)) as px:
            held = time_stream(px.url + "/events")
        with run_app(create_proxy_app(good.url)) as px:
            through = time_stream(px.url + "/events")
    finally:
        bare.stop()
        good.stop()
    assert held.text == through.text == FULL
    # The stream lasts ~0.6 s: held back, the first event comes with the last.
    assert held.first_event > through.first_event + 0.3
    assert through.first_event < through.total - 0.3


def test_compression_without_flush_delays_events_and_starlette_gzip_does_not():
    naive = run_app(NaiveGZipMiddleware(create_relay_app(slow())))
    stock = run_app(GZipMiddleware(create_relay_app(slow())))
    try:
        n = time_stream(naive.url + "/events", gzip=True)
        s = time_stream(stock.url + "/events", gzip=True)
    finally:
        naive.stop()
        stock.stop()
    assert n.content_encoding == "gzip" and n.text == FULL
    assert n.first_event > s.first_event + 0.3
    assert s.content_encoding is None and s.first_event < s.total - 0.3


def test_keepalive_comments_keep_an_idle_proxy_from_cutting_the_stream():
    src = scripted_source(WORDS[:6], pause_at=3, pause=1.0)
    quiet = run_app(create_relay_app(src, keepalive=None))
    chatty = run_app(create_relay_app(src, keepalive=0.2))
    try:
        with run_app(create_proxy_app(quiet.url, idle_timeout=0.6)) as px:
            cut = time_stream(px.url + "/events")
        with run_app(create_proxy_app(chatty.url, idle_timeout=0.6)) as px:
            kept = time_stream(px.url + "/events")
    finally:
        quiet.stop()
        chatty.stop()
    assert cut.last_event == "delta" and cut.text == "".join(WORDS[:3])
    assert kept.last_event == "done" and kept.text == "".join(WORDS[:6]) and kept.keepalives >= 2


@pytest.mark.parametrize("cancel", [True, False])
def test_a_client_that_leaves_stops_the_upstream_only_when_handled(cancel):
    app = create_relay_app(slow(), cancel_on_disconnect=cancel)
    stats = app.state.stats
    with run_app(app) as running:
        with httpx.stream("GET", running.url + "/events") as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    break
        deadline = time.monotonic() + 3
        while stats.running and time.monotonic() < deadline and cancel:
            time.sleep(0.02)
        if cancel:
            assert (stats.running, stats.cancelled) == (0, 1)
            assert stats.upstream_deltas < len(WORDS)
        else:
            time.sleep(0.2)
            assert stats.running == 1  # still generating for nobody
            while stats.running and time.monotonic() < deadline:
                time.sleep(0.05)
            assert stats.upstream_deltas == len(WORDS)


def test_reconnect_with_last_event_id_resumes_without_loss_or_repeat():
    app = create_relay_app(slow(), drop_after=4, resume_grace=2.0)
    from streamlab.sse import SSEDecoder

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


def test_stop_and_feedback_requests_reach_the_running_stream(relay):
    app, running = relay
    from streamlab.sse import SSEDecoder

    events = []
    with (
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
    kinds = [e.event for e in events]
    assert "ack" in kinds and kinds[-1] == "done"
    assert events[-1].json()["reason"] == "stopped"
    assert kinds.count("delta") < len(WORDS)
    assert httpx.post(running.url + "/streams/nope/stop").status_code == 404


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
