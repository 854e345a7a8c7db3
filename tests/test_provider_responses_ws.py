"""The Responses WebSocket mode (``WS /v1/responses``) through the real SDK's ``responses.connect()``."""

from __future__ import annotations

import json

import pytest
import websockets
from _support import wait_for

import streamlab

PROMPT = "Tell me about the ocean."
MODEL = "streamlab-local"
# A long answer at a pace a person can watch: steering lands while deltas still flow.
PACED = {"x-streamlab-tokens-per-second": "20", "x-streamlab-tokens": "200"}


def _until(conn, kind, count=1):
    """Events up to and including the ``count``-th of type ``kind``."""
    events = []
    for event in conn:
        events.append(event)
        count -= event.type == kind
        if not count:
            return events
    raise AssertionError(f"the connection closed before {kind}")


def test_create_streams_the_same_events_as_sse(local_server):
    client = local_server.openai(max_retries=0)
    sse = list(client.responses.create(model=MODEL, input=PROMPT, stream=True))
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=PROMPT)
        ws = _until(conn, "response.completed")
    assert [e.type for e in ws] == [e.type for e in sse]
    assert [e.sequence_number for e in ws] == list(range(len(ws)))
    assert ws[-1].response.output_text == sse[-1].response.output_text
    assert ws[-1].response.usage.output_tokens == sse[-1].response.usage.output_tokens


def _assert_steered(first, rest, rid):
    """``first``: events up to the steered response's end; ``rest``: its successor's."""
    kinds = [e.type for e in first]
    accepted = first[kinds.index("response.steer.accepted")]
    assert accepted.steer.previous_response_id == rid and accepted.steer.id
    end = first[-1]
    assert end.type == "response.incomplete"
    assert end.response.incomplete_details.reason == "steered"
    text = "".join(e.delta for e in first if e.type == "response.output_text.delta")
    assert end.response.output_text == text and 0 < end.response.usage.output_tokens < 200
    # The successor: created (the commit point) with the steered response as its parent.
    created = rest[0]
    assert created.type == "response.created" and created.sequence_number == 0
    assert created.response.previous_response_id == rid and created.response.id != rid
    answer = "".join(e.delta for e in rest if e.type == "response.output_text.delta")
    assert answer and not answer.startswith(text)
    return answer


