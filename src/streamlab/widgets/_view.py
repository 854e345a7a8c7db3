"""StreamView: the streamed and buffered panes side by side, a Stop button, a status line.

One source feeds both panes: the streamed pane shows each delta as it comes,
the buffered pane shows the whole text when the stream ends. Drive it with
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
from typing import Any

import ipywidgets as widgets

from streamlab.deltas import atext_deltas, text_deltas
from streamlab.widgets._pane import Pane
from streamlab.widgets._result import StreamResult
from streamlab.widgets._styles import MUTED


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
        self.status_line.value = f"<span style='{MUTED}'>{html.escape(msg)}</span>"

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
