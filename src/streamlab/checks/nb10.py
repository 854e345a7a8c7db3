"""Checks for notebook 10, serving your own stream.

- :func:`check_sse_headers`: exercise 10.1, the response headers that keep a
  relayed stream streaming through proxies and caches, made from an app's
  default headers. The check reads the headers for several apps (names in
  any case, fresh values each run), then serves a relay with them behind the
  lesson's buffering proxy and watches, causally, whether the first event
  comes through while the source still holds the stream open.
- :func:`check_with_keepalive`: exercise 10.2, an async generator that passes
  SSE frames through and adds a ``: keep-alive`` comment after each quiet
  spell, without losing, reordering or cancelling anything. It runs on an
  event loop with a simulated clock, so every comment can be compared with
  when it was due, exactly, however loaded the machine is.

Both run the learner's code for real (sockets; an event loop in a worker
thread, so they work from a notebook whose loop is already running).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["check_sse_headers", "check_with_keepalive"]


# --------------------------------------------------------------------------- 10.1

# What the stream replaces, whatever case the app wrote the names in.
_REPLACED = {"content-type", "cache-control", "content-length", "content-encoding"}


def _odd_case(name: str) -> str:
    """``name`` in a random mix of cases that is none of the usual spellings."""
    usual = {name, name.lower(), name.upper(), name.title()}
    while True:
        odd = "".join(c.upper() if secrets.randbelow(2) else c.lower() for c in name)
        if odd not in usual:
            return odd


def _app_header_cases() -> list[dict[str, str]]:
    """Default headers of an app, as middleware sets them; fresh values and spellings each run.

    Every header the stream replaces comes once in an odd mix of cases, so a
    list of the spellings one has seen cannot pass; ``Content-Security-Policy``
    and ``Content-Language`` start like the ones to drop, and must stay.
    """
    rid = secrets.token_hex(8)
    return [
        {
            "X-Request-Id": rid,
            "Set-Cookie": f"session={secrets.token_hex(6)}; HttpOnly; Secure",
            "Cache-Control": f"max-age={secrets.randbelow(600) + 60}",
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": f"default-src 'self'; report-uri /csp/{rid[:6]}",
        },
        {
            "content-length": str(secrets.randbelow(9000) + 100),
            "content-encoding": "gzip",
            "cache-control": f"public, max-age={secrets.randbelow(9000) + 600}",
            "x-request-id": rid[::-1],
            "content-language": "en",
        },
        {
            "CONTENT-TYPE": "application/json",
            "X-Frame-Options": "DENY",
            "Vary": "Origin",
            _odd_case("Content-Length"): str(secrets.randbelow(900) + 10),
        },
        {
            _odd_case("Content-Type"): "text/plain",
            _odd_case("Cache-Control"): "max-age=0, public",
            _odd_case("Content-Encoding"): "br",
            "X-Content-Type-Options": "nosniff",
        },
        {},
    ]


def _carried_over(
    r: Report, app: dict[str, str], got: Mapping[str, Any], earlier: list[dict[str, str]]
) -> bool:
    """Whether ``got`` holds a header (name and value) that only an earlier app had."""
    mine = {k.lower() for k in app}
    theirs = {(k.lower(), v) for e in earlier for k, v in e.items() if k.lower() not in _REPLACED}
    extra = sorted(
        str(k)
        for k, v in got.items()
        if (str(k).lower(), v) in theirs and str(k).lower() not in mine
    )
    return not r.expect(
        not extra,
        f"the headers for the app {', '.join(app) or 'with none'} include {extra[0] if extra else ''!r}, "
        "which only an earlier app had: your function keeps state between calls (a "
        "module-level dict it updates?), so one user's cookie or request id goes out with "
        "the next response. Build a new dict on every call",
    )


def _lets_store(directive: str) -> bool:
    """Whether a Cache-Control directive lets a cache keep or reuse a copy (``max-age=0`` does not)."""
    name, _, value = directive.partition("=")
    if name.strip() in {"max-age", "s-maxage"}:
        return value.strip().strip('"') not in {"0", ""}
    return name.strip() in {"public", "immutable", "stale-while-revalidate", "stale-if-error"}


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
    leftover = sorted(p for p in cache if _lets_store(p))
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
    spelled = {str(k).lower(): str(k) for k in got}
    kept_as = spelled.get("content-length", "")
    r.expect(
        "content-length" not in h,
        f"drop Content-Length {where}"
        + (
            f" (you kept it as {kept_as!r}: header names are case-insensitive, compare them "
            "lower-cased)"
            if kept_as not in ("", "Content-Length", "content-length")
            else ""
        )
        + ": a stream's length is not known when it starts, and a "
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
        results: list[Mapping[str, Any]] = []
        cases = _app_header_cases()
        for n, app in enumerate(cases):
            given = copy.deepcopy(app)
            ok, got = r.call(sse_headers, given, what=f"sse_headers({app!r})")
            if not ok:
                return
            if got is None:
                r.not_yet("sse_headers() returned None: return a dict of header names to values")
                return
            if isinstance(got, Mapping) and _carried_over(r, app, got, cases[:n]):
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


class _VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer whenever nothing is ready to run.

    ``asyncio.sleep``, ``asyncio.wait(timeout=...)``, ``wait_for`` and
    ``asyncio.timeout`` all read ``loop.time()``, so a 50 s silence takes no
    real time and every timer fires exactly when due: what the learner's code
    yields, and when, does not depend on how loaded the machine is.
    """

    def __init__(self) -> None:
        super().__init__()
        self._now = 0.0
        real = self._selector
        loop = self

        class _Jump:  # the selector, except that waiting advances the virtual clock
            def select(self, timeout: float | None = None) -> Any:
                events = real.select(0 if timeout is not None else 0.05)
                if not events and timeout:
                    loop._now += timeout
                return events

            def __getattr__(self, name: str) -> Any:
                return getattr(real, name)

        self._selector = _Jump()  # type: ignore[assignment]

    def time(self) -> float:
        return self._now


