"""streamlab: how LLM responses are streamed, from the bytes on the wire up to the SDKs.

The public API is re-exported here and imported lazily (PEP 562), so that
``import streamlab`` stays cheap: the web server, the SDKs and ipywidgets load
only when a name that needs them is first used.

Modules and what they are for:

- ``streamlab.sse``: a sans-IO Server-Sent Events decoder and encoder, thin
  httpx adapters, and reconnecting clients.
- ``streamlab.provider``: the local simulated provider (OpenAI and Anthropic
  wire formats), the switch to a real provider, and ``request()``: one
  provider-neutral request (prompt, tools, reasoning) made into each SDK call.
- ``streamlab.events``, ``streamlab.deltas``: provider-neutral stream events
  (text, reasoning, tool calls, the ending) and the layer that turns any SDK
  stream into them, or into text deltas only.
- ``streamlab.widgets``: the streamed-vs-buffered view, Stop button, timeline.
- ``streamlab.relay``: a small Starlette endpoint relaying a stream as SSE.
- ``streamlab.release``, ``streamlab.partial_json``: release policies for
  moderating partial output; parsing JSON while it streams.
- ``streamlab.checks``: checks for the notebooks' exercises.
- ``streamlab.versions``: the SDK and JupyterLab versions the course was
  verified with (from the lock), beside the installed ones.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> module that defines it. Each module owns its own lines.
_EXPORTS: dict[str, str] = {
    # sse
    "SSEDecoder": "streamlab.sse",
    "ServerSentEvent": "streamlab.sse",
    "encode_event": "streamlab.sse",
    "iter_sse": "streamlab.sse",
    "aiter_sse": "streamlab.sse",
    "EventSource": "streamlab.sse",
    "AsyncEventSource": "streamlab.sse",
    "SSEError": "streamlab.sse",
    # provider
    "serve": "streamlab.provider",
    "LocalServer": "streamlab.provider",
    "create_app": "streamlab.provider",
    "get_provider": "streamlab.provider",
    "Provider": "streamlab.provider",
    "request": "streamlab.provider.request",
    "Request": "streamlab.provider.request",
    "Tool": "streamlab.provider.request",
    # events
    "TextDelta": "streamlab.events",
    "ReasoningDelta": "streamlab.events",
    "ToolCallStart": "streamlab.events",
    "ToolCallDelta": "streamlab.events",
    "ToolCallDone": "streamlab.events",
    "StreamEnd": "streamlab.events",
    "Usage": "streamlab.events",
    # deltas
    "stream_events": "streamlab.deltas",
    "astream_events": "streamlab.deltas",
    "text_deltas": "streamlab.deltas",
    "atext_deltas": "streamlab.deltas",
    # versions
    "check_versions": "streamlab.versions",
    # widgets
    "StreamView": "streamlab.widgets",
    "compare": "streamlab.widgets",
    "plot_timeline": "streamlab.widgets",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'streamlab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from streamlab.deltas import astream_events, atext_deltas, stream_events, text_deltas
    from streamlab.events import (
        ReasoningDelta,
        StreamEnd,
        TextDelta,
        ToolCallDelta,
        ToolCallDone,
        ToolCallStart,
        Usage,
    )
    from streamlab.provider import LocalServer, Provider, create_app, get_provider, serve
    from streamlab.provider.request import Request, Tool, request
    from streamlab.sse import (
        AsyncEventSource,
        EventSource,
        ServerSentEvent,
        SSEDecoder,
        SSEError,
        aiter_sse,
        encode_event,
        iter_sse,
    )
    from streamlab.versions import check_versions
    from streamlab.widgets import StreamView, compare, plot_timeline