def test_steer_over_the_sync_sdk_ends_the_response_and_continues_in_a_successor(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect(extra_headers=PACED) as conn:
        conn.response.create(model=MODEL, input=PROMPT)
        first = _until(conn, "response.output_text.delta")
        rid = first[0].response.id
        conn.response.steer(input="Talk about space instead.", previous_response_id=rid)
        first += _until(conn, "response.incomplete")
        rest = _until(conn, "response.output_text.delta", count=10)
    answer = _assert_steered(first, rest, rid)
    # The successor answers the queued input: the same words as asking it directly.
    fast = PACED | {"x-streamlab-tokens-per-second": "0"}
    direct = client.responses.create(
        model=MODEL, input="Talk about space instead.", extra_headers=fast
    )
    assert direct.output_text.startswith(answer)


async def test_steer_over_the_async_sdk(local_server):
    async with local_server.async_openai(max_retries=0) as client:
        async with client.responses.connect(extra_headers=PACED) as conn:
            await conn.response.create(model=MODEL, input=PROMPT)
            events, ids = [], []
            async for event in conn:
                events.append(event)
                if event.type == "response.created":
                    ids.append(event.response.id)
                elif event.type == "response.output_text.delta":
                    if len(ids) == 2:  # the successor streams: enough seen
                        break
                    if len(events) == 5:  # the first delta: steer now
                        await conn.response.steer(
                            input=[{"type": "message", "role": "user", "content": "Now coffee."}],
                            previous_response_id=ids[0],
                        )
    cut = [e.type for e in events].index("response.incomplete") + 1
    _assert_steered(events[:cut], events[cut:], ids[0])


def test_steer_failures_return_the_input_with_a_code(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=PROMPT)
        first = _until(conn, "response.completed")[-1].response
        conn.response.create(model=MODEL, input="And the moon?")
        _until(conn, "response.created")  # the lane has moved on: the first is over
        tries = [
            ({"input": "x", "previous_response_id": "resp_nope"}, "response_not_found"),
            ({"input": "", "previous_response_id": first.id}, "invalid_input"),
            (
                {
                    "input": [{"role": "assistant", "content": "x"}],
                    "previous_response_id": first.id,
                },
                "invalid_input",
            ),
            (
                {"input": "x", "previous_response_id": first.id, "stream_id": "a"},
                "invalid_input",
            ),
            ({"input": "shorter", "previous_response_id": first.id}, "response_already_completed"),
        ]
        for event, _ in tries:
            conn.send({"type": "response.steer", **event})
        failed = []
        while len(failed) < len(tries):
            event = conn.recv()
            if event.type == "response.steer.failed":
                failed.append(event)
    assert [f.error.code for f in failed] == [code for _, code in tries]
    assert [f.steer.input for f in failed] == [event["input"] for event, _ in tries]
    assert all(f.steer.id is None and f.error.message for f in failed)


def test_previous_response_id_chains_and_an_unknown_id_is_an_error(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=PROMPT)
        first = _until(conn, "response.completed")[-1].response
        conn.response.create(model=MODEL, input="resp_x", previous_response_id="resp_unknown")
        error = _until(conn, "error")[-1]
        conn.response.create(model=MODEL, input="More, please.", previous_response_id=first.id)
        second = _until(conn, "response.completed")[-1].response
    assert error.status == 400 and error.error.code == "previous_response_not_found"
    assert error.error.param == "previous_response_id"
    assert second.previous_response_id == first.id and second.id != first.id


BAD_FRAMES = [
    (b'{"type": "response.create"}', "invalid_message"),
    ("{not json", "invalid_json"),
    ('{"type": "response.create", "model": "m", "input": "x", "temperature": NaN}', "invalid_json"),
    ('{"type": "response.create", "model": "m", "input": "x", "top_p": 1e999}', "invalid_json"),
    ('["response.create"]', "invalid_json"),
    ('{"type": "response.cancel"}', "unknown_event_type"),
    ('{"type": "response.create", "model": "m", "input": "x", "temperature": -1}', "invalid_value"),
    (
        '{"type": "response.create", "model": "m", "input": "x", "max_output_tokens": -5}',
        "integer_below_min_value",
    ),
    ('{"type": "response.create", "input": "x"}', "missing_required_parameter"),
    ("[" * 100_000, "invalid_json"),
]


def test_bad_frames_get_an_error_event_and_the_socket_stays_usable(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect() as conn:
        for frame, _ in BAD_FRAMES:
            conn.send_raw(frame)
        errors = [conn.recv() for _ in BAD_FRAMES]
        conn.response.create(model=MODEL, input=PROMPT)
        done = _until(conn, "response.completed")[-1]
    assert [e.type for e in errors] == ["error"] * len(BAD_FRAMES)
    assert [e.error.code for e in errors] == [code for _, code in BAD_FRAMES]
    assert all(e.status == 400 and e.error.message for e in errors)
    assert done.response.output_text


def test_a_client_that_leaves_cancels_its_generation():
    with streamlab.serve(ttft_ms=0, tokens_per_second=2, jitter_ms=0) as server:
        with server.openai().responses.connect() as conn:
            conn.response.create(model=MODEL, input=PROMPT)
            _until(conn, "response.output_text.delta")
            assert server.stats["active_generations"] == 1
        wait_for(lambda: server.stats["active_generations"] == 0)
        assert server.stats["cancelled"] == 1 and server.stats["completed"] == 0


def test_lanes_run_side_by_side_and_echo_their_stream_id(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect(extra_headers=PACED) as conn:
        conn.response.create(model=MODEL, input=PROMPT, stream_id="a", max_output_tokens=8)
        conn.response.create(model=MODEL, input="Space!", stream_id="b", max_output_tokens=8)
        seen, ended = [], set()
        for event in conn:
            seen.append(event)
            if event.type == "response.incomplete":
                ended.add(event.stream_id)
                if ended == {"a", "b"}:
                    break
    lanes = [e.stream_id for e in seen if e.type == "response.output_text.delta"]
    assert set(lanes) == {"a", "b"}
    # Interleaved: lane b started before lane a had finished.
    assert lanes.index("b") < len(lanes) - 1 - lanes[::-1].index("a")


def test_faults_over_the_socket(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect(extra_headers={"x-streamlab-fault": "error-after=5"}) as conn:
        conn.response.create(model=MODEL, input=PROMPT)
        events = _until(conn, "response.failed")
    assert events[-2].type == "error" and events[-2].error.code == "server_error"
    url = local_server.base_url.replace("http", "ws", 1) + "/v1/responses"
    with pytest.raises(websockets.ConnectionClosedError) as info:
        with websockets.sync.client.connect(
            url, additional_headers={"x-streamlab-fault": "drop-after=3"}
        ) as ws:
            ws.send(json.dumps({"type": "response.create", "model": MODEL, "input": PROMPT}))
            while True:
                ws.recv()
    assert info.value.rcvd.code == 1011


def test_a_wrong_key_refuses_the_handshake():
    with streamlab.serve(ttft_ms=0, tokens_per_second=0, api_key="sk-right") as server:
        with pytest.raises(websockets.InvalidStatus) as info:
            with server.openai(api_key="sk-wrong").responses.connect():
                pass
        assert info.value.response.status_code == 401
        with server.openai(api_key="sk-right").responses.connect() as conn:
            conn.response.create(model=MODEL, input=PROMPT)
            assert _until(conn, "response.completed")[-1].response.output_text


WEATHER_TOOL = {
    "type": "function",
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
        "additionalProperties": False,
    },
    "strict": True,
}
ASK = "What is the weather in Lisbon right now?"


def test_tool_calls_and_reasoning_stream_over_the_socket(local_server):
    client = local_server.openai(max_retries=0)
    options = {"tools": [WEATHER_TOOL], "reasoning": {"effort": "low", "summary": "auto"}}
    sse = list(client.responses.create(model=MODEL, input=ASK, stream=True, **options))
    with client.responses.connect() as conn:
        conn.response.create(model=MODEL, input=ASK, **options)
        ws = _until(conn, "response.completed")
    assert [e.type for e in ws] == [e.type for e in sse]
    assert "response.reasoning_summary_text.delta" in [e.type for e in ws]
    call = next(o for o in ws[-1].response.output if o.type == "function_call")
    assert call.name == "get_weather" and json.loads(call.arguments)["city"] == "Lisbon"


def test_steering_a_response_that_waits_for_tool_output_is_pending(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect(extra_headers=PACED) as conn:
        conn.response.create(model=MODEL, input=ASK, tools=[WEATHER_TOOL])
        rid = _until(conn, "response.created")[-1].response.id
        conn.response.steer(input="Then tell me about coffee.", previous_response_id=rid)
        events = _until(conn, "response.steer.pending")
        kinds = [e.type for e in events]
        # Tool calls are no safe place to cut: the response completes, the input waits.
        assert "response.incomplete" not in kinds
        assert kinds.index("response.steer.accepted") < kinds.index("response.completed")
        pending = events[-1]
        call = next(o for o in events[kinds.index("response.completed")].response.output)
        assert pending.reason == "waiting_for_required_input"
        assert [(s.type, s.call_id, s.name) for s in pending.required_input] == [
            ("function_call_output", call.call_id, "get_weather")
        ]
        accepted = events[kinds.index("response.steer.accepted")]
        assert pending.steer.id == accepted.steer.id
        # The tool result, sent once; the queued input goes in front of it.
        result = {"type": "function_call_output", "call_id": call.call_id, "output": "21 C, sunny"}
        conn.response.create(
            model=MODEL, input=[result], previous_response_id=rid, tools=[WEATHER_TOOL]
        )
        created = _until(conn, "response.created")[-1]
        assert created.response.previous_response_id == rid
        continued = _until(conn, "response.completed")[-1].response
        # Nothing is left queued on the first response: steering it again is refused.
        conn.response.steer(input="more", previous_response_id=rid)
        refused = _until(conn, "response.steer.failed")[-1]
    assert refused.error.code == "response_already_completed"
    steer = {"type": "message", "role": "user", "content": "Then tell me about coffee."}
    same = client.responses.create(
        model=MODEL, input=[steer, result], previous_response_id=rid, tools=[WEATHER_TOOL]
    )
    assert continued.output_text == same.output_text
    assert continued.usage.input_tokens == same.usage.input_tokens > 1


def test_lanes_and_queues_are_bounded(local_server):
    client = local_server.openai(max_retries=0)
    # Every lane stays busy (its first delta is a minute away) and quiet.
    with client.responses.connect(extra_headers={"x-streamlab-ttft-ms": "60000"}) as conn:
        for i in range(17):
            conn.response.create(model=MODEL, input=PROMPT, stream_id=f"lane-{i}")
        error = _until(conn, "error")[-1]
        assert error.error.param == "stream_id" and error.stream_id == "lane-16"
        for _ in range(34):
            conn.response.create(model=MODEL, input=PROMPT, stream_id="lane-0")
        error = _until(conn, "error")[-1]
    assert error.status == 429 and error.error.code == "rate_limit_exceeded"
