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

from streamlab.deltas import atext_deltas
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
