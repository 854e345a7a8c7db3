"""The relay's UI message stream, read by the Vercel AI SDK's own code in Node."""

from __future__ import annotations

import httpx
import pytest
from _node import run_node

from streamlab.events import (
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)
from streamlab.relay import create_relay_app, run_app, scripted_source
from streamlab.relay.uistream import UIMessageStreamEncoder

SCRIPT = [
    ReasoningDelta("Weather needs "),
    ReasoningDelta("a lookup."),
    TextDelta("Let me "),
    TextDelta("check Paris."),
    ToolCallStart(0, "call_1", "get_weather"),
    ToolCallDelta(0, "call_1", '{"city":'),
    ToolCallDelta(0, "call_1", ' "Paris"}'),
    ToolCallDone(0, "call_1", "get_weather", '{"city": "Paris"}'),
    StreamEnd(outcome="tool_calls"),
]


def _parts(message: dict) -> list[dict]:
    return [{k: v for k, v in p.items() if k != "providerMetadata"} for p in message["parts"]]


def test_the_ai_sdk_reader_assembles_text_reasoning_and_a_tool_call():
    with run_app(create_relay_app(scripted_source(SCRIPT))) as running:
        got = run_node("read_ui_stream.mjs", running.url + "/api/chat", "Weather in Paris?")
    message = got["message"]
    assert message["role"] == "assistant" and message["id"].startswith("msg-")
    assert _parts(message) == [
        {"type": "step-start"},
        {
            "type": "reasoning",
            "id": "reasoning-1",
            "text": "Weather needs a lookup.",
            "state": "done",
        },
        {"type": "text", "text": "Let me check Paris.", "state": "done"},
        {
            "type": "tool-get_weather",
            "toolCallId": "call_1",
            "state": "input-available",
            "input": {"city": "Paris"},
        },
    ]
    assert got["types"][0] == "start" and got["types"][-1] == "finish"


def test_the_ui_stream_is_marked_and_ends_with_done():
    with run_app(create_relay_app(scripted_source(SCRIPT))) as running:
        r = httpx.post(running.url + "/api/chat", json={"prompt": "Weather in Paris?"})
    assert r.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert r.headers["content-type"].startswith("text/event-stream")
    assert r.text.endswith("data: [DONE]\n\n")
    assert '"finishReason":"tool-calls"' in r.text


def test_a_failing_source_reaches_the_ai_sdk_as_an_error_without_details():
    async def failing(prompt):
        yield TextDelta("Hello")
        raise RuntimeError("key sk-secret-123 rejected")

    with run_app(create_relay_app(failing)) as running:
        r = httpx.post(running.url + "/api/chat", json={"prompt": "hi"})
    assert "sk-secret" not in r.text
    assert '"type":"error"' in r.text and '"finishReason":"error"' in r.text


@pytest.mark.parametrize(
    "body",
    [{"messages": "hi"}, {"messages": [{"role": "user", "parts": [{"type": "image"}]}]}, {}],
    ids=["messages-not-a-list", "no-text-part", "empty"],
)
def test_a_chat_request_without_a_user_text_gets_400(body):
    with run_app(create_relay_app(scripted_source(SCRIPT))) as running:
        assert httpx.post(running.url + "/api/chat", json=body).status_code == 400


def test_the_encoder_closes_parts_when_the_kind_changes_and_maps_outcomes():
    enc = UIMessageStreamEncoder(message_id="m")
    types = [c["type"] for e in SCRIPT for c in enc.feed(e)]
    assert types == [
        "start",
        "start-step",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-delta",
        "text-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-delta",
        "tool-input-available",
        "finish-step",
        "finish",
    ]
    assert enc.feed(TextDelta("late")) == []
    bad = UIMessageStreamEncoder().feed(ToolCallDone(0, "c", "f", "{not json"))
    assert bad[-1]["type"] == "tool-input-error" and "not valid JSON" in bad[-1]["errorText"]
    assert UIMessageStreamEncoder().abort("stopped")[-1] == {"type": "abort", "reason": "stopped"}


def test_the_local_provider_with_tools_and_reasoning_reaches_the_ai_sdk():
    import streamlab
    from streamlab.relay import provider_source

    tools = [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        }
    ]
    with streamlab.serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        source = provider_source(
            server, events=True, tools=tools, reasoning={"effort": "low", "summary": "auto"}
        )
        with run_app(create_relay_app(source)) as running:
            got = run_node(
                "read_ui_stream.mjs", running.url + "/api/chat", "What's the weather in Paris?"
            )
    kinds = [p["type"] for p in got["message"]["parts"]]
    assert "reasoning" in kinds and "tool-get_weather" in kinds, kinds
    call = next(p for p in got["message"]["parts"] if p["type"] == "tool-get_weather")
    assert call["state"] == "input-available" and isinstance(call["input"]["city"], str)
    assert got["types"][-1] == "finish"
