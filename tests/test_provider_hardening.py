"""The local provider under hostile or clumsy input: it never stalls, and every bad input is a 4xx.

Real server, real sockets. Ordering asserts are causal: a request's answer is
read *while* another one's state (the server's own counters) shows it has not
finished, never "within N ms".
"""

from __future__ import annotations

import json
import socket
import threading
import time

import httpx
import pytest
from _support import wait_for

from streamlab.provider import serve

FAST = {"x-streamlab-ttft-ms": "0", "x-streamlab-tokens-per-second": "0"}


def open_stream(server, path: str, body: dict, headers: dict[str, str]) -> socket.socket:
    """A raw HTTP/1.1 streaming request; returns the socket once the first delta arrived."""
    raw = json.dumps(body).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    sock.sendall(
        (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(raw)}\r\n{head}\r\n"
        ).encode()
        + raw
    )
    seen = b""
    while b"delta" not in seen:
        chunk = sock.recv(65536)
        assert chunk, f"the stream ended before its first delta: {seen[:300]!r}"
        seen += chunk
    return sock


def hang_up(sock: socket.socket) -> None:
    """Close at once with a reset, as a killed client or a closed browser tab does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    sock.close()


STREAMS = [
    ("/v1/responses", {"model": "m", "input": "hi", "stream": True}),
    (
        "/v1/chat/completions",
        {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True},
    ),
    (
        "/v1/messages",
        {
            "model": "m",
            "max_tokens": 200000,
            "messages": [{"role": "user", "content": "hi"}],
            "stream": True,
        },
    ),
]


@pytest.mark.parametrize(("path", "body"), STREAMS, ids=["responses", "chat", "messages"])
@pytest.mark.parametrize("controls", ["fast-server", "tps-header"])
def test_disconnect_from_unthrottled_stream_cancels_it_and_others_are_served(path, body, controls):
    # The longest stream the provider makes, with no pacing: the generation would
    # run for seconds. Once the client is gone it must be cancelled, and a request
    # sent right after must be answered while that stream has not completed.
    if controls == "fast-server":
        server, headers = serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0), {}
    else:
        server, headers = serve(), dict(FAST)
    with server:
        sock = open_stream(server, path, body, {**headers, "x-streamlab-tokens": "100000"})
        hang_up(sock)
        during = httpx.get(server.base_url + "/streamlab/stats", timeout=60).json()
        assert during["completed"] == 0, "the other request waited until the dead stream ran out"
        wait_for(lambda: not server.stats["active_generations"], 30)
        stats = server.stats
        assert (stats["cancelled"], stats["completed"]) == (1, 0)


def test_overdue_tokens_after_a_write_pause_are_not_burst_into_a_dead_socket():
    # A reader that stops reading lets the send buffers fill and the server waits;
    # every token due meanwhile is overdue when the wait ends. When the wait ends
    # because the reader hung up, those tokens must not all be produced in one go.
    with serve(ttft_ms=0, tokens_per_second=1000, jitter_ms=0) as server:
        path, body = STREAMS[0]
        sock = open_stream(server, path, body, {"x-streamlab-tokens": "100000"})
        wait_for(lambda: _stuck(server), 30)
        time.sleep(3)  # not an assert margin: ~3000 tokens fall due while the socket is full
        before = server.stats["lateness_samples"]
        hang_up(sock)
        during = httpx.get(server.base_url + "/streamlab/stats", timeout=60).json()
        assert during["lateness_samples"] - before < 1000, (
            "the overdue tokens went out in one burst"
        )
        wait_for(lambda: not server.stats["active_generations"], 30)
        assert (server.stats["cancelled"], server.stats["completed"]) == (1, 0)


def _stuck(server) -> bool:
    """True once two looks at the stats 50 ms apart show no new token sent."""
    before = server.stats["lateness_samples"]
    time.sleep(0.05)
    return before and server.stats["lateness_samples"] == before


def test_a_normal_request_completes_while_a_heavy_stream_is_in_progress():
    # The heavy request: the longest unthrottled stream, read as fast as a client can,
    # so the server's writes never wait for the socket. The normal request must be
    # answered while that stream is still being generated (the server's own counter,
    # and the heavy client has not seen its end), not after it.
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        path, body = STREAMS[0]
        sock = open_stream(server, path, body, {"x-streamlab-tokens": "100000"})
        ended = threading.Event()

        def drain() -> None:
            with sock:
                while sock.recv(1 << 20):
                    if ended.is_set():
                        return
            ended.set()

        reader = threading.Thread(target=drain)
        reader.start()
        try:
            during = httpx.get(server.base_url + "/streamlab/stats", timeout=60).json()
            assert not ended.is_set(), "the normal request waited for the heavy stream to end"
            assert during["active_generations"] == 1 and during["completed"] == 0
        finally:
            ended.set()
            reader.join()


# -- every bad input is a named 4xx in the provider's shape ----------------------

USER = [{"role": "user", "content": "hi"}]
BASE = {
    "responses": ("/v1/responses", {"model": "m", "input": "hi"}),
    "chat": ("/v1/chat/completions", {"model": "m", "messages": USER}),
    "messages": ("/v1/messages", {"model": "m", "max_tokens": 50, "messages": USER}),
}
PROMPT_FIELD = {"responses": "input", "chat": "messages", "messages": "messages"}


def with_schema(api: str, schema: dict) -> dict:
    if api == "responses":
        return {"text": {"format": {"type": "json_schema", "name": "x", "schema": schema}}}
    if api == "chat":
        return {
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "x", "schema": schema},
            }
        }
    return {"output_config": {"format": {"type": "json_schema", "schema": schema}}}


def nested(depth: int) -> object:
    value: object = "x"
    for _ in range(depth):
        value = {"a": value}
    return value


def lone_surrogate_prompt(api: str) -> dict:
    text = "caf\ud800"  # json.dumps writes it as the escape \ud800
    if api == "responses":
        return {"input": [{"role": "user", "content": [{"type": "input_text", "text": text}]}]}
    return {"messages": [{"role": "user", "content": text}]}


# Each case: (id, status, param or None, function of api -> (extra body fields | raw bytes, headers)).
# A dict merges into the API's valid body; bytes replace the body.
def _merge(fields):
    return lambda api: (fields, {})


def _header(name, value, status=400):
    return (f"header-{name}-{value}"[:50], status, None, lambda api: ({}, {name: value}))


CASES = [
    ("deep-json", 400, None, lambda api: (b"[" * 100_000 + b"]" * 100_000, {})),
    ("deep-field", 400, "metadata", _merge({"metadata": nested(500)})),
    ("not-utf8", 400, None, lambda api: (b'{"model": "m\xed\xa0\x80", "input": "hi"}', {})),
    ("surrogate-model", 400, "model", _merge({"model": "m\ud800"})),
    ("surrogate-prompt", 400, None, lambda api: (lone_surrogate_prompt(api), {})),
    ("surrogate-key", 400, None, _merge({"metadata": {"k\udfff": "v"}})),
    ("array-body", 400, None, lambda api: (b"[1, 2]", {})),
    ("null-body", 400, None, lambda api: (b"null", {})),
    ("temperature-hot", 400, "temperature", _merge({"temperature": "hot"})),
    ("temperature-huge", 400, "temperature", _merge({"temperature": 1e300})),
    ("temperature-inf", 400, None, lambda api: (b'{"model": "m", "temperature": 1e999}', {})),
    ("top-p-list", 400, "top_p", _merge({"top_p": [1]})),
    ("tools-string", 400, "tools", _merge({"tools": "x"})),
    ("tools-items", 400, "tools[0]", _merge({"tools": [5]})),
    ("metadata-string", 400, "metadata", _merge({"metadata": "x"})),
    ("stream-string", 400, "stream", _merge({"stream": "yes"})),
    ("model-number", 400, "model", _merge({"model": 5})),
    ("body-too-large", 413, None, _merge({"model": "m", "pad": "x" * (5 * 1024 * 1024)})),
    ("too-many-values", 413, None, _merge({"pad": [0] * 200_000})),
    ("prompt-too-long", 400, None, lambda api: ({PROMPT_FIELD[api]: _long_prompt(api)}, {})),
    (
        "schema-minitems-str",
        400,
        None,
        lambda api: (with_schema(api, {"type": "array", "minItems": "abc"}), {}),
    ),
    (
        "schema-minitems-huge",
        400,
        None,
        lambda api: (with_schema(api, {"type": "array", "minItems": 300000}), {}),
    ),
    (
        "schema-required-int",
        400,
        None,
        lambda api: (with_schema(api, {"type": "object", "properties": {}, "required": 5}), {}),
    ),
    ("schema-anyof-str", 400, None, lambda api: (with_schema(api, {"anyOf": "x"}), {})),
    ("schema-anyof-empty", 400, None, lambda api: (with_schema(api, {"anyOf": []}), {})),
    (
        "schema-minimum-inf",
        400,
        None,
        lambda api: (with_schema(api, {"type": "integer", "minimum": 1e308 * 10}), {}),
    ),
    (
        "schema-minlength-huge",
        400,
        None,
        lambda api: (with_schema(api, {"type": "string", "minLength": 10**9}), {}),
    ),
    ("schema-blowup", 400, None, lambda api: (with_schema(api, _blowup()), {})),
    ("schema-ref-cycle", 400, None, lambda api: (with_schema(api, {"$ref": "#"}), {})),
    _header("x-streamlab-ttft-ms", "1e309"),
    _header("x-streamlab-ttft-ms", "nan"),
    _header("x-streamlab-ttft-ms", "inf"),
    _header("x-streamlab-ttft-ms", "1e12"),
    _header("x-streamlab-tokens-per-second", "nan"),
    _header("x-streamlab-tokens-per-second", "-inf"),
    _header("x-streamlab-jitter-ms", "NaN"),
    _header("x-streamlab-tokens", "1000000000"),
    _header("x-streamlab-seed", "1e3"),
    _header("x-streamlab-seed", "9" * 30),
    _header("x-streamlab-fault", "stall-after=1;seconds=1e309"),
    _header("x-streamlab-fault", "slow-headers=nan"),
    _header("x-streamlab-fault", "slow-headers=1e9"),
    _header("x-streamlab-fault", "drop-after=nan"),
    _header("x-streamlab-fault", "tiny-writes=1e9"),
    _header("x-streamlab-fault", "tiny-writes=2;delay-ms=inf"),
    _header("x-streamlab-fault", "status=429;retry-after=1e309"),
    _header("x-streamlab-fault", "status=429;retry-after-ms=nan"),
    _header("x-streamlab-fault", "status=1e3"),
    _header("x-streamlab-fault", "error-after=2;times=inf"),
    _header("x-streamlab-pad", "x" * (1 << 20), status=431),
]


def _long_prompt(api: str) -> object:
    text = "a. " * (1024 * 1024)  # 3 MiB, about two million tokens
    return text if api == "responses" else [{"role": "user", "content": text}]


def _blowup() -> dict:
    # 100 items at every one of 4 levels: 100 million values from a few bytes.
    node: dict = {"type": "string"}
    for _ in range(4):
        node = {"type": "array", "items": node, "minItems": 100, "maxItems": 100}
    return node


def assert_provider_shape(api: str, r: httpx.Response) -> dict:
    body = r.json()
    if api == "messages":
        assert body["type"] == "error" and {"type", "message"} <= set(body["error"]), body
        assert body["error"]["type"] in ("invalid_request_error", "request_too_large"), body
    else:
        assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
        assert body["error"]["type"] == "invalid_request_error", body
    assert "Traceback" not in r.text
    return body["error"]


def post(
    server, api: str, body: dict | bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    path, base = BASE[api]
    content = body if isinstance(body, bytes) else json.dumps({**base, **body}).encode()
    return httpx.post(
        server.base_url + path,
        content=content,
        headers={"content-type": "application/json", **(headers or {})},
        timeout=30,
    )


def assert_responsive(server, api: str) -> None:
    assert post(server, api, {}, FAST).status_code == 200
    assert httpx.get(server.base_url + "/streamlab/stats").json()["active_generations"] >= 0


@pytest.mark.parametrize("api", list(BASE))
@pytest.mark.parametrize(("case", "status", "param", "make"), CASES, ids=[c[0] for c in CASES])
def test_hostile_input_is_a_named_4xx(local_server, api, case, status, param, make):
    body, headers = make(api)
    r = post(local_server, api, body, headers)
    assert r.status_code == status, r.text[:300]
    error = assert_provider_shape(api, r)
    if param and api != "messages":
        assert error["param"] == param, error
    if param:
        assert param.split("[")[0] in error["message"], error
    assert_responsive(local_server, api)


def _no_constant(name: str) -> None:
    raise AssertionError(f"/streamlab/stats sent {name}, which is not JSON")


def test_hostile_controls_cannot_poison_the_stats_endpoint():
    # A NaN control used to be accepted (NaN < 0 is false). A stall of NaN seconds
    # returns at once (asyncio runs a NaN timer immediately) and shifted the schedule
    # by NaN: every later token was recorded NaN late, and from then on
    # GET /streamlab/stats was a plain-text 500. The timing controls must not get
    # through either.
    hostile = [
        ("x-streamlab-fault", "stall-after=1;seconds=nan"),
        ("x-streamlab-ttft-ms", "nan"),
        ("x-streamlab-tokens-per-second", "nan"),
        ("x-streamlab-jitter-ms", "nan"),
    ]
    with serve(ttft_ms=0, tokens_per_second=0, jitter_ms=0) as server:
        statuses = [
            post(server, api, {"stream": True}, {name: value, "x-streamlab-tokens": "5"})
            for api in BASE
            for name, value in hostile
        ]
        r = httpx.get(server.base_url + "/streamlab/stats", timeout=30)
        assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
        stats = json.loads(r.text, parse_constant=_no_constant)
        assert stats["lateness_samples"] == 0
        assert [s.status_code for s in statuses] == [400] * len(statuses)
        # The endpoint still reports real lateness once a normal stream has run.
        assert post(server, "chat", {"stream": True}, FAST).status_code == 200
        after = json.loads(httpx.get(server.base_url + "/streamlab/stats").text)
        assert after["lateness_samples"] > 0 and "lateness_ms" in after


def _limits_section() -> str:
    import streamlab.provider

    doc = streamlab.provider.__doc__ or ""
    assert "\nLimits\n======\n" in doc, "the package docstring has no Limits section"
    section = doc.split("\nLimits\n======\n", 1)[1]
    return section.split("\n=", 1)[0]  # up to the next section's underline


def test_every_limit_constant_is_documented_in_the_limits_section():
    import importlib
    import pkgutil
    import re

    import streamlab.provider

    constants = {}
    for info in pkgutil.iter_modules(streamlab.provider.__path__):
        module = importlib.import_module(f"streamlab.provider.{info.name}")
        for name, value in vars(module).items():
            if re.fullmatch(r"MAX_[A-Z_]+", name) and isinstance(value, (int, float)):
                constants.setdefault(name, value)
    assert len(constants) >= 20, sorted(constants)
    section = _limits_section()
    mentioned = set(re.findall(r"``(MAX_[A-Z_]+)``", section))
    assert set(constants) - mentioned == set(), "limits missing from the docstring"
    assert mentioned - set(constants) == set(), "the docstring names limits that do not exist"
