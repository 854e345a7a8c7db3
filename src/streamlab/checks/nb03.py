"""Checks for notebook 03, reconnects, errors, timeouts and cancellation.

- :func:`check_read_all`: exercise 3.1, a resume loop that reconnects with the
  last event id and never loses or repeats an event.
- :func:`check_is_retryable`: exercise 3.2, sort errors into "try again" and
  "fix something first", with the retry rules the OpenAI and Anthropic SDKs
  share (openai's two-minute ``retry-after`` cap, which anthropic does not
  have, is left out).
- :func:`check_read_background`: exercise 3.3, resume a background response
  after drops with ``starting_after``, through the real openai SDK against a
  local provider the check starts (each connection drops on cue).

The resume check drives the learner's loop with a scripted in-memory feed
(no sockets), so it is fast and every failure is reproducible.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from streamlab.checks._report import Report, run_check

__all__ = [
    "check_read_all",
    "check_is_retryable",
    "check_read_background",
    "ScriptedFeed",
    "retry_cases",
    "anthropic_drop",
]


#: The texts of a feed whose deltas repeat (as tokens do): event ``n`` says ``WORDS[n % 4]``.
WORDS = (" the", " stream", " the", " end")


def _event(n: int, total: int | None = None, *, words: bool = False) -> Any:
    """Event ``n`` of the feed; with ``total``, the final ``done`` event (it carries the id in force).

    With ``words`` the data repeats (``" the"`` every other event), so only the id
    tells a resent event from a new one that happens to say the same.
    """
    from streamlab.sse import ServerSentEvent

    if total is not None:
        return ServerSentEvent(event="done", data="end", id=str(total), retry=None)
    data = WORDS[n % len(WORDS)] if words else f"event {n}"
    return ServerSentEvent(event="message", data=data, id=str(n), retry=None)


class _GaveUpTooLate(BaseException):
    """Raised by the scripted feed when the learner's loop never stops retrying.

    A ``BaseException``, so that a loop catching ``Exception`` cannot swallow it.
    """


@dataclass
class ScriptedFeed:
    """An in-memory event feed that drops on cue, like the lesson endpoint.

    ``connect(last_event_id)`` returns an iterator of events 1..total (ids
    ``"1"``, ``"2"``, ...) that resumes after ``last_event_id``, then a final
    ``done`` event that has no id of its own: it carries the id in force, the
    same as event ``total``'s. Connection number *k* (0-based) drops (raises
    ``httpx.RemoteProtocolError``) after ``drops[k]`` events, if ``k <
    len(drops)``, and never just before ``done`` (like the lesson feed). With
    ``resend`` the server, like many real ones, first repeats the event the
    client resumed from (at-least-once). ``down_from`` makes every connection
    from that number on fail to connect. With ``words`` the events' data
    repeats (see :data:`WORDS`).
    """

    total: int
    drops: list[int] = field(default_factory=list)
    resend: bool = False
    down_from: int | None = None
    words: bool = False
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
            yield _event(n, words=self.words)
            sent += 1
        if start <= self.total:
            yield _event(0, self.total)


def _ids(events: Any) -> list[str] | None:
    """``["1", "2", ..., "done"]``: the message ids, and ``done`` for the final event."""
    try:
        return ["done" if e.event == "done" else e.id for e in events]
    except (TypeError, AttributeError):
        return None


def _numbered(total: int) -> list[str]:
    return [str(n) for n in range(1, total + 1)] + ["done"]


_LET_THROUGH = (
    "the connection dropped ({error}) and your function let it through; catch "
    "httpx.TransportError and connect again"
)


def _diagnose_ids(
    r: Report, what: str, ids: list[str], want: list[str], feed: ScriptedFeed | None = None
) -> None:
    """Say what is wrong with the events returned, most telling problem first."""
    repeated = sorted({i for i in ids if i != "done" and ids.count(i) > 1}, key=int)
    numbers = [i for i in want if i != "done"]
    missing = [i for i in numbers if i not in ids]
    if ids == want:
        r.expect(True, "")
    elif feed is not None and feed.words and missing and not repeated:
        said = sorted({WORDS[int(i) % len(WORDS)] for i in missing})
        r.expect(
            False,
            f"{what}: events {', '.join(missing)} are missing; they say {', '.join(map(repr, said))}, "
            "as earlier events did. Tokens repeat: tell a resent event by its id (not greater "
            "than the one you resumed from), never by its data",
        )
    elif repeated:
        r.expect(
            False,
            f"{what}: events {', '.join(repeated)} appear twice; the server repeated the event you "
            "resumed from, so skip events on a new connection whose id is not greater than the "
            "one you resumed from",
        )
    elif ids == numbers:
        r.expect(
            False,
            f"{what}: the final `done` event is missing. It carries the same id as the event "
            f"before it ({numbers[-1]}), so ids are not unique, and skipping every id you have "
            "seen drops it. Skip only events resent after a reconnect",
        )
    elif any(i not in ids for i in numbers if int(i) >= 10) and all(
        i in ids for i in numbers if int(i) < 10
    ):
        r.expect(
            False,
            f"{what}: events from 10 on are missing: compare ids as numbers (int(event.id)); "
            "as strings, '10' < '9'",
        )
    else:
        r.equal(ids, want, f"{what}: the ids")


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
            stuck = (
                ""
                if not feed.resend
                else (
                    " Only the resent event came each time: a resent event is not progress, so reset "
                    "the failure count only when a new event arrives."
                )
            )
            r.expect(
                False,
                f"{what}: your loop kept reconnecting {feed.limit} times without giving up; give up "
                f"(re-raise the error) after `max_retries` failed reconnections in a row.{stuck}",
            )
            return None, None
        except httpx.TransportError as exc:
            return None, exc
        ids = _ids(got)
        if ids is None:
            r.expect(
                False,
                f"{what}: return a list of the events (ServerSentEvent objects), got {got!r:.80}",
            )
        return ids, None

    def completes(
        r: Report, what: str, feed: ScriptedFeed, calls: list[Any] | None, **kwargs: Any
    ) -> None:
        ids, exc = run(r, what, feed, **kwargs)
        if exc is not None and len(feed.calls) > 1:
            r.expect(
                False,
                f"{what}: you gave up ({type(exc).__name__}) after {len(feed.calls) - 1} "
                "reconnections although each one delivered new events; count only failures in a "
                "row (reset the count when a new event arrives)",
            )
        elif exc is not None:
            r.expect(False, f"{what}: " + _LET_THROUGH.format(error=type(exc).__name__))
        elif ids is not None:
            if feed.calls[1:2] == [None]:
                r.expect(
                    False,
                    f"{what}: you reconnected with last_event_id=None, so the server started "
                    "over; pass the id of the last event you received",
                )
            elif len(feed.calls) == 1 and feed.drops:
                r.expect(
                    False,
                    f"{what}: you returned {len(ids)} events only; when the stream breaks, "
                    "connect again and go on",
                )
            else:
                _diagnose_ids(r, what, ids, _numbered(feed.total), feed)
                if calls is not None:
                    r.equal(feed.calls, calls, f"{what}: connect() should get the last id received")

    def gives_up(r: Report, what: str, feed: ScriptedFeed, retries: int) -> None:
        # Only the first connection makes progress: every later one is a failed reconnection.
        ids, exc = run(r, what, feed, max_retries=retries)
        if ids is not None:
            r.expect(
                False,
                f"{what}: you returned {len(ids)} events as if all went well; after `max_retries` "
                "failed reconnections in a row, raise the last error so the caller knows",
            )
        elif exc is not None:
            made = len(feed.calls) - 1
            if isinstance(exc, httpx.ConnectError) and made < retries:
                r.expect(
                    False,
                    f"{what}: a reconnection failed to connect ({type(exc).__name__}) and your "
                    "function let it through at once: connecting can fail too, so call connect() "
                    "inside the try and count that failure like a drop",
                )
                return
            own = " (use the `max_retries` argument, not a number of your own)" if made == 3 else ""
            r.expect(
                made == retries,
                f"{what}: make exactly max_retries={retries} reconnection attempts, then re-raise; "
                f"you made {made}{own}",
            )

    def body(r: Report) -> None:
        completes(r, "a feed that never drops", ScriptedFeed(total=5), [None])
        completes(
            r,
            "a feed of 12 events that drops after 3 and after 2 more events",
            ScriptedFeed(total=12, drops=[3, 2]),
            [None, "3", "5"],
        )
        completes(
            r,
            "a server that resends the event you resumed from (14 events, drops after 3, 4, 5)",
            ScriptedFeed(total=14, drops=[3, 4, 5], resend=True),
            [None, "3", "6", "10"],
        )
        completes(
            r,
            "a server that resends, with events whose text repeats (' the' every other event; "
            "10 events, drops after 3 and 3)",
            ScriptedFeed(total=10, drops=[3, 3], resend=True, words=True),
            [None, "3", "5"],
        )
        completes(
            r,
            "a feed that drops 12 times but makes progress each time (max_retries=2)",
            ScriptedFeed(total=12, drops=[1] * 12),
            None,
            max_retries=2,
        )
        for retries in (3, 5, 0):
            gives_up(
                r,
                f"a server that goes down for good after 2 events (max_retries={retries})",
                ScriptedFeed(total=8, drops=[2], down_from=1),
                retries,
            )
        gives_up(
            r,
            "a server that, after 3 events, only ever resends the event you resumed from "
            "and drops again (max_retries=3)",
            ScriptedFeed(total=8, drops=[3] + [1] * 70, resend=True),
            3,
        )

    return run_check("Exercise 3.1: a resume loop", body)


# --------------------------------------------------------------------------- 3.2
def _sdk_http() -> Any:
    """The HTTP library the openai SDK's own exceptions are built on."""
    try:
        import httpx2  # openai >= 3 ships its own fork of httpx

        return httpx2
    except ImportError:  # pragma: no cover
        return httpx


