"""``POST /v1/responses/compact``: shrink a conversation to carry on with less input.

What the openai SDK's ``client.responses.compact(model=..., input=[...])``
calls. The answer is a ``response.compaction`` object (never streamed)::

    {"id": "resp_...", "object": "response.compaction", "created_at": ...,
     "output": [<every user message, as sent>, {"id": "cmp_...", "type":
     "compaction", "encrypted_content": "..."}], "usage": {...}}

The user messages are kept word for word; everything else (assistant
messages, tool calls, reasoning) is folded into the opaque ``compaction``
item. Pass ``output`` as the ``input`` of the next ``responses.create``
(HTTP or WebSocket, without ``previous_response_id``): the provider accepts
compaction items in input, as the real API does. ``model`` is required (400
without it); so is ``input`` unless ``previous_response_id`` is given.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from streamlab.provider.common import field, new_id, now, request_body, resolved_tier, text_of
from streamlab.provider.faults import ProviderError
from streamlab.provider.generation import count_tokens
from streamlab.provider.reasoning import blob


def compact(body: dict[str, Any], model: str) -> dict[str, Any]:
    """The compacted conversation of a checked body (pure: body in, object out)."""
    raw = field(body, "input", (str, list))
    if raw is None and field(body, "previous_response_id", str) is None:
        raise ProviderError(
            400,
            "Missing required parameter: 'input' (or 'previous_response_id').",
            param="input",
            code="missing_required_parameter",
        )
    items = [{"type": "message", "role": "user", "content": raw}] if isinstance(raw, str) else raw
    kept, seen = [], []
    for i, item in enumerate(items or []):
        if not isinstance(item, dict):
            raise ProviderError(400, f"Invalid 'input[{i}]': expected an object.", param="input")
        seen.append(json.dumps(item, sort_keys=True))
        if item.get("type", "message") == "message" and item.get("role") == "user":
            text = text_of(item.get("content"), f"input[{i}].content")
            kept.append(
                {
                    "id": item.get("id") or new_id("msg"),
                    "type": "message",
                    "status": "completed",
                    "content": [{"type": "input_text", "text": text}],
                    "role": "user",
                }
            )
    whole = "\n".join(seen)
    summary = blob("gAAAAAB", whole, 0, size=192)
    inp = max(1, count_tokens(whole))
    out = max(1, len(summary) // 4)
    return {
        "id": new_id("resp"),
        "object": "response.compaction",
        "created_at": now(),
        "output": [
            *kept,
            {"id": new_id("cmp"), "type": "compaction", "encrypted_content": summary},
        ],
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": resolved_tier(field(body, "service_tier", str) or "auto"),
        "usage": {
            "input_tokens": inp,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": inp + out,
        },
    }


async def create_compaction(request: Request) -> JSONResponse:
    body, model = await request_body(request)
    return JSONResponse(compact(body, model))


__all__ = ["compact", "create_compaction"]
