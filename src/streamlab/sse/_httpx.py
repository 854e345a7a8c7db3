"""The httpx adapters: :func:`iter_sse` and :func:`aiter_sse` feed a streamed response to a decoder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from streamlab.sse._decoder import SSEDecoder
from streamlab.sse._event import ServerSentEvent

if TYPE_CHECKING:  # pragma: no cover
    import httpx


def iter_sse(
    response: httpx.Response,
    *,
    decoder: SSEDecoder | None = None,
    max_line_bytes: int | None = None,
    max_event_bytes: int | None = None,
) -> Iterator[ServerSentEvent]:
    """Events from an ``httpx.Response`` opened with ``client.stream(...)``.

    A thin adapter over ``response.iter_bytes()``: it does not check the status
    or the content type, and a dropped connection raises httpx's own error
    (``httpx.TransportError``), since the caller made the request and owns
    the response (:class:`EventSource` checks, reconnects and raises typed
    errors). Pass ``decoder`` to read its ``last_event_id`` / ``retry``
    afterwards, or ``max_line_bytes`` / ``max_event_bytes`` to limit the
    decoder made here (:class:`SSELimitError`).
    """
    feed, close = _decoder(decoder, max_line_bytes, max_event_bytes)
    for chunk in response.iter_bytes():
        yield from feed(chunk)
    yield from close()


async def aiter_sse(
    response: httpx.Response,
    *,
    decoder: SSEDecoder | None = None,
    max_line_bytes: int | None = None,
    max_event_bytes: int | None = None,
) -> AsyncIterator[ServerSentEvent]:
    """Async :func:`iter_sse`: events from ``response.aiter_bytes()``."""
    feed, close = _decoder(decoder, max_line_bytes, max_event_bytes)
    async for chunk in response.aiter_bytes():
        for sse in feed(chunk):
            yield sse
    for sse in close():
        yield sse


def _decoder(decoder: SSEDecoder | None, max_line: int | None, max_event: int | None) -> tuple:
    """The ``feed`` and ``close`` of the decoder given, or of a new one with the limits."""
    if decoder is None:
        decoder = SSEDecoder(max_line_bytes=max_line, max_event_bytes=max_event)
    elif max_line is not None or max_event is not None:
        raise TypeError(
            "pass the limits to the SSEDecoder you give (SSEDecoder(max_line_bytes=...)), "
            "not to iter_sse/aiter_sse as well"
        )
    return decoder.feed, decoder.close
