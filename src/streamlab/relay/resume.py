"""The resume log of one relayed stream: its events so far, capped, sans-IO.

A :class:`StreamLog` is what lets a browser that reconnects with
``Last-Event-ID`` resume the *same* generation. It holds no sockets and runs
no tasks: the relay appends events as the source produces them, and each
reader asks :meth:`StreamLog.after` for what it has not seen yet.

>>> log = StreamLog("s1", prompt="hi", max_bytes=200)
>>> for word in ["a ", "b ", "c "]:
...     _ = log.append("delta", {"text": word})
>>> reader = log.open(0)  # a client that saw event 0
>>> [e.id for e in log.pending(reader)]
[1, 2]
>>> log.finish("completed").frame()
b'id: 3\\nevent: done\\ndata: {"reason": "completed"}\\n\\n'
>>> parse_last_event_id("17"), parse_last_event_id(None)
(17, None)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "LogEvent",
    "Cursor",
    "StreamLog",
    "ResumeGone",
    "parse_last_event_id",
    "MAX_EVENT_ID_DIGITS",
]

#: Ids the relay sends are small integers; a longer value was not sent by it.
MAX_EVENT_ID_DIGITS = 18
# [0-9], not \d: str.isdigit() and \d accept "²" and other scripts' digits,
# which int() then rejects or reads as a different number.
_EVENT_ID = re.compile(rf"[0-9]{{1,{MAX_EVENT_ID_DIGITS}}}")


def parse_last_event_id(value: str | None) -> int | None:
    """The event id a reconnecting client sent, or ``None`` when it sent none.

    Raises ``ValueError`` (saying why) for anything but 1 to
    :data:`MAX_EVENT_ID_DIGITS` ASCII digits.
    """
    if value is None or value == "":
        return None
    if not _EVENT_ID.fullmatch(value):
        raise ValueError(
            f"Last-Event-ID {value[:40]!r} is not an id this relay sends "
            f"(1 to {MAX_EVENT_ID_DIGITS} ASCII digits)"
        )
    return int(value)


@dataclass(frozen=True)
class LogEvent:
    """One event of a stream: its id (0, 1, ... over the whole stream), name and payload."""

    id: int
    event: str
    data: dict[str, Any]
    item: Any = None  # the source's own event (a neutral event), for other encodings
    raw: bytes = field(default=b"", repr=False, compare=False)

    def frame(self) -> bytes:
        """The event as one SSE frame (json.dumps escapes newlines: one data line)."""
        if self.raw:
            return self.raw
        data = json.dumps(self.data, ensure_ascii=False)
        return f"id: {self.id}\nevent: {self.event}\ndata: {data}\n\n".encode()


class ResumeGone(LookupError):
    """A client asked to resume from an event the log no longer keeps."""


class Cursor:
    """Where one live reader is in a :class:`StreamLog`: the id it sends next."""

    __slots__ = ("next_id",)

    def __init__(self, next_id: int) -> None:
        self.next_id = next_id

    def __repr__(self) -> str:
        return f"Cursor(next_id={self.next_id})"


@dataclass
class StreamLog:
    """One generation: its prompt, its most recent events, whether it has finished.

    ``max_bytes`` caps the framed size of the events kept: once over, the
    oldest are dropped, but never one that a live reader (a :class:`Cursor`
    from :meth:`open`) has not sent yet; :attr:`over_cap` then tells the
    producer to wait until readers move on (backpressure, as a plain proxy
    gives). A client that resumes from an event no longer kept cannot get a
    seamless continuation: :meth:`open` raises :class:`ResumeGone` (the relay
    answers 410).
    """

    id: str
    prompt: str = ""
    max_bytes: int = 1 << 20
    events: deque[LogEvent] = field(default_factory=deque)
    next_id: int = 0
    bytes: int = 0
    finished: bool = False
    stop_reason: str | None = None
    cursors: list[Cursor] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)  # new events
    moved: asyncio.Event = field(default_factory=asyncio.Event)  # a reader moved on or left

    @property
    def first_id(self) -> int:
        """The id of the oldest event still kept (``next_id`` when none is)."""
        return self.events[0].id if self.events else self.next_id

    @property
    def readers(self) -> int:
        """How many live readers the stream has."""
        return len(self.cursors)

    @property
    def over_cap(self) -> bool:
        """True while live readers pin more than ``max_bytes`` of unsent events."""
        return self.bytes > self.max_bytes

    def append(self, event: str, data: dict[str, Any], item: Any = None) -> LogEvent:
        """Add an event, drop old ones beyond ``max_bytes``, wake the readers."""
        ev = LogEvent(self.next_id, event, data, item)
        ev = LogEvent(ev.id, event, data, item, ev.frame())  # framed once, for every reader
        self.next_id += 1
        self.events.append(ev)
        self.bytes += len(ev.raw)
        self._trim()
        self.changed = _wake(self.changed)
        return ev

    def finish(self, reason: str, *, item: Any = None, **extra: Any) -> LogEvent:
        """Append the last event, ``done`` with ``reason`` (once; later calls return it)."""
        if not self.finished:
            self.append("done", {"reason": reason, **extra}, item)
            self.finished = True
        return self.events[-1]

    def open(self, last_id: int | None) -> Cursor:
        """A live reader that resumes after ``last_id`` (from the start for ``None``).

        Raises :class:`ResumeGone` when events after ``last_id`` were dropped,
        and ``ValueError`` for an id this stream has not sent yet.
        """
        start = 0 if last_id is None else last_id + 1
        if start > self.next_id:
            raise ValueError(
                f"Last-Event-ID {last_id} is past the end of stream {self.id!r} "
                f"(its last event so far is {self.next_id - 1})"
            )
        if start < self.first_id:
            raise ResumeGone(
                f"stream {self.id!r} no longer keeps events {start} to {self.first_id - 1} "
                f"(the relay keeps its last {self.max_bytes} bytes of events): "
                "start a new stream"
            )
        cursor = Cursor(start)
        self.cursors.append(cursor)
        return cursor

    def pending(self, cursor: Cursor) -> list[LogEvent]:
        """The events ``cursor`` has not sent yet, oldest first."""
        # Readers are near the end: walk in from the right, O(new events).
        new = list(itertools.islice(reversed(self.events), self.next_id - cursor.next_id))
        new.reverse()
        return new

    def sent(self, cursor: Cursor, ev: LogEvent) -> None:
        """``cursor`` has sent ``ev``: what no reader needs any more may go."""
        cursor.next_id = ev.id + 1
        self._moved()

    def close(self, cursor: Cursor) -> None:
        """The reader left."""
        self.cursors.remove(cursor)
        self._moved()

    def at_end(self, cursor: Cursor) -> bool:
        """The stream has finished and ``cursor`` has sent its last event."""
        return self.finished and cursor.next_id == self.next_id

    def _moved(self) -> None:
        if self.over_cap:
            self._trim()
            self.moved = _wake(self.moved)

    def _trim(self) -> None:
        oldest_needed = min((c.next_id for c in self.cursors), default=self.next_id)
        events = self.events
        while self.bytes > self.max_bytes and len(events) > 1 and events[0].id < oldest_needed:
            self.bytes -= len(events.popleft().raw)


def _wake(event: asyncio.Event) -> asyncio.Event:
    """Set ``event`` (waking whoever waits on it) and give a fresh one for the next wait."""
    event.set()
    return asyncio.Event()
