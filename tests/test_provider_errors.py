"""Bad requests, unknown endpoints and API keys get the providers' own error shapes."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest

from streamlab.provider import serve


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"input": "hi"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": 3, "input": "hi"}, "model"),
        ({"model": "m", "input": 42}, "input"),
        ({"model": "m", "input": "hi", "max_output_tokens": "ten"}, "max_output_tokens"),
        ({"model": "m", "input": "hi", "max_output_tokens": 0}, "max_output_tokens"),
    ],
)
def test_responses_bad_requests(local_server, kwargs, param):
    client = local_server.openai(max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.post("/responses", body=kwargs, cast_to=object)
    assert info.value.body["param"] == param
    assert set(info.value.body) == {"message", "type", "param", "code"}


def test_chat_and_messages_bad_requests(local_server):
    with pytest.raises(openai.BadRequestError, match="messages"):
        local_server.openai(max_retries=0).chat.completions.create(model="m", messages=[])
    with pytest.raises(openai.BadRequestError, match="stream_options"):
        local_server.openai(max_retries=0).chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "x"}],
            stream_options={"include_usage": True},
        )
    client = local_server.anthropic(max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as info:
        client.post(
            "/v1/messages",
            body={"model": "m", "messages": [{"role": "user", "content": "x"}]},
            cast_to=object,
        )
    assert info.value.body["type"] == "error"
    assert info.value.body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in info.value.body["error"]["message"]


@pytest.mark.parametrize("path", ["/v1/responses", "/v1/chat/completions", "/v1/messages"])
def test_invalid_json_is_a_400_not_a_traceback(local_server, path):
    r = httpx.post(
        local_server.base_url + path,
        content=b"{not json",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400
    body = r.json()
    message = body["error"]["message"]
    assert "JSON" in message and "Traceback" not in r.text
    if path == "/v1/messages":
        assert body["type"] == "error"


def test_unknown_endpoint_is_404_for_both_sdks(local_server):
    with pytest.raises(openai.NotFoundError):
        local_server.openai(max_retries=0).post("/nope", body={}, cast_to=object)
    with pytest.raises(anthropic.NotFoundError) as info:
        local_server.anthropic(max_retries=0).post("/v1/messages/nope", body={}, cast_to=object)
    assert info.value.body["error"]["type"] == "not_found_error"
    r = httpx.get(local_server.base_url + "/v1/responses")
    assert r.status_code == 405 and "error" in r.json()


def test_api_key_when_server_has_one():
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0, api_key="sk-right") as server:
        assert "sk-right" not in repr(server)
        # The server's own clients carry its key.
        assert (
            server.openai(max_retries=0).responses.create(model="m", input="hi").status
            == "completed"
        )
        assert (
            server.anthropic(max_retries=0)
            .messages.create(model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
            .stop_reason
        )
        with pytest.raises(openai.AuthenticationError) as info:
            server.openai(max_retries=0, api_key="sk-wrong").responses.create(model="m", input="hi")
        assert "sk-wrong" not in str(info.value) and "sk-right" not in str(info.value)
        with pytest.raises(anthropic.AuthenticationError) as info2:
            server.anthropic(max_retries=0, api_key="sk-wrong").messages.create(
                model="m", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
            )
        assert info2.value.body["error"]["type"] == "authentication_error"
        # Older clients and the docs use x-api-key: accepted too.
        body = {"model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}]}
        assert (
            httpx.post(
                server.base_url + "/v1/messages", json=body, headers={"x-api-key": "sk-right"}
            ).status_code
            == 200
        )
        assert (
            httpx.post(
                server.base_url + "/v1/messages", json=body, headers={"x-api-key": "nope"}
            ).status_code
            == 401
        )
        assert httpx.post(server.base_url + "/v1/messages", json=body).status_code == 401


def test_any_key_accepted_by_default(local_server):
    assert (
        local_server.openai(max_retries=0, api_key="whatever")
        .responses.create(model="m", input="hi")
        .status
    )


BIG = "Tell me about the ocean. " * (5 * 1024 * 1024 // 25)  # 5 MiB: above the 4 MiB cap
USER_BIG = [{"role": "user", "content": BIG}]
USER = [{"role": "user", "content": "hi"}]
SDK_CALLS = {
    # (id): (sdk, call(client), status, the SDK's error class)
    "responses-too-large": (
        "openai",
        lambda c: c.responses.create(model="m", input=BIG),
        413,
        openai.APIStatusError,
    ),
    "chat-too-large": (
        "openai",
        lambda c: c.chat.completions.create(model="m", messages=USER_BIG),
        413,
        openai.APIStatusError,
    ),
    "messages-too-large": (
        "anthropic",
        lambda c: c.messages.create(model="m", max_tokens=50, messages=USER_BIG),
        413,
        anthropic.ContentTooLargeError,
    ),
    "responses-temperature": (
        "openai",
        lambda c: c.responses.create(model="m", input="hi", temperature="hot"),
        400,
        openai.BadRequestError,
    ),
    "responses-top-p": (
        "openai",
        lambda c: c.responses.create(model="m", input="hi", top_p=[1]),
        400,
        openai.BadRequestError,
    ),
    "chat-stop": (
        "openai",
        lambda c: c.chat.completions.create(model="m", messages=USER, stop=[1]),
        400,
        openai.BadRequestError,
    ),
    "messages-stop-sequences": (
        "anthropic",
        lambda c: c.messages.create(model="m", max_tokens=50, messages=USER, stop_sequences=[1]),
        400,
        anthropic.BadRequestError,
    ),
    "messages-top-k": (
        "anthropic",
        lambda c: c.messages.create(
            model="m", max_tokens=50, messages=USER, extra_body={"top_k": "many"}
        ),
        400,
        anthropic.BadRequestError,
    ),
}


@pytest.fixture(scope="module")
def counting_server():
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        yield server


@pytest.mark.parametrize("case", list(SDK_CALLS))
def test_too_large_and_mistyped_bodies_are_4xx_the_sdks_do_not_retry(counting_server, case):
    # The SDKs retry twice on >= 500 (and on connection errors): a body the server
    # cannot use must be one 4xx that the SDK raises at once, one request in all.
    sdk, call, status, error = SDK_CALLS[case]
    client = getattr(counting_server, sdk)()  # the SDK's default: max_retries=2
    before = counting_server.stats["requests"]
    with pytest.raises(error) as info:
        call(client)
    assert info.value.status_code == status
    assert counting_server.stats["requests"] - before == 1, "the SDK retried"
    assert "Traceback" not in str(info.value.body)
