"""Checks for notebook 10, serving your own stream.

- :func:`check_sse_headers`: exercise 10.1, the response headers that keep a
  relayed stream streaming through proxies and caches. The check serves a
  relay with the learner's headers behind the lesson's buffering proxy and
  times what a client sees, then reads the headers one by one.
- :func:`check_with_keepalive`: exercise 10.2, an async generator that passes
  SSE frames through and adds a ``: keep-alive`` comment after each quiet
  spell, without losing, reordering or cancelling anything.

Both run the learner's code for real (sockets, an event loop in a worker
thread, so they work from a notebook whose loop is already running).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from streamlab.checks._report import Report, run_check
from streamlab.checks.nb09 import _run_async

__all__ = ["check_sse_headers", "check_with_keepalive"]


# --------------------------------------------------------------------------- 10.1


def check_sse_headers(sse_headers: Callable[[], Mapping[str, str]]) -> bool:
    """Exercise 10.1: ``sse_headers()`` returns the relay's response headers."""

    def body(r: Report) -> None:
        headers = sse_headers()
        if headers is None:
            r.not_yet("sse_headers() returned None: return a dict of header names to values")
            return
        if not isinstance(headers, Mapping):
            r.expect(False, f"sse_headers() should return a dict, not {type(headers).__name__}")
            return
        h = {str(k).lower(): str(v) for k, v in headers.items()}
        ctype = h.get("content-type", "")
        r.expect(
            ctype.split(";")[0].strip().lower() == "text/event-stream",
            f"Content-Type is {ctype or 'missing'!r}: EventSource refuses anything but "
            "text/event-stream (it fires an error and never reconnects)",
        )
        cache = {p.strip().lower() for p in h.get("cache-control", "").split(",")}
        r.expect(
            "no-cache" in cache or "no-store" in cache,
            "Cache-Control lacks no-cache: a cache in between may store the stream and "
            "replay an old answer, or hold it until it is complete",
        )
        r.expect(
            "no-transform" in cache,
            "Cache-Control lacks no-transform: proxies and CDNs may then compress or "
            "rewrite the body, which buffers it",
        )
        r.expect(
            h.get("x-accel-buffering", "").strip().lower() == "no",
            "X-Accel-Buffering is not 'no': nginx (and the proxy in this notebook) "
            "collects the whole response before passing it on",
        )
        r.expect(
            "content-length" not in h,
            "drop Content-Length: a stream's length is not known when it starts, and a "
            "wrong one cuts the stream or makes the client wait for bytes that never come",
        )
        r.expect(
            h.get("content-encoding", "identity").lower() in ("identity", ""),
            f"Content-Encoding {h.get('content-encoding')!r} says the body is compressed, "
            "but the relay sends it as is: the browser would fail to decode it",
        )
        if r.problems:
            return
        from streamlab.relay import (
            HeldSource,
            create_proxy_app,
            create_relay_app,
            run_app,
            watch_held,
        )

        # The source holds the stream open after its first delta until the client has
        # seen that delta (at most 3 s): seen while held means streamed, whatever the load.
        src = HeldSource([f"w{i} " for i in range(16)], hold=3.0)
        with (
            run_app(create_relay_app(src, headers=dict(headers))) as relay,
            run_app(create_proxy_app(relay.url)) as proxy,
        ):
            seen = watch_held(proxy.url + "/events", src)
        r.expect(
            seen.text == "".join(src.deltas) and seen.last_event == "done",
            f"through the proxy the stream did not arrive whole (status {seen.status}, "
            f"last event {seen.last_event!r})",
        )
        r.expect(
            bool(seen.streamed),
            "behind the buffering proxy the first event arrived only after the stream "
            "was released: the proxy held it back",
        )

    return run_check("Exercise 10.1: headers that survive the proxy", body)


# --------------------------------------------------------------------------- 10.2


async def _frames(
    n: int,
    *,
    gaps: Mapping[int, float] | None = None,
    delay: float = 0.0,
    log: list[str] | None = None,
    quiet_until: Callable[[], bool] | None = None,
) -> AsyncIterator[bytes]:
    """``n`` SSE frames; before frame ``i`` wait ``gaps[i]`` (else ``delay``) seconds.

    After a gap, ``quiet_until`` (if given) keeps the source silent until it
    returns true (at most 3 s more): a silence that lasts until the consumer
    has seen what it should, however slow the machine.
    """
    try:
        for i in range(n):
            gap = (gaps or {}).get(i)
            await asyncio.sleep(delay if gap is None else gap)
            if gap is not None and quiet_until is not None:
                deadline = time.perf_counter() + 3.0
                while not quiet_until() and time.perf_counter() < deadline:
                    await asyncio.sleep(0.01)
            yield f"id: {i}\ndata: frame {i}\n\n".encode()
        if log is not None:
            log.append("finished")
    except asyncio.CancelledError:
        if log is not None:
            log.append("cancelled")
        raise
    except GeneratorExit:
        if log is not None:
            log.append("closed")
        raise


