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

How long it waits (the rule that keeps a client from spinning):

1. The base wait is the reconnection time (the server's last ``retry:``, else
   ``retry_ms``), doubled for each further attempt in a row that brought no
   event, never above ``max_retry_ms``.
2. It is never below ``min_retry_ms`` (default :data:`MIN_RETRY_MS`,
   100 ms), so ``retry: 0`` cannot make a client reconnect in a tight loop.
3. Budget: at most ``max_reconnects`` reconnections (default
   :data:`DEFAULT_MAX_RECONNECTS`, 10) in any ``reconnect_window`` seconds
   (default :data:`DEFAULT_RECONNECT_WINDOW`, 60 s). A reconnection beyond it
   waits until the window has room, however long that is (``max_retry_ms``
   does not cut it short). Exempt, and not counted, is a reconnection after a
   connection that made progress: it handed on an event whose id differs
   from the id it was opened with (the server resumed and sent new events).
   So a server that sends ``retry: 0`` and closes, with or without an event
   that has no new id, gets at most 10 reconnections a minute, while a
   resumable stream over a flaky network reconnects as fast as rules 1-2
   allow. ``max_reconnects=None`` turns the budget off.

Time comes from ``clock`` (``time.monotonic`` unless given), so a test can
play the IO loop with a clock of its own and check the budget causally.
"""

from __future__ import annotations

import json as _json
import time
from collections import deque
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
#: Upper bound (ms) on the wait that ``retry:`` and backoff ask for (the budget may wait longer).
MAX_RETRY_MS = 30_000
#: Lower bound (ms) on every wait between attempts: ``retry: 0`` must not make a client spin.
MIN_RETRY_MS = 100
#: At most this many reconnections without progress in any ``DEFAULT_RECONNECT_WINDOW`` seconds.
DEFAULT_MAX_RECONNECTS = 10
#: The budget's window, in seconds.
DEFAULT_RECONNECT_WINDOW = 60.0
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
    default) and ``reconnects`` are the state; ``url``, ``min_retry_ms``,
    ``max_retry_ms``, ``max_attempts``, ``max_reconnects``,
    ``reconnect_window`` and ``on_reconnect`` the settings, read at each
    decision (the module docstring has the rule they make). ``max_line_bytes``
    and ``max_event_bytes`` are handed to each connection's
    :class:`~streamlab.sse.SSEDecoder`.
    """

    def __init__(
        self,
        url: str,
        *,
        last_event_id: str = "",
        retry_ms: int = DEFAULT_RETRY_MS,
        min_retry_ms: int = MIN_RETRY_MS,
        max_retry_ms: int = MAX_RETRY_MS,
        max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
        max_reconnects: int | None = DEFAULT_MAX_RECONNECTS,
        reconnect_window: float = DEFAULT_RECONNECT_WINDOW,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        max_line_bytes: int | None = None,
        max_event_bytes: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if retry_ms < 0 or max_retry_ms < 0 or min_retry_ms < 0:
            raise ValueError(
                f"retry_ms={retry_ms}, min_retry_ms={min_retry_ms} and "
                f"max_retry_ms={max_retry_ms} must be >= 0 (milliseconds)"
            )
        if min_retry_ms > max_retry_ms:
            raise ValueError(
                f"min_retry_ms={min_retry_ms} is above max_retry_ms={max_retry_ms}: "
                "the floor on the wait must not exceed its ceiling"
            )
        if max_attempts is not None and max_attempts < 0:
            raise ValueError(f"max_attempts={max_attempts} must be >= 0 or None (no limit)")
        if (max_reconnects is not None and max_reconnects < 1) or not reconnect_window > 0:
            raise ValueError(
                f"max_reconnects={max_reconnects} must be >= 1 or None (no budget) and "
                f"reconnect_window={reconnect_window} > 0 (seconds)"
            )
        # Validates last_event_id and the limits, as every connection's decoder will.
        SSEDecoder(
            last_event_id=last_event_id,
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
        )
        self.url = url
        self.last_event_id = last_event_id
        self.retry_ms = retry_ms
        self.min_retry_ms = min_retry_ms
        self.max_retry_ms = max_retry_ms
        self.max_attempts = max_attempts
        self.max_reconnects = max_reconnects
        self.reconnect_window = reconnect_window
        self.on_reconnect = on_reconnect
        self.max_line_bytes = max_line_bytes
        self.max_event_bytes = max_event_bytes
        self._clock = clock
        # When the budgeted reconnections happened (clock time), newest last.
        self._budgeted: deque[float] = deque()
        # The id the current connection was opened with, and whether an event
        # with another id was handed on since (progress: exempt from the budget).
        self._opened_with = last_event_id
        self._progress = False
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
        delay = max(delay_ms, self.min_retry_ms) / 1000
        if not self._progress:
            delay = self._budget(delay)
        record = Reconnect(attempt, self.last_event_id, delay, reason)
        self.reconnects.append(record)
        if self.on_reconnect is not None:
            self.on_reconnect(record)
        return record.delay

    def _budget(self, delay: float) -> float:
        """``delay``, or longer if the reconnection would exceed the budget; records it."""
        if self.max_reconnects is None:
            return delay
        now = self._clock()
        at = now + delay
        times = self._budgeted
        while len(times) >= self.max_reconnects:
            # The N-th last reconnection must be a window old before another
            # goes (times ascend, so the last one popped is that one).
            at = max(at, times.popleft() + self.reconnect_window)
        times.append(at)
        return round(at - now, 3)

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
        self._decoder = SSEDecoder(
            last_event_id=self.last_event_id,
            max_line_bytes=self.max_line_bytes,
            max_event_bytes=self.max_event_bytes,
        )
        self._opened_with, self._progress = self.last_event_id, False
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
            if sse.id != self._opened_with:
                self._progress = True
            self.last_event_id = sse.id
            yield sse
        self._take(decoder)

    def connection_ended(self, cause: BaseException | None = None) -> None:
        """The connection ended: the body ran out (no ``cause``) or ``cause`` cut it."""
        decoder, self._decoder = self._decoder, None
        if decoder is None:
            self._progress = False  # it failed before any event could arrive
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
