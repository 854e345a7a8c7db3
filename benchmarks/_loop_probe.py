"""A loop-lag probe for the benchmark server: the longest the event loop was held.

A ticker task sleeps ``TICK`` seconds over and over and records how late each
wake-up is: nothing else can run while a callback holds the loop, so the
lateness of the ticker is the stall every other request saw. ``probed(app)``
wraps an ASGI app: the probe starts with the first request, and ``GET
/bench/stall`` returns ``{"max_ms", "ticks"}`` since the last
``/bench/stall?reset=1``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

TICK = 0.005  # 200 wake-ups a second: cheap next to the load, fine enough for 50 ms


class LoopProbe:
    """Records the worst lateness of a ticker task on the running loop."""

    def __init__(self) -> None:
        self.worst = 0.0
        self.ticks = 0
        self.task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._tick())

    def reset(self) -> None:
        self.worst, self.ticks = 0.0, 0

    async def _tick(self) -> None:
        while True:
            before = time.perf_counter()
            await asyncio.sleep(TICK)
            late = time.perf_counter() - before - TICK
            self.ticks += 1
            if late > self.worst:
                self.worst = late


def probed(app: Any) -> Any:
    """``app`` with a loop probe and its ``GET /bench/stall`` endpoint."""
    probe = LoopProbe()

    async def wrapper(scope: dict[str, Any], receive: Any, send: Any) -> None:
        probe.start()
        if scope["type"] == "http" and scope["path"] == "/bench/stall":
            body = json.dumps({"max_ms": 1000 * probe.worst, "ticks": probe.ticks}).encode()
            if b"reset=1" in scope.get("query_string", b""):
                probe.reset()
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapper
