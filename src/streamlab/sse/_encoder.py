"""The encoder: :func:`encode_event` and :func:`encode`, events to bytes, for servers and tests."""

from __future__ import annotations

import re

from streamlab.sse._errors import SSEEncodeError
from streamlab.sse._event import ServerSentEvent

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
