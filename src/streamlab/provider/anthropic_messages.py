"""Anthropic Messages: ``POST /v1/messages``, streamed and not.

Streamed events, each with an ``event:`` line (the Anthropic SDK drops events
without one)::

    message_start, content_block_start, ping,
    content_block_delta (text_delta, one per token) ...,
    content_block_stop, message_delta (stop_reason, usage), message_stop

``stop_reason`` is "end_turn", "max_tokens" or "stop_sequence". JSON output:
``output_config={"format": {"type": "json_schema", "schema": {...}}}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request

from streamlab.provider.common import (
    Answer,
    answer_request,
    field,
    last_user_text,
    new_id,
    request_body,
    respond,
    text_of,
)
from streamlab.provider.faults import ProviderError, stream_error_frame
from streamlab.provider.frames import DeltaFrames
from streamlab.provider.streaming import Frame
from streamlab.sse import encode_event

_STOP = {"stop": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence"}


def _format(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    config = field(body, "output_config", dict, default={})
    fmt = config.get("format") or field(body, "output_format", dict)
    if not fmt:
        return None, None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        raise ProviderError(
            400, "output_config.format: expected {'type': 'json_schema', 'schema': {...}}."
        )
    return "json_schema", fmt["schema"]


async def create_message(request: Request) -> Any:
    body, model = await request_body(request)
    max_tokens = field(body, "max_tokens", int, required=True)
    if max_tokens < 1:
        raise ProviderError(400, "max_tokens: Input should be greater than or equal to 1")
    messages = field(body, "messages", list, required=True)
    if not messages:
        raise ProviderError(400, "messages: at least one message is required")
    prompt = last_user_text(messages, "messages")
    system = body.get("system")
    context = text_of(system, "system") if system is not None else ""
    stop = field(body, "stop_sequences", list)
    stream = field(body, "stream", bool, default=False)
    json_mode, schema = _format(body)
    c, answer = answer_request(
        request,
        prompt,
        max_tokens=max_tokens,
        stop=stop,
        json_mode=json_mode,
        schema=schema,
        context=context,
    )
    msg_id = new_id("msg")
    usage = {
        "input_tokens": answer.input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "service_tier": "standard",
    }
    return respond(
        c,
        answer,
        stream=stream,
        whole=lambda: _message(msg_id, model, usage, answer),
        frames=_frames(msg_id, model, answer, usage),
        on_error=lambda k: stream_error_frame("messages", k),
    )


def _message(
    msg_id: str, model: str, usage: dict[str, Any], answer: Answer | None = None
) -> dict[str, Any]:
    """A Message object: the whole reply to ``answer``, or the empty one ``message_start`` carries."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": answer.text}] if answer else [],
        "stop_reason": _STOP[answer.finish] if answer else None,
        "stop_sequence": answer.stop_sequence if answer else None,
        "usage": {**usage, "output_tokens": len(answer.tokens) if answer else 1},
    }


def _ev(payload: dict[str, Any]) -> bytes:
    return encode_event(json.dumps(payload, ensure_ascii=False), event=payload["type"])


def _frames(msg_id: str, model: str, answer: Answer, usage: dict[str, Any]) -> Iterator[Frame]:
    start = _message(msg_id, model, usage)
    yield _ev({"type": "message_start", "message": start}), None
    yield (
        _ev(
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            }
        ),
        None,
    )
    yield _ev({"type": "ping"}), None
    # One encode per stream; each token is spliced in (same bytes as _ev()).
    delta = DeltaFrames(
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": DeltaFrames.TOKEN},
        },
        event="content_block_delta",
    )
    for i, token in enumerate(answer.tokens):
        yield delta(token), i
    yield _ev({"type": "content_block_stop", "index": 0}), None
    yield (
        _ev(
            {
                "type": "message_delta",
                "delta": {
                    "stop_reason": _STOP[answer.finish],
                    "stop_sequence": answer.stop_sequence,
                },
                "usage": {"output_tokens": len(answer.tokens)},
            }
        ),
        None,
    )
    yield _ev({"type": "message_stop"}), None
