"""The sans-IO half of the reconnecting clients: every decision, no IO (h11 style).

:class:`~streamlab.sse.EventSource` and :class:`~streamlab.sse.AsyncEventSource`
are thin loops around one :class:`Reconnector`. The loop does the IO (connect,
read, sleep) and tells the reconnector what happened; the reconnector says
what to send, what a response means, how long to wait and when to give up,
and keeps the record. So the rules exist once, whatever the IO, and can be
tried out without a server::

    r = Reconnector("http://example.test/events")
    r.next_delay()                                     # 0.0: first connection
    r.response(200, "text/event-stream", r.url)        # "events"
    [e.data for e in r.events(b"id: 7\\ndata: hi\\n\\n")]  # ['hi']
    r.connection_ended()                               # the server closed it
    r.next_delay(), r.request_headers({})[-1]          # 1.0, ('Last-Event-ID', '7')
"""

from __future__ import annotations

import json as _json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from streamlab.sse._decoder import SSEDecoder
from streamlab.sse._errors import (
    SSEContentTypeError,
    SSEReconnectError,
    SSEStateError,
    SSEStatusError,
    describe,
)
from streamlab.sse._event import ServerSentEvent

#: Reconnection time (ms) before the server sends a ``retry:`` field. The spec
#: leaves it to the user agent; browsers use a few seconds, 1 s keeps lessons snappy.
DEFAULT_RETRY_MS = 1000
#: Upper bound (ms) on any wait between attempts, whatever ``retry:`` or backoff says.
MAX_RETRY_MS = 30_000
#: Consecutive failed attempts (no event received) before giving up.
DEFAULT_MAX_ATTEMPTS = 5

_CLOSED_BY_SERVER = "the server closed the connection"


@dataclass(frozen=True, slots=True)
class Reconnect:
    """One reconnection, as recorded in ``EventSource.reconnects``.

    ``attempt`` counts consecutive attempts (1 = first since an event arrived),
    ``last_event_id`` is what was sent as ``Last-Event-ID`` ("" = not sent),
    ``delay`` the seconds waited before connecting, ``reason`` why the previous
    connection ended.
    """

    attempt: int
    last_event_id: str
    delay: float
    reason: str


