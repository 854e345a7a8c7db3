"""Checks for notebook 10, serving your own stream.

- :func:`check_sse_headers`: exercise 10.1, the response headers that keep a
  relayed stream streaming through proxies and caches, made from an app's
  default headers. The check reads the headers for several apps (names in
  any case, fresh values each run), then serves a relay with them behind the
  lesson's buffering proxy and watches, causally, whether the first event
  comes through while the source still holds the stream open.
- :func:`check_with_keepalive`: exercise 10.2, an async generator that passes
  SSE frames through and adds a ``: keep-alive`` comment after each quiet
  spell, without losing, reordering or cancelling anything.

Both run the learner's code for real (sockets, an event loop in a worker
thread, so they work from a notebook whose loop is already running).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from streamlab.checks._report import Report, run_check
from streamlab.checks.nb09 import _run_async

__all__ = ["check_sse_headers", "check_with_keepalive"]


# --------------------------------------------------------------------------- 10.1

# What the stream replaces, whatever case the app wrote the names in.
_REPLACED = {"content-type", "cache-control", "content-length", "content-encoding"}


def _app_header_cases() -> list[dict[str, str]]:
    """Default headers of an app, as middleware sets them; fresh values each run."""
    rid = secrets.token_hex(8)
    return [
        {
            "X-Request-Id": rid,
            "Set-Cookie": f"session={secrets.token_hex(6)}; HttpOnly; Secure",
            "Cache-Control": "max-age=60",
            "Content-Type": "text/html; charset=utf-8",
        },
        {
            "content-length": str(secrets.randbelow(9000) + 100),
            "content-encoding": "gzip",
            "cache-control": "public, max-age=3600",
            "x-request-id": rid[::-1],
        },
        {"CONTENT-TYPE": "application/json", "X-Frame-Options": "DENY", "Vary": "Origin"},
        {},
    ]


def _judge_headers(r: Report, app: dict[str, str], got: Any, given: dict[str, str]) -> None:
    """One case of 10.1: ``got`` is what ``sse_headers(given)`` returned for ``app``."""
    where = f"(app headers: {', '.join(app) or 'none'})"
    if given != app:
        r.expect(
            False,
            f"sse_headers changed the dict it was given {where}: an app's default headers "
            "are shared by every response, so build a new dict and leave theirs alone",
        )
        return
    if not isinstance(got, Mapping):
        r.expect(False, f"sse_headers should return a dict, not {type(got).__name__}")
        return
    names = [str(k).lower() for k in got]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        r.expect(
            False,
            f"two headers named {twice[0]!r} (in different case) {where}: header names are "
            "case-insensitive, so the app's one and yours are both sent and the browser "
            "may read the wrong one. Remove the app's before adding yours",
        )
        return
    h = {str(k).lower(): str(v) for k, v in got.items()}
    ctype = h.get("content-type", "")
    r.expect(
        ctype.split(";")[0].strip().lower() == "text/event-stream",
        f"Content-Type is {ctype or 'missing'!r} {where}: EventSource refuses anything but "
        "text/event-stream (it fires an error and never reconnects)",
    )
    cache = {p.strip().lower() for p in h.get("cache-control", "").split(",") if p.strip()}
    if "no-store" not in cache:
        r.expect(
            False,
            f"Cache-Control is {h.get('cache-control', 'missing')!r} {where}: without no-store "
            "a cache may keep a copy of this user's answer (no-cache only makes it revalidate "
            "before reusing the copy; it does not stop storing)",
        )
    leftover = sorted(p for p in cache if p.split("=")[0] in {"max-age", "s-maxage", "public"})
    r.expect(
        not leftover,
        f"Cache-Control still says {', '.join(leftover)} {where}: that is the app's policy for "
        "pages; replace the whole header for the stream instead of adding to it",
    )
    r.expect(
        "no-transform" in cache,
        f"Cache-Control lacks no-transform {where}: proxies and CDNs may then compress or "
        "rewrite the body, which buffers it",
    )
    r.expect(
        h.get("x-accel-buffering", "").strip().lower() == "no",
        f"X-Accel-Buffering is not 'no' {where}: nginx (and the proxy in this notebook) "
        "collects the whole response before passing it on",
    )
    r.expect(
        "content-length" not in h,
        f"drop Content-Length {where}: a stream's length is not known when it starts, and a "
        "wrong one cuts the stream or makes the client wait for bytes that never come",
    )
    r.expect(
        h.get("content-encoding", "identity").lower() in ("identity", ""),
        f"Content-Encoding {h.get('content-encoding')!r} {where} says the body is compressed, "
        "but the relay sends it as is: the browser would fail to decode it",
    )
    kept = {k.lower(): v for k, v in app.items() if k.lower() not in _REPLACED}
    lost = sorted(k for k, v in kept.items() if h.get(k) != v)
    r.expect(
        not lost,
        f"the app's header {lost[0] if lost else ''!r} was lost or changed {where}: keep "
        "the headers the stream does not need changed (request ids, cookies, security "
        "headers); the relay's other middleware counts on them",
    )


def check_sse_headers(sse_headers: Callable[[dict[str, str]], Mapping[str, str]]) -> bool:
    """Exercise 10.1: ``sse_headers(app_headers)`` returns the relay's response headers."""

    def body(r: Report) -> None:
        results = []
        for app in _app_header_cases():
            given = copy.deepcopy(app)
            got = sse_headers(given)
            if got is None:
                r.not_yet("sse_headers() returned None: return a dict of header names to values")
                return
            _judge_headers(r, app, got, given)
            results.append(got)
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
            run_app(create_relay_app(src, headers=dict(results[0]))) as relay,
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