def _run_virtual(make: Callable[[], Any], timeout: float = 600.0) -> Any:
    """Run ``make()`` on a :class:`_VirtualClockLoop` in a worker thread (``timeout`` virtual s)."""
    result: dict[str, Any] = {}

    def target() -> None:
        loop = _VirtualClockLoop()
        try:
            result["value"] = loop.run_until_complete(asyncio.wait_for(make(), timeout))
        except BaseException as exc:  # handed back to the caller's thread
            result["error"] = exc
        finally:
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(30)
    if "error" in result:
        err = result["error"]
        if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
            raise TimeoutError(
                f"your keep-alive did not finish within {timeout:g} s of (simulated) time: "
                "is it waiting for something that never comes?"
            ) from None
        raise err
    if "value" not in result:
        raise TimeoutError("your keep-alive kept the event loop busy without ever waiting")
    return result["value"]


def _frame(i: int) -> bytes:
    return f"id: {i}\ndata: frame {i}\n\n".encode()


async def _timed_frames(
    gaps: list[float], end_gap: float, log: list[str], sent: list[float]
) -> AsyncIterator[bytes]:
    """Frame ``i`` after ``gaps[i]`` seconds of silence, then ``end_gap`` s more, then the end.

    ``sent`` gets the (virtual) time each frame was given out.
    """
    loop = asyncio.get_running_loop()
    try:
        for i, gap in enumerate(gaps):
            await asyncio.sleep(gap)
            sent.append(loop.time())
            yield _frame(i)
        await asyncio.sleep(end_gap)
        log.append("finished")
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    except GeneratorExit:
        log.append("closed")
        raise


def _is_comment(chunk: Any) -> bool:
    return (
        isinstance(chunk, (bytes, bytearray))
        and chunk.startswith(b":")
        and chunk.endswith(b"\n\n")
        and all(line.startswith(b":") for line in chunk[:-2].split(b"\n"))
    )


async def _collect(gen: Any, limit: int, out: list[tuple[float, Any]] | None = None) -> list:
    """``(virtual time, chunk)`` for each chunk of ``gen`` (at most ``limit``)."""
    loop = asyncio.get_running_loop()
    out = [] if out is None else out
    async for chunk in gen:
        out.append((loop.time(), chunk))
        if len(out) >= limit:
            break
    return out


async def _collect_from(
    with_keepalive: Callable[..., Any],
    source: Callable[[], Any],
    interval: float,
    limit: int,
    log: list[str],
) -> tuple[list | str, list[str]]:
    """What ``with_keepalive(source(), interval)`` yields, and the source's log by then.

    The log is taken when the consumer stops, before the loop closes what is left.
    When the call gives no async iterator, the name of its type instead.
    """
    gen = with_keepalive(source(), interval)
    if not hasattr(gen, "__aiter__"):
        return type(gen).__name__, []
    got = await _collect(gen, limit)
    return got, list(log)


def _fmt(times: list[float]) -> str:
    return "[" + ", ".join(f"{t:g}" for t in times) + "]"


def _silences(
    got: list[tuple[float, Any]], sent: list[float], end: float
) -> list[tuple[float, float, list[float]]]:
    """``(start, length, comment offsets)`` for each silence of the source (times of ``sent``)."""
    starts = [0.0, *sent]
    stops = [*sent, end]
    return [
        (a, b - a, [round(t - a, 6) for t, c in got if _is_comment(c) and a <= t < b + 1e-9])
        for a, b in zip(starts, stops, strict=True)
    ]


