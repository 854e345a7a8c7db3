"""Server-Sent Events: a sans-IO decoder and encoder, httpx adapters, reconnecting clients.

The wire format (WHATWG HTML, "Server-sent events", section "Interpreting an
event stream") is a UTF-8 text of lines ending in CR, LF or CRLF. Each line is
a field (``data: ...``, ``event: ...``, ``id: ...``, ``retry: ...``), a comment
(starting with ``:``), or empty; an empty line dispatches the event gathered so
far. Everything below follows those rules exactly:

- one leading U+FEFF BYTE ORDER MARK is stripped at the very start of a stream;
- lines end at CR, LF or CRLF and nowhere else (not at U+2028, U+0085 or form
  feed, where :meth:`str.splitlines` would split), including a CR at the end of
  one chunk followed by an LF at the start of the next;
- a line starting with ``:`` is a comment; a line without a colon is a field
  with an empty value; one space after the colon is removed, no more;
- ``data`` lines are joined with LF; an event with no ``data`` line is not
  dispatched (its ``id`` still becomes the last event ID); unknown fields are
  ignored; an ``id`` containing NUL is ignored; an empty ``id`` resets the last
  event ID; ``retry`` counts only when it is all ASCII digits;
- an incomplete event at the end of the stream is discarded;
- bytes are decoded as UTF-8 with U+FFFD for invalid sequences ("UTF-8 decode"
  in the Encoding standard), whatever the chunk boundaries.

Layers, lowest first, and the module of each (import them all from here):

- :class:`SSEDecoder` (``_decoder.py``; the event type :class:`ServerSentEvent`
  in ``_event.py``): sans-IO (h11 style). ``feed(bytes)`` returns the
  :class:`ServerSentEvent` objects completed by those bytes; ``close()`` ends
  the stream. No sockets, no threads, no asyncio: it runs the same under a
  test, a notebook or a server. Optional ``max_line_bytes`` /
  ``max_event_bytes`` (``_limits.py``) bound what it buffers.
- :func:`encode_event` / :func:`encode` (``_encoder.py``): the reverse, for
  servers and tests.
- :func:`iter_sse` / :func:`aiter_sse` (``_httpx.py``): feed an
  ``httpx.Response`` to a decoder.
- :class:`EventSource` / :class:`AsyncEventSource` (``_eventsource.py``): the
  browser's ``EventSource`` in Python: reconnect after a dropped connection,
  wait the server's ``retry`` time, send ``Last-Event-ID``, stop on HTTP 204,
  raise typed errors otherwise. Every reconnection is recorded in
  ``.reconnects`` and can be watched with ``on_reconnect``; a floor on the
  wait and a budget of reconnections keep a server's ``retry: 0`` from
  making a client spin. Both are thin IO loops around one sans-IO
  ``Reconnector`` (``_reconnect.py``, with :class:`Reconnect`, the defaults
  and the waiting rule), which makes every decision.
- The errors, all :class:`SSEError`, are in ``_errors.py``.
"""

from __future__ import annotations

from streamlab.sse._decoder import SSEDecoder
from streamlab.sse._encoder import encode, encode_event
from streamlab.sse._errors import (
    SSEContentTypeError,
    SSEEncodeError,
    SSEError,
    SSEJSONError,
    SSELimitError,
    SSEReconnectError,
    SSEStateError,
    SSEStatusError,
    SSETransportError,
)
from streamlab.sse._event import ServerSentEvent
from streamlab.sse._eventsource import AsyncEventSource, EventSource
from streamlab.sse._httpx import aiter_sse, iter_sse
from streamlab.sse._reconnect import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_RECONNECTS,
    DEFAULT_RECONNECT_WINDOW,
    DEFAULT_RETRY_MS,
    MAX_RETRY_MS,
    MIN_RETRY_MS,
    Reconnect,
)

# Tracebacks name an exception by its __module__: learners should read
# `streamlab.sse.SSEStatusError`, the name they can import, not the private
# module it lives in. (Only the errors: the other classes keep theirs, so
# that `SSEDecoder??` can still find their source.)
for _error in (
    SSEError,
    SSEEncodeError,
    SSEJSONError,
    SSEStateError,
    SSEStatusError,
    SSEContentTypeError,
    SSEReconnectError,
    SSETransportError,
    SSELimitError,
):
    _error.__module__ = __name__
del _error

__all__ = [
    "AsyncEventSource",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_RECONNECTS",
    "DEFAULT_RECONNECT_WINDOW",
    "DEFAULT_RETRY_MS",
    "EventSource",
    "MAX_RETRY_MS",
    "MIN_RETRY_MS",
    "Reconnect",
    "SSEContentTypeError",
    "SSEDecoder",
    "SSEEncodeError",
    "SSEError",
    "SSEJSONError",
    "SSELimitError",
    "SSEReconnectError",
    "SSEStateError",
    "SSEStatusError",
    "SSETransportError",
    "ServerSentEvent",
    "aiter_sse",
    "encode",
    "encode_event",
    "iter_sse",
]
