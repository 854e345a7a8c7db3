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
    assert "✅" in capsys.readouterr().out


def _reader(*, sends_stop: bool):
    """A wrong ``stop_after``: it sends the stop after ``n`` deltas and returns without
    waiting for the 'done' message, or it never sends the stop at all."""

    async def stop_after(ws_url, prompt, n):
        deltas = []
        async with await _generate(ws_url, prompt) as ws:
            async for raw in ws:
                msg = json.loads(raw)
                if msg["type"] == "delta":
                    deltas.append(msg["text"])
                    if sends_stop and len(deltas) == n:
                        await ws.send(json.dumps({"type": "stop"}))
                        return "".join(deltas), None
                elif msg["type"] == "done":
                    return "".join(deltas), msg["reason"]

    return stop_after


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        (_reader(sends_stop=True), ["❌", "keep reading until that 'done' message"]),
        (_reader(sends_stop=False), ["the answer ran to its end"]),
    ],
    ids=["returns-before-done", "never-stops"],
)
def test_stop_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_stop_after, answer, *says)


def test_stop_check_waits_for_an_attempt(capsys):
    async def stub(ws_url, prompt, n):
        raise NotImplementedError

    assert not check_stop_after(stub)
    assert "⏳" in capsys.readouterr().out


def test_choices_check_accepts_the_solution(capsys):
    assert check_transport_choices(SOLUTIONS["choices"])
    assert "✅" in capsys.readouterr().out


def test_choices_check_explains_each_wrong_choice(capsys):
    all_sse = {k: "sse" for k in TRANSPORT_SITUATIONS}
    assert not check_transport_choices(all_sse)
    out = capsys.readouterr().out
    assert "3 of 6 checks fail" in out and "audio flows both ways" in out


def test_choices_check_rejects_other_words_and_waits_for_an_attempt(capsys):
    assert not check_transport_choices({k: None for k in TRANSPORT_SITUATIONS})
    assert "⏳" in capsys.readouterr().out
    answers = {k: v for k, (v, _) in TRANSPORT_SITUATIONS.items()}
    answers[next(iter(answers))] = "http"
    assert not check_transport_choices(answers)
    assert "answer 'sse' or 'websocket'" in capsys.readouterr().out
