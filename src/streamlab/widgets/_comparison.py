"""compare(): the same prompt sent twice at once, streamed and buffered, shown side by side.

Both requests go to the current provider (or the one given) through its
async SDK client; the streamed response feeds the view's streamed pane delta
by delta, the buffered one fills the buffered pane when it completes. The
result is a :class:`Comparison`, awaitable in a notebook.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from streamlab.deltas import astream_events, response_events
from streamlab.events import StreamEnd
from streamlab.provider.request import Request, request, resolve_api
from streamlab.widgets._pane import Pane
from streamlab.widgets._result import StreamResult
from streamlab.widgets._view import StreamView


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


async def _acompare(comparison: Comparison, *, client: Any, req: Request) -> Comparison:
    view = comparison.view

    async def streamed(client: Any) -> None:
        pane = view.streamed
        stream = await req.astream(client)
        async with contextlib.aclosing(astream_events(stream)) as events:
            async for event in events:
                pane.push_event(event)
                if isinstance(event, StreamEnd):
                    event.raise_for_error()
        pane.finish()

    async def buffered(client: Any) -> None:
        end = response_events(await req.acreate(client))[-1]
        assert isinstance(end, StreamEnd)
        end.raise_for_error()
        view.buffered.set_text(end.text, end=end)

    async def guarded(pane: Pane, job: Callable[[Any], Awaitable[None]], client: Any) -> None:
        try:
            await job(client)
        except asyncio.CancelledError:
            if view.stop_requested:
                pane.mark_stopped()
                return
            pane.fail(asyncio.CancelledError("the comparison was cancelled"))
            raise
        except Exception as exc:  # shown in the pane, kept in the result
            pane.fail(exc)

    view.begin(time.perf_counter())
    try:
        async with client:
            tasks = [
                asyncio.ensure_future(guarded(view.streamed, streamed, client)),
                asyncio.ensure_future(guarded(view.buffered, buffered, client)),
            ]
            with view.track(*tasks):
                await asyncio.gather(*tasks)
    except Exception as exc:  # e.g. the client could not be made
        for pane in (view.streamed, view.buffered):
            if not pane.finished:
                pane.fail(exc)
    finally:
        view.end()
    return comparison


def compare(
    prompt: str,
    *,
    provider: Any = None,
    api: Literal["auto", "responses", "chat", "anthropic"] = "auto",
    model: str | None = None,
    label: str | None = None,
    markdown: bool = False,
    max_tokens: int | None = None,
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
    provider, else Responses. ``max_tokens`` caps the answer (``None``: the
    API's default; Anthropic needs one, 1024). ``extra_headers`` go to both
    requests (the local provider reads ``x-streamlab-ttft-ms``,
    ``x-streamlab-fault``, ...). The request is built by
    :func:`streamlab.request`, so the three APIs are called the same way.

    In a notebook this returns at once and runs in the background:
    ``await compare(...)`` waits. Without a running event loop it blocks
    until both requests are done. Returns a :class:`Comparison` for
    :func:`plot_timeline`.
    """
    if provider is None:
        from streamlab.provider import get_provider

        provider = get_provider()
    api = resolve_api(provider, api)  # type: ignore[assignment]
    req = request(
        prompt,
        provider=provider,
        api=api,
        model=model,
        max_tokens=max_tokens,
        headers=extra_headers,
        **request_kwargs,
    )
    kind = getattr(provider, "kind", None) or "local"
    view = view or StreamView(label=label or f"{kind} {api}", markdown=markdown)
    if label:
        view.label = label
    comparison = Comparison(view=view, prompt=prompt, api=api, model=req.model)
    # Made here, before the clock starts and before the view shows: the first
    # client imports its SDK (a second or two), which is not the request's
    # time, and a configuration error (no API key) is raised at once.
    client = req.async_client()
    # The SDKs import each API's resource module on first attribute access
    # (a fraction of a second, more on a busy machine): do it before the clock.
    req.endpoint(client)
    _warm_parser(api)
    if display:
        _display(view)
    job = _acompare(comparison, client=client, req=req)
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