def _judge_timeline(
    r: Report, got: list[tuple[float, Any]], sent: list[float], plan: tuple
) -> None:
    """One run of 10.2: frames unchanged and on time, a comment every ``interval`` s of silence."""
    gaps, end_gap, interval = plan
    want = [_frame(i) for i in range(len(gaps))]
    chunks = [c for _, c in got]
    bad = [c for c in chunks if c not in want and not _is_comment(c)]
    if bad:
        r.expect(
            False,
            f"some chunks are neither the source's frames nor SSE comments, e.g. {bad[:1]!r}: "
            "a comment is a line starting with ':' and ends with a blank line, "
            "b': keep-alive\\n\\n'",
        )
        return
    data = [(t, c) for t, c in got if not _is_comment(c)]
    if [c for _, c in data] != want:
        r.expect(
            False,
            f"the frames should pass through unchanged and in order: got {len(data)} of "
            f"{len(want)}" + (" (the stream ended early)" if len(data) < len(want) else ""),
        )
        return
    late = [
        (i, t - s) for i, ((t, _), s) in enumerate(zip(data, sent, strict=True)) if t - s > 1e-6
    ]
    if late:
        i, by = late[0]
        r.expect(
            False,
            f"frame {i} reached the consumer {by:g} s after the source gave it: yield each "
            "frame as soon as it arrives (wait on the pending read with a timeout; do not "
            "sleep for `interval` and then look)",
        )
        return
    for start, length, offsets in _silences(got, sent, sent[-1] + end_gap):
        expected = [round(k * interval, 6) for k in range(1, int(length / interval) + 1)]
        if offsets == expected:
            continue
        where = (
            f"with interval={interval:g}, the source was silent for {length:g} s (from "
            f"{start:g} s): "
            + (f"keep-alives were due {_fmt(expected)} s into it" if expected else "none was due")
            + f", yours came {_fmt(offsets) if offsets else 'none'}"
            + (" s into it" if offsets else "")
        )
        if offsets and offsets[0] == 0:
            why = "the first one comes `interval` seconds after the last frame, not at once"
        elif offsets and not expected:
            why = "a silence shorter than `interval` needs none: restart the clock on each frame"
        elif expected and not offsets:
            why = (
                "send one after every `interval` seconds without a frame (the wait comes from "
                "the `interval` argument)"
            )
        elif offsets[:1] == expected[:1] and len(offsets) < len(expected):
            why = "send one after every `interval` seconds of silence, not just once per silence"
        else:
            why = (
                "each comes `interval` seconds after the chunk before it (frame or comment): "
                "take the wait from the `interval` argument and restart it after each chunk"
            )
        r.expect(False, f"{where}: {why}")
        return
    r.expect(True, "")


def _plans() -> list[tuple[list[float], float, float]]:
    """``(gaps before each frame, silence before the end, interval)`` for each run.

    Frames flow, stop for several intervals, flow just slower than
    ``interval``; ids run past 9. Gaps are never a multiple of the interval,
    so when each comment is due is never a tie.
    """
    return [
        ([0, 0, 0, 50, 3, 3, 3, 3, 3, 14.5, 3, 3, 20, 0, 0, 1], 31, 15.0),
        ([1, 9.5, 0, 3.5, 13, 0, 0, 2, 2, 2, 2, 4.5], 0.5, 4.0),
    ]


async def _held_frames(n: int, release: asyncio.Event, log: list[str]) -> AsyncIterator[bytes]:
    """``n`` frames, then silence until ``release`` is set, then one more frame."""
    try:
        for i in range(n):
            yield _frame(i)
        await release.wait()
        yield _frame(n)
    except asyncio.CancelledError:
        log.append("cancelled")
        raise
    except GeneratorExit:
        log.append("closed")
        raise


