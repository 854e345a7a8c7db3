"""The engine that paces frames onto the wire, injects faults and notices disconnects.

Every generation (streamed or not) runs as one asyncio task watched by a
second task that waits for the client's ``http.disconnect``; whichever ends
first cancels the other, so a client that goes away stops its generation at
once. ``Stats.active`` counts running generations: it returns to 0 when
nothing is streaming, which is how the tests prove nothing is orphaned.
"""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send

from streamlab.provider.config import RequestControls
from streamlab.provider.faults import request_id

# One frame of a stream: the bytes of one SSE event, and the index of the
# token it carries (None for frames sent as soon as possible).
Frame = tuple[bytes, "int | None"]

_TIMER_SLACK = 0.0005

#: The longest a generation may run between two turns of the event loop.
YIELD_EVERY_S = 0.002


class Pacer:
    """Waits until each frame is due, and never holds the event loop for long.

    A frame that is already due (no pacing, or overdue after a slow write) is
    sent without sleeping, and uvicorn's ``send()`` returns at once, even
    after the client has gone: without a turn of the loop now and then, the
    watcher that notices the disconnect never runs, every other request
    waits, and the whole stream is produced into a dead socket.
    """

    def __init__(self) -> None:
        self._turn = time.perf_counter()

    async def until(self, due: float | None = None) -> None:
        """Sleep until ``due`` (a ``perf_counter`` time), or yield if the turn is long."""
        now = time.perf_counter()
        # asyncio's timers wake up to 1 ms late (epoll counts whole
        # milliseconds, rounded up): aim half a millisecond early.
        delay = None if due is None else due - now - _TIMER_SLACK
        if delay is not None and delay > 0:
            await asyncio.sleep(delay)
        elif now - self._turn >= YIELD_EVERY_S:
            await asyncio.sleep(0)
        else:
            return
        self._turn = time.perf_counter()


