"""What one pane received, and when: :class:`StreamResult` and the pane vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from streamlab.events import Usage

#: Where a pane is in its run.
Status = Literal["idle", "waiting", "streaming", "done", "stopped", "error"]
#: How a pane receives the answer: delta by delta, or all at once at the end.
Mode = Literal["streamed", "buffered"]


@dataclass(frozen=True)
class ToolCallProgress:
    """One tool call as a pane saw it: ``arguments`` so far, ``done`` once complete."""

    index: int
    id: str
    name: str
    arguments: str = ""
    done: bool = False


@dataclass
class StreamResult:
    """What one pane received, when: the data behind the stats and the timeline.

    Times are seconds since the pane started (the request was sent, or the
    view began reading). ``ttft`` is when the first answer text became
    visible (for a buffered response, when the whole answer arrived);
    ``reasoning_ttft`` when the first reasoning did. ``deltas`` counts the
    text deltas received; ``usage`` holds the token counts the provider
    reported, and ``outcome`` how the stream ended (``"stop"``, ``"length"``,
    ``"tool_calls"``, ``"refusal"``, ``"filtered"``, ``"failed"``; ``None``
    when the source did not say).
    """

    label: str
    mode: Mode
    text: str = ""
    deltas: int = 0
    ttft: float | None = None
    total: float | None = None
    status: Status = "idle"
    error: BaseException | None = None
    timeline: list[tuple[float, int]] = field(default_factory=list)
    reasoning: str = ""
    reasoning_ttft: float | None = None
    tool_calls: tuple[ToolCallProgress, ...] = ()
    usage: Usage | None = None
    outcome: str | None = None

    @property
    def tokens(self) -> int:
        """Output tokens from usage when the provider reported them, else the number of deltas."""
        if self.usage is not None and self.usage.output_tokens is not None:
            return self.usage.output_tokens
        return self.deltas

    @property
    def tokens_per_second(self) -> float | None:
        """:attr:`tokens` over the whole time the person waited (``None`` before the end)."""
        if not self.total or not self.tokens:
            return None
        return self.tokens / self.total

    def __repr__(self) -> str:
        def s(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}s"

        extra = f", error={type(self.error).__name__}" if self.error else ""
        if self.outcome not in (None, "stop"):
            extra += f", outcome={self.outcome}"
        if self.tool_calls:
            extra += f", tool_calls={len(self.tool_calls)}"
        return (
            f"StreamResult({self.label!r}, {self.mode}, {self.status}, deltas={self.deltas}, "
            f"chars={len(self.text)}, ttft={s(self.ttft)}, total={s(self.total)}{extra})"
        )
