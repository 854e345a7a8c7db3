"""OpenAI Responses API, WebSocket mode: ``WS /v1/responses``.

What ``client.responses.connect()`` of the openai SDK speaks (sync and
async). One connection carries many responses; each JSON text frame from the
client is an event:

- ``response.create``: the fields of ``POST /v1/responses`` (``stream`` is
  implicit), plus ``stream_id``, the *lane*: creates on one lane run one
  after the other (FIFO), lanes run side by side, and every event of a
  response echoes its ``stream_id``. The events are the ones the SSE stream
  sends, made by the same code (``plan_response`` in ``openai_responses``),
  each as one text frame, paced the same way.
- ``response.steer`` ``{input, previous_response_id}``: queue user input for
  the response that is streaming. ``response.steer.accepted`` says the server
  owns it; the response then ends at the next safe boundary (before a
  text delta that starts a new word) with ``response.incomplete``,
  ``incomplete_details.reason: "steered"``, and an automatic successor follows on the same lane: its
  ``response.created`` (``previous_response_id`` = the steered one, same
  settings, the queued input as its input) is the commit point. Input that
  arrives when the deltas are over still gets a successor, after
  ``response.completed``. ``response.steer.failed`` hands the input back with
  a code: ``invalid_input``, ``response_not_found``,
  ``steering_not_supported``, ``too_many_pending_steers``,
  ``response_already_completed``, ``successor_creation_failed``. A response
  that stops for client-owned tool output (a ``function_call`` item) gets
  ``response.steer.pending`` after ``response.completed``, with
  ``required_input`` stubs; the queued input is prepended to the next
  ``response.create`` whose ``previous_response_id`` names it.

``previous_response_id`` names a response created earlier on the same
connection; any other id is an ``error`` event (``previous_response_not_found``).

Errors are ``error`` events ``{"type": "error", "status": 400, "error":
{"type", "code", "message", "param"}}`` and the socket stays open: binary
frames, invalid JSON (NaN and Infinity included), an unknown ``type``, a
negative or out-of-range number, a request the HTTP endpoint would refuse.
The ``x-streamlab-*`` headers of the handshake (``connect(extra_headers=...)``)
set the pace and faults of every response on the connection; a
``drop-after`` fault closes the socket with code 1011 (which the SDK counts
as recoverable). A wrong API key refuses the handshake with HTTP 401. A
client that closes or loses the connection cancels what it was generating
(``stats["cancelled"]``).
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import itertools
import json
import math
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from starlette.websockets import WebSocket

from streamlab.provider.common import Answer, check_json, check_known_fields, controls
from streamlab.provider.common import field as body_field
from streamlab.provider.config import RequestControls
from streamlab.provider.endings import ending_from
from streamlab.provider.faults import ProviderError, request_id
from streamlab.provider.openai_responses import ResponseTurn, plan_response
from streamlab.provider.prompt_cache import cache_for
from streamlab.provider.streaming import Frame, FrameStream, Stats
from streamlab.sse import SSEDecoder

_TEXT_DELTA = b"event: response.output_text.delta\n"
_TERMINAL = ("response.completed", "response.incomplete", "response.failed")
_MAX_STEERS = 16  # queued inputs per response before too_many_pending_steers
_REMEMBERED = 256  # responses a connection keeps for previous_response_id
_MAX_LANES = 16  # stream_id lanes per connection (each runs a task)
_MAX_QUEUED = 32  # responses waiting on one lane
# Numbers a response.create may carry: (lowest, highest) allowed.
_RANGES = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "top_logprobs": (0, 20),
    "max_tool_calls": (1, math.inf),
}


class FrameError(ProviderError):
    """A client frame the server cannot use; answered with an ``error`` event."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is too large for a float")
    return value


