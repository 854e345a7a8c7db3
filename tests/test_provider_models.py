"""The model table: a real model name is refused what the real model refuses, as the real API refuses it.

Through the real SDKs, on HTTP and the Responses WebSocket; names the table
does not know (``streamlab-local``) keep accepting everything. (anthropic 2.17
has no ``temperature`` / ``top_k`` arguments any more: they go in ``extra_body``.)
"""

from __future__ import annotations

import anthropic
import openai
import pytest

from streamlab.provider.models import capabilities

HI = [{"role": "user", "content": "Hi"}]


def _openai_error(call) -> dict:
    with pytest.raises(openai.BadRequestError) as info:
        call()
    return info.value.body


@pytest.mark.parametrize(
    "api, model, extra, param, code, words",
    [
        ("responses", "gpt-4.1-mini", {"reasoning": {"effort": "low"}}, "reasoning.effort", "unsupported_parameter", "not supported with this model"),
        ("chat", "gpt-4o", {"reasoning_effort": "low"}, "reasoning_effort", "unsupported_parameter", "not supported with this model"),
        ("chat", "gpt-5-mini", {"max_tokens": 50}, "max_tokens", "unsupported_parameter", "Use 'max_completion_tokens' instead"),
        ("chat", "o3-mini", {"temperature": 0.2}, "temperature", "unsupported_value", "Only the default (1) value"),
        ("responses", "gpt-5-mini", {"top_p": 0.5}, "top_p", "unsupported_value", "Only the default (1) value"),
        ("responses", "gpt-5.1", {"reasoning": {"effort": "minimal"}}, "reasoning.effort", "unsupported_value", "'none', 'low', 'medium', 'high'"),
        ("responses", "gpt-5-mini", {"reasoning": {"effort": "none"}}, "reasoning.effort", "unsupported_value", "'minimal', 'low'"),
    ],
)  # fmt: skip
def test_openai_refuses_what_the_model_refuses(local_server, api, model, extra, param, code, words):
    client = local_server.openai(max_retries=0)
    if api == "responses":
        body = _openai_error(lambda: client.responses.create(model=model, input="Hi", **extra))
    else:
        body = _openai_error(
            lambda: client.chat.completions.create(model=model, messages=HI, **extra)
        )
    assert (
        body["param"] == param and body["code"] == code and body["type"] == "invalid_request_error"
    )
    assert words in body["message"] and param in body["message"]
    # The same request streamed is refused before the stream starts, the same way.
    if api == "responses":
        streamed = _openai_error(
            lambda: client.responses.create(model=model, input="Hi", stream=True, **extra)
        )
        assert streamed == body


@pytest.mark.parametrize(
    "model, extra",
    [
        ("gpt-5-mini", {"reasoning": {"effort": "minimal"}, "temperature": 1}),
        (
            "gpt-5.1",
            {"reasoning": {"effort": "none"}, "temperature": 0.2},
        ),  # sampling with no reasoning
        ("gpt-5.5-2026-04-23", {"reasoning": {"effort": "xhigh", "summary": "auto"}}),
        ("gpt-4.1-mini", {"temperature": 0.2}),
        ("streamlab-local", {"reasoning": {"effort": "minimal"}, "temperature": 0.2}),
        ("my-ollama-model", {"reasoning": {"effort": "high"}, "top_p": 0.3}),
    ],
)
def test_openai_accepts_what_the_model_takes(local_server, model, extra):
    response = local_server.openai(max_retries=0).responses.create(model=model, input="Hi", **extra)
    assert response.status == "completed" and response.model == model


def _anthropic_error(call) -> str:
    with pytest.raises(anthropic.BadRequestError) as info:
        call()
    body = info.value.body
    assert body["type"] == "error" and body["error"]["type"] == "invalid_request_error"
    return body["error"]["message"]


