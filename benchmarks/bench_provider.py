"""Benchmark the local provider.

(a) Pacing under load: 200 concurrent Responses streams of 500 tokens at 50
    tokens/s from ONE server process (a subprocess). Reports per-stream
    throughput, lateness of each token against its schedule (p50/p99/max;
    target p99 < 5 ms) measured by the server at send time and by the client
    at arrival, and the server's CPU use. The 200 starts are spread over one
    second (--ramp-ms); a sweep with 50 and 100 streams runs first (--sweep).
    The machine is shared: the load average is printed with each figure.
(c) Mixed load: the same 200 paced streams, a third of them with two
    parallel tool calls (long arguments), a third with reasoning (effort
    high, detailed summary) before a 500-token answer, a third plain text.
    Reports the server's lateness of every paced event (p99 target < 5 ms).
(b) Raw speed: one stream with no delay. Events/s the server emits (read by
    a bare socket client) as a ratio to the events/s the real openai SDK can
    parse from the same server in the same run. Above 1 means the SDK, not the
    server, is the bottleneck.
(d) Heavy requests: bodies just under the limits (a 4 MiB prompt, 4 MiB of
    ``\\u`` escapes, 99,000 values, the same with a lone surrogate at the end,
    a schema asking for the biggest answer allowed), sent unpaced while 50
    paced streams flow.

Every run reports the longest event-loop stall the server saw (goal < 50
ms): a ticker task inside the server process (``_loop_probe.py``) measures
how late it wakes up, which is how long any other request had to wait.

Run: ``.venv/bin/python benchmarks/bench_provider.py [--streams 200]
[--tokens 500] [--rate 50] [--ramp-ms 1000] [--sweep 50,100] [--only a|b|c|d]``.
Takes about two minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time

MARK = b'"type": "response.output_text.delta"'
CLK = os.sysconf("SC_CLK_TCK")
STALL_GOAL_MS = 50


def start_server(tps: float) -> tuple[subprocess.Popen[str], int]:
    """The provider in its own process, with a loop-lag probe (``_loop_probe``)."""
    code = (
        "import sys, uvicorn, socket\n"
        f"sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r})\n"
        "from _loop_probe import probed\n"
        "from streamlab.provider import create_app\n"
        f"app = probed(create_app(ttft_ms=0, tokens_per_second={tps}, jitter_ms=0))\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1], flush=True)\n"
        "config = uvicorn.Config(app, log_level='warning', access_log=False, lifespan='off', backlog=1024)\n"
        "uvicorn.Server(config).run(sockets=[s])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    deadline = time.monotonic() + 20
    while True:  # the socket is bound before uvicorn listens on it: wait until it accepts
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the benchmark server did not start") from None
            time.sleep(0.02)


def stall_ms(port: int, *, reset: bool = False) -> float:
    """The longest event-loop stall the server's probe saw (ms) since the last reset."""
    import httpx

    url = f"http://127.0.0.1:{port}/bench/stall" + ("?reset=1" if reset else "")
    return httpx.get(url, timeout=60).json()["max_ms"]


def stall_verdict(ms: float) -> str:
    return f"[goal < {STALL_GOAL_MS} ms: {'OK' if ms < STALL_GOAL_MS else 'MISSED'}]"


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime + stime


