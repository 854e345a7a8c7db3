"""Checks for notebook 11, browser clients and production.

- :func:`check_resume`: exercise 11.1, answering a browser that reconnects
  with ``Last-Event-ID``: the events it missed, ``410`` when some were
  dropped, ``400`` for an id the stream never sent or a header that is not
  one. Every clause of the exercise is tried at its boundaries (the id just
  before the first kept one, the last id, one past it), with fresh logs each
  run, and with headers Python's ``int()`` reads but the relay never sends.
"""

from __future__ import annotations

import copy
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["check_resume"]

Kept = list[tuple[int, bytes]]

#: Headers a relay never sends, each of which ``int()`` reads as a number
#: (or nearly: the check wants 400 for all of them).
_NOT_IDS = ["-1", "+3", " 3", "3 ", "3\n", "1_0", "\u0663", "3.0", "0x3", "three"]


def _kept(first: int, count: int) -> Kept:
    """A stream's kept events, ids ``first`` ... ``first + count - 1``, fresh words each run."""
    word = secrets.token_hex(3)
    return [
        (i, f'id: {i}\nevent: delta\ndata: {{"text": "{word}{i} "}}\n\n'.encode())
        for i in range(first, first + count)
    ]


def _frames(kept: Kept, after: int) -> list[bytes]:
    return [frame for i, frame in kept if i > after]


def _cases() -> list[tuple[str, Kept, str | None, tuple[int, list[bytes]]]]:
    """(clause, kept, header, expected answer) for every clause and boundary."""
    whole = _kept(0, 5 + secrets.randbelow(4))  # nothing dropped yet
    first = 3 + secrets.randbelow(5)
    trimmed = _kept(first, 4 + secrets.randbelow(4))  # the cap dropped ids 0 .. first-1
    last = trimmed[-1][0]
    mid = first + 1 + secrets.randbelow(last - first - 1)
    cases: list[tuple[str, Kept, str | None, tuple[int, list[bytes]]]] = [
        ("no header: every event from id 0", whole, None, (200, _frames(whole, -1))),
        ("an empty header is no header", whole, "", (200, _frames(whole, -1))),
        ("no header, but event 0 was dropped", trimmed, None, (410, [])),
        (
            "an id in the middle: the events after it",
            trimmed,
            str(mid),
            (200, _frames(trimmed, mid)),
        ),
        ("the last id: nothing is missing", trimmed, str(last), (200, [])),
        (
            "the id just before the first kept one: nothing was lost",
            trimmed,
            str(first - 1),
            (200, _frames(trimmed, first - 1)),
        ),
        (
            "an id two before the first kept one: one event is gone",
            trimmed,
            str(first - 2),
            (410, []),
        ),
        ("an id past the last one: never sent", trimmed, str(last + 1), (400, [])),
        ("a far-future id", whole, "9" * 25, (400, [])),
        ("id 0 of a whole stream", whole, "0", (200, _frames(whole, 0))),
    ]
    cases += [
        (f"a header that is not ASCII digits ({h!r})", trimmed, h, (400, [])) for h in _NOT_IDS
    ]
    return cases


def _shape(got: Any) -> tuple[int, list[bytes]] | str:
    """``got`` as ``(status, frames)``, or what is wrong with its shape."""
    if not (isinstance(got, Sequence) and not isinstance(got, (str, bytes)) and len(got) == 2):
        return f"return a pair (status, frames), not {got!r:.80}"
    status, frames = got
    if not isinstance(status, int) or isinstance(status, bool):
        return f"the status should be an int such as 200, not {status!r}"
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Sequence):
        return f"the frames should be a list of bytes, not {type(frames).__name__}"
    return status, list(frames)


def _answer(kept: Kept, status: int, frames: list[bytes]) -> str:
    """``(status, frames)`` in words: the ids of the frames, in the order given."""
    if not frames:
        return f"status {status} and no frames"
    ids = {f: i for i, f in kept}
    named = [ids.get(f, "?") for f in frames]
    return f"status {status} with the frames of ids {named}"


def _hint(clause: str) -> str:
    if "not ASCII digits" in clause:
        return (
            "int() accepts spaces, signs, underscores and other scripts' digits: "
            "check the text is ASCII digits first (str.isdigit() is not enough either)"
        )
    if "just before" in clause:
        return "the client needs the events after its id: the first kept one is exactly that"
    if "past the last" in clause or "far-future" in clause:
        return "an id past the last one was never sent by this stream: answer 400"
    if "dropped" in clause or "gone" in clause:
        return "when an event the client needs is no longer kept, answer 410 and no frames"
    return ""


def check_resume(resume: Callable[[Kept, str | None], Any]) -> bool:
    """Exercise 11.1: ``resume(kept, last_event_id) -> (status, frames)``."""

    def body(r: Report) -> None:
        for clause, kept, header, want in _cases():
            given = copy.deepcopy(kept)
            ok, got = r.call(
                resume,
                given,
                header,
                what=f"{clause}: resume(..., {header!r})",
                hint="a request the relay cannot answer gets a status (400, 410), not an exception",
            )
            if not ok:
                continue
            r.expect(
                given == kept, f"{clause}: your function changed `kept`; the relay still needs it"
            )
            shaped = _shape(got)
            if isinstance(shaped, str):
                r.expect(False, f"{clause}: {shaped}")
                continue
            status, frames = shaped
            ids = [i for i, _ in kept]
            if (status, frames) != want:
                hint = _hint(clause)
                r.expect(
                    False,
                    f"{clause} (kept ids {ids[0]}..{ids[-1]}, Last-Event-ID {header!r}): expected "
                    f"{_answer(kept, *want)}, got {_answer(kept, status, frames)}"
                    + (f". Hint: {hint}" if hint else ""),
                )
            else:
                r.expect(True, clause)

    return run_check("Exercise 11.1: answering a reconnect", body)
