"""Checks for notebook 03, reconnects, errors, timeouts and cancellation.

- :func:`check_read_all`: exercise 3.1, a resume loop that reconnects with the
  last event id and never loses or repeats an event.
- :func:`check_is_retryable`: exercise 3.2, sort errors into "try again" and
  "fix something first", with the rules the OpenAI and Anthropic SDKs use.

The resume check drives the learner's loop with a scripted in-memory feed
(no sockets), so it is fast and every failure is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from streamlab.checks._report import Report, run_check

__all__ = ["check_read_all", "check_is_retryable", "ScriptedFeed", "retry_cases"]


def _event(n: int) -> Any:
    from streamlab.sse import ServerSentEvent

    return ServerSentEvent(event="message", data=f"event {n}", id=str(n), retry=None)


class _GaveUpTooLate(Exception):
    """Raised by the scripted feed when the learner's loop never stops retrying."""


@dataclass
class ScriptedFeed:
    """An in-memory event feed that drops on cue, like the lesson endpoint.

    ``connect(last_event_id)`` returns an iterator of events 1..total that
    resumes after ``last_event_id``. Connection number *k* (0-based) drops
    (raises ``httpx.RemoteProtocolError``) after ``drops[k]`` events, if
    ``k < len(drops)``. With ``resend`` the server, like many real ones,
    repeats the last event the client saw after a resume (at-least-once).
    ``down_from`` makes every connection from that number on fail to connect.
    """

    total: int
    drops: list[int] = field(default_factory=list)
    resend: bool = False
    down_from: int | None = None
    calls: list[str | None] = field(default_factory=list)
    limit: int = 60

    def connect(self, last_event_id: str | None = None) -> Iterator[Any]:
        k = len(self.calls)
        self.calls.append(last_event_id)
        if k >= self.limit:
            raise _GaveUpTooLate()
        if self.down_from is not None and k >= self.down_from:
            raise httpx.ConnectError("All connection attempts failed (the scripted server is down)")
        start = int(last_event_id) + 1 if last_event_id not in (None, "") else 1
        if self.resend and last_event_id not in (None, ""):
            start -= 1
        return self._events(start, self.drops[k] if k < len(self.drops) else None)

    def _events(self, start: int, drop_after: int | None) -> Iterator[Any]:
        sent = 0
        for n in range(start, self.total + 1):
            if drop_after is not None and sent >= drop_after:
                raise httpx.RemoteProtocolError(
                    "peer closed connection without sending complete message body "
                    "(incomplete chunked read)"
                )
            yield _event(n)
            sent += 1


def _ids(events: Any) -> list[str] | None:
    try:
        return [e.id for e in events]
    except (TypeError, AttributeError):
        return None


def check_read_all(read_all: Callable[..., list[Any]]) -> bool:
    """Exercise 3.1: ``read_all(connect, max_retries=3) -> list of events``."""

    def run(
        r: Report, what: str, feed: ScriptedFeed, **kwargs: Any
    ) -> tuple[list[str] | None, BaseException | None]:
        try:
            got = read_all(feed.connect, **kwargs)
        except NotImplementedError:
            raise
        except _GaveUpTooLate:
            r.expect(
                False,
                f"{what}: your loop kept reconnecting {feed.limit} times to a server that is down; "
                "give up (re-raise the error) after `max_retries` failures in a row",
            )
            return None, None
        except httpx.TransportError as exc:
            return None, exc
        ids = _ids(got)
        if ids is None:
            r.expect(
                False, f"{what}: return a list of the events (ServerSentEvent objects), got {got!r}"
            )
        return ids, None

    def body(r: Report) -> None:
        want = [str(n) for n in range(1, 9)]

        what = "a feed that never drops"
        feed = ScriptedFeed(total=5)
        ids, exc = run(r, what, feed)
        if exc is not None:
            r.expect(False, f"{what}: raised {type(exc).__name__}: {exc}")
        elif ids is not None:
            r.equal(ids, ["1", "2", "3", "4", "5"], f"{what}: the ids")
            r.equal(feed.calls, [None], f"{what}: connect() calls (first call passes None)")

        what = "a feed that drops after 3 and after 2 more events"
        feed = ScriptedFeed(total=8, drops=[3, 2])
        ids, exc = run(r, what, feed)
        if exc is not None:
            r.expect(
                False,
                f"{what}: the connection dropped ({type(exc).__name__}) and your function let it "
                "through; catch httpx.TransportError and connect again",
            )
        elif ids is not None:
            if ids == want[:3]:
                r.expect(
                    False,
                    f"{what}: you returned the first 3 events only; when the stream breaks, connect "
                    "again and go on",
                )
            elif feed.calls[1:2] == [None]:
                r.expect(
                    False,
                    f"{what}: you reconnected with last_event_id=None, so the server started over; "
                    "pass the id of the last event you received",
                )
            else:
                r.equal(ids, want, f"{what}: the ids")
                r.equal(
                    feed.calls,
                    [None, "3", "5"],
                    f"{what}: connect() should be called with the last id received",
                )

        what = "a server that resends the last event after each resume"
        feed = ScriptedFeed(total=8, drops=[3, 2], resend=True)
        ids, exc = run(r, what, feed)
        if exc is None and ids is not None:
            repeated = sorted({i for i in ids if ids.count(i) > 1}, key=int)
            if repeated:
                r.expect(
                    False,
                    f"{what}: events {', '.join(repeated)} appear twice; the server repeated them "
                    "after the reconnect, so skip an event whose id you already have",
                )
            else:
                r.equal(ids, want, f"{what}: the ids")
        elif exc is not None:
            r.expect(
                False,
                f"{what}: the connection dropped ({type(exc).__name__}) and your function let it "
                "through; catch httpx.TransportError and connect again",
            )

        what = "a feed that drops 5 times but makes progress each time (max_retries=2)"
        feed = ScriptedFeed(total=8, drops=[1, 1, 1, 1, 1])
        ids, exc = run(r, what, feed, max_retries=2)
        if exc is not None:
            r.expect(
                False,
                f"{what}: you gave up although every connection delivered new events; count only "
                "failures in a row (reset the count when an event arrives)",
            )
        elif ids is not None:
            r.equal(ids, want, f"{what}: the ids")

        what = "a server that goes down for good after 2 events (max_retries=3)"
        feed = ScriptedFeed(total=8, drops=[2], down_from=1)
        ids, exc = run(r, what, feed, max_retries=3)
        if ids is not None:
            r.expect(
                False,
                f"{what}: you returned {len(ids)} events as if all went well; after `max_retries` "
                "failed reconnects in a row, raise the last error so the caller knows",
            )
        elif exc is not None:
            attempts = len(feed.calls) - 1
            r.expect(
                attempts == 3,
                f"{what}: make exactly max_retries=3 reconnect attempts before giving up, you made {attempts}",
            )

    return run_check("Exercise 3.1: resume a dropped stream", body)