def request_bytes(port: int, tokens: int, seed: int) -> bytes:
    body = json.dumps(
        {"model": "streamlab-local", "input": "Tell me about streaming", "stream": True}
    ).encode()
    return (
        f"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-streamlab-tokens: {tokens}\r\nx-streamlab-seed: {seed}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class _Counter(asyncio.Protocol):
    """Counts delta events per read and stamps them; as cheap as a Python client gets."""

    def __init__(self, done: asyncio.Future[list[float]]) -> None:
        self.arrivals: list[float] = []
        self.tail = b""
        self.done = done

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        buf = self.tail + data
        n = buf.count(MARK)
        if n:
            self.arrivals += [now] * n
        self.tail = buf[-(len(MARK) - 1) :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(self.arrivals)


async def one_stream(port: int, tokens: int, seed: int) -> list[float]:
    """Arrival time of each delta event, read with a bare socket (cheap on the client).

    ``Connection: close`` makes the server close the socket at the end of the stream.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[float]] = loop.create_future()
    transport, _ = await loop.create_connection(lambda: _Counter(done), "127.0.0.1", port)
    transport.write(request_bytes(port, tokens, seed))
    try:
        return await done
    finally:
        transport.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


async def load_test(
    port: int, streams: int, tokens: int, rate: float, ramp: float = 0.0
) -> dict[str, float]:
    """Run the streams; their starts are spread evenly over ``ramp`` seconds."""

    async def delayed(i: int) -> list[float]:
        await asyncio.sleep(ramp * i / streams)
        return await one_stream(port, tokens, i)

    results = await asyncio.gather(*(delayed(i) for i in range(streams)))
    lateness, throughput = [], []
    for arrivals in results:
        assert len(arrivals) == tokens, f"stream got {len(arrivals)} of {tokens} tokens"
        first = arrivals[0]
        lateness += [t - (first + i / rate) for i, t in enumerate(arrivals)]
        throughput.append((tokens - 1) / (arrivals[-1] - first))
    return {
        "client_p50_ms": 1000 * pct(lateness, 0.50),
        "client_p99_ms": 1000 * pct(lateness, 0.99),
        "client_max_ms": 1000 * max(lateness),
        "tput_min": min(throughput),
        "tput_median": statistics.median(throughput),
        "tput_max": max(throughput),
    }


def bench_a(streams: int, tokens: int, rate: float, ramp: float) -> dict[str, float]:
    import httpx

    proc, port = start_server(rate)
    try:
        base = f"http://127.0.0.1:{port}"
        httpx.get(base + "/streamlab/stats?reset=1")
        stall_ms(port, reset=True)
        load = os.getloadavg()[0]
        cpu0, t0, own0 = cpu_seconds(proc.pid), time.perf_counter(), time.process_time()
        client = asyncio.run(load_test(port, streams, tokens, rate, ramp))
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        client_cpu = time.process_time() - own0
        stall = stall_ms(port)
        server = httpx.get(base + "/streamlab/stats").json()
    finally:
        proc.terminate()
        proc.wait()
    late = server["lateness_ms"]
    return {
        **client,
        "streams": streams,
        "ramp": ramp,
        "p50": late["p50"],
        "p99": late["p99"],
        "max": late["max"],
        "cpu": cpu,
        "wall": wall,
        "client_cpu": client_cpu,
        "load": load,
        "stall": stall,
    }


def report_a(r: dict[str, float], tokens: int, rate: float) -> None:
    print(
        f"(a) {r['streams']} concurrent streams x {tokens} tokens at {rate:g} tokens/s, one server process, "
        f"starts spread over {1000 * r['ramp']:.0f} ms (load average {r['load']:.1f} when it started)"
    )
    print(
        f"    per-stream throughput: median {r['tput_median']:.2f} tok/s "
        f"(min {r['tput_min']:.2f}, max {r['tput_max']:.2f}; target {rate:g})"
    )
    print(
        f"    token lateness at the server (send vs schedule): p50 {r['p50']:.2f} ms, "
        f"p99 {r['p99']:.2f} ms, max {r['max']:.2f} ms  "
        f"[target p99 < 5 ms: {'OK' if r['p99'] < 5 else 'MISSED'}]"
    )
    print(
        f"    token lateness at the client (arrival vs first + i/rate): p50 {r['client_p50_ms']:.2f} ms, "
        f"p99 {r['client_p99_ms']:.2f} ms, max {r['client_max_ms']:.2f} ms"
    )
    print(
        f"    server CPU: {r['cpu']:.2f} s over {r['wall']:.1f} s wall = {100 * r['cpu'] / r['wall']:.0f}% of one core "
        f"({r['streams'] * tokens / r['cpu']:,.0f} paced events per CPU-second); "
        f"client CPU {100 * r['client_cpu'] / r['wall']:.0f}%"
    )
    print(f"    longest event-loop stall: {r['stall']:.1f} ms  {stall_verdict(r['stall'])}")


NOTES = {
    "type": "object",
    "properties": {
        "notes": {"type": "array", "items": {"type": "string"}, "minItems": 12, "maxItems": 12}
    },
    "required": ["notes"],
}
MIXED_BODIES = {
    "tools": {
        "input": "Use save_notes and file_notes for the ocean",
        "tools": [
            {"type": "function", "name": name, "description": "Keep notes", "parameters": NOTES}
            for name in ("save_notes", "file_notes")
        ],
    },
    "reasoning": {
        "input": "Tell me about streaming",
        "reasoning": {"effort": "high", "summary": "detailed"},
    },
    "text": {"input": "Tell me about streaming"},
}


def mixed_request(port: int, kind: str, tokens: int, seed: int) -> bytes:
    body = json.dumps({"model": "m", "stream": True, **MIXED_BODIES[kind]}).encode()
    return (
        f"POST /v1/responses HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-streamlab-tokens: {tokens}\r\nx-streamlab-seed: {seed}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


async def whole_stream(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    data = await reader.read(-1)
    writer.close()
    return data


def bench_c(streams: int, tokens: int, rate: float, ramp: float) -> None:
    import httpx

    kinds = [("tools", "reasoning", "text")[i % 3] for i in range(streams)]

    async def run() -> list[bytes]:
        async def delayed(i: int) -> bytes:
            await asyncio.sleep(ramp * i / streams)
            return await whole_stream(port, mixed_request(port, kinds[i], tokens, i))

        return await asyncio.gather(*(delayed(i) for i in range(streams)))

    proc, port = start_server(rate)
    try:
        base = f"http://127.0.0.1:{port}"
        httpx.get(base + "/streamlab/stats?reset=1")
        stall_ms(port, reset=True)
        load = os.getloadavg()[0]
        cpu0, t0 = cpu_seconds(proc.pid), time.perf_counter()
        bodies = asyncio.run(run())
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(proc.pid) - cpu0
        stall = stall_ms(port)
        server = httpx.get(base + "/streamlab/stats").json()
    finally:
        proc.terminate()
        proc.wait()
    counts = {k: [] for k in MIXED_BODIES}
    for kind, body in zip(kinds, bodies, strict=True):
        assert b'"type": "response.completed"' in body, f"a {kind} stream did not complete"
        counts[kind].append(body.count(b'.delta", '))
    late = server["lateness_ms"]
    print(
        f"(c) mixed: {streams} concurrent Responses streams at {rate:g} events/s "
        f"(load average {load:.1f} when it started)"
    )
    for kind, n in counts.items():
        print(f"    {len(n)} {kind} streams, {statistics.median(n):.0f} delta events each (median)")
    print(
        f"    lateness of {server['lateness_samples']:,} paced events at the server: p50 {late['p50']:.2f} ms, "
        f"p99 {late['p99']:.2f} ms, max {late['max']:.2f} ms  "
        f"[target p99 < 5 ms: {'OK' if late['p99'] < 5 else 'MISSED'}]"
    )
    print(
        f"    server CPU: {cpu:.2f} s over {wall:.1f} s wall = {100 * cpu / wall:.0f}% of one core"
    )
    print(f"    longest event-loop stall: {stall:.1f} ms  {stall_verdict(stall)}")


async def raw_rate(port: int, tokens: int) -> float:
    t0 = time.perf_counter()
    arrivals = await one_stream(port, tokens, 0)
    assert len(arrivals) == tokens
    return tokens / (time.perf_counter() - t0)


def sdk_rate(port: int, tokens: int) -> tuple[float, float]:
    import openai

    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    t0 = time.perf_counter()
    n = sum(
        1
        for _ in client.responses.create(
            model="m",
            input="Tell me about streaming",
            stream=True,
            extra_headers={"x-streamlab-tokens": str(tokens)},
        )
    )
    t_raw = time.perf_counter() - t0
    t0 = time.perf_counter()
    with client.responses.stream(
        model="m",
        input="Tell me about streaming",
        extra_headers={"x-streamlab-tokens": str(tokens)},
    ) as stream:
        m = sum(1 for _ in stream)
    return n / t_raw, m / (time.perf_counter() - t0)


def bench_b(tokens: int) -> None:
    proc, port = start_server(0)
    try:
        asyncio.run(raw_rate(port, 1000))  # warm-up
        stall_ms(port, reset=True)
        server = max(asyncio.run(raw_rate(port, tokens)) for _ in range(3))
        sdk, helper = max((sdk_rate(port, tokens) for _ in range(2)), key=lambda r: r[0])
        stall = stall_ms(port)
    finally:
        proc.terminate()
        proc.wait()
    print(f"(b) one stream, no delay, {tokens} delta events (Responses API)")
    print(f"    server emits {server:,.0f} events/s (bare socket reader)")
    print(
        f"    openai SDK parses {sdk:,.0f} events/s (client.responses.create(stream=True)); "
        f"responses.stream() helper {helper:,.0f} events/s"
    )
    print(
        f"    ratio server / SDK = {server / sdk:.1f}x (helper: {server / helper:.1f}x)  "
        f"[> 1: the SDK, not the server, is the limit]"
    )
    print(
        f"    longest event-loop stall while unpaced streams ran: {stall:.1f} ms  "
        f"{stall_verdict(stall)}"
    )


def heavy_bodies() -> dict[str, tuple[str, bytes]]:
    """Requests that cost the server the most per byte, each close to a limit."""
    from streamlab.provider.common import MAX_BODY_BYTES, MAX_JSON_VALUES
    from streamlab.provider.generation import MAX_ARRAY_ITEMS, MAX_JSON_NODES

    room = MAX_BODY_BYTES - 4096
    values = MAX_JSON_VALUES - 1000
    pad = "x" * (room // values - 4)
    grid = {  # the biggest answer a schema may ask for, just under MAX_JSON_NODES
        "type": "array",
        "minItems": MAX_ARRAY_ITEMS,
        "maxItems": MAX_ARRAY_ITEMS,
        "items": {
            "type": "array",
            "items": {"type": "string", "maxLength": 8},
            "minItems": MAX_JSON_NODES // MAX_ARRAY_ITEMS - 2,
            "maxItems": MAX_JSON_NODES // MAX_ARRAY_ITEMS - 2,
        },
    }
    schema = {"format": {"type": "json_schema", "name": "grid", "schema": grid}}
    prompt = {"model": "m", "input": "Tell me about the ocean.", "stream": True}
    bodies = {
        "4 MiB prompt": {**prompt, "input": "word " * (room // 5)},
        "4 MiB of \\u escapes": {**prompt, "input": "\u00e9" * (room // 6)},
        f"{values:,} values": {**prompt, "pad": [pad] * values},
        f"{values:,} values, a lone surrogate": {**prompt, "pad": [pad] * values + ["\ud800"]},
        f"{MAX_JSON_NODES:,}-value schema answer": {**prompt, "text": schema},
    }
    return {name: ("/v1/responses", json.dumps(b).encode()) for name, b in bodies.items()}


async def heavy_request(port: int, path: str, body: bytes) -> tuple[int, int]:
    """Send one heavy request unpaced and read all of it: (status, bytes of the answer)."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nx-streamlab-tokens-per-second: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()
    data = await whole_stream(port, head + body)
    return int(data.split(b" ", 2)[1]), len(data)


def bench_d(streams: int, rate: float, repeat: int = 3) -> None:
    """Heavy requests served while paced streams run: the longest stall each one caused."""
    heavy = heavy_bodies()

    async def run() -> list[tuple[str, int, int, float]]:
        background = [asyncio.ensure_future(one_stream(port, 100_000, i)) for i in range(streams)]
        await asyncio.sleep(1.0)  # every stream is flowing
        out = []
        try:
            for name, (path, body) in heavy.items():
                await asyncio.to_thread(stall_ms, port, reset=True)
                for _ in range(repeat):
                    status, size = await heavy_request(port, path, body)
                out.append((name, status, size, await asyncio.to_thread(stall_ms, port)))
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
        return out

    proc, port = start_server(rate)
    try:
        load = os.getloadavg()[0]
        results = asyncio.run(run())
    finally:
        proc.terminate()
        proc.wait()
    print(
        f"(d) heavy requests, {repeat} of each, sent unpaced while {streams} streams flow at "
        f"{rate:g} tokens/s (load average {load:.1f} when it started)"
    )
    for name, status, size, stall in results:
        print(
            f"    {name:<36} HTTP {status}, {size:>9,} bytes back; longest event-loop stall "
            f"{stall:6.1f} ms  {stall_verdict(stall)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=200)
    parser.add_argument("--tokens", type=int, default=500)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--fast-tokens", type=int, default=20000)
    parser.add_argument(
        "--sweep",
        default="50,100",
        help="smaller stream counts to run first (comma list, '' for none)",
    )
    parser.add_argument(
        "--ramp-ms",
        type=float,
        default=None,
        help="spread the stream starts over this many ms (default 1000; 0: all at once)",
    )
    parser.add_argument("--only", choices=["a", "b", "c", "d"])
    args = parser.parse_args()
    print(f"bench_provider on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    # Real users do not all arrive in the same millisecond, and opening a
    # stream costs the server about 1 ms of CPU (HTTP parsing, routing, the
    # answer, the opening events): by default the 200 starts are spread over
    # one second so that opening them does not delay the tokens already
    # flowing. --ramp-ms 0 shows the thundering-herd case.
    ramp = 1.0 if args.ramp_ms is None else args.ramp_ms / 1000.0
    if args.only in (None, "a"):
        for n in [int(x) for x in args.sweep.split(",") if x.strip()]:
            r = bench_a(n, args.tokens, args.rate, ramp)
            print(
                f"    sweep: {n:>4} streams: server lateness p50 {r['p50']:.2f} ms, p99 {r['p99']:.2f} ms; "
                f"throughput median {r['tput_median']:.2f} tok/s; server CPU {100 * r['cpu'] / r['wall']:.0f}%; "
                f"load {r['load']:.1f}"
            )
        report_a(bench_a(args.streams, args.tokens, args.rate, ramp), args.tokens, args.rate)
    if args.only in (None, "c"):
        bench_c(args.streams, args.tokens, args.rate, ramp)
    if args.only in (None, "b"):
        bench_b(args.fast_tokens)
    if args.only in (None, "d"):
        bench_d(50, args.rate)


if __name__ == "__main__":
    main()
