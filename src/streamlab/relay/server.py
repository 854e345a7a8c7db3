"""The relay: a provider's stream to browsers as SSE, resumable, stoppable, bounded.

:class:`Relay` holds everything the relay knows, in plain sight:
``relay.logs`` (one :class:`~streamlab.relay.resume.StreamLog` per stream),
``relay.tasks`` (the generation running for each) and ``relay.stats``.
:meth:`Relay.app` (or :func:`create_relay_app`) wraps it in a Starlette app:

- ``GET /events?prompt=...&stream=ID``: the stream as Server-Sent Events,
  for ``EventSource`` (GET only, no body, no custom headers).
- ``POST /events`` with ``{"prompt": ..., "stream": ID}``: the same stream
  for a ``fetch()`` client, which can send a body and headers.
- ``POST /streams`` with ``{"prompt": ...}``: start a generation now and
  answer ``201 {"id", "events"}`` at once; ``GET /streams/{id}/events``
  then reads (and resumes) it: the POST-then-GET pattern, which lets
  ``EventSource`` read a stream that was started by a POST.
- ``POST /streams/{id}/stop`` and ``POST /streams/{id}/feedback``: control
  messages sent beside the stream (compared with WebSockets in notebook 09).
- ``GET /``: a browser page with both clients.

**What a stream id protects.** The id is a bearer capability: whoever knows
it can read that stream's answer (resume or join it), stop it and send it
feedback. Ids the relay mints (``POST /streams``, or a stream without
``stream=``) are 128 random bits; a client that names its own stream must
pick an id as unguessable (the page uses ``crypto.randomUUID()``). An id is
tied to its prompt: joining it with another prompt gets 409, so a client
never receives the answer to a question it did not ask. The id is not a
login: behind a real site, also check that the stream belongs to the
session (cookie or token) that started it, and keep ids out of logs and
shared URLs.

**Bounded state.** Each stream's resume log keeps at most ``max_log_bytes``
of events (oldest dropped first); a client that resumes from, or joins
before, an event no longer kept gets ``410 Gone`` and must start a new
stream (``EventSource`` stops for good on a 410). At most ``keep_finished``
finished streams are kept. Request bodies are capped at ``max_body_bytes``
(413). A failing source sends the browser a generic message with an error
id, and logs the details (which may hold keys or internal host names) on
the ``streamlab.relay`` logger under that id.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from streamlab.events import (
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)
from streamlab.relay.resume import Cursor, LogEvent, ResumeGone, StreamLog, parse_last_event_id
from streamlab.relay.sources import DeltaSource, provider_source
from streamlab.relay.uistream import DONE, UI_STREAM_HEADERS, UIMessageStreamEncoder

__all__ = [
    "SSE_HEADERS",
    "BARE_HEADERS",
    "RelayStats",
    "RelayError",
    "Relay",
    "create_relay_app",
]

logger = logging.getLogger("streamlab.relay")

#: The headers that keep an SSE response streaming through proxies and CDNs.
SSE_HEADERS: dict[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    # no-store: no cache keeps a copy of this (per-user) answer; no-cache would
    # only make it revalidate first. no-transform: do not compress or rewrite it.
    "Cache-Control": "no-store, no-transform",
    # nginx (and proxies that copy it) stop buffering this response.
    "X-Accel-Buffering": "no",
}

#: What a first attempt usually sends: right content type, nothing else.
BARE_HEADERS: dict[str, str] = {"Content-Type": "text/event-stream; charset=utf-8"}

DEFAULT_PROMPT = "Tell me about streaming."
# Letters, digits, '-' and '_': safe in URLs and logs, and bounded.
_STREAM_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass
class RelayStats:
    """What the relay did, for lessons and tests to look at."""

    started: int = 0  # upstream generations started
    running: int = 0  # upstream generations still running now
    cancelled: int = 0  # stopped early (stop request or everybody left)
    completed: int = 0
    failed: int = 0  # the source raised: details logged, a generic message sent
    upstream_deltas: int = 0  # deltas read from upstream, over all streams


class RelayError(Exception):
    """A request the relay refuses: ``status`` and a message saying what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Relay:
    """Relays ``source``'s deltas to browsers as SSE; :meth:`app` serves it.

    ``GET /events`` streams events ``delta`` (``{"text": ...}``), ``ack``
    (feedback received) and a last ``done`` (``{"reason": "completed" |
    "stopped" | "cancelled" | "error"}``), each with an ``id``. A client that
    names its stream can reconnect with ``Last-Event-ID`` and resume; after
    ``done`` it gets 204, which tells ``EventSource`` to stop reconnecting.

    The switches put the production pitfalls back, one at a time:

    - ``headers``: the response headers (default :data:`SSE_HEADERS`; try
      :data:`BARE_HEADERS` behind :func:`~streamlab.relay.create_proxy_app`);
    - ``keepalive``: seconds of silence before a ``: keep-alive`` comment is
      sent (``None``: never; idle proxies then cut quiet streams);
    - ``cancel_on_disconnect``: stop the upstream generation when no client is
      reading any more (after ``resume_grace`` seconds for named streams, at
      once otherwise). ``False`` leaks it: tokens generated, and paid for,
      for nobody;
    - ``drop_after``: close each connection after that many events (a flaky
      network, to watch ``EventSource`` reconnect).

    ``max_log_bytes``, ``keep_finished`` and ``max_body_bytes`` bound what
    it holds (see the module docstring).
    """

    def __init__(
        self,
        source: DeltaSource | None = None,
        *,
        headers: dict[str, str] | None = None,
        keepalive: float | None = 15.0,
        cancel_on_disconnect: bool = True,
        resume_grace: float = 5.0,
        retry_ms: int | None = 1000,
        drop_after: int | None = None,
        max_log_bytes: int = 1 << 20,
        keep_finished: int = 100,
        max_body_bytes: int = 1 << 16,
    ) -> None:
        self.source = source or provider_source()
        self.headers = dict(SSE_HEADERS if headers is None else headers)
        self.keepalive = keepalive
        self.cancel_on_disconnect = cancel_on_disconnect
        self.resume_grace = resume_grace
        self.retry_ms = retry_ms
        self.drop_after = drop_after
        self.max_log_bytes = max_log_bytes
        self.keep_finished = keep_finished
        self.max_body_bytes = max_body_bytes
        self.stats = RelayStats()
        self.logs: dict[str, StreamLog] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}

    # ------------------------------------------------------------------ generations

    def start(self, stream_id: str, prompt: str) -> StreamLog:
        """Start a generation for ``prompt`` as stream ``stream_id`` (in the server's loop)."""
        finished = [k for k, log in self.logs.items() if log.finished]
        for k in finished[: max(0, len(finished) - self.keep_finished + 1)]:
            del self.logs[k]
            self.tasks.pop(k, None)
        log = self.logs[stream_id] = StreamLog(stream_id, prompt, self.max_log_bytes)
        self.tasks[stream_id] = asyncio.get_running_loop().create_task(self._pump(log))
        return log

    def stop(self, stream_id: str, reason: str = "stopped") -> bool:
        """Cancel stream ``stream_id``'s generation; false if it had already finished."""
        log = self.logs[stream_id]
        task = self.tasks.get(stream_id)
        if log.finished or task is None:
            return False
        log.stop_reason = reason
        task.cancel()
        return True

    async def _pump(self, log: StreamLog) -> None:
        stats = self.stats
        stats.started += 1
        stats.running += 1
        end: StreamEnd | None = None
        try:
            async for item in self.source(log.prompt):
                if isinstance(item, StreamEnd):
                    end = item
                    continue
                stats.upstream_deltas += 1
                log.append(*_relay_event(item), item)
                while log.over_cap:  # a live reader is a whole log behind: wait for it
                    await log.moved.wait()
                await asyncio.sleep(0)  # a source that never awaits must not hold the loop
            if end is not None and end.outcome == "failed":
                raise RuntimeError(f"the provider's stream failed: {end.error or end.reason}")
            stats.completed += 1
            log.finish("completed", item=end, **({"outcome": end.outcome} if end else {}))
        except asyncio.CancelledError:
            stats.cancelled += 1
            log.finish(log.stop_reason or "cancelled")
            raise
        except Exception:  # the source failed: the browser gets an id, the log the details
            stats.failed += 1
            error_id = uuid.uuid4().hex[:12]
            logger.exception("stream %s failed (error id %s)", log.id, error_id)
            log.finish(
                "error",
                message=f"the answer could not be completed (error id {error_id})",
                error_id=error_id,
            )
        finally:
            stats.running -= 1

    def _reader_left(self, log: StreamLog, named: bool) -> None:
        if not self.cancel_on_disconnect or log.finished:
            return

        def maybe_cancel() -> None:
            if log.readers == 0 and not log.finished and log.id in self.tasks:
                self.stop(log.id, "cancelled")

        if named and self.resume_grace > 0:
            asyncio.get_running_loop().call_later(self.resume_grace, maybe_cancel)
        else:
            maybe_cancel()

    async def _follow(self, log: StreamLog, cursor: Cursor) -> AsyncIterator[LogEvent | None]:
        """One reader's events as they come; ``None`` after each quiet ``keepalive`` interval."""
        while True:
            for ev in log.pending(cursor):
                yield ev
                log.sent(cursor, ev)
            if log.at_end(cursor):
                return
            try:
                await asyncio.wait_for(log.changed.wait(), self.keepalive)
            except TimeoutError:
                yield None

    async def _body(self, log: StreamLog, cursor: Cursor, named: bool) -> AsyncIterator[bytes]:
        sent = 0
        try:
            if self.retry_ms is not None:  # how long EventSource waits before reconnecting
                yield f": relay connected\nretry: {self.retry_ms}\n\n".encode()
            async for ev in self._follow(log, cursor):
                if ev is None:
                    yield b": keep-alive\n\n"
                    continue
                yield ev.frame()
                sent += 1
                last = log.finished and ev.id == log.next_id - 1
                if self.drop_after is not None and sent >= self.drop_after and not last:
                    return  # the connection "drops"; EventSource will reconnect
        finally:
            log.close(cursor)
            self._reader_left(log, named)

    async def _ui_body(self, log: StreamLog, cursor: Cursor) -> AsyncIterator[bytes]:
        encoder = UIMessageStreamEncoder()
        try:
            async for ev in self._follow(log, cursor):
                if ev is None:
                    yield b": keep-alive\n\n"
                    continue
                for chunk in _ui_chunks(encoder, ev):
                    yield encoder.frame(chunk)
            yield DONE
        finally:
            log.close(cursor)
            self._reader_left(log, named=False)

    # ------------------------------------------------------------------ HTTP

    def _stream_response(
        self, request: Request, stream_id: str | None, prompt: str | None, *, join: bool = False
    ) -> Response:
        """Start or join (``join``: only join) a stream; resume after ``Last-Event-ID``."""
        try:
            last = parse_last_event_id(request.headers.get("last-event-id"))
        except ValueError as exc:
            raise RelayError(400, str(exc)) from None
        if stream_id is not None and not _STREAM_ID.fullmatch(stream_id):
            raise RelayError(
                400, "a stream id is 1 to 128 letters, digits, '-' or '_' (pick a random one)"
            )
        log = self.logs.get(stream_id) if stream_id else None
        if log is None:
            if join:
                raise RelayError(404, f"no stream {stream_id!r}: start one with POST /streams")
            log = self.start(stream_id or uuid.uuid4().hex, prompt or DEFAULT_PROMPT)
            last = None
        else:
            if prompt is not None and prompt != log.prompt:
                raise RelayError(
                    409,
                    f"stream {stream_id!r} answers another prompt: use a new stream id "
                    "for a new question",
                )
            if log.finished and last is not None and last == log.next_id - 1:
                return Response(status_code=204)  # nothing more: EventSource stops
        try:
            cursor = log.open(last)
        except ResumeGone as exc:
            raise RelayError(410, str(exc)) from None
        except ValueError as exc:
            raise RelayError(400, str(exc)) from None
        named = bool(stream_id) or join
        response = StreamingResponse(self._body(log, cursor, named), headers=self.headers)
        response.headers["X-Stream-Id"] = log.id
        return response

    async def _json_object(self, request: Request) -> dict[str, Any]:
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body_bytes:
                raise RelayError(413, f"the request body is over {self.max_body_bytes} bytes")
        try:
            value = json.loads(body)
        except (ValueError, RecursionError):
            raise RelayError(400, 'the body is not JSON: send an object, {"text": "..."}') from None
        if not isinstance(value, dict):
            raise RelayError(
                400,
                f'the body is JSON {type(value).__name__}, not an object: send {{"text": "..."}}',
            )
        return value

    @staticmethod
    def _field(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
        value = body.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise RelayError(400, f"{name!r} should be a string, not {type(value).__name__}")
        return value

    def _log(self, request: Request) -> StreamLog:
        stream_id = request.path_params["stream_id"]
        log = self.logs.get(stream_id)
        if log is None:
            raise RelayError(404, f"no stream {stream_id!r} (finished long ago, or never started)")
        return log

    async def get_events(self, request: Request) -> Response:
        """``GET /events?prompt=...&stream=ID``: for ``EventSource``."""
        q = request.query_params
        stream_id = q.get("stream") or None
        prompt = q.get("prompt")
        if prompt is None and (stream_id is None or stream_id not in self.logs):
            prompt = DEFAULT_PROMPT
        return self._stream_response(request, stream_id, prompt)

    async def post_events(self, request: Request) -> Response:
        """``POST /events`` with ``{"prompt", "stream"?}``: for ``fetch()`` clients."""
        body = await self._json_object(request)
        prompt = self._field(body, "prompt", required=True)
        return self._stream_response(request, self._field(body, "stream"), prompt)

    async def create_stream(self, request: Request) -> Response:
        """``POST /streams`` with ``{"prompt"}``: start now, read with ``GET /streams/{id}/events``."""
        body = await self._json_object(request)
        prompt = self._field(body, "prompt", required=True)
        log = self.start(uuid.uuid4().hex, prompt or DEFAULT_PROMPT)
        if self.cancel_on_disconnect:  # nobody may ever come to read it
            self._reader_left_later(log)
        url = f"streams/{log.id}/events"
        return JSONResponse({"id": log.id, "events": url}, status_code=201)

    def _reader_left_later(self, log: StreamLog) -> None:
        self._reader_left(log, named=True)  # as if a reader had just left: wait the grace period

    async def stream_events(self, request: Request) -> Response:
        """``GET /streams/{id}/events``: read or resume a stream started by ``POST /streams``."""
        return self._stream_response(request, request.path_params["stream_id"], None, join=True)

    async def ui_chat(self, request: Request) -> Response:
        """``POST /api/chat``: the AI SDK's chat request in, its UI message stream out.

        Takes what ``DefaultChatTransport`` sends (``{"id", "messages":
        [UIMessage...], "trigger", "messageId"}``; the prompt is the text of
        the last user message) or ``{"prompt": ...}``.
        """
        prompt = _chat_prompt(await self._json_object(request))
        log = self.start(uuid.uuid4().hex, prompt)
        cursor = log.open(None)
        response = StreamingResponse(self._ui_body(log, cursor), headers=UI_STREAM_HEADERS)
        response.headers["X-Stream-Id"] = log.id
        return response

    async def stop_stream(self, request: Request) -> Response:
        """``POST /streams/{id}/stop``: cancel the generation."""
        log = self._log(request)
        return JSONResponse({"stopped": self.stop(log.id)})

    async def feedback(self, request: Request) -> Response:
        """``POST /streams/{id}/feedback`` with ``{"text"}``: an ``ack`` event in the stream."""
        log = self._log(request)
        text = self._field(await self._json_object(request), "text") or ""
        if not log.finished:
            log.append("ack", {"text": text})
        return JSONResponse({"received": text, "finished": log.finished})

    async def page(self, request: Request) -> Response:
        """``GET /``: the browser page (EventSource and fetch clients)."""
        html = resources.files("streamlab").joinpath("static/eventsource.html").read_text()
        return HTMLResponse(html)

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        """Stop what still runs, and close the source, when the server stops."""
        yield
        for task in self.tasks.values():
            if not task.done():
                task.cancel()
        close = getattr(self.source, "aclose", None)
        if close is not None:
            await close()

    def app(self) -> Starlette:
        """The Starlette app; ``app.state.relay`` is this relay."""

        async def refused(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, RelayError)
            return JSONResponse({"error": exc.message}, status_code=exc.status)

        app = Starlette(
            lifespan=self.lifespan,
            routes=[
                Route("/", self.page),
                Route("/events", self.get_events, methods=["GET"]),
                Route("/events", self.post_events, methods=["POST"]),
                Route("/streams", self.create_stream, methods=["POST"]),
                Route("/api/chat", self.ui_chat, methods=["POST"]),
                Route("/streams/{stream_id}/events", self.stream_events, methods=["GET"]),
                Route("/streams/{stream_id}/stop", self.stop_stream, methods=["POST"]),
                Route("/streams/{stream_id}/feedback", self.feedback, methods=["POST"]),
            ],
            exception_handlers={RelayError: refused},
        )
        app.state.relay = self
        app.state.stats = self.stats
        app.state.logs = self.logs
        return app


def _relay_event(item: Any) -> tuple[str, dict[str, Any]]:
    """A source's item (text, or a neutral event) as the relay's event name and payload."""
    match item:
        case str():
            return "delta", {"text": item}
        case TextDelta(text=text):
            return "delta", {"text": text}
        case ReasoningDelta(text=text):
            return "reasoning", {"text": text}
        case ToolCallStart(index=i, id=call_id, name=name):
            return "tool_call_start", {"index": i, "id": call_id, "name": name}
        case ToolCallDelta(index=i, id=call_id, arguments_delta=delta):
            return "tool_call_delta", {"index": i, "id": call_id, "arguments_delta": delta}
        case ToolCallDone(index=i, id=call_id, name=name, arguments=args):
            return "tool_call", {"index": i, "id": call_id, "name": name, "arguments": args}
    raise TypeError(
        f"a relay source yields str or streamlab.events, not {type(item).__name__}: {item!r:.80}"
    )


def _ui_chunks(encoder: UIMessageStreamEncoder, ev: LogEvent) -> list[dict[str, Any]]:
    """The UI message chunks for one logged event."""
    if ev.event == "ack":
        return []  # feedback is the relay's own business, not the AI SDK's
    if ev.event != "done":
        return encoder.feed(ev.item if ev.item is not None else ev.data.get("text", ""))
    reason = ev.data["reason"]
    if reason == "completed":
        return encoder.feed(ev.item) if isinstance(ev.item, StreamEnd) else encoder.close()
    if reason == "error":
        return encoder.fail(ev.data["message"])
    return encoder.abort(reason)


def _chat_prompt(body: dict[str, Any]) -> str:
    """The prompt of an AI SDK chat request (or of ``{"prompt": ...}``)."""
    if isinstance(body.get("prompt"), str):
        return body["prompt"]
    messages = body.get("messages")
    if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
        raise RelayError(400, 'send {"messages": [UIMessage, ...]} (as useChat does) or {"prompt"}')
    for message in reversed(messages):
        if message.get("role") == "user" and isinstance(message.get("parts"), list):
            texts = [
                p["text"]
                for p in message["parts"]
                if isinstance(p, dict)
                and p.get("type") == "text"
                and isinstance(p.get("text"), str)
            ]
            if texts:
                return "".join(texts)
    raise RelayError(400, "no user message with a text part in 'messages'")


def create_relay_app(source: DeltaSource | None = None, **options: Any) -> Starlette:
    """A Starlette app that relays ``source``'s deltas to browsers as SSE.

    ``options`` are :class:`Relay`'s. ``app.state.relay`` is the relay,
    ``app.state.stats`` its :class:`RelayStats`.
    """
    return Relay(source, **options).app()
