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

Layers, lowest first:

- :class:`SSEDecoder`: sans-IO (h11 style). ``feed(bytes)`` returns the
  :class:`ServerSentEvent` objects completed by those bytes; ``close()`` ends
  the stream. No sockets, no threads, no asyncio: it runs the same under a
  test, a notebook or a server.
- :func:`encode_event` / :func:`encode`: the reverse, for servers and tests.
- :func:`iter_sse` / :func:`aiter_sse`: feed an ``httpx.Response`` to a decoder.
- :class:`EventSource` / :class:`AsyncEventSource`: the browser's
  ``EventSource`` in Python: reconnect after a dropped connection, wait the
  server's ``retry`` time, send ``Last-Event-ID``, stop on HTTP 204, raise typed
  errors otherwise. Every reconnection is recorded in ``.reconnects`` and can be
  watched with ``on_reconnect``.

Why the decoder looks the way it does (speed; benchmarks/bench_sse.py): no
byte is looked at again once a later chunk has arrived. A chunk is searched
for its *last* line end only; the complete lines before it are decoded to
text in one call (a line end is ASCII, so it never cuts a UTF-8 character)
and cut into events with one ``str.split``; the common event shapes
(``data: ...`` and ``event: ...`` + ``data: ...``) take a fast path that
builds each event with plain slot stores, everything else goes through the
per-line rules. Bytes after the last line end wait in a list of pieces,
joined once when their line completes, so 1-byte chunks and a 10 MB line
both cost linear time.
"""

from __future__ import annotations

import json as _json
import re
import socket
import sys
import threading
from codecs import utf_8_decode as _utf_8_decode
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import httpx

__all__ = [
    "AsyncEventSource",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_RETRY_MS",
    "EventSource",
    "MAX_RETRY_MS",
    "Reconnect",
    "SSEContentTypeError",
    "SSEDecoder",
    "SSEEncodeError",
    "SSEError",
    "SSEJSONError",
    "SSEReconnectError",
    "SSEStateError",
    "SSEStatusError",
    "ServerSentEvent",
    "aiter_sse",
    "encode",
    "encode_event",
    "iter_sse",
]

#: Reconnection time (ms) before the server sends a ``retry:`` field. The spec
#: leaves it to the user agent; browsers use a few seconds, 1 s keeps lessons snappy.
DEFAULT_RETRY_MS = 1000
#: Upper bound (ms) on any wait between attempts, whatever ``retry:`` or backoff says.
MAX_RETRY_MS = 30_000
#: Consecutive failed attempts (no event received) before giving up.
DEFAULT_MAX_ATTEMPTS = 5


# --------------------------------------------------------------------------- errors


class SSEError(Exception):
    """Base class of every error raised by :mod:`streamlab.sse`."""


class SSEEncodeError(SSEError, ValueError):
    """A value cannot be written as an event stream field (e.g. a line break in an id)."""


class SSEJSONError(SSEError, ValueError):
    """:meth:`ServerSentEvent.json` was called on an event whose data is not JSON."""


class SSEStateError(SSEError, RuntimeError):
    """An object was used in a state that does not allow it (e.g. ``feed`` after ``close``)."""


class SSEStatusError(SSEError):
    """The server answered with a status other than 2xx.

    Attributes: ``status_code``, ``url``, ``message`` (the error message found
    in the body, or the start of the body) and ``body`` (the text read, at most
    64 KiB).
    """

    def __init__(self, status_code: int, url: str, message: str, body: str) -> None:
        self.status_code = status_code
        self.url = url
        self.message = message
        self.body = body
        if status_code == 429:
            hint = "you are rate limited: wait (see the Retry-After header) and try again"
        elif 400 <= status_code < 500:
            hint = "check the URL, method, body and credentials"
        elif status_code >= 500:
            hint = "the server failed; try again later or look at its logs"
        else:
            hint = "a redirect was not followed, or the status is unexpected"
        text = f"HTTP {status_code} from {url}"
        if message:
            text += f": {message}"
        super().__init__(f"{text} (an event stream needs a 2xx answer; {hint})")


class SSEContentTypeError(SSEError):
    """The response is not an event stream (``Content-Type`` is not ``text/event-stream``)."""

    def __init__(self, content_type: str, url: str) -> None:
        self.content_type = content_type
        self.url = url
        got = repr(content_type) if content_type else "no Content-Type header"
        super().__init__(
            f"expected Content-Type 'text/event-stream' from {url}, got {got}: "
            "this URL does not serve Server-Sent Events (wrong endpoint, or streaming "
            'not switched on, e.g. a missing "stream": true in the request)'
        )


class SSEReconnectError(SSEError):
    """Too many consecutive reconnection attempts failed.

    Attributes: ``url``, ``attempts`` and ``last_cause`` (also the ``__cause__``).
    """

    def __init__(self, url: str, attempts: int, last_cause: BaseException | str) -> None:
        self.url = url
        self.attempts = attempts
        self.last_cause = last_cause
        if attempts == 0:
            text = f"the connection to {url} ended and reconnecting is off (max_attempts=0)"
        else:
            text = f"gave up on {url} after {attempts} failed reconnection attempts in a row"
        super().__init__(
            f"{text}; last cause: {_describe(last_cause)} (is the server up? raise "
            "max_attempts, or pass max_attempts=None to keep trying)"
        )


def _describe(cause: BaseException | str) -> str:
    if isinstance(cause, str):
        return cause
    text = str(cause)
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__


# --------------------------------------------------------------------------- the event


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    ``event`` is the type (``"message"`` when the stream gave none), ``data``
    the data lines joined with LF, ``id`` the last event ID in force when the
    event was dispatched (it persists from earlier events until an ``id:``
    line changes it), ``retry`` the reconnection time in ms if this event's
    own lines carried a valid ``retry:`` field, else None.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def json(self) -> Any:
        """The data parsed as JSON; :class:`SSEJSONError` (a ValueError) if it is not JSON."""
        try:
            return _json.loads(self.data)
        except _json.JSONDecodeError as exc:
            where = f"event {self.event!r}" + (f" (id {self.id!r})" if self.id else "")
            snippet = self.data if len(self.data) <= 60 else self.data[:60] + "..."
            hint = (
                "'[DONE]' is the Chat Completions end-of-stream marker: stop before parsing it"
                if self.data.strip() == "[DONE]"
                else "look at .data to see what the server sent"
            )
            raise SSEJSONError(
                f"{where} has data that is not JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno} (char {exc.pos}) of {snippet!r}; {hint}"
            ) from exc


# A frozen dataclass's __init__ goes through object.__setattr__ four times
# (about 1 us); the slot descriptors write the same slots at a third of the cost.
# The decoder makes one object per event, so this is the hottest line there is.
_new = object.__new__
_set_event = ServerSentEvent.__dict__["event"].__set__
_set_data = ServerSentEvent.__dict__["data"].__set__
_set_id = ServerSentEvent.__dict__["id"].__set__
_set_retry = ServerSentEvent.__dict__["retry"].__set__
_SSE = ServerSentEvent


class _Twin:
    """Same slots as ServerSentEvent, minus the frozen ``__setattr__``.

    The fast paths fill one of these with plain attribute stores and then
    switch its class to ServerSentEvent: together about half the cost of the
    four descriptor calls. ``_FAST`` is False (and the per-line rules, which
    use the descriptors, do all the work) on an interpreter that refuses the
    switch.
    """

    __slots__ = ("event", "data", "id", "retry")


def _class_switch_works() -> bool:
    try:
        o = _new(_Twin)
        o.event, o.data, o.id, o.retry = "message", "x", "", None
        o.__class__ = ServerSentEvent
    except TypeError:  # pragma: no cover - layouts incompatible on this interpreter
        return False
    return type(o) is ServerSentEvent and o == ServerSentEvent(data="x")


_FAST = _class_switch_works()


# --------------------------------------------------------------------------- the decoder

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Incremental, sans-IO event stream decoder.

    >>> d = SSEDecoder()
    >>> d.feed(b"data: hel")
    []
    >>> d.feed(b"lo\\n\\n")
    [ServerSentEvent(event='message', data='hello', id='', retry=None)]
    >>> d.close()
    []

    Feed it the bytes of one stream in any chunks: it returns the events the
    chunk completed, in order. ``close()`` marks the end of the stream: an
    unfinished event is discarded (per spec) and later ``feed`` calls raise
    :class:`SSEStateError`. For a new connection make a new decoder, passing the
    ``last_event_id`` of the old one. That seeds the id in force on the new
    stream too, as browsers do (Chromium builds its parser with the previous
    id); the letter of the spec starts each stream's id buffer empty, which
    would make a client forget the id after the first event of a reconnection
    to a server that sends ids only now and then.

    Properties: ``last_event_id`` (what a reconnecting client sends as
    ``Last-Event-ID``), ``retry`` (the last valid ``retry:`` value in ms, or
    None), ``bytes_fed`` and ``discarded`` (True if close() dropped an
    unfinished line or event).
    """

    __slots__ = (
        "_closed",
        "_consumed",
        "_data",
        "_discarded",
        "_event",
        "_event_retry",
        "_head",
        "_id_buffer",
        "_last_event_id",
        "_pending",
        "_retry",
        "_skip_lf",
        "_special",
    )

    def __init__(self, *, last_event_id: str = "") -> None:
        if "\x00" in last_event_id or "\r" in last_event_id or "\n" in last_event_id:
            raise ValueError(
                f"last_event_id {last_event_id!r} contains NUL, CR or LF, which no server "
                "could have sent as an id"
            )
        # Bytes after the last line end, waiting for their line to complete.
        self._pending: list[bytes] = []
        # Start of the stream not yet past the BOM check (None once decided).
        self._head: bytes | None = b""
        # The previous chunk ended in CR: an LF starting the next one is the same line end.
        self._skip_lf = False
        # One flag for "feed needs its slow prelude" (stream start, pending CR,
        # closed), so that the 1-byte-chunk path tests a single attribute.
        self._special = True
        self._data: list[str] = []
        self._event = ""
        self._event_retry: int | None = None
        self._id_buffer = last_event_id
        self._last_event_id = last_event_id
        self._retry: int | None = None
        self._closed = False
        self._discarded = False
        # Bytes interpreted or skipped so far (pending and head bytes come on top).
        self._consumed = 0

    # -- public state

    @property
    def last_event_id(self) -> str:
        """The last event ID string: the id in force at the last empty line."""
        return self._last_event_id

    @property
    def retry(self) -> int | None:
        """The last valid ``retry:`` value seen (reconnection time in ms), or None."""
        return self._retry

    @property
    def bytes_fed(self) -> int:
        """How many bytes were fed so far (a position for error messages and lessons)."""
        return self._consumed + sum(map(len, self._pending)) + len(self._head or b"")

    @property
    def discarded(self) -> bool:
        """True if :meth:`close` dropped an unfinished line or event."""
        return self._discarded

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    def __repr__(self) -> str:
        return (
            f"<SSEDecoder bytes_fed={self.bytes_fed} last_event_id={self._last_event_id!r} "
            f"retry={self._retry!r}{' closed' if self._closed else ''}>"
        )

    # -- feeding

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """Add bytes of the stream; return the events they complete (often none)."""
        if self._special or type(data) is not bytes:
            data = self._prelude(data)
            if not data:
                return []
        # Membership of an int (10 is LF, 13 is CR) is a plain memchr; with a
        # bytes operand it goes through the buffer protocol, ten times slower
        # on 1-byte chunks.
        if 10 not in data:
            if 13 not in data:
                # No line end: park the bytes; they are joined once, when the line ends.
                self._pending.append(data)
                return []
            end = data.rfind(13)
            has_cr = True
        elif 13 in data:
            end = max(data.rfind(10), data.rfind(13))
            has_cr = True
        else:
            end = data.rfind(10)
            has_cr = False
        end += 1
        size = len(data)
        pending = self._pending
        if pending:
            pending.append(data[:end] if end < size else data)
            block = b"".join(pending)
            pending.clear()
        else:
            block = data[:end] if end < size else data
        if end < size:
            pending.append(data[end:])
        self._consumed += len(block)
        if has_cr:
            if end == size and data[-1] == 13:
                self._skip_lf = self._special = True
            # A CR is never part of a line's text, so normalising the complete
            # lines to LF is exact (the CR ending this chunk was handled above).
            block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        # Decoding complete lines in one go equals decoding the whole stream:
        # LF is ASCII, so it never falls inside a UTF-8 sequence.
        if (
            _FAST
            and block[:6] == b"data: "
            and not self._data
            and not self._event
            and self._event_retry is None
        ):
            if len(block) < 262144:
                return self._fast_data(block[6:].decode("utf-8", "replace"), [])
            # A long line: decode past the prefix in place, one copy fewer.
            return self._fast_data(_utf_8_decode(memoryview(block)[6:], "replace", True)[0], [])
        return self._text(block.decode("utf-8", "replace"))

    def _prelude(self, data: bytes) -> bytes:
        """The rare cases: not bytes, closed, start of stream (BOM), CR ending the last chunk."""
        if type(data) is not bytes:
            if isinstance(data, (bytearray, memoryview)):
                data = bytes(data)  # a copy: the caller may reuse its buffer
            else:
                raise TypeError(
                    f"SSEDecoder.feed() takes bytes, got {type(data).__name__} at byte "
                    f"{self.bytes_fed}: feed the raw body (response.iter_bytes()), not text, "
                    "so that UTF-8 and line ends are decoded per the SSE rules"
                )
        if self._closed:
            raise SSEStateError(
                f"feed() after close(): this decoder's stream ended at byte {self.bytes_fed}; "
                "make a new SSEDecoder(last_event_id=old.last_event_id) for a new connection"
            )
        if not data:
            return data
        if self._head is not None:
            data = self._head + data
            if len(data) < 3 and _BOM.startswith(data):
                self._head = data  # may still become a BOM
                return b""
            self._head = None
            if data[:3] == _BOM:
                data = data[3:]
                self._consumed += 3
        if self._skip_lf and data:
            self._skip_lf = False
            if data[0] == 10:
                data = data[1:]
                self._consumed += 1
        self._special = self._head is not None or self._skip_lf
        return data

    def close(self) -> list[ServerSentEvent]:
        """End of stream: discard an unfinished event (per spec). Returns ``[]``."""
        if not self._closed:
            self._discarded = (
                any(self._pending)
                or bool(self._head)
                or bool(self._data)
                or bool(self._event)
                or self._event_retry is not None
                or self._id_buffer != self._last_event_id
            )
            self._consumed = self.bytes_fed
            self._closed = self._special = True
            self._pending = []
            self._head = None
            self._data = []
            self._event = ""
            self._event_retry = None
            self._id_buffer = self._last_event_id
        return []

    # -- interpretation

    def _text(self, text: str) -> list[ServerSentEvent]:
        """Interpret complete lines (each ending in LF; CR already normalised)."""
        out: list[ServerSentEvent] = []
        if not _FAST:
            lines = text.split("\n")
            lines.pop()
            self._lines(lines, out)
            return out
        start = 0
        if self._data or self._event or self._event_retry is not None:
            # An event is in progress: finish it, then the rest starts afresh.
            # The usual cases first: its empty line, or (after a chunk that
            # ended with an event line) one data line and the empty line.
            if text[0] == "\n":
                self._lines([""], out)
                start = 1
            else:
                i = text.find("\n")
                if (
                    text[i + 1 : i + 2] == "\n"
                    and text[:6] == "data: "
                    and not self._data
                    and self._event_retry is None
                ):
                    self._last_event_id = lid = self._id_buffer
                    o = _new(_Twin)
                    o.event = self._event
                    o.data = text[6:i]
                    o.id = lid
                    o.retry = None
                    o.__class__ = _SSE
                    out.append(o)
                    self._event = ""
                    start = i + 2
                else:
                    start = self._lines_to_dispatch(text, out)
        elif text[:6] != "data: " and text[:7] != "event: ":
            start = self._lines_to_dispatch(text, out)
        if text.startswith("data: ", start):
            return self._fast_data(text[start + 6 :], out)
        if text.startswith("event: ", start):
            return self._fast_event(text[start + 7 :], out)
        lines = text[start:].split("\n")
        lines.pop()
        self._lines(lines, out)
        return out

    def _lines_to_dispatch(self, text: str, out: list[ServerSentEvent]) -> int:
        """Apply the rules up to the first empty line; return where the rest begins."""
        i = text.find("\n\n")
        if i < 0:
            i = len(text) - 1  # no empty line: all of it (the caller finds nothing left)
            lines = text[:i].split("\n")
        else:
            lines = text[:i].split("\n")
            lines.append("")
        self._lines(lines, out)
        return i + 2 if i + 2 <= len(text) else len(text)

    # The fast paths. The text starts a fresh event (empty buffers) with a
    # "data: " (Chat Completions, most servers) or an "event: " line
    # (Responses API, Anthropic). Splitting after that prefix and at every
    # "\n\ndata: " (a line end, the empty line, the next data line) leaves
    # parts that are usually exactly one event: its data, or its type, LF and
    # "data: " and its data. Other parts go through the per-line rules.

    def _fast_data(self, text: str, out: list[ServerSentEvent]) -> list[ServerSentEvent]:
        """``text``: the lines after an initial "data: "."""
        parts = text.split("\n\ndata: ")
        last = parts.pop()
        append = out.append
        lid = self._id_buffer
        if parts:  # each of them is followed by an empty line: the id takes effect
            self._last_event_id = lid
        for p in parts:
            if "\n" not in p:
                o = _new(_Twin)
                o.event = "message"
                o.data = p
                o.id = lid
                o.retry = None
                o.__class__ = _SSE
                append(o)
            else:
                self._data_part(p, out, True)
                lid = self._last_event_id
        # The last part runs to the end of the text, which ends with LF.
        if last.find("\n") == len(last) - 2 and last[-1] == "\n":
            self._last_event_id = lid  # one data line, then the empty line
            o = _new(_Twin)
            o.event = "message"
            o.data = last[:-2]
            o.id = lid
            o.retry = None
            o.__class__ = _SSE
            append(o)
        else:
            self._data_part(last, out, False)
        return out

    def _fast_event(self, text: str, out: list[ServerSentEvent]) -> list[ServerSentEvent]:
        """``text``: the lines after an initial "event: "."""
        parts = text.split("\n\nevent: ")
        last = parts.pop()
        append = out.append
        lid = self._id_buffer
        if parts:
            self._last_event_id = lid
        for p in parts:
            name, sep, data = p.partition("\ndata: ")
            if sep and "\n" not in name and "\n" not in data:
                o = _new(_Twin)
                o.event = name or "message"
                o.data = data
                o.id = lid
                o.retry = None
                o.__class__ = _SSE
                append(o)
            else:
                self._event_part(p, out, True)
                lid = self._last_event_id
        name, sep, data = last.partition("\ndata: ")
        if sep and "\n" not in name and data.find("\n") == len(data) - 2 and data[-1] == "\n":
            self._last_event_id = lid
            o = _new(_Twin)
            o.event = name or "message"
            o.data = data[:-2]
            o.id = lid
            o.retry = None
            o.__class__ = _SSE
            append(o)
        else:
            self._event_part(last, out, False)
        return out

    def _data_part(self, p: str, out: list[ServerSentEvent], dispatch: bool) -> None:
        """A part holding a data value and more lines; ``dispatch``: an empty line follows."""
        j = p.find("\n")
        if j < 0:
            self._data.append(p)
            lines = []
        else:
            self._data.append(p[:j])
            lines = p[j + 1 :].split("\n")
            if not dispatch:
                lines.pop()  # the text ends with LF: the last piece is empty, not a line
        if dispatch:
            lines.append("")
        self._lines(lines, out)

    def _event_part(self, p: str, out: list[ServerSentEvent], dispatch: bool) -> None:
        """A part holding an event type and more lines; ``dispatch``: an empty line follows."""
        j = p.find("\n")
        if j < 0:
            self._event = p
            lines = []
        else:
            self._event = p[:j]
            lines = p[j + 1 :].split("\n")
            if not dispatch:
                lines.pop()
        if dispatch:
            lines.append("")
        self._lines(lines, out)

    def _lines(self, lines: list[str], out: list[ServerSentEvent]) -> None:
        """The spec's per-line rules, for every line shape."""
        for line in lines:
            if not line:
                # Dispatch. The id takes effect even if nothing is dispatched.
                self._last_event_id = lid = self._id_buffer
                if self._data:
                    o = _new(_SSE)
                    _set_event(o, self._event or "message")
                    _set_data(o, "\n".join(self._data))
                    _set_id(o, lid)
                    _set_retry(o, self._event_retry)
                    out.append(o)
                    self._data = []
                self._event = ""
                self._event_retry = None
                continue
            i = line.find(":")
            if i == 0:
                continue  # a comment
            if i < 0:
                name, value = line, ""
            else:
                name = line[:i]
                value = line[i + 2 :] if line[i + 1 : i + 2] == " " else line[i + 1 :]
            if name == "data":
                self._data.append(value)
            elif name == "event":
                self._event = value
            elif name == "id":
                if "\x00" not in value:
                    self._id_buffer = value
            elif name == "retry":
                if value.isascii() and value.isdigit():
                    try:
                        retry = int(value)
                    except ValueError:  # more digits than int() accepts: effectively forever
                        retry = sys.maxsize
                    self._retry = self._event_retry = retry


