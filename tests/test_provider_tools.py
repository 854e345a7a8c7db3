"""Tool calls from the local provider through the real SDKs: streamed arguments, agent loops.

Sync and async clients, on the three APIs: the SDKs' own stream helpers
rebuild every call from the argument deltas, and a loop that sends the
results back ends with a text answer that uses them.
"""

from __future__ import annotations

import json

import anthropic
import openai
import pytest
from pydantic import BaseModel

WEATHER = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city", "unit"],
    "additionalProperties": False,
}
TIME = {
    "type": "object",
    "properties": {"timezone": {"type": "string"}},
    "required": ["timezone"],
    "additionalProperties": False,
}
ASK = "What is the weather in Lisbon right now?"
BOTH = "Check the weather in Lisbon and the local time there."


def responses_tools() -> list[dict]:
    return [
        {
            "type": "function",
            "name": "get_weather",
            "description": "Current weather for a city",
            "parameters": WEATHER,
            "strict": True,
        },
        {
            "type": "function",
            "name": "get_time",
            "description": "Local time in a timezone",
            "parameters": TIME,
            "strict": True,
        },
    ]


def chat_tools() -> list[dict]:
    return [
        {"type": "function", "function": {k: v for k, v in t.items() if k != "type"}}
        for t in responses_tools()
    ]


