"""Lesson endpoints: raw chunked text, a resumable SSE feed, two-way WebSocket generation."""

from __future__ import annotations

import json
import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest
from _support import wait_until
from websockets.sync.client import connect

from streamlab.provider.lessons import CHUNKED_TEXT, feed_event
from streamlab.sse import SSEDecoder


def test_chunked_is_raw_chunked_text_split_mid_word_and_mid_character(local_server):
    with (
        httpx.Client(timeout=10) as http,
        http.stream("GET", local_server.base_url + "/lesson/chunked?delay_ms=5&chunk_size=5") as r,
    ):
        assert r.headers["transfer-encoding"] == "chunked"
        assert r.headers["content-type"].startswith("text/plain")
        assert "content-length" not in r.headers
        pieces = list(r.iter_raw())
    data = b"".join(pieces)
    assert data.decode() == CHUNKED_TEXT and "café" in CHUNKED_TEXT
    assert not data.startswith(b"data:")
    assert len(pieces) > 1  # the client reads the text piece by piece
    # How the reads fall depends on the machine's load; the chunks on the wire do not.
    chunks = _wire_chunks(local_server.base_url, "/lesson/chunked?delay_ms=5&chunk_size=5")
    assert b"".join(chunks) == data
    assert {len(c) for c in chunks[:-1]} == {5}
    bad = [c for c in chunks if not _decodes(c)]
    assert len(bad) >= 2, "both é and the emoji are cut across chunks"


