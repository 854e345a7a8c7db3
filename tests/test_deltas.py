"""text_deltas / atext_deltas: the same text out of every provider's stream shape.

The SDK tests run the real openai and anthropic SDKs against the real local
provider over real sockets.
"""

from __future__ import annotations

import asyncio
import contextlib

import anthropic
import openai
import pytest
from _support import PROMPT, wait_for

from streamlab.deltas import StreamError, atext_deltas, delta_text, text_deltas

# 1,000 tokens at 50/s: 20 s, so the stream is still going when the test leaves it.
SLOW = {
    "x-streamlab-ttft-ms": "0",
    "x-streamlab-tokens-per-second": "50",
    "x-streamlab-tokens": "1000",
}


@pytest.fixture
def server(local_server):
    """The session's zero-delay local provider (tests/conftest.py)."""
    return local_server


# -- shapes, as raw dicts -----------------------------------------------------


def test_strings_pass_through_and_empty_ones_are_skipped():
    assert list(text_deltas(["Hel", "", "lo", " wörld 🎉"])) == ["Hel", "lo", " wörld 🎉"]


def test_dict_shapes_of_all_three_apis():
    items = [
        {"type": "response.created", "response": {}},
        {"type": "response.output_text.delta", "delta": "A"},
        {"object": "chat.completion.chunk", "choices": [{"delta": {"role": "assistant"}}]},
        {"object": "chat.completion.chunk", "choices": [{"delta": {"content": "B"}}]},
        {"object": "chat.completion.chunk", "choices": [], "usage": {"completion_tokens": 2}},
        {"type": "message_start", "message": {}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "C"}},
        {
            "type": "content_block_delta",
            "index": 1,
            "delta": {"type": "input_json_delta", "partial_json": "{"},
        },
        {"type": "ping"},
        {"type": "some.future.event", "delta": "not text"},
    ]
    assert list(text_deltas(items)) == ["A", "B", "C"]


