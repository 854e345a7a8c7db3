"""stream_events / astream_events: one event vocabulary out of every API's stream.

Events are built the way the SDKs build them while streaming (their own
``construct_type`` on their own event unions), and real SDK streams come
from the local provider over real sockets.
"""

from __future__ import annotations

import anthropic
import openai
import pytest
from _support import PROMPT
from anthropic._models import construct_type as anthropic_construct
from anthropic.types import RawMessageStreamEvent
from openai._models import construct_type as openai_construct
from openai.types.chat import ChatCompletionChunk
from openai.types.responses import ResponseStreamEvent

from streamlab.deltas import EventParser, astream_events, stream_events, text_deltas
from streamlab.events import (
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)

MODEL = "streamlab-local"


def responses(*events):
    return [
        openai_construct(type_=ResponseStreamEvent, value={"sequence_number": i, **e})
        for i, e in enumerate(events)
    ]


def chat(*deltas, usage=None):
    """Chat chunks: each item is (delta, finish_reason) or a delta dict."""
    out = []
    for d in deltas:
        delta, finish = d if isinstance(d, tuple) else (d, None)
        out.append(
            {
                "id": "chatcmpl-1",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": MODEL,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
        )
    if usage is not None:
        out.append({**out[0], "choices": [], "usage": usage})
    return [openai_construct(type_=ChatCompletionChunk, value=c) for c in out]


def anthropic_events(*events):
    return [anthropic_construct(type_=RawMessageStreamEvent, value=e) for e in events]


def fc_item(n, name, arguments="", status="in_progress"):
    return {
        "type": "function_call",
        "id": f"fc_{n}",
        "call_id": f"call_{n}",
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def response_final(kind="response.completed", status="completed", output=(), **extra):
    usage = {
        "input_tokens": 12,
        "output_tokens": 30,
        "total_tokens": 42,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens_details": {"reasoning_tokens": 9},
    }
    response = {"id": "resp_1", "object": "response", "status": status, "output": list(output)}
    return {"type": kind, "response": {**response, "usage": usage, **extra}}


# -- OpenAI Responses ---------------------------------------------------------


def test_responses_reasoning_then_parallel_function_calls():
    reasoning = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "enc"}
    done_calls = [
        fc_item(1, "get_weather", '{"city":"Paris"}', "completed"),
        fc_item(2, "now", "{}", "completed"),
    ]
    stream = responses(
        {"type": "response.created", "response": {"id": "resp_1", "status": "in_progress", "output": []}},
        {"type": "response.output_item.added", "output_index": 0, "item": reasoning},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "Weather "},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 0, "delta": "first."},
        {"type": "response.reasoning_summary_part.added", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "part": {"type": "summary_text", "text": ""}},
        {"type": "response.reasoning_summary_text.delta", "item_id": "rs_1", "output_index": 0, "summary_index": 1, "delta": "Then time."},
        {"type": "response.output_item.done", "output_index": 0, "item": reasoning},
        {"type": "response.output_item.added", "output_index": 1, "item": fc_item(1, "get_weather")},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": '{"city":'},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_1", "output_index": 1, "delta": '"Paris"}'},
        {"type": "response.function_call_arguments.done", "item_id": "fc_1", "output_index": 1, "arguments": '{"city":"Paris"}'},
        {"type": "response.output_item.done", "output_index": 1, "item": done_calls[0]},
        {"type": "response.output_item.added", "output_index": 2, "item": fc_item(2, "now")},
        {"type": "response.function_call_arguments.delta", "item_id": "fc_2", "output_index": 2, "delta": "{}"},
        {"type": "response.output_item.done", "output_index": 2, "item": done_calls[1]},
        response_final(output=[reasoning, *done_calls]),
    )  # fmt: skip
    events = list(stream_events(stream))
    assert events[:-1] == [
        ReasoningDelta("Weather "),
        ReasoningDelta("first."),
        ReasoningDelta("\n\n"),
        ReasoningDelta("Then time."),
        ToolCallStart(0, "call_1", "get_weather"),
        ToolCallDelta(0, "call_1", '{"city":'),
        ToolCallDelta(0, "call_1", '"Paris"}'),
        ToolCallDone(0, "call_1", "get_weather", '{"city":"Paris"}'),
        ToolCallStart(1, "call_2", "now"),
        ToolCallDelta(1, "call_2", "{}"),
        ToolCallDone(1, "call_2", "now", "{}"),  # from output_item.done: no arguments.done came
    ]
    end = events[-1]
    assert (end.outcome, end.reason, end.api, end.response_id) == (
        "tool_calls",
        "completed",
        "responses",
        "resp_1",
    )
    assert end.usage == Usage(12, 30, 9)
    assert end.reasoning == "Weather first.\n\nThen time." and end.text == ""
    assert [c.name for c in end.tool_calls] == ["get_weather", "now"]
    # The output items go back as the next request's input, encrypted reasoning included.
    assert [i["type"] for i in end.assistant_turn] == [
        "reasoning",
        "function_call",
        "function_call",
    ]
    assert end.assistant_turn[0]["encrypted_content"] == "enc"