class Reconnector:
    """What a reconnecting event stream client decides, without doing any IO.

    One per client, for all its connections. The IO loop calls, in order:
    :meth:`next_delay` (wait that long, then connect), :meth:`request_headers`
    (send them), :meth:`response` (what to do with the answer), :meth:`events`
    for each chunk of the body (hand each event on as it comes), and
    :meth:`connection_ended` when the connection ends in a way worth another
    attempt. Errors that end the stream for good are raised here, typed.

    ``last_event_id``, ``retry_ms`` (the server's last ``retry:``, else the
    default) and ``reconnects`` are the state; ``url``, ``max_retry_ms``,
    ``max_attempts`` and ``on_reconnect`` the settings, read at each decision.
    """

    def __init__(
        self,
        url: str,
        *,
        last_event_id: str = "",
        retry_ms: int = DEFAULT_RETRY_MS,
        max_retry_ms: int = MAX_RETRY_MS,
        max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
    ) -> None:
        if retry_ms < 0 or max_retry_ms < 0:
            raise ValueError(
                f"retry_ms={retry_ms} and max_retry_ms={max_retry_ms} must be >= 0 (milliseconds)"
            )
        if max_attempts is not None and max_attempts < 0:
            raise ValueError(f"max_attempts={max_attempts} must be >= 0 or None (no limit)")
        SSEDecoder(last_event_id=last_event_id)  # validates it
        self.url = url
        self.last_event_id = last_event_id
        self.retry_ms = retry_ms
        self.max_retry_ms = max_retry_ms
        self.max_attempts = max_attempts
        self.on_reconnect = on_reconnect
        #: Every reconnection so far, oldest first.
        self.reconnects: list[Reconnect] = []
        # Reconnection attempts since an event last arrived.
        self._attempt = 0
        # Why the last connection ended, and the exception if any; None before the first.
        self._ended: tuple[str, BaseException | str] | None = None
        # The connection being read: its decoder, and what status_error() reports.
        self._decoder: SSEDecoder | None = None
        self._status = 0
        self._response_url = ""

    def next_delay(self) -> float:
        """Seconds to wait before the next connection: 0 for the first one.

        For a reconnection this counts the attempt, appends a :class:`Reconnect`
        to ``reconnects`` and calls ``on_reconnect`` with it; after
        ``max_attempts`` attempts in a row without an event it raises
        :class:`SSEReconnectError` instead.
        """
        if self._ended is None:
            return 0.0
        reason, cause = self._ended
        self._attempt += 1
        attempt = self._attempt
        if self.max_attempts is not None and attempt > self.max_attempts:
            err = SSEReconnectError(self.url, attempt - 1, cause)
            if isinstance(cause, BaseException):
                raise err from cause
            raise err
        # The spec waits the reconnection time; it allows backing off further,
        # which we do (doubling) for consecutive failures, within the cap.
        delay_ms = min(self.retry_ms * (2 ** min(attempt - 1, 40)), self.max_retry_ms)
        record = Reconnect(attempt, self.last_event_id, delay_ms / 1000, reason)
        self.reconnects.append(record)
        if self.on_reconnect is not None:
            self.on_reconnect(record)
        return record.delay

    def request_headers(self, headers: Mapping[str, str]) -> list[tuple[str, str]]:
        """The request's headers: ``headers`` over the event stream defaults, and ``Last-Event-ID``.

        Names compare case-insensitively (an "accept" given replaces our
        "Accept"). ``Last-Event-ID`` is the id this client really has, or
        absent before any id: a value in ``headers`` never overrides it.
        """
        given = {name.lower() for name in headers}
        defaults = [("Accept", "text/event-stream"), ("Cache-Control", "no-store")]
        out = [(name, value) for name, value in defaults if name.lower() not in given]
        out += [(name, value) for name, value in headers.items() if name.lower() != "last-event-id"]
        if self.last_event_id:
            out.append(("Last-Event-ID", self.last_event_id))
        return out

    def response(
        self, status_code: int, content_type: str, url: str
    ) -> Literal["events", "stop", "error"]:
        """What to do with a response: read its ``"events"``, ``"stop"``, or read the ``"error"``.

        ``"stop"``: HTTP 204, the server's way to say there is nothing more
        (the client closes for good). ``"error"``: a status other than 2xx;
        read (some of) the body and raise :meth:`status_error` with it.
        Raises :class:`SSEContentTypeError` for a 2xx body that is not an
        event stream.
        """
        if status_code == 204:
            return "stop"
        self._status, self._response_url = status_code, url
        if not 200 <= status_code < 300:
            return "error"
        if not _content_type_ok(content_type):
            raise SSEContentTypeError(content_type, url)
        self._decoder = SSEDecoder(last_event_id=self.last_event_id)
        return "events"

    def status_error(self, body: bytes) -> SSEStatusError:
        """The error to raise for the non-2xx response, quoting its ``body``."""
        message, text = _error_message(body)
        return SSEStatusError(self._status, self._response_url, message, text)

    def events(self, chunk: bytes) -> Iterator[ServerSentEvent]:
        """The events that a chunk of the body completes, each noted as handed on.

        The id in force follows each event as it is yielded, so a consumer
        that stops after an event resumes from exactly that one; the
        decoder's id and ``retry`` are taken once the chunk is done.
        """
        decoder = self._decoder
        if decoder is None:
            raise SSEStateError("events() before response() said 'events': no body to decode")
        for sse in decoder.feed(chunk):
            self._attempt = 0
            self.last_event_id = sse.id
            yield sse
        self._take(decoder)

    def connection_ended(self, cause: BaseException | None = None) -> None:
        """The connection ended: the body ran out (no ``cause``) or ``cause`` cut it."""
        decoder, self._decoder = self._decoder, None
        if cause is None:
            if decoder is not None:
                decoder.close()
                self._take(decoder)
            self._ended = (_CLOSED_BY_SERVER, _CLOSED_BY_SERVER)
        else:
            self._ended = (describe(cause), cause)

    def _take(self, decoder: SSEDecoder) -> None:
        self.last_event_id = decoder.last_event_id
        if decoder.retry is not None:
            self.retry_ms = decoder.retry


def _error_message(body: bytes) -> tuple[str, str]:
    """The message to quote from an error body (OpenAI/Anthropic JSON, else the text)."""
    text = body.decode("utf-8", "replace")
    message = ""
    try:
        parsed = _json.loads(text)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        err = parsed.get("error")
        if isinstance(err, dict) and isinstance(err.get("message"), str):
            message = err["message"]
        elif isinstance(err, str):
            message = err
        elif isinstance(parsed.get("message"), str):
            message = parsed["message"]
        elif isinstance(parsed.get("detail"), str):
            message = parsed["detail"]
    if not message:
        stripped = " ".join(text.split())
        message = stripped if len(stripped) <= 200 else stripped[:200] + "..."
    return message, text


def _content_type_ok(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"
