"""Benchmark: streamlab's SSE decoder against its peers, in one process.

Peers, each run the way it runs on a real response:

- httpx-sse: bytes -> incremental UTF-8 text decoder (what ``response.iter_text()``
  does) -> ``SSELineDecoder`` -> ``SSEDecoder.decode`` per line;
- sseclient-py: ``SSEClient(chunks).events()``;
- openai: the SDK's own ``openai._streaming.SSEDecoder().iter_bytes(chunks)``;
- streamlab: ``SSEDecoder.feed`` per chunk.

Workloads:

(a) 100k LLM-shaped delta events (``data: {"type":"response.output_text.delta",...}``)
    in 64 KiB chunks;
(b) the same bytes in ~1.4 KB (network-packet-sized) chunks;
(b2) for information: the same events with an ``event:`` line each, as the
    Responses API and Anthropic send them, in ~1.4 KB chunks;
(c) a smaller stream (2,000 events) in 1-byte chunks, then twice as many;
(d) one 10 MB ``data`` field in 4 KiB chunks, then 20 MB;
(e) events kept: the Responses shape of (b2) in 64 KiB and ~1.4 KB chunks,
    each parser keeping its own event objects in a list, as a caller that
    collects a response does. Then the cyclic garbage collector walks every
    live event on each collection, which costs every parser, and more the
    more objects its events hold.

It prints events/s, MB/s and the ratio to the fastest peer (>1: streamlab is
faster), and for (c) and (d) the time ratio when the input doubles (2.0 is
linear). Each figure is the best of a few runs, timed in CPU seconds of this
process (``time.process_time``), which other load on a shared machine
disturbs less than wall time. Not part of pytest.

Run: ``.venv/bin/python benchmarks/bench_sse.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import codecs
import gc
import json
import sys
import time
from collections.abc import Callable, Iterable

from httpx_sse._decoders import SSEDecoder as HxDecoder
from httpx_sse._decoders import SSELineDecoder
from openai._streaming import SSEDecoder as OpenAIDecoder
from sseclient import SSEClient

from streamlab.sse import SSEDecoder


def llm_stream(n: int, *, event_lines: bool = False) -> bytes:
    """n Responses-API-shaped text delta events, as bytes.

    Without ``event_lines`` they are written as Chat Completions writes its
    chunks (``data:`` only); with it, as the Responses API and Anthropic do
    (an ``event:`` line first).
    """
    words = [" the", " stream", " of", " tokens", " arrives", " word", " by", " é", " 💡", ","]
    out = []
    for i in range(n):
        payload = {
            "type": "response.output_text.delta",
            "sequence_number": i,
            "item_id": "msg_68a1b2c3d4e5f6",
            "output_index": 0,
            "content_index": 0,
            "delta": words[i % len(words)],
            "logprobs": [],
        }
        line = b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n"
        out.append(b"event: response.output_text.delta\n" + line if event_lines else line)
    return b"".join(out)


def big_field(size: int) -> bytes:
    return b"data: " + b"x" * size + b"\n\n"


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


# ---------------------------------------------------------------------- runners
# Each takes the list of chunks and returns the number of events (and data
# length checksum) so that every parser does the complete job.


#: Set by ``table(..., keep=True)``: every runner appends its events here.
KEPT: list[object] | None = None


def run_streamlab(chunks: list[bytes]) -> tuple[int, int]:
    decoder = SSEDecoder()
    feed = decoder.feed
    n = size = 0
    for chunk in chunks:
        for event in feed(chunk):
            n += 1
            size += len(event.data)
            if KEPT is not None:
                KEPT.append(event)
    decoder.close()
    return n, size


def run_httpx_sse(chunks: list[bytes]) -> tuple[int, int]:
    text_decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    lines = SSELineDecoder()
    decoder = HxDecoder()
    n = size = 0

    def handle(line: str) -> None:
        nonlocal n, size
        event = decoder.decode(line.rstrip("\n"))
        if event is not None:
            n += 1
            size += len(event.data)
            if KEPT is not None:
                KEPT.append(event)

    for chunk in chunks:
        text = text_decoder.decode(chunk)
        if text:
            for line in lines.decode(text):
                handle(line)
    text = text_decoder.decode(b"", True)
    if text:
        for line in lines.decode(text):
            handle(line)
    for line in lines.flush():
        handle(line)
    return n, size


def run_sseclient(chunks: list[bytes]) -> tuple[int, int]:
    n = size = 0
    for event in SSEClient(iter(chunks)).events():
        n += 1
        size += len(event.data)
        if KEPT is not None:
            KEPT.append(event)
    return n, size


def run_openai(chunks: list[bytes]) -> tuple[int, int]:
    n = size = 0
    for event in OpenAIDecoder().iter_bytes(iter(chunks)):
        n += 1
        size += len(event.data)
        if KEPT is not None:
            KEPT.append(event)
    return n, size


def _malloc_trim() -> Callable[[], object]:
    """glibc's malloc_trim, or a no-op elsewhere.

    Called before each timed run, it hands freed memory back to the OS, so
    every parser and every input size pays the same first-touch cost for its
    big buffers. Without it, a run that follows a big one (sseclient-py's
    quadratic case d churns gigabytes) reuses warm pages and looks twice as
    fast, which skews the doubling ratios.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        return lambda: libc.malloc_trim(0)
    except (OSError, AttributeError):
        return lambda: None