def anthropic_tools() -> list[dict]:
    return [
        {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
        for t in responses_tools()
    ]


class GetWeather(BaseModel):
    """Current weather for a city."""

    city: str
    days: int


# -- Responses ----------------------------------------------------------------------


def test_responses_stream_tool_call_arguments(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.stream(model="m", input=ASK, tools=responses_tools()) as stream:
        events = list(stream)
        final = stream.get_final_response()
    deltas = [e for e in events if e.type == "response.function_call_arguments.delta"]
    assert len(deltas) > 3, "arguments must come in small fragments"
    calls = [o for o in final.output if o.type == "function_call"]
    assert [c.name for c in calls] == ["get_weather"]
    assert calls[0].arguments == "".join(d.delta for d in deltas)
    args = json.loads(calls[0].arguments)
    assert args["city"] == "Lisbon" and args["unit"] in ("celsius", "fahrenheit")
    assert calls[0].parsed_arguments == args  # strict tools are parsed by the helper
    added = next(e for e in events if e.type == "response.output_item.added")
    assert added.item.arguments == "" and added.item.status == "in_progress"
    assert {d.item_id for d in deltas} == {added.item.id} and deltas[0].output_index == 0
    done = next(e for e in events if e.type == "response.function_call_arguments.done")
    assert done.arguments == calls[0].arguments
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert final.status == "completed" and final.output_text == ""


def test_responses_parallel_calls_have_their_own_output_index(local_server):
    client = local_server.openai(max_retries=0)
    events = list(
        client.responses.create(model="m", input=BOTH, tools=responses_tools(), stream=True)
    )
    added = [e for e in events if e.type == "response.output_item.added"]
    assert [(e.output_index, e.item.name) for e in added] == [(0, "get_weather"), (1, "get_time")]
    final = events[-1].response
    for e in added:
        joined = "".join(
            d.delta
            for d in events
            if d.type == "response.function_call_arguments.delta"
            and d.output_index == e.output_index
        )
        assert final.output[e.output_index].arguments == joined
    assert len({c.call_id for c in final.output}) == 2
    serial = client.responses.create(
        model="m", input=BOTH, tools=responses_tools(), parallel_tool_calls=False
    )
    assert [o.name for o in serial.output] == ["get_weather"]


def test_responses_echoes_tool_settings(local_server):
    client = local_server.openai(max_retries=0)
    r = client.responses.create(
        model="m",
        input="hello",
        tools=responses_tools(),
        tool_choice="none",
        parallel_tool_calls=False,
        reasoning={"effort": "low"},
        text={"verbosity": "low"},
    )
    assert [t.name for t in r.tools] == ["get_weather", "get_time"]
    assert r.tools[0].parameters == WEATHER and r.tools[0].strict is True
    assert r.tool_choice == "none" and r.parallel_tool_calls is False
    assert r.reasoning.effort == "low" and r.text.verbosity == "low"
    assert [o.type for o in r.output] == ["reasoning", "message"]


def _responses_loop(client, tools) -> tuple[list[str], str]:
    items: list = [{"role": "user", "content": BOTH}]
    called = []
    for _ in range(5):
        r = client.responses.create(model="m", input=items, tools=tools, parallel_tool_calls=False)
        calls = [o for o in r.output if o.type == "function_call"]
        if not calls:
            return called, r.output_text
        for call in calls:
            called.append(call.name)
            items.append(call.model_dump(exclude_none=True))
            items.append(
                {
                    "type": "function_call_output",
                    "call_id": call.call_id,
                    "output": f"{call.name}=ok42",
                }
            )
    raise AssertionError("the agent loop did not end")


def test_responses_two_round_agent_loop(local_server):
    called, text = _responses_loop(local_server.openai(max_retries=0), responses_tools())
    assert called == ["get_weather", "get_time"]
    assert "get_weather=ok42" in text and "get_time=ok42" in text


async def test_responses_tool_stream_async(local_server):
    async with local_server.async_openai(max_retries=0) as client:
        async with client.responses.stream(model="m", input=ASK, tools=responses_tools()) as s:
            deltas = [
                e.delta async for e in s if e.type == "response.function_call_arguments.delta"
            ]
            final = await s.get_final_response()
    assert final.output[0].arguments == "".join(deltas)
    assert json.loads(final.output[0].arguments)["city"] == "Lisbon"


# -- Chat Completions -----------------------------------------------------------------


def test_chat_stream_pydantic_tool(local_server):
    client = local_server.openai(max_retries=0)
    tool = openai.pydantic_function_tool(GetWeather)
    messages = [{"role": "user", "content": "What's the weather in Tokyo? Use GetWeather."}]
    with client.chat.completions.stream(model="m", messages=messages, tools=[tool]) as stream:
        events = list(stream)
        final = stream.get_final_completion()
    deltas = [e for e in events if e.type == "tool_calls.function.arguments.delta"]
    assert len(deltas) > 3
    choice = final.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    call = choice.message.tool_calls[0]
    assert call.function.arguments == "".join(d.arguments_delta for d in deltas)
    parsed = call.function.parsed_arguments
    assert isinstance(parsed, GetWeather) and parsed.city == "Tokyo"
    done = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert len(done) == 1 and done[0].parsed_arguments == parsed


def test_chat_raw_chunks_follow_the_wire_format(local_server):
    client = local_server.openai(max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": BOTH}],
            tools=chat_tools(),
            stream=True,
        )
    )
    fragments = [tc for c in chunks if c.choices for tc in c.choices[0].delta.tool_calls or []]
    firsts = [f for f in fragments if f.id is not None]
    assert [(f.index, f.function.name, f.function.arguments) for f in firsts] == [
        (0, "get_weather", ""),
        (1, "get_time", ""),
    ]
    assert all(f.type is None and f.function.name is None for f in fragments if f.id is None)
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_chat_two_round_agent_loop(local_server):
    client = local_server.openai(max_retries=0)
    messages: list = [{"role": "user", "content": BOTH}]
    called = []
    for _ in range(5):
        r = client.chat.completions.create(
            model="m", messages=messages, tools=chat_tools(), parallel_tool_calls=False
        )
        msg = r.choices[0].message
        if not msg.tool_calls:
            break
        assert r.choices[0].finish_reason == "tool_calls"
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            called.append(call.function.name)
            messages.append(
                {"role": "tool", "tool_call_id": call.id, "content": f"{call.function.name}=ok42"}
            )
    assert called == ["get_weather", "get_time"]
    assert "get_weather=ok42" in msg.content and "get_time=ok42" in msg.content


async def test_chat_tool_stream_async(local_server):
    async with local_server.async_openai(max_retries=0) as client:
        tool = openai.pydantic_function_tool(GetWeather)
        messages = [{"role": "user", "content": "Weather in Paris please"}]
        async with client.chat.completions.stream(model="m", messages=messages, tools=[tool]) as s:
            deltas = [
                e.arguments_delta
                async for e in s
                if e.type == "tool_calls.function.arguments.delta"
            ]
            final = await s.get_final_completion()
    call = final.choices[0].message.tool_calls[0]
    assert call.function.arguments == "".join(deltas)
    assert call.function.parsed_arguments.city == "Paris"


# -- Anthropic Messages -----------------------------------------------------------------


def test_anthropic_stream_input_json_snapshots(local_server):
    client = local_server.anthropic(max_retries=0)
    with client.messages.stream(
        model="m",
        max_tokens=500,
        messages=[{"role": "user", "content": ASK}],
        tools=anthropic_tools(),
    ) as stream:
        events = list(stream)
        final = stream.get_final_message()
    raw = [
        e for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    ]
    assert raw[0].delta.partial_json == "" and len(raw) > 3
    snapshots = [e.snapshot for e in events if e.type == "input_json"]
    assert snapshots[-1] == {"city": "Lisbon", "unit": snapshots[-1]["unit"]}
    sizes = [len(json.dumps(s)) for s in snapshots]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1], "the snapshot grows"
    assert final.stop_reason == "tool_use"
    assert [b.type for b in final.content] == ["text", "tool_use"]
    use = final.content[-1]
    assert use.name == "get_weather" and use.input == snapshots[-1]
    assert json.loads("".join(e.delta.partial_json for e in raw)) == use.input


