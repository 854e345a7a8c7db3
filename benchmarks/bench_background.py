"""Benchmark background responses: many generating at once while their clients come and go.

One server process (a subprocess, as in ``bench_provider``) runs, in the same
run:

(p) plain: N concurrent Responses streams of T tokens at R tokens/s, each
    read to its end by one connection (the peer);
(g) background: N background streams of the same size, all generating at
    once, whose clients come and go: each client reads 10-40 deltas, hangs
    up, waits 50-300 ms and resumes with ``GET /v1/responses/{id}?stream=
    true&starting_after=<last sequence_number>``, until the response ends.
    Every client must get exactly T deltas (nothing lost or repeated).

(s) background, one reader each: the same N background responses, each read
    to its end by the connection that created it (the store and the
    follower, without the churn).

Reported: the server's token lateness against the schedule (p50/p99/max) and
CPU share for each; the ratio (s) / (p) of the p99 lateness (near 1: the
store and following cost the paced generations nothing; the goal is < 2);
(g) shows what the reconnections cost on top (each new connection costs the
server about 1 ms of CPU, see ``bench_provider``); the longest event-loop stall;
the server's peak memory (VmHWM) against the store's byte limit
(``background.MAX_STORED_BYTES``), and the store's count and bytes at the end,
which must stay within ``MAX_STORED_RESPONSES`` / ``MAX_STORED_BYTES``.

Run: ``.venv/bin/python benchmarks/bench_background.py [--streams 500]
[--tokens 200] [--rate 20] [--ramp-ms 1000]``. Takes about half a minute.
``--quick`` is the short run ``tests/test_benchmarks.py`` uses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import statistics
import sys
import time
from typing import Any

import httpx
from bench_provider import (
    MARK,
    _Counter,
    cpu_seconds,
    request_bytes,
    stall_ms,
    stall_verdict,
    start_server,
)

from streamlab.provider.background import MAX_STORED_BYTES, MAX_STORED_RESPONSES

P99_RATIO_GOAL = 2.0
_SEQ = re.compile(rb'"sequence_number": (\d+)')
_ID = re.compile(rb'"id": "(resp_[0-9a-f]+)"')
_END = (b"event: response.completed", b"event: response.incomplete", b"event: response.failed")


def vm_hwm_mib(pid: int) -> float:
    """The process's peak resident memory, MiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class _Reader(_Counter):
    """Counts deltas like the plain client, and remembers the id and the last sequence number."""

    def __init__(self, done: asyncio.Future[list[float]], hang_up_after: int | None) -> None:
        super().__init__(done)
        self.hang_up_after, self.buf = hang_up_after, b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self.buf += data
        # Hang up only at an event boundary, so "the last sequence number" is one fully received.
        if self.hang_up_after is not None and len(self.arrivals) >= self.hang_up_after:
            # (chunked transfer: each event's chunk ends "\n\n\r\n")
            if self.buf.endswith(b"\n\n\r\n") and self.transport is not None:
                self.transport.close()


def _post(port: int, tokens: int, seed: int) -> bytes:
    plain = request_bytes(port, tokens, seed)
    head, body = plain.split(b"\r\n\r\n", 1)
    body = json.dumps({**json.loads(body), "background": True}).encode()
    head = re.sub(rb"Content-Length: \d+", b"Content-Length: %d" % len(body), head)
    return head + b"\r\n\r\n" + body


def _get(port: int, resp_id: str, after: int) -> bytes:
    return (
        f"GET /v1/responses/{resp_id}?stream=true&starting_after={after} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    ).encode()


async def _connect(port: int, request: bytes, hang_up_after: int | None) -> _Reader:
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[float]] = loop.create_future()
    reader = _Reader(done, hang_up_after)
    transport, _ = await loop.create_connection(lambda: reader, "127.0.0.1", port)
    transport.write(request)
    try:
        await done
    finally:
        transport.close()
    return reader


async def come_and_go(
    port: int, tokens: int, seed: int, rng: random.Random | None
) -> tuple[int, int]:
    """One background response read by a client that keeps leaving (rng None: stays); (deltas, connections)."""
    deltas, connections, resp_id, last = 0, 0, None, -1
    while True:
        request = _post(port, tokens, seed) if resp_id is None else _get(port, resp_id, last)
        reader = await _connect(port, request, rng.randint(10, 40) if rng else None)
        connections += 1
        body = reader.buf.split(b"\r\n\r\n", 1)[-1]
        if resp_id is None:
            resp_id = _ID.search(body).group(1).decode()  # type: ignore[union-attr]
        # Only whole events count: a cut in the middle of one is resent after the resume.
        whole = body[: body.rfind(b"\n\n") + 2]
        deltas += whole.count(MARK)
        seqs = _SEQ.findall(whole)
        if seqs:
            last = int(seqs[-1])
        if any(end in whole for end in _END):
            return deltas, connections
        await asyncio.sleep(rng.uniform(0.05, 0.3) if rng else 0.0)


async def run_plain(port: int, streams: int, tokens: int, ramp: float) -> None:
    async def one(i: int) -> None:
        await asyncio.sleep(ramp * i / streams)
        reader = await _connect(port, request_bytes(port, tokens, i), None)
        assert len(reader.arrivals) == tokens, f"plain stream got {len(reader.arrivals)} deltas"

    await asyncio.gather(*(one(i) for i in range(streams)))


