"""Every way a stream ends, forced with ``x-streamlab-ending``, as the SDKs surface it."""

from __future__ import annotations

import anthropic
import openai
import pytest
from pydantic import BaseModel

ASK = [{"role": "user", "content": "Tell me about the ocean"}]


def ending(value: str) -> dict[str, str]:
    return {"x-streamlab-ending": value}


def test_responses_refusal_content_part(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.stream(model="m", input=ASK, extra_headers=ending("refusal")) as stream:
        events = list(stream)
        final = stream.get_final_response()
    types = [e.type for e in events]
    assert "response.refusal.delta" in types and "response.output_text.delta" not in types
    done = next(e for e in events if e.type == "response.refusal.done")
    assert done.refusal == "".join(e.delta for e in events if e.type == "response.refusal.delta")
    part = final.output[0].content[0]
    assert part.type == "refusal" and part.refusal == done.refusal
    assert final.status == "completed" and final.output_text == ""


def test_responses_failed(local_server):
    client = local_server.openai(max_retries=0)
    events = list(
        client.responses.create(model="m", input=ASK, stream=True, extra_headers=ending("failed"))
    )
    last = events[-1]
    assert last.type == "response.failed" and last.response.status == "failed"
    assert last.response.error.code == "server_error" and last.response.error.message
    assert any(e.type == "response.output_text.delta" for e in events)
    assert [e.sequence_number for e in events] == list(range(len(events)))
    whole = client.responses.create(model="m", input=ASK, extra_headers=ending("failed"))
    assert whole.status == "failed"


@pytest.mark.parametrize(
    ("name", "reason"), [("content-filter", "content_filter"), ("max-tokens", "max_output_tokens")]
)
def test_responses_incomplete(local_server, name, reason):
    client = local_server.openai(max_retries=0)
    with client.responses.stream(
        model="m", input=ASK, extra_headers=ending(f"{name};after=5")
    ) as stream:
        events = list(stream)
        # The helper's final response exists only after response.completed.
        with pytest.raises(RuntimeError, match="response.completed"):
            stream.get_final_response()
    assert sum(e.type == "response.output_text.delta" for e in events) == 5
    assert events[-1].type == "response.incomplete"
    final = events[-1].response
    assert final.status == "incomplete" and final.incomplete_details.reason == reason
    assert final.output[0].status == "incomplete"


def test_chat_refusal_and_content_filter(local_server):
    client = local_server.openai(max_retries=0)
    with client.chat.completions.stream(
        model="m", messages=ASK, extra_headers=ending("refusal")
    ) as stream:
        refusal = "".join(e.delta for e in stream if e.type == "refusal.delta")
        final = stream.get_final_completion()
    assert final.choices[0].message.refusal == refusal != ""
    assert final.choices[0].message.content is None
    chunks = list(
        client.chat.completions.create(
            model="m", messages=ASK, stream=True, extra_headers=ending("content_filter;after=3")
        )
    )
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    assert sum(1 for c in chunks if c.choices[0].delta.content) == 3


class Fact(BaseModel):
    fact: str


def test_chat_content_filter_raises_in_the_parse_helper(local_server):
    client = local_server.openai(max_retries=0)
    with pytest.raises(openai.ContentFilterFinishReasonError):
        with client.chat.completions.stream(
            model="m", messages=ASK, response_format=Fact, extra_headers=ending("content-filter")
        ) as stream:
            list(stream)
    with pytest.raises(openai.LengthFinishReasonError):
        client.chat.completions.parse(
            model="m", messages=ASK, response_format=Fact, extra_headers=ending("max-tokens")
        )


@pytest.mark.parametrize(
    ("name", "stop"),
    [
        ("refusal", "refusal"),
        ("pause_turn", "pause_turn"),
        ("max-tokens", "max_tokens"),
        ("context-window", "model_context_window_exceeded"),
    ],
)
def test_anthropic_stop_reasons(local_server, name, stop):
    client = local_server.anthropic(max_retries=0)
    with client.messages.stream(
        model="m", max_tokens=500, messages=ASK, extra_headers=ending(name)
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    assert final.stop_reason == stop
    delta = next(e for e in events if e.type == "message_delta")
    assert delta.delta.stop_reason == stop
    if stop == "refusal":
        assert final.stop_details.type == "refusal" and final.stop_details.explanation
    else:
        assert final.stop_details is None


async def test_endings_async(local_server):
    async with local_server.async_anthropic(max_retries=0) as client:
        msg = await client.messages.create(
            model="m", max_tokens=500, messages=ASK, extra_headers=ending("refusal")
        )
    assert msg.stop_reason == "refusal"
    async with local_server.async_openai(max_retries=0) as oclient:
        stream = await oclient.responses.create(
            model="m", input=ASK, stream=True, extra_headers=ending("failed")
        )
        last = [e async for e in stream][-1]
    assert last.type == "response.failed"


@pytest.mark.parametrize("value", ["nope", "pause-turn", "refusal;after=x", "refusal;x=1"])
def test_bad_ending_header_is_400(local_server, value):
    with pytest.raises(openai.BadRequestError) as info:
        local_server.openai(max_retries=0).responses.create(
            model="m", input=ASK, extra_headers=ending(value)
        )
    assert "x-streamlab-ending" in info.value.message
    with pytest.raises(anthropic.BadRequestError):
        local_server.anthropic(max_retries=0).messages.create(
            model="m", max_tokens=50, messages=ASK, extra_headers=ending("failed")
        )
