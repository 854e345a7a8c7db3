"""OpenAI Chat Completions: ``POST /v1/chat/completions``, streamed and not.

Streamed as ``data:`` lines only (no ``event:`` lines), one
``chat.completion.chunk`` per token: the first carries ``role``, the last
has an empty delta and ``finish_reason`` ("stop" or "length"). With
``stream_options: {"include_usage": true}`` every chunk has ``"usage": null``
and one more chunk with ``"choices": []`` carries the usage. The stream ends
with ``data: [DONE]``.
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
    now,
    request_body,
    respond,
)
from streamlab.provider.faults import ProviderError, stream_error_frame
from streamlab.provider.frames import DeltaFrames
from streamlab.provider.streaming import Frame
from streamlab.sse import encode_event

_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length"}


def _response_format(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    fmt = field(body, "response_format", dict)
    if fmt is None or fmt.get("type") == "text":
        return None, None
    if fmt.get("type") == "json_object":
        return "json_object", None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ProviderError(
                400,
                "Missing required parameter: 'response_format.json_schema.schema'.",
                param="response_format.json_schema",
                code="missing_required_parameter",
            )
        return "json_schema", spec["schema"]
    raise ProviderError(
        400,
        f"Invalid 'response_format.type': {fmt.get('type')!r}. Expected 'text', "
        "'json_object' or 'json_schema'.",
        param="response_format.type",
    )


def _usage(answer: Answer) -> dict[str, Any]:
    out = len(answer.tokens)
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": out,
        "total_tokens": answer.input_tokens + out,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


async def create_chat_completion(request: Request) -> Any:
    body, model = await request_body(request)
    messages = field(body, "messages", list, required=True)
    if not messages:
        raise ProviderError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            param="messages",
            code="empty_array",
        )
    prompt = last_user_text(messages, "messages")
    n = field(body, "n", int, default=1)
    if n != 1:
        raise ProviderError(400, "streamlab's local provider only supports n=1.", param="n")
    max_tokens = field(body, "max_completion_tokens", int) or field(body, "max_tokens", int)
    if max_tokens is not None and max_tokens < 1:
        raise ProviderError(
            400, "Invalid 'max_completion_tokens': must be >= 1.", param="max_completion_tokens"
        )
    stop = field(body, "stop", (str, list))
    stop = [stop] if isinstance(stop, str) else stop
    stream = field(body, "stream", bool, default=False)
    options = field(body, "stream_options", dict, default={})
    if options and not stream:
        raise ProviderError(
            400,
            "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
            param="stream_options",
        )
    include_usage = bool(options.get("include_usage"))
    json_mode, schema = _response_format(body)
    c, answer = answer_request(
        request,
        prompt,
        body_seed=field(body, "seed", int),
        max_tokens=max_tokens,
        stop=stop,
        json_mode=json_mode,
        schema=schema,
    )
    chat_id, created = new_id("chatcmpl"), now()
    return respond(
        c,
        answer,
        stream=stream,
        whole=lambda: _completion(chat_id, created, model, answer),
        frames=_frames(chat_id, created, model, answer, include_usage),
        on_error=lambda k: stream_error_frame("chat", k),
    )


def _completion(chat_id: str, created: int, model: str, answer: Answer) -> dict[str, Any]:
    """The whole ``chat.completion`` object of a non-streamed reply."""
    return {
        "id": chat_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": answer.text,
                    "refusal": None,
                    "annotations": [],
                },
                "logprobs": None,
                "finish_reason": _FINISH[answer.finish],
            }
        ],
        "usage": _usage(answer),
        "service_tier": "default",
        "system_fingerprint": "fp_streamlab",
    }


def _frames(
    chat_id: str, created: int, model: str, answer: Answer, include_usage: bool
) -> Iterator[Frame]:
    def payload(choices: list[dict[str, Any]], usage: Any = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_streamlab",
            "choices": choices,
        }
        if include_usage:
            out["usage"] = usage
        return out

    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        return encode_event(json.dumps(payload(choices, usage), ensure_ascii=False))

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    yield chunk(choice({"role": "assistant", "content": "", "refusal": None})), None
    # One encode per stream; each token is spliced in (same bytes as chunk()).
    delta = DeltaFrames(payload(choice({"content": DeltaFrames.TOKEN})))
    for i, token in enumerate(answer.tokens):
        yield delta(token), i
    yield chunk(choice({}, _FINISH[answer.finish])), None
    if include_usage:
        yield chunk([], _usage(answer)), None
    yield encode_event("[DONE]"), None
