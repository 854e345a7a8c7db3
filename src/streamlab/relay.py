"""Serve your own stream: relay a provider's text deltas to a browser as SSE.

The pieces notebook 10 builds on, each small enough to read in one sitting:

- :func:`create_relay_app`: a Starlette app with ``GET /events?prompt=...``
  (the relayed stream as Server-Sent Events), ``POST /streams/{id}/stop`` and
  ``POST /streams/{id}/feedback`` (control messages sent beside the stream,
  compared with WebSockets in notebook 09), and ``GET /`` (a browser page
  whose ``EventSource`` reconnects by itself). Every production pitfall can be
  switched back on to show what it breaks: bare headers, no keep-alive
  comments, no cancellation when the browser leaves.
- :func:`create_proxy_app`: a stand-in for nginx or a load balancer in front
  of the relay, that buffers responses (unless told ``X-Accel-Buffering: no``)
  and cuts connections that stay idle too long.
- :class:`NaiveGZipMiddleware`: compression that does not flush per chunk, as
  Starlette's ``GZipMiddleware`` did before 1.5 and many proxies still do.
- :func:`run_app`: any ASGI app on a free port in a background thread, so a
  notebook (whose kernel already runs an event loop) can serve and call it.
- :func:`time_stream`: what a client sees: time to headers, to the first
  event, to the end, and how many events and keep-alive comments arrived.

Each relayed stream is kept in a small in-memory log, so a browser that
reconnects with ``Last-Event-ID`` resumes where it was instead of starting a
new (different, and paid for again) generation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "SSE_HEADERS",
    "BARE_HEADERS",
    "DeltaSource",
    "RelayStats",
    "create_relay_app",
    "ProviderSource",
    "provider_source",
    "scripted_source",
    "create_proxy_app",
    "NaiveGZipMiddleware",
    "RunningApp",
    "run_app",
    "StreamTiming",
    "time_stream",
]

#: The headers that keep an SSE response streaming through proxies and CDNs.
SSE_HEADERS: dict[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    # no-cache: never serve a stored copy; no-transform: do not compress or rewrite it.
    "Cache-Control": "no-cache, no-transform",
    # nginx (and proxies that copy it) stop buffering this response.
    "X-Accel-Buffering": "no",
}

#: What a first attempt usually sends: right content type, nothing else.
BARE_HEADERS: dict[str, str] = {"Content-Type": "text/event-stream; charset=utf-8"}

#: ``source(prompt)`` -> the text deltas of one generation.
DeltaSource = Callable[[str], AsyncIterator[str]]


# --------------------------------------------------------------------------- sources


class ProviderSource:
    """Text deltas from the course's provider (local by default, or the real one).

    ``provider``: a :class:`streamlab.Provider` (default ``streamlab.get_provider()``)
    or a :class:`streamlab.LocalServer`; ``create_args`` go to the create call.
    Calling it with a prompt gives an async iterator of text deltas.

    Uses the OpenAI Responses API for OpenAI-compatible providers and the
    Messages API for Anthropic. The upstream request is closed when the relay
    stops reading (client gone, stop pressed), so no tokens are spent for
    nobody. One SDK client serves every request, made here, in the caller's
    thread: making one (TLS set-up) or importing the SDK inside the server's
    event loop would stall every stream it serves. ``await aclose()`` closes
    it; :func:`create_relay_app` does that when its server stops.
    """

    def __init__(self, provider: Any = None, **create_args: Any) -> None:
        import streamlab

        self.provider = provider if provider is not None else streamlab.get_provider()
        self.create_args = create_args
        self.anthropic = getattr(self.provider, "kind", "local") == "anthropic"
        if self.anthropic:
            self.client = self.provider.async_anthropic()
            self.model = self.provider.anthropic_model
        else:
            self.client = self.provider.async_openai()
            # A Provider has .model; a LocalServer (streamlab.serve()) has .settings.model.
            self.model = getattr(self.provider, "model", None) or self.provider.settings.model
        # The SDKs import an API's modules on first use: do it here too.
        _ = self.client.messages if self.anthropic else self.client.responses

    async def __call__(self, prompt: str) -> AsyncIterator[str]:
        from streamlab.deltas import atext_deltas

        if self.anthropic:
            args = {"max_tokens": 400, **self.create_args}
            messages = [{"role": "user", "content": prompt}]
            async with self.client.messages.stream(
                model=self.model, messages=messages, **args
            ) as stream:
                async for text in stream.text_stream:
                    yield text
            return
        stream = await self.client.responses.create(
            model=self.model, input=prompt, stream=True, **self.create_args
        )
        try:
            async for text in atext_deltas(stream):
                yield text
        finally:
            await stream.close()

    async def aclose(self) -> None:
        await self.client.close()

    def __repr__(self) -> str:
        return f"ProviderSource({self.provider!r})"


def provider_source(provider: Any = None, **create_args: Any) -> ProviderSource:
    """A :class:`ProviderSource`: ``source(prompt)`` -> the provider's text deltas."""
    import streamlab.deltas  # noqa: F401  (imported here, not in the server's loop)

    return ProviderSource(provider, **create_args)


