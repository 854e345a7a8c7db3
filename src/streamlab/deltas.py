"""One provider-neutral sequence of text deltas from any SDK stream.

Application code that shows a stream to a person only cares about the pieces
of text, in order. Each provider wraps them differently:

===============================  ==================================================
what you iterate                 where the text is
===============================  ==================================================
plain strings                    the string itself
OpenAI Responses events          ``type == "response.output_text.delta"`` -> ``.delta``
OpenAI Chat Completions chunks   ``choices[0].delta.content`` (the final usage chunk
                                 has ``choices == []``: skipped)
Anthropic Messages events        ``type == "content_block_delta"`` with
                                 ``delta.type == "text_delta"`` -> ``delta.text``
===============================  ==================================================

:func:`text_deltas` and :func:`atext_deltas` accept any of those, as SDK
objects or as the raw ``dict`` s decoded from the wire, and yield only the
text. Error events that the SDKs hand to the caller instead of raising
(a Responses ``error`` event, ``response.failed``, a raw Anthropic ``error``
event) raise :class:`StreamError`, so a failure is never mistaken for a short
answer.

Both functions close the stream they were given when they finish, fail or are
closed early (``break``, ``Stop``, task cancellation): closing an SDK stream
closes its HTTP response, which is how the server learns the reader left.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Any

__all__ = ["StreamError", "text_deltas", "atext_deltas", "delta_text"]

# Event types that carry no text and need no action. Listed so that an
# unknown *typed* event is still ignored (providers add new event types
# often), while this list documents what we have seen.
_KNOWN_QUIET_TYPES = frozenset(
    {
        # OpenAI Responses
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.output_item.done",
        "response.content_part.added",
        "response.content_part.done",
        "response.output_text.done",
        "response.completed",
        "response.incomplete",
        # Anthropic Messages
        "message_start",
        "message_delta",
        "message_stop",
        "content_block_start",
        "content_block_stop",
        "ping",
        # SDK helper streams repeat each text delta as a convenience event
        # (anthropic ``messages.stream()`` -> "text", openai
        # ``chat.completions.stream()`` -> "chunk" + "content.delta"). We take
        # the text from the raw event only, so it is never counted twice.
        "text",
        "chunk",
        "content.done",
    }
)


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


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access, so SDK objects and raw dicts share one code path."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def delta_text(item: Any) -> str | None:
    """The text carried by one stream item, or ``None`` if it carries none.

    Raises :class:`StreamError` for error events and :class:`TypeError` for
    items that are not a string or a known SDK event/chunk shape.
    """
    if isinstance(item, str):
        return item or None
    if isinstance(item, (bytes, bytearray)):
        raise TypeError(
            "text_deltas() got bytes. Decode the stream first: raw SSE bytes need "
            "streamlab.SSEDecoder (or an SDK) to become events; use .decode() for "
            "plain UTF-8 text."
        )

    kind = _get(item, "type")
    if kind is None and _get(item, "choices") is not None:
        kind = "chat.completion.chunk"  # Chat chunks carry ``object``, not ``type``

    if kind == "response.output_text.delta":  # OpenAI Responses
        return _get(item, "delta") or None
    if kind == "content_block_delta":  # Anthropic Messages
        delta = _get(item, "delta")
        if _get(delta, "type") == "text_delta":
            return _get(delta, "text") or None
        return None  # tool-use JSON, thinking, citations: not answer text
    if kind == "chat.completion.chunk":  # OpenAI Chat Completions
        choices = _get(item, "choices") or []
        if not choices:  # the usage chunk (stream_options.include_usage)
            return None
        return _get(_get(choices[0], "delta"), "content") or None
    if kind == "content.delta":  # openai chat.completions.stream() helper
        return _get(item, "delta") or None
    if kind == "error":
        # Responses: {"type": "error", "code", "message", "param"};
        # Anthropic: {"type": "error", "error": {"type", "message"}}.
        inner = _get(item, "error")
        if inner is not None:
            raise StreamError(
                str(_get(inner, "message", "unknown error")),
                provider="anthropic",
                kind=_get(inner, "type"),
                event=item,
            )
        raise StreamError(
            str(_get(item, "message", "unknown error")),
            provider="openai",
            kind=_get(item, "code"),
            event=item,
        )
    if kind == "response.failed":
        error = _get(_get(item, "response"), "error")
        raise StreamError(
            str(_get(error, "message", "the response failed without a message")),
            provider="openai",
            kind=_get(error, "code"),
            event=item,
        )
    if kind is not None:
        return None  # any other typed event (_KNOWN_QUIET_TYPES or newer ones)
    raise TypeError(
        f"text_deltas() cannot find text in an item of type {type(item).__name__}: {item!r:.80}. "
        "Expected str, an OpenAI Responses event, a Chat Completions chunk or an "
        "Anthropic Messages event (SDK object or dict). Did you pass the stream "
        "manager instead of the stream (use `with client.messages.stream(...) as s:` "
        "and pass `s`)?"
    )


def _check_sync(stream: Any) -> None:
    if isinstance(stream, str):
        raise TypeError(
            "text_deltas() got a str, which would be read one character at a time. "
            "Pass an iterable of strings, e.g. [text] or text.split(' ')."
        )
    if not isinstance(stream, Iterable) and isinstance(stream, AsyncIterable):
        raise TypeError(
            "text_deltas() got an async stream. Use `async for d in atext_deltas(stream)`."
        )


def text_deltas(stream: Iterable[Any]) -> Iterator[str]:
    """Yield the non-empty text deltas of ``stream``, in order.

    ``stream`` is an iterable of strings, OpenAI Responses events, Chat
    Completions chunks or Anthropic events (SDK objects or dicts)::

        stream = client.responses.create(model=m, input="Hi", stream=True)
        for text in text_deltas(stream):
            print(text, end="", flush=True)

    The stream is closed when the generator ends, fails or is closed early.
    """
    _check_sync(stream)
    try:
        for item in stream:
            text = delta_text(item)
            if text:
                yield text
    finally:
        close = getattr(stream, "close", None)
        if callable(close):
            close()


async def atext_deltas(stream: AsyncIterable[Any] | Iterable[Any]) -> AsyncIterator[str]:
    """Async version of :func:`text_deltas` for ``async for`` and async SDK clients.

    Also accepts a plain (sync) iterable, so one code path serves both.
    The stream is closed (``aclose()`` / ``await close()``) when the generator
    ends, fails, is closed early or its task is cancelled.
    """
    if isinstance(stream, str):
        _check_sync(stream)
    try:
        if isinstance(stream, AsyncIterable):
            async for item in stream:
                text = delta_text(item)
                if text:
                    yield text
        elif isinstance(stream, Iterable):
            for item in stream:
                text = delta_text(item)
                if text:
                    yield text
        else:
            raise TypeError(
                f"atext_deltas() needs an async or sync iterable, got {type(stream).__name__}. "
                "If you have a coroutine, await it first (the SDKs' `await client...create("
                "stream=True)` returns the stream)."
            )
    finally:
        closer = getattr(stream, "aclose", None) or getattr(stream, "close", None)
        if callable(closer):
            result = closer()
            if inspect.isawaitable(result):
                await result
