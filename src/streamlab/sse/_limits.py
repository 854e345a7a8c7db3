"""The decoder's optional size limits: :class:`Meter` measures lines and events as bytes arrive.

Browsers set no limit, so :class:`~streamlab.sse.SSEDecoder` has none by
default. With ``max_line_bytes`` / ``max_event_bytes`` it hands each chunk to
a :class:`Meter` before keeping any of it, and the meter raises
:class:`~streamlab.sse.SSELimitError` as soon as the line (or event) being
received is over its limit, complete or not. So a decoder never holds more
than about one limit plus one chunk, however long the line the server sends.

Sizes are bytes of UTF-8 as received, line ends not counted (CRLF or LF makes
no difference); an event's size is the sum of its lines, from the first line
after the previous empty line (comments and unknown fields included: the
decoder reads them all) up to its own empty line.
"""

from __future__ import annotations

from streamlab.sse._errors import SSELimitError


class Meter:
    """Sizes of the line and the event in progress, checked against the limits."""

    __slots__ = ("max_line", "max_event", "line", "event", "_smallest")

    def __init__(self, max_line: int | None, max_event: int | None) -> None:
        for name, value in (("max_line_bytes", max_line), ("max_event_bytes", max_event)):
            if value is not None and (type(value) is not int or value < 1):
                raise ValueError(
                    f"{name}={value!r} must be a whole number >= 1, or None (no limit)"
                )
        self.max_line = max_line
        self.max_event = max_event
        self.line = 0  # bytes of the unfinished line
        self.event = 0  # bytes of the event's complete lines
        self._smallest = min(v for v in (max_line, max_event, 2**63) if v is not None)

    def measure(self, data: bytes) -> None:
        """Count ``data`` (the next bytes the decoder interprets); raise if a limit is passed."""
        if 13 in data:
            # Line ends are not counted, so CR and CRLF may become LF here
            # (a CR ending the previous chunk had its LF removed by the decoder).
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        last = data.rfind(10)
        if last < 0:
            self.line += len(data)
        elif self.line + self.event + len(data) <= self._smallest:
            # No line or event in here can reach a limit: only update the sizes,
            # in C (count, rfind) rather than line by line.
            start = data.rfind(b"\n\n", 0, last + 1) + 2
            if start == 1:  # no empty line inside: is the first line end one?
                start = 1 if self.line == 0 and data[0] == 10 else 0
            complete = last + 1 - start - data.count(10, start, last + 1)
            self.event = complete if start else self.event + self.line + complete
            self.line = len(data) - last - 1
        else:
            self._walk(data)
        self._check(self.line, self.event + self.line)

    def _walk(self, data: bytes) -> None:
        """Every line of ``data`` in turn: the path for chunks that may pass a limit."""
        line, event, pos = self.line, self.event, 0
        while (end := data.find(10, pos)) >= 0:
            line += end - pos
            if line == 0:
                event = 0  # an empty line: the event ends (dispatched or not)
            else:
                event += line
                self._check(line, event)
            line, pos = 0, end + 1
        self.line = line + len(data) - pos
        self.event = event

    def _check(self, line: int, event: int) -> None:
        if self.max_line is not None and line > self.max_line:
            raise SSELimitError("max_line_bytes", self.max_line)
        if self.max_event is not None and event > self.max_event:
            raise SSELimitError("max_event_bytes", self.max_event)
