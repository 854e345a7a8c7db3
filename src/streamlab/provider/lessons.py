"""Lesson endpoints: the layers under the SDKs, one at a time.

- ``GET /lesson/chunked``: raw ``Transfer-Encoding: chunked`` text, no SSE.
- ``GET /lesson/events``: a plain SSE feed with ids, comments and ``retry:``
  that resumes after ``Last-Event-ID`` and can be told to drop.
- ``WS /lesson/ws``: two-way generation; stop or steer while tokens flow.

The full reference is in the ``streamlab.provider`` package docstring.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from streamlab.provider.common import json_problem
from streamlab.provider.config import (
    MAX_SEED,
    MAX_TOKENS,
    MAX_TOKENS_PER_SECOND,
    MAX_TTFT_MS,
    MAX_WRITE_BYTES,
    MAX_WRITE_DELAY_MS,
    ControlError,
    Settings,
    bounded,
    parse_number,
)
from streamlab.provider.generation import (
    CORPUS,
    Composer,
    composer_for,
    pick_topic,
    requested_sentences,
    tokenize,
)
from streamlab.provider.streaming import Pacer, Stats, run_watched
from streamlab.sse import encode_event

# Chosen so that 5-byte chunks cut words, "café" inside its "é" and the
# emoji inside its four bytes.
CHUNKED_TEXT = (
    "Streaming starts before the answer is finished. "
    "Meet me at the café for a coffee ☕ and bring the rocket 🚀 too. "
    "Every piece you see arrived in its own HTTP chunk.\n"
)


#: Bounds of the lesson feeds' query parameters (a feed is built before it is sent).
MAX_FEED_EVENTS = 10_000
MAX_RETRY_MS = 3_600_000


class LessonParamError(ValueError):
    pass


def _param(
    request: Request,
    name: str,
    default: float,
    maximum: float,
    *,
    minimum: float = 0,
    integer: bool = False,
) -> Any:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return parse_number(
            f"query parameter {name}", raw, maximum, integer=integer, minimum=minimum
        )
    except ControlError as exc:
        raise LessonParamError(str(exc)) from None


class _RawStream:
    """Send ``pieces`` as separate body messages (one HTTP chunk each), paced."""

    def __init__(
        self,
        pieces: list[bytes],
        delay: float,
        media_type: str,
        status: int = 200,
        headers: dict[str, str] | None = None,
        drop_at_end: bool = False,
    ) -> None:
        self.pieces, self.delay, self.media_type = pieces, delay, media_type
        self.status, self.headers, self.drop_at_end = status, headers or {}, drop_at_end

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stats: Stats = scope["app"].state.stats
        ended = {"complete": False}

        async def work() -> None:
            headers = [
                (b"content-type", self.media_type.encode()),
                (b"cache-control", b"no-cache"),
                *((k.encode(), v.encode()) for k, v in self.headers.items()),
            ]
            await send({"type": "http.response.start", "status": self.status, "headers": headers})
            pacer = Pacer()
            due = time.perf_counter()
            for i, piece in enumerate(self.pieces):
                if i:
                    due += self.delay
                    await pacer.until(due)
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            if not self.drop_at_end:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                ended["complete"] = True

        await run_watched(receive, stats, work)
        if self.drop_at_end:
            stats.dropped += 1  # return without completing: the server cuts the connection


async def chunked(request: Request) -> Any:
    """Raw chunked text: ``?chunk_size=5&delay_ms=200&text=...``."""
    try:
        size = _param(request, "chunk_size", 5, MAX_WRITE_BYTES, minimum=1, integer=True)
        delay = _param(request, "delay_ms", 200, MAX_WRITE_DELAY_MS) / 1000.0
    except LessonParamError as exc:
        return PlainTextResponse(f"400 Bad Request: {exc}\n", status_code=400)
    data = request.query_params.get("text", CHUNKED_TEXT).encode()
    pieces = [data[i : i + size] for i in range(0, len(data), size)]
    return _RawStream(pieces, delay, "text/plain; charset=utf-8")


def feed_event(n: int) -> str:
    """The data of event ``n`` of /lesson/events (1-based): JSON with a word."""
    words = tokenize(" ".join(CORPUS["streaming"][1]))
    return json.dumps({"n": n, "text": words[(n - 1) % len(words)]}, ensure_ascii=False)


async def events(request: Request) -> Any:
    """A plain SSE feed: ``?count=10&delay_ms=500&drop_after=K&retry_ms=1000``."""
    try:
        count = _param(request, "count", 10, MAX_FEED_EVENTS, integer=True)
        delay = _param(request, "delay_ms", 500, MAX_WRITE_DELAY_MS) / 1000.0
        drop_after = _param(request, "drop_after", -1, MAX_FEED_EVENTS, minimum=-1, integer=True)
        drop_every = _param(request, "drop_every", -1, MAX_FEED_EVENTS, minimum=-1, integer=True)
        retry = _param(request, "retry_ms", 1000, MAX_RETRY_MS, integer=True)
    except LessonParamError as exc:
        return PlainTextResponse(f"400 Bad Request: {exc}\n", status_code=400)
    raw_last = request.headers.get("last-event-id") or request.query_params.get("last_event_id")
    try:
        last = (
            0
            if raw_last in (None, "")
            else parse_number("Last-Event-ID", raw_last, 10**9, integer=True)
        )
    except ControlError:
        return PlainTextResponse(
            f"400 Bad Request: Last-Event-ID {raw_last!r} is not a number this feed sent\n",
            status_code=400,
        )
    if last >= count:
        # 204 tells an EventSource that the feed is over: it stops reconnecting.
        return Response(status_code=204)
    resumed = raw_last not in (None, "")
    limit = (
        drop_every if drop_every >= 0 else (drop_after if drop_after >= 0 and not resumed else -1)
    )
    pieces: list[bytes] = [
        encode_event(
            comment=f"streamlab lesson feed: events {last + 1}..{count}"
            + (f" (resumed after {last})" if resumed else ""),
            retry=retry,
        )
    ]
    sent = 0
    for n in range(last + 1, count + 1):
        if limit >= 0 and sent >= limit:
            break
        if n % 4 == 0:
            pieces.append(encode_event(comment="keep-alive"))
        pieces.append(encode_event(feed_event(n), id=str(n)))
        sent += 1
    dropping = limit >= 0 and last + sent < count
    if not dropping:
        pieces.append(encode_event("end", event="done", id=str(count)))
    # The opening comment and retry go out at once; each event waits delay.
    return _RawStream(pieces, delay, "text/event-stream; charset=utf-8", drop_at_end=dropping)


# -- WebSocket: two-way generation ---------------------------------------------

_TONES = {
    "excited": ("excit", "enthusias", "happ", "fun"),
    "calm": ("calm", "gentl", "quiet", "relax"),
    "shouting": ("shout", "loud", "caps", "upper"),
    "plain": ("normal", "plain", "neutral"),
}


def interpret_feedback(text: str) -> dict[str, Any]:
    """What a feedback message changes: topic, tone, and/or length.

    "talk about the ocean" -> {"topic": "ocean"}; "shorter"/"wrap up" ->
    {"length": "shorter"}; "longer"/"more" -> {"length": "longer"};
    "be more excited" -> {"tone": "excited"}.
    """
    lower = text.lower()
    applied: dict[str, Any] = {}
    topic = pick_topic(lower)
    if topic:
        applied["topic"] = topic
    for tone, stems in _TONES.items():
        if any(s in lower for s in stems):
            applied["tone"] = tone
            break
    if re.search(r"\b(short|shorter|wrap up|finish|enough|conclude|brief)\b", lower):
        applied["length"] = "shorter"
    elif re.search(r"\b(long|longer|more|continue|keep going)\b", lower):
        applied["length"] = "longer"
    return applied


async def websocket_generate(ws: WebSocket) -> None:
    """Two-way generation over one WebSocket; see the package docstring."""
    await ws.accept()
    settings: Settings = ws.app.state.settings
    stats: Stats = ws.app.state.stats
    gen_task: asyncio.Task[None] | None = None
    state: dict[str, Any] = {}
    send_lock = asyncio.Lock()

    async def send(msg: dict[str, Any]) -> None:
        # A client may close right after its last message (a stop, then close):
        # every send after that is one WebSocketDisconnect, which ends the session
        # quietly instead of a traceback in the server log.
        if state.get("closed"):
            raise WebSocketDisconnect(1006)
        async with send_lock:
            try:
                await ws.send_text(json.dumps(msg, ensure_ascii=False))
            except (WebSocketDisconnect, RuntimeError):  # RuntimeError: starlette's "closed"
                state["closed"] = True
                raise WebSocketDisconnect(1006) from None

    async def generate(prompt: str, opts: dict[str, Any]) -> None:
        stats.active += 1
        stats.started += 1
        reason = "stop"
        emitted = 0
        try:
            seed, max_tokens, ttft, tps = (
                opts["seed"],
                opts["max_tokens"],
                opts["ttft"],
                opts["tps"],
            )
            composer: Composer = composer_for(prompt, seed)
            state["composer"] = composer
            state["sentences_left"] = requested_sentences(prompt, composer.rng)
            step = 1.0 / tps if tps > 0 else 0.0
            await send({"type": "start", "topic": composer.topic, "tone": composer.tone})
            due = time.perf_counter() + ttft
            first = True
            while state["sentences_left"] > 0:
                sentence = composer.next_sentence()
                state["sentences_left"] -= 1
                for tok in tokenize(("" if first else " ") + sentence):
                    if max_tokens is not None and emitted >= max_tokens:
                        reason = "length"
                        return
                    delay = due - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    else:
                        await asyncio.sleep(0)  # let feedback and stop in between tokens
                    await send({"type": "delta", "text": tok})
                    emitted += 1
                    due += step
                first = False
        except asyncio.CancelledError:
            reason = "client_stop"
            raise
        except WebSocketDisconnect:
            reason = "gone"  # the client left mid-answer: nobody to tell
        finally:
            stats.active -= 1
            state["usage"] = {"output_tokens": emitted}
            if reason not in ("client_stop", "gone"):
                try:
                    await send({"type": "done", "reason": reason, "usage": state["usage"]})
                except Exception:  # the socket may be gone already
                    pass

    async def stop_generation() -> bool:
        nonlocal gen_task
        if gen_task is None or gen_task.done():
            return False
        gen_task.cancel()
        await asyncio.gather(gen_task, return_exceptions=True)
        gen_task = None
        return True

    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            msg, problem = _client_message(message)
            if problem:
                await send({"type": "error", "message": problem})
                continue
            kind = msg["type"]
            if kind == "generate":
                if not isinstance(msg.get("prompt"), str):
                    await send({"type": "error", "message": "generate needs a string 'prompt'"})
                    continue
                try:
                    opts = _generate_options(msg, settings)
                except ControlError as exc:
                    await send(
                        {
                            "type": "error",
                            "message": f"generate: bad option ({exc}); seed and "
                            "max_tokens are integers, ttft_ms and tokens_per_second numbers",
                        }
                    )
                    continue
                if await stop_generation():
                    await send({"type": "done", "reason": "superseded"})
                gen_task = asyncio.create_task(generate(msg["prompt"], opts))
            elif kind == "stop":
                stopped = await stop_generation()
                if stopped:
                    stats.lesson_stops += 1
                    stats.deltas_before_last_stop = state["usage"]["output_tokens"]
                await send(
                    {"type": "done", "reason": "client_stop"}
                    if stopped
                    else {"type": "error", "message": "nothing is being generated"}
                )
            elif kind == "feedback":
                text = str(msg.get("text", ""))
                applied = interpret_feedback(text)
                composer = state.get("composer")
                if composer is not None and gen_task is not None and not gen_task.done():
                    if "topic" in applied:
                        composer.switch_topic(applied["topic"])
                    if "tone" in applied:
                        composer.tone = applied["tone"]
                    if applied.get("length") == "shorter":
                        state["sentences_left"] = 0
                    elif applied.get("length") == "longer":
                        state["sentences_left"] += 3
                    active = True
                else:
                    active = False
                await send({"type": "ack", "text": text, "applied": applied, "generating": active})
            else:
                await send(
                    {
                        "type": "error",
                        "message": f"unknown message type {kind!r}: use generate, stop or feedback",
                    }
                )
    except WebSocketDisconnect:
        pass
    finally:
        await stop_generation()


def _client_message(message: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """A client frame as a JSON object with a ``type``, or what is wrong with it."""
    usage = "send a JSON object with a 'type': generate, stop or feedback"
    text = message.get("text")
    if text is None:
        return {}, f"binary frames are not understood here: {usage}, as a text frame"
    try:
        msg = json.loads(text)
    except (ValueError, RecursionError):
        return {}, usage
    if not isinstance(msg, dict) or "type" not in msg:
        return {}, usage
    problem = json_problem(msg)
    return ({}, problem) if problem else (msg, None)


def _generate_options(msg: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """The options of a ``generate`` message, each checked to be a finite number in bounds."""

    def opt(name: str, default: Any, maximum: float, **kw: Any) -> Any:
        value = msg.get(name)
        return default if value is None else bounded(name, value, maximum, **kw)

    max_tokens = opt("max_tokens", None, MAX_TOKENS, integer=True, minimum=1)
    tps = opt("tokens_per_second", None, MAX_TOKENS_PER_SECOND)
    return {
        "seed": opt("seed", settings.seed, MAX_SEED, integer=True, minimum=-MAX_SEED),
        "max_tokens": max_tokens,
        "ttft": opt("ttft_ms", settings.ttft_ms, MAX_TTFT_MS) / 1000.0,
        "tps": settings.tokens_per_second if tps is None else tps,
    }
