"""Exercise checks of notebook 09 accept the solutions and explain typical mistakes."""

from __future__ import annotations

import json

import pytest
import websockets
from _notebooks import load_solutions
from _support import assert_explains

from streamlab.checks.nb09 import TRANSPORT_SITUATIONS, check_stop_after, check_transport_choices

SOLUTIONS = load_solutions("09")


async def _generate(ws_url, prompt):
    ws = await websockets.connect(ws_url)
    await ws.send(json.dumps({"type": "generate", "prompt": prompt}))
    return ws


def test_stop_check_accepts_the_solution(capsys):
    assert check_stop_after(SOLUTIONS["stop_after"])
    assert "[PASS]" in capsys.readouterr().out


def _reader(*, stop_at=lambda n: n, hard_reason=None, count_start=False, join=""):
    """A ``stop_after`` with one mistake: where it stops, what it returns, what it counts."""

    async def stop_after(ws_url, prompt, n):
        deltas, seen = [], 0
        async with await _generate(ws_url, prompt) as ws:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] in ("delta", "start") if count_start else msg["type"] == "delta":
                    seen += 1
                    if msg["type"] == "delta":
                        deltas.append(msg["text"])
                    if seen == stop_at(n):
                        if hard_reason is not None:
                            return join.join(deltas), hard_reason
                        await ws.send(json.dumps({"type": "stop"}))
                elif msg["type"] == "done":
                    return join.join(deltas), msg["reason"]

    return stop_after


async def _returns_before_done(ws_url, prompt, n):
    deltas = []
    async with await _generate(ws_url, prompt) as ws:
        async for raw in ws:
            msg = json.loads(raw)
            if msg["type"] == "delta":
                deltas.append(msg["text"])
                if len(deltas) == n:
                    await ws.send(json.dumps({"type": "stop"}))
                    return "".join(deltas), "client_stop"
            elif msg["type"] == "done":
                return "".join(deltas), msg["reason"]


async def _differently_written(ws_url, prompt, n):
    import websockets

    text, stopped = [], False
    ws = await websockets.connect(ws_url)
    try:
        await ws.send(json.dumps({"type": "generate", "prompt": prompt}))
        while True:
            msg = json.loads(await ws.recv())
            if msg["type"] == "done":
                return "".join(text), msg["reason"]
            if msg["type"] != "delta":
                continue
            text.append(msg["text"])
            if not stopped and len(text) >= n:
                stopped = True
                await ws.send(json.dumps({"type": "stop"}))
    finally:
        await ws.close()


def test_stop_check_accepts_a_differently_written_solution(capsys):
    assert check_stop_after(_differently_written)
    assert "[PASS]" in capsys.readouterr().out


async def _swallows_cancellation(ws_url, prompt, n):
    import asyncio

    try:
        return await SOLUTIONS["stop_after"](ws_url, prompt, n)
    except asyncio.CancelledError:
        return "", "cancelled"


WRONG_STOPS = {
    "swallows-cancellation": (_swallows_cancellation, "let asyncio.CancelledError through"),
    "never-stops": (_reader(stop_at=lambda n: -1), "the server received no stop"),
    "closes-with-a-made-up-reason": (
        _reader(hard_reason="client_stop"),
        "a reason its 'done' message never gave",
    ),
    "counts-the-start-message": (_reader(count_start=True), "count only messages of type 'delta'"),
    "hard-coded-n": (_reader(stop_at=lambda n: 5), "you stopped after 5 deltas"),
    "one-too-late": (_reader(stop_at=lambda n: n + 1), "one delta too late in every case"),
    "joins-with-spaces": (_reader(join=" "), "every delta that arrived, joined in order"),
    # Caught on a fast stream, where deltas are still on their way after the stop
    # (or the stop comes too late to count): only those cases say "great detail".
    "returns-before-done": (_returns_before_done, "in great detail.'"),
    # "Answers are never shorter than n": it stops at the 4th delta at the latest.
    "stops-a-short-answer": (_reader(stop_at=lambda n: min(n, 4)), "yet you sent a stop"),
}


@pytest.mark.parametrize("name", WRONG_STOPS)
def test_stop_check_rejects(capsys, name):
    answer, says = WRONG_STOPS[name]
    assert_explains(capsys, check_stop_after, answer, "[FAIL]", says)


def test_stop_check_waits_for_an_attempt(capsys):
    async def stub(ws_url, prompt, n):
        raise NotImplementedError

    assert not check_stop_after(stub)
    assert "[TO DO]" in capsys.readouterr().out


def test_choices_check_accepts_the_solution(capsys):
    assert check_transport_choices(SOLUTIONS["choices"])
    assert "[PASS]" in capsys.readouterr().out


def test_choices_check_explains_each_wrong_choice(capsys):
    all_sse = {k: "sse" for k in TRANSPORT_SITUATIONS}
    assert not check_transport_choices(all_sse)
    out = capsys.readouterr().out
    assert "2 of 6 checks fail" in out and "audio flows both ways" in out


TOOL = "agent that asks the browser to run a tool mid-answer and waits for the result"


@pytest.mark.parametrize("answer", ["sse", "websocket"])
def test_the_tool_case_accepts_both_answers_the_notebook_supports(answer, capsys):
    # Notebook 09 says the provider HTTP APIs solve the tool case without a second channel
    # (the stream ends with the call, the result goes in the next request): "sse" is defensible.
    choices = {k: (v if v != "either" else answer) for k, (v, _) in TRANSPORT_SITUATIONS.items()}
    assert check_transport_choices(choices)
    out = capsys.readouterr().out
    assert "[PASS]" in out and f"{answer!r} is right" in out and "saves that request" in out


def test_the_tool_case_still_rejects_other_words(capsys):
    choices = {k: (v if v != "either" else "http") for k, (v, _) in TRANSPORT_SITUATIONS.items()}
    assert not check_transport_choices(choices)
    assert f"{TOOL!r}: answer 'sse' or 'websocket'" in capsys.readouterr().out


def test_choices_check_rejects_other_words_and_waits_for_an_attempt(capsys):
    assert not check_transport_choices({k: None for k in TRANSPORT_SITUATIONS})
    assert "[TO DO]" in capsys.readouterr().out
    answers = {k: v for k, (v, _) in TRANSPORT_SITUATIONS.items()}
    answers[next(iter(answers))] = "http"
    assert not check_transport_choices(answers)
    assert "answer 'sse' or 'websocket'" in capsys.readouterr().out
