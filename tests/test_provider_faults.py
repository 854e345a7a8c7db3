"""Injected faults surface through the real SDKs exactly as they do with the real APIs."""

from __future__ import annotations

import time

import anthropic
import httpx
import openai
import pytest
from _support import wait_until

from streamlab.provider import serve

MSG = [{"role": "user", "content": "Tell me about coffee"}]


def fault(spec: str) -> dict[str, str]:
    if spec.startswith("tiny-writes"):  # keep byte-by-byte streams short: 40 tokens
        return {"x-streamlab-fault": spec, "x-streamlab-tokens": "40"}
    return {"x-streamlab-fault": spec}


def _responses(client, spec, **kw):
    return list(
        client.responses.create(
            model="m", input="Tell me about coffee", stream=True, extra_headers=fault(spec), **kw
        )
    )


def _chat(client, spec):
    return list(
        client.chat.completions.create(
            model="m", messages=MSG, stream=True, extra_headers=fault(spec)
        )
    )


def _messages(client, spec):
    return list(
        client.messages.create(
            model="m", max_tokens=512, messages=MSG, stream=True, extra_headers=fault(spec)
        )
    )


# -- mid-stream ---------------------------------------------------------------


# anthropic 2.17 wraps errors raised while reading a stream (its _streaming.py).
ANTHROPIC_WRAPS_STREAM_ERRORS = tuple(map(int, anthropic.__version__.split(".")[:2])) >= (2, 17)


def test_drop_after_is_a_connection_error_mid_stream(local_server):
    oa = local_server.openai(max_retries=0)
    received = []
    with pytest.raises(openai.APIConnectionError):
        for event in oa.responses.create(
            model="m", input="hi", stream=True, extra_headers=fault("drop-after=6")
        ):
            received.append(event)
    assert len(received) == 6  # exactly N events arrived before the cut
    with pytest.raises(openai.APIConnectionError):
        _chat(oa, "drop-after=3")
    # From anthropic 2.17 a drop mid-stream is wrapped like openai's; before, the
    # httpx2 error itself came through (its own copy of httpx: match on the name).
    with pytest.raises(Exception, match="incomplete chunked read") as info:
        _messages(local_server.anthropic(max_retries=0), "drop-after=4")
    error = info.value
    if ANTHROPIC_WRAPS_STREAM_ERRORS:
        assert isinstance(error, anthropic.APIConnectionError)
        error = error.__cause__
    assert type(error).__name__ == "RemoteProtocolError"


def test_responses_error_event_is_handed_through(local_server):
    events = _responses(local_server.openai(max_retries=0), "error-after=6")
    assert [e.type for e in events[-2:]] == ["error", "response.failed"]
    assert events[-2].code == "server_error" and events[-2].sequence_number == 6
    assert events[-1].response.status == "failed"
    with local_server.openai(max_retries=0).responses.stream(
        model="m", input="hi", extra_headers=fault("error-after=6")
    ) as stream:
        types = [e.type for e in stream]
        assert "error" in types
        with pytest.raises(RuntimeError, match="response.completed"):
            stream.get_final_response()


def test_chat_error_payload_raises_api_error(local_server):
    with pytest.raises(openai.APIError, match="server had an error") as info:
        _chat(local_server.openai(max_retries=0), "error-after=4")
    assert not isinstance(info.value, openai.APIStatusError)
    assert info.value.body["type"] == "server_error"


def test_anthropic_error_event_raises_status_error_200(local_server):
    with pytest.raises(anthropic.APIStatusError) as info:
        _messages(local_server.anthropic(max_retries=0), "error-after=4")
    assert info.value.status_code == 200
    assert info.value.body["error"]["type"] == "overloaded_error"


async def test_anthropic_error_event_async(local_server):
    async with local_server.async_anthropic(max_retries=0) as client:
        with pytest.raises(anthropic.APIStatusError):
            async with client.messages.stream(
                model="m", max_tokens=512, messages=MSG, extra_headers=fault("error-after=5")
            ) as stream:
                async for _ in stream:
                    pass


def test_stall_longer_than_read_timeout(local_server):
    oa = local_server.openai(max_retries=0, timeout=0.4)
    with pytest.raises(openai.APITimeoutError):
        _responses(oa, "stall-after=5;seconds=3")
    # A stall shorter than the timeout only delays the stream.
    events = _responses(local_server.openai(max_retries=0, timeout=5), "stall-after=5;seconds=0.3")
    assert events[-1].type == "response.completed"


