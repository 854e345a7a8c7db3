"""Fuzzing the three APIs' JSON bodies: never a 5xx, every error in the provider's shape.

Hypothesis builds bodies from the real field names (``messages``, ``tools``,
``text.format``, ``thinking`` ...) with values that are sometimes plausible and
sometimes any JSON at all (NaN, huge integers, lone surrogates, wrong types,
nesting), plus bodies that are random JSON. Every answer is read in full from
one real server: a 4xx must be the provider's error body, a 200 must be a
complete answer (a stream that breaks off half-way is a server crash too), and
the same server must still answer normally afterwards.
"""

from __future__ import annotations

import json
import os

import httpx
import pytest
from _support import wait_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlab.provider import serve

PATHS = {
    "responses": "/v1/responses",
    "chat": "/v1/chat/completions",
    "messages": "/v1/messages",
}
# Examples per API and kind: bounded so that the module runs in under 30 s.
# STREAMLAB_FUZZ_EXAMPLES=2000 searches longer (locally, not in CI).
EXAMPLES = int(os.environ.get("STREAMLAB_FUZZ_EXAMPLES", "40"))

# -- any JSON ------------------------------------------------------------------------

_STRINGS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "hi", "\ud800", "caf\udfff", "get_weather", "auto", "user", "0"]),
)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 2, 1024, 10**6, 10**12, 2**63, 10**40]),
    st.floats(allow_nan=True, allow_infinity=True),  # json.dumps writes NaN / Infinity
    _STRINGS,
)
JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_STRINGS, inner, max_size=4),
    max_leaves=12,
)


def obj(required: dict | None = None, optional: dict | None = None) -> st.SearchStrategy:
    return st.fixed_dictionaries(required or {}, optional=optional or {})


# -- plausible bodies, with the real field names ----------------------------------------

PLAIN = st.text(max_size=12)  # text() makes no lone surrogates
SCHEMA_TYPES = st.sampled_from(
    ["object", "array", "string", "integer", "number", "boolean", "null"]
)
SCHEMA = st.recursive(
    obj(
        optional={
            "type": SCHEMA_TYPES,
            "minimum": st.integers(-5, 5),
            "maximum": st.integers(-5, 500),
            "minLength": st.integers(0, 20),
            "maxLength": st.integers(0, 20),
            "enum": st.lists(PLAIN, max_size=3),
            "format": st.sampled_from(["date", "email", "uuid", "date-time"]),
        }
    ),
    lambda inner: obj(
        optional={
            "type": SCHEMA_TYPES,
            "properties": st.dictionaries(PLAIN, inner, max_size=3),
            "required": st.lists(PLAIN, max_size=3),
            "items": inner,
            "minItems": st.integers(0, 5),
            "maxItems": st.integers(0, 5),
            "anyOf": st.lists(inner, max_size=3),
            "$defs": st.dictionaries(PLAIN, inner, max_size=2),
            "$ref": st.sampled_from(["#", "#/$defs/a", "#/$defs/x"]),
            "additionalProperties": st.booleans(),
        }
    ),
    max_leaves=6,
)
OBJECT_SCHEMA = obj(
    {"type": st.just("object"), "properties": st.dictionaries(PLAIN, SCHEMA, max_size=3)},
    {"required": st.lists(PLAIN, max_size=2)},
)
TOOL_NAME = st.sampled_from(["get_weather", "search", "x", "", "bad name!"])
PROMPT = st.sampled_from(
    ["Tell me about the ocean.", "What is the weather in Paris? Use get_weather.", "short", ""]
)
TEXT = st.one_of(PROMPT, PLAIN)
JSON_FORMAT = st.one_of(
    obj({"type": st.just("json_schema"), "name": PLAIN, "schema": SCHEMA}, {"strict": JSON}),
    obj({"type": st.sampled_from(["json_object", "text"])}),
)
COMMON_OPTIONAL = {
    "stream": st.booleans(),
    "temperature": st.floats(0, 1),
    "top_p": st.floats(0, 1),
    "metadata": st.dictionaries(PLAIN, PLAIN, max_size=2),
}