@pytest.mark.parametrize(
    ("event", "provider", "kind", "message"),
    [
        (
            {"type": "error", "code": "server_error", "message": "boom", "param": None},
            "openai",
            "server_error",
            "boom",
        ),
        (
            {
                "type": "response.failed",
                "response": {"error": {"code": "rate_limit", "message": "slow down"}},
            },
            "openai",
            "rate_limit",
            "slow down",
        ),
        (
            {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
            "anthropic",
            "overloaded_error",
            "Overloaded",
        ),
    ],
)
def test_error_events_raise_stream_error_after_the_text_before_them(event, provider, kind, message):
    got = []
    with pytest.raises(StreamError) as info:
        for text in text_deltas(["partial ", event, "never"]):
            got.append(text)
    assert got == ["partial "]
    err = info.value
    assert (err.provider, err.kind, err.message) == (provider, kind, message)
    assert "after it had started" in str(err) and message in str(err)


def test_wrong_inputs_are_explained():
    with pytest.raises(TypeError, match="one character at a time"):
        list(text_deltas("hello"))
    with pytest.raises(TypeError, match="Decode the stream first"):
        list(text_deltas([b"data: x\n\n"]))
    with pytest.raises(TypeError, match="cannot find text in an item of type int"):
        list(text_deltas([42]))

    async def agen():
        yield "x"

    with pytest.raises(TypeError, match="atext_deltas"):
        list(text_deltas(agen()))
    assert delta_text({"type": "response.output_text.delta", "delta": ""}) is None


def test_closing_early_closes_the_source():
    closed = []

    def source():
        try:
            yield from ["a", "b", "c"]
        finally:
            closed.append(True)

    deltas = text_deltas(source())
    assert next(deltas) == "a"
    deltas.close()
    assert closed == [True]


async def test_async_accepts_async_and_sync_iterables_and_closes_them():
    closed = []

    async def source():
        try:
            for piece in ["x", "", "y"]:
                await asyncio.sleep(0)
                yield piece
        finally:
            closed.append(True)

    assert [t async for t in atext_deltas(source())] == ["x", "y"]
    assert closed == [True]
    assert [t async for t in atext_deltas(iter(["p", "q"]))] == ["p", "q"]
    with pytest.raises(TypeError, match="await it first"):
        [t async for t in atext_deltas(12)]


# -- real SDK streams against the local provider ---------------------------------


def test_openai_responses_stream(server):
    client = server.openai(max_retries=0)
    full = client.responses.create(model="streamlab-local", input=PROMPT).output_text
    stream = client.responses.create(model="streamlab-local", input=PROMPT, stream=True)
    pieces = list(text_deltas(stream))
    assert len(pieces) > 5 and "".join(pieces) == full
    # The helper stream yields the same delta events (with snapshots).
    with client.responses.stream(model="streamlab-local", input=PROMPT) as helper:
        assert "".join(text_deltas(helper)) == full


def test_openai_chat_stream_with_usage_chunk(server):
    client = server.openai(max_retries=0)
    full = (
        client.chat.completions.create(
            model="streamlab-local", messages=[{"role": "user", "content": PROMPT}]
        )
        .choices[0]
        .message.content
    )
    stream = client.chat.completions.create(
        model="streamlab-local",
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
        stream_options={"include_usage": True},
    )
    assert "".join(text_deltas(stream)) == full
    # chat.completions.stream() yields "chunk" and "content.delta" events: counted once.
    with client.chat.completions.stream(
        model="streamlab-local", messages=[{"role": "user", "content": PROMPT}]
    ) as helper:
        assert "".join(text_deltas(helper)) == full


def test_anthropic_stream_and_helper_are_not_doubled(server):
    client = server.anthropic(max_retries=0)
    msg = client.messages.create(
        model="streamlab-local", max_tokens=512, messages=[{"role": "user", "content": PROMPT}]
    )
    full = "".join(b.text for b in msg.content if b.type == "text")
    stream = client.messages.create(
        model="streamlab-local",
        max_tokens=512,
        messages=[{"role": "user", "content": PROMPT}],
        stream=True,
    )
    assert "".join(text_deltas(stream)) == full
    # messages.stream() repeats each delta as a "text" event: taken once only.
    with client.messages.stream(
        model="streamlab-local", max_tokens=512, messages=[{"role": "user", "content": PROMPT}]
    ) as helper:
        assert "".join(text_deltas(helper)) == full


async def test_async_sdk_streams(server):
    async with (
        server.async_openai(max_retries=0) as oa,
        server.async_anthropic(max_retries=0) as an,
    ):
        r = await oa.responses.create(model="streamlab-local", input=PROMPT)
        stream = await oa.responses.create(model="streamlab-local", input=PROMPT, stream=True)
        assert "".join([t async for t in atext_deltas(stream)]) == r.output_text
        stream = await an.messages.create(
            model="streamlab-local",
            max_tokens=512,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
        )
        text = "".join([t async for t in atext_deltas(stream)])
        assert text == r.output_text  # same prompt, same seed: the same answer


def test_mid_stream_errors_from_each_api(server):
    # After 8 SSE events (preamble events count): a few text deltas, then the error.
    fault = {"x-streamlab-fault": "error-after=8"}
    oa = server.openai(max_retries=0)
    got: list[str] = []
    # Responses: the SDK hands an "error" event to the caller; we raise it.
    with pytest.raises(StreamError):
        for t in text_deltas(
            oa.responses.create(
                model="streamlab-local", input=PROMPT, stream=True, extra_headers=fault
            )
        ):
            got.append(t)
    assert 0 < len(got) < 8
    # Chat: a top-level "error" payload; the openai SDK raises APIError itself.
    with pytest.raises(openai.APIError):
        list(
            text_deltas(
                oa.chat.completions.create(
                    model="streamlab-local",
                    messages=[{"role": "user", "content": PROMPT}],
                    stream=True,
                    extra_headers=fault,
                )
            )
        )
    # Anthropic: "event: error" makes the SDK raise APIStatusError (status 200).
    an = server.anthropic(max_retries=0)
    with pytest.raises(anthropic.APIStatusError):
        list(
            text_deltas(
                an.messages.create(
                    model="streamlab-local",
                    max_tokens=512,
                    messages=[{"role": "user", "content": PROMPT}],
                    stream=True,
                    extra_headers=fault,
                )
            )
        )


def test_breaking_out_closes_the_request_and_the_server_sees_it(server):
    before = server.stats["cancelled"]
    client = server.openai(max_retries=0)
    stream = client.responses.create(
        model="streamlab-local", input=PROMPT, stream=True, extra_headers=SLOW
    )
    # closing(): leaving the block closes the generator, which closes the SDK
    # stream and its HTTP response, at once and on every Python.
    with contextlib.closing(text_deltas(stream)) as deltas:
        for i, _ in enumerate(deltas):
            if i == 2:
                break
    wait_for(lambda: server.stats["cancelled"] > before)
