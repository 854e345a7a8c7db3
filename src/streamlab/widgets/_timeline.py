"""plot_timeline(): characters on screen over time, streamed vs buffered, for one or several runs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from streamlab.widgets._comparison import Comparison
from streamlab.widgets._result import StreamResult
from streamlab.widgets._view import StreamView

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes


def _as_runs(runs: Any) -> list[tuple[str, list[StreamResult]]]:
    if isinstance(runs, (Comparison, StreamView, StreamResult)):
        runs = [runs]
    out: list[tuple[str, list[StreamResult]]] = []
    for run in runs:
        if isinstance(run, Comparison):
            out.append((run.label, [run.streamed, run.buffered]))
        elif isinstance(run, StreamView):
            out.append((run.label, [run.streamed.result, run.buffered.result]))
        elif isinstance(run, StreamResult):
            out.append((run.label, [run]))
        elif isinstance(run, tuple) and len(run) == 2 and isinstance(run[0], str):
            label, inner = run
            out.extend((label, rs) for _, rs in _as_runs(inner))
        else:
            raise TypeError(
                f"plot_timeline() cannot plot a {type(run).__name__}; pass Comparison (from "
                "compare()), StreamView, StreamResult, a (label, run) pair, or a list of them"
            )
    return out


def plot_timeline(
    runs: Comparison | StreamView | StreamResult | Sequence[Any],
    ax: Axes | None = None,
    *,
    title: str | None = "What the reader sees over time",
) -> Axes:
    """Cumulative characters on screen over time, streamed (solid) vs buffered (dashed).

    Each run gets one colour; a dot marks the time to first text (TTFT).
    Overlay several runs (settings, providers) by passing a list; relabel a
    run with a ``(label, run)`` pair. Returns the matplotlib ``Axes``
    (``ax.figure`` is the figure).
    """
    import matplotlib.pyplot as plt

    items = _as_runs(runs)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.6))
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    longest = 0.0
    for i, (label, results) in enumerate(items):
        color = colors[i % len(colors)]
        for r in results:
            if not r.timeline:
                continue
            ts = [t for t, _ in r.timeline]
            cs = [c for _, c in r.timeline]
            end = r.total if r.total is not None else ts[-1]
            if ts[-1] < end:  # the screen stays as it is until the end
                ts.append(end)
                cs.append(cs[-1])
            style = "-" if r.mode == "streamed" else "--"
            suffix = "" if r.status == "done" else f" ({r.status})"
            ax.step(
                ts,
                cs,
                where="post",
                linestyle=style,
                color=color,
                label=f"{label}: {r.mode}{suffix}",
            )
            if r.ttft is not None:
                first = next((c for t, c in r.timeline if t >= r.ttft and c > 0), cs[-1])
                ax.plot([r.ttft], [first], "o", color=color, markersize=6)
                # Streamed: left of the dot, over the flat start of the line;
                # buffered: right of the jump, where nothing else is drawn.
                streamed = r.mode == "streamed"
                ax.annotate(
                    f"TTFT {r.ttft:.2f} s",
                    (r.ttft, first),
                    textcoords="offset points",
                    xytext=(-6, 6) if streamed else (6, -12),
                    ha="right" if streamed else "left",
                    fontsize=8,
                    color=color,
                )
            longest = max(longest, end)
    ax.set_xlabel("seconds since the request was sent")
    ax.set_ylabel("characters on screen")
    if title:
        ax.set_title(title)
    # Room on the right for the buffered TTFT label.
    ax.set_xlim(0, longest * 1.18 if longest > 0 else None)
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    if items:
        ax.legend(fontsize=8, loc="upper left")
    return ax
