"""Benchmark: StreamView at 2,000 tokens/s for 5 s. Redraws per second, tokens lost.

Feeds 10,000 numbered deltas at 2,000 tokens/s (bursts of whatever is due,
like reads from a socket) into a StreamView, four ways:

- sync: ``view.run(source)``, a plain loop;
- async: ``await view.arun(source)`` with an async generator (top-level await);
- task: ``view.start(source)``, a background task, while the loop does other work;
- markdown: the sync run with Markdown rendering;
- events: the sync run on provider-neutral events: a third reasoning deltas,
  then two tool calls whose arguments stream in fragments, then the answer
  (what ``stream_events`` yields for a reasoning model that calls tools).

For each it reports redraws per second of the streamed pane (target <= 30),
the values actually sent to the body widget (observed on the widget, not
counted by the view), tokens lost or reordered (target 0: the final text must
equal the joined deltas), the longest time text waited to be drawn, and the
bytes sent to the browser compared with the peer in the same run: a naive
view that sets ``value`` once per token, as a first attempt would.

Run: ``.venv/bin/python benchmarks/bench_widgets.py`` (``--quick``: 1 s).
Not part of pytest; its figures are quoted in issue 6's closing note.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import time
from collections.abc import AsyncIterator, Iterator

import ipywidgets as widgets

from streamlab.widgets import StreamView

RATE = 2000
SECONDS = 1.0 if "--quick" in sys.argv else 5.0
N = int(RATE * SECONDS)
DELTAS = [f"t{i} " for i in range(N)]  # numbered: a lost or swapped token is visible


def bursts(items: list = DELTAS) -> Iterator[list]:
    """``items`` at RATE, in bursts of whatever is due since the first burst (a socket's reads).

    The callers sleep ~0.5 ms between bursts: :func:`paced` blocks the thread,
    :func:`apaced` awaits on the event loop.
    """
    start = time.perf_counter()
    i = 0
    while i < len(items):
        due = min(len(items), int((time.perf_counter() - start) * RATE) + 1)
        yield items[i:due]
        i = due


def paced() -> Iterator[str]:
    for burst in bursts():
        yield from burst
        time.sleep(0.0005)


async def apaced() -> AsyncIterator[str]:
    for burst in bursts():
        for delta in burst:
            yield delta
        await asyncio.sleep(0.0005)


def mixed_events() -> list[object]:
    """The same N deltas as events: reasoning, two tool calls' argument fragments, then text."""
    from streamlab.events import (
        ReasoningDelta,
        TextDelta,
        ToolCallDelta,
        ToolCallDone,
        ToolCallStart,
    )

    third = N // 3
    out: list[object] = [ReasoningDelta(d) for d in DELTAS[:third]]
    for index in (0, 1):
        call = f"call_{index}"
        out.append(ToolCallStart(index, call, f"tool_{index}"))
        part = DELTAS[third + index * (third // 2) : third + (index + 1) * (third // 2)]
        out += [ToolCallDelta(index, call, d) for d in part]
        out.append(ToolCallDone(index, call, f"tool_{index}", "".join(part)))
    out += [TextDelta(d) for d in DELTAS[third + 2 * (third // 2) :]]
    return out


EVENTS = mixed_events()


def paced_events() -> Iterator[object]:
    """EVENTS at RATE, in bursts like :func:`paced`."""
    for burst in bursts(EVENTS):
        yield from burst
        time.sleep(0.0005)


def lost_tokens(text: str) -> int:
    """Deltas missing or out of place in ``text`` (0 when text == joined deltas)."""
    if text == "".join(DELTAS):
        return 0
    got = text.split()
    return sum(1 for i, tok in enumerate(DELTAS) if i >= len(got) or got[i] != tok.strip())


_NUMBERED = re.compile(r"t(\d+) ")


class Probe:
    """Observes what the body widget really sends: count, bytes, timing."""

    def __init__(self, view: StreamView) -> None:
        self.sets: list[float] = []
        self.bytes = 0
        self.max_pending = 0.0
        self._view = view
        view.streamed.body.observe(self._on, names="value")

    def _on(self, change: dict) -> None:
        now = time.perf_counter()
        self.sets.append(now)
        self.bytes += len(change["new"].encode())
        pane = self._view.streamed
        # Oldest delta that this draw made visible: how long it waited. The
        # deltas are numbered, so the last number drawn says how many are shown.
        drawn = _NUMBERED.findall(change["new"])
        shown = int(drawn[-1]) + 1 if drawn else 0
        if shown and pane.t0 is not None and self._seen < shown:
            oldest = pane.timeline[self._seen + 1][0] + pane.t0  # timeline[0] is (0, 0)
            self.max_pending = max(self.max_pending, now - oldest)
            self._seen = shown

    _seen = 0


def report(name: str, view: StreamView, probe: Probe, wall: float) -> dict[str, float]:
    lost = lost_tokens(view.text)
    rate = view.redraws / wall
    row = {
        "redraws_per_s": rate,
        "sets": len(probe.sets),
        "lost": lost,
        "bytes": probe.bytes,
    }
    print(
        f"{name:<9} {view.tokens:>6} tokens in {wall:5.2f} s ({view.tokens / wall:6.0f}/s)  "
        f"redraws {view.redraws:>4} = {rate:5.1f}/s  body values sent {len(probe.sets):>4}  "
        f"lost/reordered {lost}  longest wait to be drawn {probe.max_pending * 1000:5.1f} ms  "
        f"sent {probe.bytes / 1e6:6.2f} MB"
    )
    return row


def run_sync(markdown: bool = False) -> dict[str, float]:
    view = StreamView(markdown=markdown)
    probe = Probe(view)
    t = time.perf_counter()
    view.run(paced())
    return report("markdown" if markdown else "sync", view, probe, time.perf_counter() - t)


def run_events() -> dict[str, float]:
    """The sync run on mixed events: every part must arrive whole, still <= 30 redraws/s."""
    from streamlab.events import ReasoningDelta, TextDelta, ToolCallDelta

    view = StreamView()
    sets = {"reasoning": 0, "tools": 0}
    pane = view.streamed
    pane.reasoning_html.observe(
        lambda c: sets.__setitem__("reasoning", sets["reasoning"] + 1), "value"
    )
    pane.tools.observe(lambda c: sets.__setitem__("tools", sets["tools"] + 1), "value")
    t = time.perf_counter()
    view.run(paced_events())
    wall = time.perf_counter() - t
    want_reasoning = "".join(e.text for e in EVENTS if isinstance(e, ReasoningDelta))
    want_text = "".join(e.text for e in EVENTS if isinstance(e, TextDelta))
    want_args = [
        "".join(e.arguments_delta for e in EVENTS if isinstance(e, ToolCallDelta) and e.index == i)
        for i in (0, 1)
    ]
    got_args = [c.arguments for c in view.tool_calls]
    lost = (view.reasoning != want_reasoning) + (view.text != want_text) + (got_args != want_args)
    rate = view.redraws / wall
    print(
        f"{'events':<9} {len(EVENTS):>6} events in {wall:5.2f} s ({len(EVENTS) / wall:6.0f}/s)  "
        f"redraws {view.redraws:>4} = {rate:5.1f}/s  reasoning values sent {sets['reasoning']:>4}  "
        f"tool-line values sent {sets['tools']:>4}  parts lost or changed {lost} "
        f"(reasoning {len(view.reasoning)} chars, 2 calls, answer {len(view.text)} chars)"
    )
    return {
        "redraws_per_s": rate,
        "sets": sets["reasoning"] + sets["tools"],
        "lost": lost,
        "bytes": 0,
    }


async def run_async() -> dict[str, float]:
    view = StreamView()
    probe = Probe(view)
    t = time.perf_counter()
    await view.arun(apaced())
    return report("async", view, probe, time.perf_counter() - t)


async def run_task() -> dict[str, float]:
    view = StreamView()
    probe = Probe(view)
    t = time.perf_counter()
    task = view.start(apaced())
    ticks = 0
    while not task.done():  # the loop stays free for other work (the kernel's messages)
        await asyncio.sleep(0.01)
        ticks += 1
    await task
    row = report("task", view, probe, time.perf_counter() - t)
    print(f"{'':<9} the loop ran {ticks} other 10 ms steps meanwhile")
    return row


def naive_bytes() -> tuple[int, int]:
    """The peer: one ``value =`` per token on an HTML widget (no pacing needed)."""
    w = widgets.HTML()
    sent = 0
    text = ""
    for d in DELTAS:
        text += d
        w.value = f"<span style='white-space: pre-wrap'>{html.escape(text)}</span>"
        sent += len(w.value.encode())
    return len(DELTAS), sent


def main() -> int:
    print(f"StreamView, {N} tokens at {RATE} tokens/s ({SECONDS:.0f} s), max_fps=30\n")
    rows = [
        run_sync(),
        asyncio.run(run_async()),
        asyncio.run(run_task()),
        run_sync(markdown=True),
        run_events(),
    ]
    sets, naive = naive_bytes()
    coalesced = max(r["bytes"] for r in rows[:3])
    print(
        f"\npeer: a value per token sends {sets} values, {naive / 1e6:.1f} MB; the coalesced "
        f"view sends at most {coalesced / 1e6:.2f} MB: {naive / coalesced:.0f}x less"
    )
    worst_rate = max(r["redraws_per_s"] for r in rows)
    worst_lost = max(r["lost"] for r in rows)
    ok = worst_rate <= 31 and worst_lost == 0
    print(
        f"\ntargets: redraws <= 30/s (worst {worst_rate:.1f}), 0 tokens lost (worst {worst_lost}): "
        f"{'met' if ok else 'NOT MET'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
