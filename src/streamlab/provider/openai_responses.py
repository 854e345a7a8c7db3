"""OpenAI Responses API: ``POST /v1/responses``, streamed and not.

Streamed events, in the real order, each with ``sequence_number`` from 0 (the
WebSocket mode in ``openai_responses_ws`` streams the same events, from the
same :class:`ResponsePlan`)::

    response.created, response.in_progress,
    response.output_item.added, response.content_part.added,
    response.output_text.delta (one per token) ...,
    response.output_text.done, response.content_part.done,
    response.output_item.done,
    response.completed      (or response.incomplete when max_output_tokens cut it)

Each event is sent with an ``event:`` line naming its type, as the real API
does (the SDK dispatches on the JSON ``type`` field). There is no ``[DONE]``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request

from streamlab.provider.common import (
    Answer,
    answer_request,
    field,
    last_user_text,
    new_id,
    now,
    positive_int,
    request_body,
    respond,
    text_of,
)
from streamlab.provider.config import RequestControls
from streamlab.provider.faults import ProviderError, stream_error_frame
from streamlab.provider.frames import DeltaFrames
from streamlab.provider.streaming import Frame
from streamlab.sse import encode_event


def _prompt(body: dict[str, Any]) -> str:
    value = field(body, "input", (str, list), required=True)
    if isinstance(value, str):
        return value
    if not value:
        raise ProviderError(
            400,
            "Invalid 'input': empty array. Expected at least one input item.",
            param="input",
            code="empty_array",
        )
    return last_user_text(value, "input")


def _text_format(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None, dict[str, Any]]:
    text = field(body, "text", dict, default={})
    fmt = text.get("format") or {"type": "text"}
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise ProviderError(
            400,
            "Invalid 'text.format': expected type 'text', 'json_object' or 'json_schema'.",
            param="text.format",
        )
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise ProviderError(
                400,
                "Missing required parameter: 'text.format.schema'.",
                param="text.format.schema",
                code="missing_required_parameter",
            )
        return "json_schema", fmt["schema"], fmt
    return (None if fmt["type"] == "text" else fmt["type"]), None, fmt


@dataclass
class ResponsePlan:
    """One response, ready to stream over either transport (SSE here, or the WebSocket mode).

    ``frames(answer)`` are its events as SSE frames; pass a cut-down answer
    (``finish="steered"``) to get the events of the same response ended
    early: they begin exactly like the full answer's, up to its last token.
    """

    controls: RequestControls
    answer: Answer
    base: dict[str, Any]
    msg_id: str

    @property
    def id(self) -> str:
        return str(self.base["id"])

    def final(self, answer: Answer | None = None) -> dict[str, Any]:
        return _final(self.base, answer or self.answer, self.msg_id)

    def frames(self, answer: Answer | None = None) -> Iterator[Frame]:
        return _frames(self.base, answer or self.answer, self.msg_id)

    def on_error(self, k: int) -> bytes:
        failed = {
            **self.base,
            "status": "failed",
            "error": {
                "code": "server_error",
                "message": "The server had an error while processing "
                "your request. (simulated by streamlab)",
            },
        }
        return stream_error_frame("responses", k) + _event(
            {"type": "response.failed", "response": failed}, k + 1
        )


def plan_response(conn: HTTPConnection, body: dict[str, Any], model: str) -> ResponsePlan:
    """Validate a Responses request ``body`` and plan its answer under ``conn``'s controls."""
    prompt = _prompt(body)
    instructions = field(body, "instructions", (str, list))
    max_out = positive_int(body, "max_output_tokens")
    json_mode, schema, fmt = _text_format(body)
    c, answer = answer_request(
        conn,  # type: ignore[arg-type]  # a WebSocket carries the same headers and app
        prompt,
        max_tokens=max_out,
        json_mode=json_mode,
        schema=schema,
        context=instructions if isinstance(instructions, str) else "",
    )
    base = _base(body, model, max_out, fmt, new_id("resp"))
    return ResponsePlan(c, answer, base, new_id("msg"))


async def create_response(request: Request) -> Any:
    body, model = await request_body(request)
    plan = plan_response(request, body, model)
    return respond(
        plan.controls,
        plan.answer,
        stream=field(body, "stream", bool, default=False),
        whole=plan.final,
        frames=plan.frames(),
        on_error=plan.on_error,
    )


def _base(
    body: dict[str, Any], model: str, max_out: int | None, fmt: dict[str, Any], resp_id: str
) -> dict[str, Any]:
    return {
        "id": resp_id,
        "object": "response",
        "created_at": now(),
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": max_out,
        "max_tool_calls": None,
        "model": model,
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "service_tier": "default",
        "store": bool(body.get("store", True)),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": fmt, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [],
        "top_p": body.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": None,
        "user": None,
        "metadata": body.get("metadata") or {},
    }


def _usage(answer: Answer) -> dict[str, Any]:
    out = len(answer.tokens)
    return {
        "input_tokens": answer.input_tokens,
        "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
        "output_tokens": out,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": answer.input_tokens + out,
    }


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _item(msg_id: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "status": status,
        "content": content,
        "role": "assistant",
    }


# Why an answer ended early, as ``incomplete_details.reason``.
_INCOMPLETE = {"length": "max_output_tokens", "steered": "steered"}


def _final(base: dict[str, Any], answer: Answer, msg_id: str) -> dict[str, Any]:
    incomplete = answer.finish in _INCOMPLETE
    final = {
        **base,
        "status": "incomplete" if incomplete else "completed",
        "completed_at": None if incomplete else now(),
        "output": [
            _item(msg_id, "incomplete" if incomplete else "completed", [_part(answer.text)])
        ],
        "usage": _usage(answer),
    }
    if incomplete:
        final["incomplete_details"] = {"reason": _INCOMPLETE[answer.finish]}
    return final


def _event(payload: dict[str, Any], seq: int) -> bytes:
    payload["sequence_number"] = seq
    return encode_event(json.dumps(payload, ensure_ascii=False), event=payload["type"])


def _frames(base: dict[str, Any], answer: Answer, msg_id: str) -> Iterator[Frame]:
    seq = 0

    def ev(payload: dict[str, Any]) -> bytes:
        nonlocal seq
        data = _event(payload, seq)
        seq += 1
        return data

    where = {"item_id": msg_id, "output_index": 0, "content_index": 0}
    yield ev({"type": "response.created", "response": base}), None
    yield ev({"type": "response.in_progress", "response": base}), None
    yield (
        ev(
            {
                "type": "response.output_item.added",
                "output_index": 0,
                "item": _item(msg_id, "in_progress", []),
            }
        ),
        None,
    )
    yield ev({"type": "response.content_part.added", **where, "part": _part("")}), None
    delta = DeltaFrames(
        {
            "type": "response.output_text.delta",
            **where,
            "delta": DeltaFrames.TOKEN,
            "logprobs": [],
            "sequence_number": DeltaFrames.SEQ,
        },
        event="response.output_text.delta",
    )
    for i, token in enumerate(answer.tokens):
        yield delta(token, seq), i
        seq += 1
    final = _final(base, answer, msg_id)
    text = answer.text
    yield ev({"type": "response.output_text.done", **where, "text": text, "logprobs": []}), None
    yield ev({"type": "response.content_part.done", **where, "part": _part(text)}), None
    yield (
        ev({"type": "response.output_item.done", "output_index": 0, "item": final["output"][0]}),
        None,
    )
    kind = "response.incomplete" if answer.finish in _INCOMPLETE else "response.completed"
    yield ev({"type": kind, "response": final}), None


__all__ = ["ResponsePlan", "create_response", "plan_response", "text_of"]
