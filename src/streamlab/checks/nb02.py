"""Checks for notebook 02, Server-Sent Events by hand.

- :func:`check_parser` tests a learner's incremental SSE parser
  (``parse_events(chunks)``, a generator of events) on tricky streams, each fed
  whole, one byte at a time and split in two at every position.
- :func:`check_spot_the_bug` asks for one stream that breaks each of the three
  hand-written parsers :func:`parser_a`, :func:`parser_b` and :func:`parser_c`,
  which have the bugs most often seen in real SSE clients.

Events may be dicts or objects (such as ``streamlab.ServerSentEvent``) with
``event``, ``data``, ``id`` and ``retry``: ``event`` defaults to
``"message"``, ``id`` is the last event id in force (``""`` or ``None`` when
there is none), ``retry`` the reconnection time in milliseconds set by a
``retry:`` line in the event's own block (else ``None``): the same meanings as
``streamlab.ServerSentEvent``.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from streamlab.checks._helpers import first_out
from streamlab.checks._report import LEARNER_ERRORS, Report, learner_error, run_check

__all__ = [
    "check_parser",
    "check_spot_the_bug",
    "parser_a",
    "parser_b",
    "parser_c",
    "reference_parser",
]

Event = tuple[str, str, str, Any]  # event, data, id, retry


class _Fields:
    """The field rules of the SSE format, one complete line at a time."""

    def __init__(self) -> None:
        self.last_id = ""  # the id in force, carried by every later event
        self.retry: int | None = None  # the reconnection time in force
        self.event, self.data, self.event_retry = "", [], None

    def line(self, line: str) -> dict | None:
        if line == "":  # blank line: dispatch the event, if it has data
            event = None
            if self.data:
                event = {
                    "event": self.event or "message",
                    "data": "\n".join(self.data),
                    "id": self.last_id,
                    "retry": self.event_retry,
                }
            self.event, self.data, self.event_retry = "", [], None
            return event
        if line.startswith(":"):  # a comment
            return None
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "data":
            self.data.append(value)
        elif name == "event":
            self.event = value
        elif name == "id":
            if "\0" not in value:
                self.last_id = value
        elif name == "retry":
            if value.isascii() and value.isdigit():
                self.retry = self.event_retry = int(value)
        return None


_LINE_END = re.compile(r"\r\n|\r|\n")


def split_lines(buffer: str, pending_cr: bool) -> tuple[list[str], str, bool]:
    """Split on CR, LF and CRLF: (complete lines, the unfinished rest, ended on a CR?).

    ``pending_cr`` says the previous buffer ended with a CR, so an LF at the
    start of this one is the second half of a CRLF, not a line end of its own.
    """
    if pending_cr and buffer.startswith("\n"):
        buffer = buffer[1:]  # the LF of a CRLF split across two reads
    lines, start, pending_cr = [], 0, False
    for m in _LINE_END.finditer(buffer):
        lines.append(buffer[start : m.start()])
        start = m.end()
        pending_cr = m.group() == "\r" and start == len(buffer)
    return lines, buffer[start:], pending_cr


def reference_parser(chunks: Iterable[bytes]) -> Iterator[dict]:
    """A correct (if unhurried) parser: the answer the checks compare with."""
    fields, decoder = _Fields(), codecs.getincrementaldecoder("utf-8")("replace")
    buffer, pending_cr = "", False
    for chunk in chunks:
        lines, buffer, pending_cr = split_lines(buffer + decoder.decode(chunk), pending_cr)
        for line in lines:
            if (event := fields.line(line)) is not None:
                yield event


def parser_a(chunks: Iterable[bytes]) -> Iterator[dict]:
    """Hand-written parser A: decodes carefully, then splits each read into lines."""
    fields, decoder = _Fields(), codecs.getincrementaldecoder("utf-8")("replace")
    for chunk in chunks:
        text = decoder.decode(chunk)
        for line in text.split("\n"):
            event = fields.line(line.rstrip("\r"))
            if event is not None:
                yield event


def parser_b(chunks: Iterable[bytes]) -> Iterator[dict]:
    """Hand-written parser B: keeps a buffer across reads, lets Python find the lines."""
    fields, decoder = _Fields(), codecs.getincrementaldecoder("utf-8")("replace")
    buffer = ""
    for chunk in chunks:
        buffer += decoder.decode(chunk)
        lines = buffer.splitlines(keepends=True)
        buffer = ""
        if lines and not lines[-1].endswith(("\r", "\n")):
            buffer = lines.pop()  # the last line is not finished yet
        for line in lines:
            event = fields.line(line.rstrip("\r\n"))
            if event is not None:
                yield event


def parser_c(chunks: Iterable[bytes]) -> Iterator[dict]:
    """Hand-written parser C: keeps a buffer across reads and splits on CR, LF, CRLF."""
    fields = _Fields()
    buffer, pending_cr = "", False
    for chunk in chunks:
        text = chunk.decode("utf-8", errors="replace")
        lines, buffer, pending_cr = split_lines(buffer + text, pending_cr)
        for line in lines:
            event = fields.line(line)
            if event is not None:
                yield event


# ---------------------------------------------------------------------------
# Exercise 2.1: the learner's parser


def _norm(event: Any) -> Event:
    if isinstance(event, Mapping):
        get = event.get
    else:

        def get(name: str) -> Any:
            return getattr(event, name, None)

    return (get("event"), get("data"), get("id") or "", get("retry"))


def _show(events: list[Event]) -> str:
    parts = []
    for event, data, id_, retry in events:
        extra = (f", id={id_!r}" if id_ else "") + (
            f", retry={retry!r}" if retry is not None else ""
        )
        parts.append(f"({event!r}, {data!r}{extra})")
    return "[" + ", ".join(parts) + "]"


# name, stream, expected (event, data, id, retry) tuples, hint when it fails
CASES: list[tuple[str, bytes, list[Event], str]] = [
    (
        "one event",
        b"data: hello\n\n",
        [("message", "hello", "", None)],
        "an event is its field lines followed by a blank line; its type defaults to 'message'",
    ),
    (
        "two typed events",
        b"event: greeting\ndata: hi\n\nevent: farewell\ndata: bye\n\n",
        [("greeting", "hi", "", None), ("farewell", "bye", "", None)],
        "the `event:` field sets the type of this event only; reset it after each blank line",
    ),
    (
        "multi-line data",
        b"data: line one\ndata: line two\n\n",
        [("message", "line one\nline two", "", None)],
        "several data lines make one event: join their values with '\\n'",
    ),
    (
        "CRLF line ends",
        b"data: a\r\ndata: b\r\n\r\n",
        [("message", "a\nb", "", None)],
        "lines may end with '\\r\\n': the '\\r' is part of the line end, not of the value",
    ),
    (
        "CR line ends",
        b"data: a\rdata: b\r\r",
        [("message", "a\nb", "", None)],
        "a lone '\\r' also ends a line",
    ),
    (
        "comments",
        b": keep-alive\ndata: x\n: another comment\n\n",
        [("message", "x", "", None)],
        "a line starting with ':' is a comment: skip it",
    ),
    (
        "one leading space removed",
        b"data:  two spaces\ndata:none\n\n",
        [("message", " two spaces\nnone", "", None)],
        "remove only one space after the colon (and none if there is none)",
    ),
    (
        "colon in the value",
        b"data: a: b\n\n",
        [("message", "a: b", "", None)],
        "split a line at its first colon only",
    ),
    (
        "field with no colon",
        b"data\ndata: x\n\n",
        [("message", "\nx", "", None)],
        "a line with no colon is a field name with an empty value",
    ),
    (
        "empty data is not dispatched",
        b"event: ping\n\n: just a comment\n\ndata: real\n\n",
        [("message", "real", "", None)],
        "a block with no data line dispatches nothing (and forgets its event type)",
    ),
    (
        "ids",
        b"id: 1\ndata: a\n\ndata: b\n\nid: 2\n\ndata: c\n\nid\ndata: d\n\n",
        [
            ("message", "a", "1", None),
            ("message", "b", "1", None),
            ("message", "c", "2", None),
            ("message", "d", "", None),
        ],
        "the id stays in force for later events until a new `id:` (an empty one resets it), "
        "even when its own block has no data",
    ),
    (
        "id keeps its spaces",
        b"id:  7 \ndata: a\n\n",
        [("message", "a", " 7 ", None)],
        "only one space after the colon is removed (parse_line did that): the rest of the value, "
        "spaces included, is the id; do not strip() it",
    ),
    (
        "id containing NUL",
        b"id: 5\ndata: a\n\nid: 6\x00\ndata: b\n\n",
        [("message", "a", "5", None), ("message", "b", "5", None)],
        "an id containing the NUL character '\\0' is ignored",
    ),
    (
        "retry",
        b"retry: 3000\n\ndata: a\n\nretry: 1500\ndata: b\n\nretry: soon\ndata: c\n\n"
        b"retry: 2.5\ndata: d\n\n",
        [
            ("message", "a", "", None),
            ("message", "b", "", 1500),
            ("message", "c", "", None),
            ("message", "d", "", None),
        ],
        "an event's retry is the int value (ms) of a `retry:` line in its own block, and only "
        "when that value is all ASCII digits; otherwise it is None",
    ),
    (
        "retry values int() accepts",
        b"retry: +5\ndata: e\n\nretry:  5\ndata: f\n\nretry: \xd9\xa3\ndata: g\n\n"
        b"retry: 5 \ndata: h\n\nretry: -5\ndata: i\n\nretry: \xc2\xb2\ndata: j\n\n"
        b"retry:\ndata: k\n\nretry: 0042\ndata: l\n\n",
        [
            ("message", "e", "", None),
            ("message", "f", "", None),
            ("message", "g", "", None),
            ("message", "h", "", None),
            ("message", "i", "", None),
            ("message", "j", "", None),
            ("message", "k", "", None),
            ("message", "l", "", 42),
        ],
        "int() is more forgiving than the spec: it accepts '+5', ' 5', '5 ' and the Arabic-Indic "
        "digit '\u0663' (and str.isdigit() accepts '\u00b2', which int() rejects). Use the value "
        "only when value.isascii() and value.isdigit()",
    ),
    (
        "unknown field",
        b"foo: bar\ndata: x\n\n",
        [("message", "x", "", None)],
        "ignore fields you do not know",
    ),
    (
        "unfinished last event",
        b"data: a\n\ndata: never finished\n",
        [("message", "a", "", None)],
        "an event without its blank line at the end of the stream is discarded",
    ),
    (
        "UTF-8 text",
        "data: café ✓ 世界\n\n".encode(),
        [("message", "café ✓ 世界", "", None)],
        "the stream is UTF-8; a character split across two reads must still come out whole "
        "(decode complete lines, or use an incremental decoder)",
    ),
    (
        "JSON with U+2028",
        'data: {"text": "a\u2028b"}\n\n'.encode(),
        [("message", '{"text": "a\u2028b"}', "", None)],
        "only '\\r\\n', '\\r' and '\\n' end a line; str.splitlines() also splits on U+2028 and "
        "other characters that may appear inside JSON",
    ),
]


def _feedings(stream: bytes) -> Iterator[tuple[str, list[bytes]]]:
    yield "fed whole", [stream]
    for i in range(1, len(stream)):
        yield f"split into two reads {stream[:i]!r} + {stream[i:]!r}", [stream[:i], stream[i:]]
    yield "fed one byte at a time", [stream[i : i + 1] for i in range(len(stream))]


def _split_hint(chunks: list[bytes], got: list[Event]) -> str:
    """What usually goes wrong when a stream parses whole but not when split."""
    if any("\ufffd" in str(data) for _, data, _, _ in got):
        return (
            "a UTF-8 character cut across two reads came out as '\ufffd': decode complete lines, "
            "or decode with codecs.getincrementaldecoder('utf-8')()"
        )
    if len(chunks) == 2 and chunks[0].endswith(b"\r") and chunks[1].startswith(b"\n"):
        return "a '\\r' at the end of one read and a '\\n' at the start of the next are one line end, not two"
    return (
        "a line can be cut across two reads: keep the unfinished end of each read in a buffer "
        "until its line end arrives"
    )


def _run(parse: Callable, chunks: list[bytes]) -> list[Event]:
    return [_norm(e) for e in parse(iter(chunks))]


_SHOWN = 4  # failing streams described in full; the rest are named


def _check_builder(r: Report, builder_class: type) -> None:
    """What the events cannot show: ``retry`` and ``last_id`` in force on the builder itself."""
    what = f"{builder_class.__name__}().line(...) for the lines"
    lines = ["retry: 2500", "", "id: 7", "", "retry: 2.5", "data: x"]
    ok, builder = r.call(builder_class, what=f"{builder_class.__name__}()")
    if not ok:
        return
    for line in lines:
        ok, _ = r.call(builder.line, line, what=f"{what} {lines!r}")
        if not ok:
            return
    r.expect(
        getattr(builder, "retry", None) == 2500 and getattr(builder, "last_id", None) == "7",
        f"{what} {lines!r}: expected builder.retry == 2500 and builder.last_id == '7', got "
        f"retry={getattr(builder, 'retry', None)!r}, last_id={getattr(builder, 'last_id', None)!r}. "
        "Hint: set self.retry (the reconnection time in force, kept across events and blocks "
        "without data, and left alone by a value that is not all digits) as well as "
        "self.event_retry; a block with an id and no data still sets self.last_id",
    )


def check_parser(
    parse_events: Callable[[Iterable[bytes]], Iterable[Any]], builder_class: type | None = None
) -> bool:
    """Exercise 2.1: ``parse_events(chunks)`` yields the events of a byte stream, incrementally.

    With ``builder_class`` (the learner's ``FullEventBuilder``) it also checks
    the state the events do not show: ``retry`` and ``last_id`` in force.
    """

    def body(r: Report) -> None:
        if builder_class is not None:
            _check_builder(r, builder_class)
        # Incremental: the first event must come out before the next read is taken.
        events, first, reads = first_out(parse_events, (b"data: first\n\n", b"data: second\n\n"))
        if events is None:
            r.expect(False, "parse_events returned None: yield each event")
            return
        r.expect(
            first is not None and reads == 1,
            "yield each event as soon as its blank line has arrived (use `yield` inside the loop "
            "over chunks): yours read the whole stream before giving the first event",
        )
        failures: list[str] = []
        for name, stream, want, hint in CASES:
            for how, chunks in _feedings(stream):
                try:
                    got = _run(parse_events, chunks)
                except NotImplementedError:
                    raise
                except LEARNER_ERRORS as exc:  # the learner's error, with the stream that caused it
                    failures.append(learner_error(exc, f"stream {name!r} {how}", hint))
                    break
                if got != want:
                    why = hint if len(chunks) == 1 else _split_hint(chunks, got)
                    failures.append(
                        f"stream {name!r} {how}: expected {_show(want)}, got {_show(got)}. "
                        f"Hint: {why}"
                    )
                    break  # one failure per stream is enough to act on
        r.checked += len(CASES) - len(failures)
        for problem in failures[:_SHOWN]:
            r.expect(False, problem)
        if len(failures) > _SHOWN:
            r.checked += len(failures) - _SHOWN - 1
            names = ", ".join(f.split("'")[1] for f in failures[_SHOWN:])
            r.expect(
                False,
                f"{len(failures) - _SHOWN} more streams fail too ({names}): fix the above first",
            )

    return run_check("Exercise 2.1: `id` and `retry`", body)


# ---------------------------------------------------------------------------
# Exercise 2.2: spot the bug

_BUGGY = {"A": parser_a, "B": parser_b, "C": parser_c}


def check_spot_the_bug(breaks_a: Any, breaks_b: Any, breaks_c: Any) -> bool:
    """Exercise 2.2: for each buggy parser, a stream (a list of reads) it gets wrong."""

    def body(r: Report) -> None:
        answers = {"A": breaks_a, "B": breaks_b, "C": breaks_c}
        if all(a is None or a is Ellipsis for a in answers.values()):
            r.not_yet("not attempted yet: set breaks_a, breaks_b and breaks_c to lists of reads")
            return
        for name, chunks in answers.items():
            if isinstance(chunks, (bytes, bytearray)):
                r.expect(
                    False,
                    f"parser {name}: give a list of reads such as [b'data: he', b'llo\\n\\n'], "
                    "not one bytes object",
                )
                continue
            if not (
                isinstance(chunks, (list, tuple))
                and chunks
                and all(isinstance(c, bytes) for c in chunks)
            ):
                r.expect(
                    False,
                    f"parser {name}: the answer should be a list of bytes objects, "
                    f"one per network read; got {chunks!r}",
                )
                continue
            want = [_norm(e) for e in reference_parser(list(chunks))]
            got = [_norm(e) for e in _BUGGY[name](list(chunks))]
            r.expect(
                got != want,
                f"parser {name} reads {list(chunks)!r} correctly, as {_show(want)}: "
                "look again at how it finds lines or decodes bytes, and what a "
                "network read can cut in two",
            )

    return run_check("Exercise 2.2: spot the bug", body)
