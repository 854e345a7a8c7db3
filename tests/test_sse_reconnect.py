"""streamlab.sse's reconnect decisions, sans-IO: the Reconnector that both EventSource loops drive.

No sockets here: each test plays the IO loop's part by hand (tests/test_sse_client.py
runs the same rules over real connections).
"""

from __future__ import annotations

import pytest

from streamlab.sse import Reconnect, SSEContentTypeError, SSEReconnectError, SSEStatusError
from streamlab.sse._reconnect import Reconnector

URL = "http://example.test/events"


def test_a_connection_that_ends_is_retried_with_the_last_id_and_the_servers_retry() -> None:
    seen: list[Reconnect] = []
    r = Reconnector(URL, on_reconnect=seen.append)
    assert r.next_delay() == 0.0 and r.reconnects == []
    assert r.request_headers({}) == [("Accept", "text/event-stream"), ("Cache-Control", "no-store")]
    assert r.response(200, "text/event-stream; charset=utf-8", URL) == "events"
    events = [e.data for e in r.events(b"retry: 250\nid: 7\ndata: a\n\nid: 8\n\n")]
    assert events == ["a"] and (r.last_event_id, r.retry_ms) == ("8", 250)
    r.connection_ended()
    assert r.next_delay() == 0.25
    assert seen == r.reconnects == [Reconnect(1, "8", 0.25, "the server closed the connection")]
    assert r.request_headers({})[-1] == ("Last-Event-ID", "8")


def test_the_id_follows_each_event_as_it_is_handed_on() -> None:
    r = Reconnector(URL)
    r.response(200, "text/event-stream", URL)
    ids = []
    for event in r.events(b"id: 1\ndata: a\n\nid: 2\ndata: b\n\nid: 3\n\n"):
        ids.append((event.id, r.last_event_id))
    assert ids == [("1", "1"), ("2", "2")] and r.last_event_id == "3"


def test_failures_in_a_row_back_off_then_give_up() -> None:
    r = Reconnector(URL, retry_ms=5, min_retry_ms=0, max_retry_ms=12, max_attempts=3)
    r.next_delay()
    cause = ConnectionError("refused")
    delays = []
    for _ in range(3):
        r.connection_ended(cause)
        delays.append(r.next_delay())
    assert delays == [0.005, 0.01, 0.012]
    r.connection_ended(cause)
    with pytest.raises(SSEReconnectError, match="after 3 failed") as info:
        r.next_delay()
    assert info.value.__cause__ is cause and "ConnectionError: refused" in str(info.value)


def test_an_event_resets_the_count() -> None:
    r = Reconnector(URL, retry_ms=10, min_retry_ms=0)
    r.next_delay()
    r.connection_ended(ConnectionError())
    assert r.next_delay() == 0.01
    r.response(200, "text/event-stream", URL)
    list(r.events(b"data: x\n\n"))
    r.connection_ended()
    assert r.next_delay() == 0.01 and [x.attempt for x in r.reconnects] == [1, 1]


def test_headers_given_replace_ours_but_never_the_last_event_id() -> None:
    r = Reconnector(URL, last_event_id="41")
    given = {"accept": "text/event-stream, */*", "Last-Event-ID": "0", "X-Key": "k"}
    assert r.request_headers(given) == [
        ("Cache-Control", "no-store"),
        ("accept", "text/event-stream, */*"),
        ("X-Key", "k"),
        ("Last-Event-ID", "41"),
    ]


def test_what_a_response_means() -> None:
    r = Reconnector(URL)
    assert r.response(204, "", URL) == "stop"
    assert r.response(401, "application/json", URL) == "error"
    err = r.status_error(b'{"error": {"message": "bad key"}}')
    assert isinstance(err, SSEStatusError) and (err.status_code, err.message) == (401, "bad key")
    with pytest.raises(SSEContentTypeError, match="got 'text/html'"):
        r.response(200, "text/html", URL)