def test_anthropic_two_round_agent_loop(local_server):
    client = local_server.anthropic(max_retries=0)
    messages: list = [{"role": "user", "content": BOTH}]
    called = []
    choice = {"type": "auto", "disable_parallel_tool_use": True}
    for _ in range(5):
        r = client.messages.create(
            model="m",
            max_tokens=500,
            messages=messages,
            tools=anthropic_tools(),
            tool_choice=choice,
        )
        uses = [b for b in r.content if b.type == "tool_use"]
        if not uses:
            break
        messages.append({"role": "assistant", "content": [b.model_dump() for b in r.content]})
        called += [u.name for u in uses]
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": u.id, "content": f"{u.name}=ok42"}
                    for u in uses
                ],
            }
        )
    assert called == ["get_weather", "get_time"] and r.stop_reason == "end_turn"
    assert "get_weather=ok42" in r.content[0].text and "get_time=ok42" in r.content[0].text


async def test_anthropic_tool_stream_async(local_server):
    async with local_server.async_anthropic(max_retries=0) as client:
        async with client.messages.stream(
            model="m",
            max_tokens=500,
            messages=[{"role": "user", "content": BOTH}],
            tools=anthropic_tools(),
            tool_choice={"type": "any"},
        ) as stream:
            snapshots = [e.snapshot async for e in stream if e.type == "input_json"]
            final = await stream.get_final_message()
    uses = [b for b in final.content if b.type == "tool_use"]
    assert [u.name for u in uses] == ["get_weather", "get_time"]
    assert final.content[0].type == "tool_use", "a forced call has no text before it"
    assert snapshots[-1] == uses[-1].input


# -- the calling rule -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "prompt", "expected"),
    [
        ("auto", "Tell me about the ocean", []),
        ("none", ASK, []),
        ("required", "Tell me about the ocean", ["get_weather"]),
        ({"type": "function", "name": "get_time"}, ASK, ["get_time"]),
        ("auto", "What time is it in Tokyo? Use get_time.", ["get_time"]),
        ("auto", "Which timezone is Tokyo in?", ["get_time"]),  # a description word
    ],
)
def test_calling_rule(local_server, choice, prompt, expected):
    client = local_server.openai(max_retries=0)
    r = client.responses.create(
        model="m", input=prompt, tools=responses_tools(), tool_choice=choice
    )
    assert [o.name for o in r.output if o.type == "function_call"] == expected
    if not expected:
        assert r.output_text


def test_query_argument_gets_the_prompt(local_server):
    client = local_server.openai(max_retries=0)
    search = {
        "type": "function",
        "name": "web_lookup",
        "description": "Look something up",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    }
    r = client.responses.create(model="m", input="lookup: coral reefs", tools=[search])
    assert json.loads(r.output[0].arguments) == {"query": "lookup: coral reefs"}


def test_tool_results_in_json_mode_answer_json(local_server):
    client = local_server.openai(max_retries=0)
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
    first = client.responses.create(model="m", input=ASK, tools=responses_tools())
    call = first.output[0]
    r = client.responses.create(
        model="m",
        input=[
            {"role": "user", "content": ASK},
            call.model_dump(exclude_none=True),
            {"type": "function_call_output", "call_id": call.call_id, "output": "sunny"},
        ],
        tools=responses_tools(),
        text={"format": {"type": "json_schema", "name": "r", "schema": schema, "strict": True}},
    )
    assert isinstance(json.loads(r.output_text)["ok"], bool)


