"""Property tests: tool arguments are valid for any schema of the supported subset.

Schemas are drawn by hypothesis from the subset ``streamlab.provider`` documents
(objects, arrays, strings with length/enum/format, bounded numbers, booleans,
null, const, enum, anyOf, nullable type lists). The arguments must validate
with ``jsonschema``; and the Responses stream of the call, cut into arbitrary
byte chunks and decoded with the SSE decoder, must rebuild exactly those
arguments, every prefix of which ``jiter`` (the SDKs' partial parser) accepts.
"""

from __future__ import annotations

import json

import jiter
import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streamlab.provider import tools as T
from streamlab.provider.config import RequestControls
from streamlab.provider.openai_responses import plan_response
from streamlab.sse import SSEDecoder

NAMES = st.sampled_from(
    ["city", "location", "query", "unit", "name", "email", "date", "id", "url", "title", "tags",
     "count", "country", "timezone", "x", "notes", "items", "q"]
)  # fmt: skip


def strings() -> st.SearchStrategy[dict]:
    def build(lo, extra, fmt, enum):
        node: dict = {"type": "string"}
        if enum:
            return {"type": "string", "enum": enum}
        if fmt:  # a format fixes the length: no length bounds with it
            return {"type": "string", "format": fmt}
        if lo is not None:
            node["minLength"] = lo
        if extra is not None:
            node["maxLength"] = (lo or 0) + extra
        return node

    return st.builds(
        build,
        st.none() | st.integers(0, 12),
        st.none() | st.integers(0, 20),
        st.none() | st.sampled_from(["date", "date-time", "email", "uuid"]),
        st.none() | st.lists(st.text(max_size=8), min_size=1, max_size=4, unique=True),
    )


def numbers() -> st.SearchStrategy[dict]:
    def build(kind, lo, span):
        node: dict = {"type": kind}
        if lo is not None:
            node["minimum"] = lo
            if span is not None:
                node["maximum"] = lo + span
        return node

    return st.builds(
        build,
        st.sampled_from(["integer", "number"]),
        st.none() | st.integers(-1000, 1000),
        st.none() | st.integers(0, 500),
    )


LEAVES = (
    strings()
    | numbers()
    | st.just({"type": "boolean"})
    | st.just({"type": "null"})
    | st.builds(lambda v: {"const": v}, st.integers() | st.text(max_size=5))
    | st.builds(
        lambda v: {"enum": v}, st.lists(st.integers() | st.booleans(), min_size=1, max_size=3)
    )
    | st.builds(lambda n: {**n, "type": [n["type"], "null"]}, strings())
)


def extend(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    def obj(props, data):
        names = list(props)
        required = data.draw(st.lists(st.sampled_from(names), unique=True)) if names else []
        return {
            "type": "object",
            "properties": props,
            "required": required,
            "additionalProperties": False,
        }

    def arr(item, lo, extra):
        return {"type": "array", "items": item, "minItems": lo, "maxItems": lo + extra}

    return (
        st.builds(obj, st.dictionaries(NAMES, children, max_size=4), st.data())
        | st.builds(arr, children, st.integers(0, 3), st.integers(0, 3))
        | st.builds(lambda bs: {"anyOf": bs}, st.lists(children, min_size=1, max_size=3))
    )


SCHEMAS = st.recursive(LEAVES, extend, max_leaves=12)
OBJECT_SCHEMAS = st.builds(
    lambda props: {"type": "object", "properties": props, "required": list(props)},
    st.dictionaries(NAMES, SCHEMAS, max_size=5),
)
PROMPTS = st.sampled_from(
    ["What is the weather in Lisbon?", "find coral reefs", "", "Tell me about the ocean"]
)


def validate(schema: dict, value: object) -> None:
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        value
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=OBJECT_SCHEMAS, prompt=PROMPTS, seed=st.integers(0, 2**32))
def test_arguments_validate(schema, prompt, seed):
    tool = T.make_tool("tools[0]", "my_tool", "a tool", schema, "parameters")
    validate(schema, T.arguments(tool, prompt, seed))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=OBJECT_SCHEMAS, prompt=PROMPTS, cuts=st.lists(st.integers(0, 10_000), max_size=30))
def test_streamed_arguments_under_any_chunking(schema, prompt, cuts):
    body = {
        "model": "m",
        "input": prompt or "hi",
        "stream": True,
        "tools": [{"type": "function", "name": "my_tool", "parameters": schema}],
        "tool_choice": {"type": "function", "name": "my_tool"},
    }
    turn = plan_response(body, RequestControls(ttft_ms=0, tokens_per_second=0, jitter_ms=0, seed=1))
    wire = b"".join(data for data, _ in turn.frames())
    points = sorted({c % (len(wire) + 1) for c in cuts})
    decoder, events = SSEDecoder(), []
    for a, b in zip([0, *points], [*points, len(wire)], strict=True):
        events += decoder.feed(wire[a:b])
    events += decoder.close()
    payloads = [json.loads(e.data) for e in events]
    assert [e.event for e in events] == [p["type"] for p in payloads]
    deltas = [p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"]
    done = next(p for p in payloads if p["type"] == "response.function_call_arguments.done")
    assert "".join(deltas) == done["arguments"]
    for i in range(1, len(deltas)):
        jiter.from_json("".join(deltas[:i]).encode(), partial_mode="trailing-strings")
    validate(schema, json.loads(done["arguments"]))
    assert payloads[-1]["response"]["output"][0]["arguments"] == done["arguments"]


@settings(max_examples=100, deadline=None)
@given(schema=OBJECT_SCHEMAS, seed=st.integers(0, 1000))
def test_anthropic_and_chat_arguments_are_the_same_value(schema, seed):
    tool = T.make_tool("tools[0]", "my_tool", "", schema, "parameters")
    h = T.History(prompt="go")
    (a,) = T.make_calls([tool], h, seed, api="messages", id_prefix="toolu_")
    (c,) = T.make_calls([tool], h, seed, api="chat", id_prefix="call_")
    assert a.input == c.input and "".join(a.fragments) == a.arguments
    validate(schema, a.input)