async def test_stall_async(local_server):
    async with local_server.async_openai(max_retries=0, timeout=0.4) as client:
        with pytest.raises(openai.APITimeoutError):
            stream = await client.chat.completions.create(
                model="m", messages=MSG, stream=True, extra_headers=fault("stall-after=2;seconds=3")
            )
            async for _ in stream:
                pass


def test_slow_headers_times_out_or_just_delays(local_server):
    with pytest.raises(openai.APITimeoutError):
        local_server.openai(max_retries=0, timeout=0.3).responses.create(
            model="m", input="hi", extra_headers=fault("slow-headers=2")
        )
    with pytest.raises(anthropic.APITimeoutError):
        local_server.anthropic(max_retries=0, timeout=0.3).messages.create(
            model="m", max_tokens=50, messages=MSG, extra_headers=fault("slow-headers=2")
        )
    t0 = time.perf_counter()
    r = local_server.openai(max_retries=0).responses.create(
        model="m", input="hi", extra_headers=fault("slow-headers=0.3")
    )
    assert r.status == "completed" and time.perf_counter() - t0 >= 0.3


# -- status codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "oa_exc", "an_exc"),
    [
        (429, openai.RateLimitError, anthropic.RateLimitError),
        (500, openai.InternalServerError, anthropic.InternalServerError),
        (503, openai.InternalServerError, anthropic.ServiceUnavailableError),
        (529, openai.InternalServerError, anthropic.OverloadedError),
    ],
)
def test_status_faults_raise_the_real_typed_errors(local_server, status, oa_exc, an_exc):
    with pytest.raises(oa_exc) as info:
        local_server.openai(max_retries=0).responses.create(
            model="m", input="hi", stream=True, extra_headers=fault(f"status={status}")
        )
    assert info.value.status_code == status and "message" in info.value.body
    with pytest.raises(an_exc) as info2:
        local_server.anthropic(max_retries=0).messages.create(
            model="m", max_tokens=50, messages=MSG, extra_headers=fault(f"status={status}")
        )
    assert info2.value.status_code == status
    assert info2.value.body["type"] == "error" and "type" in info2.value.body["error"]


def test_429_retry_after_header_and_sdk_retry(local_server):
    with pytest.raises(openai.RateLimitError) as info:
        local_server.openai(max_retries=0).chat.completions.create(
            model="m", messages=MSG, extra_headers=fault("status=429;retry-after=7")
        )
    assert info.value.response.headers["retry-after"] == "7"
    assert info.value.body["code"] == "rate_limit_exceeded"
    # times=1: the first attempt fails, the SDK's own retry honours retry-after and succeeds.
    before = local_server.stats["requests"]
    t0 = time.perf_counter()
    r = local_server.openai(max_retries=2).responses.create(
        model="m", input="hi", extra_headers=fault("status=429;retry-after=1;times=1")
    )
    assert r.status == "completed"
    assert time.perf_counter() - t0 >= 0.95
    assert local_server.stats["requests"] - before == 2
    before = local_server.stats["requests"]
    m = local_server.anthropic(max_retries=2).messages.create(
        model="m",
        max_tokens=50,
        messages=MSG,
        extra_headers=fault("status=529;retry-after=0;times=2"),
    )
    assert m.stop_reason == "max_tokens" and local_server.stats["requests"] - before == 3


def test_x_should_retry_false_stops_sdk_retries(local_server):
    before = local_server.stats["requests"]
    with pytest.raises(openai.InternalServerError):
        local_server.openai(max_retries=2).responses.create(
            model="m", input="hi", extra_headers=fault("status=500;should-retry=false")
        )
    with pytest.raises(anthropic.OverloadedError):
        local_server.anthropic(max_retries=2).messages.create(
            model="m",
            max_tokens=50,
            messages=MSG,
            extra_headers=fault("status=529;should-retry=false"),
        )
    assert local_server.stats["requests"] - before == 2


def test_no_retry_once_a_stream_has_started(local_server):
    before = local_server.stats["requests"]
    with pytest.raises(openai.APIConnectionError):
        _responses(local_server.openai(max_retries=2), "drop-after=5")
    assert local_server.stats["requests"] - before == 1


# -- fragmentation ---------------------------------------------------------------