def _wire_chunks(base_url: str, target: str) -> list[bytes]:
    """The chunks of a chunked response as the server framed them, read from a raw socket."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {url.netloc}\r\nConnection: close\r\n\r\n".encode()
        )
        raw = b"".join(iter(lambda: sock.recv(65536), b""))
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    chunks = []
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return chunks
        chunks.append(body[:size])
        assert body[size : size + 2] == b"\r\n"
        body = body[size + 2 :]


def _decodes(b: bytes) -> bool:
    try:
        b.decode()
        return True
    except UnicodeDecodeError:
        return False


def test_chunked_bad_param_is_400(local_server):
    r = httpx.get(local_server.base_url + "/lesson/chunked?chunk_size=zero")
    assert r.status_code == 400 and "chunk_size" in r.text


def _read_feed(server, params, last_id=None):
    headers = {"Last-Event-ID": str(last_id)} if last_id is not None else {}
    events, error = [], None
    decoder = SSEDecoder()
    try:
        with (
            httpx.Client(timeout=10) as http,
            http.stream(
                "GET", server.base_url + "/lesson/events", params=params, headers=headers
            ) as r,
        ):
            if r.status_code == 204:
                return "204", []
            for chunk in r.iter_bytes():
                events += decoder.feed(chunk)
    except httpx.RemoteProtocolError as exc:
        error = exc
    return error, events


def test_events_feed_has_ids_comments_retry_and_ends(local_server):
    raw = httpx.get(
        local_server.base_url + "/lesson/events", params={"count": 5, "delay_ms": 0}
    ).text
    assert raw.startswith(": streamlab lesson feed") and "\nretry: 1000\n" in raw
    assert ": keep-alive" in raw
    error, events = _read_feed(local_server, {"count": 5, "delay_ms": 0})
    assert error is None
    data = [e for e in events if e.event == "message"]
    assert [e.id for e in data] == ["1", "2", "3", "4", "5"]
    assert data[0].data == feed_event(1) and json.loads(data[2].data)["n"] == 3
    assert events[-1].event == "done"


def test_events_drop_then_resume_from_last_event_id(local_server):
    params = {"count": 8, "delay_ms": 0, "drop_after": 3}
    error, first = _read_feed(local_server, params)
    assert isinstance(error, httpx.RemoteProtocolError)
    assert [e.id for e in first] == ["1", "2", "3"]
    error, rest = _read_feed(local_server, params, last_id=first[-1].id)
    assert error is None  # drop_after only cuts the first connection
    assert [e.id for e in rest if e.event == "message"] == ["4", "5", "6", "7", "8"]
    assert _read_feed(local_server, params, last_id=8) == ("204", [])


def test_events_drop_every(local_server):
    params = {"count": 5, "delay_ms": 0, "drop_every": 2}
    ids, last = [], None
    for _ in range(5):
        error, events = _read_feed(local_server, params, last_id=last)
        if error == "204":
            break
        ids += [e.id for e in events if e.event == "message"]
        last = ids[-1]
        if error is None:
            break
    assert ids == ["1", "2", "3", "4", "5"]


def _ws(server):
    return connect(server.base_url.replace("http", "ws") + "/lesson/ws")


def _until_done(ws, timeout=10):
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = json.loads(ws.recv(timeout=timeout))
        got.append(msg)
        if msg["type"] == "done":
            return got
    raise AssertionError("no done message")


def test_ws_generate_matches_deterministic_text(local_server):
    with _ws(local_server) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "generate",
                    "prompt": "Tell me about space",
                    "tokens_per_second": 0,
                    "ttft_ms": 0,
                }
            )
        )
        msgs = _until_done(ws)
    assert msgs[0]["type"] == "start" and msgs[0]["topic"] == "space"
    text = "".join(m["text"] for m in msgs if m["type"] == "delta")
    assert msgs[-1] == {"type": "done", "reason": "stop", "usage": {"output_tokens": len(msgs) - 2}}
    assert text.count(".") >= 4


def test_ws_stop_while_tokens_flow(local_server):
    with _ws(local_server) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "generate",
                    "prompt": "a long story",
                    "tokens_per_second": 20,
                    "ttft_ms": 0,
                }
            )
        )
        deltas = 0
        while deltas < 3:
            if json.loads(ws.recv(timeout=5))["type"] == "delta":
                deltas += 1
        ws.send(json.dumps({"type": "stop"}))
        rest = _until_done(ws)
    assert rest[-1]["reason"] == "client_stop"
    # 50 ms a token: a few more may be on their way when the stop arrives on a busy machine.
    assert len(rest) < 10, "stop takes effect within a few tokens"


def test_ws_feedback_is_acknowledged_and_steers(local_server):
    with _ws(local_server) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "generate",
                    "prompt": "Tell me about gardens, in detail",
                    "tokens_per_second": 200,
                    "ttft_ms": 0,
                }
            )
        )
        assert json.loads(ws.recv(timeout=5))["topic"] == "garden"
        json.loads(ws.recv(timeout=5))
        ws.send(
            json.dumps({"type": "feedback", "text": "talk about the ocean instead, and be excited"})
        )
        msgs = _until_done(ws)
    ack = next(m for m in msgs if m["type"] == "ack")
    assert ack["applied"] == {"topic": "ocean", "tone": "excited"} and ack["generating"] is True
    after = "".join(m["text"] for m in msgs[msgs.index(ack) :] if m["type"] == "delta")
    assert "!" in after
    assert any(
        w in after.lower()
        for w in ("ocean", "sea", "wave", "whale", "tide", "water", "coral", "sail")
    )


def test_ws_feedback_shorter_ends_after_the_sentence(local_server):
    with _ws(local_server) as ws:
        ws.send(
            json.dumps(
                {
                    "type": "generate",
                    "prompt": "a long detailed story about coffee",
                    "tokens_per_second": 100,
                    "ttft_ms": 0,
                }
            )
        )
        json.loads(ws.recv(timeout=5))
        ws.send(json.dumps({"type": "feedback", "text": "shorter please, wrap up"}))
        msgs = _until_done(ws)
    text = "".join(m["text"] for m in msgs if m["type"] == "delta")
    assert msgs[-1]["reason"] == "stop" and text.count(".") + text.count("!") <= 2


@pytest.mark.parametrize(
    "bad",
    [
        "not json",
        json.dumps({"type": "dance"}),
        json.dumps({"type": "generate"}),
        json.dumps({"type": "generate", "prompt": "x", "seed": "abc"}),
    ],
)
def test_ws_bad_messages_get_an_error_not_a_closed_socket(local_server, bad):
    with _ws(local_server) as ws:
        ws.send(bad)
        assert json.loads(ws.recv(timeout=5))["type"] == "error"
        ws.send(json.dumps({"type": "stop"}))
        assert json.loads(ws.recv(timeout=5))["type"] == "error"


def test_ws_disconnect_mid_generation_leaves_nothing_running():
    from streamlab.provider import serve

    with serve(ttft_ms=0, tokens_per_second=20, jitter_ms=0) as server:
        with _ws(server) as ws:
            ws.send(json.dumps({"type": "generate", "prompt": "a long story"}))
            while json.loads(ws.recv(timeout=5))["type"] != "delta":
                pass
            assert server.stats["active_generations"] == 1
        wait_until(lambda: not server.stats["active_generations"])
        assert server.stats["active_generations"] == 0


def test_lesson_streams_are_cancelled_on_disconnect():
    from streamlab.provider import serve

    with serve() as server:
        with httpx.stream("GET", server.base_url + "/lesson/chunked?delay_ms=500") as r:
            pieces = r.iter_raw()  # keep a reference: a collected iterator closes the response
            next(pieces)
            time.sleep(0.05)
            assert server.stats["active_generations"] == 1
        wait_until(lambda: not server.stats["active_generations"])
        assert server.stats["active_generations"] == 0 and server.stats["cancelled"] == 1
