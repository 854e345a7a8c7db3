"""The local provider through the real SDKs: the three APIs, streamed and not, sync and async."""

from __future__ import annotations

import time

import pytest

PROMPT = "Tell me about the ocean"
OCEAN = [{"role": "user", "content": PROMPT}]


def test_responses_stream_joined_equals_non_stream(local_server):
    client = local_server.openai(max_retries=0)
    full = client.responses.create(model="streamlab-local", input=PROMPT)
    assert full.status == "completed" and full.output_text
    events = list(client.responses.create(model="streamlab-local", input=PROMPT, stream=True))
    types = [e.type for e in events]
    assert types[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert types[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    deltas = [e for e in events if e.type == "response.output_text.delta"]
    assert "".join(d.delta for d in deltas) == full.output_text
    assert {(d.item_id, d.output_index, d.content_index) for d in deltas} == {
        (events[2].item.id, 0, 0)
    }
    assert len({e.response.id for e in events if hasattr(e, "response")}) == 1
    completed = events[-1].response
    assert completed.usage.output_tokens == len(deltas) == full.usage.output_tokens
    assert (
        completed.usage.total_tokens == completed.usage.input_tokens + completed.usage.output_tokens
    )


def test_responses_stream_helper_final_response(local_server):
    client = local_server.openai(max_retries=0)
    expected = client.responses.create(model="m", input=PROMPT).output_text
    with client.responses.stream(model="m", input=PROMPT) as stream:
        seen = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert seen == final.output_text == expected
    assert final.output[0].status == "completed"


def test_responses_max_output_tokens_is_incomplete(local_server):
    client = local_server.openai(max_retries=0)
    full = client.responses.create(model="m", input=PROMPT, max_output_tokens=16)
    assert full.status == "incomplete" and full.incomplete_details.reason == "max_output_tokens"
    assert full.usage.output_tokens == 16
    events = list(
        client.responses.create(model="m", input=PROMPT, max_output_tokens=16, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert (
        "".join(e.delta for e in events if e.type == "response.output_text.delta")
        == full.output_text
    )


def test_chat_stream_with_include_usage(local_server):
    client = local_server.openai(max_retries=0)
    full = client.chat.completions.create(model="m", messages=OCEAN)
    chunks = list(
        client.chat.completions.create(
            model="m", messages=OCEAN, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-2].choices[0].finish_reason == "stop"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == full.choices[0].message.content
    n_content = sum(1 for c in chunks if c.choices and c.choices[0].delta.content)
    assert chunks[-1].usage.completion_tokens == n_content == full.usage.completion_tokens
    assert len({c.id for c in chunks}) == 1


def test_chat_length_and_stop(local_server):
    client = local_server.openai(max_retries=0)
    cut = client.chat.completions.create(model="m", messages=OCEAN, max_completion_tokens=5)
    assert cut.choices[0].finish_reason == "length" and cut.usage.completion_tokens == 5
    full = client.chat.completions.create(model="m", messages=OCEAN).choices[0].message.content
    word = full.split()[3]
    stopped = client.chat.completions.create(model="m", messages=OCEAN, stop=[word])
    assert stopped.choices[0].finish_reason == "stop"
    assert stopped.choices[0].message.content == full[: full.index(word)]


def test_messages_stream_helper_and_final_message(local_server):
    client = local_server.anthropic(max_retries=0)
    full = client.messages.create(model="m", max_tokens=1024, messages=OCEAN)
    assert full.stop_reason == "end_turn"
    with client.messages.stream(model="m", max_tokens=1024, messages=OCEAN) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == final.content[0].text == full.content[0].text
    assert final.usage.output_tokens == full.usage.output_tokens
    raw = [
        e.type
        for e in client.messages.create(model="m", max_tokens=1024, messages=OCEAN, stream=True)
    ]
    assert raw[:2] == ["message_start", "content_block_start"]
    assert raw[-3:] == ["content_block_stop", "message_delta", "message_stop"]


def test_messages_max_tokens_and_stop_sequence(local_server):
    client = local_server.anthropic(max_retries=0)
    cut = client.messages.create(model="m", max_tokens=7, messages=OCEAN)
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 7
    full = client.messages.create(model="m", max_tokens=1024, messages=OCEAN).content[0].text
    word = full.split()[4]
    stopped = client.messages.create(
        model="m", max_tokens=1024, messages=OCEAN, stop_sequences=[word]
    )
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == word
    assert stopped.content[0].text == full[: full.index(word)]


def test_same_answer_on_all_apis_and_seed_changes_it(local_server):
    oa, an = local_server.openai(max_retries=0), local_server.anthropic(max_retries=0)
    r = oa.responses.create(model="m", input=PROMPT).output_text
    c = oa.chat.completions.create(model="m", messages=OCEAN).choices[0].message.content
    m = an.messages.create(model="m", max_tokens=1024, messages=OCEAN).content[0].text
    assert r == c == m
    other = oa.responses.create(
        model="m", input=PROMPT, extra_headers={"x-streamlab-seed": "7"}
    ).output_text
    assert other != r
    assert "ocean" in r.lower() or "sea" in r.lower() or "water" in r.lower()


def test_models_list_both_sdks(local_server):
    assert "streamlab-local" in [m.id for m in local_server.openai().models.list()]
    assert "streamlab-local" in [m.id for m in local_server.anthropic().models.list()]
    assert local_server.openai().models.retrieve("anything").id == "anything"


async def test_async_clients_stream(local_server):
    async with local_server.async_openai(max_retries=0) as client:
        full = await client.responses.create(model="m", input=PROMPT)
        stream = await client.responses.create(model="m", input=PROMPT, stream=True)
        text = "".join([e.delta async for e in stream if e.type == "response.output_text.delta"])
        assert text == full.output_text
        async with client.responses.stream(model="m", input=PROMPT) as s:
            async for _ in s:
                pass
            assert (await s.get_final_response()).output_text == full.output_text
        chunks = await client.chat.completions.create(
            model="m", messages=OCEAN, stream=True, stream_options={"include_usage": True}
        )
        parts = [c async for c in chunks]
        assert (
            "".join(c.choices[0].delta.content or "" for c in parts if c.choices)
            == full.output_text
        )
    async with local_server.async_anthropic(max_retries=0) as client:
        async with client.messages.stream(model="m", max_tokens=1024, messages=OCEAN) as s:
            text = "".join([t async for t in s.text_stream])
            final = await s.get_final_message()
        assert text == final.content[0].text == full.output_text


def _paced(ttft_ms: int, tokens_per_second: int) -> dict[str, str]:
    """Control headers for a stream paced exactly (no jitter)."""
    return {
        "x-streamlab-ttft-ms": str(ttft_ms),
        "x-streamlab-tokens-per-second": str(tokens_per_second),
        "x-streamlab-jitter-ms": "0",
    }


def test_timing_headers_pace_the_stream(local_server):
    client = local_server.openai(max_retries=0)
    t0 = time.perf_counter()
    arrivals = []
    for e in client.responses.create(
        model="m", input="short answer please", stream=True, extra_headers=_paced(150, 200)
    ):
        if e.type == "response.output_text.delta":
            arrivals.append(time.perf_counter() - t0)
    # Lower bounds only (a busy machine makes tokens later, never earlier), and both
    # from the request: a late first token must not shrink the time the rest take.
    assert arrivals[0] >= 0.15
    n = len(arrivals)
    assert n > 10 and arrivals[-1] >= 0.15 + (n - 1) / 200 * 0.9


def test_non_stream_waits_for_the_whole_answer(local_server):
    client = local_server.openai(max_retries=0)
    t0 = time.perf_counter()
    r = client.responses.create(model="m", input=PROMPT, extra_headers=_paced(100, 400))
    assert time.perf_counter() - t0 >= 0.1 + (r.usage.output_tokens - 1) / 400 * 0.9


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_bad_control_header_is_a_400_naming_it(local_server, value):
    import openai

    with pytest.raises(openai.BadRequestError, match="x-streamlab-ttft-ms"):
        local_server.openai(max_retries=0).responses.create(
            model="m", input="hi", extra_headers={"x-streamlab-ttft-ms": value}
        )


def test_exact_length_header(local_server):
    client = local_server.openai(max_retries=0)
    r = client.responses.create(
        model="m", input=PROMPT, extra_headers={"x-streamlab-tokens": "300"}
    )
    assert r.usage.output_tokens == 300 and r.status == "completed"
    chunks = client.chat.completions.create(
        model="m", messages=OCEAN, stream=True, extra_headers={"x-streamlab-tokens": "300"}
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == r.output_text


async def test_serve_from_inside_a_running_event_loop():
    # A notebook kernel already runs a loop in the main thread: serve() must still work.
    from streamlab.provider import serve

    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        async with server.async_openai(max_retries=0) as client:
            assert (await client.responses.create(model="m", input="hi")).status == "completed"
        sync = server.openai(max_retries=0)  # a blocking call inside a coroutine, as in a cell
        assert sync.chat.completions.create(model="m", messages=OCEAN).choices[0].message.content
    assert not server.running


async def test_create_app_is_a_plain_asgi_app():
    import httpx

    from streamlab.provider import create_app

    app = create_app(ttft_ms=0, tokens_per_second=0, jitter_ms=0)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://local") as http:
        r = await http.post("/v1/chat/completions", json={"model": "m", "messages": OCEAN})
        assert r.status_code == 200 and r.json()["choices"][0]["finish_reason"] == "stop"
        r = await http.post(
            "/v1/messages", json={"model": "m", "max_tokens": 5, "messages": OCEAN, "stream": True}
        )
        assert r.text.startswith("event: message_start\n") and r.text.rstrip().endswith(
            '{"type": "message_stop"}'
        )
    assert app.state.stats.active == 0


@pytest.mark.parametrize("token", [" café", '"quoted\\" \n', "\u2028line sep", "☕🚀", ""])
def test_delta_frames_are_the_encoders_bytes(token):
    import json

    from streamlab.provider.frames import DeltaFrames
    from streamlab.sse import encode_event

    payload = {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "delta": DeltaFrames.TOKEN,
        "logprobs": [],
        "sequence_number": DeltaFrames.SEQ,
    }
    frame = DeltaFrames(payload, event="response.output_text.delta")
    expected = {**payload, "delta": token, "sequence_number": 42}
    assert frame(token, 42) == encode_event(
        json.dumps(expected, ensure_ascii=False), event=payload["type"]
    )
    chat = DeltaFrames({"choices": [{"delta": {"content": DeltaFrames.TOKEN}}], "usage": None})
    assert chat(token) == encode_event(
        json.dumps({"choices": [{"delta": {"content": token}}], "usage": None}, ensure_ascii=False)
    )
    # With the obfuscation padding spliced in too (twice: the second call is cached).
    from streamlab.provider.frames import obfuscation

    padded = DeltaFrames(
        {"type": payload["type"], "delta": DeltaFrames.TOKEN, "obfuscation": DeltaFrames.OBF}
        | {"sequence_number": DeltaFrames.SEQ},
        event=payload["type"],
    )
    expected = {"type": payload["type"], "delta": token, "obfuscation": obfuscation(token)}
    expected["sequence_number"] = 7
    for _ in range(2):
        assert padded(token, 7) == encode_event(
            json.dumps(expected, ensure_ascii=False), event=payload["type"]
        )