async def _held_frames(n: int, release: asyncio.Event, log: list[str]) -> AsyncIterator[bytes]:
    """``n`` frames, then silence until ``release`` is set, then one more frame."""
    try:
        for i in range(n):
            yield f"id: {i}\ndata: frame {i}\n\n".encode()
        await release.wait()
        yield f"id: {n}\ndata: frame {n}\n\n".encode()
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    except GeneratorExit:
        log.append("closed")
        raise


async def _until(condition: Callable[[], bool], limit: float) -> bool:
    """Wait (at most ``limit`` s) for ``condition``; whether it came true."""
    deadline = time.perf_counter() + limit
    while not condition():
        if time.perf_counter() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _probe_cancel(with_keepalive: Callable[..., Any]) -> str:
    """Cancel a consumer that waits in a quiet spell: how it ended."""
    release, log, seen = asyncio.Event(), [], []
    task = asyncio.ensure_future(
        _collect(with_keepalive(_held_frames(2, release, log), 0.05), out=seen)
    )
    await _until(lambda: sum(_is_comment(c) for _, c in seen) >= 2 or task.done(), 3.0)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1.0)
    if not done:
        release.set()  # let it end, so the check's loop can close
        await asyncio.wait({task}, timeout=1.0)
        return "kept running"
    if task.cancelled():
        return "cancelled" if await _until(lambda: bool(log), 1.0) else "source left waiting"
    return "raised" if task.exception() is not None else "returned"


async def _probe_close(with_keepalive: Callable[..., Any]) -> list[str]:
    """Leave (aclose) at the first keep-alive: what became of the pending read."""
    release, log = asyncio.Event(), []
    gen = with_keepalive(_held_frames(1, release, log), 0.05)
    async for chunk in gen:
        if _is_comment(chunk):
            break
    await gen.aclose()
    await _until(lambda: bool(log), 1.0)
    release.set()  # a leaked read may finish now; the log above was taken before
    return list(log)


async def _probe_error(with_keepalive: Callable[..., Any]) -> BaseException | None:
    """A source that fails after two frames: what the consumer sees."""

    async def failing() -> AsyncIterator[bytes]:
        yield b"id: 0\ndata: frame 0\n\n"
        yield b"id: 1\ndata: frame 1\n\n"
        raise ConnectionError("upstream connection reset")

    try:
        await _collect(with_keepalive(failing(), 0.5))
    except Exception as exc:  # what it raised is the finding
        return exc
    return None


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

        # Another interval (0.25 s), so a constant cannot pass: a silence until 2
        # comments have come, each at least `interval` after the chunk before it.
        seen2: list[tuple[float, bytes]] = []

        def two_comments() -> bool:
            return sum(_is_comment(c) for _, c in seen2) >= 2

        source = _frames(3, gaps={2: 0.3}, quiet_until=two_comments)
        got = _run_async(lambda: _collect(with_keepalive(source, 0.25), out=seen2), 8)
        early = _early_comments(got, 0.25)
        r.expect(
            not early and sum(_is_comment(c) for _, c in got) >= 2,
            f"with interval=0.25 s, {early} keep-alive comments came sooner than 0.25 s after "
            "the chunk before them: take the wait from the `interval` argument",
        )
        if r.problems:
            return

        outcome = _run_async(lambda: _probe_cancel(with_keepalive), 8)
        r.expect(
            outcome == "cancelled",
            {
                "kept running": "when the relay cancels the stream (the client left), your "
                "keep-alive caught the CancelledError and went on: let it propagate (never "
                "`except asyncio.CancelledError` without `raise`, nor a bare `except:`)",
                "returned": "when the relay cancelled the stream your keep-alive ended it "
                "quietly instead of letting CancelledError through: the caller then thinks "
                "the answer completed",
                "raised": "when the relay cancelled the stream your keep-alive raised "
                "another exception instead of letting CancelledError through",
                "source left waiting": "when the relay cancelled the stream your keep-alive "
                "left its pending read of the source running: cancel it in a `finally:`",
            }.get(outcome, f"cancelling the consumer gave {outcome!r}"),
        )
        log = _run_async(lambda: _probe_close(with_keepalive), 8)
        r.expect(
            bool(log),
            "when the consumer stopped reading (aclose) during a quiet spell, the pending "
            "read of the source went on running: a leak (the upstream request stays open). "
            "Cancel the pending task in a `finally:` around your loop",
        )
        err = _run_async(lambda: _probe_error(with_keepalive), 8)
        r.expect(
            isinstance(err, ConnectionError),
            "a source that fails (ConnectionError after two frames) "
            + (
                "ended your stream quietly: the relay would then tell the browser the answer "
                "was complete. Let the source's exceptions propagate"
                if err is None
                else f"came out as {type(err).__name__}: {err}; let the source's own exception "
                "propagate unchanged"
            ),
        )

    return run_check("Exercise 10.2: keep-alive comments", body)
