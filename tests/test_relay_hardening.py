"""The relay leaks nothing and holds bounded state (issue 16), over real sockets."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from streamlab.relay import HeldSource, create_relay_app, run_app, scripted_source


def _events(r: httpx.Response) -> list[tuple[str, dict]]:
    from streamlab.sse import SSEDecoder

    return [(ev.event, ev.json()) for ev in SSEDecoder().feed(r.content)]


def test_a_failing_source_sends_a_generic_message_and_logs_the_details(caplog):
    secret = "upstream key sk-live-0123456789 refused by llm-gw.internal.example:8443"

    async def failing(prompt):
        yield "Hello "
        raise RuntimeError(secret)

    caplog.set_level(logging.ERROR, logger="streamlab.relay")
    with run_app(create_relay_app(failing)) as running:
        r = httpx.get(running.url + "/events", timeout=10)
    assert "sk-live" not in r.text and "internal.example" not in r.text
    assert "RuntimeError" not in r.text
    kind, done = _events(r)[-1]
    assert kind == "done" and done["reason"] == "error"
    error_id = done["error_id"]
    assert error_id in done["message"]
    logged = [rec for rec in caplog.records if error_id in rec.getMessage()]
    assert logged, "the details should be logged server-side under the error id"
    assert any(secret in (rec.exc_text or "") or rec.exc_info for rec in logged)


@pytest.fixture
def held_stream():
    """A relay with a named stream ``s1`` (prompt "first") held open after 3 deltas."""
    src = HeldSource(after=3, hold=10)
    app = create_relay_app(src, cancel_on_disconnect=False)
    with run_app(app) as running, httpx.Client(base_url=running.url, timeout=10) as client:
        with client.stream("GET", "/events", params={"stream": "s1", "prompt": "first"}) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    break
        yield app, client
        src.release()


@pytest.mark.parametrize(
    "value",
    ["²", "9" * 5000, "١٢", "+1", "1 1", "-1", "1.0", "0x1", "1_0"],
    ids=[
        "superscript",
        "5000-nines",
        "arabic-indic",
        "plus",
        "inner-space",
        "minus",
        "float",
        "hex",
        "underscore",
    ],
)
def test_last_event_id_must_be_bounded_ascii_digits(held_stream, value):
    _, client = held_stream
    try:  # what the server decodes a header with (so "²" arrives as "²")
        raw = value.encode("latin-1")
    except UnicodeEncodeError:
        raw = value.encode()
    r = client.get(
        "/events", params={"stream": "s1", "prompt": "first"}, headers={"Last-Event-ID": raw}
    )
    assert r.status_code == 400, r.text[:200]
    assert "Last-Event-ID" in r.json()["error"]


def test_a_last_event_id_past_the_end_is_refused_and_a_valid_one_resumes(held_stream):
    _, client = held_stream
    params = {"stream": "s1", "prompt": "first"}
    r = client.get("/events", params=params, headers={"Last-Event-ID": "12345"})
    assert r.status_code == 400 and "past the end" in r.json()["error"]
    with client.stream("GET", "/events", params=params, headers={"Last-Event-ID": "1"}) as r:
        assert r.status_code == 200
        for line in r.iter_lines():
            if line.startswith("id:"):
                assert line == "id: 2"
                break


@pytest.mark.parametrize(
    "body",
    [b"[1, 2]", b'"text"', b"null", b"5", b"not json", b"", b"[" * 5000, b'{"text": 5}'],
    ids=["list", "string", "null", "number", "not-json", "empty", "deep", "text-not-a-string"],
)
def test_feedback_bodies_that_are_not_a_json_object_get_400(held_stream, body):
    _, client = held_stream
    r = client.post("/streams/s1/feedback", content=body)
    assert r.status_code == 400, r.text[:200]
    assert "error" in r.json()


def test_a_huge_feedback_body_gets_413(held_stream):
    _, client = held_stream
    r = client.post("/streams/s1/feedback", content=json.dumps({"text": "x" * 200_000}))
    assert r.status_code == 413


def test_a_named_stream_cannot_be_joined_with_another_prompt(held_stream):
    app, client = held_stream
    r = client.get("/events", params={"stream": "s1", "prompt": "second"})
    assert r.status_code == 409 and "w0" not in r.text
    assert app.state.stats.started == 1
    with client.stream("GET", "/events", params={"stream": "s1", "prompt": "first"}) as r:
        assert r.status_code == 200


def test_stream_ids_are_bounded(held_stream):
    _, client = held_stream
    for bad in ["x" * 129, "a b", "../s1", "s1\u00e9"]:
        assert client.get("/events", params={"stream": bad}).status_code == 400


def test_the_resume_log_is_capped_and_a_client_from_before_the_cap_gets_410():
    deltas = [f"delta number {i:04d} " for i in range(400)]
    app = create_relay_app(scripted_source(deltas), max_log_bytes=4000)
    with run_app(app) as running, httpx.Client(base_url=running.url, timeout=10) as client:
        whole = client.get("/events", params={"stream": "big", "prompt": "p"})
        assert "".join(d["text"] for k, d in _events(whole) if k == "delta") == "".join(deltas)
        log = app.state.logs["big"]
        assert log.bytes <= 4000 and log.first_id > 300
        params = {"stream": "big", "prompt": "p"}
        gone = client.get("/events", params=params, headers={"Last-Event-ID": "10"})
        assert gone.status_code == 410 and "new stream" in gone.json()["error"]
        assert client.get("/events", params=params).status_code == 410  # joining from the start
        tail = client.get("/events", params=params, headers={"Last-Event-ID": "397"})
        assert [k for k, _ in _events(tail)] == ["delta", "delta", "done"]


def test_the_resume_log_is_capped_by_default():
    big = ["x" * 65536] * 40  # 2.5 MiB of deltas
    app = create_relay_app(scripted_source(big))
    with run_app(app) as running:
        r = httpx.get(running.url + "/events", params={"stream": "b"}, timeout=10)
        assert r.status_code == 200
        log = app.state.logs["b"]
        assert log.bytes <= (1 << 20) + 70000 and len(log.events) < 20


def test_a_live_reader_pins_what_it_has_not_sent_and_the_producer_waits():
    from streamlab.relay.resume import StreamLog

    log = StreamLog("s", max_bytes=100)
    reader = log.open(None)
    for i in range(10):
        log.append("delta", {"text": f"{i:02d}"})
    assert [e.id for e in log.pending(reader)] == list(range(10))  # nothing lost
    assert log.over_cap  # the relay's pump waits on log.moved now
    for ev in log.pending(reader):
        log.sent(reader, ev)
    assert not log.over_cap and log.bytes <= 100 and log.first_id > 0
    log.close(reader)
    assert log.readers == 0
