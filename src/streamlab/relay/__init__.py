"""Serve your own stream: relay a provider's deltas to a browser as SSE.

The pieces notebooks 10 and 11 build on, each small enough to read in one sitting:

- :mod:`streamlab.relay.server`: :class:`Relay` (and :func:`create_relay_app`),
  the production relay: SSE for ``EventSource`` and ``fetch()`` clients,
  resume with ``Last-Event-ID``, stop and feedback requests beside the
  stream, keep-alive comments, cancellation when the browser leaves, bounded
  state. Every production pitfall can be switched back on to show what it
  breaks.
- :mod:`streamlab.relay.resume`: the resume log of one stream, sans-IO.
- :mod:`streamlab.relay.sources`: what it relays: the course's provider,
  scripted deltas, and :class:`HeldSource` for causal streaming tests.
- :mod:`streamlab.relay.lesson`: the lesson's stand-ins and measuring tools:
  a buffering, idle-cutting proxy (:func:`create_proxy_app`), compression
  without flushing (:class:`NaiveGZipMiddleware`), :func:`run_app` and
  :func:`time_stream`.
"""

from __future__ import annotations

from streamlab.relay.lesson import (
    HeldWatch,
    NaiveGZipMiddleware,
    RunningApp,
    StreamTiming,
    create_proxy_app,
    run_app,
    time_stream,
    watch_held,
)
from streamlab.relay.resume import StreamLog
from streamlab.relay.server import (
    BARE_HEADERS,
    SSE_HEADERS,
    Relay,
    RelayError,
    RelayStats,
    create_relay_app,
)
from streamlab.relay.sources import (
    DeltaSource,
    HeldSource,
    ProviderSource,
    provider_source,
    scripted_source,
)

__all__ = [
    "SSE_HEADERS",
    "BARE_HEADERS",
    "DeltaSource",
    "RelayStats",
    "RelayError",
    "Relay",
    "StreamLog",
    "create_relay_app",
    "ProviderSource",
    "provider_source",
    "scripted_source",
    "HeldSource",
    "create_proxy_app",
    "NaiveGZipMiddleware",
    "RunningApp",
    "run_app",
    "StreamTiming",
    "time_stream",
    "HeldWatch",
    "watch_held",
]
