"""Real Node clients written by others read the local provider's streams.

The official ``openai`` and ``@anthropic-ai/sdk`` packages (their stream
helpers assemble text, tool calls and thinking), and the AI SDK's OpenAI
(Responses and Chat) and Anthropic providers, which validate every event
against their own zod schemas and fail on any shape they do not know. The
AI SDK runs a two-step agent loop on each API: a streamed tool call, the
tool's result sent back, a streamed answer that uses it.
"""

from __future__ import annotations

import json

import pytest
from _node import run_node

from streamlab.provider import serve


@pytest.fixture(scope="module")
def clients() -> dict:
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        return run_node("sdk_clients.mjs", server.base_url, timeout=120)


def test_openai_node_responses_helper_assembles_text_and_a_tool_call(clients):
    text = clients["responses_text"]
    assert text["status"] == "completed"
    assert text["deltas"] and text["deltas"] == text["output_text"]
    tool = clients["responses_tool"]
    assert tool["kinds"] == ["reasoning", "function_call"]
    assert tool["call"]["name"] == "get_weather"
    assert tool["args"] == tool["call"]["arguments"]
    assert json.loads(tool["args"]) == {"city": "Paris"}
    assert tool["summary"] and tool["reasoning_tokens"] > 0


def test_openai_node_chat_helper_merges_tool_call_fragments(clients):
    chat = clients["chat_tool"]
    assert chat["finish_reason"] == "tool_calls"
    [call] = chat["calls"]
    assert call["name"] == "get_weather" and call["id"].startswith("call_")
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    assert chat["usage"] > 0


def test_anthropic_node_helper_assembles_thinking_and_tool_use(clients):
    msg = clients["messages_tool"]
    assert msg["stop_reason"] == "tool_use"
    assert msg["blocks"][0] == "thinking" and msg["blocks"][-1] == "tool_use"
    assert msg["thinking"] and msg["signature"]
    assert msg["input"] == {"city": "Paris"}


@pytest.mark.parametrize("api", ["ai_responses", "ai_chat", "ai_messages"])
def test_ai_sdk_agent_loop_calls_the_tool_then_answers_with_its_result(clients, api):
    run = clients[api]
    assert run["steps"] == [
        {"finish": "tool-calls", "calls": ["get_weather"]},
        {"finish": "stop", "calls": []},
    ]
    assert "sunny, 21 degrees" in run["text"]
    for part in ("tool-input-delta", "tool-call", "tool-result", "text-delta", "finish"):
        assert part in run["parts"]
