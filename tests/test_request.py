"""request(): one provider-neutral request, made into each SDK's call, against the local provider.

Real SDKs, real sockets; the agent loop runs two tool rounds on every API,
sync and async, under the provider's timing and fault headers.
"""

from __future__ import annotations

import pytest

import streamlab
from streamlab import Tool, request
from streamlab.deltas import astream_events, response_events, stream_events
from streamlab.events import ReasoningDelta, StreamEnd, TextDelta, ToolCallDone

APIS = ["responses", "chat", "anthropic"]
WEATHER = Tool(
    "get_weather",
    "Current weather for a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
FAST = {"ttft_ms": 0, "tokens_per_second": 0}


def end_of(stream) -> StreamEnd:
    *_, end = stream_events(stream)
    return end


def test_each_api_gets_its_own_words():
    server = object()  # no call is made: only the arguments are built
    kw = {
        "provider": server,
        "model": "m",
        "tools": [WEATHER],
        "reasoning": "low",
        "max_tokens": 2000,
    }
    r = request("Hi", api="responses", **kw).kwargs()
    assert r["reasoning"] == {"effort": "low", "summary": "auto"} and r["max_output_tokens"] == 2000
    assert r["tools"][0]["name"] == "get_weather" and r["input"][0]["content"] == "Hi"
    c = request("Hi", api="chat", **kw).kwargs()
    assert c["reasoning_effort"] == "low" and c["tools"][0]["function"]["name"] == "get_weather"
    assert c["stream_options"] == {"include_usage": True} and c["max_completion_tokens"] == 2000
    a = request("Hi", api="anthropic", **kw).kwargs(stream=False)
    assert (
        a["thinking"] == {"type": "adaptive", "display": "summarized"} and a["max_tokens"] == 2000
    )
    assert a["output_config"] == {"effort": "low"}  # a name the model table does not know
    assert a["tools"][0]["input_schema"]["required"] == ["city"] and "stream" not in a
    headers = request("Hi", provider=server, model="m", ttft_ms=0, fault="error-after=3").headers
    assert headers == {"x-streamlab-ttft-ms": "0", "x-streamlab-fault": "error-after=3"}


@pytest.mark.parametrize(
    "model, thinking",
    [
        ("claude-haiku-4-5", {"type": "enabled", "budget_tokens": 4096}),
        ("claude-sonnet-4-5-20250929", {"type": "enabled", "budget_tokens": 4096}),
        ("claude-opus-4-1", {"type": "enabled", "budget_tokens": 4096}),
        ("claude-sonnet-4-6", {"type": "adaptive", "display": "summarized"}),
        ("claude-opus-4-7", {"type": "adaptive", "display": "summarized"}),
        ("claude-sonnet-5", {"type": "adaptive", "display": "summarized"}),
    ],
)
def test_thinking_takes_the_form_the_model_takes(model, thinking):
    """Adaptive thinking where the model has it (4.6 on); a token budget before that."""
    a = request("Hi", provider=object(), model=model, api="anthropic", reasoning="medium").kwargs()
    assert a["thinking"] == thinking
    assert ("output_config" in a) == (thinking["type"] == "adaptive")
    assert a["max_tokens"] > 4096  # room to think in either form
    schema = {"format": {"type": "json_schema", "schema": {"type": "object"}}}
    b = request(
        "Hi",
        provider=object(),
        model=model,
        api="anthropic",
        reasoning="medium",
        output_config=schema,
    ).kwargs()
    assert b["output_config"]["format"] == schema["format"]  # merged, not replaced
    assert ("effort" in b["output_config"]) == (thinking["type"] == "adaptive")


def test_mistakes_are_explained():
    with pytest.raises(ValueError, match="Anthropic counts thinking in max_tokens"):
        request(
            "Hi",
            provider=object(),
            model="claude-haiku-4-5",
            api="anthropic",
            reasoning="medium",
            max_tokens=500,
        ).kwargs()
    with pytest.raises(TypeError, match="streamlab.Tool"):
        request("Hi", provider=object(), model="m", tools=[{"name": "x"}])
    with pytest.raises(ValueError, match="api must be"):
        request("Hi", provider=object(), model="m", api="gemini")
    with pytest.raises(ValueError, match="an effort"):
        request("Hi", provider=object(), model="m", reasoning=True)


@pytest.mark.parametrize("api", APIS)
def test_two_tool_rounds_then_an_answer_sync(local_server, api):
    req = request(
        "What is the weather in Paris? Then the weather in Rome.",
        provider=local_server, api=api, tools=[WEATHER], **FAST,
    )  # fmt: skip
    client = req.client()
    rounds = []
    while len(rounds) < 4:
        end = end_of(req.stream(client))
        rounds.append(end.outcome)
        if end.outcome != "tool_calls":
            break
        with pytest.raises(ValueError, match="exactly one result per tool call"):
            req.then(end, {})
        req = req.then(end, {c.id: {"sky": "clear"} for c in end.tool_calls})
    assert rounds[0] == "tool_calls" and rounds[-1] == "stop", rounds
    assert "get_weather" in end.text  # the answer used the result that was sent back


@pytest.mark.parametrize("api", APIS)
async def test_reasoning_comes_before_the_answer_async(local_server, api):
    req = request("Why is the sky blue?", provider=local_server, api=api, reasoning="low", **FAST)
    async with req.async_client() as client:
        events = [e async for e in astream_events(await req.astream(client))]
        buffered = response_events(await req.acreate(client))[-1]
    kinds = [type(e) for e in events]
    if api == "chat":  # Chat Completions shows no reasoning, only counts it
        assert ReasoningDelta not in kinds
    else:
        assert kinds.index(ReasoningDelta) < kinds.index(TextDelta)
        assert events[-1].reasoning and buffered.reasoning == events[-1].reasoning
    assert events[-1].outcome == buffered.outcome == "stop"
    assert buffered.text == events[-1].text


def test_the_faults_header_reaches_the_provider(local_server):
    req = request("Hi", provider=local_server, api="responses", fault="error-after=6", **FAST)
    end = end_of(req.stream())
    assert end.outcome == "failed" and end.reason == "server_error"


def test_default_provider_and_tool_calls_are_complete_only_at_done(local_server, monkeypatch):
    monkeypatch.setenv("STREAMLAB_PROVIDER", "local")
    req = request("Weather in Paris?", tools=[WEATHER], api="chat", **FAST)
    assert req.model == "streamlab-local" and req.provider.kind == "local"
    events = list(stream_events(req.stream(local_server.openai(max_retries=0))))
    done = [e for e in events if isinstance(e, ToolCallDone)]
    assert done and done[0].parsed_arguments() == {"city": "Paris"}
    assert events.index(done[0]) > max(
        i for i, e in enumerate(events) if type(e).__name__ == "ToolCallDelta"
    )
    assert streamlab.request is request
