"""Checks for notebook 07: showing a stream to a person.

Exercise 7.1 plans redraws for a stream of ``(arrival time, delta)`` pairs:
time is given, not measured, so the check is exact and instant. Exercise 7.2
reads a stream that breaks part-way and must keep what arrived.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["timed_streams", "check_redraws", "check_collect", "BrokenStream"]

Timed = list[tuple[float, str]]


def _words(n: int) -> list[str]:
    words = "the quick answer arrives one small piece at a time and the reader follows it".split()
    return [(" " if i else "") + words[i % len(words)] for i in range(n)]


def timed_streams() -> dict[str, Timed]:
    """Streams with known arrival times (seconds): fast, slow, fast with a pause, and jittery."""
    fast = [(i / 2000, d) for i, d in enumerate(_words(2000))]  # 2,000 deltas/s for 1 s
    slow = [(i * 0.1, d) for i, d in enumerate(_words(12))]  # one delta every 100 ms
    burst = [(i / 1000, d) for i, d in enumerate(_words(100))]
    burst += [(0.6 + i / 1000, d) for i, d in enumerate(_words(100))]  # a 0.5 s pause, then more
    rng = random.Random(11)
    t, jitter = 0.25, []
    for d in _words(rng.randint(250, 400)):  # ~300 deltas/s, irregular, starting late
        jitter.append((round(t, 6), d))
        t += rng.expovariate(300)
    return {
        "fast (2,000 deltas/s)": fast,
        "slow (one delta every 0.1 s)": slow,
        "burst, pause, burst": burst,
        "irregular (about 300 deltas/s, random gaps, seed 11)": jitter,
    }


def _stale(
    events: Timed, plan: list[tuple[float, str]], interval: float
) -> tuple[float, float] | None:
    """The first redraw that came later than a coalescing display's would, as (due, actual).

    After a redraw at ``p``, text that arrived later is due at ``max(first arrival, p +
    interval)``; the earliest redraw possible then is the first arrival at or after that.
    One more ``interval`` of slack is allowed; a plan that keeps the reader waiting longer
    while deltas keep arriving never redraws during the stream.
    """
    times = [t for t, _ in events]
    for (p, _), (q, _) in zip(plan, plan[1:]):  # noqa: B905 - plan may be shorter
        newer = [t for t in times if p < t <= q]
        if not newer:
            continue
        due = max(newer[0], p + interval)
        earliest = next((t for t in times if t >= due - 1e-9), times[-1])
        if q > earliest + interval + 1e-9:
            return earliest, q
    return None


def _judge(report: Report, name: str, events: Timed, plan: Any, interval: float) -> None:
    where = f"on the {name} stream (interval={interval:g})"
    if not isinstance(plan, list) or not all(isinstance(p, tuple) and len(p) == 2 for p in plan):
        report.expect(
            False, f"{where}: return a list of (time, text) tuples, got {type(plan).__name__}"
        )
        return
    full = "".join(d for _, d in events)
    if not report.expect(bool(plan), f"{where}: no redraws at all; the reader sees nothing"):
        return
    report.expect(
        plan[-1][1] == full,
        f"{where}: the last redraw shows {len(plan[-1][1])} of {len(full)} characters: "
        "after the loop, draw whatever is still pending, or the end of the answer is lost",
    )
    report.expect(
        plan[0][0] == events[0][0],
        f"{where}: the first redraw is at {plan[0][0]:.3f} s but the first delta arrived at "
        f"{events[0][0]:.3f} s: show the first delta at once (time to first token is what people feel)",
    )
    arrivals = {t for t, _ in events}
    wrong_text = [t for t, text in plan if text != "".join(d for ta, d in events if ta <= t)]
    report.expect(
        not wrong_text,
        f"{where}: a redraw at {wrong_text[0] if wrong_text else 0:.3f} s does not show exactly the text "
        "that had arrived by then: each redraw shows all text so far, in order",
    )
    report.expect(
        all(t in arrivals for t, _ in plan),
        f"{where}: redraw only when a delta arrives (at its arrival time); there are no timers here",
    )
    gaps = [
        b[0] - a[0] for a, b in zip(plan[:-2], plan[1:-1], strict=True)
    ]  # the final flush may come sooner
    too_close = [g for g in gaps if g < interval - 1e-9]
    report.expect(
        not too_close,
        f"{where}: {len(too_close)} redraws come less than {interval * 1000:.0f} ms after the one "
        f"before ({len(plan)} redraws for {len(events)} deltas): wait at least `interval` between redraws",
    )
    stale = _stale(events, plan, interval)
    report.expect(
        stale is None,
        f"{where}: a redraw could come at {stale[0]:.3f} s but the next "
        f"came only at {stale[1]:.3f} s, while deltas kept arriving: redraw as soon as a delta "
        "arrives `interval` or more after the previous redraw (measured from the redraw, not from "
        "the previous delta), and take the interval from the argument"
        if stale
        else "",
    )
    if name.startswith("slow"):
        report.expect(
            len(plan) == len(events),
            f"{where}: {len(plan)} redraws for {len(events)} deltas that arrive {interval * 1000:.0f}+ ms "
            "apart: when deltas are slow, show each one as it arrives; do not count deltas, look at the time",
        )


#: A stream whose deltas land exactly on redraw boundaries (binary-exact times, so no rounding).
BOUNDARY_INTERVAL = 0.25
_BOUNDARY = [(k * 0.125, d) for k, d in enumerate(_words(11))]


def _boundary(report: Report, redraws: Callable[..., list[tuple[float, str]]]) -> None:
    """A delta that arrives exactly ``interval`` after the previous redraw is drawn: "at least"."""
    where = f"on a stream with a delta every 0.125 s (interval={BOUNDARY_INTERVAL:g})"
    ok, plan = report.call(redraws, list(_BOUNDARY), BOUNDARY_INTERVAL, what=where)
    if not ok or not isinstance(plan, list):
        return
    want = [t for t, _ in _BOUNDARY if t * 4 == int(t * 4)]  # 0, 0.25, 0.5, ...: every other delta
    got = [p[0] for p in plan if isinstance(p, tuple) and len(p) == 2]
    report.expect(
        got[: len(want)] == want,
        f"{where}: redraws should come at {want} s, yours came at {got}: a delta that arrives "
        "exactly `interval` after the previous redraw is drawn (at least `interval`: >=, not >)",
    )


def check_redraws(
    redraws: Callable[..., list[tuple[float, str]]], interval: float = 1 / 30
) -> bool:
    """Exercise 7.1: ``redraws(events, interval)`` -> list of ``(time, text shown)``."""

    def body(report: Report) -> None:
        for every in dict.fromkeys((interval, 0.1, 0.01)):  # an interval of the caller's choosing
            for name, events in timed_streams().items():
                if every != interval and name.startswith("slow"):
                    continue
                ok, plan = report.call(
                    redraws, list(events), every, what=f"on the {name} stream, interval={every:g}"
                )
                if ok:
                    _judge(report, name, events, plan, every)
        _boundary(report, redraws)

    return run_check("Exercise 7.1: plan the redraws", body)


class BrokenStream:
    """A stream that yields some deltas, then raises ``error`` (like a provider failing mid-stream)."""

    def __init__(self, deltas: Iterable[str], error: BaseException | None = None) -> None:
        self.deltas = list(deltas)
        self.error = error
        self.closed = False

    def __iter__(self) -> Iterator[str]:
        yield from self.deltas
        if self.error is not None:
            raise self.error

    def close(self) -> None:
        self.closed = True


def _broken(
    report: Report,
    collect: Callable[[Iterable[str]], tuple[str, str | None]],
    words: list[str],
    arrived: int,
    error: BaseException,
) -> None:
    """``collect`` on a stream that raises ``error`` after ``arrived`` deltas."""
    what = f"a stream that fails after {arrived} deltas ({error})"
    try:
        got = collect(BrokenStream(words[:arrived], error))
    except ProviderError:
        report.expect(
            False,
            f"{what}: the stream's error escaped: catch it, so what arrived can still be shown",
        )
        return
    if not report.expect(
        isinstance(got, tuple) and len(got) == 2, f"{what}: return (text, note), got {got!r:.80}"
    ):
        return
    text, note = got
    want = "".join(words[:arrived])
    report.expect(
        text == want,
        f"{what}: you kept {text!r:.60} but {want!r:.60} had arrived: keep what arrived",
    )
    report.expect(
        isinstance(note, str) and str(error) in note,
        f"{what}: the note should say what went wrong (include the error's message), got {note!r}",
    )
    report.expect(
        isinstance(note, str) and _says_count(note, arrived),
        f"{what}: the note should say how many deltas had arrived ({arrived}), in digits or "
        f"as a word, got {note!r}",
    )


_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
).split()


def _says_count(note: str, n: int) -> bool:
    """``note`` gives the count ``n``, as digits ("5") or as a word ("five")."""
    if re.search(rf"(?<!\d){n}(?!\d)", note):
        return True
    word = _NUMBER_WORDS[n] if n < len(_NUMBER_WORDS) else None
    return word is not None and re.search(rf"\b{word}\b", note, re.IGNORECASE) is not None


class ProviderError(Exception):
    """Stands in for ``openai.APIError`` / ``anthropic.APIStatusError`` raised mid-stream."""


def check_collect(collect: Callable[[Iterable[str]], tuple[str, str | None]]) -> bool:
    """Exercise 7.2: ``collect(deltas)`` -> ``(text that arrived, None or a note about the error)``."""

    def body(report: Report) -> None:
        words = _words(8)
        got = collect(BrokenStream(words))
        if not report.expect(
            isinstance(got, tuple) and len(got) == 2, f"return (text, note), got {got!r:.80}"
        ):
            return
        report.equal(
            got, ("".join(words), None), "for a stream that ends normally, (all the text, None)"
        )
        for arrived, message in ((5, "Overloaded (overloaded_error)"), (12, "Connection reset")):
            _broken(report, collect, words * 2, arrived, ProviderError(message))
        try:
            got = collect(BrokenStream(words[:4], asyncio.CancelledError()))
        except asyncio.CancelledError:
            report.expect(True, "")
        else:
            report.expect(
                False,
                "when the reading task is cancelled (the user pressed Stop) the stream raises "
                f"CancelledError, and you returned {got!r:.60} instead: catch `Exception`, not "
                "everything (a bare `except:` or `except BaseException` also swallows "
                "cancellation, and the task never learns it was stopped)",
            )

    return run_check("Exercise 7.2: keep what arrived", body)