def parse_frame(text: str) -> dict[str, Any]:
    """A client frame as an event object, or :class:`FrameError` saying what is wrong."""
    try:
        event = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise FrameError(
            400,
            f"Invalid JSON in WebSocket message: {exc}. Send each event as one JSON object.",
            code="invalid_json",
        ) from None
    if not isinstance(event, dict):
        raise FrameError(
            400,
            f"A WebSocket message must be a JSON object, got {type(event).__name__}.",
            code="invalid_json",
        )
    # A lone surrogate anywhere (input, stream_id, steering input) cannot be
    # encoded again: refused here, before anything echoes it or generates from it.
    check_json(event)
    kind = event.get("type")
    if kind not in ("response.create", "response.steer"):
        raise FrameError(
            400,
            f"Unknown event type {kind!r}: send 'response.create' or 'response.steer'.",
            param="type",
            code="unknown_event_type",
        )
    return event


def _check_numbers(body: dict[str, Any]) -> None:
    for name, (lo, hi) in _RANGES.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise FrameError(400, f"Invalid type for '{name}': expected a number.", param=name)
        if not lo <= value <= hi:
            raise FrameError(
                400,
                f"Invalid '{name}': {value} is out of range; expected {lo} to {hi}.",
                param=name,
                code="invalid_value",
            )


def _steer_problem(value: Any) -> str | None:
    """Why ``value`` is not valid steering input (``None`` when it is)."""
    if isinstance(value, str):
        return None if value else "input is an empty string"
    if not isinstance(value, list) or not value:
        return "input must be a string or a non-empty array of user messages"
    for i, item in enumerate(value):
        if not isinstance(item, dict) or item.get("role") != "user":
            return f"input[{i}] must be a message with role 'user'"
        if set(item) - {"type", "role", "content"} or item.get("type", "message") != "message":
            return f"input[{i}] may have only type 'message', role and content"
        content = item.get("content")
        parts_ok = isinstance(content, list) and all(
            isinstance(p, dict) and p.get("type") in ("input_text", "input_image", "input_file")
            for p in content
        )
        if not isinstance(content, str) and not parts_ok:
            return f"input[{i}].content must be a string or input_text/image/file parts"
    return None


def _as_items(value: Any) -> list[Any]:
    return (
        [{"type": "message", "role": "user", "content": value}] if isinstance(value, str) else value
    )


@dataclass
class _Steer:
    id: str
    input: Any
    previous_response_id: str


@dataclass
class _Run:
    """One response on a lane: its plan, the request it came from, its steering queue."""

    turn: ResponseTurn
    controls: RequestControls
    body: dict[str, Any]
    model: str
    stream_id: str | None
    seq: Iterator[int] = field(default_factory=itertools.count)
    steers: list[_Steer] = field(default_factory=list)
    final: dict[str, Any] | None = None
    accepting: bool = True  # until queued input has gone to a successor (or failed)

    @property
    def id(self) -> str:
        return str(self.turn.base["id"])

    def calls(self) -> list[dict[str, Any]]:
        """The client-owned tool calls the response stopped for."""
        out = (self.final or {}).get("output") or []
        return [i for i in out if isinstance(i, dict) and i.get("type") == "function_call"]