@pytest.mark.parametrize(
    ("final", "outcome", "reason"),
    [
        (response_final(), "stop", "completed"),
        (response_final("response.incomplete", "incomplete", incomplete_details={"reason": "max_output_tokens"}), "length", "max_output_tokens"),
        (response_final("response.incomplete", "incomplete", incomplete_details={"reason": "content_filter"}), "filtered", "content_filter"),
        (response_final("response.failed", "failed", error={"code": "server_error", "message": "boom"}), "failed", "server_error"),
        ({"type": "error", "code": "rate_limit_exceeded", "message": "slow down", "param": None}, "failed", "rate_limit_exceeded"),
    ],
)  # fmt: skip
def test_responses_endings(final, outcome, reason):
    text = {"type": "response.output_text.delta", "item_id": "m", "output_index": 0, "content_index": 0, "delta": "Hi", "logprobs": []}  # fmt: skip
    *events, end = stream_events(responses(text, final))
    assert events == [TextDelta("Hi")]
    assert (end.outcome, end.reason, end.text, end.ok) == (outcome, reason, "Hi", outcome == "stop")
    assert (end.error is not None) == (outcome == "failed")


def test_responses_refusal_is_not_answer_text():
    refusal = {"type": "response.refusal.delta", "item_id": "m", "output_index": 0, "content_index": 0, "delta": "I can't help with that."}  # fmt: skip
    *events, end = stream_events(responses(refusal, response_final()))
    assert events == [] and end.outcome == "refusal" and end.refusal == "I can't help with that."


# -- Chat Completions ---------------------------------------------------------


def test_chat_parallel_tool_calls_are_assembled_by_index_not_position():
    def frag(index, arguments, **first):
        function = {"arguments": arguments, **({"name": first["name"]} if first else {})}
        call = {"index": index, "function": function}
        if first:
            call.update(id=first["id"], type="function")
        return {"tool_calls": [call]}

    stream = chat(
        {"role": "assistant", "content": None},
        frag(0, "", id="call_a", name="get_weather"),
        frag(0, '{"city": "Pa'),
        frag(1, '{"tz":', id="call_b", name="now"),  # the second call starts...
        frag(0, 'ris"}'),  # ...and the first goes on: index, not position, says whose it is
        frag(1, ' "UTC"}'),
        ({}, "tool_calls"),
        usage={"prompt_tokens": 5, "completion_tokens": 20, "total_tokens": 25},
    )
    events = list(stream_events(stream))
    assert events[:-1] == [
        ToolCallStart(0, "call_a", "get_weather"),
        ToolCallDelta(0, "call_a", '{"city": "Pa'),
        ToolCallStart(1, "call_b", "now"),
        ToolCallDelta(1, "call_b", '{"tz":'),
        ToolCallDelta(0, "call_a", 'ris"}'),  # the id is repeated for you
        ToolCallDelta(1, "call_b", ' "UTC"}'),
        ToolCallDone(0, "call_a", "get_weather", '{"city": "Paris"}'),
        ToolCallDone(1, "call_b", "now", '{"tz": "UTC"}'),
    ]
    end = events[-1]
    assert (end.outcome, end.reason, end.api, end.usage) == (
        "tool_calls",
        "tool_calls",
        "chat",
        Usage(5, 20, None),
    )
    (turn,) = end.assistant_turn
    assert turn["role"] == "assistant" and turn["content"] is None
    assert [c["function"]["arguments"] for c in turn["tool_calls"]] == [
        '{"city": "Paris"}',
        '{"tz": "UTC"}',
    ]


