"""The sans-IO incremental decoder: :class:`SSEDecoder`, bytes in, events out.

Why it looks the way it does (speed; benchmarks/bench_sse.py): no byte is
looked at again once a later chunk has arrived. A chunk is searched for its
*last* line end only; the complete lines before it are decoded to text in
one call (a line end is ASCII, so it never cuts a UTF-8 character) and cut
into events with one ``str.split``; the common event shapes (``data: ...``
and ``event: ...`` + ``data: ...``) take a fast path that builds each event
with plain slot stores, everything else goes through the per-line rules.
Bytes after the last line end wait in a list of pieces, joined once when
their line completes, so 1-byte chunks and a 10 MB line both cost linear
time.
"""

from __future__ import annotations

import sys
from codecs import utf_8_decode as _utf_8_decode

from streamlab.sse._errors import SSELimitError, SSEStateError
from streamlab.sse._event import ServerSentEvent
from streamlab.sse._limits import Meter

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

    Limits (off by default, as in browsers): with ``max_line_bytes`` a line
    longer than that many bytes, with ``max_event_bytes`` an event whose lines
    add up to more, raises :class:`SSELimitError` (and closes the decoder) as
    soon as the bytes fed show it, before the decoder buffers it, so memory
    stays near the limit; line ends are not counted (``_limits.py`` has the
    details).

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
        "_meter",
        "_pending",
        "_retry",
        "_skip_lf",
        "_special",
    )

    def __init__(
        self,
        *,
        last_event_id: str = "",
        max_line_bytes: int | None = None,
        max_event_bytes: int | None = None,
    ) -> None:
        if "\x00" in last_event_id or "\r" in last_event_id or "\n" in last_event_id:
            raise ValueError(
                f"last_event_id {last_event_id!r} contains NUL, CR or LF, which no server "
                "could have sent as an id"
            )
        limited = max_line_bytes is not None or max_event_bytes is not None
        # Measures every chunk before it is kept (None: no limits, nothing measured).
        self._meter = Meter(max_line_bytes, max_event_bytes) if limited else None
        # Bytes after the last line end, waiting for their line to complete.
        self._pending: list[bytes] = []
        # Start of the stream not yet past the BOM check (None once decided).
        self._head: bytes | None = b""
        # The previous chunk ended in CR: an LF starting the next one is the same line end.
        self._skip_lf = False
        # One flag for "feed needs its slow prelude" (stream start, pending CR,
        # closed, limits), so that the 1-byte-chunk path tests a single attribute.
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
    def max_line_bytes(self) -> int | None:
        """The longest line accepted, in bytes (None: no limit)."""
        return None if self._meter is None else self._meter.max_line

    @property
    def max_event_bytes(self) -> int | None:
        """The largest event accepted, in bytes of its lines (None: no limit)."""
        return None if self._meter is None else self._meter.max_event

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
        """The rare cases: not bytes, closed, start of stream (BOM), CR ending the last chunk, limits."""
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
        meter = self._meter
        self._special = self._head is not None or self._skip_lf or meter is not None
        if meter is not None and data:
            try:
                meter.measure(data)
            except SSELimitError:
                self.close()  # drops what is buffered; the stream cannot be resynchronised
                raise
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