def _version(text: str) -> tuple[int, ...]:
    """``"2.17.0"`` -> ``(2, 17, 0)``; a pre-release tag ends the numbers."""
    numbers = []
    for part in text.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        if not digits:
            break
        numbers.append(int(digits))
    return tuple(numbers)


#: From this anthropic version on, a stream dropped mid-way raises ``anthropic.APIConnectionError``
#: (a stall ``APITimeoutError``); before it, the ``httpx2`` error itself came through.
ANTHROPIC_WRAPS_STREAM_ERRORS = (2, 17)


def anthropic_drop(request: Any, message: str) -> tuple[str, BaseException]:
    """(label, error) for what a dropped anthropic SDK stream raises with the anthropic installed."""
    import anthropic

    hx = _sdk_http()
    cause = hx.RemoteProtocolError(message, request=request)
    version = anthropic.__version__
    if _version(version) >= ANTHROPIC_WRAPS_STREAM_ERRORS:
        error = anthropic.APIConnectionError(request=request)
        error.__cause__ = cause
        return f"anthropic.APIConnectionError (a dropped stream, anthropic {version})", error
    return f"httpx2.RemoteProtocolError (a dropped stream, anthropic {version} < 2.17)", cause


def retry_cases() -> list[tuple[str, BaseException, bool, str]]:
    """(description, error, retryable?, why) for exercise 3.2.

    Both SDKs' classes appear, and both forms of a dropped anthropic stream
    (wrapped from anthropic 2.17, the bare ``httpx2`` error before), so an
    answer right on either side of 2.17 passes; :func:`anthropic_drop` names
    the one the installed anthropic raises.
    """
    import anthropic
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
    own_http = httpx.HTTPStatusError(
        "Client error '400 Bad Request'", request=plain, response=httpx.Response(400, request=plain)
    )
    drop_label, drop_error = anthropic_drop(req, dropped)
    both = "the SDKs run on httpx2, a fork of httpx: its TransportError is a different class, so check for both"
    anthropic_too = (
        "anthropic's errors have the same names as openai's but are other classes: check both SDKs"
    )
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
        ("APIStatusError (409 conflict)", status(openai.APIStatusError, 409), True, "409 (a lock timeout) is temporary, like 408"),
        ("InternalServerError (502)", status(openai.InternalServerError, 502), True, "a bad gateway is usually temporary"),
        ("APIStatusError (499, a status just below 500)", status(openai.APIStatusError, 499), False, "only 408, 409, 429 and 500 or above are worth a retry: 499 is an ordinary 4xx"),
        ("UnprocessableEntityError (422)", status(openai.UnprocessableEntityError, 422), False, "a request the server cannot process fails the same way again"),
        ("httpx.ReadTimeout", httpx.ReadTimeout("timed out", request=plain), True, "httpx.TransportError (timeouts, refused or dropped connections) is the network, not the request"),
        ("httpx2.RemoteProtocolError (your own httpx2 client's stream dropped)", hx.RemoteProtocolError(dropped, request=req), True, both),
        ("httpx2.ConnectError", hx.ConnectError("connection refused", request=req), True, both),
        ("httpx.RemoteProtocolError (dropped stream)", httpx.RemoteProtocolError(dropped, request=plain), True, "a dropped connection is the network, not the request"),
        ("httpx.HTTPStatusError (400, from raise_for_status())", own_http, False, "an HTTP error status is not the network: httpx.HTTPError covers both, httpx.TransportError only the network"),
        ("BadRequestError (400)", status(openai.BadRequestError, 400), False, "the same bad request fails the same way: fix the request"),
        ("AuthenticationError (401)", status(openai.AuthenticationError, 401), False, "a wrong key stays wrong: fix the key"),
        ("NotFoundError (404)", status(openai.NotFoundError, 404), False, "a missing model or endpoint stays missing"),
        ("BadRequestError (400) with x-should-retry: true", status(openai.BadRequestError, 400, {"x-should-retry": "true"}), True, "the server's x-should-retry header wins over the status code"),
        ("InternalServerError (503) with x-should-retry: false", status(openai.InternalServerError, 503, {"x-should-retry": "false"}), False, "the server's x-should-retry header wins over the status code"),
        (drop_label, drop_error, True, "a dropped anthropic stream is the network: " + anthropic_too),
        ("anthropic.APIConnectionError", anthropic.APIConnectionError(request=req), True, anthropic_too),
        ("anthropic.APITimeoutError (a stalled anthropic stream)", anthropic.APITimeoutError(request=req), True, anthropic_too),
        ("anthropic.RateLimitError (429)", status(anthropic.RateLimitError, 429, {"retry-after": "1"}), True, anthropic_too),
        ("anthropic.APIStatusError (529 overloaded)", status(getattr(anthropic, "OverloadedError", anthropic.APIStatusError), 529), True, anthropic_too),
        ("anthropic.BadRequestError (400)", status(anthropic.BadRequestError, 400), False, "the same bad request fails the same way, whichever SDK sent it"),
        ("anthropic.InternalServerError (500) with x-should-retry: false", status(anthropic.InternalServerError, 500, {"x-should-retry": "false"}), False, "the server's x-should-retry header wins over the status code, in both SDKs"),
        ("ValueError (a bug in your own code)", ValueError("could not parse the answer"), False, "trying again runs the same bug again"),
    ]
    # fmt: on


