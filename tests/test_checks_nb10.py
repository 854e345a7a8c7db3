"""Exercise checks of notebook 10 accept the solutions and explain typical mistakes."""

from __future__ import annotations

import asyncio

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks.nb10 import check_sse_headers, check_with_keepalive

SOLUTIONS = load_solutions("10")


def test_headers_check_accepts_the_solution(capsys):
    assert check_sse_headers(SOLUTIONS["sse_headers"])
    assert "✅" in capsys.readouterr().out


_WRONG_TYPE_AND_LENGTH = {
    "Content-Type": "text/plain",
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",
    "Content-Length": "100",
}


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"Content-Type": "text/event-stream"}, ["❌", "X-Accel-Buffering", "no-transform"]),
        (_WRONG_TYPE_AND_LENGTH, ["EventSource refuses", "drop Content-Length"]),
    ],
    ids=["bare", "wrong-type-and-length"],
)
def test_headers_check_explains_typical_mistakes(capsys, headers, says):
    assert_explains(capsys, check_sse_headers, lambda: headers, *says)


def test_headers_check_waits_for_an_attempt(capsys):
    assert_pending(capsys, check_sse_headers)


def test_keepalive_check_accepts_the_solution(capsys):
    assert check_with_keepalive(SOLUTIONS["with_keepalive"])
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


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_wait_for_version, ["cancelled the source", "asyncio.wait("]),
        (_timer_version, ["although frames came every"]),
        (_no_blank_line, ["ends with a blank line"]),
    ],
    ids=["wait-for-cancels-the-source", "comments-while-frames-flow", "no-blank-line"],
)
def test_keepalive_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_with_keepalive, answer, *says)
