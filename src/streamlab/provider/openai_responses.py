"""OpenAI Responses API: ``POST /v1/responses``, streamed and not.

Streamed events, in the real order, each with ``sequence_number`` from 0::

    response.created, response.in_progress,
    [reasoning item]   response.output_item.added (type reasoning),
                       per summary part: response.reasoning_summary_part.added,
                       response.reasoning_summary_text.delta ..., ...text.done,
                       response.reasoning_summary_part.done;
                       response.output_item.done (encrypted_content, when included,
                       already on added)
    [message item]     response.output_item.added, response.content_part.added,
                       response.output_text.delta (one per token) ... (or
                       response.refusal.delta ...), response.output_text.done
                       (response.refusal.done), response.content_part.done,
                       response.output_item.done
    [function calls]   per call: response.output_item.added (function_call,
                       arguments ""), response.function_call_arguments.delta ...,
                       response.function_call_arguments.done, response.output_item.done
    response.completed (or response.incomplete / response.failed)

Each event is sent with an ``event:`` line naming its type, as the real API
does (the SDK dispatches on the JSON ``type`` field). There is no ``[DONE]``.
Delta events carry ``obfuscation`` unless ``stream_options.include_obfuscation``
is false; ``service_tier`` is the requested tier until the terminal event,
which says the resolved one.

``plan_response(body, controls)`` turns a request body into a
``ResponseTurn`` whose ``frames(encoder)`` are the events: the HTTP endpoint
sends them as SSE, and so does the WebSocket mode (``openai_responses_ws``)
into the same engine, one message per event. A turn whose answer is cut
with ``finish="steered"`` ends ``response.incomplete`` with reason
``steered``; its events begin exactly like the uncut turn's.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.requests import Request

from streamlab.provider import background
from streamlab.provider import tools as T
from streamlab.provider.common import (
    SERVICE_TIERS,
    Answer,
    controls,
    field,
    make_answer,
    new_id,
    now,
    off_loop,
    positive_int,
    request_body,
    resolved_tier,
    respond,
    stream_options,
    text_of,
)
from streamlab.provider.config import RequestControls
from streamlab.provider.endings import REFUSAL_TEXT, Ending, ending_from
from streamlab.provider.faults import ProviderError, stream_error_frame
from streamlab.provider.frames import DeltaFrames, obfuscation
from streamlab.provider.generation import count_tokens, tokenize
from streamlab.provider.prompt_cache import cache_for
from streamlab.provider.prompted import prompted_schema
from streamlab.provider.reasoning import EFFORT_SLOTS, Reasoning, make_reasoning, spread
from streamlab.provider.streaming import Frame
from streamlab.sse import encode_event

_ENCRYPTED = "reasoning.encrypted_content"


# -- encoders: the same events as SSE (HTTP) or as bare JSON (WebSocket) --------


class Encoder(Protocol):
    def event(self, payload: dict[str, Any]) -> bytes: ...

    def deltas(
        self, payload: dict[str, Any], *, obfuscate: bool = False
    ) -> Callable[[str, int], bytes]:
        """A maker of delta events like ``payload`` (``delta`` and ``sequence_number`` vary;
        ``obfuscate``: with the ``obfuscation`` padding of each delta)."""
        ...


class SSEEncoder:
    """Each event as an SSE frame with an ``event:`` line (deltas spliced, not re-encoded)."""

    def event(self, payload: dict[str, Any]) -> bytes:
        return encode_event(json.dumps(payload, ensure_ascii=False), event=payload["type"])

    def deltas(
        self, payload: dict[str, Any], *, obfuscate: bool = False
    ) -> Callable[[str, int], bytes]:
        extra = {"obfuscation": DeltaFrames.OBF} if obfuscate else {}
        return DeltaFrames(
            {**payload, "delta": DeltaFrames.TOKEN, **extra, "sequence_number": DeltaFrames.SEQ},
            event=payload["type"],
        )


class JSONEncoder:
    """Each event as bare JSON bytes (one WebSocket text message per event)."""

    def event(self, payload: dict[str, Any]) -> bytes:
        return json.dumps(payload, ensure_ascii=False).encode()

    def deltas(
        self, payload: dict[str, Any], *, obfuscate: bool = False
    ) -> Callable[[str, int], bytes]:
        if obfuscate:
            return lambda token, seq: self.event(
                {
                    **payload,
                    "delta": token,
                    "obfuscation": obfuscation(token),
                    "sequence_number": seq,
                }
            )
        return lambda token, seq: self.event({**payload, "delta": token, "sequence_number": seq})


SSE_ENCODER = SSEEncoder()
JSON_ENCODER = JSONEncoder()


# -- the request ------------------------------------------------------------------


@dataclass
class ResponseRequest:
    """A checked Responses request body."""

    body: dict[str, Any]
    model: str
    history: T.History
    max_out: int | None
    stream: bool
    json_mode: str | None
    schema: dict[str, Any] | None
    fmt: dict[str, Any]
    tools: list[T.Tool]
    choice: T.ToolChoice
    parallel: bool
    reasoning: dict[str, Any] | None
    include_encrypted: bool
    echo: dict[str, Any]
    obfuscate: bool = True
    service_tier: str = "auto"


def _history(body: dict[str, Any], prev_calls: frozenset[str] | None = None) -> T.History:
    value = field(body, "input", (str, list), required=True)
    instructions = field(body, "instructions", (str, list))
    context = text_of(instructions, "instructions") if instructions is not None else ""
    if isinstance(value, str):
        return T.History(prompt=value, context=context)
    if not value:
        raise ProviderError(
            400,
            "Invalid 'input': empty array. Expected at least one input item.",
            param="input",
            code="empty_array",
        )
    h = T.History(context=context)
    names: dict[str, str] = {}
    # After previous_response_id a call may be in that response: known to this server, it
    # must be there; an id this server never made (another server's) is trusted.
    trust_ids = body.get("previous_response_id") is not None and prev_calls is None
    for i, item in enumerate(value):
        where = f"input[{i}]"
        if not isinstance(item, dict):
            raise ProviderError(
                400,
                f"Invalid '{where}': expected an object with 'role' and 'content'.",
                param=where,
                code="invalid_type",
            )
        kind = item.get("type", "message")
        if kind == "message" and "content" in item:
            role = item.get("role", "user")
            text = text_of(item["content"], f"{where}.content")
            if role == "user" and text:
                h.prompt, h.called, h.results = text, [], []
            elif role in ("system", "developer"):
                h.context += ("\n" if h.context else "") + text
        elif kind == "function_call":
            cid, name = item.get("call_id"), item.get("name")
            if not isinstance(cid, str) or not isinstance(name, str):
                raise ProviderError(
                    400,
                    f"Invalid '{where}': a function_call item needs string 'call_id' and 'name'.",
                    param=where,
                )
            names[cid] = name
            h.called.append(name)
        elif kind == "function_call_output":
            cid = item.get("call_id")
            known = isinstance(cid, str) and (cid in names or cid in (prev_calls or ()))
            if not known and prev_calls is not None:
                raise ProviderError(
                    400,
                    f"No tool call found for function call output with call_id {cid}.",
                    param="input",
                )
            if not known and not trust_ids:
                raise T.unknown_call(
                    f"{where}.call_id",
                    cid,
                    "Each function_call_output needs the function_call item with the same "
                    "call_id earlier in 'input' (or a previous_response_id).",
                )
            h.results.append(
                T.ToolResult(str(cid), names.get(str(cid)), T.content_text(item.get("output")))
            )
    return h


def _tools(body: dict[str, Any]) -> list[T.Tool]:
    raw = field(body, "tools", list, default=[])
    out = []
    for i, t in enumerate(raw):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise ProviderError(400, f"Invalid '{where}': expected an object.", param=where)
        if t.get("type") != "function":
            raise T.unsupported_tool(where, t.get("type"))
        out.append(
            T.make_tool(
                where, t.get("name"), t.get("description"), t.get("parameters"), "parameters"
            )
        )
    return T.check_unique(out, "tools")


def _choice(body: dict[str, Any], tools: list[T.Tool]) -> tuple[T.ToolChoice, list[T.Tool]]:
    raw = body.get("tool_choice")
    if raw is None or raw == "auto":
        return T.ToolChoice("auto"), tools
    if raw in ("none", "required"):
        return T.ToolChoice(raw), tools
    if isinstance(raw, dict) and raw.get("type") == "function":
        return T.named_choice(tools, raw.get("name"), "tool_choice.name"), tools
    if isinstance(raw, dict) and raw.get("type") == "allowed_tools":
        allowed = {
            t.get("name") for t in T.listed(raw, "tools", "tool_choice") if isinstance(t, dict)
        }
        mode = raw.get("mode", "auto")
        if mode not in ("auto", "required"):
            raise ProviderError(
                400,
                "Invalid 'tool_choice.mode': expected 'auto' or 'required'.",
                param="tool_choice.mode",
            )
        return T.ToolChoice(mode), [t for t in tools if t.name in allowed]
    if isinstance(raw, dict):
        raise T.unsupported_tool("tool_choice", raw.get("type"))
    raise ProviderError(
        400,
        f"Invalid 'tool_choice': expected 'none', 'auto', 'required' or "
        f"{{'type': 'function', 'name': ...}}, got {json.dumps(raw)[:60]}.",
        param="tool_choice",
    )


def _text_format(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None, dict[str, Any]]:
    text = field(body, "text", dict, default={})
    fmt = text.get("format") or {"type": "text"}
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise ProviderError(
            400,
            "Invalid 'text.format': expected type 'text', 'json_object' or 'json_schema'.",
            param="text.format",
        )
    if fmt["type"] == "json_schema":
        if not isinstance(fmt.get("schema"), dict):
            raise ProviderError(
                400,
                "Missing required parameter: 'text.format.schema'.",
                param="text.format.schema",
                code="missing_required_parameter",
            )
        return "json_schema", fmt["schema"], fmt
    return (None if fmt["type"] == "text" else fmt["type"]), None, fmt


def _reasoning(body: dict[str, Any]) -> dict[str, Any] | None:
    cfg = field(body, "reasoning", dict)
    if cfg is None:
        return None
    effort = cfg.get("effort")
    summary = cfg.get("summary") if "summary" in cfg else cfg.get("generate_summary")
    if effort is not None and (not isinstance(effort, str) or effort not in EFFORT_SLOTS):
        raise ProviderError(
            400,
            f"Invalid 'reasoning.effort': {json.dumps(effort)[:40]}; expected one of "
            f"{', '.join(EFFORT_SLOTS)}.",
            param="reasoning.effort",
        )
    if summary is not None and (not isinstance(summary, str) or summary not in T.SUMMARIES):
        raise ProviderError(
            400,
            "Invalid 'reasoning.summary': expected 'auto', 'concise' or 'detailed'.",
            param="reasoning.summary",
        )
    return {"effort": effort or "medium", "summary": summary}


def parse_request(
    body: dict[str, Any], model: str, prev_calls: frozenset[str] | None = None
) -> ResponseRequest:
    """Check a Responses body; a provider-shaped 400 names the first bad field.

    ``prev_calls``: the call ids of the ``previous_response_id`` response, when known.
    """
    history = _history(body, prev_calls)
    max_out = positive_int(body, "max_output_tokens")
    stream = field(body, "stream", bool, default=False)
    json_mode, schema, fmt = _text_format(body)
    if json_mode == "json_object":
        schema = prompted_schema(history.context)
        json_mode = "json_schema" if schema is not None else json_mode
    tools = _tools(body)
    choice, usable = _choice(body, tools)
    parallel = field(body, "parallel_tool_calls", bool, default=True)
    include = field(body, "include", list, default=[])
    reasoning = _reasoning(body)
    options = stream_options(body, True)  # also sent over WebSocket, where stream is implied
    tier = field(body, "service_tier", str) or "auto"
    if tier not in SERVICE_TIERS:
        raise ProviderError(
            400,
            f"Invalid 'service_tier': {tier!r}; expected one of {', '.join(SERVICE_TIERS)}.",
            param="service_tier",
        )
    echo = {
        "tools": [
            {
                "type": "function",
                "name": t.name,
                "description": t.description or None,
                "parameters": t.parameters,
                "strict": next(
                    (r.get("strict", True) for r in body["tools"] if r.get("name") == t.name), True
                ),
            }
            for t in tools
        ],
        "tool_choice": body.get("tool_choice") or "auto",
        "parallel_tool_calls": parallel,
        "reasoning": reasoning or {"effort": None, "summary": None},
        "text": {"format": fmt, "verbosity": (body.get("text") or {}).get("verbosity", "medium")},
    }
    return ResponseRequest(
        body=body,
        model=model,
        history=history,
        max_out=max_out,
        stream=stream,
        json_mode=json_mode,
        schema=schema,
        fmt=fmt,
        tools=usable,
        choice=choice,
        parallel=parallel,
        reasoning=reasoning,
        include_encrypted=_ENCRYPTED in include,
        echo=echo,
        obfuscate=options.get("include_obfuscation", True),
        service_tier=tier,
    )


# -- the turn ---------------------------------------------------------------------


@dataclass
class ResponseTurn:
    """Everything one response says, and its events.

    ``n_units`` paced slots: reasoning, then answer tokens, then argument
    fragments.
    """

    req: ResponseRequest
    base: dict[str, Any]
    reasoning: Reasoning | None
    answer: Answer | None
    refusal: list[str] | None
    calls: list[T.ToolCall]
    ending: Ending | None
    ids: dict[str, str]
    cached_tokens: int = 0  # the prompt prefix an earlier request left in the cache

    @property
    def n_units(self) -> int:
        n = self.reasoning.slots if self.reasoning else 0
        n += len(self.answer.tokens) if self.answer else 0
        n += len(self.refusal or [])
        return n + sum(len(c.fragments) for c in self.calls)

    @property
    def status(self) -> str:
        if self.ending and self.ending.name == "failed":
            return "failed"
        if self.ending and self.ending.name == "content-filter":
            return "incomplete"
        cut = self.answer and self.answer.finish in ("length", "steered")
        return "incomplete" if cut else "completed"

    def _items(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.reasoning:
            out.append(self._reasoning_item(done=True))
        item_status = "completed" if self.status == "completed" else "incomplete"
        if self.refusal is not None:
            part = {"type": "refusal", "refusal": "".join(self.refusal)}
            out.append(_message(self.ids["msg"], item_status, [part], self.phase))
        elif self.answer is not None:
            out.append(
                _message(self.ids["msg"], item_status, [_part(self.answer.text)], self.phase)
            )
        for call in self.calls:
            fc_id = "fc_" + call.call_id.removeprefix("call_")
            out.append(_call_item(fc_id, call, "completed", call.arguments))
        return out

    @property
    def phase(self) -> str | None:
        """Message items of gpt-5.x models say which phase of the turn they are."""
        return "final_answer" if _has_phase(self.req.model) else None

    def _reasoning_item(self, *, done: bool) -> dict[str, Any]:
        assert self.reasoning
        item: dict[str, Any] = {
            "id": self.ids["rs"],
            "type": "reasoning",
            "summary": [
                {"type": "summary_text", "text": self.reasoning.text(i)}
                for i in range(len(self.reasoning.parts))
            ]
            if done
            else [],
        }
        if self.req.include_encrypted:  # already on output_item.added, as the real API sends it
            item["encrypted_content"] = self.reasoning.blob
        return item

    @property
    def prompt_text(self) -> str:
        """The text the prompt cache hashes (the text the input tokens count)."""
        return self.req.history.context + self.req.history.prompt

    @property
    def input_tokens(self) -> int:
        return self.answer.input_tokens if self.answer else _input_tokens(self.req.history)

    def usage(self) -> dict[str, Any]:
        reasoning = self.reasoning.tokens if self.reasoning else 0
        out = self.n_units
        inp = self.input_tokens
        return {
            "input_tokens": inp,
            "input_tokens_details": {"cached_tokens": min(self.cached_tokens, inp)},
            "output_tokens": out,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": inp + out,
        }

    def final(self) -> dict[str, Any]:
        """The whole Response object (the non-streamed body, and the last event's)."""
        status = self.status
        final = {
            **self.base,
            "service_tier": resolved_tier(self.req.service_tier),
            "status": status,
            "completed_at": now() if status == "completed" else None,
            "output": self._items(),
            "usage": self.usage(),
        }
        if status == "incomplete":
            reason = "content_filter" if self.ending else "max_output_tokens"
            if self.ending and self.ending.name == "max-tokens":
                reason = "max_output_tokens"
            if self.answer and self.answer.finish == "steered":  # the WebSocket mode's cut
                reason = "steered"
            final["incomplete_details"] = {"reason": reason}
        if status == "failed":
            final["error"] = {
                "code": "server_error",
                "message": "The model failed to generate a response. (simulated by streamlab)",
            }
        return final

    def error_events(self, k: int) -> list[dict[str, Any]]:
        """What an ``error-after=k`` fault sends: an ``error`` event, then ``response.failed``."""
        failed = {
            **self.base,
            "service_tier": resolved_tier(self.req.service_tier),
            "status": "failed",
            "error": {
                "code": "server_error",
                "message": "The server had an error while processing "
                "your request. (simulated by streamlab)",
            },
        }
        error = json.loads(stream_error_frame("responses", k).split(b"data: ", 1)[1])
        return [error, {"type": "response.failed", "response": failed, "sequence_number": k + 1}]

    def error_frames(self, k: int) -> bytes:
        """:meth:`error_events` as SSE bytes (the streaming engine's ``on_error``)."""
        return b"".join(SSE_ENCODER.event(e) for e in self.error_events(k))

    def frames(self, enc: Encoder = SSE_ENCODER) -> Iterator[Frame]:
        """The stream's events, with the paced slot of each (None: send at once)."""
        seq = itertools.count()
        final = self.final()

        def ev(payload: dict[str, Any], unit: int | None = None) -> Frame:
            payload["sequence_number"] = next(seq)
            return enc.event(payload), unit

        yield ev({"type": "response.created", "response": self.base})
        yield ev({"type": "response.in_progress", "response": self.base})
        unit = 0
        for index, item in enumerate(final["output"]):
            kind = item["type"]
            if kind == "reasoning":
                yield from self._reasoning_frames(ev, seq, enc, index, item)
                assert self.reasoning
                unit = self.reasoning.slots
            elif kind == "message":
                yield from self._message_frames(ev, seq, enc, index, item, unit)
                unit += len(self.refusal) if self.refusal is not None else len(self.answer.tokens)  # type: ignore[union-attr]
                if self.status == "failed":
                    break
            else:
                added = {**item, "status": "in_progress", "arguments": ""}
                yield ev(
                    {"type": "response.output_item.added", "output_index": index, "item": added}
                )
                make = enc.deltas(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item["id"],
                        "output_index": index,
                    },
                    obfuscate=self.req.obfuscate,
                )
                for piece in tokenize(item["arguments"]):
                    yield make(piece, next(seq)), unit
                    unit += 1
                yield ev(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": item["id"],
                        "output_index": index,
                        "arguments": item["arguments"],
                    }
                )
                yield ev({"type": "response.output_item.done", "output_index": index, "item": item})
        kind = {"failed": "response.failed", "incomplete": "response.incomplete"}.get(
            self.status, "response.completed"
        )
        yield ev({"type": kind, "response": final})

    def _reasoning_frames(
        self, ev: Any, seq: Any, enc: Encoder, index: int, item: dict[str, Any]
    ) -> Iterator[Frame]:
        r = self.reasoning
        assert r
        yield ev(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": self._reasoning_item(done=False),
            }
        )
        slots = iter(spread(sum(len(p) for p in r.parts), r.slots))
        where = {"item_id": item["id"], "output_index": index}
        for si, part in enumerate(r.parts):
            text = r.text(si)
            at = {**where, "summary_index": si}
            yield ev(
                {
                    "type": "response.reasoning_summary_part.added",
                    **at,
                    "part": {"type": "summary_text", "text": ""},
                }
            )
            make = enc.deltas(
                {"type": "response.reasoning_summary_text.delta", **at},
                obfuscate=self.req.obfuscate,
            )
            for token in part:
                yield make(token, next(seq)), next(slots)
            yield ev({"type": "response.reasoning_summary_text.done", **at, "text": text})
            yield ev(
                {
                    "type": "response.reasoning_summary_part.done",
                    **at,
                    "part": {"type": "summary_text", "text": text},
                }
            )
        # Hidden reasoning still takes its time: the item is done on its last slot.
        yield ev(
            {"type": "response.output_item.done", "output_index": index, "item": item},
            None if r.parts else r.slots - 1,
        )

    def _message_frames(
        self, ev: Any, seq: Any, enc: Encoder, index: int, item: dict[str, Any], unit: int
    ) -> Iterator[Frame]:
        refusing = self.refusal is not None
        yield ev(
            {
                "type": "response.output_item.added",
                "output_index": index,
                "item": _message(item["id"], "in_progress", [], self.phase),
            }
        )
        where = {"item_id": item["id"], "output_index": index, "content_index": 0}
        empty = {"type": "refusal", "refusal": ""} if refusing else _part("")
        yield ev({"type": "response.content_part.added", **where, "part": empty})
        if refusing:
            tokens = self.refusal or []
            make = enc.deltas(
                {"type": "response.refusal.delta", **where}, obfuscate=self.req.obfuscate
            )
        else:
            assert self.answer
            tokens = self.answer.tokens
            make = enc.deltas(
                {"type": "response.output_text.delta", **where, "logprobs": []},
                obfuscate=self.req.obfuscate,
            )
        for i, token in enumerate(tokens):
            yield make(token, next(seq)), unit + i
        if self.status == "failed":
            return
        text = "".join(tokens)
        if refusing:
            yield ev({"type": "response.refusal.done", **where, "refusal": text})
        else:
            yield ev({"type": "response.output_text.done", **where, "text": text, "logprobs": []})
        yield ev({"type": "response.content_part.done", **where, "part": item["content"][0]})
        yield ev({"type": "response.output_item.done", "output_index": index, "item": item})


