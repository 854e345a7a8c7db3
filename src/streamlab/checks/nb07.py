"""Checks for notebook 07: showing a stream to a person.

Exercise 7.1 plans redraws for a stream of ``(arrival time, delta)`` pairs:
time is given, not measured, so the check is exact and instant. Exercise 7.2
reads a stream that breaks part-way and must keep what arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["timed_streams", "check_redraws", "check_collect", "BrokenStream"]

Timed = list[tuple[float, str]]


def _words(n: int) -> list[str]:
    words = "the quick answer arrives one small piece at a time and the reader follows it".split()
    return [(" " if i else "") + words[i % len(words)] for i in range(n)]


def timed_streams() -> dict[str, Timed]:
    """Streams with known arrival times (seconds): fast, slow, and fast with a pause."""
    fast = [(i / 2000, d) for i, d in enumerate(_words(2000))]  # 2,000 deltas/s for 1 s
    slow = [(i * 0.1, d) for i, d in enumerate(_words(12))]  # one delta every 100 ms
    burst = [(i / 1000, d) for i, d in enumerate(_words(100))]
    burst += [(0.6 + i / 1000, d) for i, d in enumerate(_words(100))]  # a 0.5 s pause, then more
    return {
        "fast (2,000 deltas/s)": fast,
        "slow (one delta every 0.1 s)": slow,
        "burst, pause, burst": burst,
    }


def _judge(report: Report, name: str, events: Timed, plan: Any, interval: float) -> None:
    where = f"on the {name} stream"
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
    if name.startswith("slow"):
        report.expect(
            len(plan) == len(events),
            f"{where}: {len(plan)} redraws for {len(events)} deltas that arrive {interval * 1000:.0f}+ ms "
            "apart: when deltas are slow, show each one as it arrives; do not count deltas, look at the time",
        )


def check_redraws(
    redraws: Callable[..., list[tuple[float, str]]], interval: float = 1 / 30
) -> bool:
    """Exercise 7.1: ``redraws(events, interval)`` -> list of ``(time, text shown)``."""

    def body(report: Report) -> None:
        for name, events in timed_streams().items():
            _judge(report, name, events, redraws(list(events), interval), interval)

    return run_check("Exercise 7.1: coalesce redraws", body)


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
        error = ProviderError("Overloaded (overloaded_error)")
        try:
            got = collect(BrokenStream(words[:5], error))
        except ProviderError:
            report.expect(
                False, "the stream's error escaped: catch it, so what arrived can still be shown"
            )
            return
        if not report.expect(
            isinstance(got, tuple) and len(got) == 2, f"return (text, note), got {got!r:.80}"
        ):
            return
        text, note = got
        report.expect(
            text == "".join(words[:5]),
            f"after a failure you kept {text!r} but {''.join(words[:5])!r} had arrived: keep what arrived",
        )
        report.expect(
            isinstance(note, str) and "Overloaded" in note,
            f"the note should say what went wrong (include the error's message), got {note!r}",
        )
        report.expect(
            isinstance(note, str) and "5" in note,
            f"the note should say how many deltas had arrived (5), got {note!r}",
        )

    return run_check("Exercise 7.2: keep what arrived", body)
