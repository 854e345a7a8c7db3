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


def _belt_and_braces(app_headers):
    """Correct, written differently: a case-insensitive Headers object, every no-cache directive."""
    from starlette.datastructures import MutableHeaders

    out = MutableHeaders(headers=dict(app_headers))
    for name in ("content-length", "content-encoding"):
        del out[name]
    out["Content-Type"] = "text/event-stream"
    out["Cache-Control"] = "no-store, no-cache, must-revalidate, no-transform, max-age=0"
    out["X-Accel-Buffering"] = "no"
    return dict(out.items())


REPLACED = {"content-type", "cache-control", "content-length", "content-encoding"}


def _drops_content_prefix(app_headers):
    """Drops every ``Content-*``: Content-Security-Policy goes too."""
    out = {k: v for k, v in app_headers.items() if not k.lower().startswith(("content-", "cache-"))}
    return {**out, **STREAM}


_SPELLINGS = {s for n in REPLACED for s in (n.title(), n, n.upper())}


def _spellings_listed(app_headers):
    """Case-insensitive by listing the spellings seen (Title, lower, UPPER)."""
    return {**{k: v for k, v in app_headers.items() if k not in _SPELLINGS}, **STREAM}


_SHARED = dict(STREAM)


def _module_level_dict(app_headers):
    """Updates one module-level dict: the last response's cookie goes out with the next."""
    _SHARED.update({k: v for k, v in app_headers.items() if k.lower() not in REPLACED})
    return _SHARED


def _keeps_length_and_encoding(app_headers):
    out = {
        k: v for k, v in app_headers.items() if k.lower() not in {"content-type", "cache-control"}
    }
    return {**out, **STREAM}


def _no_transform_missing(app_headers):
    out = SOLUTIONS["sse_headers"](app_headers)
    out["Cache-Control"] = "no-store"
    return out


def _pops_without_default(app_headers):
    """Pops Content-Length, which not every app sets: KeyError."""
    out = dict(app_headers)
    out.pop("Content-Length")
    return SOLUTIONS["sse_headers"](out)


@pytest.mark.parametrize("answer", [SOLUTIONS["sse_headers"], _lowercase_version, _belt_and_braces])
def test_headers_check_accepts_correct_solutions(capsys, answer):
    assert check_sse_headers(answer)
    assert "[PASS]" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_hard_coded, ["was lost or changed", "keep the headers"]),
        (_merged, ["two headers named", "case-insensitive"]),
        (_no_cache, ["no-cache only makes it revalidate", "does not stop storing"]),
        (_in_place, ["changed the dict it was given", "shared by every response"]),
        (_case_sensitive_drop, ["two headers named", "case-insensitive"]),
        (_cache_control_appended, ["still says max-age=", "replace the whole header"]),
        (_buffered, ["X-Accel-Buffering is not 'no'", "nginx"]),
        (lambda h: STREAM["Content-Type"], ["should return a dict"]),
        (_drops_content_prefix, ["'content-security-policy' was lost", "security headers"]),
        (_spellings_listed, ["drop Content-Length", "you kept it as", "compare them lower-cased"]),
        (_module_level_dict, ["which only an earlier app had", "Build a new dict on every call"]),
        (_keeps_length_and_encoding, ["drop Content-Length", "length is not known"]),
        (_no_transform_missing, ["lacks no-transform", "compress"]),
        (_pops_without_default, ["your code raised KeyError", "out.pop("]),
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
        "drops-content-security-policy",
        "spellings-listed",
        "module-level-dict",
        "keeps-length-and-encoding",
        "no-transform-missing",
        "pops-a-header-not-there",
    ],
)
def test_headers_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_sse_headers, answer, *says)


def test_headers_check_waits_for_an_attempt(capsys):
    assert_pending(capsys, check_sse_headers)


# --------------------------------------------------------------------------- 10.2
# The check runs on a simulated clock (intervals of 4 and 15 s take no real time), so
# every wrong solution below is judged by when each chunk came, exactly.

