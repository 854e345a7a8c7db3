"""The relay's browser page in headless Chromium: the fetch() POST client and EventSource.

The relay's source holds the stream open after three deltas (a
:class:`~streamlab.relay.HeldSource`), so the page is mid-stream, causally,
when Stop is pressed: the stream must end with ``done (stopped)``, the relay
must have cancelled the generation, and the held-back words never arrive.
"""

from __future__ import annotations

import json

import pytest

from streamlab.relay import HeldSource, create_relay_app, run_app

pytestmark = pytest.mark.browser

WORDS = [f"w{i} " for i in range(12)]


@pytest.fixture
def page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


@pytest.mark.parametrize("client", ["fetch", "eventsource"])
def test_the_page_streams_and_stops(page, client):
    src = HeldSource(WORDS, after=3, hold=30)
    app = create_relay_app(src)
    requests: list[tuple[str, str, str | None]] = []
    page.on("request", lambda r: requests.append((r.method, r.url, r.post_data)))
    with run_app(app) as running:
        page.goto(f"{running.url}/?client={client}&autostart=1")
        page.wait_for_function("() => document.getElementById('out').textContent === 'w0 w1 w2 '")
        assert src.holding, "the stream is still open: Stop arrives mid-stream"
        page.click("#stop")
        page.wait_for_function(
            "() => document.getElementById('log').textContent.includes('done (stopped)')"
        )
        assert app.state.stats.cancelled == 1 and app.state.stats.completed == 0
    assert page.inner_text("#out") == "w0 w1 w2 "
    events = [(m, u, b) for m, u, b in requests if "/events" in u]
    if client == "fetch":
        method, url, body = events[0]
        assert method == "POST" and "?" not in url
        assert json.loads(body)["prompt"].startswith("Explain")
    else:
        assert events[0][0] == "GET" and "prompt=" in events[0][1]


def test_the_fetch_client_resumes_with_last_event_id_after_drops(page):
    from streamlab.relay import scripted_source

    app = create_relay_app(scripted_source(WORDS), drop_after=4, retry_ms=50)
    with run_app(app) as running:
        page.goto(f"{running.url}/?client=fetch&autostart=1")
        page.wait_for_function(
            "() => document.getElementById('log').textContent.includes('done (completed)')"
        )
        log = page.inner_text("#log")
        assert page.inner_text("#out") == "".join(WORDS)
        assert app.state.stats.started == 1
    assert "reconnected (sent Last-Event-ID" in log


# Feeds a stream to the page's parser split at every position (and byte by byte).
_SPLITS_JS = """
(text) => {
  const run = (pieces) => { const got = []; const feed = sseParser((t, d, i) => got.push([t, d, i]), () => {});
                            for (const p of pieces) feed(p); return JSON.stringify(got); };
  const whole = run([text]);
  for (let i = 0; i <= text.length; i++) if (run([text.slice(0, i), text.slice(i)]) !== whole) return 'split at ' + i;
  if (run([...text]) !== whole) return 'one character at a time';
  return whole;
}
"""


def test_the_pages_sse_parser_handles_any_split(page):
    with run_app(create_relay_app(HeldSource(WORDS))) as running:
        page.goto(running.url + "/")
        text = 'id: 7\r\nevent: delta\r\ndata: {"text": "é\u2028"}\r\n\r\n: keep-alive\n\ndata: a\rdata: b\r\rdata: unfinished'
        got = page.evaluate(_SPLITS_JS, text)
    assert json.loads(got) == [["delta", '{"text": "é\u2028"}', "7"], ["message", "a\nb", "7"]]