def _is_comment(chunk: bytes) -> bool:
    return (
        isinstance(chunk, (bytes, bytearray))
        and chunk.startswith(b":")
        and chunk.endswith(b"\n\n")
        and all(line.startswith(b":") for line in chunk[:-2].split(b"\n"))
    )


async def _collect(
    gen: Any, limit: int = 200, out: list[tuple[float, bytes]] | None = None
) -> list[tuple[float, bytes]]:
    """``(seconds since the start, chunk)`` for each chunk of ``gen``, appended to ``out``."""
    t0 = time.perf_counter()
    out = [] if out is None else out
    async for chunk in gen:
        out.append((time.perf_counter() - t0, chunk))
        if len(out) >= limit:
            break
    return out


def _early_comments(got: list[tuple[float, bytes]], interval: float) -> int:
    """Comments that came sooner than ``interval`` (less a margin) after the chunk before them.

    A busy machine can make a silence longer, never shorter, so this does not
    depend on how loaded the machine is.
    """
    return sum(
        1
        for (t_prev, _), (t, c) in itertools.pairwise(got)
        if _is_comment(c) and t - t_prev < 0.8 * interval
    )


def check_with_keepalive(with_keepalive: Callable[..., AsyncIterator[bytes]]) -> bool:
    """Exercise 10.2: ``with_keepalive(frames, interval)`` adds comments in quiet spells."""

    def body(r: Report) -> None:
        want = [f"id: {i}\ndata: frame {i}\n\n".encode() for i in range(5)]

        # A quiet spell before frame 3, keep-alive every 0.15 s: the source stays
        # silent for 0.6 s, and then until 4 comments have come (on a busy machine
        # they come late; the silence then lasts longer).
        log: list[str] = []
        seen: list[tuple[float, bytes]] = []

        def four_comments() -> bool:  # comment-like chunks: malformed ones are reported below
            return sum(isinstance(c, bytes) and c.startswith(b":") for _, c in seen) >= 4

        source = _frames(5, gaps={3: 0.6}, log=log, quiet_until=four_comments)
        got = _run_async(lambda: _collect(with_keepalive(source, 0.15), out=seen), 10)
        if got is None or not isinstance(got, list):
            r.expect(False, "with_keepalive(...) should be an async generator (use `yield`)")
            return
        chunks = [c for _, c in got]
        data = [c for c in chunks if not _is_comment(c)]
        comments = [c for c in chunks if _is_comment(c)]
        if "cancelled" in log:
            r.expect(
                False,
                "your keep-alive cancelled the source stream during the pause: "
                "asyncio.wait_for(...) cancels the __anext__() it gives up on, and that "
                "kills an async generator. Keep the pending __anext__() in a task and wait "
                "for it with asyncio.wait({task}, timeout=interval) instead",
            )
            return
        bad = [c for c in chunks if c not in want and not _is_comment(c)]
        if bad:
            r.expect(
                False,
                f"some chunks are neither the source's frames nor SSE comments, e.g. {bad[:1]!r}: "
                "a comment is a line starting with ':' and ends with a blank line, "
                "b': keep-alive\\n\\n'",
            )
            return
        r.expect(
            data == want,
            f"the frames should pass through unchanged and in order: got {len(data)} of 5"
            + (" (the stream ended early)" if len(data) < 5 else ""),
        )
        early = _early_comments(got, 0.15)
        r.expect(
            3 <= len(comments) <= 5 and not early,
            f"a 0.6 s silence with interval 0.15 s should give about 4 keep-alive comments, "
            f"each `interval` seconds after the chunk before it; got {len(comments)}"
            + (f", {early} of them sooner" if early else ""),
        )
        if comments:
            idx = [i for i, c in enumerate(chunks) if _is_comment(c)]
            r.expect(
                all(2 < i < len(chunks) - 2 for i in idx),
                "keep-alive comments should come only during the silence (before frame 3)",
            )
            first = next(t for t, c in got if _is_comment(c))
            r.expect(
                0.1 <= first <= 0.6,
                f"the first keep-alive came {first:.2f} s after the stream started; it "
                "should come about `interval` seconds into the silence",
            )

        # Frames every 0.03 s: no silence, so no comment (a busy machine may stall
        # the frames for longer than `interval`: a comment after such a stall is fine).
        got = _run_async(lambda: _collect(with_keepalive(_frames(20, delay=0.03), 0.15)), 8)
        n = _early_comments(got, 0.15)
        r.expect(
            n == 0,
            f"{n} keep-alive comments were sent although frames came every 0.03 s: send one "
            "only after `interval` seconds without any frame (restart the clock on each frame)",
        )

    return run_check("Exercise 10.2: keep-alive comments", body)
