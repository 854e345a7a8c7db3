"""Every field the installed SDKs declare is sent, or is allowed below with its reason.

For every event and object the local provider emits (Responses over SSE
and WebSocket, Chat Completions, Anthropic Messages; text, tool calls,
reasoning, thinking, refusals, cuts, failures, non-streamed bodies,
compaction) the raw JSON is walked against the SDK's own pydantic type
(``tests/_sdk_shapes.py``: ``model_fields``, unions by ``type``). A field
that a newer openai or anthropic release adds fails here until it is sent
or allowed, and an allowed field that the provider now sends (or the SDK
dropped) fails too, so the list cannot go stale.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _sdk_shapes import missing_fields, model_for
from anthropic.types import Message, RawMessageStreamEvent
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from openai.types.responses import (
    CompactedResponse,
    Response,
    ResponsesServerEvent,
    ResponseStreamEvent,
)
from websockets.sync.client import connect

_DELTA = "a Chat delta carries only what changed since the last chunk (real API too)"
_NOT_SENT = "declared by the SDK; the real API's recordings (2025-2026) do not send it"
_HOSTED = "for hosted tools, which the local provider does not offer"
_FEATURE = "belongs to a feature the local provider does not simulate"

ALLOWED: dict[str, str] = {
    # OpenAI Responses
    "openai:Response.access_programs": _FEATURE,
    "openai:Response.conversation": _FEATURE + " (conversations)",
    "openai:Response.image": _FEATURE + " (image inputs policy)",
    "openai:Response.input_transformations": _FEATURE,
    "openai:Response.prompt": _FEATURE + " (stored prompt templates)",
    "openai:Response.prompt_cache_diagnostics": _NOT_SENT,
    "openai:Response.prompt_cache_options": _NOT_SENT,
    "openai:Response.tool_usage": _HOSTED,
    "openai:InputTokensDetails.cache_write_tokens": _NOT_SENT + " (NOTES: SDK drift 3.63)",
    "openai:InputTokensDetails.cache_write_tokens_details": _NOT_SENT,
    "openai:Reasoning.context": _NOT_SENT,
    "openai:Reasoning.generate_summary": "deprecated alias of summary; not echoed",
    "openai:Reasoning.mode": _NOT_SENT,
    "openai:FunctionTool.allowed_callers": _NOT_SENT,
    "openai:FunctionTool.async_": _NOT_SENT,
    "openai:FunctionTool.defer_loading": _NOT_SENT,
    "openai:FunctionTool.output_schema": _NOT_SENT,
    "openai:ResponseFunctionToolCall.async_": _NOT_SENT,
    "openai:ResponseFunctionToolCall.caller": _NOT_SENT,
    "openai:ResponseFunctionToolCall.namespace": _NOT_SENT + " (tool namespaces)",
    "openai:ResponseOutputMessage.phase": "sent for gpt-5.x models only, as the real API",
    "openai:ResponseReasoningItem.content": "raw reasoning text: the real API sends summaries",
    "openai:ResponseReasoningItem.status": _NOT_SENT,
    "openai:ResponseReasoningSummaryPartDoneEvent.status": _NOT_SENT,
    "openai:ResponseError.misalignment": _NOT_SENT + " (a failed response: code, message)",
    "openai:ResponseError.param": _NOT_SENT + " (a failed response: code, message)",
    "openai:ResponseError.type": _NOT_SENT + " (a failed response: code, message)",
    "openai:CompactedResponse.image": _FEATURE + " (image inputs policy)",
    "openai:ResponseCompactionItem.created_by": _NOT_SENT,
    **{
        f"openai:{kind}.stream_id": "echoed only when response.create names a stream_id lane"
        for kind in (
            "ResponseWsCreated",
            "ResponseInWsProgress",
            "ResponseOutputItemWsAdded",
            "ResponseContentPartWsAdded",
            "ResponseTextWsDelta",
            "ResponseTextWsDone",
            "ResponseContentPartWsDone",
            "ResponseOutputItemWsDone",
            "ResponseWsCompleted",
        )
    },
    # OpenAI Chat Completions
    "openai:ChatCompletionChunk.moderation": _NOT_SENT,
    "openai:ChatCompletion.metadata": _NOT_SENT,
    "openai:ChatCompletion.moderation": _NOT_SENT,
    "openai:ChoiceDelta.audio": _DELTA,
    "openai:ChoiceDelta.content": _DELTA,
    "openai:ChoiceDelta.function_call": _DELTA + " (deprecated functions)",
    "openai:ChoiceDelta.refusal": _DELTA,
    "openai:ChoiceDelta.role": _DELTA,
    "openai:ChoiceDelta.tool_calls": _DELTA,
    "openai:ChoiceDeltaToolCall.id": _DELTA + ": id only in a call's first fragment",
    "openai:ChoiceDeltaToolCall.type": _DELTA + ": type only in a call's first fragment",
    "openai:ChoiceDeltaToolCallFunction.name": _DELTA + ": name only in the first fragment",
    "openai:ChatCompletionMessage.audio": _NOT_SENT + " (audio output)",
    "openai:ChatCompletionMessage.function_call": "deprecated functions; sent only for them",
    "openai:ChatCompletionMessage.tool_calls": "sent only when the model calls tools",
    "openai:CompletionTokensDetails.text_tokens": _NOT_SENT,
    "openai:PromptTokensDetails.cache_write_tokens": _NOT_SENT,
    "openai:PromptTokensDetails.image_tokens": _NOT_SENT,
    "openai:PromptTokensDetails.text_tokens": _NOT_SENT,
    # Anthropic Messages
    "anthropic:Message.container": _FEATURE + " (code execution containers)",
    "anthropic:Message.diagnostics": _NOT_SENT,
    "anthropic:Delta.container": _FEATURE + " (code execution containers)",
    "anthropic:Usage.output_tokens_details": "sent on message_delta (thinking), not at start",
    "anthropic:Usage.server_tool_use": _HOSTED,
    "anthropic:Usage.speed": _NOT_SENT,
    "anthropic:MessageDeltaUsage.server_tool_use": _HOSTED,
    "anthropic:MessageDeltaUsage.output_tokens_details": "sent with thinking only (2026)",
    "anthropic:TextBlock.citations": "sent only with citations enabled on documents",
    "anthropic:ToolUseBlock.toolset_name": _NOT_SENT,
}

TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
}
CHAT_TOOL = {"type": "function", "function": {k: TOOL[k] for k in ("name", "parameters")}}
ANTHROPIC_TOOL = {"name": "get_weather", "input_schema": TOOL["parameters"]}
ASK = "What is the weather in Paris?"

RESPONSES: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"model": "gpt-5.5", "input": "hi"}, {}),
    ({"model": "gpt-4.1", "input": ASK, "tools": [TOOL]}, {}),
    (
        {
            "model": "o3",
            "input": "hi",
            "reasoning": {"effort": "low", "summary": "auto"},
            "include": ["reasoning.encrypted_content"],
        },
        {},
    ),
    ({"model": "gpt-5.5", "input": "hi", "max_output_tokens": 3}, {}),
    ({"model": "gpt-5.5", "input": "hi"}, {"x-streamlab-ending": "refusal"}),
    ({"model": "gpt-5.5", "input": "hi"}, {"x-streamlab-ending": "failed"}),
    ({"model": "gpt-5.5", "input": "hi"}, {"x-streamlab-ending": "content-filter"}),
    ({"model": "gpt-5.5", "input": "hi"}, {"x-streamlab-fault": "error-after=4"}),
]
CHATS: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"messages": [{"role": "user", "content": "hi"}]}, {}),
    ({"messages": [{"role": "user", "content": ASK}], "tools": [CHAT_TOOL]}, {}),
    ({"messages": [{"role": "user", "content": "hi"}]}, {"x-streamlab-ending": "refusal"}),
    ({"messages": [{"role": "user", "content": "hi"}], "max_completion_tokens": 3}, {}),
]
MESSAGES: list[tuple[dict[str, Any], dict[str, str]]] = [
    ({"messages": [{"role": "user", "content": "hi"}]}, {}),
    ({"messages": [{"role": "user", "content": ASK}], "tools": [ANTHROPIC_TOOL]}, {}),
    (
        {
            "max_tokens": 4096,
            "messages": [{"role": "user", "content": ASK}],
            "tools": [ANTHROPIC_TOOL],
            "thinking": {"type": "enabled", "budget_tokens": 1024},
        },
        {},
    ),
    ({"messages": [{"role": "user", "content": "hi"}]}, {"x-streamlab-ending": "refusal"}),
]
# Events the Anthropic SDK handles outside RawMessageStreamEvent (it skips ping, raises on error).
_ANTHROPIC_OUTSIDE_UNION = {"ping", "error"}


def _sse(url: str, body: dict[str, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as r:
        assert r.status_code == 200, r.read()
        lines = [line[5:].strip() for line in r.iter_lines() if line.startswith("data:")]
    return [json.loads(x) for x in lines if x != "[DONE]"]


def _post(url: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(url, json=body, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


_DECLARED: set[str] = set()  # every SDK field the walk met, in this SDK version


def _check(value: dict[str, Any], tp: Any, missing: set[str], kinds: set[str]) -> None:
    cls = model_for(value, tp)
    assert cls is not None, f"no SDK type for {json.dumps(value)[:120]}"
    kinds.add(str(value.get("type") or value.get("object")))
    missing_fields(value, tp, missing, _DECLARED)


@pytest.fixture(scope="module")
def emitted(local_server) -> tuple[set[str], set[str]]:
    """(fields missing somewhere, event and object kinds seen) over every scenario."""
    base = local_server.base_url
    missing: set[str] = set()
    kinds: set[str] = set()
    for body, headers in RESPONSES:
        for e in _sse(f"{base}/v1/responses", {**body, "stream": True}, headers):
            _check(e, ResponseStreamEvent, missing, kinds)
        if not headers:
            _check(_post(f"{base}/v1/responses", body), Response, missing, kinds)
    for body, headers in CHATS:
        body = {"model": "gpt-4o-mini", **body}
        stream = {**body, "stream": True, "stream_options": {"include_usage": True}}
        for e in _sse(f"{base}/v1/chat/completions", stream, headers):
            _check(e, ChatCompletionChunk, missing, kinds)
        _check(_post(f"{base}/v1/chat/completions", body), ChatCompletion, missing, kinds)
    for body, headers in MESSAGES:
        body = {"model": "claude-sonnet-4-5", "max_tokens": 1024, **body}
        for e in _sse(f"{base}/v1/messages", {**body, "stream": True}, headers):
            if e["type"] not in _ANTHROPIC_OUTSIDE_UNION:
                _check(e, RawMessageStreamEvent, missing, kinds)
        _check(_post(f"{base}/v1/messages", body), Message, missing, kinds)
    compact = {"model": "gpt-5.5", "input": [{"role": "user", "content": "We ship Tuesday."}]}
    _check(_post(f"{base}/v1/responses/compact", compact), CompactedResponse, missing, kinds)
    ws_url = local_server.openai_base_url.replace("http", "ws", 1) + "/responses"
    with connect(ws_url) as ws:
        ws.send(json.dumps({"type": "response.create", "model": "gpt-5.5", "input": ASK}))
        while True:
            event = json.loads(ws.recv(timeout=30))
            _check(event, ResponsesServerEvent, missing, kinds)
            if event["type"] == "response.completed":
                break
    return missing, kinds


def test_every_declared_field_is_sent_or_allowed(emitted):
    missing, _ = emitted
    unexplained = sorted(missing - set(ALLOWED))
    assert not unexplained, (
        "The SDK declares fields the provider does not send: send them as the real API does, "
        f"or add each to ALLOWED with its reason: {unexplained}"
    )


def test_the_allow_list_holds_only_fields_still_missing(emitted):
    missing, _ = emitted
    # Only fields this SDK declares: at the floors (older SDKs) some allowed ones do not exist yet.
    stale = sorted((set(ALLOWED) & _DECLARED) - missing)
    assert not stale, f"Now sent: remove from ALLOWED: {stale}"
    assert all(reason.strip() for reason in ALLOWED.values())


def test_the_scenarios_cover_every_kind_of_event(emitted):
    _, kinds = emitted
    expected = {
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.refusal.delta",
        "response.refusal.done",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
        "response.incomplete",
        "response.failed",
        "error",
        "response",
        "chat.completion.chunk",
        "chat.completion",
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
        "message",
        "response.compaction",
    }
    assert expected <= kinds, sorted(expected - kinds)


def test_the_walker_sees_a_missing_field():
    # The check itself can fail: an event without a declared field is reported.
    event = {"type": "response.output_text.delta", "delta": "x", "sequence_number": 0}
    missing = missing_fields(event, ResponseStreamEvent)
    assert "openai:ResponseTextDeltaEvent.item_id" in missing
