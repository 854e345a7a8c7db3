"""streamlab.sse's reconnect decisions, sans-IO: the Reconnector that both EventSource loops drive.

No sockets here: each test plays the IO loop's part by hand (tests/test_sse_client.py
runs the same rules over real connections).
"""

from __future__ import annotations

import re

import pytest

from streamlab.sse import (
    DEFAULT_MAX_RECONNECTS,
    DEFAULT_RECONNECT_WINDOW,
    MIN_RETRY_MS,
    Reconnect,
    SSEContentTypeError,
    SSEReconnectError,
    SSEStatusError,
)
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


# ---------------------------------------------------------------------- never spinning


class Clock:
    """Simulated time: the IO loop below advances it by exactly each wait it is told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def play(r: Reconnector, clock: Clock, body: bytes, connections: int) -> list[float]:
    """Be the IO loop for ``connections`` connections that each send ``body`` and close."""
    delays = []
    for _ in range(connections):
        delay = r.next_delay()
        delays.append(delay)
        clock.now += delay
        assert r.response(200, "text/event-stream", URL) == "events"
        list(r.events(body))
        r.connection_ended()
    return delays


def within_budget(delays: list[float], budget: int, window: float) -> bool:
    """True if no ``window`` seconds of simulated time hold more than ``budget`` reconnections."""
    times, t = [], 0.0
    for d in delays[1:]:
        t += d
        times.append(t)
    return all(b - a >= window - 1e-6 for a, b in zip(times, times[budget:], strict=False))


@pytest.mark.parametrize(
    ("body", "exempt"),
    [(b"retry: 0\n\n", 0), (b"retry: 0\ndata: x\n\n", 0), (b"retry: 0\nid: same\ndata: x\n\n", 1)],
    ids=["no event", "an event each time", "the same id each time"],
)
def test_retry_0_cannot_make_a_client_spin(body: bytes, exempt: int) -> None:
    clock = Clock()
    r = Reconnector(URL, max_attempts=None, clock=clock)
    delays = play(r, clock, body, 1000)
    assert r.retry_ms == 0
    # Rule 2: the floor, on every reconnection.
    assert min(delays[1:]) >= MIN_RETRY_MS / 1000
    # Rule 3: over simulated time (the sum of the waits it asked for), at most
    # 10 reconnections in any 60 s; 999 of them need 99 full windows. (Only
    # the first connection with the id "same" made progress: exempt.)
    assert within_budget(delays[exempt:], DEFAULT_MAX_RECONNECTS, DEFAULT_RECONNECT_WINDOW)
    assert sum(delays) >= (999 // DEFAULT_MAX_RECONNECTS - 1) * DEFAULT_RECONNECT_WINDOW
    assert len(r.reconnects) == 999


def test_progress_is_exempt_from_the_budget_but_not_from_the_floor() -> None:
    clock = Clock()
    r = Reconnector(URL, max_attempts=None, max_reconnects=3, reconnect_window=100, clock=clock)
    delays = []
    for i in range(20):  # a server that resumes: one new event (new id) per connection
        delays.append(r.next_delay())
        clock.now += delays[-1]
        r.response(200, "text/event-stream", URL)
        list(r.events(b"retry: 0\nid: %d\ndata: x\n\n" % i))
        r.connection_ended()
    assert delays[1:] == [MIN_RETRY_MS / 1000] * 19
    # Without progress the budget applies at once (after the reconnection that
    # follows the last progress): 3, then a wait for the window.
    no_progress = play(r, clock, b"data: no new id\n\n", 5)
    assert no_progress[:4] == [0.1] * 4 and no_progress[4] >= 99


def test_the_budget_and_the_floor_can_be_set_or_switched_off() -> None:
    clock = Clock()
    r = Reconnector(URL, max_attempts=None, min_retry_ms=0, max_reconnects=None, clock=clock)
    assert play(r, clock, b"retry: 0\n\n", 50)[1:] == [0.0] * 49  # the caller asked for it
    clock = Clock()
    r = Reconnector(URL, max_attempts=None, retry_ms=2000, max_reconnects=2, clock=clock)
    delays = play(r, clock, b"data: x\n\n", 6)
    assert delays[1:3] == [2.0, 2.0] and within_budget(delays, 2, 60.0)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_retry_ms": -1}, "must be >= 0"),
        ({"min_retry_ms": 500, "max_retry_ms": 100}, "floor on the wait must not exceed"),
        ({"max_reconnects": 0}, "max_reconnects=0 must be >= 1 or None"),
        ({"reconnect_window": 0}, "reconnect_window=0 > 0"),
        ({"reconnect_window": float("nan")}, "reconnect_window=nan > 0"),
    ],
)
def test_bad_budget_settings_are_refused(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Reconnector(URL, **kwargs)