@pytest.mark.parametrize(
    "model, extra, words",
    [
        ("claude-opus-4-7", {"thinking": {"type": "enabled", "budget_tokens": 2048}}, 'Use "thinking.type.adaptive" and "output_config.effort"'),
        ("claude-sonnet-5", {"thinking": {"type": "enabled", "budget_tokens": 2048}}, '"thinking.type.enabled" is not supported for this model'),
        ("claude-haiku-4-5", {"thinking": {"type": "adaptive"}}, '"thinking.type.adaptive" is not supported for this model'),
        ("claude-haiku-4-5", {"output_config": {"effort": "low"}}, '"output_config.effort" is not supported'),
        ("streamlab-local", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "extreme"}}, "output_config.effort: Input should be"),
        ("claude-sonnet-4-6", {"thinking": {"type": "adaptive"}, "extra_body": {"temperature": 0.5}}, "`temperature` may only be set to 1"),
        ("claude-sonnet-4-5-20250929", {"thinking": {"type": "enabled", "budget_tokens": 2048}, "extra_body": {"top_k": 5}}, "`top_k` is not supported"),
    ],
)  # fmt: skip
def test_anthropic_refuses_what_the_model_refuses(local_server, model, extra, words):
    client = local_server.anthropic(max_retries=0)
    message = _anthropic_error(
        lambda: client.messages.create(model=model, max_tokens=4096, messages=HI, **extra)
    )
    assert words in message


@pytest.mark.parametrize(
    "model, extra",
    [
        ("claude-sonnet-4-6", {"thinking": {"type": "enabled", "budget_tokens": 2048}}),  # deprecated, still taken
        ("claude-sonnet-4-6", {"thinking": {"type": "adaptive"}, "output_config": {"effort": "low"}}),
        ("claude-opus-4-5", {"thinking": {"type": "enabled", "budget_tokens": 2048}, "output_config": {"effort": "high"}}),
        ("claude-haiku-4-5", {"thinking": {"type": "enabled", "budget_tokens": 2048}, "extra_body": {"temperature": 1}}),
        ("claude-haiku-4-5", {"extra_body": {"temperature": 0.2}}),  # no thinking: any temperature
        ("streamlab-local", {"thinking": {"type": "adaptive"}, "extra_body": {"temperature": 0.5, "top_k": 3}}),
    ],
)  # fmt: skip
def test_anthropic_accepts_what_the_model_takes(local_server, model, extra):
    message = local_server.anthropic(max_retries=0).messages.create(
        model=model, max_tokens=4096, messages=HI, **extra
    )
    assert message.stop_reason == "end_turn" and message.model == model
    if "thinking" in extra:
        assert message.content[0].type == "thinking"


def test_websocket_mode_refuses_the_same(local_server):
    """A response.create over the socket gets an error event; the socket stays usable."""
    client = local_server.openai(max_retries=0)
    with client.responses.connect() as conn:
        conn.response.create(model="gpt-4.1-mini", input="Hi", reasoning={"effort": "low"})
        error = next(iter(conn))
        assert error.type == "error" and error.error.param == "reasoning.effort"
        assert error.error.code == "unsupported_parameter"
        conn.response.create(model="gpt-5-mini", input="Hi", reasoning={"effort": "low"})
        kinds = []
        for event in conn:
            kinds.append(event.type)
            if event.type == "response.completed":
                break
        assert (
            kinds[0] == "response.created" and "response.reasoning_summary_part.added" not in kinds
        )


def test_the_table_knows_dated_and_minor_releases():
    assert capabilities("claude-opus-4-20250514").thinking == ("enabled",)
    assert capabilities("claude-opus-4-1-20250805").thinking == ("enabled",)
    assert capabilities("claude-opus-4-8").thinking == ("adaptive",)
    assert capabilities("gpt-5-mini-2025-08-07").efforts[0] == "minimal"
    assert capabilities("gpt-5.2").efforts[-1] == "xhigh"
    assert capabilities("openai/gpt-4o").efforts == ()
    assert capabilities("streamlab-local") is None and capabilities("llama3.2") is None
