"""Reasoning from the local provider: Responses reasoning items and Anthropic thinking blocks."""

from __future__ import annotations

import anthropic
import pytest
from openai.types.responses import (
    ResponseReasoningItem,
    ResponseReasoningSummaryPartAddedEvent,
    ResponseReasoningSummaryPartDoneEvent,
    ResponseReasoningSummaryTextDeltaEvent,
    ResponseReasoningSummaryTextDoneEvent,
)

from streamlab.provider.config import RequestControls
from streamlab.provider.openai_responses import plan_response

ASK = "Tell me about the ocean"


def _types(events):
    out = []
    for e in events:
        if not out or out[-1] != e.type:
            out.append(e.type)
    return out


def test_responses_reasoning_events_in_order_and_typed(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.stream(
        model="m",
        input=ASK,
        reasoning={"effort": "medium", "summary": "auto"},
        include=["reasoning.encrypted_content"],
    ) as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert _types(events)[:9] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.reasoning_summary_part.added",
        "response.reasoning_summary_text.delta",
    ]
    kinds = {
        "response.reasoning_summary_part.added": ResponseReasoningSummaryPartAddedEvent,
        "response.reasoning_summary_text.delta": ResponseReasoningSummaryTextDeltaEvent,
        "response.reasoning_summary_text.done": ResponseReasoningSummaryTextDoneEvent,
        "response.reasoning_summary_part.done": ResponseReasoningSummaryPartDoneEvent,
    }
    for e in events:
        if e.type in kinds:
            assert isinstance(e, kinds[e.type]) and e.output_index == 0
    added, done = (
        e for e in events if e.type.startswith("response.output_item") and e.output_index == 0
    )
    # With include=["reasoning.encrypted_content"] the real API sends it already on added.
    assert added.item.encrypted_content and added.item.summary == []
    assert isinstance(done.item, ResponseReasoningItem) and done.item.encrypted_content
    for i, part in enumerate(done.item.summary):
        joined = "".join(
            e.delta
            for e in events
            if e.type.endswith("summary_text.delta") and e.summary_index == i
        )
        assert part.text == joined
    assert [o.type for o in final.output] == ["reasoning", "message"]
    assert final.output[1].content[0].text == final.output_text != ""
    assert final.usage.output_tokens_details.reasoning_tokens >= 48
    assert final.usage.output_tokens > final.usage.output_tokens_details.reasoning_tokens


def test_responses_reasoning_without_summary_or_include(local_server):
    client = local_server.openai(max_retries=0)
    events = list(
        client.responses.create(model="m", input=ASK, reasoning={"effort": "low"}, stream=True)
    )
    assert not any("summary" in e.type for e in events)
    item = events[-1].response.output[0]
    assert item.type == "reasoning" and item.summary == [] and item.encrypted_content is None
    assert events[-1].response.usage.output_tokens_details.reasoning_tokens == 24
    r = client.responses.create(model="m", input=ASK, reasoning={"effort": "none"})
    assert [o.type for o in r.output] == ["message"]


def test_reasoning_delays_the_answer_by_its_slots():
    # Causal, not timed: the first text delta is paced at slot `reasoning_tokens`,
    # so with any token rate the answer's first token comes that many slots later.
    c = RequestControls(ttft_ms=0, tokens_per_second=10, jitter_ms=0, seed=0)
    firsts = {}
    for effort in ("low", "high"):
        turn = plan_response(
            {"model": "m", "input": ASK, "reasoning": {"effort": effort}, "stream": True}, c
        )
        unit = next(u for data, u in turn.frames() if b"output_text.delta" in data)
        assert (
            unit
            == turn.reasoning.slots
            == turn.final()["usage"]["output_tokens_details"]["reasoning_tokens"]
        )
        firsts[effort] = list(c.due_times(turn.n_units))[unit]
    assert firsts["high"] > firsts["low"] > 0


def test_responses_bad_reasoning_is_400(local_server):
    import openai

    with pytest.raises(openai.BadRequestError) as info:
        local_server.openai(max_retries=0).responses.create(
            model="m", input=ASK, reasoning={"effort": "maximal"}
        )
    assert info.value.body["param"] == "reasoning.effort"


# -- Anthropic thinking ----------------------------------------------------------------


def _thinking_stream(client, **kw):
    with client.messages.stream(
        model="m", max_tokens=2048, messages=[{"role": "user", "content": ASK}], **kw
    ) as stream:
        return list(stream), stream.get_final_message()


def test_anthropic_thinking_block(local_server):
    events, final = _thinking_stream(
        local_server.anthropic(max_retries=0), thinking={"type": "enabled", "budget_tokens": 1024}
    )
    raw = [
        e
        for e in events
        if e.type in ("content_block_start", "content_block_delta", "content_block_stop")
    ]
    assert raw[0].content_block.type == "thinking"
    block0 = [e for e in raw if e.index == 0]
    kinds = [e.delta.type if e.type == "content_block_delta" else e.type for e in block0]
    assert kinds[0] == "content_block_start" and kinds[-2:] == [
        "signature_delta",
        "content_block_stop",
    ]
    assert kinds.count("signature_delta") == 1 and kinds.count("thinking_delta") > 5
    thinking = [e for e in events if e.type == "thinking"]
    assert thinking[-1].snapshot == final.content[0].thinking
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].signature and final.usage.output_tokens_details.thinking_tokens >= 48


def test_anthropic_thinking_omitted_and_passed_back(local_server):
    client = local_server.anthropic(max_retries=0)
    events, final = _thinking_stream(client, thinking={"type": "adaptive", "display": "omitted"})
    deltas = [e.delta.type for e in events if e.type == "content_block_delta" and e.index == 0]
    assert deltas == ["signature_delta"]
    assert final.content[0].thinking == "" and final.content[0].signature
    again = client.messages.create(
        model="m",
        max_tokens=2048,
        thinking={"type": "adaptive"},
        messages=[
            {"role": "user", "content": ASK},
            {"role": "assistant", "content": [b.model_dump() for b in final.content]},
            {"role": "user", "content": "And the tides?"},
        ],
    )
    assert again.stop_reason == "end_turn"


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"thinking": {"type": "enabled", "budget_tokens": 100}}, "budget_tokens"),
        ({"thinking": {"type": "enabled", "budget_tokens": 4096}}, "max_tokens"),
        (
            {
                "thinking": {"type": "adaptive"},
                "tools": [{"name": "f", "input_schema": {"type": "object"}}],
                "tool_choice": {"type": "any"},
            },
            "tool_choice",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": ASK},
                    {"role": "assistant", "content": [{"type": "thinking", "thinking": "x"}]},
                    {"role": "user", "content": "go on"},
                ]
            },
            "signature",
        ),
    ],
)
def test_anthropic_bad_thinking_is_400(local_server, kw, says):
    kw.setdefault("messages", [{"role": "user", "content": ASK}])
    with pytest.raises(anthropic.BadRequestError) as info:
        local_server.anthropic(max_retries=0).messages.create(model="m", max_tokens=2048, **kw)
    assert says in info.value.message
