"""Exercise checks of notebook 10 accept correct solutions and explain typical mistakes."""

from __future__ import annotations

import asyncio

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks.nb10 import check_sse_headers, check_with_keepalive

SOLUTIONS = load_solutions("10")

# --------------------------------------------------------------------------- 10.1

STREAM = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store, no-transform",
    "X-Accel-Buffering": "no",
}


def _lowercase_version(app_headers):
    """Correct, written differently: lower-case names throughout."""
    out = {k.lower(): v for k, v in app_headers.items()}
    for name in ("content-length", "content-encoding"):
        out.pop(name, None)
    out.update({k.lower(): v for k, v in STREAM.items()})
    return out


def _hard_coded(app_headers):
    return dict(STREAM)


def _merged(app_headers):
    return {**app_headers, **STREAM}


def _no_cache(app_headers):
    out = SOLUTIONS["sse_headers"](app_headers)
    out["Cache-Control"] = "no-cache, no-transform"
    return out


def _in_place(app_headers):
    for name in list(app_headers):
        if name.lower() in {"content-type", "cache-control", "content-length", "content-encoding"}:
            del app_headers[name]
    app_headers.update(STREAM)
    return app_headers


def _case_sensitive_drop(app_headers):
    out = dict(app_headers)
    for name in ("Content-Length", "Content-Encoding", "Content-Type", "Cache-Control"):
        out.pop(name, None)
    out.update(STREAM)
    return out


def _cache_control_appended(app_headers):
    out = SOLUTIONS["sse_headers"](app_headers)
    old = next((v for k, v in app_headers.items() if k.lower() == "cache-control"), "")
    out["Cache-Control"] = ", ".join(filter(None, [old, "no-store, no-transform"]))
    return out


def _buffered(app_headers):
    out = SOLUTIONS["sse_headers"](app_headers)
    del out["X-Accel-Buffering"]
    return out


@pytest.mark.parametrize("answer", [SOLUTIONS["sse_headers"], _lowercase_version])
def test_headers_check_accepts_correct_solutions(capsys, answer):
    assert check_sse_headers(answer)
    assert "✅" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_hard_coded, ["was lost or changed", "keep the headers"]),
        (_merged, ["two headers named", "case-insensitive"]),
        (_no_cache, ["no-cache only makes it revalidate", "does not stop storing"]),
        (_in_place, ["changed the dict it was given", "shared by every response"]),
        (_case_sensitive_drop, ["two headers named", "case-insensitive"]),
        (_cache_control_appended, ["still says max-age=60", "replace the whole header"]),
        (_buffered, ["X-Accel-Buffering is not 'no'", "nginx"]),
        (lambda h: STREAM["Content-Type"], ["should return a dict"]),
    ],
    ids=[
        "hard-coded",
        "merged-without-case",
        "no-cache",
        "changes-the-given-dict",
        "case-sensitive-drop",
        "cache-control-appended",
        "no-accel-buffering",
        "not-a-dict",
    ],
)
def test_headers_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_sse_headers, answer, *says)


def test_headers_check_waits_for_an_attempt(capsys):
    assert_pending(capsys, check_sse_headers)


# --------------------------------------------------------------------------- 10.2


async def _shield_version(frames, interval):
    """Correct, written differently: wait_for on a shielded task."""
    it = aiter(frames)
    task = None
    try:
        while True:
            if task is None:
                task = asyncio.ensure_future(anext(it))
            try:
                frame = await asyncio.wait_for(asyncio.shield(task), interval)
            except asyncio.TimeoutError:
                yield b": keep-alive\n\n"
                continue
            except StopAsyncIteration:
                return
            task = None
            yield frame
    finally:
        if task is not None:
            task.cancel()


@pytest.mark.parametrize("answer", ["solution", "shield"])
def test_keepalive_check_accepts_correct_solutions(capsys, answer):
    fn = SOLUTIONS["with_keepalive"] if answer == "solution" else _shield_version
    assert check_with_keepalive(fn)
    assert "✅" in capsys.readouterr().out


async def _wait_for_version(frames, interval):
    it = frames.__aiter__()
    while True:
        try:
            frame = await asyncio.wait_for(it.__anext__(), interval)
        except asyncio.TimeoutError:
            yield b": keep-alive\n\n"
            continue
        except StopAsyncIteration:
            return
        yield frame


async def _timer_version(frames, interval):
    queue: asyncio.Queue = asyncio.Queue()

    async def tick():
        while True:
            await asyncio.sleep(interval)
            await queue.put(b": keep-alive\n\n")

    async def pump():
        async for frame in frames:
            await queue.put(frame)
        await queue.put(None)

    tasks = [asyncio.create_task(tick()), asyncio.create_task(pump())]
    try:
        while (item := await queue.get()) is not None:
            yield item
    finally:
        for t in tasks:
            t.cancel()


async def _no_blank_line(frames, interval):
    async for chunk in SOLUTIONS["with_keepalive"](frames, interval):
        yield b": keep-alive\n" if chunk.startswith(b":") else chunk


def _variant(*, wait=None, swallow_cancel=False, finally_cancel=True, swallow_errors=False):
    """The worked solution with one thing changed."""

    async def with_keepalive(frames, interval):
        it = frames.__aiter__()
        pending = asyncio.ensure_future(it.__anext__())
        try:
            while True:
                try:
                    done, _ = await asyncio.wait({pending}, timeout=wait or interval)
                except asyncio.CancelledError:
                    if not swallow_cancel:
                        raise
                    continue  # "keep the stream alive no matter what"
                if not done:
                    yield b": keep-alive\n\n"
                    continue
                try:
                    frame = pending.result()
                except StopAsyncIteration:
                    return
                except Exception:
                    if swallow_errors:
                        return
                    raise
                yield frame
                pending = asyncio.ensure_future(it.__anext__())
        finally:
            if finally_cancel:
                pending.cancel()

    return with_keepalive


async def _once_per_silence(frames, interval):
    it = frames.__aiter__()
    pending = asyncio.ensure_future(it.__anext__())
    commented = False
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=interval)
            if not done:
                if not commented:
                    commented = True
                    yield b": keep-alive\n\n"
                continue
            try:
                frame = pending.result()
            except StopAsyncIteration:
                return
            commented = False
            yield frame
            pending = asyncio.ensure_future(it.__anext__())
    finally:
        pending.cancel()


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_wait_for_version, ["cancelled the source", "asyncio.wait("]),
        (_timer_version, ["although frames came every"]),
        (_no_blank_line, ["ends with a blank line"]),
        (_variant(wait=0.15), ["interval=0.25", "from the `interval` argument"]),
        (_variant(swallow_cancel=True), ["caught the CancelledError", "propagate"]),
        (_variant(finally_cancel=False), ["pending read", "finally"]),
        (_variant(swallow_errors=True), ["ended your stream quietly", "propagate"]),
        (_once_per_silence, ["about 4 keep-alive comments"]),
    ],
    ids=[
        "wait-for-cancels-the-source",
        "comments-while-frames-flow",
        "no-blank-line",
        "interval-hard-coded",
        "swallows-cancellation",
        "leaks-the-pending-read",
        "swallows-source-errors",
        "one-comment-per-silence",
    ],
)
def test_keepalive_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_with_keepalive, answer, *says)


def test_keepalive_check_waits_for_an_attempt(capsys):
    assert_pending(capsys, check_with_keepalive)