async def _until(condition: Callable[[], bool], limit: float) -> bool:
    """Wait (at most ``limit`` s) for ``condition``; whether it came true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def _probe_cancel(with_keepalive: Callable[..., Any]) -> str:
    """Cancel a consumer that waits in a quiet spell: how it ended."""
    release, log, seen = asyncio.Event(), [], []
    task = asyncio.ensure_future(
        _collect(with_keepalive(_held_frames(2, release, log), 5.0), 50, out=seen)
    )
    await _until(lambda: sum(_is_comment(c) for _, c in seen) >= 2 or task.done(), 60.0)
    task.cancel()
    before = len(seen)
    done, _ = await asyncio.wait({task}, timeout=30.0)
    if not done:
        going_on = len(seen) > before
        release.set()  # let it end, so the check's loop can close
        await asyncio.wait({task}, timeout=30.0)
        return "kept running" if going_on else "hung"
    if task.cancelled():
        return "cancelled" if await _until(lambda: bool(log), 1.0) else "source left waiting"
    return "raised" if task.exception() is not None else "returned"


async def _probe_close(with_keepalive: Callable[..., Any]) -> list[str] | None:
    """Leave (aclose) at the first keep-alive: what became of the pending read (None: hung)."""
    release, log = asyncio.Event(), []
    gen = with_keepalive(_held_frames(1, release, log), 5.0)
    async for chunk in gen:
        if _is_comment(chunk):
            break
    try:
        await asyncio.wait_for(gen.aclose(), 300.0)
    except TimeoutError:
        release.set()
        return None
    await _until(lambda: bool(log), 1.0)
    release.set()  # a leaked read may finish now; the log above was taken before
    return list(log)


async def _probe_error(with_keepalive: Callable[..., Any]) -> BaseException | None:
    """A source that fails after two frames: what the consumer sees."""

    async def failing() -> AsyncIterator[bytes]:
        yield _frame(0)
        await asyncio.sleep(12.0)
        yield _frame(1)
        raise ConnectionError("upstream connection reset")

    try:
        await _collect(with_keepalive(failing(), 5.0), 50)
    except Exception as exc:  # what it raised is the finding
        return exc
    return None


_CANCEL_FINDINGS = {
    "kept running": "when the relay cancels the stream (the client left), your keep-alive "
    "caught the CancelledError and went on: let it propagate (never `except "
    "asyncio.CancelledError` without `raise`, nor a bare `except:`)",
    "hung": "when the relay cancelled the stream your keep-alive did not end: it still waited "
    "for the source's next frame (awaiting the pending read in `finally:`?), and the source "
    "may stay silent for minutes. Cancel the pending read instead of awaiting it",
    "returned": "when the relay cancelled the stream your keep-alive ended it quietly instead "
    "of letting CancelledError through: the caller then thinks the answer completed",
    "raised": "when the relay cancelled the stream your keep-alive raised another exception "
    "instead of letting CancelledError through",
    "source left waiting": "when the relay cancelled the stream your keep-alive left its "
    "pending read of the source running: cancel it in a `finally:`",
}


def check_with_keepalive(with_keepalive: Callable[..., AsyncIterator[bytes]]) -> bool:
    """Exercise 10.2: ``with_keepalive(frames, interval)`` adds comments in quiet spells.

    It runs on an event loop with a simulated clock (timers fire exactly when
    due, at once), so silences of many intervals take no real time and the
    comparison with when each comment was due is exact.
    """

    def body(r: Report) -> None:
        for plan in _plans():
            gaps, end_gap, interval = plan
            log: list[str] = []
            sent: list[float] = []
            limit = 4 * len(gaps) + int((sum(gaps) + end_gap) / interval) + 8
            source = functools.partial(_timed_frames, gaps, end_gap, log, sent)
            got, seen_log = _run_virtual(
                functools.partial(_collect_from, with_keepalive, source, interval, limit, log)
            )
            if isinstance(got, str):
                r.expect(
                    False,
                    f"with_keepalive(...) gave a {got}, not an async generator: write it as "
                    "`async def` with `yield` in it, so the relay can `async for` over it",
                )
                return
            if len(got) >= limit:
                r.expect(
                    False,
                    f"over {limit} chunks for {len(gaps)} frames with interval={interval:g}: "
                    "far too many keep-alives (is the wait taken from the `interval` argument, "
                    "in seconds?)",
                )
                return
            if "cancelled" in seen_log:
                r.expect(
                    False,
                    "your keep-alive cancelled the source stream during a pause: "
                    "asyncio.wait_for(...) cancels the __anext__() it gives up on, and that "
                    "kills an async generator. Keep the pending __anext__() in a task and wait "
                    "for it with asyncio.wait({task}, timeout=interval) instead",
                )
                return
            _judge_timeline(r, got, sent, plan)
            if r.problems:
                return
            r.expect(
                "finished" in seen_log,
                "the source was not read to its end: your stream stopped before `frames` did",
            )

        outcome = _run_virtual(lambda: _probe_cancel(with_keepalive))
        r.expect(
            outcome == "cancelled",
            _CANCEL_FINDINGS.get(outcome, f"cancelling the consumer gave {outcome!r}"),
        )
        log = _run_virtual(lambda: _probe_close(with_keepalive))
        r.expect(
            log is not None,
            "when the consumer stopped reading (aclose) during a quiet spell, your generator "
            "did not finish closing: it waited for the pending read, and the source may stay "
            "silent for minutes. Cancel the pending task in `finally:` instead of awaiting it",
        )
        r.expect(
            log is None or bool(log),
            "when the consumer stopped reading (aclose) during a quiet spell, the pending "
            "read of the source went on running: a leak (the upstream request stays open). "
            "Cancel the pending task in a `finally:` around your loop",
        )
        err = _run_virtual(lambda: _probe_error(with_keepalive))
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
