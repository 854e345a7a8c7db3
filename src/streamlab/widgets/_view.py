"""StreamView: the streamed and buffered panes side by side, a Stop button, a status line.

One source feeds both panes: the streamed pane shows each event as it comes
(reasoning, tool calls' progress, the answer's text), the buffered pane
shows everything when the stream ends. Drive it with
:meth:`StreamView.run` (sync loop), :meth:`StreamView.arun` (``await``) or
:meth:`StreamView.start` (background task), or by hand with
:meth:`StreamView.push` and :meth:`StreamView.finish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import threading
import time
from collections.abc import Iterator
from typing import Any

import ipywidgets as widgets

from streamlab.deltas import astream_events, stream_events
from streamlab.events import StreamEnd, StreamEvent, ToolCallDone
from streamlab.widgets._pane import Pane
from streamlab.widgets._render import ViewSettings
from streamlab.widgets._result import StreamResult
from streamlab.widgets._styles import MUTED


class StreamView:
    """Two panes side by side, "streamed" and "buffered", with live stats and a Stop button.

    Parameters:
        label: names this run in :func:`plot_timeline` and in results.
        markdown: render the text as Markdown (raw HTML in the answer is escaped).
        max_fps: at most this many redraws per second per pane (coalescing).
        height: CSS height of the panes.

    Inspect ``view.text``, ``view.deltas``, ``view.reasoning``,
    ``view.tool_calls``, ``view.outcome``, ``view.status``, ``view.redraws``,
    ``view.ttft``, ``view.total`` (the streamed pane) or ``view.streamed`` /
    ``view.buffered`` (:class:`Pane`). Display it with ``display(view)`` or as
    a cell's last expression.

    Code that drives the panes itself (:func:`compare`) uses :meth:`begin`,
    :meth:`end`, :meth:`track` and the panes' public methods.
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
        self.settings = ViewSettings(
            label=label, markdown=markdown, max_fps=float(max_fps), height=height
        )
        self._lock = threading.RLock()
        self._ticker: threading.Thread | None = None
        self._stop_requested = threading.Event()
        self._tasks: list[asyncio.Future[Any]] = []
        panes = {"settings": self.settings, "lock": self._lock, "on_begin": self._ensure_ticker}
        self.streamed = Pane("streamed", "streamed", **panes)  # type: ignore[arg-type]
        self.buffered = Pane("buffered", "buffered", **panes)  # type: ignore[arg-type]
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

    # -- settings, read by the panes at every draw ----------------------------
    label = property(
        lambda self: self.settings.label,
        lambda self, v: setattr(self.settings, "label", v),
        doc="Names this run in plot_timeline() and in results.",
    )
    markdown = property(lambda self: self.settings.markdown, doc="Render the text as Markdown.")
    max_fps = property(lambda self: self.settings.max_fps, doc="Redraws per second, at most.")
    height = property(lambda self: self.settings.height, doc="CSS height of the panes.")

    # -- shortcuts to the streamed pane ------------------------------------
    text = property(lambda self: self.streamed.text, doc="The streamed pane's text so far.")
    deltas = property(
        lambda self: self.streamed.deltas, doc="Text deltas received by the streamed pane."
    )
    tokens = property(
        lambda self: self.streamed.tokens,
        doc="Output tokens from usage if the provider reported them, else the deltas.",
    )
    reasoning = property(lambda self: self.streamed.reasoning, doc="The reasoning so far.")
    tool_calls = property(lambda self: self.streamed.tool_calls, doc="Tool calls so far.")
    outcome = property(lambda self: self.streamed.outcome, doc="How the stream ended, if it said.")
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
                pane.tick(now)
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

    def begin(self, t0: float | None = None) -> None:
        """Start both panes' clocks for a run (``t0`` from :func:`time.perf_counter`)."""
        t0 = time.perf_counter() if t0 is None else t0
        if self.streamed.status != "idle" or self.buffered.status != "idle":
            self.reset()
        self._stop_requested.clear()
        self.streamed.begin(t0)
        self.buffered.begin(t0)
        self.stop_button.disabled = False
        self.status_line.value = ""

    def end(self) -> None:
        """After a run: the Stop button goes grey and the status line says how it went."""
        self.stop_button.disabled = True
        s = self.streamed
        if s.status == "error":
            msg = f"error after {s.deltas} deltas: {type(s.error).__name__}: {s.error}"
        elif s.status == "stopped":
            msg = f"stopped after {s.deltas} deltas; the request was closed"
        else:
            msg = f"{s.status}: {s.deltas} deltas in {(s.total or 0):.2f} s"
            if s.outcome not in (None, "stop"):
                msg += f" (ended: {s.outcome})"
        self.status_line.value = f"<span style='{MUTED}'>{html.escape(msg)}</span>"

    @contextlib.contextmanager
    def track(self, *tasks: asyncio.Future[Any]) -> Iterator[None]:
        """While inside, :meth:`stop` (and the Stop button) cancels ``tasks``."""
        self._tasks.extend(tasks)
        try:
            yield
        finally:
            for task in tasks:
                self._tasks.remove(task)

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

    # -- driving: one source, shown both ways -------------------------------
    def push(self, delta: str | StreamEvent) -> None:
        """Feed one text delta or :mod:`streamlab.events` event from your own loop.

        Then call :meth:`finish` or :meth:`fail`.
        """
        if self.streamed.status == "idle":
            self.begin(time.perf_counter())
        if isinstance(delta, str):
            self.streamed.push(delta)
        else:
            self.streamed.push_event(delta)

    def finish(self) -> StreamResult:
        """End a run fed with :meth:`push`: the buffered pane shows everything now."""
        if self._stop_requested.is_set():
            self.streamed.mark_stopped()
            self.buffered.mark_stopped()
        else:
            s = self.streamed
            s.finish()
            done = tuple(c for c in s.tool_calls if c.done)
            calls = [ToolCallDone(c.index, c.id, c.name, c.arguments) for c in done]
            self.buffered.set_text(s.text, reasoning=s.reasoning, tool_calls=calls, end=s.end)
        self.end()
        return self.result

    def fail(self, error: BaseException) -> StreamResult:
        """End a run with an error: both panes show it; the text that arrived stays."""
        self.streamed.fail(error)
        self.buffered.fail(error)
        self.end()
        return self.result

    def run(self, source: Any, *, raise_errors: bool = True) -> StreamResult:
        """Consume ``source`` in a plain sync loop, updating the view as it goes.

        ``source``: an iterable of str, a sync SDK stream (its reasoning and
        tool calls are shown too), or a function
        returning one (then the request is inside the timings). On error the
        view shows it and the error is raised (``raise_errors=False``: returned
        in ``result.error``).
        """
        self.begin(time.perf_counter())
        try:
            stream = source() if callable(source) else source
            if inspect.isawaitable(stream) or hasattr(stream, "__aiter__"):
                raise TypeError(
                    "run() got an async source; use `await view.arun(source)` or view.start(source)"
                )
            with contextlib.closing(stream_events(stream)) as events:
                for event in events:
                    self._show(event)
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
        self.begin(t0)
        task = asyncio.ensure_future(self._aconsume(source))
        try:
            with self.track(task):
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
        return self.finish()

    async def _aconsume(self, source: Any) -> None:
        stream = source() if callable(source) else source
        if inspect.isawaitable(stream):
            stream = await stream
        async with contextlib.aclosing(astream_events(stream)) as events:
            async for event in events:
                self._show(event)

    def _show(self, event: StreamEvent) -> None:
        self.streamed.push_event(event)
        if isinstance(event, StreamEnd):
            event.raise_for_error()  # an error the provider sent inside the stream

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