trim_memory = _malloc_trim()


PEERS: dict[str, Callable[[list[bytes]], tuple[int, int]]] = {
    "httpx-sse": run_httpx_sse,
    "sseclient-py": run_sseclient,
    "openai": run_openai,
}


def table(
    title: str,
    data: bytes,
    chunk_size: int,
    repeats: int,
    once: Iterable[str] = (),
    skip: Iterable[str] = (),
    keep: bool = False,
) -> dict[str, float]:
    """Time every parser on ``data`` cut in ``chunk_size`` pieces; print a table.

    The runs are interleaved (round after round of every parser) and the best
    run of each counts, so that a burst of load on the machine hits all of
    them alike. Parsers in ``once`` run a single round (they are slow there),
    those in ``skip`` none. With ``keep`` every event is kept until the
    run's time is taken (freeing them is not timed).
    """
    global KEPT
    chunks = chunked(data, chunk_size)
    mb = len(data) / 1e6
    print(f"\n{title}: {mb:.2f} MB in {len(chunks):,} chunks of {chunk_size:,} B")
    print(f"  {'parser':<14}{'events':>9}{'events/s':>14}{'MB/s':>10}{'seconds':>10}")
    runners = {"streamlab": run_streamlab, **PEERS}
    times: dict[str, float] = {}
    results: dict[str, tuple[int, int]] = {}
    for round_ in range(repeats):
        for name, run in runners.items():
            if name in skip or (round_ and name in once):
                continue
            gc.collect()
            trim_memory()
            KEPT = [] if keep else None
            t0 = time.process_time()
            results[name] = run(chunks)
            times[name] = min(times.get(name, float("inf")), time.process_time() - t0)
            KEPT = None
    for name in runners:
        if name in skip:
            print(f"  {name:<14}{'skipped (quadratic on this input)':>53}")
            continue
        t, (n, size) = times[name], results[name]
        if (n, size) != results["streamlab"]:
            print(f"  ! {name} disagrees: {n} events / {size} chars vs {results['streamlab']}")
        print(f"  {name:<14}{n:>9,}{n / t:>14,.0f}{mb / t:>10.1f}{t:>10.3f}")
    peers = {k: v for k, v in times.items() if k != "streamlab"}
    fastest = min(peers, key=peers.get)  # type: ignore[arg-type]
    print(f"  streamlab vs fastest peer ({fastest}): {peers[fastest] / times['streamlab']:.2f}x")
    return times


def main() -> None:
    quick = "--quick" in sys.argv
    n_events = 10_000 if quick else 100_000
    n_small = 500 if quick else 2_000
    big = 1_000_000 if quick else 10_000_000
    rep = 1 if quick else 5
    rep_slow = 1 if quick else 3
    t_start = time.process_time()
    print(
        f"Python {sys.version.split()[0]}; best of {rep} interleaved runs for (a)/(b), "
        f"{rep_slow} for (c)/(d); CPU seconds; ratio >1 = streamlab faster"
    )

    stream = llm_stream(n_events)
    table(f"(a) {n_events:,} LLM delta events, 64 KiB chunks", stream, 65536, rep)
    table(f"(b) {n_events:,} LLM delta events, ~1.4 KB chunks", stream, 1400, rep)
    # Not a target, for information: the event-line shape of Responses/Anthropic.
    table(
        f"(b2) {n_events:,} events with event: lines, ~1.4 KB chunks",
        llm_stream(n_events, event_lines=True),
        1400,
        rep,
    )

    small, small2 = llm_stream(n_small), llm_stream(2 * n_small)
    c1 = table(f"(c) {n_small:,} events, 1-byte chunks", small, 1, rep_slow)
    c2 = table(f"(c') {2 * n_small:,} events, 1-byte chunks", small2, 1, rep_slow)

    # sseclient-py grows one bytes object with += per line piece: quadratic on
    # a long line, minutes at 20 MB, so it runs only on the smaller input.
    d1 = table(
        f"(d) one {big // 10**6} MB data field, 4 KiB chunks",
        big_field(big),
        4096,
        rep_slow,
        once=("sseclient-py",),
    )
    d2 = table(
        f"(d') one {2 * big // 10**6} MB data field, 4 KiB chunks",
        big_field(2 * big),
        4096,
        rep_slow,
        skip=("sseclient-py",),
    )

    shaped = llm_stream(n_events, event_lines=True)
    table(
        f"(e) {n_events:,} events kept, event: lines, 64 KiB chunks", shaped, 65536, rep, keep=True
    )
    table(
        f"(e') {n_events:,} events kept, event: lines, ~1.4 KB chunks", shaped, 1400, rep, keep=True
    )

    print("\nTime ratio when the input doubles (2.0 = linear):")
    for label, one, two in (("(c) 1-byte chunks", c1, c2), ("(d) 10 MB field", d1, d2)):
        ratios = ", ".join(f"{k} {two[k] / one[k]:.2f}" for k in one if k in two)
        print(f"  {label}: {ratios}")
    print(f"\ntotal benchmark time: {time.process_time() - t_start:.1f} s")


if __name__ == "__main__":
    main()
