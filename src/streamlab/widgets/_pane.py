"""One side of a :class:`~streamlab.widgets.StreamView`: its widgets, its state, coalesced redraws.

Why redraws are coalesced: each ``widget.value = ...`` sends the *whole* value
to the browser. Redrawing per event at 2,000 events/s would send megabytes
per second of mostly the same text and flood the front end. A pane keeps
every event (none is lost or reordered: ``pane.text`` is exactly the joined
text deltas, ``pane.reasoning`` the reasoning deltas, each tool call's
arguments its fragments) but redraws at most ``max_fps`` times a second, and
less when rendering gets slow; the first text is drawn at once. The view's
timer thread calls :meth:`Pane.tick` to draw what is pending when the
stream pauses.

A pane shows, top to bottom: the reasoning (a muted area that can be folded
away; folded when the answer starts), one line per tool call whose
arguments grow as they stream, the answer's text, and a note when the
stream ended in any way but a complete answer.
"""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from streamlab.events import (
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)
from streamlab.widgets._render import (
    ViewSettings,
    reasoning_title,
    render_outcome,
    render_reasoning,
    render_tool_calls,
)
from streamlab.widgets._result import Mode, Status, StreamResult, ToolCallProgress
from streamlab.widgets._styles import ERROR_BOX, LINES, MUTED, NOTE_BOX

#: What a stopped buffered pane says: nothing had arrived.
BUFFERED_STOPPED_NOTE = (
    "stopped: a buffered request shows nothing until it completes, so nothing had arrived here"
)