class _Session:
    """One WebSocket connection: its lanes, the responses it made, the steering queues."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.stats: Stats = ws.app.state.stats
        self.gone = asyncio.Event()
        self.lanes: dict[str | None, asyncio.Queue[_Run | None]] = {}
        self.workers: list[asyncio.Task[None]] = []
        self.runs: collections.OrderedDict[str, _Run] = collections.OrderedDict()
        self.lock = asyncio.Lock()

    # -- sending -------------------------------------------------------------

    async def send(self, event: dict[str, Any]) -> bool:
        """Send one event; False (and the session marked gone) if the client has left."""
        if self.gone.is_set():
            return False
        try:
            async with self.lock:
                await self.ws.send_text(json.dumps(event, ensure_ascii=False))
        except Exception:  # the client left: uvicorn raises on a closed socket
            self.gone.set()
            return False
        return True

    async def error(self, exc: ProviderError, stream_id: str | None = None) -> None:
        event: dict[str, Any] = {
            "type": "error",
            "status": exc.status,
            **exc.body("openai", request_id()),
        }
        if exc.headers:
            event["error"]["headers"] = dict(exc.headers)
        if stream_id is not None:
            event["stream_id"] = stream_id
        await self.send(event)

    async def emit(self, run: _Run, event: dict[str, Any]) -> bool:
        """Send an event of ``run``: numbered in its sequence, tagged with its lane."""
        event["sequence_number"] = next(run.seq)
        if run.stream_id is not None:
            event["stream_id"] = run.stream_id
        return await self.send(event)

    # -- receiving -----------------------------------------------------------

    async def serve(self) -> None:
        try:
            while True:
                message = await self.ws.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await self.handle(message)
        finally:
            self.gone.set()
            for queue in self.lanes.values():
                queue.put_nowait(None)
            # Each worker ends by itself: a streaming one once FrameStream has
            # seen the disconnect and counted the generation cancelled.
            await asyncio.gather(*self.workers, return_exceptions=True)

    async def handle(self, message: dict[str, Any]) -> None:
        text = message.get("text")
        event: dict[str, Any] = {}
        try:
            if text is None:
                raise FrameError(
                    400,
                    "Binary WebSocket messages are not supported: send each event as a "
                    "JSON text message.",
                    code="invalid_message",
                )
            event = parse_frame(text)
            if event["type"] == "response.steer":
                await self.steer(event)
            else:
                self.stats.requests += 1
                self.create(event)
        except ProviderError as exc:
            sid = event.get("stream_id")
            await self.error(exc, sid if isinstance(sid, str) else None)

    def create(self, event: dict[str, Any]) -> None:
        stream_id = body_field(event, "stream_id", str)
        body = {k: v for k, v in event.items() if k not in ("type", "stream_id", "stream")}
        if body.get("background"):
            raise FrameError(400, "background is not supported over WebSocket.", param="background")
        if body.get("generate") is False:
            raise FrameError(
                400,
                "generate: false is not supported by the local provider.",
                param="generate",
                code="unsupported_parameter",
            )
        body.pop("generate", None)
        _check_numbers(body)
        check_known_fields(body, "openai")
        model = body_field(body, "model", str, required=True)
        prev_id = body_field(body, "previous_response_id", str)
        if prev_id is not None:
            prev = self.runs.get(prev_id)
            if prev is None or prev.final is None:
                raise FrameError(
                    400,
                    f"Previous response with id '{prev_id}' not found on this connection "
                    "(or still streaming).",
                    param="previous_response_id",
                    code="previous_response_not_found",
                )
            if prev.accepting and prev.steers:  # pending input waits for this request
                items = [x for s in prev.steers for x in _as_items(s.input)]
                prev.steers, prev.accepting = [], False
                body["input"] = items + _as_items(body_field(body, "input", (str, list)) or [])
            calls = frozenset(str(c.get("call_id")) for c in prev.calls())
            try:
                run = self.new_run(body, model, stream_id, calls)
            except ProviderError:
                # The real WebSocket mode evicts the cached response on a bad continuation:
                # a retry naming it gets previous_response_not_found.
                self.runs.pop(prev_id, None)
                raise
            self.enqueue(run)
            return
        self.enqueue(self.new_run(body, model, stream_id))

    def new_run(
        self,
        body: dict[str, Any],
        model: str,
        stream_id: str | None,
        prev_calls: frozenset[str] | None = None,
    ) -> _Run:
        """The response to ``body``, under the controls the handshake's headers set."""
        ws = self.ws
        c = controls(ws)  # type: ignore[arg-type]  # a WebSocket has the headers and app too
        ending = ending_from(ws.headers, "responses")
        turn = plan_response(body, c, model=model, ending=ending, prev_calls=prev_calls)
        turn.cached_tokens = cache_for(ws.app).openai(turn.prompt_text, turn.input_tokens)
        return _Run(turn, c, body, model, stream_id)

    def enqueue(self, run: _Run) -> None:
        queue = self.lanes.get(run.stream_id)
        if queue is None and len(self.lanes) >= _MAX_LANES:
            raise FrameError(
                400,
                f"At most {_MAX_LANES} stream_id lanes per connection: reuse one, or open "
                "another connection.",
                param="stream_id",
            )
        if queue is not None and queue.qsize() >= _MAX_QUEUED:
            raise FrameError(
                429,
                f"{_MAX_QUEUED} responses are already waiting on this lane: wait for some "
                "to finish.",
                code="rate_limit_exceeded",
            )
        if queue is None:
            queue = self.lanes[run.stream_id] = asyncio.Queue()
            self.workers.append(asyncio.create_task(self.lane(queue)))
        queue.put_nowait(run)

    # -- a lane: its responses one after the other ---------------------------

    async def lane(self, queue: asyncio.Queue[_Run | None]) -> None:
        while not self.gone.is_set():
            run = await queue.get()
            while run is not None and not self.gone.is_set():
                self.remember(run)
                if not await self.stream(run):
                    return
                run = await self.after(run)

    def remember(self, run: _Run) -> None:
        self.runs[run.id] = run
        while len(self.runs) > _REMEMBERED:
            self.runs.popitem(last=False)

    async def stream(self, run: _Run) -> bool:
        """Stream ``run`` through the same engine as SSE; False if the socket went away."""
        decoder = SSEDecoder()
        ended = asyncio.Event()
        turn = run.turn

        async def send(message: dict[str, Any]) -> None:
            if message["type"] != "http.response.body":
                return
            for sse in decoder.feed(message.get("body", b"")):
                event = json.loads(sse.data)
                if event["type"] == "error" and "error" not in event:
                    # The SSE stream's error event has its fields at the top level;
                    # the WebSocket mode nests them, like its protocol errors.
                    nested = {k: event.get(k) for k in ("code", "message", "param")}
                    event = {"type": "error", "error": {"type": "server_error", **nested}}
                if event["type"] in _TERMINAL:
                    run.final = event["response"]
                if not await self.emit(run, event):
                    await asyncio.get_running_loop().create_future()  # wait to be cancelled
            if not message.get("more_body", False):
                ended.set()
            await asyncio.sleep(0)  # let steering and disconnects in between events

        async def receive() -> dict[str, Any]:
            await self.gone.wait()
            return {"type": "http.disconnect"}

        c = run.controls
        engine = FrameStream(
            self.steerable(run), turn.n_units, c, on_error=turn.error_frames, rng_seed=c.seed
        )
        await engine(self.ws.scope, receive, send)
        if self.gone.is_set():
            return False
        if not ended.is_set():  # a drop-after fault: the connection "breaks"
            self.gone.set()
            await self.ws.close(code=1011, reason="connection dropped (simulated by streamlab)")
            return False
        return True

    def steerable(self, run: _Run) -> Iterator[Frame]:
        """The response's frames, cut at the next word boundary once input is queued."""
        sent = texts = 0
        turn = run.turn
        for data, token in turn.frames():
            if data.startswith(_TEXT_DELTA) and turn.answer is not None:
                a = turn.answer
                # A safe boundary: before a delta that starts a new word.
                if run.steers and (texts == 0 or a.tokens[texts][:1].isspace()):
                    cut = Answer(a.tokens[:texts], "steered", None, a.input_tokens)
                    # Same events up to here; from here, those of the cut answer.
                    tail = dataclasses.replace(turn, answer=cut).frames()
                    yield from itertools.islice(tail, sent, None)
                    return
                texts += 1
            sent += 1
            yield data, token

    async def after(self, run: _Run) -> _Run | None:
        """What follows a finished response: its successor, pending steers, or nothing."""
        status = (run.final or {}).get("status")
        waits = status == "completed" and bool(run.calls())
        if not run.steers or waits:
            # Input steered into a response that waits for tool output stays
            # queued until a response.create names it; otherwise it is over.
            run.accepting = waits
            for s in run.steers:
                await self.emit(run, self.pending(s, self.stubs(run)))
            return None
        queued, run.steers, run.accepting = run.steers, [], False
        if status not in ("completed", "incomplete"):
            for s in queued:
                await self.failed(run, s, "successor_creation_failed", "The response failed.")
            return None
        body = {
            **run.body,
            "input": [x for s in queued for x in _as_items(s.input)],
            "previous_response_id": run.id,
        }
        try:
            return self.new_run(body, run.model, run.stream_id)
        except ProviderError as exc:
            for s in queued:
                await self.failed(run, s, "successor_creation_failed", exc.message)
            return None

    # -- steering ------------------------------------------------------------

    @staticmethod
    def stubs(run: _Run) -> list[dict[str, Any]]:
        """The ``required_input`` of a response that waits for tool output."""
        return [
            {"type": "function_call_output", "call_id": c["call_id"], "name": c["name"]}
            for c in run.calls()
        ]

    @staticmethod
    def pending(s: _Steer, stubs: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "type": "response.steer.pending",
            "reason": "waiting_for_required_input",
            "required_input": stubs,
            "steer": {"id": s.id, "previous_response_id": s.previous_response_id},
        }

    async def failed(self, run: _Run | None, s: _Steer, code: str, message: str) -> None:
        event = {
            "type": "response.steer.failed",
            "error": {"type": "invalid_request_error", "code": code, "message": message},
            "steer": {"input": s.input, "previous_response_id": s.previous_response_id},
        }
        if s.id:
            event["steer"]["id"] = s.id
        if run is None:
            await self.send({**event, "sequence_number": 0})
        else:
            await self.emit(run, event)

    async def steer(self, event: dict[str, Any]) -> None:
        prev = event.get("previous_response_id")
        s = _Steer("", event.get("input"), prev if isinstance(prev, str) else "")
        run = self.runs.get(s.previous_response_id)
        extra = set(event) - {"type", "input", "previous_response_id"}
        problem = (
            f"response.steer accepts only type, previous_response_id and input, not {sorted(extra)}"
            " (the target response determines the lane)"
            if extra
            else "previous_response_id must be a response id"
            if not isinstance(prev, str)
            else _steer_problem(s.input)
        )
        if problem:
            return await self.failed(run, s, "invalid_input", problem)
        if run is None:
            return await self.failed(
                None, s, "response_not_found", f"No response {prev!r} on this connection."
            )
        if "conversation" in run.body or "context_management" in run.body:
            return await self.failed(
                run,
                s,
                "steering_not_supported",
                "Responses bound to a conversation or using "
                "automatic compaction do not support steering.",
            )
        if not run.accepting:
            return await self.failed(
                run,
                s,
                "response_already_completed",
                "The response is no longer accepting "
                "steering input: send a new response.create with previous_response_id.",
            )
        if len(run.steers) >= _MAX_STEERS:
            return await self.failed(
                run, s, "too_many_pending_steers", f"At most {_MAX_STEERS} inputs may be queued."
            )
        s.id = "steer_" + secrets.token_hex(12)
        run.steers.append(s)
        accepted = {"id": s.id, "previous_response_id": s.previous_response_id}
        await self.emit(run, {"type": "response.steer.accepted", "steer": accepted})
        if run.final is not None and run.calls():  # it already waits for tool output
            await self.emit(run, self.pending(s, self.stubs(run)))


async def responses_websocket(ws: WebSocket) -> None:
    """``WS /v1/responses``: the Responses API's WebSocket mode (see the module docstring)."""
    from streamlab.provider.app import check_key  # app imports this module

    try:
        check_key(ws)  # type: ignore[arg-type]  # a WebSocket has the headers and app too
    except ProviderError as exc:
        await ws.send_denial_response(exc.response("openai"))
        return
    await ws.accept()
    await _Session(ws).serve()