def _has_phase(model: str) -> bool:
    """gpt-5.1 and later (gpt-5.5 ...) send ``phase``; gpt-5, gpt-4.1 and o-series do not."""
    return model.startswith("gpt-5.")


def _input_tokens(h: T.History) -> int:
    return max(1, count_tokens(h.context + h.prompt))


def plan_response(
    body: dict[str, Any],
    c: RequestControls,
    *,
    model: str | None = None,
    ending: Ending | None = None,
    prev_calls: frozenset[str] | None = None,
) -> ResponseTurn:
    """Body in, turn out: what the model says to this Responses request under ``c``.

    The same function serves HTTP (SSE) and a WebSocket ``response.create``;
    ``ending`` forces one of the endings in ``streamlab.provider.endings``.
    """
    req = parse_request(body, model or field(body, "model", str, required=True), prev_calls)
    return plan_turn(req, c, ending)


def plan_turn(req: ResponseRequest, c: RequestControls, ending: Ending | None) -> ResponseTurn:
    """The turn for a checked request (see :func:`plan_response`)."""
    h = req.history
    chosen = T.choose_calls(req.tools, req.choice, h, parallel=req.parallel)
    if ending and ending.name == "refusal":
        chosen = []
    calls = T.make_calls(chosen, h, c.seed, api="responses", id_prefix="call_")
    reasoning = None
    if req.reasoning and req.reasoning["effort"] != "none":
        summary = req.reasoning["summary"]
        plan = (
            f"I will call {', '.join(t.name for t in chosen)} to get what I need."
            if chosen
            else "The tool results are in; I can answer now."
            if h.results
            else "I will answer in a few clear sentences."
        )
        reasoning = make_reasoning(
            h.prompt,
            c.seed,
            slots=EFFORT_SLOTS[req.reasoning["effort"]],
            n_parts={"detailed": 2, "auto": 2, "concise": 1}.get(summary or "", 0),
            plan=plan,
            prefix="gAAAAAB",
        )
    answer = refusal = None
    if ending and ending.name == "refusal":
        refusal = tokenize(REFUSAL_TEXT)
    elif not calls:
        answer = make_answer(
            h.prompt,
            c.seed,
            max_tokens=req.max_out,
            json_mode=req.json_mode,
            schema=req.schema,
            context=h.context,
            length=c.length,
            text=T.result_text(h.results) if h.results else None,
        )
        if ending and ending.name in ("content-filter", "failed", "max-tokens"):
            cut = ending.cut(len(answer.tokens))
            finish = "length" if ending.name == "max-tokens" else answer.finish
            answer = Answer(answer.tokens[:cut], finish, None, answer.input_tokens)
    resp_id = new_id("resp")
    base = _base(req, resp_id)
    ids = {"resp": resp_id, "msg": new_id("msg"), "rs": new_id("rs")}
    return ResponseTurn(req, base, reasoning, answer, refusal, calls, ending, ids)