KEEPALIVE = b": keep-alive\n\n"


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
            except TimeoutError:
                yield KEEPALIVE
                continue
            except StopAsyncIteration:
                return
            task = None
            yield frame
    finally:
        if task is not None:
            task.cancel()


async def _pump_version(frames, interval):
    """Correct, written differently: a pump task fills a queue; only queue.get() times out."""
    queue: asyncio.Queue = asyncio.Queue()

    async def pump():
        try:
            async for frame in frames:
                await queue.put((frame, None))
            await queue.put((None, None))
        except Exception as exc:  # handed to the consumer, raised there
            await queue.put((None, exc))

    task = asyncio.ensure_future(pump())
    try:
        while True:
            try:
                frame, exc = await asyncio.wait_for(queue.get(), interval)
            except TimeoutError:
                yield KEEPALIVE
                continue
            if exc is not None:
                raise exc
            if frame is None:
                return
            yield frame
    finally:
        task.cancel()


@pytest.mark.parametrize("answer", ["solution", "shield", "pump"])
def test_keepalive_check_accepts_correct_solutions(capsys, answer):
    fn = {"shield": _shield_version, "pump": _pump_version}.get(answer)
    assert check_with_keepalive(fn or SOLUTIONS["with_keepalive"])
    assert "[PASS]" in capsys.readouterr().out


async def _wait_for_version(frames, interval):
    it = frames.__aiter__()
    while True:
        try:
            frame = await asyncio.wait_for(it.__anext__(), interval)
        except TimeoutError:
            yield KEEPALIVE
            continue
        except StopAsyncIteration:
            return
        yield frame


async def _timer_version(frames, interval):
    """A ticker beside the frames: comments every `interval`, frames or not."""
    queue: asyncio.Queue = asyncio.Queue()

    async def tick():
        while True:
            await asyncio.sleep(interval)
            await queue.put(KEEPALIVE)

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


def _variant(
    *,
    wait=None,
    scale=1.0,
    on_cancel="raise",
    cancel_in=("finally",),
    on_error="raise",
    comment_first=False,
):
    """The worked solution with one thing changed.

    ``on_cancel``: "raise", "continue" (keep the stream alive no matter what), "return".
    ``cancel_in``: where the pending read is cancelled: "finally", "cancelled" (only on
    CancelledError), "closed" (only on GeneratorExit), or nowhere; "await" awaits it instead.
    ``on_error``: "raise", "return", "wrap" (RuntimeError), "event" (an error frame).
    """

    async def with_keepalive(frames, interval):
        it = frames.__aiter__()
        pending = asyncio.ensure_future(it.__anext__())
        if comment_first:
            yield KEEPALIVE  # "tell the client at once that we are alive"
        try:
            while True:
                try:
                    done, _ = await asyncio.wait({pending}, timeout=wait or interval * scale)
                except asyncio.CancelledError:
                    if "cancelled" in cancel_in:
                        pending.cancel()
                    if on_cancel == "continue":
                        continue
                    if on_cancel == "return":
                        return
                    raise
                if not done:
                    try:
                        yield KEEPALIVE
                    except GeneratorExit:
                        if "closed" in cancel_in:
                            pending.cancel()
                        raise
                    continue
                try:
                    frame = pending.result()
                except StopAsyncIteration:
                    return
                except Exception as exc:
                    if on_error == "return":
                        return
                    if on_error == "wrap":
                        raise RuntimeError("the stream failed") from exc
                    if on_error == "event":
                        yield b"event: error\ndata: upstream failed\n\n"
                        return
                    raise
                yield frame
                pending = asyncio.ensure_future(it.__anext__())
        finally:
            if "finally" in cancel_in:
                pending.cancel()
            if "await" in cancel_in:
                try:
                    await pending  # "let the read finish cleanly"
                except BaseException:
                    pass

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
                    yield KEEPALIVE
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


async def _sleep_then_look(frames, interval):
    """Sleeps `interval`, then looks whether a frame came: frames wait for the nap to end."""
    it = aiter(frames)
    pending = asyncio.ensure_future(anext(it))
    try:
        while True:
            await asyncio.sleep(interval)
            if not pending.done():
                yield KEEPALIVE
                continue
            try:
                frame = pending.result()
            except StopAsyncIteration:
                return
            yield frame
            pending = asyncio.ensure_future(anext(it))
    finally:
        pending.cancel()


