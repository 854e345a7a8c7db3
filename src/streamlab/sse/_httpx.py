"""The httpx adapters: :func:`iter_sse` and :func:`aiter_sse` feed a streamed response to a decoder."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING

from streamlab.sse._decoder import SSEDecoder
from streamlab.sse._event import ServerSentEvent

if TYPE_CHECKING:  # pragma: no cover
    import httpx


def iter_sse(
    response: httpx.Response, *, decoder: SSEDecoder | None = None
) -> Iterator[ServerSentEvent]:
    """Events from an ``httpx.Response`` opened with ``client.stream(...)``.

    A thin adapter over ``response.iter_bytes()``: it does not check the status
    or the content type (:class:`EventSource` does). Pass ``decoder`` to read
    its ``last_event_id`` / ``retry`` afterwards.
    """
    dec = SSEDecoder() if decoder is None else decoder
    feed = dec.feed
    for chunk in response.iter_bytes():
        yield from feed(chunk)
    yield from dec.close()


async def aiter_sse(
    response: httpx.Response, *, decoder: SSEDecoder | None = None
) -> AsyncIterator[ServerSentEvent]:
    """Async :func:`iter_sse`: events from ``response.aiter_bytes()``."""
    dec = SSEDecoder() if decoder is None else decoder
    feed = dec.feed
    async for chunk in response.aiter_bytes():
        for sse in feed(chunk):
            yield sse
    for sse in dec.close():
        yield sse
