"""One provider-neutral layer over every SDK stream: typed events, or just the text.

Application code that shows a stream to a person cares about a few things:
the answer's text, the reasoning before it, the tool calls, and how the
stream ended. Each API wraps them differently (see :mod:`streamlab._neutral`
for where each field is). This module turns any of them into one vocabulary:

- :func:`stream_events` / :func:`astream_events`: the :mod:`streamlab.events`
  (:class:`~streamlab.events.TextDelta`, :class:`~streamlab.events.ReasoningDelta`,
  ``ToolCallStart`` / ``ToolCallDelta`` / ``ToolCallDone`` and a final
  :class:`~streamlab.events.StreamEnd` with the outcome and usage);
- :func:`text_deltas` / :func:`atext_deltas`: the text-only view of the same
  events, for code that only shows the answer.

===============================  ==================================================
what you iterate                 where the text is
===============================  ==================================================
plain strings                    the string itself
OpenAI Responses events          ``type == "response.output_text.delta"`` -> ``.delta``
OpenAI Chat Completions chunks   ``choices[0].delta.content`` (the final usage chunk
                                 has ``choices == []``)
Anthropic Messages events        ``type == "content_block_delta"`` with
                                 ``delta.type == "text_delta"`` -> ``delta.text``
===============================  ==================================================

All four accept SDK objects, the raw ``dict`` s decoded from the wire, and
the SDK helper streams (``responses.stream()``, ``chat.completions.stream()``,
``messages.stream()``: their convenience events repeat the raw ones and are
skipped, so nothing is counted twice).

Errors that the SDKs hand to the caller as events instead of raising (a
Responses ``error`` event, ``response.failed``, a raw Anthropic ``error``
event) end :func:`stream_events` with ``StreamEnd(outcome="failed")`` and make
:func:`text_deltas` raise :class:`StreamError`, so a failure is never
mistaken for a short answer.

Every function closes the stream it was given when it finishes, fails or is
closed early (``break``, ``Stop``, task cancellation): closing an SDK stream
closes its HTTP response, which is how the server learns the reader left.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

from streamlab._neutral import EventParser
from streamlab.events import StreamEnd, StreamEvent, TextDelta

__all__ = [
    "StreamError",
    "EventParser",
    "stream_events",
    "astream_events",
    "text_deltas",
    "atext_deltas",
    "delta_text",
]


class StreamError(RuntimeError):
    """The provider reported an error *inside* a stream that had started.

    The HTTP status was already 200 when this happened, so the SDK could not
    raise it as an HTTP error; it arrived as an event. Attributes:

    - ``provider``: ``"openai"`` or ``"anthropic"``
    - ``kind``: the error type or code the provider sent (e.g.
      ``"server_error"``, ``"overloaded_error"``), or ``None``
    - ``message``: the provider's message
    - ``event``: the event object or dict, for inspection
    """

    def __init__(
        self, message: str, *, provider: str, kind: str | None = None, event: Any = None
    ) -> None:
        self.provider = provider
        self.kind = kind
        self.message = message
        self.event = event
        where = f"{provider} stream" + (f" ({kind})" if kind else "")
        super().__init__(
            f"{where} failed after it had started: {message}. The text received before "
            "this point is all there is; retry the request or show what arrived."
        )


def _stream_error(end: StreamEnd) -> StreamError:
    return StreamError(
        end.error or "unknown error",
        provider="anthropic" if end.api == "anthropic" else "openai",
        kind=end.reason,
        event=end.raw,
    )


def delta_text(item: Any) -> str | None:
    """The text carried by one stream item, or ``None`` if it carries none.

    Raises :class:`StreamError` for error events and :class:`TypeError` for
    items that are not a string or a known SDK event/chunk shape.
    """
    text = ""
    for event in EventParser().feed(item):
        if isinstance(event, TextDelta):
            text += event.text
        elif isinstance(event, StreamEnd) and event.outcome == "failed":
            raise _stream_error(event)
    return text or None


def _check_sync(stream: Any, name: str) -> None:
    if isinstance(stream, str):
        raise TypeError(
            f"{name}() got a str, which would be read one character at a time. "
            "Pass an iterable of strings, e.g. [text] or text.split(' ')."
        )
    if not isinstance(stream, Iterable) and isinstance(stream, AsyncIterable):
        raise TypeError(f"{name}() got an async stream. Use `async for e in a{name}(stream)`.")


def stream_events(stream: Iterable[Any]) -> Iterator[StreamEvent]:
    """Yield the provider-neutral :mod:`streamlab.events` of ``stream``, ending with one StreamEnd.

    ``stream`` is an iterable of strings, OpenAI Responses events, Chat
    Completions chunks or Anthropic events (SDK objects or dicts)::

        stream = client.chat.completions.create(model=m, messages=msgs, tools=tools, stream=True)
        for event in stream_events(stream):
            match event:
                case TextDelta(text):
                    print(text, end="")
                case ToolCallDone(index, id, name, arguments):
                    ...  # only now are the arguments complete
                case StreamEnd(outcome=outcome):
                    ...  # "stop", "length", "tool_calls", "refusal", "filtered", "failed"

    The last event is always a :class:`~streamlab.events.StreamEnd`: a
    stream that stops without its API's final event ends with
    ``outcome="failed"``. Errors the SDK raises (HTTP errors, a dropped
    connection) are raised as they are. The stream is closed when the
    generator ends, fails or is closed early.
    """
    _check_sync(stream, "stream_events")
    parser = EventParser()
    try:
        for item in stream:
            yield from parser.feed(item)
            if parser.end is not None:
                return
        end = parser.close()
        if end is not None:
            yield end
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()


async def astream_events(stream: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterator[StreamEvent]:
    """Async version of :func:`stream_events`, for ``async for`` and async SDK clients.

    Also accepts a plain (sync) iterable, so one code path serves both. The
    stream is closed (``aclose()`` / ``await close()``) when the generator
    ends, fails, is closed early or its task is cancelled.
    """
    if isinstance(stream, str):
        _check_sync(stream, "stream_events")
    parser = EventParser()
    try:
        if isinstance(stream, AsyncIterable):
            async for item in stream:
                for event in parser.feed(item):
                    yield event
                if parser.end is not None:
                    return
        elif isinstance(stream, Iterable):
            for item in stream:
                for event in parser.feed(item):
                    yield event
                if parser.end is not None:
                    return
        else:
            raise TypeError(
                f"astream_events() needs an async or sync iterable, got {type(stream).__name__}. "
                "If you have a coroutine, await it first (the SDKs' `await client...create("
                "stream=True)` returns the stream)."
            )
        end = parser.close()
        if end is not None:
            yield end
    finally:
        closer = getattr(stream, "aclose", None) or getattr(stream, "close", None)
        if callable(closer):
            result = closer()
            if inspect.isawaitable(result):
                await result


def _text_of(event: StreamEvent) -> str | None:
    if isinstance(event, TextDelta):
        return event.text
    # Only an error the provider reported raises: a stream that merely stops
    # ends quietly here, as it does in the SDKs (stream_events says "failed").
    if isinstance(event, StreamEnd) and event.outcome == "failed" and event.raw is not None:
        raise _stream_error(event)
    return None


def text_deltas(stream: Iterable[Any]) -> Iterator[str]:
    """Yield the non-empty text deltas of ``stream``, in order: the text-only view of :func:`stream_events`.

    ``stream`` is an iterable of strings, OpenAI Responses events, Chat
    Completions chunks or Anthropic events (SDK objects or dicts)::

        stream = client.responses.create(model=m, input="Hi", stream=True)
        for text in text_deltas(stream):
            print(text, end="", flush=True)

    Raises :class:`StreamError` when the provider reports an error inside
    the stream. The stream is closed when the generator ends, fails or is
    closed early.
    """
    _check_sync(stream, "text_deltas")
    events = stream_events(stream)
    try:
        for event in events:
            text = _text_of(event)
            if text:
                yield text
    finally:
        events.close()


async def atext_deltas(stream: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterator[str]:
    """Async version of :func:`text_deltas` for ``async for`` and async SDK clients.

    Also accepts a plain (sync) iterable, so one code path serves both.
    The stream is closed (``aclose()`` / ``await close()``) when the generator
    ends, fails, is closed early or its task is cancelled.
    """
    if isinstance(stream, str):
        _check_sync(stream, "text_deltas")
    if not isinstance(stream, (AsyncIterable, Iterable)):
        raise TypeError(
            f"atext_deltas() needs an async or sync iterable, got {type(stream).__name__}. "
            "If you have a coroutine, await it first (the SDKs' `await client...create("
            "stream=True)` returns the stream)."
        )
    events = astream_events(stream)
    try:
        async for event in events:
            text = _text_of(event)
            if text:
                yield text
    finally:
        await events.aclose()
