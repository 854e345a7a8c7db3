"""Checks for notebook 00, Why streaming.

A streamed response seen by the client is a list of ``(timestamp, delta)``
pairs: when each piece of text arrived (seconds, e.g. ``time.perf_counter()``)
and the text. The first deltas of a real stream are often empty (a role
chunk, a "created" event).

- :func:`check_ttft_and_total`: ``ttft_and_total(start, events)`` returns
  ``(ttft, total)``: seconds from ``start`` to the first non-empty delta
  (``None`` if no text arrived) and to the last event. Non-empty means not
  ``""``: a delta of only spaces or a newline holds text.
- :func:`check_deltas_per_second`: ``deltas_per_second(events)``, the rate of
  non-empty deltas once text is flowing (deltas, not tokens: a delta may hold
  several tokens, and token counts come only from the usage the provider
  reports): (number of non-empty deltas - 1)
  divided by the time between the first and the last of them (``None`` with
  fewer than two).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["check_ttft_and_total", "check_deltas_per_second", "check_tokens_per_second"]

Events = list[tuple[float, str]]

# name, start, events, (ttft, total), hint when it fails
TIMING_CASES: list[tuple[str, float, Events, tuple[Any, Any], str]] = [
    (
        "three deltas",
        100.0,
        [(100.3, "Hel"), (100.4, "lo"), (101.0, "!")],
        (0.3, 1.0),
        "time to first token is the first delta's timestamp minus start; total is the last one's minus start",
    ),
    (
        "starts at zero",
        0.0,
        [(0.25, "A"), (2.0, "B")],
        (0.25, 2.0),
        "both times are measured from start",
    ),
    (
        "empty deltas first and last",
        10.0,
        [(10.1, ""), (10.5, "Hi"), (11.0, " there"), (12.0, "")],
        (0.5, 2.0),
        "an empty delta (a role chunk, a 'created' event) holds no text: time to first token counts "
        "from the first delta with text; the total still runs to the last event",
    ),
    (
        "no text at all",
        5.0,
        [(5.2, ""), (5.3, "")],
        (None, 0.3),
        "when no delta has text, time to first token is None",
    ),
    (
        "a newline first",
        3.0,
        [(3.0, ""), (3.2, "\n"), (3.5, "Hi"), (4.0, "")],
        (0.2, 1.0),
        "a delta of only a space or a newline is not empty: it holds text (the exercise counts "
        "every delta that is not ''), so time to first token runs to it",
    ),
    (
        "buffered: one big delta",
        7.0,
        [(9.5, "The whole answer at once.")],
        (2.5, 2.5),
        "a buffered response is one delta: time to first token equals the total",
    ),
]


def _seeded_stream(seed: int) -> tuple[float, Events]:
    """A stream no answer can special-case: a random start, size, pace and empty deltas."""
    rng = random.Random(seed)
    start = round(rng.uniform(1, 5000), 3)
    t, events = start, []
    for _ in range(rng.randint(2, 5)):  # role chunk, "created" events
        t += rng.uniform(0.01, 0.3)
        events.append((t, ""))
    for _ in range(rng.randint(20, 60)):
        t += rng.expovariate(40)
        events.append((t, rng.choice(["a", " the", "ing", " stream", "\n", " ", "é"])))
    for _ in range(rng.randint(1, 3)):  # usage, "completed" events
        t += rng.uniform(0.01, 0.5)
        events.append((t, ""))
    return start, events


def _random_timing_case(seed: int) -> tuple[str, float, Events, tuple[Any, Any], str]:
    start, events = _seeded_stream(seed)
    first = next(t for t, d in events if d)
    return (
        f"a random stream (seed {seed}, {len(events)} events)",
        start,
        events,
        (first - start, events[-1][0] - start),
        "empty deltas at both ends; time to first token counts from start to the first delta "
        "with text (a delta of only ' ' or '\\n' holds text), the total from start to the last event",
    )


def _random_rate_case(seed: int) -> tuple[str, Events, Any, str]:
    _, events = _seeded_stream(seed)
    times = [t for t, d in events if d]
    return (
        f"a random stream (seed {seed}, {len(times)} deltas with text)",
        events,
        (len(times) - 1) / (times[-1] - times[0]),
        "count the deltas with text (not characters, not all events; ' ' and '\\n' are text) "
        "and divide the gaps between them by the time from the first to the last of them",
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(round(value, 6))
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_fmt(v) for v in value) + ")"
    return repr(value)


def _brief(events: Events) -> str:
    """The events, or their first and last ones when there are too many to read."""
    if len(events) <= 8:
        return repr(events)
    show = [f"({t:.3f}, {d!r})" for t, d in events]
    return f"[{', '.join(show[:3])}, ... {len(events) - 5} more ..., {', '.join(show[-2:])}]"


def _close(got: Any, want: Any) -> bool:
    if want is None or got is None:
        return got is want
    try:
        return math.isclose(float(got), want, rel_tol=1e-9, abs_tol=1e-9)
    except (TypeError, ValueError):
        return False


def check_ttft_and_total(ttft_and_total: Callable[[float, Events], tuple[Any, Any]]) -> bool:
    """Exercise 0.1: time to first token and total time from (timestamp, delta) pairs."""

    def body(r: Report) -> None:
        for name, start, events, want, hint in [*TIMING_CASES, _random_timing_case(2026)]:
            ok, got = r.call(
                ttft_and_total, start, list(events), what=f"events {name!r}", hint=hint
            )
            if not ok:
                continue
            if not (isinstance(got, (tuple, list)) and len(got) == 2):
                r.expect(False, f"return a pair (ttft, total); for {name!r} got {got!r}")
                continue
            ok = _close(got[0], want[0]) and _close(got[1], want[1])
            if (
                not ok
                and got[0] is not None
                and got[1] is not None
                and start != 0
                and _close(got[1], events[-1][0])
            ):
                hint = "subtract start: these are durations, not timestamps"
            r.expect(
                ok,
                f"events {name!r} (start={start}, {_brief(events)}): expected {_fmt(want)}, "
                f"got {_fmt(got)}. Hint: {hint}",
            )

    return run_check("Exercise 0.1: time to first token and total time", body)


# name, events, rate, hint when it fails
RATE_CASES: list[tuple[str, Events, Any, str]] = [
    (
        "steady",
        [(1.0, "a"), (1.5, "b"), (2.0, "c")],
        2.0,
        "two intervals of 0.5 s between three deltas: 2 deltas per second",
    ),
    (
        "slow start",
        [(0.0, ""), (3.0, "a"), (3.1, "b"), (3.2, "c"), (3.3, "d"), (3.4, "e")],
        10.0,
        "the wait for the first delta is not part of the rate: count from the first delta with text",
    ),
    (
        "empty deltas at the end",
        [(1.0, "a"), (1.2, "b"), (1.4, "c"), (5.0, "")],
        5.0,
        "empty deltas do not count, and a late empty event (the end of the stream) does not slow the rate",
    ),
    (
        "one delta",
        [(0.5, ""), (1.0, "all")],
        None,
        "with fewer than two deltas holding text there is no rate: None",
    ),
    (
        "long deltas",
        [(2.0, "Streaming"), (2.25, " answers"), (2.5, " arrive"), (2.75, " in"), (3.0, " pieces")],
        4.0,
        "count deltas, not characters: five deltas 0.25 s apart are 4 per second",
    ),
    (
        "no deltas at all",
        [(0.2, ""), (0.9, "")],
        None,
        "with no delta holding text there is no rate: None",
    ),
    (
        "exactly two",
        [(0.0, ""), (4.0, "Hel"), (4.5, "lo"), (6.0, "")],
        2.0,
        "two deltas are not 'fewer than two': one gap of 0.5 s between them is 2 per second",
    ),
    (
        "spaces and newlines",
        [(0.0, ""), (1.0, " "), (1.25, "a"), (1.5, "\n"), (2.0, "")],
        4.0,
        "a delta of only a space or a newline holds text (it is not ''): count it",
    ),
]


def check_deltas_per_second(deltas_per_second: Callable[[Events], Any]) -> bool:
    """Exercise 0.2: the rate at which deltas arrive once text is flowing."""

    def body(r: Report) -> None:
        for name, events, want, hint in [*RATE_CASES, _random_rate_case(1958)]:
            ok, got = r.call(
                deltas_per_second, list(events), what=f"events {name!r} {_brief(events)}", hint=hint
            )
            if not ok:
                continue
            r.expect(
                _close(got, want),
                f"events {name!r} {_brief(events)}: expected {_fmt(want)}, got {_fmt(got)}. "
                f"Hint: {hint}",
            )

    return run_check("Exercise 0.2: deltas per second", body)


#: The exercise's name before it counted deltas by name (they never were tokens).
check_tokens_per_second = check_deltas_per_second
