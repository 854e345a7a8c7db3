"""Checks for notebook 09, WebSockets.

- :func:`check_stop_after`: exercise 9.1, stop a generation over the local
  provider's WebSocket (``/lesson/ws``) after ``n`` text deltas, and report
  what arrived and why it ended.
- :func:`check_transport_choices`: exercise 9.2, SSE or WebSocket for six
  situations, with the reason when a choice is off.

The WebSocket check runs the learner's ``async`` function on its own event
loop in a worker thread, against a local provider it starts itself, so it
works from a notebook whose loop is already running.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["check_stop_after", "check_transport_choices", "TRANSPORT_SITUATIONS", "ws_url"]


def ws_url(server: Any) -> str:
    """The WebSocket URL of a local provider's ``/lesson/ws`` endpoint."""
    base = str(server.base_url).rstrip("/")
    return "ws" + base[len("http") :] + "/lesson/ws" if base.startswith("http") else base


def _run_async(make: Callable[[], Any], timeout: float) -> Any:
    """Run ``make()`` (a coroutine) on a fresh event loop in a worker thread."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(asyncio.wait_for(make(), timeout))
        except BaseException as exc:  # handed back to the caller's thread
            result["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout + 2)
    if "error" in result:
        err = result["error"]
        if isinstance(err, (asyncio.TimeoutError, TimeoutError)):
            raise TimeoutError(
                f"did not finish within {timeout} s (still waiting for a message that never comes?)"
            ) from None
        raise err
    if "value" not in result:
        raise TimeoutError(f"did not finish within {timeout} s")
    return result["value"]


async def _full_answer(url: str, prompt: str) -> list[str]:
    """The deltas of one whole generation, for comparison."""
    import websockets

    deltas = []
    async with websockets.connect(url) as ws:
        # No delays: the same text as the learner's run (same prompt and seed), at once.
        await ws.send(
            json.dumps({"type": "generate", "prompt": prompt, "ttft_ms": 0, "tokens_per_second": 0})
        )
        async for raw in ws:
            msg = json.loads(raw)
            if msg.get("type") == "delta":
                deltas.append(msg["text"])
            elif msg.get("type") in ("done", "error"):
                break
    return deltas


# --------------------------------------------------------------------------- 8.1


#: (prompt, n, deltas per second) cases: n varies so a hard-coded count fails;
#: ``None`` asks for 3 more deltas than the answer has, so no stop must be sent.
#: At 10 a second a stop sent on the n-th delta arrives before the next one is
#: due; at 5,000 a second a few more are usually on their way when it arrives.
STOP_CASES: tuple[tuple[str, int | None, float], ...] = (
    ("Tell me about the ocean, in detail.", 1, 10),
    ("Explain how rockets work at length.", 12, 10),
    ("Tell me about coffee.", None, 10),
    ("Tell me about the garden, in great detail.", 3, 5_000),
    ("Explain how bread is baked, in great detail.", 8, 5_000),
)


def check_stop_after(stop_after: Callable[..., Any]) -> bool:
    """Exercise 9.1: ``await stop_after(ws_url, prompt, n)`` -> ``(text, reason)``.

    The check's own server counts the stop messages that ended a generation
    and how many deltas that generation had sent, so it knows whether a stop
    was really sent, and when, whatever the function returns.
    """

    def body(r: Report) -> None:
        import streamlab

        late = 0
        with contextlib.ExitStack() as servers:
            for prompt, n, rate in STOP_CASES:
                server = servers.enter_context(
                    streamlab.serve(ttft_ms=50, tokens_per_second=rate, jitter_ms=0)
                )
                url = ws_url(server)
                full = _run_async(lambda p=prompt, u=url: _full_answer(u, p), 20)
                short = n is None
                n = len(full) + 3 if n is None else n
                stops = server.stats["lesson_stops"]
                ok, got = r.call(
                    _run_async,
                    lambda p=prompt, n=n, u=url: stop_after(u, p, n),
                    30,
                    what="stop_after",
                )
                if not ok:
                    return
                if got is None:
                    r.not_yet("stop_after(...) returned None: return (text, reason)")
                    return
                if not (isinstance(got, tuple) and len(got) == 2):
                    r.expect(
                        False,
                        f"return a tuple (text, reason), not {type(got).__name__} {got!r:.60}",
                    )
                    return
                text, reason = got
                where = f"(prompt {prompt!r}, n={n})"
                whole = "".join(full)
                sent = server.stats["lesson_stops"] - stops
                before = server.stats["deltas_before_last_stop"]
                if short:
                    r.expect(
                        sent == 0,
                        f"the answer had only {len(full)} deltas, fewer than n {where}, yet you "
                        "sent a stop: send it only once n deltas have arrived",
                    )
                    r.expect(
                        (text, reason) == (whole, "stop"),
                        f"an answer shorter than n ends by itself {where}: return all its text "
                        f"and the done message's reason 'stop'; got ({text!r:.40}, {reason!r})",
                    )
                    continue
                if rate > 100 and sent == 0 and (text, reason) == (whole, "stop"):
                    continue  # the answer outran the stop: nothing to judge in this case
                if sent == 0 and reason == "client_stop":
                    r.expect(
                        False,
                        f"the server received no stop before the socket closed {where}, yet you "
                        "returned 'client_stop', a reason its 'done' message never gave: if you "
                        "sent the stop, you closed the socket before the server read it. After "
                        "sending stop, keep reading until the server's 'done' message, and "
                        "return its reason",
                    )
                    continue
                if not r.expect(
                    sent == 1,
                    f"the server received no stop {where}: send {{'type': 'stop'}} on the "
                    f"open socket as soon as {n} deltas have arrived (closing the socket or "
                    "just returning is not a stop, and the reason must come from the server's "
                    "'done' message: it says 'stop' when the answer ended before your stop)"
                    if sent == 0
                    else f"the server received {sent} stops {where}: send it once",
                ):
                    continue
                r.expect(
                    before is not None and before >= n,
                    f"you stopped after {before} deltas {where}: count only messages of type "
                    "'delta' (the first message is 'start'), and stop when n have arrived",
                )
                late += rate < 100 and before is not None and before > n
                r.expect(
                    reason == "client_stop",
                    f"reason should be the one the server's 'done' message gives, 'client_stop', "
                    f"got {reason!r} {where}: after sending stop, keep reading until that "
                    "'done' message arrives",
                )
                r.expect(
                    isinstance(text, str) and text == "".join(full[: before or 0]),
                    f"the text should be every delta that arrived, joined in order ({before} "
                    f"deltas) {where}; got {text!r:.80}",
                )
        # One case late can be a delta already on its way; every case late is a count off by one.
        r.expect(
            late < 2,
            "you sent the stop one delta too late in every case: send it when the n-th delta "
            "arrives, not after the next one",
        )
        with streamlab.serve(ttft_ms=50, tokens_per_second=10, jitter_ms=0) as server:
            outcome = _run_async(lambda: _cancel_midway(stop_after, server), 30)
        r.expect(
            outcome == "cancelled",
            "when the task running stop_after is cancelled mid-answer (the user closed the "
            f"page), it {outcome}: let asyncio.CancelledError through (do not catch it, or "
            "re-raise it), so whoever cancelled knows the task stopped",
        )

    return run_check("Exercise 9.1: stop after `n` deltas", body)


async def _cancel_midway(stop_after: Callable[..., Any], server: Any) -> str:
    """Cancel ``stop_after`` once the server is generating for it; how did the task end?"""
    task = asyncio.ensure_future(stop_after(ws_url(server), "Tell me about the ocean.", 10_000))
    while not server.stats["active_generations"] and not task.done():
        await asyncio.sleep(0.01)  # until its generation has started: cancelled mid-answer
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        return "cancelled"
    except Exception as exc:  # noqa: BLE001 - reported to the learner
        return f"raised {type(exc).__name__} instead"
    return "returned normally instead"


# --------------------------------------------------------------------------- 8.2

#: situation -> (the better fit, why); "either" where the notebook supports both answers.
TRANSPORT_SITUATIONS: dict[str, tuple[str, str]] = {
    "chat answer in a web app behind a corporate proxy": (
        "sse",
        "one request, one streamed answer: ordinary HTTP, which proxies pass (with the "
        "anti-buffering headers of notebook 10) where WebSocket upgrades are often blocked, "
        "and stopping is closing the connection",
    ),
    "voice assistant: microphone audio goes up while the reply plays": (
        "websocket",
        "audio flows both ways at the same time, for the whole conversation",
    ),
    "agent that asks the browser to run a tool mid-answer and waits for the result": (
        "either",
        "both work. Over SSE the stream ends with the tool call and the result goes in the "
        "next request, a new stream (notebook 06); a WebSocket keeps one connection for all "
        "the calls and saves that request each time, which pays off when an answer calls many "
        "tools",
    ),
    "long report that must resume after the laptop sleeps": (
        "sse",
        "EventSource reconnects by itself and sends Last-Event-ID, so the server can resume",
    ),
    "batch job calling an LLM API from a server": (
        "sse",
        "the provider APIs stream over HTTP with SSE and nothing needs to go back mid-answer "
        "(or do not stream at all: code is the reader, notebook 08)",
    ),
    "pair-writing editor: the user keeps typing while suggestions stream in": (
        "websocket",
        "many small messages both ways, interleaved, with low latency",
    ),
}


def check_transport_choices(choices: Mapping[str, Any]) -> bool:
    """Exercise 9.2: ``choices[situation]`` is ``"sse"`` or ``"websocket"``."""

    notes: list[str] = []

    def body(r: Report) -> None:
        if not isinstance(choices, Mapping):
            r.expect(False, f"choices should be a dict, not {type(choices).__name__}")
            return
        if all(v is None for v in choices.values()):
            r.not_yet("replace each None with 'sse' or 'websocket'")
            return
        for situation, (want, why) in TRANSPORT_SITUATIONS.items():
            if situation not in choices:
                r.expect(False, f"no answer for {situation!r} (keep the keys as given)")
                continue
            got = choices[situation]
            norm = (
                str(got).strip().lower().replace("-", "").replace(" ", "")
                if got is not None
                else None
            )
            if norm in ("websockets", "ws"):
                norm = "websocket"
            if norm not in ("sse", "websocket"):
                r.expect(False, f"{situation!r}: answer 'sse' or 'websocket', not {got!r}")
                continue
            if want == "either":
                r.expect(True, "")
                notes.append(f"{situation!r}: {norm!r} is right; {why}")
                continue
            r.expect(norm == want, f"{situation!r}: {want} fits better: {why}")

    passed = run_check("Exercise 9.2: SSE or WebSocket?", body)
    for note in notes:  # a choice with two good answers: the trade-off, whichever was picked
        print(f"   note: {note}")
    return passed