# --------------------------------------------------------------------------- 3.2
def _sdk_http() -> Any:
    """The HTTP library the openai SDK's own exceptions are built on."""
    try:
        import httpx2  # openai >= 3 ships its own fork of httpx

        return httpx2
    except ImportError:  # pragma: no cover
        return httpx


def retry_cases() -> list[tuple[str, BaseException, bool, str]]:
    """(description, error, retryable?, why) for exercise 3.2."""
    import openai

    hx = _sdk_http()
    url = "http://127.0.0.1/v1/responses"
    req = hx.Request("POST", url)

    def status(
        cls: type, code: int, headers: dict[str, str] | None = None, message: str = ""
    ) -> BaseException:
        response = hx.Response(code, request=req, headers=headers or {})
        return cls(message or f"Error code: {code}", response=response, body=None)

    plain = httpx.Request("GET", "http://127.0.0.1/lesson/events")
    dropped = "peer closed connection without sending complete message body"
    # One case a line: (description, error, retryable?, why).
    # fmt: off
    return [
        ("RateLimitError (429)", status(openai.RateLimitError, 429, {"retry-after": "1"}), True, "a rate limit passes: wait (retry-after) and try again"),
        ("InternalServerError (500)", status(openai.InternalServerError, 500), True, "a server error is usually temporary"),
        ("InternalServerError (503)", status(openai.InternalServerError, 503), True, "503 means overloaded or restarting: temporary"),
        ("APIStatusError (529 overloaded)", status(openai.APIStatusError, 529), True, "every status >= 500 is worth another try"),
        ("APIStatusError (408 request timeout)", status(openai.APIStatusError, 408), True, "408 and 409 (lock timeout) are temporary too"),
        ("APITimeoutError", openai.APITimeoutError(request=req), True, "a timeout may pass on the next attempt"),
        ("APIConnectionError", openai.APIConnectionError(request=req), True, "the network failed, not the request"),
        ("httpx.ReadTimeout", httpx.ReadTimeout("timed out", request=plain), True, "httpx.TransportError (timeouts, refused or dropped connections) is the network, not the request"),
        ("httpx.RemoteProtocolError (dropped stream)", httpx.RemoteProtocolError(dropped, request=plain), True, "a dropped connection is the network, not the request"),
        ("BadRequestError (400)", status(openai.BadRequestError, 400), False, "the same bad request fails the same way: fix the request"),
        ("AuthenticationError (401)", status(openai.AuthenticationError, 401), False, "a wrong key stays wrong: fix the key"),
        ("NotFoundError (404)", status(openai.NotFoundError, 404), False, "a missing model or endpoint stays missing"),
        ("BadRequestError (400) with x-should-retry: true", status(openai.BadRequestError, 400, {"x-should-retry": "true"}), True, "the server's x-should-retry header wins over the status code"),
        ("InternalServerError (503) with x-should-retry: false", status(openai.InternalServerError, 503, {"x-should-retry": "false"}), False, "the server's x-should-retry header wins over the status code"),
        ("ValueError (a bug in your own code)", ValueError("could not parse the answer"), False, "trying again runs the same bug again"),
    ]
    # fmt: on


def check_is_retryable(is_retryable: Callable[[BaseException], bool]) -> bool:
    """Exercise 3.2: ``is_retryable(error) -> bool``."""

    def body(r: Report) -> None:
        for what, error, want, why in retry_cases():
            got = is_retryable(error)
            if not isinstance(got, bool):
                r.expect(False, f"{what}: return True or False, got {got!r}")
                continue
            verdict = "is worth a retry" if want else "is not worth a retry"
            r.expect(got == want, f"{what} {verdict}: {why}")

    return run_check("Exercise 3.2: which errors are worth a retry?", body)
