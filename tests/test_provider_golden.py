"""The golden wire test: what a client sees, byte for byte, for every API, transport and feature.

Each case is one request at a fixed seed with zero delays; its status, content
type and whole body (SSE bytes, a JSON body, or the WebSocket's text frames)
are compared with ``tests/golden/<case>.txt``, after ids and timestamps are
normalised (they differ per run; their places and order are compared). A
refactoring of the provider must leave every file unchanged; a deliberate
change of the wire (a new field the real API sends) re-records them:

    STREAMLAB_GOLDEN_RECORD=1 .venv/bin/python -m pytest tests/test_provider_golden.py

and the diff of tests/golden/ is the review of that change.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import httpx
import pytest
import websockets.sync.client

from streamlab.provider import serve

GOLDEN = Path(__file__).parent / "golden"
RECORD = bool(os.environ.get("STREAMLAB_GOLDEN_RECORD"))
FAST = {
    "x-streamlab-ttft-ms": "0",
    "x-streamlab-tokens-per-second": "0",
    "x-streamlab-jitter-ms": "0",
}
WEATHER = {
    "type": "object",
    "properties": {"city": {"type": "string"}},
    "required": ["city"],
}
ASK = "What is the weather in Paris and in Rome? Tell me about gardens."
MSGS = [{"role": "user", "content": ASK}]
R_TOOL = [
    {"type": "function", "name": "get_weather", "description": "Weather", "parameters": WEATHER}
]
C_TOOL = [
    {
        "type": "function",
        "function": {"name": "get_weather", "description": "Weather", "parameters": WEATHER},
    }
]
A_TOOL = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER}]

R = (
    "/v1/responses",
    {"model": "streamlab-local", "input": "Tell me about gardens.", "stream": True},
)
C = (
    "/v1/chat/completions",
    {
        "model": "streamlab-local",
        "messages": [{"role": "user", "content": "Tell me about gardens."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    },
)
A = (
    "/v1/messages",
    {
        "model": "streamlab-local",
        "max_tokens": 2048,
        "messages": [{"role": "user", "content": "Tell me about gardens."}],
        "stream": True,
    },
)

# name -> (path, body, extra headers)
CASES: dict[str, tuple[str, dict, dict]] = {
    "responses-text": (*R, {}),
    "responses-buffered": (R[0], {**R[1], "stream": False}, {}),
    "responses-tools": (R[0], {**R[1], "input": ASK, "tools": R_TOOL}, {}),
    "responses-one-call": (R[0], {**R[1], "input": ASK, "tools": R_TOOL, "parallel_tool_calls": False}, {}),
    "responses-reasoning": (R[0], {**R[1], "reasoning": {"effort": "low", "summary": "auto"}, "include": ["reasoning.encrypted_content"]}, {}),
    "responses-max-output": (R[0], {**R[1], "max_output_tokens": 20}, {}),
    "responses-refusal": (*R, {"x-streamlab-ending": "refusal"}),
    "responses-content-filter": (*R, {"x-streamlab-ending": "content-filter"}),
    "responses-failed": (*R, {"x-streamlab-ending": "failed"}),
    "responses-error-after": (*R, {"x-streamlab-fault": "error-after=6"}),
    "responses-drop-after": (*R, {"x-streamlab-fault": "drop-after=5"}),
    "responses-429": (*R, {"x-streamlab-fault": "status=429;retry-after=0"}),
    "responses-bad-request": (R[0], {**R[1], "temperature": "hot"}, {}),
    "chat-text": (*C, {}),
    "chat-buffered": (C[0], {**C[1], "stream": False, "stream_options": None}, {}),
    "chat-tools": (C[0], {**C[1], "messages": MSGS, "tools": C_TOOL}, {}),
    "chat-reasoning": (C[0], {**C[1], "reasoning_effort": "low"}, {}),
    "chat-length": (C[0], {**C[1], "max_completion_tokens": 12}, {}),
    "chat-refusal": (*C, {"x-streamlab-ending": "refusal"}),
    "chat-content-filter": (*C, {"x-streamlab-ending": "content-filter"}),
    "chat-error-after": (*C, {"x-streamlab-fault": "error-after=4"}),
    "chat-drop-after": (*C, {"x-streamlab-fault": "drop-after=3"}),
    "messages-text": (*A, {}),
    "messages-buffered": (A[0], {**A[1], "stream": False}, {}),
    "messages-tools": (A[0], {**A[1], "messages": MSGS, "tools": A_TOOL}, {}),
    "messages-thinking": (A[0], {**A[1], "thinking": {"type": "enabled", "budget_tokens": 1024}}, {}),
    "messages-adaptive-omitted": (A[0], {**A[1], "thinking": {"type": "adaptive", "display": "omitted"}}, {}),
    "messages-max-tokens": (A[0], {**A[1], "max_tokens": 10}, {}),
    "messages-refusal": (*A, {"x-streamlab-ending": "refusal"}),
    "messages-pause-turn": (*A, {"x-streamlab-ending": "pause-turn"}),
    "messages-error-after": (*A, {"x-streamlab-fault": "error-after=5"}),
    "messages-529": (*A, {"x-streamlab-fault": "status=529"}),
}  # fmt: skip

_ID = re.compile(
    r"\b(?:resp|msg|rs|fc|call|toolu|chatcmpl|req|srvtoolu|ws|steer|evt)_[A-Za-z0-9]{6,}\b"
)
_TIME = re.compile(r'"(created_at|created|completed_at|expires_at)": ?\d+')
_HEADER_VALUES = re.compile(r'"(obfuscation)": ?"[^"]*"')


def normalise(text: str) -> str:
    """Ids become <id1>, <id2>... in order of first appearance; timestamps become <time>."""
    seen: dict[str, str] = {}

    def one(m: re.Match[str]) -> str:
        return seen.setdefault(m.group(), f"<id{len(seen) + 1}>")

    text = _ID.sub(one, text)
    text = _TIME.sub(lambda m: f'"{m.group(1)}": <time>', text)
    return _HEADER_VALUES.sub(lambda m: f'"{m.group(1)}": <random>', text)


def _http(server, path: str, body: dict, headers: dict) -> str:
    body = {k: v for k, v in body.items() if v is not None}
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        with client.stream(
            "POST", path, json=body, headers={**FAST, **headers, "x-streamlab-seed": "7"}
        ) as response:
            chunks = []
            try:
                for chunk in response.iter_raw():
                    chunks.append(chunk)
            except httpx.RemoteProtocolError:
                chunks.append(b"\n<connection dropped>\n")
            kind = response.headers.get("content-type", "").split(";")[0]
            return f"{response.status_code} {kind}\n" + b"".join(chunks).decode()


def _websocket(server, frames: list[dict], until: int) -> str:
    """The text frames the server sends after ``frames``, up to the ``until``-th terminal event."""
    url = server.openai_base_url.replace("http", "ws", 1) + "/responses"
    out = []
    with websockets.sync.client.connect(
        url, additional_headers={**FAST, "x-streamlab-seed": "7"}
    ) as ws:
        for frame in frames:
            ws.send(json.dumps(frame))
        ends = 0
        while ends < until:
            message = ws.recv(timeout=30)
            out.append(message)
            kind = json.loads(message).get("type", "")
            ends += kind in (
                "response.completed",
                "response.incomplete",
                "response.failed",
                "error",
            )
    # Lanes run in parallel, so their frames interleave by chance: keep each lane's order.
    out.sort(key=lambda message: str(json.loads(message).get("stream_id", "")))
    return "\n".join(out) + "\n"


WS_CREATE = {
    "type": "response.create",
    "model": "streamlab-local",
    "input": "Tell me about gardens.",
}
WS_CASES = {
    "ws-create": ([WS_CREATE], 1),
    "ws-two-lanes": ([{**WS_CREATE, "stream_id": "a"}, {**WS_CREATE, "stream_id": "b", "input": "Tell me about rivers."}], 2),
    "ws-tools": ([{**WS_CREATE, "input": ASK, "tools": R_TOOL}], 1),
    "ws-bad-frame": ([{"type": "response.create", "model": "streamlab-local", "input": 3}, WS_CREATE], 2),
}  # fmt: skip


@pytest.fixture(scope="module")
def server():
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as running:
        yield running


def _compare(name: str, got: str) -> None:
    path = GOLDEN / f"{name}.txt"
    got = normalise(got)
    if RECORD:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(got)
        return
    assert path.exists(), f"no golden file for {name}: record with STREAMLAB_GOLDEN_RECORD=1"
    want = path.read_text()
    if got != want:
        for n, (a, b) in enumerate(zip(want.splitlines(), got.splitlines(), strict=False)):
            if a != b:
                pytest.fail(f"{name}: line {n + 1} differs\n want: {a[:300]}\n  got: {b[:300]}")
        pytest.fail(
            f"{name}: {len(want.splitlines())} lines expected, {len(got.splitlines())} sent"
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_http_wire_is_unchanged(server, name):
    _compare(name, _http(server, *CASES[name]))


@pytest.mark.parametrize("name", sorted(WS_CASES))
def test_websocket_wire_is_unchanged(server, name):
    _compare(name, _websocket(server, *WS_CASES[name]))


def test_normalise_keeps_places_and_order():
    a = normalise(
        '{"id": "resp_abc123XYZ", "created_at": 17, "x": "resp_abc123XYZ", "y": "msg_zzzzzzzz"}'
    )
    assert a == '{"id": "<id1>", "created_at": <time>, "x": "<id1>", "y": "<id2>"}'
    assert normalise('"call_111111" "call_222222"') != normalise('"call_111111" "call_111111"')