def scripted_source(
    deltas: list[str],
    *,
    first_delay: float = 0.0,
    delay: float = 0.0,
    pause_at: int = -1,
    pause: float = 0.0,
) -> DeltaSource:
    """A predictable source for demos and tests: the given deltas, with delays.

    ``pause_at``/``pause`` insert one long silence (the model "thinking", a
    tool call) before delta number ``pause_at``: what idle proxies cut.
    """

    async def source(prompt: str) -> AsyncIterator[str]:
        await asyncio.sleep(first_delay)
        for i, text in enumerate(deltas):
            if i == pause_at:
                await asyncio.sleep(pause)
            elif i and delay:
                await asyncio.sleep(delay)
            yield text

    return source


# --------------------------------------------------------------------------- the relay


@dataclass
class RelayStats:
    """What the relay did, for lessons and tests to look at."""

    started: int = 0  # upstream generations started
    running: int = 0  # upstream generations still running now
    cancelled: int = 0  # stopped early (stop request or everybody left)
    completed: int = 0
    upstream_deltas: int = 0  # deltas read from upstream, over all streams


@dataclass
class _Event:
    id: int
    event: str
    data: dict[str, Any]


@dataclass
class _StreamLog:
    """One generation: the events so far, and who is reading them."""

    id: str
    events: list[_Event] = field(default_factory=list)
    finished: bool = False
    readers: int = 0
    task: asyncio.Task[None] | None = None
    stop_reason: str | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def append(self, event: str, data: dict[str, Any]) -> None:
        self.events.append(_Event(len(self.events), event, data))
        old, self.changed = self.changed, asyncio.Event()
        old.set()

    def finish(self, reason: str, **extra: Any) -> None:
        if not self.finished:
            self.append("done", {"reason": reason, **extra})
            self.finished = True


def _frame(ev: _Event) -> bytes:
    # json.dumps escapes newlines, so the payload always fits on one data line.
    data = json.dumps(ev.data, ensure_ascii=False)
    return f"id: {ev.id}\nevent: {ev.event}\ndata: {data}\n\n".encode()


