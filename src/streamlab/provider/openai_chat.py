"""OpenAI Chat Completions: ``POST /v1/chat/completions``, streamed and not.

Streamed as ``data:`` lines only (no ``event:`` lines), one
``chat.completion.chunk`` per token: the first carries ``role``, the last
has an empty delta and ``finish_reason`` ("stop" or "length"). With
``stream_options: {"include_usage": true}`` every chunk has ``"usage": null``
and one more chunk with ``"choices": []`` carries the usage. The stream ends
with ``data: [DONE]``.

Tool calls: ``delta.tool_calls[i]`` keyed by ``index``; a call's first
fragment carries ``id``, ``type`` and ``function.name`` (arguments ""), the
next ones only ``function.arguments``; ``content`` is null and
``finish_reason`` is "tool_calls" ("stop" when ``tool_choice`` names the
function). Every chunk carries ``obfuscation`` unless
``stream_options.include_obfuscation`` is false. A refusal streams ``delta.refusal``;
the ``content-filter`` ending cuts the text with ``finish_reason``
"content_filter".
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
    now,
    off_loop,
    positive_int,
    request_body,
    respond,
    stream_options,
    text_of,
)
from streamlab.provider.config import RequestControls
from streamlab.provider.endings import REFUSAL_TEXT, Ending, ending_from
from streamlab.provider.faults import ProviderError, stream_error_frame
from streamlab.provider.frames import DeltaFrames, obfuscation
from streamlab.provider.generation import tokenize
from streamlab.provider.prompt_cache import cache_for
from streamlab.provider.prompted import prompted_schema
from streamlab.provider.reasoning import EFFORT_SLOTS
from streamlab.provider.streaming import Frame
from streamlab.sse import encode_event

_FINISH = {"stop": "stop", "stop_sequence": "stop", "length": "length"}


def _history(messages: list[Any]) -> T.History:
    h = T.History()
    names: dict[str, str] = {}
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, dict):
            raise ProviderError(
                400,
                f"Invalid '{where}': expected an object with 'role' and 'content'.",
                param=where,
                code="invalid_type",
            )
        role = m.get("role", "user")
        content = m.get("content")
        text = text_of(content, f"{where}.content") if content is not None else ""
        if role == "user" and text:
            h.prompt, h.called, h.results = text, [], []
        elif role in ("system", "developer"):
            h.context += ("\n" if h.context else "") + text
        elif role == "assistant":
            for j, call in enumerate(T.listed(m, "tool_calls", where)):
                fn = call.get("function") if isinstance(call, dict) else None
                if not isinstance(fn, dict) or not isinstance(call.get("id"), str):
                    raise ProviderError(
                        400,
                        f"Invalid '{where}.tool_calls[{j}]': expected "
                        "{'id': ..., 'type': 'function', 'function': {'name': ..., 'arguments': ...}}.",
                        param=f"{where}.tool_calls[{j}]",
                    )
                names[call["id"]] = str(fn.get("name"))
                h.called.append(str(fn.get("name")))
        elif role == "tool":
            cid = m.get("tool_call_id")
            if not isinstance(cid, str) or cid not in names:
                raise T.unknown_call(
                    f"{where}.tool_call_id",
                    cid,
                    "Messages with role 'tool' must be a response to a preceding message "
                    "with 'tool_calls'.",
                )
            h.results.append(T.ToolResult(cid, names[cid], T.content_text(content)))
    return h


def _tools(body: dict[str, Any]) -> list[T.Tool]:
    out = []
    for i, t in enumerate(field(body, "tools", list, default=[])):
        where = f"tools[{i}]"
        if not isinstance(t, dict):
            raise ProviderError(400, f"Invalid '{where}': expected an object.", param=where)
        if t.get("type") != "function":
            raise T.unsupported_tool(where, t.get("type"))
        fn = t.get("function")
        if not isinstance(fn, dict):
            raise ProviderError(
                400,
                f"Missing required parameter: '{where}.function'.",
                param=f"{where}.function",
                code="missing_required_parameter",
            )
        out.append(
            T.make_tool(
                f"{where}.function",
                fn.get("name"),
                fn.get("description"),
                fn.get("parameters"),
                "parameters",
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
        fn = raw.get("function")
        name = fn.get("name") if isinstance(fn, dict) else None
        return T.named_choice(tools, name, "tool_choice.function.name"), tools
    if isinstance(raw, dict) and raw.get("type") == "allowed_tools":
        spec = raw.get("allowed_tools")
        if not isinstance(spec, dict):
            raise ProviderError(
                400,
                "Invalid 'tool_choice.allowed_tools': expected {'mode': ..., 'tools': [...]}.",
                param="tool_choice.allowed_tools",
            )
        allowed = {
            t["function"].get("name")
            for t in T.listed(spec, "tools", "tool_choice.allowed_tools")
            if isinstance(t, dict) and isinstance(t.get("function"), dict)
        }
        mode = spec.get("mode", "auto")
        return T.ToolChoice("required" if mode == "required" else "auto"), [
            t for t in tools if t.name in allowed
        ]
    if isinstance(raw, dict):
        raise T.unsupported_tool("tool_choice", raw.get("type"))
    raise ProviderError(
        400,
        "Invalid 'tool_choice': expected 'none', 'auto', 'required' or "
        f"{{'type': 'function', 'function': {{'name': ...}}}}, got {json.dumps(raw)[:60]}.",
        param="tool_choice",
    )


def _response_format(body: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
    fmt = field(body, "response_format", dict)
    if fmt is None or fmt.get("type") == "text":
        return None, None
    if fmt.get("type") == "json_object":
        return "json_object", None
    if fmt.get("type") == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema"), dict):
            raise ProviderError(
                400,
                "Missing required parameter: 'response_format.json_schema.schema'.",
                param="response_format.json_schema",
                code="missing_required_parameter",
            )
        return "json_schema", spec["schema"]
    raise ProviderError(
        400,
        f"Invalid 'response_format.type': {fmt.get('type')!r}. Expected 'text', "
        "'json_object' or 'json_schema'.",
        param="response_format.type",
    )


@dataclass
class ChatTurn:
    """One completion: text (or a refusal) or tool calls, after hidden reasoning slots."""

    answer: Answer | None
    refusal: list[str] | None
    calls: list[T.ToolCall]
    finish: str
    reasoning_slots: int
    input_tokens: int
    cached_tokens: int = 0  # the prompt prefix an earlier request left in the cache

    @property
    def n_units(self) -> int:
        n = self.reasoning_slots + len(self.answer.tokens if self.answer else self.refusal or [])
        return n + sum(len(c.fragments) for c in self.calls)


def _usage(turn: ChatTurn) -> dict[str, Any]:
    out = turn.n_units
    return {
        "prompt_tokens": turn.input_tokens,
        "completion_tokens": out,
        "total_tokens": turn.input_tokens + out,
        "prompt_tokens_details": {
            "cached_tokens": min(turn.cached_tokens, turn.input_tokens),
            "audio_tokens": 0,
        },
        "completion_tokens_details": {
            "reasoning_tokens": turn.reasoning_slots,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _plan(
    body: dict[str, Any],
    h: T.History,
    seed: int,
    length: int | None,
    ending: Ending | None,
    **opts: Any,
) -> ChatTurn:
    tools = _tools(body)
    choice, usable = _choice(body, tools)
    parallel = field(body, "parallel_tool_calls", bool, default=True)
    effort = field(body, "reasoning_effort", str)
    if effort is not None and effort not in EFFORT_SLOTS:
        raise ProviderError(
            400,
            f"Invalid 'reasoning_effort': {effort!r}; expected one of {', '.join(EFFORT_SLOTS)}.",
            param="reasoning_effort",
        )
    slots = EFFORT_SLOTS[effort] if effort else 0
    refusing = ending is not None and ending.name == "refusal"
    chosen = [] if refusing else T.choose_calls(usable, choice, h, parallel=parallel)
    calls = T.make_calls(chosen, h, seed, api="chat", id_prefix="call_")
    answer = make_answer(
        h.prompt,
        seed,
        context=h.context,
        length=length,
        text=T.result_text(h.results) if h.results else None,
        **opts,
    )
    if refusing:
        return ChatTurn(None, tokenize(REFUSAL_TEXT), [], "stop", slots, answer.input_tokens)
    if calls:
        # One function forced by name ends "stop" on the real API; auto/required: "tool_calls".
        finish = "stop" if choice.name else "tool_calls"
        return ChatTurn(None, None, calls, finish, slots, answer.input_tokens)
    finish = _FINISH[answer.finish]
    if ending is not None:
        cut = ending.cut(len(answer.tokens))
        answer = Answer(answer.tokens[:cut], answer.finish, None, answer.input_tokens)
        finish = "length" if ending.name == "max-tokens" else "content_filter"
    return ChatTurn(answer, None, [], finish, slots, answer.input_tokens)


async def create_chat_completion(request: Request) -> Any:
    body, model = await request_body(request)
    messages = field(body, "messages", list, required=True)
    if not messages:
        raise ProviderError(
            400,
            "Invalid 'messages': empty array. Expected an array with minimum length 1.",
            param="messages",
            code="empty_array",
        )
    h = _history(messages)
    n = field(body, "n", int, default=1)
    if n != 1:
        raise ProviderError(400, "streamlab's local provider only supports n=1.", param="n")
    max_tokens = _max_tokens(body)
    stop = field(body, "stop", (str, list))
    stop = [stop] if isinstance(stop, str) else stop
    stream = field(body, "stream", bool, default=False)
    options = stream_options(body, stream)
    include_usage = options.get("include_usage", False)
    obfuscate = options.get("include_obfuscation", True)
    json_mode, schema = _response_format(body)
    if json_mode == "json_object":
        schema = prompted_schema(h.context)
        json_mode = "json_schema" if schema is not None else json_mode

    def plan() -> tuple[RequestControls, ChatTurn]:
        _plan(body, h, 0, None, None, json_mode=json_mode, schema=schema)  # 400s before faults
        c = controls(request, body_seed=field(body, "seed", int))
        return c, _plan(
            body,
            h,
            c.seed,
            c.length,
            ending_from(request.headers, "chat"),
            max_tokens=max_tokens,
            stop=stop,
            json_mode=json_mode,
            schema=schema,
        )

    c, turn = await off_loop(request, body, plan)
    turn.cached_tokens = cache_for(request.app).openai(h.context + h.prompt, turn.input_tokens)
    chat_id, created = new_id("chatcmpl"), now()
    return respond(
        c,
        turn.answer or Answer([], "stop", None, 0),
        stream=stream,
        whole=lambda: _completion(chat_id, created, model, turn),
        frames=_frames(chat_id, created, model, turn, include_usage, obfuscate),
        on_error=lambda k: stream_error_frame("chat", k),
        n_tokens=turn.n_units,
    )


def _max_tokens(body: dict[str, Any]) -> int | None:
    """``max_completion_tokens``, or the older ``max_tokens``; each error names the one sent."""
    value = None
    for name in ("max_tokens", "max_completion_tokens"):
        given = positive_int(body, name)
        value = given if given is not None else value
    return value


def _completion(chat_id: str, created: int, model: str, turn: ChatTurn) -> dict[str, Any]:
    """The whole ``chat.completion`` object of a non-streamed reply."""
    message: dict[str, Any] = {
        "role": "assistant",
        "content": turn.answer.text if turn.answer else None,
        "refusal": "".join(turn.refusal) if turn.refusal is not None else None,
        "annotations": [],
    }
    if turn.calls:
        message["tool_calls"] = [
            {
                "id": c.call_id,
                "type": "function",
                "function": {"name": c.name, "arguments": c.arguments},
            }
            for c in turn.calls
        ]
    return {
        "id": chat_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": turn.finish,
            }
        ],
        "usage": _usage(turn),
        "service_tier": "default",
        "system_fingerprint": "fp_streamlab",
    }


def _frames(
    chat_id: str, created: int, model: str, turn: ChatTurn, include_usage: bool, obfuscate: bool
) -> Iterator[Frame]:
    def payload(choices: list[dict[str, Any]], usage: Any = None, obf: str = "") -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": chat_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "service_tier": "default",
            "system_fingerprint": "fp_streamlab",
            "choices": choices,
        }
        if include_usage:
            out["usage"] = usage
        if obfuscate:  # on every chunk since August 2025; a delta's pads its token
            out["obfuscation"] = obf
        return out

    def chunk(choices: list[dict[str, Any]], usage: Any = None) -> bytes:
        shown = json.dumps(choices[0]["delta"] if choices else usage)
        return encode_event(
            json.dumps(payload(choices, usage, obfuscation(shown)), ensure_ascii=False)
        )

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

    content = "" if turn.answer is not None else None
    first: dict[str, Any] = {"role": "assistant", "content": content}
    if turn.calls:  # the first call's first fragment rides on the role chunk
        first["tool_calls"] = [_first_fragment(0, turn.calls[0])]
    yield chunk(choice({**first, "refusal": None})), None
    unit = turn.reasoning_slots
    # One encode per stream; each token is spliced in (same bytes as chunk()).
    key = "content" if turn.refusal is None else "refusal"
    delta = DeltaFrames(payload(choice({key: DeltaFrames.TOKEN}), obf=DeltaFrames.OBF))
    for token in turn.answer.tokens if turn.answer else turn.refusal or []:
        yield delta(token), unit
        unit += 1
    for k, call in enumerate(turn.calls):
        if k:
            yield chunk(choice({"tool_calls": [_first_fragment(k, call)]})), None
        fragment = {"index": k, "function": {"arguments": DeltaFrames.TOKEN}}
        delta = DeltaFrames(payload(choice({"tool_calls": [fragment]}), obf=DeltaFrames.OBF))
        for piece in call.fragments:
            yield delta(piece), unit
            unit += 1
    yield chunk(choice({}, turn.finish)), None
    if include_usage:
        yield chunk([], _usage(turn)), None
    yield encode_event("[DONE]"), None


def _first_fragment(k: int, call: T.ToolCall) -> dict[str, Any]:
    """A call's first ``delta.tool_calls`` entry: id, type, name, no arguments yet."""
    return {
        "index": k,
        "id": call.call_id,
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
