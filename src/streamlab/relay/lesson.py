"""Stand-ins and measuring tools for the serving lessons (notebooks 10 and 11).

- :func:`create_proxy_app`: a stand-in for nginx or a load balancer in front
  of the relay, that buffers responses (unless told ``X-Accel-Buffering: no``)
  and cuts connections that stay idle too long.
- :class:`NaiveGZipMiddleware`: compression that does not flush per chunk, as
  Starlette's ``GZipMiddleware`` did before 1.5 and many proxies still do.
- :func:`run_app`: any ASGI app on a free port in a background thread, so a
  notebook (whose kernel already runs an event loop) can serve and call it.
  On a shared host (JupyterHub) its address ends with a secret path, so that
  another learner on the same 127.0.0.1 cannot read this learner's streams.
- :func:`time_stream`: what a client sees: time to headers, to the first
  event, to the end, and how many events and keep-alive comments arrived.
- :func:`watch_held`: what a client sees of a :class:`~streamlab.relay.HeldSource`
  stream: whether the first event came while the source still held the
  stream open (streamed), or only after (buffered). Causal, not timed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from streamlab.relay.sources import HeldSource

__all__ = [
    "create_proxy_app",
    "NaiveGZipMiddleware",
    "RunningApp",
    "run_app",
    "SecretPath",
    "process_secret",
    "StreamTiming",
    "time_stream",
    "HeldWatch",
    "watch_held",
]


# --------------------------------------------------------------------------- what sits in front


# What the proxy passes upstream (a real proxy passes nearly all; these are what the relay reads).
_FORWARDED = {"last-event-id", "accept", "content-type", "authorization"}


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
        fwd = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED}
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
                    except TimeoutError:
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

    @property
    def browser_url(self) -> str:
        """The page's address for the learner's browser (ends with ``/``).

        On a laptop that is :attr:`url`. Behind JupyterHub or Binder the
        browser cannot reach the kernel's 127.0.0.1, but jupyter-server-proxy
        (when installed in the image) forwards ``<prefix>proxy/<port>/`` to
        it; the page's own requests are relative, so they follow.
        """
        return browser_url(self.url)

    def __enter__(self) -> RunningApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningApp(url={self.url!r})"


def browser_url(url: str) -> str:
    """``url`` (a server on this machine) as the learner's browser can reach it; see
    :attr:`RunningApp.browser_url`."""
    import importlib.util
    import os
    from urllib.parse import urlsplit

    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix and importlib.util.find_spec("jupyter_server_proxy") is not None:
        parts = urlsplit(url)  # the path keeps run_app's secret, if any
        return f"{prefix.rstrip('/')}/proxy/{parts.port}{parts.path.rstrip('/')}/"
    return url.rstrip("/") + "/"


_process_secret: str | None = None


def process_secret() -> str:
    """This process's random secret path segment for :func:`run_app` (made on first use)."""
    global _process_secret
    if _process_secret is None:
        _process_secret = secrets.token_urlsafe(18)
    return _process_secret


class SecretPath:
    """Serve ``app`` only under ``/<secret>/``; anything else gets 403 (a closed WebSocket).

    The prefix is removed before ``app`` sees the path, so its routes, and
    the relative links of its pages, stay as they are. Who knows the
    address can use it, as with Jupyter's own token in a URL: keep it to
    yourself.
    """

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.prefix = "/" + secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
        elif path == self.prefix or path.startswith(self.prefix + "/"):
            rest = path[len(self.prefix) :] or "/"
            await self.app({**scope, "path": rest, "raw_path": rest.encode()}, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
        else:
            refused = Response(
                json.dumps(
                    {
                        "error": "this server answers only under its secret path: use the "
                        "address run_app() gave (RunningApp.url) in the kernel that started it"
                    }
                ),
                status_code=403,
                media_type="application/json",
            )
            await refused(scope, receive, send)


def run_app(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, private: bool | None = None
) -> RunningApp:
    """Serve ``app`` on ``host:port`` (0: a free port) in a daemon thread; return when ready.

    A notebook's kernel already runs an event loop, so a server cannot run
    in the cell's loop; uvicorn gets its own loop in its own thread, and the
    notebook calls it over a real socket, as a browser would.

    ``private`` (default: on a shared host such as JupyterHub, where every
    learner's kernel listens on the same 127.0.0.1) serves ``app`` only
    under this process's secret path (:class:`SecretPath`):
    ``RunningApp.url`` then ends with it, and ``url + "/events"`` works as
    before, while a request without it gets 403.
    """
    import uvicorn

    from streamlab.provider.switch import on_shared_host

    secret = process_secret() if (on_shared_host() if private is None else private) else None
    if secret is not None:
        app = SecretPath(app, secret)

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
    path = "" if secret is None else "/" + secret
    return RunningApp(f"http://{host}:{port}{path}", server, thread)


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


@dataclass
class HeldWatch:
    """What :func:`watch_held` saw of one stream."""

    streamed: bool | None  # the first event came while the source still held the stream open
    text: str
    last_event: str | None
    keepalives: int
    content_encoding: str | None
    status: int = 200


def watch_held(
    url: str,
    source: HeldSource,
    *,
    gzip: bool = False,
    release_at_keepalive: int = 0,
    timeout: float = 30.0,
) -> HeldWatch:
    """Read an SSE stream; at its first event note whether ``source`` still holds, then release it.

    ``streamed`` is true when the first event arrived while the source still
    held the stream open: nothing buffered it. With ``release_at_keepalive=n``
    the source is released only once ``n`` keep-alive comments have arrived
    (the stream has then been silent for that many keep-alive intervals).
    """
    from streamlab.sse import SSEDecoder

    headers = {"Accept": "text/event-stream", "Accept-Encoding": "gzip" if gzip else "identity"}
    streamed, text, last, keepalives = None, [], None, 0
    try:
        with (
            httpx.Client(timeout=timeout) as client,
            client.stream("GET", url, headers=headers) as r,
        ):
            decoder = SSEDecoder()
            for chunk in r.iter_bytes():
                keepalives += chunk.count(b": keep-alive\n")
                if release_at_keepalive and keepalives >= release_at_keepalive:
                    source.release()
                for ev in decoder.feed(chunk):
                    if streamed is None:
                        streamed = source.holding
                        if not release_at_keepalive:
                            source.release()
                    last = ev.event
                    if ev.event == "delta":
                        text.append(ev.json()["text"])
            encoding = r.headers.get("content-encoding")
            status = r.status_code
    finally:
        source.release()  # never leave the relay's task holding
    return HeldWatch(streamed, "".join(text), last, keepalives, encoding, status)