def create_relay_app(
    source: DeltaSource | None = None,
    *,
    headers: dict[str, str] | None = None,
    keepalive: float | None = 15.0,
    cancel_on_disconnect: bool = True,
    resume_grace: float = 5.0,
    retry_ms: int | None = 1000,
    drop_after: int | None = None,
) -> Starlette:
    """A Starlette app that relays ``source``'s deltas to browsers as SSE.

    ``GET /events?prompt=...&stream=ID`` streams events ``delta``
    (``{"text": ...}``), ``ack`` (feedback received) and a last ``done``
    (``{"reason": "completed" | "stopped" | "cancelled" | "error"}``), each with an
    ``id``. A client that names its stream (``stream=ID``) can reconnect with
    ``Last-Event-ID`` and resume; after ``done`` it gets 204, which tells
    ``EventSource`` to stop reconnecting.

    The switches put the production pitfalls back, one at a time:

    - ``headers``: the response headers (default :data:`SSE_HEADERS`; try
      :data:`BARE_HEADERS` behind :func:`create_proxy_app`);
    - ``keepalive``: seconds of silence before a ``: keep-alive`` comment is
      sent (``None``: never; idle proxies then cut quiet streams);
    - ``cancel_on_disconnect``: stop the upstream generation when no client is
      reading any more (after ``resume_grace`` seconds for named streams, at
      once otherwise). ``False`` leaks it: tokens generated, and paid for,
      for nobody;
    - ``drop_after``: close each connection after that many events (a flaky
      network, to watch ``EventSource`` reconnect).

    ``app.state.stats`` is a :class:`RelayStats`.
    """
    source = source or provider_source()
    headers = dict(SSE_HEADERS if headers is None else headers)
    stats = RelayStats()
    logs: dict[str, _StreamLog] = {}

    async def pump(log: _StreamLog, prompt: str) -> None:
        stats.started += 1
        stats.running += 1
        try:
            async for text in source(prompt):
                stats.upstream_deltas += 1
                log.append("delta", {"text": text})
            stats.completed += 1
            log.finish("completed")
        except asyncio.CancelledError:
            stats.cancelled += 1
            log.finish(log.stop_reason or "cancelled")
            raise
        except Exception as exc:  # the provider failed: tell the browser, keep the text
            log.finish("error", message=f"{type(exc).__name__}: {exc}")
        finally:
            stats.running -= 1

    def start(stream_id: str, prompt: str) -> _StreamLog:
        finished = [k for k, v in logs.items() if v.finished]
        for k in finished[: max(0, len(logs) - 100)]:
            del logs[k]
        log = logs[stream_id] = _StreamLog(stream_id)
        log.task = asyncio.get_running_loop().create_task(pump(log, prompt))
        return log

    def reader_left(log: _StreamLog, named: bool) -> None:
        log.readers -= 1
        if not cancel_on_disconnect or log.finished or log.task is None:
            return

        def maybe_cancel() -> None:
            if log.readers == 0 and not log.finished and log.task is not None:
                log.task.cancel()

        if named and resume_grace > 0:
            asyncio.get_running_loop().call_later(resume_grace, maybe_cancel)
        else:
            maybe_cancel()

    async def body(log: _StreamLog, after: int, named: bool) -> AsyncIterator[bytes]:
        log.readers += 1
        sent = 0
        try:
            if retry_ms is not None:  # how long EventSource waits before reconnecting
                yield f": relay connected\nretry: {retry_ms}\n\n".encode()
            i = after + 1
            while True:
                while i < len(log.events):
                    yield _frame(log.events[i])
                    i += 1
                    sent += 1
                    if (
                        drop_after is not None
                        and sent >= drop_after
                        and not (log.finished and i >= len(log.events))
                    ):
                        return  # the connection "drops"; EventSource will reconnect
                if log.finished:
                    return
                changed = log.changed
                try:
                    await asyncio.wait_for(changed.wait(), keepalive)
                except asyncio.TimeoutError:
                    yield b": keep-alive\n\n"
        finally:
            reader_left(log, named)

    async def events(request: Request) -> Response:
        prompt = request.query_params.get("prompt", "Tell me about streaming.")
        stream_id = request.query_params.get("stream")
        named = bool(stream_id)
        last = request.headers.get("last-event-id")
        log = logs.get(stream_id) if stream_id else None
        if log is None:
            log = start(stream_id or uuid.uuid4().hex, prompt)
            after = -1
        else:
            after = int(last) if last and last.isdigit() else -1
            if log.finished and after >= len(log.events) - 1:
                return Response(status_code=204)  # nothing more: EventSource stops
        response = StreamingResponse(body(log, after, named), headers=headers)
        response.headers["X-Stream-Id"] = log.id
        return response

    async def stop(request: Request) -> Response:
        log = logs.get(request.path_params["stream_id"])
        if log is None:
            return JSONResponse({"error": "no such stream"}, status_code=404)
        if not log.finished and log.task is not None:
            log.stop_reason = "stopped"
            log.task.cancel()
        return JSONResponse({"stopped": True})

    async def feedback(request: Request) -> Response:
        log = logs.get(request.path_params["stream_id"])
        if log is None:
            return JSONResponse({"error": "no such stream"}, status_code=404)
        text = (await request.json()).get("text", "")
        if not log.finished:
            log.append("ack", {"text": text})
        return JSONResponse({"received": text, "finished": log.finished})

    async def page(request: Request) -> Response:
        html = resources.files("streamlab").joinpath("static/eventsource.html").read_text()
        return HTMLResponse(html)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for log in logs.values():  # the server stops: stop what still runs
            if log.task is not None and not log.task.done():
                log.task.cancel()
        close = getattr(source, "aclose", None)
        if close is not None:
            await close()

    app = Starlette(
        lifespan=lifespan,
        routes=[
            Route("/", page),
            Route("/events", events),
            Route("/streams/{stream_id}/stop", stop, methods=["POST"]),
            Route("/streams/{stream_id}/feedback", feedback, methods=["POST"]),
        ],
    )
    app.state.stats = stats
    app.state.logs = logs
    return app


