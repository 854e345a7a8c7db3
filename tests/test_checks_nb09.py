"""Exercise checks of notebook 09 accept the solutions and explain typical mistakes."""

from __future__ import annotations

import asyncio

from _notebooks import load_solutions

from streamlab.checks.nb09 import check_sse_headers, check_with_keepalive

SOLUTIONS = load_solutions("09")


def test_headers_check_accepts_the_solution(capsys):
    assert check_sse_headers(SOLUTIONS["sse_headers"])
    assert "✅" in capsys.readouterr().out


def test_headers_check_explains_bare_headers(capsys):
    assert not check_sse_headers(lambda: {"Content-Type": "text/event-stream"})
    out = capsys.readouterr().out
    assert "❌" in out and "X-Accel-Buffering" in out and "no-transform" in out


def test_headers_check_explains_a_wrong_content_type_and_a_length(capsys):
    headers = {
        "Content-Type": "text/plain",
        "Cache-Control": "no-cache, no-transform",
        "X-Accel-Buffering": "no",
        "Content-Length": "100",
    }
    assert not check_sse_headers(lambda: headers)
    out = capsys.readouterr().out
    assert "EventSource refuses" in out and "drop Content-Length" in out


def test_headers_check_waits_for_an_attempt(capsys):
    def stub():
        raise NotImplementedError

    assert not check_sse_headers(stub)
    assert "⏳" in capsys.readouterr().out


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


def test_keepalive_check_explains_wait_for_cancelling_the_source(capsys):
    assert not check_with_keepalive(_wait_for_version)
    out = capsys.readouterr().out
    assert "cancelled the source" in out and "asyncio.wait(" in out


def test_keepalive_check_explains_comments_sent_while_frames_flow(capsys):
    assert not check_with_keepalive(_timer_version)
    assert "although frames came every" in capsys.readouterr().out


def test_keepalive_check_explains_a_comment_without_its_blank_line(capsys):
    assert not check_with_keepalive(_no_blank_line)
    assert "ends with a blank line" in capsys.readouterr().out