def test_chat_calls_forced_by_a_named_tool_choice_end_with_stop_and_still_ask_for_tools():
    # OpenAI (and vLLM, matching it) end a call forced by tool_choice={"type": "function", ...}
    # with finish_reason "stop", not "tool_calls": the calls are complete and must still run.
    first = {"index": 0, "id": "call_f", "type": "function", "function": {"name": "get_weather"}}
    first["function"]["arguments"] = ""
    stream = chat(
        {"role": "assistant", "content": None},
        {"tool_calls": [first]},
        {"tool_calls": [{"index": 0, "function": {"arguments": '{"city": "Oslo"}'}}]},
        ({}, "stop"),
    )
    *events, end = stream_events(stream)
    assert events[-1] == ToolCallDone(0, "call_f", "get_weather", '{"city": "Oslo"}')
    assert (end.outcome, end.reason) == ("tool_calls", "stop")
    assert [c.parsed_arguments() for c in end.tool_calls] == [{"city": "Oslo"}]
    (turn,) = end.assistant_turn
    assert turn["tool_calls"][0]["id"] == "call_f"


def test_chat_refusal_still_wins_over_stop_without_calls():
    *_, end = stream_events(chat(({"refusal": "No."}, "stop")))
    assert (end.outcome, end.tool_calls) == ("refusal", ())


@pytest.mark.parametrize(
    ("finish", "outcome"),
    [("stop", "stop"), ("length", "length"), ("content_filter", "filtered"), (None, "failed")],
)
def test_chat_endings(finish, outcome):
    stream = chat({"content": "Hel"}, ({"content": "lo"}, finish))
    *events, end = stream_events(stream)
    assert events == [TextDelta("Hel"), TextDelta("lo")]
    assert (end.outcome, end.reason, end.text, end.usage) == (outcome, finish, "Hello", None)


def test_chat_refusal_and_reasoning_content_of_compatible_servers():
    stream = chat({"reasoning_content": "Hmm."}, ({"refusal": "No."}, "stop"))
    *events, end = stream_events(stream)
    assert events == [ReasoningDelta("Hmm.")]
    assert (end.outcome, end.refusal, end.reasoning) == ("refusal", "No.", "Hmm.")


# -- Anthropic Messages -------------------------------------------------------


def message_start(input_tokens=10):
    usage = {"input_tokens": input_tokens, "output_tokens": 1}
    message = {"id": "msg_1", "type": "message", "role": "assistant", "model": MODEL, "content": [], "usage": usage}  # fmt: skip
    return {"type": "message_start", "message": message}


def stop(reason, output_tokens=42):
    return [
        {"type": "message_delta", "delta": {"stop_reason": reason}, "usage": {"output_tokens": output_tokens}},
        {"type": "message_stop"},
    ]  # fmt: skip


def test_anthropic_thinking_text_and_tool_use_blocks():
    stream = anthropic_events(
        message_start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Need the "}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "weather."}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "sig=="}},
        {"type": "content_block_stop", "index": 0},
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Checking."}},
        {"type": "content_block_stop", "index": 1},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
        {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}},
        {"type": "content_block_stop", "index": 2},
        *stop("tool_use"),
    )  # fmt: skip
    events = list(stream_events(stream))
    assert events[:-1] == [
        ReasoningDelta("Need the "),
        ReasoningDelta("weather."),
        TextDelta("Checking."),
        ToolCallStart(0, "toolu_1", "get_weather"),  # block 2, tool call 0
        ToolCallDelta(0, "toolu_1", '{"city": '),
        ToolCallDelta(0, "toolu_1", '"Paris"}'),
        ToolCallDone(0, "toolu_1", "get_weather", '{"city": "Paris"}'),
    ]
    end = events[-1]
    assert (end.outcome, end.reason, end.usage) == ("tool_calls", "tool_use", Usage(10, 42, None))
    (turn,) = end.assistant_turn
    thinking, text, tool = turn["content"]
    # The signature goes back with the thinking, or the API rejects the next turn.
    assert thinking == {"type": "thinking", "thinking": "Need the weather.", "signature": "sig=="}
    assert text == {"type": "text", "text": "Checking."}
    assert tool == {
        "type": "tool_use",
        "id": "toolu_1",
        "name": "get_weather",
        "input": {"city": "Paris"},
    }