def check_is_retryable(is_retryable: Callable[[BaseException], bool]) -> bool:
    """Exercise 3.2: ``is_retryable(error) -> bool``."""

    def body(r: Report) -> None:
        for what, error, want, why in retry_cases():
            # One case at a time, so an answer that raises on one error is told which, and the
            # other cases still run.
            ok, got = r.call(is_retryable, error, what=f"is_retryable({what})", hint=why)
            if not ok:
                continue
            if not isinstance(got, bool):
                r.expect(False, f"{what}: return True or False, got {got!r}")
                continue
            verdict = "is worth a retry" if want else "is not worth a retry"
            r.expect(got == want, f"{what} {verdict}: {why}")

    return run_check("Exercise 3.2: worth a retry?", body)


# --------------------------------------------------------------------------- 3.3
#: Each connection (the create, then every resume) drops after this many events.
DROP_EVERY = 5
_PROMPT = "Briefly: why do chat apps stream their answers?"
_MODEL = "streamlab-local"


def _key(event: Any) -> tuple[int, str, str]:
    return (event.sequence_number, event.type, getattr(event, "delta", "") or "")


class _Watched:
    """A real SDK client on a local server, with the controls of one case and a log of its calls.

    ``create_drop`` / ``resume_drop`` set the ``drop-after`` fault of the create
    and of each ``GET /v1/responses/{id}`` (None: no drop); ``calls`` records
    ``"create"`` or the ``starting_after`` each resume sent (None if it sent none).
    """

    def __init__(self, server: Any, create_drop: int | None, resume_drop: int | None) -> None:
        import openai

        self.calls: list[Any] = []
        self.limit = 60

        def hook(request: Any) -> None:
            if len(self.calls) >= self.limit:
                raise _GaveUpTooLate()  # a loop that never ends: stop it, then say so
            if request.method == "POST" and request.url.path.endswith("/responses"):
                self.calls.append("create")
                drop = create_drop
            elif request.method == "GET":
                after = request.url.params.get("starting_after")
                self.calls.append(None if after is None else int(after))
                drop = resume_drop
            else:
                return
            if drop is not None:
                request.headers["x-streamlab-fault"] = f"drop-after={drop}"

        self.client = server.openai(
            max_retries=0, http_client=openai.DefaultHttpxClient(event_hooks={"request": [hook]})
        )