# --------------------------------------------------------------------------- encoder

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _check_one_line(what: str, value: str, *, no_nul: bool = False) -> None:
    if not isinstance(value, str):
        raise SSEEncodeError(f"{what} must be a str, got {type(value).__name__}")
    for ch, name in (("\r", "CR"), ("\n", "LF")) + ((("\x00", "NUL"),) if no_nul else ()):
        i = value.find(ch)
        if i >= 0:
            reason = (
                "a decoder ignores an id containing NUL"
                if ch == "\x00"
                else f"a line break would end the {what} line early"
            )
            raise SSEEncodeError(
                f"{what} {value!r} contains {name} at index {i}: {reason}; "
                f"remove it (or put the text in data, which may span lines)"
            )


def encode_event(
    data: str = "",
    *,
    event: str | None = None,
    id: str | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One event as UTF-8 bytes, ending with the empty line that dispatches it.

    Field order: comment lines, ``event``, ``id``, ``retry``, then ``data``.
    Multi-line data (CR, LF or CRLF) becomes several ``data:`` lines, which a
    decoder joins with LF. ``id=""`` is written (it resets the last event ID).
    A data line is written unless ``data`` is empty and only ``comment`` and/or
    ``retry`` are given, so ``encode_event(comment="keep-alive")`` and
    ``encode_event(retry=5000)`` dispatch nothing.

    Raises :class:`SSEEncodeError` for a CR or LF in ``event`` or ``id``, a NUL
    in ``id``, a negative or non-int ``retry``, or text that is not encodable.
    """
    if not isinstance(data, str):
        raise SSEEncodeError(
            f"data must be a str, got {type(data).__name__}"
            + (": decode bytes first" if isinstance(data, (bytes, bytearray)) else "")
            + " (use json.dumps for objects)"
        )
    lines: list[str] = []
    if comment is not None:
        if not isinstance(comment, str):
            raise SSEEncodeError(f"comment must be a str, got {type(comment).__name__}")
        lines.extend(f": {c}" if c else ":" for c in _LINE_BREAK.split(comment))
    if event is not None:
        _check_one_line("event name", event)
        lines.append(f"event: {event}" if event else "event:")
    if id is not None:
        _check_one_line("id", id, no_nul=True)
        lines.append(f"id: {id}" if id else "id:")
    if retry is not None:
        if isinstance(retry, bool) or not isinstance(retry, int):
            raise SSEEncodeError(
                f"retry must be an int number of milliseconds, got {type(retry).__name__} {retry!r}"
            )
        if retry < 0:
            raise SSEEncodeError(
                f"retry {retry} is negative: the reconnection time is a count of milliseconds "
                "(ASCII digits only), use 0 or more"
            )
        lines.append(f"retry: {retry}")
    if data or (comment is None and retry is None) or event is not None or id is not None:
        lines.extend(f"data: {d}" if d else "data:" for d in _LINE_BREAK.split(data))
    lines.append("\n")
    text = "\n".join(lines)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SSEEncodeError(
            f"cannot encode {exc.object[exc.start : exc.end]!r} at index {exc.start} of the "
            f"event text as UTF-8 ({exc.reason}): lone surrogates usually come from "
            "decoding bytes with errors='surrogateescape'"
        ) from exc


def encode(sse: ServerSentEvent) -> bytes:
    """A :class:`ServerSentEvent` as bytes (``event`` omitted if "message", ``id`` if "")."""
    return encode_event(
        sse.data,
        event=None if sse.event == "message" else sse.event,
        id=sse.id or None,
        retry=sse.retry,
    )


# --------------------------------------------------------------------------- httpx adapters


def iter_sse(
    response: httpx.Response, *, decoder: SSEDecoder | None = None
) -> Iterator[ServerSentEvent]:
    """Events from an ``httpx.Response`` opened with ``client.stream(...)``.

    A thin adapter over ``response.iter_bytes()``: it does not check the status
    or the content type (:class:`EventSource` does). Pass ``decoder`` to read
    its ``last_event_id`` / ``retry`` afterwards.
    """
    dec = SSEDecoder() if decoder is None else decoder
    feed = dec.feed
    for chunk in response.iter_bytes():
        yield from feed(chunk)
    yield from dec.close()


async def aiter_sse(
    response: httpx.Response, *, decoder: SSEDecoder | None = None
) -> AsyncIterator[ServerSentEvent]:
    """Async :func:`iter_sse`: events from ``response.aiter_bytes()``."""
    dec = SSEDecoder() if decoder is None else decoder
    feed = dec.feed
    async for chunk in response.aiter_bytes():
        for sse in feed(chunk):
            yield sse
    for sse in dec.close():
        yield sse


# --------------------------------------------------------------------------- reconnecting clients


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


def _default_timeout() -> httpx.Timeout:
    import httpx

    # An event stream may be quiet for minutes (a model thinking); a read
    # timeout only makes the client reconnect, so keep it long.
    return httpx.Timeout(10.0, read=300.0)


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


class _SourceBase:
    """What the sync and async clients share: settings, state, bookkeeping."""

    def __init__(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | str | None = None,
        last_event_id: str = "",
        retry_ms: int = DEFAULT_RETRY_MS,
        max_retry_ms: int = MAX_RETRY_MS,
        max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        timeout: Any = None,
    ) -> None:
        if retry_ms < 0 or max_retry_ms < 0:
            raise ValueError(
                f"retry_ms={retry_ms} and max_retry_ms={max_retry_ms} must be >= 0 (milliseconds)"
            )
        if max_attempts is not None and max_attempts < 0:
            raise ValueError(f"max_attempts={max_attempts} must be >= 0 or None (no limit)")
        SSEDecoder(last_event_id=last_event_id)  # validates it
        self.url = str(url)
        self.method = method
        self._headers = dict(headers or {})
        self._params = params
        self._json = json
        self._content = content
        self._last_event_id = last_event_id
        self._retry_ms = retry_ms
        self.max_retry_ms = max_retry_ms
        self.max_attempts = max_attempts
        self.on_reconnect = on_reconnect
        self._timeout = timeout
        #: Every reconnection so far, oldest first.
        self.reconnects: list[Reconnect] = []
        self._closed = False
        self._response: httpx.Response | None = None

    @property
    def last_event_id(self) -> str:
        """The id that the next reconnection sends as ``Last-Event-ID``."""
        return self._last_event_id

    @property
    def retry_ms(self) -> int:
        """The reconnection time in ms (the server's last ``retry:``, else the default)."""
        return self._retry_ms

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def response(self) -> httpx.Response | None:
        """The response being read, if connected."""
        return self._response

    def _request_kwargs(self) -> dict[str, Any]:
        import httpx

        # httpx.Headers merges names case-insensitively ("accept" replaces "Accept").
        headers = httpx.Headers({"Accept": "text/event-stream", "Cache-Control": "no-store"})
        headers.update(self._headers)
        if self._last_event_id:
            headers["Last-Event-ID"] = self._last_event_id
        else:
            headers.pop("Last-Event-ID", None)
        kwargs: dict[str, Any] = {"headers": headers}
        if self._params is not None:
            kwargs["params"] = self._params
        if self._json is not None:
            kwargs["json"] = self._json
        if self._content is not None:
            kwargs["content"] = self._content
        return kwargs

    def _next_attempt(self, attempt: int, reason: str, cause: BaseException | str) -> Reconnect:
        """Record reconnection number ``attempt`` or raise SSEReconnectError."""
        if self.max_attempts is not None and attempt > self.max_attempts:
            err = SSEReconnectError(self.url, attempt - 1, cause)
            if isinstance(cause, BaseException):
                raise err from cause
            raise err
        # The spec waits the reconnection time; it allows backing off further,
        # which we do (doubling) for consecutive failures, within the cap.
        delay_ms = min(self._retry_ms * (2 ** min(attempt - 1, 40)), self.max_retry_ms)
        record = Reconnect(attempt, self._last_event_id, delay_ms / 1000, reason)
        self.reconnects.append(record)
        if self.on_reconnect is not None:
            self.on_reconnect(record)
        return record

    def _check_response(self, response: httpx.Response, body: bytes | None) -> None:
        if not 200 <= response.status_code < 300:
            message, text = _error_message(body or b"")
            raise SSEStatusError(response.status_code, str(response.url), message, text)
        content_type = response.headers.get("content-type", "")
        if not _content_type_ok(content_type):
            raise SSEContentTypeError(content_type, str(response.url))

    def _take(self, decoder: SSEDecoder) -> None:
        self._last_event_id = decoder.last_event_id
        if decoder.retry is not None:
            self._retry_ms = decoder.retry


def _reconnectable(exc: BaseException) -> bool:
    import httpx

    # Network trouble and a server cutting the body short are what the spec
    # reconnects after; a bad URL or our own protocol misuse would fail again.
    return isinstance(exc, (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError))


_ERROR_BODY_LIMIT = 64 * 1024
_CLOSED_BY_SERVER = "the server closed the connection"


class EventSource(_SourceBase):
    """A reconnecting event stream client (sync), like the browser's ``EventSource``.

    >>> with EventSource("http://127.0.0.1:8000/events") as source:   # doctest: +SKIP
    ...     for event in source:
    ...         print(event.id, event.data)

    Each connection sends ``Accept: text/event-stream`` and, once an id was
    seen, ``Last-Event-ID``. When a connection drops (network error, or the
    server closing the body) it waits the reconnection time (the server's
    ``retry:``, else ``retry_ms``, default 1000 ms; doubled for each further
    consecutive failure, never above ``max_retry_ms``, default 30 s), records a
    :class:`Reconnect` in ``.reconnects``, calls ``on_reconnect(record)`` and
    connects again. HTTP 204 ends the iteration. It raises
    :class:`SSEStatusError` on a non-2xx status, :class:`SSEContentTypeError` on
    a body that is not ``text/event-stream``, and :class:`SSEReconnectError`
    after ``max_attempts`` consecutive attempts without an event (None: never).

    ``client``: an ``httpx.Client`` to use (not closed by this object);
    otherwise one is made with redirects followed and a long read timeout.
    ``method``, ``headers``, ``params``, ``json``, ``content`` shape the request
    (re-sent on each reconnection).
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.Client | None = None,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | str | None = None,
        last_event_id: str = "",
        retry_ms: int = DEFAULT_RETRY_MS,
        max_retry_ms: int = MAX_RETRY_MS,
        max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        timeout: Any = None,
    ) -> None:
        super().__init__(
            url,
            method=method,
            headers=headers,
            params=params,
            json=json,
            content=content,
            last_event_id=last_event_id,
            retry_ms=retry_ms,
            max_retry_ms=max_retry_ms,
            max_attempts=max_attempts,
            on_reconnect=on_reconnect,
            timeout=timeout,
        )
        self._client = client
        self._own_client = client is None
        self._wake = threading.Event()
        self._iterator: Iterator[ServerSentEvent] | None = None

    def __iter__(self) -> Iterator[ServerSentEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop: close the connection (and the client if this object made it)."""
        self._closed = True
        self._wake.set()
        it, self._iterator = self._iterator, None
        reading_elsewhere = False
        if it is not None and hasattr(it, "close"):
            try:
                it.close()  # type: ignore[attr-defined]
            except ValueError:  # "generator already executing": another thread is reading
                reading_elsewhere = True
        response, self._response = self._response, None
        if response is not None:
            if reading_elsewhere:
                # Closing a socket does not wake a thread blocked reading it;
                # shutting it down does. That thread then closes the response.
                _shutdown(response)
            else:
                response.close()
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                timeout=self._timeout or _default_timeout(), follow_redirects=True
            )
        return self._client

    def _events(self) -> Iterator[ServerSentEvent]:
        attempt = 0
        reason: str | None = None
        cause: BaseException | str = ""
        while not self._closed:
            if reason is not None:
                attempt += 1
                record = self._next_attempt(attempt, reason, cause)
                if record.delay and self._wake.wait(record.delay):
                    return
                if self._closed:
                    return
            client = self._get_client()
            try:
                with client.stream(self.method, self.url, **self._request_kwargs()) as response:
                    self._response = response
                    if response.status_code == 204:
                        self._closed = True
                        return
                    body = None
                    if not 200 <= response.status_code < 300:
                        body = _read_limited(response)
                    self._check_response(response, body)
                    decoder = SSEDecoder(last_event_id=self._last_event_id)
                    for chunk in response.iter_bytes():
                        for sse in decoder.feed(chunk):
                            attempt = 0
                            self._last_event_id = sse.id
                            yield sse
                        self._take(decoder)
                    decoder.close()
                    self._take(decoder)
                reason = cause = _CLOSED_BY_SERVER
            except Exception as exc:
                if self._closed:
                    return  # close() from elsewhere cut the connection: not an error
                if not _reconnectable(exc):
                    raise
                reason, cause = _describe(exc), exc
            finally:
                self._response = None


def _shutdown(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _read_limited(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_LIMIT:
            break
    return b"".join(parts)[:_ERROR_BODY_LIMIT]


async def _aread_limited(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_LIMIT:
            break
    return b"".join(parts)[:_ERROR_BODY_LIMIT]


class AsyncEventSource(_SourceBase):
    """The asyncio twin of :class:`EventSource` (same arguments, ``httpx.AsyncClient``).

    >>> async with AsyncEventSource(url) as source:   # doctest: +SKIP
    ...     async for event in source:
    ...         print(event.data)
    """

    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | str | None = None,
        last_event_id: str = "",
        retry_ms: int = DEFAULT_RETRY_MS,
        max_retry_ms: int = MAX_RETRY_MS,
        max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        timeout: Any = None,
    ) -> None:
        super().__init__(
            url,
            method=method,
            headers=headers,
            params=params,
            json=json,
            content=content,
            last_event_id=last_event_id,
            retry_ms=retry_ms,
            max_retry_ms=max_retry_ms,
            max_attempts=max_attempts,
            on_reconnect=on_reconnect,
            timeout=timeout,
        )
        self._client = client
        self._own_client = client is None
        self._iterator: Any = None
        self._wake: Any = None  # an asyncio.Event, made inside the running loop

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def __aenter__(self) -> AsyncEventSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: close the connection (and the client if this object made it)."""
        self._closed = True
        if self._wake is not None:
            self._wake.set()
        it, self._iterator = self._iterator, None
        if it is not None:
            try:
                await it.aclose()
            except RuntimeError:  # already running (closed from inside the loop body)
                pass
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(
                timeout=self._timeout or _default_timeout(), follow_redirects=True
            )
        return self._client

    async def _events(self) -> AsyncIterator[ServerSentEvent]:
        import asyncio

        attempt = 0
        reason: str | None = None
        cause: BaseException | str = ""
        while not self._closed:
            if reason is not None:
                attempt += 1
                record = self._next_attempt(attempt, reason, cause)
                if record.delay:
                    if self._wake is None:
                        self._wake = asyncio.Event()
                    try:
                        await asyncio.wait_for(self._wake.wait(), record.delay)
                    except asyncio.TimeoutError:
                        pass
                if self._closed:
                    return
            client = self._get_client()
            try:
                async with client.stream(
                    self.method, self.url, **self._request_kwargs()
                ) as response:
                    self._response = response
                    if response.status_code == 204:
                        self._closed = True
                        return
                    body = None
                    if not 200 <= response.status_code < 300:
                        body = await _aread_limited(response)
                    self._check_response(response, body)
                    decoder = SSEDecoder(last_event_id=self._last_event_id)
                    async for chunk in response.aiter_bytes():
                        for sse in decoder.feed(chunk):
                            attempt = 0
                            self._last_event_id = sse.id
                            yield sse
                        self._take(decoder)
                    decoder.close()
                    self._take(decoder)
                reason = cause = _CLOSED_BY_SERVER
            except Exception as exc:
                if self._closed:
                    return  # close() from elsewhere cut the connection: not an error
                if not _reconnectable(exc):
                    raise
                reason, cause = _describe(exc), exc
            finally:
                self._response = None