RESPONSES_INPUT_ITEM = st.one_of(
    obj(
        {"role": st.sampled_from(["user", "assistant", "system", "developer"])},
        {
            "type": st.just("message"),
            "content": st.one_of(
                PROMPT, st.lists(obj({"type": st.just("input_text"), "text": TEXT}), max_size=2)
            ),
        },
    ),
    obj(
        {"type": st.just("function_call_output"), "call_id": PLAIN, "output": TEXT},
    ),
    obj(
        {
            "type": st.just("function_call"),
            "call_id": PLAIN,
            "name": TOOL_NAME,
            "arguments": PLAIN,
        }
    ),
    obj({"type": st.just("reasoning")}, {"summary": st.lists(JSON, max_size=2)}),
)
RESPONSES = obj(
    {
        "model": st.just("m"),
        "input": st.one_of(PROMPT, st.lists(RESPONSES_INPUT_ITEM, min_size=1, max_size=3)),
    },
    {
        **COMMON_OPTIONAL,
        "instructions": TEXT,
        "max_output_tokens": st.integers(-1, 200),
        "tools": st.lists(
            obj(
                {"type": st.just("function"), "name": TOOL_NAME},
                {"description": TEXT, "parameters": OBJECT_SCHEMA, "strict": st.booleans()},
            ),
            max_size=3,
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "parallel_tool_calls": st.booleans(),
        "reasoning": obj(
            optional={
                "effort": st.sampled_from(["none", "minimal", "low", "medium", "high"]),
                "summary": st.sampled_from(["auto", "concise", "detailed"]),
            }
        ),
        "text": obj(optional={"format": JSON_FORMAT}),
        "include": st.lists(st.just("reasoning.encrypted_content"), max_size=1),
        "previous_response_id": PLAIN,
        "max_tool_calls": st.integers(0, 5),
    },
)

CHAT_MESSAGE = obj(
    {"role": st.sampled_from(["user", "assistant", "system", "developer", "tool"])},
    {
        "content": st.one_of(
            PROMPT, st.lists(obj({"type": st.just("text"), "text": TEXT}), max_size=2)
        ),
        "tool_call_id": PLAIN,
        "tool_calls": st.lists(
            obj(
                {
                    "id": PLAIN,
                    "type": st.just("function"),
                    "function": obj({"name": TOOL_NAME, "arguments": PLAIN}),
                }
            ),
            max_size=2,
        ),
    },
)
CHAT = obj(
    {"model": st.just("m"), "messages": st.lists(CHAT_MESSAGE, min_size=1, max_size=3)},
    {
        **COMMON_OPTIONAL,
        "max_tokens": st.integers(-1, 200),
        "max_completion_tokens": st.integers(-1, 200),
        "stop": st.one_of(PLAIN, st.lists(PLAIN, max_size=3)),
        "seed": st.integers(-(2**64), 2**64),
        "n": st.integers(1, 2),
        "stream_options": obj(optional={"include_usage": st.booleans()}),
        "response_format": st.one_of(
            obj({"type": st.sampled_from(["json_object", "text"])}),
            obj(
                {
                    "type": st.just("json_schema"),
                    "json_schema": obj({"name": PLAIN, "schema": SCHEMA}),
                }
            ),
        ),
        "tools": st.lists(
            obj(
                {
                    "type": st.just("function"),
                    "function": obj({"name": TOOL_NAME}, {"parameters": OBJECT_SCHEMA}),
                }
            ),
            max_size=3,
        ),
        "tool_choice": st.sampled_from(["auto", "none", "required"]),
        "reasoning_effort": st.sampled_from(["low", "medium", "high"]),
        "logprobs": st.booleans(),
    },
)

ANTHROPIC_BLOCK = st.one_of(
    obj({"type": st.just("text"), "text": TEXT}),
    obj(
        {
            "type": st.just("tool_use"),
            "id": PLAIN,
            "name": TOOL_NAME,
            "input": st.dictionaries(PLAIN, JSON, max_size=2),
        }
    ),
    obj({"type": st.just("tool_result"), "tool_use_id": PLAIN}, {"content": TEXT}),
    obj({"type": st.just("thinking"), "thinking": TEXT}, {"signature": PLAIN}),
)
MESSAGES = obj(
    {
        "model": st.just("m"),
        "max_tokens": st.integers(-1, 5000),
        "messages": st.lists(
            obj(
                {
                    "role": st.sampled_from(["user", "assistant"]),
                    "content": st.one_of(PROMPT, st.lists(ANTHROPIC_BLOCK, max_size=3)),
                }
            ),
            min_size=1,
            max_size=3,
        ),
    },
    {
        **COMMON_OPTIONAL,
        "system": st.one_of(
            TEXT, st.lists(obj({"type": st.just("text"), "text": TEXT}), max_size=2)
        ),
        "stop_sequences": st.lists(PLAIN, max_size=3),
        "top_k": st.integers(-1, 100),
        "tools": st.lists(
            obj({"name": TOOL_NAME}, {"description": TEXT, "input_schema": OBJECT_SCHEMA}),
            max_size=3,
        ),
        "tool_choice": obj(
            {"type": st.sampled_from(["auto", "any", "none", "tool"])},
            {"name": TOOL_NAME, "disable_parallel_tool_use": st.booleans()},
        ),
        "thinking": obj(
            {"type": st.sampled_from(["enabled", "adaptive", "disabled"])},
            {"budget_tokens": st.integers(1000, 5000), "display": st.just("omitted")},
        ),
        "output_config": obj(optional={"format": JSON_FORMAT}),
    },
)
PLAUSIBLE = {"responses": RESPONSES, "chat": CHAT, "messages": MESSAGES}


def _slots(value: object) -> list[tuple[object, object]]:
    """Every (container, key) of a parsed JSON value, outermost first."""
    out, todo = [], [value]
    while todo:
        item = todo.pop(0)
        pairs = item.items() if isinstance(item, dict) else enumerate(item)
        for key, sub in list(pairs):
            out.append((item, key))
            if isinstance(sub, (dict, list)) and sub:
                todo.append(sub)
    return out


@st.composite
def corrupted(draw: st.DrawFn, plausible: st.SearchStrategy) -> dict:
    """A plausible body with one or two values, anywhere in it, replaced by any JSON."""
    body = draw(plausible)
    for _ in range(draw(st.integers(1, 2))):
        container, key = draw(st.sampled_from(_slots(body)))
        container[key] = draw(JSON)  # type: ignore[index]
    return body


# -- the checks ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_server():
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            yield server, client


def assert_provider_error(api: str, r: httpx.Response) -> None:
    body = r.json()
    if api == "messages":
        assert body.get("type") == "error", body
        assert isinstance(body["error"]["type"], str) and body["error"]["message"], body
    else:
        assert set(body) == {"error"}, body
        assert set(body["error"]) == {"message", "type", "param", "code"}, body
        assert body["error"]["message"], body


def assert_complete(api: str, r: httpx.Response) -> None:
    """A 200 is a whole answer: parseable JSON, or a stream that ends as the API ends it."""
    if not r.headers["content-type"].startswith("text/event-stream"):
        assert isinstance(r.json(), dict)
        return
    text = r.text
    if api == "chat":
        assert text.rstrip().endswith("data: [DONE]"), text[-300:]
        return
    last = json.loads(text.rstrip().rsplit("\ndata: ", 1)[1])
    ends = (
        ("message_stop",)
        if api == "messages"
        else ("response.completed", "response.incomplete", "response.failed")
    )
    assert last["type"] in ends, text[-300:]


def send(client: httpx.Client, api: str, body: object) -> httpx.Response:
    content = json.dumps(body).encode()  # ASCII: lone surrogates go as \ud800 escapes
    return client.post(
        PATHS[api],
        content=content,
        headers={"content-type": "application/json", "x-streamlab-tokens": "12"},
    )


def check(api: str, client: httpx.Client, body: object) -> None:
    r = send(client, api, body)
    assert r.status_code < 500, (r.status_code, r.text[:300])
    assert "Traceback" not in r.text
    if r.status_code >= 400:
        assert_provider_error(api, r)
    else:
        assert r.status_code == 200, r.status_code
        assert_complete(api, r)


def assert_still_serving(server, client: httpx.Client, api: str) -> None:
    normal = {
        "responses": {"model": "m", "input": "hi", "stream": True},
        "chat": {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
        "messages": {
            "model": "m",
            "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
    }[api]
    r = send(client, api, normal)
    assert r.status_code == 200
    assert_complete(api, r)
    wait_for(lambda: server.stats["active_generations"] == 0, 10)


BODIES = {
    False: PLAUSIBLE,
    True: {api: corrupted(plausible) for api, plausible in PLAUSIBLE.items()},
}
FUZZ = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("wild", [False, True], ids=["plausible", "wild"])
@pytest.mark.parametrize("api", list(PATHS))
def test_structured_bodies_never_get_a_5xx(fuzz_server, api, wild):
    server, client = fuzz_server

    @settings(FUZZ, max_examples=EXAMPLES)
    @given(body=BODIES[wild][api])
    def run(body):
        check(api, client, body)

    run()
    assert_still_serving(server, client, api)


@pytest.mark.parametrize("api", list(PATHS))
def test_random_json_bodies_never_get_a_5xx(fuzz_server, api):
    server, client = fuzz_server

    @settings(FUZZ, max_examples=EXAMPLES // 2)
    @given(body=JSON)
    def run(body):
        check(api, client, body)

    run()
    assert_still_serving(server, client, api)