async def create_response(request: Request) -> Any:
    body, model = await request_body(request)

    prev = body.get("previous_response_id")
    prev_calls = _stored_calls(request.app).get(prev) if isinstance(prev, str) else None

    def plan() -> tuple[RequestControls, ResponseTurn]:
        # a bad body is a 400 before the controls are read
        req = parse_request(body, model, prev_calls)
        c = controls(request)
        return c, plan_turn(req, c, ending_from(request.headers, "responses"))

    c, turn = await off_loop(request, body, plan)
    if background.requested(body):  # generated by a task of its own, stored for a while
        return background.create(request, c, turn)
    req = turn.req
    turn.cached_tokens = cache_for(request.app).openai(turn.prompt_text, turn.input_tokens)
    if req.body.get("store", True) is not False:
        stored = _stored_calls(request.app)
        stored[turn.ids["resp"]] = frozenset(c.call_id for c in turn.calls)
        while len(stored) > STORED_RESPONSES:
            stored.popitem(last=False)
    return respond(
        c,
        turn.answer or Answer([], "stop", None, 0),
        stream=req.stream,
        whole=turn.final,
        frames=turn.frames(),
        on_error=turn.error_frames,
        n_tokens=turn.n_units,
    )


STORED_RESPONSES = 1024  # responses whose call ids a server keeps for previous_response_id


