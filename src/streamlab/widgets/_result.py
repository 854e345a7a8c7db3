"""What one pane received, and when: :class:`StreamResult` and the pane vocabulary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

#: Where a pane is in its run.
Status = Literal["idle", "waiting", "streaming", "done", "stopped", "error"]
#: How a pane receives the answer: delta by delta, or all at once at the end.
Mode = Literal["streamed", "buffered"]


@dataclass
class StreamResult:
    """What one pane received, when: the data behind the stats and the timeline.

    Times are seconds since the pane started (the request was sent, or the
    view began reading). ``ttft`` is when the first text became visible: for a
    buffered response that is when the whole answer arrived.
    """

    label: str
    mode: Mode
    text: str = ""
    tokens: int = 0
    ttft: float | None = None
    total: float | None = None
    status: Status = "idle"
    error: BaseException | None = None
    timeline: list[tuple[float, int]] = field(default_factory=list)

    @property
    def tokens_per_second(self) -> float | None:
        """Tokens over the whole time the person waited (``None`` before the end)."""
        if not self.total or not self.tokens:
            return None
        return self.tokens / self.total

    def __repr__(self) -> str:
        def s(x: float | None) -> str:
            return "-" if x is None else f"{x:.2f}s"

        extra = f", error={type(self.error).__name__}" if self.error else ""
        return (
            f"StreamResult({self.label!r}, {self.mode}, {self.status}, tokens={self.tokens}, "
            f"chars={len(self.text)}, ttft={s(self.ttft)}, total={s(self.total)}{extra})"
        )