async def _clock_from_last_comment(frames, interval):
    """The clock restarts on each comment but not on each frame."""
    loop = asyncio.get_running_loop()
    it = aiter(frames)
    pending = asyncio.ensure_future(anext(it))
    due = loop.time() + interval
    try:
        while True:
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, due - loop.time()))
            if not done:
                yield KEEPALIVE
                due = loop.time() + interval
                continue
            try:
                frame = pending.result()
            except StopAsyncIteration:
                return
            yield frame
            pending = asyncio.ensure_future(anext(it))
    finally:
        pending.cancel()


async def _stops_after_last_frame_id(frames, interval):
    """Ends after frame 9 ("the ids go up to 9"), as a string comparison of ids would."""
    async for chunk in SOLUTIONS["with_keepalive"](frames, interval):
        yield chunk
        if chunk.startswith(b"id: 9\n"):
            return


def _sync_generator(frames, interval):
    """`def` instead of `async def`: a plain generator the relay cannot `async for` over."""
    yield KEEPALIVE


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_sync_generator, ["gave a generator, not an async generator", "`async def`"]),
        (lambda frames, interval: [KEEPALIVE], ["gave a list, not an async generator"]),
        (_wait_for_version, ["cancelled the source", "asyncio.wait("]),
        (_timer_version, ["none was due", "yours came", "restart the clock on each frame"]),
        (_no_blank_line, ["ends with a blank line"]),
        (_variant(wait=0.15), ["far too many keep-alives", "`interval` argument"]),
        (_variant(wait=15), ["interval=4", "due [4, 8] s into it", "the `interval` argument"]),
        (_variant(scale=2), ["due [15, 30, 45]", "yours came [30]", "`interval` argument"]),
        (_variant(comment_first=True), ["yours came [0]", "not at once"]),
        (_variant(on_cancel="continue"), ["caught the CancelledError", "propagate"]),
        (_variant(on_cancel="return"), ["ended it quietly", "thinks the answer completed"]),
        (_variant(cancel_in=()), ["pending read", "finally"]),
        (_variant(cancel_in=("closed",)), ["left its pending read", "`finally:`"]),
        (_variant(cancel_in=("cancelled",)), ["(aclose)", "went on running", "finally"]),
        (_variant(cancel_in=("await",)), ["did not end", "instead of awaiting it"]),
        (_variant(on_error="return"), ["ended your stream quietly", "propagate"]),
        (_variant(on_error="event"), ["ended your stream quietly"]),
        (_variant(on_error="wrap"), ["came out as RuntimeError", "propagate unchanged"]),
        (_once_per_silence, ["yours came [15]", "not just once per silence"]),
        (_sleep_then_look, ["reached the consumer", "as soon as it arrives"]),
        (_clock_from_last_comment, ["none was due", "restart the clock on each frame"]),
        (_stops_after_last_frame_id, ["got 10 of 16", "ended early"]),
    ],
    ids=[
        "sync-generator",
        "returns-a-list",
        "wait-for-cancels-the-source",
        "comments-while-frames-flow",
        "no-blank-line",
        "interval-hard-coded-small",
        "interval-hard-coded-15",
        "twice-the-interval",
        "comment-at-once",
        "swallows-cancellation",
        "returns-on-cancellation",
        "leaks-the-pending-read",
        "cancels-read-only-on-close",
        "cancels-read-only-on-cancel",
        "awaits-the-pending-read",
        "swallows-source-errors",
        "source-error-as-event",
        "wraps-source-errors",
        "one-comment-per-silence",
        "sleeps-then-looks",
        "clock-not-restarted-on-frames",
        "stops-at-id-9",
    ],
)
def test_keepalive_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_with_keepalive, answer, *says)


def test_keepalive_check_waits_for_an_attempt(capsys):
    assert_pending(capsys, check_with_keepalive)