def _stored_calls(app: Any) -> OrderedDict[str, frozenset[str]]:
    """Call ids of this server's recent stored responses (bounded), by response id."""
    stored = getattr(app.state, "stored_calls", None)
    if stored is None:
        stored = app.state.stored_calls = OrderedDict()
    return stored


def _base(req: ResponseRequest, resp_id: str) -> dict[str, Any]:
    body = req.body
    return {
        "id": resp_id,
        "object": "response",
        "created_at": now(),
        "status": "in_progress",
        "background": False,
        "completed_at": None,
        "error": None,
        "frequency_penalty": float(body.get("frequency_penalty") or 0.0),
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": req.max_out,
        "max_tool_calls": body.get("max_tool_calls"),
        "model": req.model,
        "moderation": None,
        "output": [],
        "presence_penalty": float(body.get("presence_penalty") or 0.0),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "prompt_cache_retention": body.get("prompt_cache_retention") or "24h",
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": req.service_tier,  # as requested; resolved at completion
        "store": bool(body.get("store", True)),
        "temperature": body.get("temperature", 1.0),
        "top_logprobs": body.get("top_logprobs") or 0,
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation") or "disabled",
        "usage": None,
        "user": body.get("user"),
        "metadata": body.get("metadata") or {},
        **req.echo,
    }


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def _message(
    msg_id: str, status: str, content: list[dict[str, Any]], phase: str | None = None
) -> dict[str, Any]:
    item = {"id": msg_id, "type": "message", "status": status, "content": content}
    if phase is not None:
        item["phase"] = phase
    item["role"] = "assistant"
    return item


def _call_item(fc_id: str, call: T.ToolCall, status: str, arguments: str) -> dict[str, Any]:
    return {
        "id": fc_id,
        "type": "function_call",
        "status": status,
        "arguments": arguments,
        "call_id": call.call_id,
        "name": call.name,
    }


__all__ = [
    "JSON_ENCODER",
    "SSE_ENCODER",
    "JSONEncoder",
    "ResponseTurn",
    "SSEEncoder",
    "create_response",
    "parse_request",
    "plan_response",
    "text_of",
]