@dataclass
class Stats:
    """Counters kept on ``app.state.stats`` (also served at GET /streamlab/stats)."""

    active: int = 0
    requests: int = 0  # every API request, including those answered with an error
    started: int = 0
    completed: int = 0
    cancelled: int = 0
    dropped: int = 0
    # Stop messages on WS /lesson/ws that ended a generation, and how many
    # deltas the last stopped generation had sent (the exercise 9.1 check reads them).
    lesson_stops: int = 0
    deltas_before_last_stop: int | None = None
    # Seconds each token was sent after its scheduled time (recent ones only).
    lateness: collections.deque[float] = field(
        default_factory=lambda: collections.deque(maxlen=500_000)
    )

    def reset(self) -> None:
        """Zero the counters and lateness samples; ``active`` still counts running streams."""
        self.requests = self.started = self.completed = self.cancelled = self.dropped = 0
        self.lesson_stops = 0
        self.deltas_before_last_stop = None
        self.lateness.clear()

    def as_dict(self, *, lateness: bool = False) -> dict[str, Any]:
        """Counters; with ``lateness``, also p50/p99/max token lateness in ms."""
        extra: dict[str, Any] = {}
        if lateness and self.lateness:
            ordered = sorted(self.lateness)
            n = len(ordered)
            extra = {
                "lateness_ms": {
                    "p50": 1000 * ordered[n // 2],
                    "p99": 1000 * ordered[min(n - 1, int(n * 0.99))],
                    "max": 1000 * ordered[-1],
                }
            }
        return extra | {
            "active_generations": self.active,
            "requests": self.requests,
            "started": self.started,
            "completed": self.completed,
            "cancelled": self.cancelled,
            "dropped": self.dropped,
            "lesson_stops": self.lesson_stops,
            "deltas_before_last_stop": self.deltas_before_last_stop,
            "lateness_samples": len(self.lateness),
        }


async def _watch_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def run_watched(receive: Receive, stats: Stats, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` and cancel it the moment the client disconnects."""
    stats.active += 1
    stats.started += 1
    task = asyncio.ensure_future(work())
    watcher = asyncio.ensure_future(_watch_disconnect(receive))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            task.result()  # re-raise a failure of the generation itself
            stats.completed += 1
        else:
            stats.cancelled += 1
    finally:
        for t in (task, watcher):
            if not t.done():
                t.cancel()
        # Wait for the cancellations to land so no task outlives the request.
        await asyncio.gather(task, watcher, return_exceptions=True)
        stats.active -= 1


class DroppedConnection(Exception):
    """Raised inside the engine to end a response without completing it."""


class FrameStream:
    """An ASGI response that sends ``frames`` on the schedule in ``controls``.

    ``on_error(k)`` gives the provider-shaped error frame(s) for an
    ``error-after=k`` fault. ``more()``, when given, is awaited each time
    ``frames`` (then an iterator that may be resumed) runs dry: it returns
    True once more frames may follow, False at the end (a background
    response's followers wait on it for events still being generated).
    """

    def __init__(
        self,
        frames: Iterable[Frame],
        n_tokens: int,
        controls: RequestControls,
        *,
        on_error: Callable[[int], bytes],
        rng_seed: int,
        media_type: str = "text/event-stream; charset=utf-8",
        extra_headers: dict[str, str] | None = None,
        more: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self.frames = frames
        self.more = more
        self.n_tokens = n_tokens
        self.controls = controls
        self.on_error = on_error
        self.rng_seed = rng_seed
        self.media_type = media_type
        self.extra_headers = extra_headers or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stats: Stats = scope["app"].state.stats
        state = {"dropped": False}

        async def work() -> None:
            try:
                await self._produce(send, stats)
            except DroppedConnection:
                state["dropped"] = True

        await run_watched(receive, stats, work)
        if state["dropped"]:
            stats.dropped += 1
            # Returning without the final body message makes the server close
            # the connection mid-body: the client sees an incomplete chunked read.
            return

    async def _produce(self, send: Send, stats: Stats) -> None:
        c = self.controls
        slow = c.fault("slow-headers")
        if slow:
            await asyncio.sleep(slow.seconds)
        t0 = time.perf_counter()  # the schedule starts when the headers leave
        req_id = request_id()
        headers = [
            (b"content-type", self.media_type.encode()),
            (b"cache-control", b"no-cache"),
            (b"x-request-id", req_id.encode()),
            (b"request-id", req_id.encode()),
            *((k.encode(), v.encode()) for k, v in self.extra_headers.items()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        due_times = c.due_times(self.n_tokens, random.Random(self.rng_seed))
        scheduled, due_offset = -1, 0.0  # the last token index taken from due_times
        drop, error, stall = c.fault("drop"), c.fault("error"), c.fault("stall")
        tiny = c.fault("tiny-writes")
        lateness = stats.lateness
        pacer = Pacer()
        frames, sent = iter(self.frames), 0
        while True:
            for k, (data, token) in enumerate(frames, sent):
                if drop and k >= drop.after:
                    raise DroppedConnection
                if error and k >= error.after:
                    await self._write(send, self.on_error(k), tiny)
                    break
                if stall and k == stall.after:
                    await asyncio.sleep(stall.seconds)
                    t0 += stall.seconds  # the rest of the schedule shifts by the stall
                if token is not None and token < self.n_tokens:
                    while scheduled < token:  # frames name their tokens in order
                        due_offset, scheduled = next(due_times), scheduled + 1
                    due = t0 + due_offset
                    await pacer.until(due)
                    lateness.append(time.perf_counter() - due)
                else:
                    await pacer.until()
                await self._write(send, data, tiny)
                sent = k + 1  # where the count goes on once more() brings frames
            else:
                if self.more is not None and await self.more():
                    continue
            break
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    @staticmethod
    async def _write(send: Send, data: bytes, tiny: Any) -> None:
        if tiny is None:
            await send({"type": "http.response.body", "body": data, "more_body": True})
            return
        size = tiny.size
        for i in range(0, len(data), size):
            await send(
                {"type": "http.response.body", "body": data[i : i + size], "more_body": True}
            )
            # Yield (or wait) so each piece leaves in its own write.
            await asyncio.sleep(tiny.delay_ms / 1000.0)


async def _last_due(c: RequestControls, n_tokens: int) -> float:
    """When the last of ``n_tokens`` tokens would be due (a worker thread walks a long schedule)."""
    if not n_tokens:
        return c.ttft_ms / 1000.0

    def last() -> float:
        return collections.deque(c.due_times(n_tokens), maxlen=1)[0]

    return last() if n_tokens <= 10_000 else await asyncio.to_thread(last)


class DelayedJSON:
    """A non-streamed answer: waits as long as the stream would take, then sends JSON.

    A buffered response costs the whole generation time before the first
    byte; that is the point the streamed-vs-buffered lesson makes.
    """

    def __init__(self, body: dict[str, Any], n_tokens: int, controls: RequestControls) -> None:
        self.body = body
        self.n_tokens = n_tokens
        self.controls = controls

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        stats: Stats = scope["app"].state.stats

        async def work() -> None:
            c = self.controls
            total = await _last_due(c, self.n_tokens)
            slow = c.fault("slow-headers")
            await asyncio.sleep(total + (slow.seconds if slow else 0.0))
            req_id = request_id()
            body = json.dumps(self.body, ensure_ascii=False).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-request-id", req_id.encode()),
                        (b"request-id", req_id.encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body, "more_body": False})

        await run_watched(receive, stats, work)
