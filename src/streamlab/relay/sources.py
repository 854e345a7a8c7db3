"""What the relay relays: ``source(prompt)`` -> an async iterator of deltas.

- :class:`ProviderSource` (:func:`provider_source`): the course's provider,
  local or real, through the real SDKs.
- :func:`scripted_source`: fixed deltas with fixed delays, for demos whose
  timings must mean the same on every machine.
- :class:`HeldSource`: sends a few deltas, then holds the stream open until
  released. A client that sees the first event while the source still holds
  got it streamed, whatever the machine's load: a causal test of "streamed,
  not buffered", with no clock involved.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamlab.events import StreamEvent

__all__ = ["DeltaSource", "ProviderSource", "provider_source", "scripted_source", "HeldSource"]

#: ``source(prompt)`` -> the text deltas of one generation.
DeltaSource = Callable[[str], AsyncIterator[Any]]


class ProviderSource:
    """Text deltas from the course's provider (local by default, or the real one).

    ``provider``: a :class:`streamlab.Provider` (default ``streamlab.get_provider()``)
    or a :class:`streamlab.LocalServer`; ``create_args`` go to the create call.
    Calling it with a prompt gives an async iterator of text deltas (str);
    with ``events=True``, of provider-neutral :mod:`streamlab.events` (text,
    reasoning and tool-call deltas, then one
    :class:`~streamlab.events.StreamEnd`): pass ``tools=...`` or
    ``reasoning=...`` (Responses) / ``thinking=...`` (Anthropic) in
    ``create_args`` to get more than text.

    Uses the OpenAI Responses API for OpenAI-compatible providers and the
    Messages API for Anthropic. The upstream request is closed when the relay
    stops reading (client gone, stop pressed), so no tokens are spent for
    nobody. One SDK client serves every request, made here, in the caller's
    thread: making one (TLS set-up) or importing the SDK inside the server's
    event loop would stall every stream it serves. ``await aclose()`` closes
    it; the relay does that when its server stops.
    """

    def __init__(self, provider: Any = None, *, events: bool = False, **create_args: Any) -> None:
        import streamlab

        self.events = events
        self.provider = provider if provider is not None else streamlab.get_provider()
        self.create_args = create_args
        # streamlab.request() picks the API and model for the provider and
        # builds each call; ``create_args`` are the SDK's own, sent as they are.
        probe = self._request("")
        self.api, self.model = probe.api, probe.model
        self.client = probe.async_client()
        # The SDKs import an API's modules on first use: do it here too.
        _ = probe.endpoint(self.client)

    def _request(self, prompt: str) -> Any:
        import streamlab

        req = streamlab.request(prompt, provider=self.provider)
        return dataclasses.replace(req, extra={**req.extra, **self.create_args})

    async def __call__(self, prompt: str) -> AsyncIterator[StreamEvent]:
        from streamlab.deltas import astream_events
        from streamlab.events import StreamEnd, TextDelta

        stream = await self._request(prompt).astream(self.client)
        # astream_events closes the SDK stream when the relay stops reading.
        async for event in astream_events(stream):
            if self.events:
                yield event
            elif isinstance(event, TextDelta):
                yield event.text
            elif isinstance(event, StreamEnd) and event.outcome == "failed":
                raise RuntimeError(f"the provider's stream failed: {event.error or event.reason}")

    async def aclose(self) -> None:
        """Close the SDK client."""
        await self.client.close()

    def __repr__(self) -> str:
        return f"ProviderSource({self.provider!r})"


def provider_source(
    provider: Any = None, *, events: bool = False, **create_args: Any
) -> ProviderSource:
    """A :class:`ProviderSource`: ``source(prompt)`` -> text deltas (``events=True``: neutral events)."""
    import streamlab.deltas  # noqa: F401  (imported here, not in the server's loop)

    return ProviderSource(provider, events=events, **create_args)


def scripted_source(
    deltas: Sequence[Any],
    *,
    first_delay: float = 0.0,
    delay: float = 0.0,
    pause_at: int = -1,
    pause: float = 0.0,
) -> DeltaSource:
    """A predictable source for demos and tests: the given deltas, with delays.

    ``pause_at``/``pause`` insert one long silence (the model "thinking", a
    tool call) before delta number ``pause_at``: what idle proxies cut.
    """

    async def source(prompt: str) -> AsyncIterator[Any]:
        await asyncio.sleep(first_delay)
        for i, text in enumerate(deltas):
            if i == pause_at:
                await asyncio.sleep(pause)
            elif i and delay:
                await asyncio.sleep(delay)
            yield text

    return source


class HeldSource:
    """Sends ``deltas[:after]``, then holds the stream open until :meth:`release`.

    While it holds (``holding`` is true), the stream cannot end. So a client
    that sees the first event while ``holding`` is still true got it
    streamed; through a buffer it cannot see it before the hold is over.
    ``hold`` caps the wait (seconds), so that a buffered stream still ends.
    ``released`` is a :class:`threading.Event`: the client that watches
    runs in another thread than the relay.
    """

    def __init__(
        self, deltas: Sequence[Any] | None = None, *, after: int = 1, hold: float = 10.0
    ) -> None:
        self.deltas = list(deltas) if deltas is not None else [f"w{i} " for i in range(20)]
        self.after = after
        self.hold = hold
        self.holding = False
        self.released = threading.Event()

    def release(self) -> None:
        """Let the held stream go on (from any thread)."""
        self.released.set()

    async def __call__(self, prompt: str) -> AsyncIterator[Any]:
        self.holding = True  # before the first delta: nothing can be seen before this
        try:
            for delta in self.deltas[: self.after]:
                yield delta
            deadline = time.monotonic() + self.hold
            while not self.released.is_set() and time.monotonic() < deadline:
                await asyncio.sleep(0.01)
        finally:
            self.holding = False
        for delta in self.deltas[self.after :]:
            yield delta

    def __repr__(self) -> str:
        return f"HeldSource({len(self.deltas)} deltas, after={self.after}, hold={self.hold})"
