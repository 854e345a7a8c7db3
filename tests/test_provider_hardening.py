"""The local provider under hostile or clumsy input: it never stalls, and every bad input is a 4xx.

Real server, real sockets. Ordering asserts are causal: a request's answer is
read *while* another one's state (the server's own counters) shows it has not
finished, never "within N ms".
"""

from __future__ import annotations

import json
import socket
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
