"""Anthropic Messages: ``POST /v1/messages``, streamed and not.

Streamed events, each with an ``event:`` line (the Anthropic SDK drops events
without one)::

    message_start,
    [thinking]  content_block_start (thinking), ping, content_block_delta
                (thinking_delta) ..., content_block_delta (signature_delta, once),
                content_block_stop
    [text]      content_block_start (text), content_block_delta (text_delta,
                one per token) ..., content_block_stop
    [tool_use]  per call: content_block_start (tool_use, input {}),
                content_block_delta (input_json_delta, the first with
                partial_json "") ..., content_block_stop
    message_delta (stop_reason, stop_details, usage), message_stop

``message_start`` carries the input usage (with ``cache_creation`` and
``inference_geo``); ``message_delta.usage`` repeats the input counts and
gives the final ``output_tokens``: usage accumulates, as the real API's.

``stop_reason`` is "end_turn", "max_tokens", "stop_sequence", "tool_use", or
an ending forced with ``x-streamlab-ending`` ("refusal" with
``stop_details``, "pause_turn", "model_context_window_exceeded"). JSON
output: ``output_config={"format": {"type": "json_schema", "schema": {...}}}``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from streamlab.provider import tools as T
from streamlab.provider.common import (
    Answer,
    controls,
    field,
    make_answer,
    new_id,
    off_loop,
    request_body,
    respond,
    text_of,
)
from streamlab.provider.config import RequestControls
from streamlab.provider.endings import Ending, ending_from
from streamlab.provider.faults import ProviderError, stream_error_frame
from streamlab.provider.frames import DeltaFrames
from streamlab.provider.generation import count_tokens
from streamlab.provider.prompt_cache import cache_for
from streamlab.provider.prompted import prompted_schema
from streamlab.provider.reasoning import THINKING_SLOTS, Reasoning, make_reasoning, spread
from streamlab.provider.streaming import Frame
from streamlab.sse import encode_event

_STOP = {"stop": "end_turn", "length": "max_tokens", "stop_sequence": "stop_sequence"}
_ENDING_STOP = {
    "refusal": "refusal",
    "pause-turn": "pause_turn",
    "max-tokens": "max_tokens",
    "context-window": "model_context_window_exceeded",
}
_REFUSAL_DETAILS = {
    "type": "refusal",
    "category": None,
    "explanation": "This request was declined. (simulated refusal by streamlab)",
}


#: ``output_config.effort`` values (anthropic's ``OutputConfigParam``); None: not given.
_EFFORTS = (None, "low", "medium", "high", "xhigh", "max")


def _bad(message: str) -> ProviderError:
    return ProviderError(400, message)


def _format(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    config = field(body, "output_config", dict, default={})
    if config.get("effort") not in _EFFORTS:
        raise _bad(
            "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"
        )
    fmt = config.get("format") or field(body, "output_format", dict)
    if not fmt:
        return None, None
    if (
        not isinstance(fmt, dict)
        or fmt.get("type") != "json_schema"
        or not isinstance(fmt.get("schema"), dict)
    ):
        raise _bad("output_config.format: expected {'type': 'json_schema', 'schema': {...}}.")
    return "json_schema", fmt["schema"]


def _history(messages: list[Any], system: Any) -> T.History:
    h = T.History(context=text_of(system, "system") if system is not None else "")
    previous_uses: dict[str, str] = {}
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            raise _bad(f"messages.{i}: expected an object with role 'user' or 'assistant'.")
        content = m.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            raise _bad(f"messages.{i}.content: expected a string or a list of content blocks.")
        if m["role"] == "assistant":
            previous_uses = {}
            for j, b in enumerate(blocks):
                kind = b.get("type") if isinstance(b, dict) else None
                if kind == "tool_use":
                    previous_uses[str(b.get("id"))] = str(b.get("name"))
                    h.called.append(str(b.get("name")))
                elif kind == "thinking" and not isinstance(b.get("signature"), str):
                    raise _bad(f"messages.{i}.content.{j}.thinking.signature: Field required")
            continue
        results, texts = [], []
        for j, b in enumerate(blocks):
            if not isinstance(b, dict):
                raise _bad(f"messages.{i}.content.{j}: expected a content block object.")
            if b.get("type") == "tool_result":
                uid = b.get("tool_use_id")
                if not isinstance(uid, str) or uid not in previous_uses:
                    raise _bad(
                        f"messages.{i}.content.{j}: unexpected `tool_use_id` found in "
                        f"`tool_result` blocks: {uid}. Each `tool_result` block must have a "
                        "corresponding `tool_use` block in the previous message."
                    )
                results.append(
                    T.ToolResult(
                        uid,
                        previous_uses[uid],
                        T.content_text(b.get("content")),
                        bool(b.get("is_error")),
                    )
                )
            elif b.get("type") == "text" and isinstance(b.get("text"), str):
                texts.append(b["text"])
        if results:
            h.results += results
        elif any(texts):
            h.prompt, h.called, h.results = "\n".join(texts), [], []
    return h


def _tools(body: dict[str, Any]) -> list[T.Tool]:
    out = []
    for i, t in enumerate(field(body, "tools", list, default=[])):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise _bad(f"tools.{i}: expected an object.")
        if t.get("type") not in (None, "custom"):
            raise T.unsupported_tool(where, t.get("type"))
        if "input_schema" not in t:
            raise _bad(f"tools.{i}.custom.input_schema: Field required")
        out.append(
            T.make_tool(
                where, t.get("name"), t.get("description"), t["input_schema"], "input_schema"
            )
        )
    return T.check_unique(out, "tools")


def _choice(body: dict[str, Any], tools: list[T.Tool]) -> tuple[T.ToolChoice, bool]:
    raw = field(body, "tool_choice", dict, default={"type": "auto"})
    parallel = not raw.get("disable_parallel_tool_use", False)
    kind = raw.get("type")
    if kind == "auto":
        return T.ToolChoice("auto"), parallel
    if kind == "any":
        return T.ToolChoice("required"), parallel
    if kind == "none":
        return T.ToolChoice("none"), parallel
    if kind == "tool":
        return T.named_choice(tools, raw.get("name"), "tool_choice.name"), parallel
    raise _bad(
        f"tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none', got {json.dumps(kind)}."
    )


def _thinking(body: dict[str, Any], max_tokens: int) -> dict[str, Any] | None:
    cfg = field(body, "thinking", dict)
    if cfg is None or cfg.get("type") == "disabled":
        return None
    kind, display = cfg.get("type"), cfg.get("display") or "summarized"
    if kind not in ("enabled", "adaptive"):
        raise _bad("thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'.")
    if display not in ("summarized", "omitted"):
        raise _bad("thinking.display: Input should be 'summarized' or 'omitted'.")
    slots = THINKING_SLOTS
    if kind == "enabled":
        budget = cfg.get("budget_tokens")
        if not isinstance(budget, int) or isinstance(budget, bool) or budget < 1024:
            raise _bad(
                "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"
            )
        if budget >= max_tokens:
            raise _bad("`max_tokens` must be greater than `thinking.budget_tokens`.")
    return {"display": display, "slots": slots}


@dataclass
class MessageTurn:
    """One reply: optional thinking, optional text, tool calls, and why it stopped."""

    thinking: Reasoning | None
    omitted: bool
    answer: Answer | None
    calls: list[T.ToolCall]
    stop_reason: str
    stop_details: dict[str, Any] | None

    @property
    def n_units(self) -> int:
        n = self.thinking.slots if self.thinking else 0
        n += len(self.answer.tokens) if self.answer else 0
        return n + sum(len(c.fragments) for c in self.calls)

    def blocks(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self.thinking:
            text = "" if self.omitted else self.thinking.text(0)
            out.append({"type": "thinking", "thinking": text, "signature": self.thinking.blob})
        if self.answer is not None:
            out.append({"type": "text", "text": self.answer.text})
        for c in self.calls:  # caller: who made the call (2026; "direct": the model itself)
            out.append(
                {
                    "type": "tool_use",
                    "id": c.call_id,
                    "name": c.name,
                    "input": c.input,
                    "caller": {"type": "direct"},
                }
            )
        return out


def _plan(
    body: dict[str, Any], h: T.History, seed: int, length: int | None, ending: Ending | None
) -> MessageTurn:
    max_tokens = field(body, "max_tokens", int, required=True)
    if max_tokens < 1:
        raise _bad("max_tokens: Input should be greater than or equal to 1")
    tools = _tools(body)
    choice, parallel = _choice(body, tools)
    thinking = _thinking(body, max_tokens)
    if thinking and choice.mode == "required":
        raise _bad("Thinking may not be enabled when tool_choice forces tool use.")
    stop = field(body, "stop_sequences", list)
    json_mode, schema = _format(body)
    if json_mode is None and (prompted := prompted_schema(h.context)) is not None:
        json_mode, schema = "json_schema", prompted
    chosen = [] if ending else T.choose_calls(tools, choice, h, parallel=parallel)
    calls = T.make_calls(chosen, h, seed, api="messages", id_prefix="toolu_")
    reasoning = None
    if thinking:
        plan = (
            f"I need the {chosen[0].name} tool for this."
            if chosen
            else "I have the tool results, so I can answer."
            if h.results
            else "I will answer in a few clear sentences."
        )
        reasoning = make_reasoning(
            h.prompt, seed, slots=thinking["slots"], n_parts=1, plan=plan, prefix="Eq"
        )
        if thinking["display"] == "omitted":
            reasoning = Reasoning([], reasoning.slots, reasoning.blob)
    omitted = bool(thinking and thinking["display"] == "omitted")
    if calls:
        forced = choice.mode == "required"
        pre = None if forced else f"I'll use the {', '.join(c.name for c in calls)} tool to help."
        answer = make_answer(h.prompt, seed, context=h.context, text=pre) if pre else None
        return MessageTurn(reasoning, omitted, answer, calls, "tool_use", None)
    answer = make_answer(
        h.prompt,
        seed,
        max_tokens=max_tokens,
        stop=stop,
        json_mode=json_mode,
        schema=schema,
        context=h.context,
        length=length,
        text=T.result_text(h.results) if h.results else None,
    )
    stop_reason, details = _STOP[answer.finish], None
    if ending is not None:
        cut = ending.cut(len(answer.tokens))
        answer = Answer(answer.tokens[:cut], answer.finish, None, answer.input_tokens)
        stop_reason = _ENDING_STOP[ending.name]
        details = _REFUSAL_DETAILS if ending.name == "refusal" else None
    return MessageTurn(reasoning, omitted, answer, [], stop_reason, details)


async def create_message(request: Request) -> Any:
    body, model = await request_body(request)
    field(body, "max_tokens", int, required=True)
    messages = field(body, "messages", list, required=True)
    if not messages:
        raise _bad("messages: at least one message is required")
    h = _history(messages, body.get("system"))
    stream = field(body, "stream", bool, default=False)

    def plan() -> tuple[RequestControls, MessageTurn]:
        _plan(body, h, 0, None, None)  # a bad body is a 400 before the controls are read
        c = controls(request)
        return c, _plan(body, h, c.seed, c.length, ending_from(request.headers, "messages"))

    c, turn = await off_loop(request, body, plan)
    msg_id = new_id("msg")
    total = max(1, count_tokens(h.context + h.prompt))
    cached = cache_for(request.app).anthropic(body, total, model)
    usage = {
        "input_tokens": cached.input_tokens,
        "cache_creation_input_tokens": cached.created,
        "cache_read_input_tokens": cached.read,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cached.created_5m,
            "ephemeral_1h_input_tokens": cached.created - cached.created_5m,
        },
        "service_tier": "standard",
        "inference_geo": "not_available",
    }
    return respond(
        c,
        turn.answer or Answer([], "stop", None, 0),
        stream=stream,
        whole=lambda: _message(msg_id, model, usage, turn),
        frames=_frames(msg_id, model, turn, usage),
        on_error=lambda k: stream_error_frame("messages", k),
        n_tokens=turn.n_units,
    )


def _out_usage(turn: MessageTurn) -> dict[str, Any]:
    out: dict[str, Any] = {"output_tokens": turn.n_units}
    if turn.thinking:
        out["output_tokens_details"] = {"thinking_tokens": turn.thinking.slots}
    return out


def _message(
    msg_id: str, model: str, usage: dict[str, Any], turn: MessageTurn | None = None
) -> dict[str, Any]:
    """A Message object: the whole reply to ``turn``, or the empty one ``message_start`` carries."""
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": turn.blocks() if turn else [],
        "stop_reason": turn.stop_reason if turn else None,
        "stop_sequence": turn.answer.stop_sequence if turn and turn.answer else None,
        "stop_details": turn.stop_details if turn else None,
        "usage": {**usage, **(_out_usage(turn) if turn else {"output_tokens": 1})},
    }


_DELTA_INPUT_KEYS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")


def _ev(payload: dict[str, Any]) -> bytes:
    return encode_event(json.dumps(payload, ensure_ascii=False), event=payload["type"])


def _delta_maker(index: int, delta: dict[str, Any]) -> DeltaFrames:
    return DeltaFrames(
        {"type": "content_block_delta", "index": index, "delta": delta},
        event="content_block_delta",
    )


def _frames(msg_id: str, model: str, turn: MessageTurn, usage: dict[str, Any]) -> Iterator[Frame]:
    start = _message(msg_id, model, usage)
    yield _ev({"type": "message_start", "message": start}), None
    unit, pinged = 0, False
    for index, block in enumerate(turn.blocks()):
        kind = block["type"]
        empty = {
            "thinking": {"type": "thinking", "thinking": "", "signature": ""},
            "text": {"type": "text", "text": ""},
        }.get(kind) or {**block, "input": {}}
        yield _ev({"type": "content_block_start", "index": index, "content_block": empty}), None
        if not pinged:
            yield _ev({"type": "ping"}), None
            pinged = True
        if kind == "thinking":
            r = turn.thinking
            assert r
            tokens = r.parts[0] if r.parts else []
            slots = spread(len(tokens), r.slots)
            make = _delta_maker(index, {"type": "thinking_delta", "thinking": DeltaFrames.TOKEN})
            for token, slot in zip(tokens, slots, strict=True):
                yield make(token), slot
            signature = {"type": "signature_delta", "signature": r.blob}
            yield (
                _ev({"type": "content_block_delta", "index": index, "delta": signature}),
                None if tokens else r.slots - 1,
            )
            unit = r.slots
        elif kind == "text":
            assert turn.answer
            make = _delta_maker(index, {"type": "text_delta", "text": DeltaFrames.TOKEN})
            for token in turn.answer.tokens:
                yield make(token), unit
                unit += 1
        else:
            call = next(c for c in turn.calls if c.call_id == block["id"])
            first = {"type": "input_json_delta", "partial_json": ""}
            yield _ev({"type": "content_block_delta", "index": index, "delta": first}), None
            make = _delta_maker(
                index, {"type": "input_json_delta", "partial_json": DeltaFrames.TOKEN}
            )
            for piece in call.fragments:
                yield make(piece), unit
                unit += 1
        yield _ev({"type": "content_block_stop", "index": index}), None
    delta = {
        "stop_reason": turn.stop_reason,
        "stop_sequence": turn.answer.stop_sequence if turn.answer else None,
        "stop_details": turn.stop_details,
    }
    # message_delta's usage is cumulative: the input counts again, with the output so far.
    inputs = {k: usage[k] for k in _DELTA_INPUT_KEYS}
    yield (
        _ev({"type": "message_delta", "delta": delta, "usage": {**inputs, **_out_usage(turn)}}),
        None,
    )
    yield _ev({"type": "message_stop"}), None