# --------------------------------------------------------------------------- what sits in front


def create_proxy_app(
    upstream: str,
    *,
    buffer_size: int | None = 16384,
    idle_timeout: float | None = None,
) -> Starlette:
    """A reverse proxy that behaves like nginx's defaults, scaled down for a lesson.

    - Buffering: the upstream response is collected and sent on in blocks of
      ``buffer_size`` bytes (or at the end), unless the upstream response
      says ``X-Accel-Buffering: no`` (then every chunk goes straight on).
      ``None`` turns buffering off.
    - Idle timeout: when upstream sends nothing for ``idle_timeout`` seconds,
      the proxy gives up and closes the connection (nginx's
      ``proxy_read_timeout`` is 60 s; load balancers often cut at 30-60 s).
    """
    upstream = upstream.rstrip("/")

    async def forward(request: Request) -> Response:
        client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, read=None))
        fwd = {k: v for k, v in request.headers.items() if k.lower() in {"last-event-id", "accept"}}
        req = client.build_request(
            request.method,
            upstream + request.url.path,
            params=request.query_params,
            headers=fwd,
            content=await request.body(),
        )
        resp = await client.send(req, stream=True)
        buffered = (
            buffer_size is not None and resp.headers.get("x-accel-buffering", "").lower() != "no"
        )
        passed = {
            k: v
            for k, v in resp.headers.items()
            if k.lower()
            not in {"content-length", "transfer-encoding", "connection", "x-accel-buffering"}
        }

        async def body() -> AsyncIterator[bytes]:
            buf = bytearray()
            chunks = resp.aiter_raw()
            try:
                while True:
                    try:
                        chunk = await asyncio.wait_for(chunks.__anext__(), idle_timeout)
                    except StopAsyncIteration:
                        break
                    except asyncio.TimeoutError:
                        break  # idle too long: the proxy closes the connection
                    if not buffered:
                        yield chunk
                        continue
                    buf += chunk
                    if len(buf) >= buffer_size:
                        yield bytes(buf)
                        buf.clear()
                if buf:
                    yield bytes(buf)
            finally:
                await resp.aclose()
                await client.aclose()

        return StreamingResponse(body(), status_code=resp.status_code, headers=passed)

    return Starlette(routes=[Route("/{path:path}", forward, methods=["GET", "POST"])])