class _Joined:
    """Parts appended cheaply, joined only when read (once per redraw, not per delta)."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self._joined = ""
        self._upto = 0

    def add(self, part: str) -> None:
        self.parts.append(part)

    def set(self, text: str) -> None:
        self.parts, self._joined, self._upto = ([text] if text else []), "", 0

    @property
    def text(self) -> str:
        if self._upto < len(self.parts):
            self._joined += "".join(self.parts[self._upto :])
            self._upto = len(self.parts)
        return self._joined

    @property
    def joined_upto(self) -> int:
        """How many parts the last read joined (what the last redraw could show)."""
        return self._upto


class _Call:
    def __init__(self, start: ToolCallStart) -> None:
        self.index, self.id, self.name = start.index, start.id, start.name
        self.arguments = _Joined()
        self.done = False

    def progress(self) -> ToolCallProgress:
        return ToolCallProgress(self.index, self.id, self.name, self.arguments.text, self.done)


class Pane:
    """One side of a :class:`StreamView`: its widgets and its state.

    Feed it with :meth:`push_event` (the :mod:`streamlab.events` of a
    stream) or :meth:`push` (text only), or with :meth:`set_text` (a whole
    buffered answer); end it with :meth:`finish`, :meth:`fail` or
    :meth:`mark_stopped`. State for tests and notebooks: ``text``,
    ``deltas``, ``reasoning``, ``tool_calls``, ``usage``, ``outcome``,
    ``ttft``, ``reasoning_ttft``, ``total``, ``status``, ``error``,
    ``redraws``, ``timeline``.
    """

    def __init__(
        self,
        mode: Mode,
        title: str,
        *,
        settings: ViewSettings | None = None,
        lock: threading.RLock | None = None,
        on_begin: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings or ViewSettings()
        self._lock = lock or threading.RLock()
        self._on_begin = on_begin
        self.mode: Mode = mode
        self.header = widgets.HTML(f"<b>{html.escape(title)}</b>")
        self.reasoning_html = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.reasoning_box = widgets.Accordion(
            [self.reasoning_html], layout=widgets.Layout(display="none", width="100%")
        )
        self.reasoning_box.add_class("streamlab-reasoning-box")
        self.tools = widgets.HTML(layout=widgets.Layout(display="none", width="100%"))
        self.tools.add_class("streamlab-tools")
        self.body = widgets.HTML(layout=widgets.Layout(width="100%"))
        self.stats = widgets.HTML()
        self.body.add_class(f"streamlab-{mode}")
        self.body.add_class("streamlab-pane")
        self.stats.add_class(f"streamlab-{mode}-stats")
        self.box = widgets.VBox(
            [self.header, self.reasoning_box, self.tools, self.body, self.stats],
            layout=widgets.Layout(width="50%", padding="0 .4em"),
        )
        self.box.add_class(f"streamlab-{mode}-box")
        self.reset()

    # -- state ------------------------------------------------------------
    def reset(self) -> None:
        """Back to idle, ready for another run (the widgets stay displayed)."""
        with self._lock:
            self._text = _Joined()
            self._reasoning = _Joined()
            self._calls: dict[int, _Call] = {}
            self.deltas = 0
            self.reasoning_deltas = 0
            self.chars = 0
            self.t0: float | None = None
            self.ttft: float | None = None
            self.reasoning_ttft: float | None = None
            self.total: float | None = None
            self.status: Status = "idle"
            self.error: BaseException | None = None
            self.note: str | None = None
            self.end: StreamEnd | None = None
            self.usage: Usage | None = None
            self.timeline: list[tuple[float, int]] = []
            self.redraws = 0
            self._last_draw = float("-inf")
            self._dirty = False
            self._draw_cost = 0.0
            self._folded = False
            self.reasoning_box.layout.display = "none"
            self.reasoning_box.selected_index = 0
            self.tools.layout.display = "none"
            self._draw(time.perf_counter(), count=False)

    @property
    def text(self) -> str:
        """Every text delta received so far, joined, in order."""
        with self._lock:
            return self._text.text

    @property
    def reasoning(self) -> str:
        """Every reasoning delta received so far, joined, in order."""
        with self._lock:
            return self._reasoning.text

    @property
    def tool_calls(self) -> tuple[ToolCallProgress, ...]:
        """The tool calls so far, in index order, with their arguments so far."""
        with self._lock:
            return tuple(self._calls[i].progress() for i in sorted(self._calls))

    @property
    def tokens(self) -> int:
        """Output tokens from usage when the provider reported them, else :attr:`deltas`."""
        return self.result.tokens

    @property
    def outcome(self) -> str | None:
        """How the stream ended (its :class:`~streamlab.events.StreamEnd`), ``None`` if not said."""
        return None if self.end is None else self.end.outcome

    @property
    def shown_deltas(self) -> int:
        """Text deltas the last redraw could show (for measuring how long text waits)."""
        return self._text.joined_upto

    @property
    def finished(self) -> bool:
        return self.status in ("done", "stopped", "error")

    @property
    def result(self) -> StreamResult:
        """A snapshot of this pane as a :class:`StreamResult`."""
        with self._lock:
            return StreamResult(
                label=self.settings.label,
                mode=self.mode,
                text=self.text,
                deltas=self.deltas,
                ttft=self.ttft,
                total=self.total,
                status=self.status,
                error=self.error,
                timeline=list(self.timeline),
                reasoning=self.reasoning,
                reasoning_ttft=self.reasoning_ttft,
                tool_calls=self.tool_calls,
                usage=self.usage,
                outcome=self.outcome,
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
        if self._on_begin is not None:
            self._on_begin()

    def _accept(self, now: float) -> None:
        # Caller holds the lock.
        if self.status == "idle":
            self.begin(now)
        if self.finished:
            raise RuntimeError(
                f"the {self.mode} pane is {self.status}; call view.reset() before feeding it again"
            )

    def push(self, delta: str) -> None:
        """Add one text delta. Cheap: the redraw happens at most ``max_fps`` times a second."""
        if delta:
            self.push_event(TextDelta(delta))

    def push_event(self, event: Any) -> None:
        """Add one :mod:`streamlab.events` event (text, reasoning, a tool call's progress, the end)."""
        now = time.perf_counter()
        with self._lock:
            self._accept(now)
            assert self.t0 is not None
            first = False
            if isinstance(event, TextDelta):
                if not event.text:
                    return
                self._text.add(event.text)
                self.deltas += 1
                self.chars += len(event.text)
                self.timeline.append((now - self.t0, self.chars))
                if self.ttft is None:
                    self.ttft = now - self.t0
                    self.status = "streaming"
                    first = True
                    if not self._folded and self.reasoning_deltas:
                        self._folded = True  # the answer starts: fold the reasoning away
                        self.reasoning_box.selected_index = None
            elif isinstance(event, ReasoningDelta):
                if not event.text:
                    return
                self._reasoning.add(event.text)
                self.reasoning_deltas += 1
                if self.reasoning_ttft is None:
                    self.reasoning_ttft = now - self.t0
                    self.reasoning_box.layout.display = None
                    first = True
            elif isinstance(event, ToolCallStart):
                self._calls[event.index] = _Call(event)
                self.tools.layout.display = None
                first = len(self._calls) == 1
            elif isinstance(event, ToolCallDelta):
                self._call(event.index).arguments.add(event.arguments_delta)
            elif isinstance(event, ToolCallDone):
                call = self._call(event.index)
                call.arguments.set(event.arguments)
                call.done = True
            elif isinstance(event, StreamEnd):
                self.end, self.usage = event, event.usage
            else:
                raise TypeError(
                    f"push_event() takes streamlab.events (TextDelta, ReasoningDelta, ToolCall*, "
                    f"StreamEnd), got {type(event).__name__}; use push() for a text delta."
                )
            if first and self.status == "waiting" and not isinstance(event, TextDelta):
                self.status = "streaming"
            if first:
                self._draw(
                    now
                )  # the first of each kind shows at once: that is the point of streaming
            elif self._due(now):
                self._draw(now)
            else:
                self._dirty = True  # the ticker (or the next event) draws it

    def _call(self, index: int) -> _Call:
        call = self._calls.get(index)
        if call is None:
            raise ValueError(
                f"tool call {index} got arguments before its ToolCallStart; feed the events in order"
            )
        return call

    def set_text(
        self,
        text: str,
        *,
        tokens: int | None = None,
        reasoning: str = "",
        tool_calls: Sequence[ToolCallDone] = (),
        end: StreamEnd | None = None,
    ) -> None:
        """Show a whole answer at once (the buffered pane) and finish.

        ``end`` (a buffered response's :class:`~streamlab.events.StreamEnd`)
        gives the usage and outcome, and the reasoning and tool calls unless
        they are given; ``tokens`` is the output token count when there is no ``end``.
        """
        now = time.perf_counter()
        with self._lock:
            self._accept(now)
            assert self.t0 is not None
            if end is not None:
                reasoning, tool_calls = reasoning or end.reasoning, tool_calls or end.tool_calls
                self.end, self.usage = end, end.usage
            elif tokens is not None:
                self.usage = Usage(output_tokens=tokens)
            self._text.set(text)
            self._reasoning.set(reasoning)
            self._calls = {}
            for call in tool_calls:
                progress = _Call(ToolCallStart(call.index, call.id, call.name))
                progress.arguments.set(call.arguments)
                progress.done = True
                self._calls[call.index] = progress
            self.reasoning_box.layout.display = None if reasoning else "none"
            self.reasoning_box.selected_index = None
            self.tools.layout.display = None if tool_calls else "none"
            self.chars = len(text)
            self.deltas = 1 if text else 0
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
        """The reader stopped the stream (Stop button or :meth:`StreamView.stop`).

        A buffered pane says by default that nothing had arrived.
        """
        with self._lock:
            self.note = note or (BUFFERED_STOPPED_NOTE if self.mode == "buffered" else None)
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
    def _due(self, now: float) -> bool:
        # Adaptive: never spend more than ~1/3 of the time rendering (long
        # Markdown answers get slower to render as they grow).
        interval = max(1.0 / self.settings.max_fps, 3 * self._draw_cost)
        return now - self._last_draw >= interval

    def tick(self, now: float) -> None:
        """Called by the view's timer thread: flush pending events, move the clock."""
        with self._lock:
            if self._dirty and self._due(now):
                self._draw(now)
            elif self.status == "waiting" and now - self._last_draw >= 0.1:
                self._draw(now)  # "waiting... 1.3 s" keeps counting

    def _draw(self, now: float, *, count: bool = True) -> None:
        # Caller holds the lock. One message per widget whose value changed
        # (ipywidgets sends nothing for an unchanged value).
        start = time.perf_counter()
        streaming = self.status in ("waiting", "streaming")
        if self.reasoning_deltas or self._reasoning.parts:
            text = self._reasoning.text
            # The answer's first text or a tool call ends the reasoning.
            thinking = streaming and self.ttft is None and not self._calls
            self.reasoning_html.value = render_reasoning(text, streaming=thinking)
            self.reasoning_box.titles = (reasoning_title(len(text), streaming=thinking),)
        if self._calls:
            self.tools.value = render_tool_calls(self.tool_calls)
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
        text = self._text.text
        parts: list[str] = []
        if self.status == "idle":
            parts.append(f"<span style='{MUTED}'>not started</span>")
        elif not text and not self.finished:
            parts.append(
                f"<span class='streamlab-waiting' style='{MUTED}'>{html.escape(self._waiting_for())}"
                f"&hellip; {self._elapsed(now):.1f} s</span>"
            )
        if text:
            parts.append(self.settings.render_text(text))
            if self.status == "streaming":
                parts.append("<span class='streamlab-cursor' style='opacity:.6'>&#9612;</span>")
        if self.end is not None and self.status == "done":
            end = self.end
            parts.append(
                render_outcome(end.outcome, reason=end.reason, refusal=end.refusal, error=end.error)
            )
        if self.status == "stopped":
            msg = self.note or f"stopped after {self.deltas} deltas ({len(text)} characters)"
            parts.append(
                f"<div class='streamlab-note' style='{NOTE_BOX}'>&#9632; {html.escape(msg)}</div>"
            )
        elif self.status == "error" and self.error is not None:
            err = self.error
            arrived = (
                f"{self.deltas} deltas ({len(text)} characters) had arrived"
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
            f"<div style='height: {self.settings.height}; overflow-y: auto; display: flex;"
            " flex-direction: column-reverse; border: 1px solid var(--jp-border-color1, #ccc);"
            " border-radius: 4px; padding: .4em .6em; line-height: 1.45'>"
            f"<div class='streamlab-content' style='margin-bottom: auto'>{inner}</div></div>"
        )

    def _waiting_for(self) -> str:
        """What the empty text area is waiting for, in the words the lesson uses."""
        if self.mode == "buffered":
            return "waiting for the complete response"
        if self._calls:
            # A tool call is what the model is doing now: say so, not "waiting".
            calls = [self._calls[i] for i in sorted(self._calls)]
            names = ", ".join(dict.fromkeys(c.name for c in calls))
            if all(c.done for c in calls):
                return f"called {names}; the answer comes after the tool results"
            return f"calling {names}"
        if self.reasoning_deltas:
            return "thinking; waiting for the answer's first token"
        return "waiting for the first token"

    def _render_stats(self, now: float) -> str:
        elapsed = self._elapsed(now)
        ttft = "&hellip;" if self.ttft is None else f"{self.ttft:.2f} s"
        first = "first token" if self.mode == "streamed" else "first (and last) text"
        items = [f"<span class='streamlab-ttft'>{first}: <b>{ttft}</b></span>"]
        if self.reasoning_ttft is not None and self.mode == "streamed":
            items.insert(
                0,
                f"<span class='streamlab-reasoning-ttft'>first reasoning: "
                f"<b>{self.reasoning_ttft:.2f} s</b></span>",
            )
        items.append(f"total: <b>{elapsed:.2f} s</b>")
        if self.mode == "streamed":
            rate = f"{self.deltas / elapsed:.1f}" if self.deltas and elapsed > 0 else "-"
            items.append(f"deltas: <b>{self.deltas}</b>")
            items.append(f"<b>{rate}</b> deltas/s")
        output = None if self.usage is None else self.usage.output_tokens
        if output is not None:
            items.append(f"tokens (usage): <b>{output}</b>")
        elif self.mode == "buffered":
            items.append("tokens: <b>-</b>")
        items.append(f"<span class='streamlab-status'>{self.status}</span>")
        return f"<div style='font-size: 90%; {LINES}; {MUTED}'>{' &middot; '.join(items)}</div>"