def _diagnose_events(
    r: Report, what: str, got: list[Any], want: list[Any], calls: list[Any]
) -> None:
    keys, want_keys = [_key(e) for e in got], [_key(e) for e in want]
    numbers = [k[0] for k in keys]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    missing = [k[0] for k in want_keys if k[0] not in numbers]
    resumes = [c for c in calls[1:] if c != "create"]
    if keys == want_keys:
        r.expect(True, "")
    elif calls.count("create") > 1 or None in resumes:
        r.expect(
            False,
            f"{what}: after the drop you started over ({'a new create' if calls.count('create') > 1 else 'a resume without starting_after'}), "
            "so the events came again from 0: resume the same response with "
            "client.responses.retrieve(response_id, stream=True, starting_after=...)",
        )
    elif repeated:
        r.expect(
            False,
            f"{what}: event{'s' if len(repeated) > 1 else ''} {', '.join(map(str, repeated[:6]))} "
            f"appear{'' if len(repeated) > 1 else 's'} twice (you sent starting_after="
            f"{', '.join(map(str, resumes))}). starting_after=N sends the events *after* N: pass the "
            "sequence_number of the last event you received, read from the event itself",
        )
    elif missing and missing == list(range(missing[0], len(want))):
        r.expect(
            False,
            f"{what}: the last events (from sequence_number {missing[0]}, "
            f"{want[missing[0]].type}) are missing: read every stream to its end, up to "
            f"{want[-1].type}, resuming as often as it drops",
        )
    elif missing:
        r.expect(
            False,
            f"{what}: events {', '.join(map(str, missing[:6]))} are missing (you sent starting_after="
            f"{', '.join(map(str, resumes))}). starting_after=N resumes after N: pass the "
            "sequence_number of the last event you received, not a count of events",
        )
    else:
        r.equal(keys, want_keys, f"{what}: the events (sequence_number, type, delta)")