@pytest.mark.parametrize(
    ("reason", "outcome"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("pause_turn", "length"),
        ("refusal", "refusal"),
    ],
)
def test_anthropic_endings(reason, outcome):
    text = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    *events, end = stream_events(anthropic_events(message_start(), text, *stop(reason)))
    assert events == [TextDelta("Hi")]
    assert (end.outcome, end.reason, end.text) == (outcome, reason, "Hi")


def test_a_stream_that_just_stops_is_failed_not_short():
    text = {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": "Hi"},
    }
    *_, end = stream_events(anthropic_events(message_start(), text))
    assert end.outcome == "failed" and "ended before the provider said" in end.error
    assert list(text_deltas(anthropic_events(message_start(), text))) == ["Hi"]  # as the SDKs do


def test_parser_is_sans_io_and_ignores_what_follows_the_end():
    parser = EventParser()
    assert parser.feed("Hi") == [TextDelta("Hi")]
    assert parser.close() == StreamEnd("stop", text="Hi")
    assert parser.close() is None and parser.feed("more") == []


# -- real SDK streams against the local provider -------------------------------


def _create(client, api, **kw):
    if api == "responses":
        return client.responses.create(model=MODEL, input=PROMPT, stream=True, **kw)
    if api == "chat":
        return client.chat.completions.create(
            model=MODEL,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            stream_options={"include_usage": True},
            **kw,
        )
    return client.messages.create(
        model=MODEL, max_tokens=kw.pop("max_tokens", 512), messages=[{"role": "user", "content": PROMPT}], stream=True, **kw
    )  # fmt: skip


@pytest.mark.parametrize("api", ["responses", "chat", "anthropic"])
def test_real_sdk_streams_end_with_stop_and_usage(local_server, api):
    client = (
        local_server.anthropic(max_retries=0)
        if api == "anthropic"
        else local_server.openai(max_retries=0)
    )
    *events, end = stream_events(_create(client, api))
    assert events and all(isinstance(e, TextDelta) for e in events)
    assert (end.outcome, end.api) == ("stop", api)
    assert end.text == "".join(e.text for e in events)
    assert end.usage is not None and end.usage.output_tokens and end.usage.input_tokens


@pytest.mark.parametrize(
    ("api", "limit", "reason"),
    [
        ("responses", {"max_output_tokens": 5}, "max_output_tokens"),
        ("chat", {"max_completion_tokens": 5}, "length"),
        ("anthropic", {"max_tokens": 5}, "max_tokens"),
    ],
)
async def test_real_async_streams_cut_short_say_length(local_server, api, limit, reason):
    make = local_server.async_anthropic if api == "anthropic" else local_server.async_openai
    async with make(max_retries=0) as client:
        stream = await _create(client, api, **limit)
        events = [e async for e in astream_events(stream)]
    end = events[-1]
    assert (end.outcome, end.reason, end.usage.output_tokens) == ("length", reason, 5)


def test_real_mid_stream_errors(local_server):
    fault = {"x-streamlab-fault": "error-after=9"}  # after 9 frames (5 are the preamble)
    # Responses hands the error over as an event: the stream ends "failed".
    *events, end = stream_events(
        _create(local_server.openai(max_retries=0), "responses", extra_headers=fault)
    )
    assert events and end.outcome == "failed" and end.reason == "server_error"
    assert end.text == "".join(e.text for e in events)
    # Chat and Anthropic: the SDKs raise, and so does stream_events.
    with pytest.raises(openai.APIError):
        list(
            stream_events(_create(local_server.openai(max_retries=0), "chat", extra_headers=fault))
        )
    with pytest.raises(anthropic.APIStatusError):
        list(
            stream_events(
                _create(local_server.anthropic(max_retries=0), "anthropic", extra_headers=fault)
            )
        )
