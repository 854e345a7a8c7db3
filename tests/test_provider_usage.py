"""Usage that teaches, and the request checks the real APIs make (issue 23).

Prompt caching counts on one server (its own server here: the cache is the
server's), Anthropic usage accumulates across message_start and
message_delta, obfuscation can be turned off, a named Chat tool_choice ends
"stop", and bad stream_options / max_tokens / call ids get the real 400s.
"""

from __future__ import annotations

import json

import anthropic
import httpx
import openai
import pytest

from streamlab.deltas import stream_events
from streamlab.events import StreamEnd
from streamlab.provider import serve
from streamlab.provider.prompt_cache import MIN_CACHED_TOKENS, PromptCache

LONG = "You are a careful assistant who answers questions about the ocean. " * 200


@pytest.fixture
def server():
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as s:
        yield s


def test_responses_and_chat_report_cached_tokens_for_a_repeated_prefix(server):
    oa = server.openai(max_retries=0)
    first = oa.responses.create(model="m", instructions=LONG, input="What is a tide?")
    again = oa.responses.create(model="m", instructions=LONG, input="Why is the sea salty?")
    assert first.usage.input_tokens_details.cached_tokens == 0
    cached = again.usage.input_tokens_details.cached_tokens
    assert MIN_CACHED_TOKENS <= cached <= again.usage.input_tokens and cached % 128 == 0
    chat = oa.chat.completions.create(
        model="m", messages=[{"role": "system", "content": LONG}, {"role": "user", "content": "Hi"}]
    )
    assert chat.usage.prompt_tokens_details.cached_tokens == cached  # same prefix, same server


def test_a_short_prompt_never_caches(server):
    oa = server.openai(max_retries=0)
    for _ in range(2):
        r = oa.responses.create(model="m", input="hi there")
    assert r.usage.input_tokens_details.cached_tokens == 0


def test_anthropic_cache_control_writes_then_reads(server):
    client = server.anthropic(max_retries=0)
    system = [{"type": "text", "text": LONG, "cache_control": {"type": "ephemeral"}}]

    def ask(q: str) -> anthropic.types.Usage:
        return client.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=200,
            system=system,
            messages=[{"role": "user", "content": q}],
        ).usage

    first, second = ask("What is a tide?"), ask("Why is the sea salty?")
    assert first.cache_creation_input_tokens > MIN_CACHED_TOKENS
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert first.cache_read_input_tokens == 0
    assert second.cache_creation_input_tokens == 0
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.input_tokens < 20  # only what follows the breakpoint


def test_anthropic_stream_usage_accumulates_into_the_final_message(server):
    client = server.anthropic(max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=200, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    start = next(e for e in events if e.type == "message_start").message.usage
    delta = next(e for e in events if e.type == "message_delta").usage
    assert start.output_tokens == 1 and start.inference_geo == "not_available"
    assert delta.input_tokens == start.input_tokens and delta.cache_read_input_tokens == 0
    assert final.usage.output_tokens == delta.output_tokens > 1
    assert final.usage.input_tokens == start.input_tokens


def test_the_cache_is_bounded():
    cache = PromptCache(max_prefixes=8)
    for i in range(20):
        cache.openai(f"{i} " + LONG, 4000)
    assert len(cache) == 8


def _data(server, path: str, body: dict) -> list[dict]:
    with httpx.stream("POST", server.base_url + path, json=body, timeout=30) as r:
        lines = [x[5:].strip() for x in r.iter_lines() if x.startswith("data:")]
    return [json.loads(x) for x in lines if x != "[DONE]"]


def test_obfuscation_is_on_by_default_and_can_be_turned_off(server):
    for off in (False, True):
        options = {"include_obfuscation": False} if off else {}
        body = {"model": "m", "input": "hi", "stream": True, "stream_options": options}
        deltas = [e for e in _data(server, "/v1/responses", body) if e["type"].endswith(".delta")]
        chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        chunks = _data(server, "/v1/chat/completions", {**chat, "stream_options": options})
        for e in deltas + chunks:
            assert ("obfuscation" in e) is not off
        if not off:  # padding that hides the token's length
            assert all(len(e["delta"] + e["obfuscation"]) % 16 == 0 for e in deltas)


def test_service_tier_is_echoed_then_resolved(server):
    events = _data(server, "/v1/responses", {"model": "m", "input": "hi", "stream": True})
    assert events[0]["response"]["service_tier"] == "auto"
    assert events[-1]["response"]["service_tier"] == "default"


TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.mark.parametrize(
    ("choice", "finish"),
    [
        ({"type": "function", "function": {"name": "get_weather"}}, "stop"),
        ("required", "tool_calls"),
        ("auto", "tool_calls"),
    ],
)
def test_chat_named_tool_choice_ends_stop_and_the_calls_still_run(server, choice, finish):
    stream = server.openai(max_retries=0).chat.completions.create(
        model="m",
        messages=[{"role": "user", "content": "What is the weather in Paris?"}],
        tools=[TOOL],
        tool_choice=choice,
        stream=True,
    )
    chunks = list(stream)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == finish
    end = [e for e in stream_events(chunks) if isinstance(e, StreamEnd)][-1]
    assert end.outcome == "tool_calls" and end.tool_calls[0].name == "get_weather"


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        (
            {"stream": True, "stream_options": {"include_usage": "yes"}},
            "stream_options.include_usage",
        ),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_completion_tokens": 0}, "max_completion_tokens"),
    ],
)
def test_chat_refuses_what_the_real_api_refuses(server, extra, param):
    oa = server.openai(max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        oa.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], **extra)
    assert info.value.body["param"] == param


def test_an_output_for_a_call_the_previous_response_never_made_is_refused(server):
    oa = server.openai(max_retries=0)
    first = oa.responses.create(model="m", input="hi")
    orphan = {"type": "function_call_output", "call_id": "call_nope", "output": "x"}
    with pytest.raises(openai.BadRequestError, match="No tool call found"):
        oa.responses.create(model="m", previous_response_id=first.id, input=[orphan])