async def run_background(
    port: int, streams: int, tokens: int, ramp: float, *, leave: bool = True
) -> list[int]:
    async def one(i: int) -> int:
        await asyncio.sleep(ramp * i / streams)
        rng = random.Random(i) if leave else None
        deltas, connections = await come_and_go(port, tokens, i, rng)
        assert deltas == tokens, f"background response {i}: {deltas} deltas of {tokens}"
        return connections

    return await asyncio.gather(*(one(i) for i in range(streams)))


def measure(proc: Any, port: int, phase: object) -> tuple[dict[str, Any], float]:
    """Run ``phase``; the server's stats, its longest loop stall, and its CPU share in ``stats``."""
    base = f"http://127.0.0.1:{port}"
    httpx.get(base + "/streamlab/stats?reset=1")
    stall_ms(port, reset=True)
    cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
    asyncio.run(phase)  # type: ignore[arg-type]
    cpu = (cpu_seconds(proc.pid) - cpu0) / (time.perf_counter() - t0)
    stats = httpx.get(base + "/streamlab/stats").json()
    return stats | {"cpu": cpu}, stall_ms(port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=500)
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--ramp-ms", type=float, default=1000.0)
    parser.add_argument("--quick", action="store_true", help="20 streams of 40 tokens")
    args = parser.parse_args()
    if args.quick:
        args.streams, args.tokens, args.rate, args.ramp_ms = 20, 40, 50.0, 0.0
    n, tokens, ramp = args.streams, args.tokens, args.ramp_ms / 1000.0
    print(f"bench_background on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    proc, port = start_server(args.rate)
    try:
        load = os.getloadavg()[0]
        plain, plain_stall = measure(proc, port, run_plain(port, n, tokens, ramp))
        mem_plain = vm_hwm_mib(proc.pid)
        stay, stay_stall = measure(proc, port, run_background(port, n, tokens, ramp, leave=False))
        t0 = time.perf_counter()
        box: list[list[int]] = []

        async def phase() -> None:
            box.append(await run_background(port, n, tokens, ramp))

        bg, bg_stall = measure(proc, port, phase())
        wall = time.perf_counter() - t0
        mem_bg = vm_hwm_mib(proc.pid)
        store = httpx.get(f"http://127.0.0.1:{port}/streamlab/stats").json()["background"]
    finally:
        proc.terminate()
        proc.wait()
    connections = box[0]
    lp, ls, lb = plain["lateness_ms"], stay["lateness_ms"], bg["lateness_ms"]
    ratio = ls["p99"] / max(lp["p99"], 1e-3)
    print(
        f"{n} responses x {tokens} tokens at {args.rate:g} tokens/s, starts spread over "
        f"{args.ramp_ms:.0f} ms (load average {load:.1f})"
    )
    print(
        f"  (p) plain, one reader each:     lateness p50 {lp['p50']:.2f} ms, p99 {lp['p99']:.2f} ms, "
        f"max {lp['max']:.2f} ms; loop stall {plain_stall:.1f} ms; server CPU {100 * plain['cpu']:.0f}%"
    )
    print(
        f"  (s) background, one reader each: lateness p50 {ls['p50']:.2f} ms, p99 {ls['p99']:.2f} ms, "
        f"max {ls['max']:.2f} ms; loop stall {stay_stall:.1f} ms; server CPU {100 * stay['cpu']:.0f}%"
    )
    print(
        f"  (g) background, clients come and go ({sum(connections)} connections, "
        f"{statistics.mean(connections):.1f} per response, every delta exactly once): lateness p50 "
        f"{lb['p50']:.2f} ms, p99 {lb['p99']:.2f} ms, max {lb['max']:.2f} ms; loop stall "
        f"{bg_stall:.1f} ms {stall_verdict(bg_stall)}; server CPU {100 * bg['cpu']:.0f}%; {wall:.1f} s"
    )
    ok_ratio = ratio < P99_RATIO_GOAL
    print(
        f"  p99 lateness (s) background / (p) plain, one reader each: {ratio:.2f} "
        f"[goal < {P99_RATIO_GOAL:g}: {'OK' if ok_ratio else 'MISSED'}]"
    )
    bounded = store["stored"] <= MAX_STORED_RESPONSES and store["bytes"] <= MAX_STORED_BYTES
    print(
        f"  memory: server peak {mem_plain:.0f} MiB after (p), {mem_bg:.0f} MiB after (g) "
        f"(+{mem_bg - mem_plain:.0f} MiB; the store's limit is {MAX_STORED_BYTES / 2**20:.0f} MiB of "
        f"events); store at the end: {store['stored']} responses, {store['bytes'] / 2**20:.1f} MiB "
        f"[limits {MAX_STORED_RESPONSES} / {MAX_STORED_BYTES / 2**20:.0f} MiB: "
        f"{'OK' if bounded else 'MISSED'}]"
    )
    sys.exit(0 if ok_ratio and bounded else 1)


if __name__ == "__main__":
    main()