def test_tiny_writes_do_not_change_what_the_sdks_see(local_server):
    oa, an = local_server.openai(max_retries=0), local_server.anthropic(max_retries=0)
    expected = oa.responses.create(
        model="m", input="Tell me about coffee", extra_headers={"x-streamlab-tokens": "40"}
    ).output_text
    for spec in ("tiny-writes=3", "tiny-writes=7;delay-ms=0"):
        events = _responses(oa, spec)
        assert (
            "".join(e.delta for e in events if e.type == "response.output_text.delta") == expected
        )
        assert (
            "".join(c.choices[0].delta.content or "" for c in _chat(oa, spec) if c.choices)
            == expected
        )
        assert (
            "".join(e.delta.text for e in _messages(an, spec) if e.type == "content_block_delta")
            == expected
        )


def test_tiny_writes_really_fragment_the_wire(local_server):
    # Ask for café in the JSON so a multi-byte character is on the wire.
    body = {
        "model": "m",
        "stream": True,
        "messages": [{"role": "user", "content": "Tell me about coffee"}],
        "response_format": {
            "type": "json_schema",
            "json_schema": {
                "name": "x",
                "schema": {
                    "type": "object",
                    "properties": {"place": {"const": "café ☕"}},
                    "required": ["place"],
                },
            },
        },
    }
    pieces = []
    with (
        httpx.Client(timeout=10) as http,
        http.stream(
            "POST",
            local_server.openai_base_url + "/chat/completions",
            json=body,
            headers=fault("tiny-writes=3;delay-ms=1"),
        ) as response,
    ):
        for piece in response.iter_raw():
            pieces.append(piece)
    data = b"".join(pieces)
    assert "é".encode() in data and "☕".encode() in data  # raw UTF-8, as the real APIs send
    assert len(pieces) > len(data) / 8  # mostly separate reads
    undecodable = 0
    for p in pieces:
        try:
            p.decode()
        except UnicodeDecodeError:
            undecodable += 1
    assert undecodable >= 1, "some read should end inside a multi-byte character"
    assert any(not p.endswith(b"\n") for p in pieces)


def test_bad_fault_spec_is_a_400(local_server):
    with pytest.raises(openai.BadRequestError, match="unknown fault"):
        local_server.openai(max_retries=0).responses.create(
            model="m", input="hi", extra_headers=fault("explode=1")
        )


# -- disconnects ---------------------------------------------------------------


def _wait_idle(server, timeout=10.0) -> dict:
    """The server's stats once no generation runs any more (or after ``timeout`` seconds)."""
    wait_until(lambda: not server.stats["active_generations"], timeout)
    return server.stats


def test_client_disconnect_cancels_generation_promptly():
    # At 20 tokens/s the answers run for seconds: each one must end cancelled, not completed.
    with serve(ttft_ms=0, tokens_per_second=20, jitter_ms=0) as server:
        oa, an = server.openai(max_retries=0), server.anthropic(max_retries=0)
        stream = oa.responses.create(model="m", input="a long detailed story", stream=True)
        for event in stream:
            if event.type == "response.output_text.delta":
                break
        assert server.stats["active_generations"] == 1
        stream.close()
        stats = _wait_idle(server)
        assert (stats["active_generations"], stats["cancelled"], stats["completed"]) == (0, 1, 0)
        with an.messages.stream(model="m", max_tokens=500, messages=MSG) as s:
            next(iter(s.text_stream))
            assert server.stats["active_generations"] == 1
        stats = _wait_idle(server)
        assert (stats["active_generations"], stats["cancelled"], stats["completed"]) == (0, 2, 0)
        # Non-streamed requests are cancelled too when the client gives up.
        with pytest.raises(openai.APITimeoutError):
            server.openai(max_retries=0, timeout=0.3).responses.create(
                model="m", input="a long story"
            )
        stats = _wait_idle(server)
        assert (stats["active_generations"], stats["cancelled"], stats["completed"]) == (0, 3, 0)


async def test_async_disconnect_cancels_many_streams():
    import asyncio

    with serve(ttft_ms=0, tokens_per_second=50, jitter_ms=0) as server:
        async with server.async_openai(max_retries=0) as client:

            async def one(i):
                stream = await client.chat.completions.create(
                    model="m", messages=MSG, stream=True, extra_headers={"x-streamlab-seed": str(i)}
                )
                async for chunk in stream:
                    if chunk.choices and chunk.choices[0].delta.content:
                        break
                await stream.close()

            await asyncio.gather(*(one(i) for i in range(20)))
        deadline = time.monotonic() + 10
        while server.stats["active_generations"] and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert server.stats["active_generations"] == 0
        assert server.stats["cancelled"] == 20