class NaiveGZipMiddleware:
    """Gzip that never flushes mid-stream, as Starlette's GZipMiddleware did before 1.5.

    zlib keeps small writes in its window until it has a block to emit, so
    a stream of small events reaches the client in a few large bursts, or all
    at the end. It compresses every content type (Starlette skips
    ``text/event-stream`` since 0.46; many proxies with gzip on do not).
    Responses that already carry a ``Content-Encoding`` are left alone.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        accept = dict(scope.get("headers", [])).get(b"accept-encoding", b"")
        if scope["type"] != "http" or b"gzip" not in accept:
            await self.app(scope, receive, send)
            return
        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        passthrough = False

        async def wrapped(message: Message) -> None:
            nonlocal passthrough
            if message["type"] == "http.response.start":
                raw = [
                    (k, v) for k, v in message.get("headers", []) if k.lower() != b"content-length"
                ]
                passthrough = any(k.lower() == b"content-encoding" for k, _ in raw)
                if not passthrough:
                    raw.append((b"content-encoding", b"gzip"))
                await send({**message, "headers": raw})
            elif message["type"] == "http.response.body" and not passthrough:
                more = message.get("more_body", False)
                data = compressor.compress(message.get("body", b""))
                if not more:
                    data += compressor.flush()
                await send({"type": "http.response.body", "body": data, "more_body": more})
            else:
                await send(message)

        await self.app(scope, receive, wrapped)


# --------------------------------------------------------------------------- running and measuring


@dataclass
class RunningApp:
    """An ASGI app served by uvicorn in a background thread."""

    url: str
    _server: Any
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    def __enter__(self) -> RunningApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningApp(url={self.url!r})"


def run_app(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> RunningApp:
    """Serve ``app`` on ``host:port`` (0: a free port) in a daemon thread; return when ready.

    A notebook's kernel already runs an event loop, so a server cannot run
    in the cell's loop; uvicorn gets its own loop in its own thread, and the
    notebook calls it over a real socket, as a browser would.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="auto", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the app did not start on {host}:{port}")
        time.sleep(0.01)
    return RunningApp(f"http://{host}:{port}", server, thread)


@dataclass
class StreamTiming:
    """What one client saw of one SSE response (seconds from sending the request)."""

    status: int
    headers: float
    first_event: float | None
    total: float
    events: int
    keepalives: int
    content_encoding: str | None
    last_event: str | None
    text: str

    def __str__(self) -> str:
        first = "never" if self.first_event is None else f"{self.first_event:.2f} s"
        return (
            f"status {self.status}, headers after {self.headers:.2f} s, first event after {first}, "
            f"ended after {self.total:.2f} s: {self.events} events, {self.keepalives} keep-alive comments, "
            f"last event {self.last_event!r}"
        )


def time_stream(
    url: str, *, gzip: bool = False, timeout: float = 30.0, **params: str
) -> StreamTiming:
    """GET ``url`` as a browser would and time what arrives, event by event.

    ``gzip=True`` sends ``Accept-Encoding: gzip`` (browsers always do).
    """
    from streamlab.sse import SSEDecoder

    headers = {"Accept": "text/event-stream", "Accept-Encoding": "gzip" if gzip else "identity"}
    t0 = time.perf_counter()
    first = None
    events = 0
    last = None
    text = []
    raw = bytearray()
    with (
        httpx.Client(timeout=timeout) as client,
        client.stream("GET", url, params=params, headers=headers) as r,
    ):
        t_headers = time.perf_counter() - t0
        decoder = SSEDecoder()
        for chunk in r.iter_bytes():
            raw += chunk
            for ev in decoder.feed(chunk):
                events += 1
                last = ev.event
                if first is None:
                    first = time.perf_counter() - t0
                if ev.event == "delta":
                    text.append(json.loads(ev.data).get("text", ""))
        encoding = r.headers.get("content-encoding")
        status = r.status_code
    return StreamTiming(
        status,
        t_headers,
        first,
        time.perf_counter() - t0,
        events,
        raw.count(b": keep-alive\n"),
        encoding,
        last,
        "".join(text),
    )
