"""Both WebSocket endpoints under hostile frames: each gets an error message, the socket stays usable.

Real server, real sockets, the ``websockets`` client (and the openai SDK's
``responses.connect()`` for the Responses mode). After every hostile frame the
same connection must still answer a normal request in full.
"""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect

GENERATE = {"type": "generate", "prompt": "Tell me about space", "ttft_ms": 0}
FAST = {"tokens_per_second": 0}


def _generate(**options: object) -> str:
    return json.dumps({**GENERATE, **FAST, **options})


def _raw_generate(option: str) -> str:
    """A generate message with ``option`` written as raw JSON (NaN, 1e309 ... as sent)."""
    return '{"type": "generate", "prompt": "x", ' + option + "}"


# (id, frame): each must get {"type": "error", "message": ...} as its only answer.
LESSON_BAD = [
    ("binary", _generate().encode()),
    ("binary-garbage", b"\x00\xff\xfe"),
    ("not-json", "{not json"),
    ("deep-json", "[" * 100_000),
    ("array", "[1, 2]"),
    ("no-type", '{"prompt": "x"}'),
    ("unknown-type", '{"type": "dance"}'),
    ("prompt-number", '{"type": "generate", "prompt": 5}'),
    ("prompt-surrogate", '{"type": "generate", "prompt": "caf\\ud800"}'),
    ("ttft-nan", _raw_generate('"ttft_ms": NaN')),
    ("ttft-inf-literal", _raw_generate('"ttft_ms": Infinity')),
    ("ttft-1e309", _raw_generate('"ttft_ms": 1e309')),
    ("ttft-negative", _raw_generate('"ttft_ms": -5')),
    ("ttft-absurd", _raw_generate('"ttft_ms": 1e12')),
    ("ttft-string", _raw_generate('"ttft_ms": "0"')),
    ("tps-nan", _raw_generate('"tokens_per_second": NaN')),
    ("tps-1e309", _raw_generate('"tokens_per_second": 1e309')),
    ("tps-negative", _raw_generate('"tokens_per_second": -1')),
    ("tps-bool", _raw_generate('"tokens_per_second": true')),
    ("max-tokens-negative", _raw_generate('"max_tokens": -1')),
    ("max-tokens-zero", _raw_generate('"max_tokens": 0')),
    ("max-tokens-absurd", _raw_generate('"max_tokens": 1000000000000')),
    ("max-tokens-float", _raw_generate('"max_tokens": 1.5')),
    ("max-tokens-1e309", _raw_generate('"max_tokens": 1e309')),
    ("seed-absurd", _raw_generate('"seed": ' + "9" * 40)),
    ("seed-float", _raw_generate('"seed": 1e3')),
    ("seed-string", _raw_generate('"seed": "abc"')),
]


def _lesson(server):
    return connect(server.base_url.replace("http", "ws") + "/lesson/ws", max_size=None)


def _until_done(ws) -> list[dict]:
    got = []
    while True:
        got.append(json.loads(ws.recv(timeout=10)))
        if got[-1]["type"] == "done":
            return got


def test_lesson_ws_answers_each_hostile_frame_with_an_error_and_stays_usable(local_server):
    with _lesson(local_server) as ws:
        answers = []
        for _, frame in LESSON_BAD:
            ws.send(frame)
            answers.append(json.loads(ws.recv(timeout=10)))
        # Nothing else was started by any of them: "stop" finds nothing to stop.
        ws.send(json.dumps({"type": "stop"}))
        nothing = json.loads(ws.recv(timeout=10))
        ws.send(_generate())
        normal = _until_done(ws)
    wrong = [
        (case, answer)
        for (case, _), answer in zip(LESSON_BAD, answers, strict=True)
        if answer["type"] != "error" or not answer.get("message")
    ]
    assert not wrong, f"hostile frames not answered with an error: {wrong}"
    assert nothing == {"type": "error", "message": "nothing is being generated"}
    assert normal[0]["type"] == "start" and normal[-1]["reason"] == "stop"
    assert sum(m["type"] == "delta" for m in normal) == normal[-1]["usage"]["output_tokens"] > 10


@pytest.mark.parametrize(
    ("frame", "says"),
    [
        (_raw_generate('"ttft_ms": NaN'), "ttft_ms"),
        (_raw_generate('"tokens_per_second": 1e309'), "tokens_per_second"),
        (_raw_generate('"max_tokens": 1000000000000'), "max_tokens"),
        (b"{}", "text frame"),
    ],
    ids=["nan", "inf", "absurd", "binary"],
)
def test_lesson_ws_errors_name_what_was_wrong(local_server, frame, says):
    with _lesson(local_server) as ws:
        ws.send(frame)
        assert says in json.loads(ws.recv(timeout=10))["message"]


# -- the Responses WebSocket mode ---------------------------------------------------

CREATE = '{"type": "response.create", "model": "m", "input": '
# What POST /v1/responses refuses, the socket refuses too (frame, error code).
RESPONSES_BAD = [
    (CREATE + '"caf\\ud800"}', "invalid_value"),
    (CREATE + '[{"role": "user", "content": "\\udfff"}]}', "invalid_value"),
    (CREATE + '"x", "metadata": {"k\\ud800": "v"}}', "invalid_value"),
    (CREATE + '"x", "metadata": ' + '{"a": ' * 100 + "1" + "}" * 100 + "}", None),
    (CREATE + '"x", "stream_id": "lane\\ud800"}', "invalid_value"),
    (
        '{"type": "response.steer", "previous_response_id": "r", "input": "\\ud800"}',
        "invalid_value",
    ),
    (CREATE + '"x", "top_logprobs": 5.5}', "invalid_type"),
    (CREATE + '"x", "tools": "x"}', "invalid_type"),
    (CREATE + '"x", "metadata": "x"}', "invalid_type"),
    (CREATE + '"x", "parallel_tool_calls": "yes"}', "invalid_type"),
    (CREATE + '"x", "max_output_tokens": 1e309}', "invalid_json"),
    (CREATE + '"x", "max_output_tokens": NaN}', "invalid_json"),
    (b"\x00\xff", "invalid_message"),
]


def test_responses_ws_refuses_what_post_refuses_and_stays_usable(local_server):
    client = local_server.openai(max_retries=0)
    with client.responses.connect() as conn:
        errors = []
        for frame, _ in RESPONSES_BAD:
            conn.send_raw(frame)
            errors.append(conn.recv())
        conn.response.create(model="m", input="Tell me about the ocean.")
        events = []
        for event in conn:
            events.append(event)
            if event.type == "response.completed":
                break
    got = [(e.type, getattr(getattr(e, "error", None), "code", None)) for e in errors]
    assert got == [("error", code) for _, code in RESPONSES_BAD]
    assert all(e.status == 400 and e.error.message for e in errors)
    assert events[-1].response.output_text


def test_responses_ws_hostile_handshake_controls_are_400_events():
    # Controls set on the handshake apply to every response of the connection.
    from streamlab.provider import serve

    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        url = server.base_url.replace("http", "ws") + "/v1/responses"
        for name, value in [
            ("x-streamlab-ttft-ms", "nan"),
            ("x-streamlab-tokens-per-second", "1e309"),
            ("x-streamlab-tokens", "1000000000"),
            ("x-streamlab-fault", "stall-after=1;seconds=1e309"),
        ]:
            with connect(url, additional_headers={name: value}) as ws:
                ws.send(CREATE + '"x"}')
                event = json.loads(ws.recv(timeout=10))
                assert (event["type"], event["status"]) == ("error", 400), event
                assert event["error"]["param"] == "headers", event
        assert server.stats["started"] == 0