# -- prompted JSON ------------------------------------------------------------------


class City(BaseModel):
    name: str
    population: int


def test_prompted_json_follows_the_schema_in_the_system_prompt(local_server):
    schema = json.dumps(City.model_json_schema())
    system = (
        f"Always respond with a JSON object compatible with this schema:\n\n{schema}\n\nNo prose."
    )
    client = local_server.openai(max_retries=0)
    chat = client.chat.completions.create(
        model="m",
        messages=[{"role": "system", "content": system}, {"role": "user", "content": "Lisbon"}],
        response_format={"type": "json_object"},
    )
    City.model_validate_json(chat.choices[0].message.content)
    resp = client.responses.create(
        model="m", instructions=system, input="Lisbon", text={"format": {"type": "json_object"}}
    )
    City.model_validate_json(resp.output_text)
    msg = local_server.anthropic(max_retries=0).messages.create(
        model="m", max_tokens=300, system=system, messages=[{"role": "user", "content": "Lisbon"}]
    )
    City.model_validate_json(msg.content[0].text)


# -- bad tool definitions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("tools", "choice", "param"),
    [
        (
            [{"type": "function", "name": "f", "parameters": {"type": "string"}}],
            None,
            "tools[0].parameters",
        ),
        (
            [{"type": "function", "name": "f"}, {"type": "function", "name": "f"}],
            None,
            "tools[1].name",
        ),
        (
            [{"type": "function", "name": "f"}],
            {"type": "function", "name": "g"},
            "tool_choice.name",
        ),
        ([{"type": "web_search"}], None, "tools[0].type"),
        ([{"type": "function", "name": "bad name!"}], None, "tools[0].name"),
        (
            [
                {
                    "type": "function",
                    "name": "f",
                    "parameters": {"type": "object", "required": ["x"]},
                }
            ],
            None,
            "tools[0].parameters",
        ),
    ],
)
def test_responses_bad_tools_are_400(local_server, tools, choice, param):
    client = local_server.openai(max_retries=0)
    kwargs = {"tool_choice": choice} if choice else {}
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(model="m", input="hi", tools=tools, **kwargs)
    assert info.value.body["param"] == param


def test_unknown_tool_result_ids_are_400(local_server):
    client = local_server.openai(max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.responses.create(
            model="m",
            input=[
                {"role": "user", "content": "hi"},
                {"type": "function_call_output", "call_id": "call_nope", "output": "x"},
            ],
        )
    assert "call_nope" in info.value.message and info.value.body["param"] == "input[1].call_id"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="m",
            messages=[
                {"role": "user", "content": "hi"},
                {"role": "tool", "tool_call_id": "call_nope", "content": "x"},
            ],
        )
    assert info.value.body["param"] == "messages[1].tool_call_id"
    with pytest.raises(anthropic.BadRequestError) as ainfo:
        local_server.anthropic(max_retries=0).messages.create(
            model="m",
            max_tokens=100,
            messages=[
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x"}]}
            ],
        )
    assert "toolu_x" in ainfo.value.message and "tool_use" in ainfo.value.message


def test_chat_and_anthropic_bad_tools_are_400(local_server):
    client = local_server.openai(max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": []}}],
        )
    assert info.value.body["param"] == "tools[0].function.parameters"
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(
            model="m",
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "custom", "custom": {"name": "g"}}],
        )
    assert "not supported by the local provider" in info.value.message
    ac = local_server.anthropic(max_retries=0)
    with pytest.raises(anthropic.BadRequestError) as ainfo:
        ac.messages.create(
            model="m",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            tools=[{"type": "web_search_20250305", "name": "web_search"}],
        )
    assert "not supported by the local provider" in ainfo.value.message
    with pytest.raises(anthropic.BadRequestError) as ainfo:
        ac.messages.create(
            model="m",
            max_tokens=100,
            messages=[{"role": "user", "content": "hi"}],
            tools=anthropic_tools(),
            tool_choice={"type": "tool", "name": "nope"},
        )
    assert "tool_choice.name" in ainfo.value.message
