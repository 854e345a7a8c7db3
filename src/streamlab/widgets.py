"""Streamed beside buffered: a live two-pane view, a Stop button, a timeline plot.

The picture the course is built around: the same answer shown the two ways a
person can receive it. The *streamed* pane fills as deltas arrive; the
*buffered* pane says it is waiting and then shows everything at once. Under
each pane: time to first text, total time, tokens and tokens per second.

Three ways to drive a :class:`StreamView` (``source`` is anything
:func:`streamlab.deltas.atext_deltas` accepts: an iterator of strings, an SDK
stream, or a function returning one, so that the request itself is timed)::

    view = StreamView()
    display(view)
    await view.arun(lambda: client.responses.create(..., stream=True))  # top-level await
    task = view.start(source)          # background task; the next cell runs at once
    view.run(source)                   # plain sync loop (the kernel is busy meanwhile)

:func:`compare` sends one prompt twice at once, streamed and not streamed, to
the current provider and shows both. :func:`plot_timeline` draws what the
person saw over time, for one or several runs.

Why redraws are coalesced: each ``widget.value = ...`` sends the *whole* value
to the browser. Redrawing per token at 2,000 tokens/s would send megabytes
per second of mostly the same text and flood the front end. The view keeps
every delta (none is lost or reordered: ``view.text`` is exactly the joined
deltas) but redraws at most ``max_fps`` times a second; a small timer thread
draws what is pending when the stream pauses.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as widgets

from streamlab.deltas import atext_deltas, text_deltas

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["StreamView", "StreamResult", "Pane", "Comparison", "compare", "plot_timeline"]

Status = Literal["idle", "waiting", "streaming", "done", "stopped", "error"]
Mode = Literal["streamed", "buffered"]

#: Colours kept readable in JupyterLab's light and dark themes.
_MUTED = "color: var(--jp-ui-font-color2, #666)"
_ERROR_BOX = (
    "margin-top: .4em; padding: .3em .5em; border-left: 4px solid #d32f2f;"
    " background: rgba(211, 47, 47, .08); white-space: normal"
)
_NOTE_BOX = (
    "margin-top: .4em; padding: .3em .5em; border-left: 4px solid #f9a825;"
    " background: rgba(249, 168, 37, .10); white-space: normal"
)


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
            parts.append(f"<span style='{_MUTED}'>not started</span>")
        elif self.status == "waiting" or (
            self.mode == "buffered" and not text and not self.finished
        ):
            what = "the first token" if self.mode == "streamed" else "the complete response"
            parts.append(
                f"<span class='streamlab-waiting' style='{_MUTED}'>waiting for {what}"
                f"&hellip; {self._elapsed(now):.1f} s</span>"
            )
        if text:
            parts.append(view._render_text(text))
            if self.status == "streaming":
                parts.append("<span class='streamlab-cursor' style='opacity:.6'>&#9612;</span>")
        if self.status == "stopped":
            msg = self.note or f"stopped after {self.tokens} tokens ({len(text)} characters)"
            parts.append(
                f"<div class='streamlab-note' style='{_NOTE_BOX}'>&#9632; {html.escape(msg)}</div>"
            )
        elif self.status == "error" and self.error is not None:
            err = self.error
            arrived = (
                f"{self.tokens} tokens ({len(text)} characters) had arrived"
                if self.mode == "streamed"
                else "a buffered request shows nothing when it fails"
            )
            parts.append(
                f"<div class='streamlab-error' style='{_ERROR_BOX}'>&#9888; <b>{html.escape(type(err).__name__)}</b>"
                f" after {self._elapsed(now):.2f} s: {html.escape(str(err))}<br>"
                f"<i>{arrived}; the error was also raised to your code.</i></div>"
            )
        inner = "".join(parts)
        # column-reverse keeps the newest line in view as the text grows (no JS needed).
        return (
            f"<div style='height: {view.height}; overflow-y: auto; display: flex;"
            " flex-direction: column-reverse; border: 1px solid var(--jp-border-color1, #ccc);"
            " border-radius: 4px; padding: .4em .6em; line-height: 1.45'>"
            f"<div class='streamlab-content'>{inner}</div></div>"
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
            f"<div style='font-size: 90%; {_MUTED}'>"
            f"<span class='streamlab-ttft'>{first}: <b>{ttft}</b></span> &middot; "
            f"total: <b>{elapsed:.2f} s</b> &middot; tokens: <b>{tokens}</b> &middot; "
            f"<b>{rate}</b> tokens/s &middot; <span class='streamlab-status'>{label}</span></div>"
        )


class StreamView:
    """Two panes side by side, "streamed" and "buffered", with live stats and a Stop button.

    Parameters:
        label: names this run in :func:`plot_timeline` and in results.
        markdown: render the text as Markdown (raw HTML in the answer is escaped).
        max_fps: at most this many redraws per second per pane (coalescing).
        height: CSS height of the panes.

    Inspect ``view.text``, ``view.tokens``, ``view.status``, ``view.redraws``,
    ``view.ttft``, ``view.total`` (the streamed pane) or ``view.streamed`` /
    ``view.buffered`` (:class:`Pane`). Display it with ``display(view)`` or as
    a cell's last expression.
    """

    def __init__(
        self,
        *,
        label: str = "run",
        markdown: bool = False,
        max_fps: float = 30.0,
        height: str = "12em",
    ) -> None:
        if max_fps <= 0:
            raise ValueError(f"max_fps must be > 0 (redraws per second), got {max_fps}")
        self.label = label
        self.markdown = markdown
        self.max_fps = float(max_fps)
        self.height = height
        self._lock = threading.RLock()
        self._ticker: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._md: Any = None
        self.streamed = Pane(self, "streamed", "streamed")
        self.buffered = Pane(self, "buffered", "buffered")
        self.stop_button = widgets.Button(
            description="Stop",
            icon="stop",
            button_style="danger",
            disabled=True,
            tooltip="Cancel the stream and close the request",
        )
        self.stop_button.add_class("streamlab-stop")
        self.stop_button.on_click(lambda _b: self.stop())
        self.status_line = widgets.HTML()
        self.status_line.add_class("streamlab-status-line")
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.streamed.box, self.buffered.box]),
                widgets.HBox([self.stop_button, self.status_line]),
            ]
        )
        self.widget.add_class("streamlab-view")

    # -- display ----------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        return f"<StreamView {self.label!r}: streamed {self.streamed.result!r}, buffered {self.buffered.result!r}>"

    def _render_text(self, text: str) -> str:
        if not self.markdown:
            return f"<span class='streamlab-text' style='white-space: pre-wrap'>{html.escape(text)}</span>"
        if self._md is None:
            from markdown_it import MarkdownIt

            # html=False: text from a model is data, never markup for the page.
            self._md = MarkdownIt("commonmark", {"html": False})
        return f"<div class='streamlab-text'>{self._md.render(text)}</div>"

    # -- shortcuts to the streamed pane ------------------------------------
    text = property(lambda self: self.streamed.text, doc="The streamed pane's text so far.")
    tokens = property(
        lambda self: self.streamed.tokens, doc="Deltas received by the streamed pane."
    )
    status = property(lambda self: self.streamed.status, doc="The streamed pane's status.")
    redraws = property(lambda self: self.streamed.redraws, doc="Redraws of the streamed pane.")
    ttft = property(lambda self: self.streamed.ttft, doc="Seconds to the first streamed text.")
    total = property(lambda self: self.streamed.total, doc="Seconds the stream took.")
    error = property(
        lambda self: self.streamed.error, doc="The error that ended the stream, if any."
    )

    @property
    def result(self) -> StreamResult:
        """The streamed pane's :class:`StreamResult`."""
        return self.streamed.result

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    # -- the timer thread ---------------------------------------------------
    def _ensure_ticker(self) -> None:
        with self._lock:
            if self._ticker is not None and self._ticker.is_alive():
                return
            self._ticker = threading.Thread(
                target=self._tick_loop, name="streamlab-StreamView-ticker", daemon=True
            )
            self._ticker.start()

    def _tick_loop(self) -> None:
        # Flushes text held back by coalescing when the stream pauses, and
        # keeps the "waiting... 1.3 s" clock moving. Ends when both panes do.
        period = 1.0 / self.max_fps
        while True:
            time.sleep(period / 2)
            now = time.perf_counter()
            panes = (self.streamed, self.buffered)
            for pane in panes:
                pane._tick(now)
            with self._lock:
                if all(p.status in ("idle", "done", "stopped", "error") for p in panes):
                    self._ticker = None
                    return

    # -- lifecycle ------------------------------------------------------------
    def reset(self) -> None:
        """Clear both panes for another run."""
        self._stop_requested.clear()
        self.streamed.reset()
        self.buffered.reset()
        self.status_line.value = ""

    def _begin(self, t0: float) -> None:
        if self.streamed.status != "idle" or self.buffered.status != "idle":
            self.reset()
        self._stop_requested.clear()
        self.streamed.begin(t0)
        self.buffered.begin(t0)
        self.stop_button.disabled = False
        self.status_line.value = ""

    def _end(self) -> None:
        self.stop_button.disabled = True
        s = self.streamed
        if s.status == "error":
            msg = f"error after {s.tokens} tokens: {type(s.error).__name__}: {s.error}"
        elif s.status == "stopped":
            msg = f"stopped after {s.tokens} tokens; the request was closed"
        else:
            msg = f"{s.status}: {s.tokens} tokens in {(s.total or 0):.2f} s"
        self.status_line.value = f"<span style='{_MUTED}'>{html.escape(msg)}</span>"

    def stop(self) -> None:
        """Cancel the stream and close its request. Safe from any thread.

        Async runs (:meth:`arun`, :meth:`start`, :func:`compare`) are
        cancelled at once, which closes the HTTP response. A sync :meth:`run`
        stops after the next delta (a blocked cell cannot receive the Stop
        button's click: use ``await`` or :meth:`start` for a working button).
        """
        self._stop_requested.set()
        for task in list(self._tasks):
            if not task.done():
                task.get_loop().call_soon_threadsafe(task.cancel)

    def _stopped_note_for_buffered(self) -> str:
        return (
            "stopped: a buffered request shows nothing until it completes, "
            "so nothing had arrived here"
        )

    # -- driving: one source, shown both ways -------------------------------
    def push(self, delta: str) -> None:
        """Feed one delta from your own loop (then call :meth:`finish` or :meth:`fail`)."""
        if self.streamed.status == "idle":
            self._begin(time.perf_counter())
        self.streamed.push(delta)

    def finish(self) -> StreamResult:
        """End a run fed with :meth:`push`: the buffered pane shows everything now."""
        if self._stop_requested.is_set():
            self.streamed.mark_stopped()
            self.buffered.mark_stopped(self._stopped_note_for_buffered())
        else:
            self.streamed.finish()
            self.buffered.set_text(self.streamed.text, tokens=self.streamed.tokens)
        self._end()
        return self.result

    def fail(self, error: BaseException) -> StreamResult:
        """End a run with an error: both panes show it; the text that arrived stays."""
        self.streamed.fail(error)
        self.buffered.fail(error)
        self._end()
        return self.result

    def run(self, source: Any, *, raise_errors: bool = True) -> StreamResult:
        """Consume ``source`` in a plain sync loop, updating the view as it goes.

        ``source``: an iterable of str, a sync SDK stream, or a function
        returning one (then the request is inside the timings). On error the
        view shows it and the error is raised (``raise_errors=False``: returned
        in ``result.error``).
        """
        self._begin(time.perf_counter())
        try:
            stream = source() if callable(source) else source
            if inspect.isawaitable(stream) or hasattr(stream, "__aiter__"):
                raise TypeError(
                    "run() got an async source; use `await view.arun(source)` or view.start(source)"
                )
            with contextlib.closing(text_deltas(stream)) as deltas:
                for delta in deltas:
                    self.streamed.push(delta)
                    if self._stop_requested.is_set():
                        break  # closing() closes the SDK stream, so the server sees us leave
        except Exception as exc:
            self.fail(exc)
            if raise_errors:
                raise
            return self.result
        return self.finish()

    async def arun(self, source: Any, *, raise_errors: bool = True) -> StreamResult:
        """Consume ``source`` asynchronously: ``await view.arun(source)`` in a notebook.

        ``source``: an async or sync iterable of deltas/SDK items, or a
        function returning one or a coroutine of one (e.g. ``lambda:
        client.responses.create(..., stream=True)`` with an async client).
        The kernel stays free while it runs, so the Stop button works.
        """
        t0 = time.perf_counter()
        self._begin(t0)
        task = asyncio.ensure_future(self._aconsume(source))
        self._tasks.append(task)
        try:
            await task
        except asyncio.CancelledError:
            if not self._stop_requested.is_set():
                self.fail(asyncio.CancelledError("the run was cancelled"))
                raise
        except Exception as exc:
            self.fail(exc)
            if raise_errors:
                raise
            return self.result
        finally:
            self._tasks.remove(task)
        return self.finish()

    async def _aconsume(self, source: Any) -> None:
        stream = source() if callable(source) else source
        if inspect.isawaitable(stream):
            stream = await stream
        async with contextlib.aclosing(atext_deltas(stream)) as deltas:
            async for delta in deltas:
                self.streamed.push(delta)

    def start(self, source: Any, *, raise_errors: bool = True) -> asyncio.Task[StreamResult]:
        """Run :meth:`arun` as a background task on the running loop (the kernel's).

        Returns the task: ``await task`` gives the result or raises the error.
        The error is shown in the view either way.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "view.start() needs a running event loop (a notebook kernel has one). "
                "In a script use view.run(source) or asyncio.run(view.arun(source))."
            ) from None
        task = loop.create_task(self.arun(source, raise_errors=raise_errors))
        # Mark the exception as retrieved: it is displayed in the view, and a
        # caller that never awaits the task should not get a log warning.
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
        return task


# -- compare: the same prompt, streamed and buffered, at once ------------------


@dataclass
class Comparison:
    """What :func:`compare` ran: both results and the view that showed them.

    In a notebook (a running event loop) ``compare`` returns at once and the
    requests run in the background: ``await comparison`` waits for both (and
    returns the comparison). ``streamed`` and ``buffered`` are
    :class:`StreamResult` snapshots; errors are in their ``.error``.
    """

    view: StreamView
    prompt: str
    api: str
    model: str
    task: asyncio.Future[Any] | None = None

    @property
    def label(self) -> str:
        return self.view.label

    @property
    def streamed(self) -> StreamResult:
        return self.view.streamed.result

    @property
    def buffered(self) -> StreamResult:
        return self.view.buffered.result

    @property
    def done(self) -> bool:
        return self.view.streamed.finished and self.view.buffered.finished

    def raise_for_error(self) -> None:
        """Raise the first error either request hit (streamed first)."""
        for r in (self.streamed, self.buffered):
            if r.error is not None:
                raise r.error

    def stop(self) -> None:
        self.view.stop()

    def __await__(self) -> Any:
        if self.task is not None:
            yield from asyncio.ensure_future(self.task).__await__()
        return self

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/plain": self.summary()}

    def summary(self) -> str:
        """One line per pane: time to first text and total time."""
        if not self.done:
            return f"<Comparison {self.label!r}: running (await it to wait)>"

        def line(r: StreamResult) -> str:
            if r.status == "error":
                return f"{r.mode:>8}: error {type(r.error).__name__}: {r.error}"
            if r.status == "stopped":
                return f"{r.mode:>8}: stopped after {r.total:.2f} s, {len(r.text)} characters"
            return f"{r.mode:>8}: first text after {r.ttft:.2f} s, complete after {r.total:.2f} s ({len(r.text)} characters)"

        return "\n".join(
            [
                f"Comparison {self.label!r} ({self.api}, {self.model})",
                line(self.streamed),
                line(self.buffered),
            ]
        )

    __repr__ = summary


def _provider_kind(provider: Any) -> str:
    for attr in ("name", "kind"):
        value = getattr(provider, attr, None)
        if isinstance(value, str) and value:
            return value
    return "local"


async def _acompare(
    comparison: Comparison,
    *,
    client: Any,
    max_tokens: int,
    extra_headers: dict[str, str] | None,
    request_kwargs: dict[str, Any],
) -> Comparison:
    view, api, model, prompt = comparison.view, comparison.api, comparison.model, comparison.prompt
    common: dict[str, Any] = {
        "model": model,
        "extra_headers": extra_headers or None,
        **request_kwargs,
    }

    async def streamed(client: Any) -> None:
        pane = view.streamed
        if api == "responses":
            stream = await client.responses.create(input=prompt, stream=True, **common)
        elif api == "chat":
            stream = await client.chat.completions.create(
                messages=[{"role": "user", "content": prompt}],
                stream=True,
                stream_options={"include_usage": True},
                **common,
            )
        else:
            stream = await client.messages.create(
                messages=[{"role": "user", "content": prompt}],
                max_tokens=max_tokens,
                stream=True,
                **common,
            )
        async with contextlib.aclosing(atext_deltas(stream)) as deltas:
            async for delta in deltas:
                pane.push(delta)
        pane.finish()

    async def buffered(client: Any) -> None:
        pane = view.buffered
        if api == "responses":
            resp = await client.responses.create(input=prompt, **common)
            text = resp.output_text
            usage = getattr(resp, "usage", None)
            tokens = getattr(usage, "output_tokens", None)
        elif api == "chat":
            resp = await client.chat.completions.create(
                messages=[{"role": "user", "content": prompt}], **common
            )
            text = resp.choices[0].message.content or ""
            tokens = getattr(getattr(resp, "usage", None), "completion_tokens", None)
        else:
            resp = await client.messages.create(
                messages=[{"role": "user", "content": prompt}], max_tokens=max_tokens, **common
            )
            text = "".join(b.text for b in resp.content if getattr(b, "type", "") == "text")
            tokens = getattr(getattr(resp, "usage", None), "output_tokens", None)
        pane.set_text(text, tokens=tokens)

    async def guarded(pane: Pane, job: Callable[[Any], Awaitable[None]], client: Any) -> None:
        try:
            await job(client)
        except asyncio.CancelledError:
            if view.stop_requested:
                note = None if pane.mode == "streamed" else view._stopped_note_for_buffered()
                pane.mark_stopped(note)
                return
            pane.fail(asyncio.CancelledError("the comparison was cancelled"))
            raise
        except Exception as exc:  # shown in the pane, kept in the result
            pane.fail(exc)

    view._begin(time.perf_counter())
    try:
        async with client:
            tasks = [
                asyncio.ensure_future(guarded(view.streamed, streamed, client)),
                asyncio.ensure_future(guarded(view.buffered, buffered, client)),
            ]
            view._tasks.extend(tasks)
            try:
                await asyncio.gather(*tasks)
            finally:
                for t in tasks:
                    view._tasks.remove(t)
    except Exception as exc:  # e.g. the client could not be made
        for pane in (view.streamed, view.buffered):
            if not pane.finished:
                pane.fail(exc)
    finally:
        view._end()
    return comparison


def compare(
    prompt: str,
    *,
    provider: Any = None,
    api: Literal["auto", "responses", "chat", "anthropic"] = "auto",
    model: str | None = None,
    label: str | None = None,
    markdown: bool = False,
    max_tokens: int = 1024,
    extra_headers: dict[str, str] | None = None,
    view: StreamView | None = None,
    display: bool = True,
    **request_kwargs: Any,
) -> Comparison:
    """Send ``prompt`` twice at once, streamed and not streamed, and show both.

    ``provider`` defaults to :func:`streamlab.get_provider` (the local
    simulated provider unless ``STREAMLAB_PROVIDER`` says otherwise); a
    :class:`streamlab.LocalServer` works too. ``api`` picks the SDK call:
    ``"responses"`` (OpenAI Responses), ``"chat"`` (Chat Completions) or
    ``"anthropic"`` (Messages); ``"auto"`` uses Anthropic for an Anthropic
    provider, else Responses. ``extra_headers`` go to both requests (the
    local provider reads ``x-streamlab-ttft-ms``, ``x-streamlab-fault``, ...).

    In a notebook this returns at once and runs in the background:
    ``await compare(...)`` waits. Without a running event loop it blocks
    until both requests are done. Returns a :class:`Comparison` for
    :func:`plot_timeline`.
    """
    if provider is None:
        from streamlab.provider import get_provider

        provider = get_provider()
    kind = _provider_kind(provider)
    if api == "auto":
        api = "anthropic" if kind == "anthropic" else "responses"
    if api not in ("responses", "chat", "anthropic"):
        raise ValueError(f"api must be 'auto', 'responses', 'chat' or 'anthropic', got {api!r}")
    # A LocalServer has no model attributes; its settings name the model it serves.
    served = getattr(getattr(provider, "settings", None), "model", None)
    if api == "anthropic":
        make_client = provider.async_anthropic
        model = model or getattr(provider, "anthropic_model", None) or served
    else:
        make_client = provider.async_openai
        model = model or getattr(provider, "model", None) or served
    if not model:
        raise ValueError(
            f"no model: pass model=... (the provider {provider!r} has no default for the {api} API)"
        )
    view = view or StreamView(label=label or f"{kind} {api}", markdown=markdown)
    if label:
        view.label = label
    comparison = Comparison(view=view, prompt=prompt, api=api, model=model)
    # Made here, before the clock starts and before the view shows: the first
    # client imports its SDK (a second or two), which is not the request's
    # time, and a configuration error (no API key) is raised at once.
    client = make_client()
    # The SDKs import each API's resource module on first attribute access
    # (a fraction of a second, more on a busy machine): do it before the clock.
    _ = (
        client.messages
        if api == "anthropic"
        else (client.responses if api == "responses" else client.chat.completions)
    )
    _warm_parser(api)
    if display:
        _display(view)
    job = _acompare(
        comparison,
        client=client,
        max_tokens=max_tokens,
        extra_headers=extra_headers,
        request_kwargs=request_kwargs,
    )
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(job)
    task = loop.create_task(job)
    comparison.task = task
    return comparison


def _warm_parser(api: str) -> None:
    """Build the SDK's parser for this API's stream events before the clock starts.

    The first event of the first stream in a process makes the SDK build a
    pydantic validator for the whole event union: 0.4 s here, seconds on a
    loaded machine, all of it counted as time to first token. The SDKs cache
    it per type, so parsing one dummy event builds it. Uses the SDKs' private
    ``construct_type``; a failure only means no warm-up.
    """
    try:
        if api == "responses":
            from openai._models import construct_type
            from openai.types.responses import ResponseStreamEvent

            construct_type(type_=ResponseStreamEvent, value={"type": "response.output_text.delta"})
        elif api == "anthropic":
            from anthropic._models import construct_type as a_construct_type
            from anthropic.types import RawMessageStreamEvent

            a_construct_type(type_=RawMessageStreamEvent, value={"type": "ping"})
    except Exception:  # pragma: no cover - SDK internals moved: no warm-up, same results
        pass


def _display(obj: Any) -> None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    if get_ipython() is None:
        return  # plain Python: nothing to show the widget in
    from IPython.display import display

    display(obj)


# -- the timeline ---------------------------------------------------------------


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
