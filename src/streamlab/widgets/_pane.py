"""One side of a :class:`~streamlab.widgets.StreamView`: its widgets, its state, coalesced redraws.

Why redraws are coalesced: each ``widget.value = ...`` sends the *whole* value
to the browser. Redrawing per token at 2,000 tokens/s would send megabytes
per second of mostly the same text and flood the front end. A pane keeps
every delta (none is lost or reordered: ``pane.text`` is exactly the joined
deltas) but redraws at most ``max_fps`` times a second, and less when
rendering gets slow; the first text is drawn at once. The view's timer
thread calls :meth:`Pane._tick` to draw what is pending when the stream
pauses.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING

import ipywidgets as widgets

from streamlab.widgets._result import Mode, Status, StreamResult
from streamlab.widgets._styles import ERROR_BOX, MUTED, NOTE_BOX

if TYPE_CHECKING:  # pragma: no cover
    from streamlab.widgets._view import StreamView


class Pane:
    """One side of a :class:`StreamView`: its widgets and its state.

    Feed it with :meth:`push` (streamed) or :meth:`set_text` (buffered),
    end it with :meth:`finish`, :meth:`fail` or :meth:`mark_stopped`.
    State for tests and notebooks: ``text``, ``tokens``, ``ttft``, ``total``,
    ``status``, ``error``, ``redraws``, ``timeline``.
    """

    def __init__(self, view: StreamView, mode: Mode, title: str) -> None:
        self._view = view
        self._lock = view._lock
        self.mode: Mode = mode
        self.header = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.body = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.stats = widgets.HTML()
        self.body.add_class(f"streamlab-{mode}")
        self.body.add_class("streamlab-pane")
        self.stats.add_class(f"streamlab-{mode}-stats")
        self.box = widgets.VBox(
            [self.header, self.body, self.stats],
            layout=widgets.Layout(width="50%", padding="0 .4em"),
        )
        self.reset()

    # -- state ------------------------------------------------------------
    def reset(self) -> None:
        """Back to idle, ready for another run (the widgets stay displayed)."""
        with self._lock:
            self._parts: list[str] = []
            self._joined = ""
            self._joined_upto = 0
            self.tokens = 0
            self.chars = 0
            self.t0: float | None = None
            self.ttft: float | None = None
            self.total: float | None = None
            self.status: Status = "idle"
            self.error: BaseException | None = None
            self.note: str | None = None
            self.timeline: list[tuple[float, int]] = []
            self.redraws = 0
            self._last_draw = float("-inf")
            self._dirty = False
            self._draw_cost = 0.0
            self._draw(time.perf_counter(), count=False)

    @property
    def text(self) -> str:
        """Every delta received so far, joined, in order."""
        with self._lock:
            self._join()
            return self._joined

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "error")

    @property
    def result(self) -> StreamResult:
        """A snapshot of this pane as a :class:`StreamResult`."""
        with self._lock:
            return StreamResult(
                label=self._view.label,
                mode=self.mode,
                text=self.text,
                tokens=self.tokens,
                ttft=self.ttft,
                total=self.total,
                status=self.status,
                error=self.error,
                timeline=list(self.timeline),
            )

    # -- feeding ----------------------------------------------------------
    def begin(self, t0: float | None = None) -> None:
        """Start the clock (``t0`` from :func:`time.perf_counter`, default now)."""
        with self._lock:
            if self.status != "idle":
                self.reset()
            self.t0 = time.perf_counter() if t0 is None else t0
            self.status = "waiting"
            self.timeline.append((0.0, 0))
            self._draw(time.perf_counter())
        self._view._ensure_ticker()

    def push(self, delta: str) -> None:
        """Add one text delta. Cheap: the redraw happens at most ``max_fps`` times a second."""
        if not delta:
            return
        now = time.perf_counter()
        with self._lock:
            if self.status == "idle":
                self.begin(now)
            if self.finished:
                raise RuntimeError(
                    f"the {self.mode} pane is {self.status}; call view.reset() before feeding it again"
                )
            self._parts.append(delta)
            self.tokens += 1
            self.chars += len(delta)
            assert self.t0 is not None
            self.timeline.append((now - self.t0, self.chars))
            if self.ttft is None:
                self.ttft = now - self.t0
                self.status = "streaming"
                self._draw(now)  # the first text shows at once: that is the point of streaming
            elif self._due(now):
                self._draw(now)
            else:
                self._dirty = True  # the ticker (or the next push) draws it

    def set_text(self, text: str, *, tokens: int | None = None) -> None:
        """Show a whole answer at once (the buffered pane) and finish."""
        now = time.perf_counter()
        with self._lock:
            if self.status == "idle":
                self.begin(now)
            assert self.t0 is not None
            self._parts = [text] if text else []
            self._joined, self._joined_upto = "", 0
            self.chars = len(text)
            self.tokens = tokens if tokens is not None else 0
            self.ttft = now - self.t0
            self.timeline.append((self.ttft, self.chars))
        self.finish()

    def finish(self) -> None:
        """The stream ended normally: final redraw with the complete text."""
        self._end("done")

    def fail(self, error: BaseException) -> None:
        """The stream failed: keep what arrived, show what happened."""
        with self._lock:
            self.error = error
        self._end("error")

    def mark_stopped(self, note: str | None = None) -> None:
        """The reader stopped the stream (Stop button or :meth:`StreamView.stop`)."""
        with self._lock:
            self.note = note
        self._end("stopped")

    def _end(self, status: Status) -> None:
        now = time.perf_counter()
        with self._lock:
            if self.finished:
                return
            if self.t0 is None:
                self.t0 = now
            self.total = now - self.t0
            self.status = status
            self._draw(now)

    # -- drawing ----------------------------------------------------------
    def _join(self) -> None:
        if self._joined_upto < len(self._parts):
            self._joined += "".join(self._parts[self._joined_upto :])
            self._joined_upto = len(self._parts)

    def _due(self, now: float) -> bool:
        # Adaptive: never spend more than ~1/3 of the time rendering (long
        # Markdown answers get slower to render as they grow).
        interval = max(1.0 / self._view.max_fps, 3 * self._draw_cost)
        return now - self._last_draw >= interval

    def _tick(self, now: float) -> None:
        """Called by the view's timer thread: flush pending text, move the clock."""
        with self._lock:
            if self._dirty and self._due(now):
                self._draw(now)
            elif self.status == "waiting" and now - self._last_draw >= 0.1:
                self._draw(now)  # "waiting... 1.3 s" keeps counting

    def _draw(self, now: float, *, count: bool = True) -> None:
        # Caller holds the lock. Two widget messages: body and stats.
        start = time.perf_counter()
        self._join()
        self.body.value = self._render_body(now)
        self.stats.value = self._render_stats(now)
        self._dirty = False
        self._last_draw = now
        if count:
            self.redraws += 1
        self._draw_cost = time.perf_counter() - start

    def _elapsed(self, now: float) -> float:
        if self.total is not None:
            return self.total
        return 0.0 if self.t0 is None else now - self.t0

    def _render_body(self, now: float) -> str:
        view = self._view
        text = self._joined
        parts: list[str] = []
        if self.status == "idle":
            parts.append(f"<span style='{MUTED}'>not started</span>")
        elif self.status == "waiting" or (
            self.mode == "buffered" and not text and not self.finished
        ):
            what = "the first token" if self.mode == "streamed" else "the complete response"
            parts.append(
                f"<span class='streamlab-waiting' style='{MUTED}'>waiting for {what}"
                f"&hellip; {self._elapsed(now):.1f} s</span>"
            )
        if text:
            parts.append(view._render_text(text))
            if self.status == "streaming":
                parts.append("<span class='streamlab-cursor' style='opacity:.6'>&#9612;</span>")
        if self.status == "stopped":
            msg = self.note or f"stopped after {self.tokens} tokens ({len(text)} characters)"
            parts.append(
                f"<div class='streamlab-note' style='{NOTE_BOX}'>&#9632; {html.escape(msg)}</div>"
            )
        elif self.status == "error" and self.error is not None:
            err = self.error
            arrived = (
                f"{self.tokens} tokens ({len(text)} characters) had arrived"
                if self.mode == "streamed"
                else "a buffered request shows nothing when it fails"
            )
            parts.append(
                f"<div class='streamlab-error' style='{ERROR_BOX}'>&#9888; <b>{html.escape(type(err).__name__)}</b>"
                f" after {self._elapsed(now):.2f} s: {html.escape(str(err))}<br>"
                f"<i>{arrived}; the error was also raised to your code.</i></div>"
            )
        inner = "".join(parts)
        # column-reverse keeps the newest line in view as the text grows (no JS
        # needed); margin-bottom: auto puts a text that does not fill the pane
        # at the top, where a reader starts, instead of the bottom.
        return (
            f"<div style='height: {view.height}; overflow-y: auto; display: flex;"
            " flex-direction: column-reverse; border: 1px solid var(--jp-border-color1, #ccc);"
            " border-radius: 4px; padding: .4em .6em; line-height: 1.45'>"
            f"<div class='streamlab-content' style='margin-bottom: auto'>{inner}</div></div>"
        )

    def _render_stats(self, now: float) -> str:
        elapsed = self._elapsed(now)
        ttft = "&hellip;" if self.ttft is None else f"{self.ttft:.2f} s"
        first = "first token" if self.mode == "streamed" else "first (and last) text"
        rate = f"{self.tokens / elapsed:.1f}" if self.tokens and elapsed > 0 else "-"
        tokens = str(self.tokens) if (self.tokens or self.mode == "streamed") else "-"
        label = {
            "idle": "idle",
            "waiting": "waiting",
            "streaming": "streaming",
            "done": "done",
            "stopped": "stopped",
            "error": "error",
        }[self.status]
        return (
            f"<div style='font-size: 90%; {MUTED}'>"
            f"<span class='streamlab-ttft'>{first}: <b>{ttft}</b></span> &middot; "
            f"total: <b>{elapsed:.2f} s</b> &middot; tokens: <b>{tokens}</b> &middot; "
            f"<b>{rate}</b> tokens/s &middot; <span class='streamlab-status'>{label}</span></div>"
        )