def check_read_background(read_background: Callable[..., list[Any]]) -> bool:
    """Exercise 3.3: ``read_background(client, model, prompt, max_retries=3) -> list of events``."""
    import openai

    from streamlab.provider import serve

    def body(r: Report) -> None:
        with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
            want = list(
                server.openai(max_retries=0).responses.create(
                    model=_MODEL, input=_PROMPT, background=True, stream=True
                )
            )
            cases = [
                ("a stream that never drops", None, None),
                (
                    f"a stream that drops after every {DROP_EVERY} events, on every connection",
                    DROP_EVERY,
                    DROP_EVERY,
                ),
                ("a stream that drops once, after 2 events", 2, None),
            ]
            for what, create_drop, resume_drop in cases:
                w = _Watched(server, create_drop, resume_drop)
                try:
                    got = read_background(w.client, _MODEL, _PROMPT)
                except _GaveUpTooLate:
                    again = w.calls.count("create") > 1
                    sent = ", ".join(str(c) for c in w.calls[1:7] if c != "create")
                    r.expect(
                        False,
                        f"{what}: your loop made {w.limit} requests without finishing"
                        + (
                            ": each drop started over with a new create, so the events came "
                            "again from 0 and it never ends; resume the same response with "
                            "client.responses.retrieve(response_id, stream=True, starting_after=...)"
                            if again
                            else f"; you sent starting_after={sent}, ...: pass the "
                            "sequence_number of the last event you received, read from the "
                            "event itself (a count of events is not it)"
                        ),
                    )
                    continue
                except openai.APIConnectionError:
                    made = len(w.calls) - 1
                    r.expect(
                        False,
                        f"{what}: you gave up (APIConnectionError) after {made} resume(s) although "
                        "each one delivered new events; count only failures in a row (reset the "
                        "count when a new event arrives)"
                        if made
                        else f"{what}: the connection dropped and your function let "
                        "openai.APIConnectionError through; catch it and resume",
                    )
                    continue
                if not isinstance(got, list) or not all(hasattr(e, "sequence_number") for e in got):
                    r.expect(False, f"{what}: return a list of the SDK's events, got {got!r:.80}")
                    continue
                _diagnose_events(r, what, got, want, w.calls)
            w = _Watched(server, 3, 0)  # every resume drops before its first event
            try:
                got = read_background(w.client, _MODEL, _PROMPT, max_retries=2)
            except _GaveUpTooLate:
                r.expect(
                    False,
                    f"a server whose resumes all drop before any event: your loop made {w.limit} "
                    "requests without giving up; re-raise after max_retries failed resumes in a row",
                )
            except openai.APIConnectionError:
                made = len(w.calls) - 1
                r.expect(
                    made == 2,
                    "a server whose resumes all drop before any event (max_retries=2): make "
                    f"exactly max_retries=2 resume attempts, then re-raise; you made {made}",
                )
            else:
                r.expect(
                    False,
                    f"a server whose resumes all drop before any event: you returned {len(got)} "
                    "events as if all went well; after max_retries failed resumes in a row, "
                    "re-raise the error so the caller knows",
                )

    return run_check("Exercise 3.3: resume a background response", body)
