"""The sans-IO core of :mod:`streamlab.deltas`: stream items in, neutral events out.

:class:`EventParser` takes one item at a time (an SDK event or chunk, its
raw ``dict``, or a plain string) and returns the :mod:`streamlab.events` it
means; :meth:`EventParser.close` ends the stream. No IO, no iteration: the
adapters in :mod:`streamlab.deltas` loop over real streams and feed it.

Where each API puts things (field by field as in the SDKs' types):

- OpenAI Responses: ``response.output_text.delta``; reasoning in
  ``response.reasoning_summary_text.delta`` (and ``reasoning_text.delta``);
  a function call is an output item (``output_item.added`` with ``call_id``
  and ``name``), its arguments ``function_call_arguments.delta`` by
  ``item_id``, complete at ``function_call_arguments.done``; the end is
  ``response.completed`` / ``incomplete`` / ``failed`` or an ``error`` event.
- Chat Completions: ``choices[0].delta`` has ``content``, ``refusal`` and
  ``tool_calls`` fragments by ``index`` (``id`` and ``name`` only in the
  first); ``finish_reason`` ends the choice; a last chunk with
  ``choices == []`` may carry ``usage``. Calls are complete only at
  ``finish_reason``: nothing earlier says a call's arguments are whole.
- Anthropic Messages: content blocks by ``index``: ``text_delta``,
  ``thinking_delta`` (+ one ``signature_delta``), ``tool_use`` blocks with
  ``input_json_delta``, complete at ``content_block_stop``; ``message_delta``
  has ``stop_reason`` and the cumulative usage; ``message_stop`` ends.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from streamlab.events import (
    ReasoningDelta,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)

# Convenience events that the SDK helper streams add on top of the raw ones
# (anthropic ``messages.stream()``, openai ``chat.completions.stream()``):
# the same content again, so it is taken from the raw events only.
_HELPER_REPEATS = frozenset(
    {
        "text",
        "thinking",
        "signature",
        "input_json",
        "citation",
        "content.delta",
        "content.done",
        "refusal.delta",
        "refusal.done",
        "tool_calls.function.arguments.delta",
        "tool_calls.function.arguments.done",
        "logprobs.content.delta",
        "logprobs.content.done",
        "logprobs.refusal.delta",
        "logprobs.refusal.done",
    }
)

_NEUTRAL = (TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, ToolCallDone, StreamEnd)

_ANTHROPIC_OUTCOMES = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "pause_turn": "length",  # incomplete: send the turn back to let it continue
    "tool_use": "tool_calls",
    "refusal": "refusal",
}
_CHAT_OUTCOMES = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "filtered",
}


def get(obj: Any, name: str, default: Any = None) -> Any:
    """Attribute or key access, so SDK objects and raw dicts share one code path."""
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def as_dict(obj: Any) -> dict[str, Any]:
    """An SDK model (or dict) as a plain dict, ``None`` fields left out, fit to send back."""
    if isinstance(obj, dict):
        return {k: v for k, v in obj.items() if v is not None}
    return obj.model_dump(mode="json", exclude_none=True)


@dataclass
class _Call:
    index: int
    id: str
    name: str
    parts: list[str] = field(default_factory=list)
    done: ToolCallDone | None = None

    def finish(self, arguments: str | None = None) -> ToolCallDone:
        if self.done is None:
            text = "".join(self.parts) if arguments is None else arguments
            self.done = ToolCallDone(self.index, self.id, self.name, text)
        return self.done


class EventParser:
    """Turns stream items into :mod:`streamlab.events`, one item at a time (sans-IO).

    ``feed(item)`` returns the events the item means (often none: most wire
    events are bookkeeping; an item that is already a :mod:`streamlab.events`
    event is returned as it is); ``close()`` is called when the stream has no
    more items and returns its :class:`StreamEnd`, or ``None`` if one was
    already returned. Items after a :class:`StreamEnd` are ignored. A Chat
    stream's end waits for the usage chunk that may follow ``finish_reason``
    (or for ``close()``); its tool calls are done at ``finish_reason``.
    """

    def __init__(self) -> None:
        self.end: StreamEnd | None = None
        self._api = "text"
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._refusal: list[str] = []
        self._calls: dict[Any, _Call] = {}  # by the provider's key (index, item id, block)
        self._usage: Usage | None = None
        self._response_id: str | None = None
        self._reason: str | None = None  # Chat finish_reason / Anthropic stop_reason seen
        self._blocks: dict[int, dict[str, Any]] = {}  # Anthropic content blocks being built
        self._items: list[Any] = []  # Responses output items, as they completed

    # -- driving ------------------------------------------------------------
    def feed(self, item: Any) -> list[StreamEvent]:
        """The events ``item`` means, in order (raises TypeError for a non-stream item)."""
        if self.end is not None:
            return []
        if isinstance(item, str):
            return [TextDelta(item)] if self._add_text(item) else []
        if isinstance(item, _NEUTRAL):  # already neutral (a demo, a recorded stream): as it is
            if isinstance(item, StreamEnd):
                self.end = item
            elif isinstance(item, TextDelta):
                self._add_text(item.text)
            elif isinstance(item, ReasoningDelta):
                self._reasoning.append(item.text)
            return [item]
        if isinstance(item, (bytes, bytearray)):
            raise TypeError(
                "the stream gave bytes. Decode the stream first: raw SSE bytes need "
                "streamlab.SSEDecoder (or an SDK) to become events; use .decode() for "
                "plain UTF-8 text."
            )
        kind = get(item, "type")
        if kind == "chunk" and get(item, "chunk") is not None:  # chat.completions.stream()
            item, kind = get(item, "chunk"), None
        if kind is None and get(item, "choices") is not None:
            return self._chat(item)
        if kind is None:
            raise TypeError(
                f"cannot find text in an item of type {type(item).__name__}: {item!r:.80}. "
                "Expected str, an OpenAI Responses event, a Chat Completions chunk or an "
                "Anthropic Messages event (SDK object or dict). Did you pass the stream "
                "manager instead of the stream (use `with client.messages.stream(...) as s:` "
                "and pass `s`)?"
            )
        if kind in _HELPER_REPEATS:
            return []
        if kind == "error":
            inner = get(item, "error")
            if inner is not None:  # Anthropic: {"type": "error", "error": {"type", "message"}}
                self._api = "anthropic"
                return self._fail(get(inner, "message"), get(inner, "type"), item)
            self._api = "responses" if self._api == "text" else self._api
            return self._fail(get(item, "message"), get(item, "code"), item)
        if kind.startswith("response."):
            self._api = "responses"
            return self._responses(kind, item)
        if kind in ("message_start", "message_delta", "message_stop", "ping") or kind.startswith(
            "content_block_"
        ):
            self._api = "anthropic"
            return self._anthropic(kind, item)
        return []  # a typed event of a kind not known yet: providers add them often

    def close(self) -> StreamEnd | None:
        """The stream has no more items: its :class:`StreamEnd` (``None`` if already given).

        A stream that stops without its API's final event ended badly (a
        dropped connection, a proxy's timeout): the outcome is ``"failed"``.
        Chat streams end here when no usage chunk came.
        """
        if self.end is not None:
            return None
        if self._api == "text":
            return self._finish("stop", None, None)
        if self._api == "chat" and self._reason is not None:
            return self._chat_end()
        return self._finish(
            "failed",
            None,
            f"the {self._api} stream ended before the provider said how it ended "
            "(a dropped connection or a proxy's timeout): the text may be incomplete",
        )

    # -- shared ---------------------------------------------------------------
    def _add_text(self, text: Any) -> bool:
        if not text:
            return False
        self._text.append(text)
        return True

    def _reasoning_delta(self, text: Any, *, new_part: bool = False) -> list[StreamEvent]:
        out: list[StreamEvent] = []
        if new_part and self._reasoning and not self._reasoning[-1].endswith("\n"):
            self._reasoning.append("\n\n")  # parts/blocks are paragraphs: keep them apart
            out.append(ReasoningDelta("\n\n"))
        if text:
            self._reasoning.append(text)
            out.append(ReasoningDelta(text))
        return out

    def _start_call(self, key: Any, call_id: Any, name: Any) -> _Call:
        call = _Call(len(self._calls), str(call_id or ""), str(name or ""))
        self._calls[key] = call
        return call

    def _calls_done(self) -> list[StreamEvent]:
        return [call.finish() for call in self._calls.values() if call.done is None]

    def _fail(self, message: Any, code: Any, raw: Any) -> list[StreamEvent]:
        message = str(message or "the provider reported an error without a message")
        return [self._finish("failed", code, message, raw=raw)]

    def _finish(
        self,
        outcome: str,
        reason: Any,
        error: str | None = None,
        *,
        raw: Any = None,
        turn: tuple[dict[str, Any], ...] = (),
    ) -> StreamEnd:
        calls = tuple(
            sorted((c.done for c in self._calls.values() if c.done), key=lambda c: c.index)
        )
        self.end = StreamEnd(
            outcome=outcome,  # type: ignore[arg-type]
            usage=self._usage,
            text="".join(self._text),
            tool_calls=calls,
            reasoning="".join(self._reasoning),
            refusal="".join(self._refusal),
            error=error,
            reason=None if reason is None else str(reason),
            api=self._api,
            response_id=self._response_id,
            assistant_turn=turn,
            raw=raw,
        )
        return self.end

    # -- OpenAI Responses -----------------------------------------------------
    def _responses(self, kind: str, event: Any) -> list[StreamEvent]:
        if kind == "response.output_text.delta":
            delta = get(event, "delta")
            return [TextDelta(delta)] if self._add_text(delta) else []
        if kind in ("response.reasoning_summary_text.delta", "response.reasoning_text.delta"):
            return self._reasoning_delta(get(event, "delta"))
        if kind == "response.reasoning_summary_part.added":
            return self._reasoning_delta("", new_part=True)
        if kind == "response.refusal.delta":
            if get(event, "delta"):
                self._refusal.append(get(event, "delta"))
            return []
        if kind == "response.output_item.added":
            item = get(event, "item")
            if get(item, "type") != "function_call":
                return []
            call = self._start_call(get(item, "id") or get(event, "output_index"), *_fc(item))
            out: list[StreamEvent] = [ToolCallStart(call.index, call.id, call.name)]
            if get(item, "arguments"):  # a server that sends the whole call at once
                call.parts.append(get(item, "arguments"))
                out.append(ToolCallDelta(call.index, call.id, get(item, "arguments")))
            return out
        if kind == "response.function_call_arguments.delta":
            call = self._response_call(event)
            delta = get(event, "delta")
            if call is None or not delta:
                return []
            call.parts.append(delta)
            return [ToolCallDelta(call.index, call.id, delta)]
        if kind == "response.function_call_arguments.done":
            call = self._response_call(event)
            if call is None or call.done is not None:
                return []
            return [call.finish(get(event, "arguments"))]
        if kind == "response.output_item.done":
            item = get(event, "item")
            self._items.append(item)
            if get(item, "type") != "function_call":
                return []
            call = self._calls.get(get(item, "id")) or self._calls.get(get(event, "output_index"))
            if call is None:  # never announced: the whole call arrived in this event
                call = self._start_call(get(item, "id"), *_fc(item))
                return [ToolCallStart(call.index, call.id, call.name), call.finish(_args(item))]
            return [] if call.done is not None else [call.finish(_args(item))]
        if kind in ("response.created", "response.in_progress"):
            self._response_id = get(get(event, "response"), "id") or self._response_id
            return []
        if kind in ("response.completed", "response.incomplete", "response.failed"):
            return self._responses_end(kind, event)
        return []

    def _response_call(self, event: Any) -> _Call | None:
        return self._calls.get(get(event, "item_id")) or self._calls.get(get(event, "output_index"))

    def _responses_end(self, kind: str, event: Any) -> list[StreamEvent]:
        response = get(event, "response")
        self._response_id = get(response, "id") or self._response_id
        usage = get(response, "usage")
        if usage is not None:
            details = get(usage, "output_tokens_details")
            self._usage = Usage(
                get(usage, "input_tokens"),
                get(usage, "output_tokens"),
                get(details, "reasoning_tokens"),
            )
        out = self._calls_done()
        items = get(response, "output") or self._items
        turn = tuple(as_dict(item) for item in items)
        if kind == "response.failed":
            error = get(response, "error")
            message = get(error, "message") or "the response failed without a message"
            self._finish("failed", get(error, "code") or "failed", message, raw=event, turn=turn)
        elif kind == "response.incomplete":
            reason = get(get(response, "incomplete_details"), "reason") or "incomplete"
            outcome = "filtered" if reason == "content_filter" else "length"
            self._finish(outcome, reason, raw=event, turn=turn)
        elif self._calls:
            self._finish("tool_calls", "completed", raw=event, turn=turn)
        elif self._refusal:
            self._finish("refusal", "refusal", raw=event, turn=turn)
        else:
            self._finish("stop", get(response, "status") or "completed", raw=event, turn=turn)
        return [*out, self.end]  # type: ignore[list-item]

    # -- OpenAI Chat Completions ------------------------------------------------
    def _chat(self, chunk: Any) -> list[StreamEvent]:
        self._api = "chat"
        self._response_id = get(chunk, "id") or self._response_id
        usage = get(chunk, "usage")
        if usage is not None:
            details = get(usage, "completion_tokens_details")
            self._usage = Usage(
                get(usage, "prompt_tokens"),
                get(usage, "completion_tokens"),
                get(details, "reasoning_tokens"),
            )
        choices = get(chunk, "choices") or []
        # One answer is shown: the first choice (n > 1 is rare when streaming).
        choice = next((c for c in choices if (get(c, "index") or 0) == 0), None)
        out: list[StreamEvent] = []
        if choice is not None:
            delta = get(choice, "delta")
            if delta is not None:
                out.extend(self._reasoning_delta(_chat_reasoning(delta)))
                if self._add_text(get(delta, "content")):
                    out.append(TextDelta(get(delta, "content")))
                if get(delta, "refusal"):
                    self._refusal.append(get(delta, "refusal"))
                for frag in get(delta, "tool_calls") or []:
                    out.extend(self._chat_tool_fragment(frag))
            reason = get(choice, "finish_reason")
            if reason is not None:
                self._reason = str(reason)
                out.extend(self._calls_done())
                if usage is not None:  # some servers send usage with finish_reason
                    out.append(self._chat_end())
        elif not choices and self._reason is not None:
            out.append(self._chat_end())
        return out

    def _chat_tool_fragment(self, frag: Any) -> list[StreamEvent]:
        index = get(frag, "index")
        function = get(frag, "function")
        call = self._calls.get(index)
        out: list[StreamEvent] = []
        if call is None:  # the first fragment of this index: id and name come here only
            call = self._start_call(index, get(frag, "id"), get(function, "name"))
            out.append(ToolCallStart(call.index, call.id, call.name))
        arguments = get(function, "arguments")
        if arguments:
            call.parts.append(arguments)
            out.append(ToolCallDelta(call.index, call.id, arguments))
        return out

    def _chat_end(self) -> StreamEnd:
        reason = self._reason
        outcome = _CHAT_OUTCOMES.get(reason or "", "stop")
        if outcome == "stop" and self._refusal:
            outcome = "refusal"
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self._text) or None}
        calls = [c.finish() for c in self._calls.values()]
        if calls and outcome == "stop":  # a tool forced by name ends "stop": the calls still run
            outcome = "tool_calls"
        if calls:
            message["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments},
                }
                for c in calls
            ]
        if self._refusal:
            message["refusal"] = "".join(self._refusal)
        return self._finish(outcome, reason, turn=(message,))

    # -- Anthropic Messages -----------------------------------------------------
    def _anthropic(self, kind: str, event: Any) -> list[StreamEvent]:
        if kind == "content_block_delta":
            return self._anthropic_delta(event)
        if kind == "content_block_start":
            index = get(event, "index")
            block = get(event, "content_block")
            btype = get(block, "type")
            self._blocks[index] = as_dict(block)
            if btype == "tool_use":
                call = self._start_call(("block", index), get(block, "id"), get(block, "name"))
                return [ToolCallStart(call.index, call.id, call.name)]
            if btype == "thinking":
                self._blocks[index].setdefault("thinking", "")
                return self._reasoning_delta(get(block, "thinking"), new_part=True)
            if btype == "text":
                self._blocks[index]["text"] = get(block, "text") or ""
                return [TextDelta(get(block, "text"))] if self._add_text(get(block, "text")) else []
            return []
        if kind == "content_block_stop":
            call = self._calls.get(("block", get(event, "index")))
            if call is None or call.done is not None:
                return []
            done = call.finish()
            block = self._blocks.get(get(event, "index"))
            if block is not None:
                block["input"] = _parsed_or_text(done.arguments)
            return [done]
        if kind == "message_start":
            message = get(event, "message")
            self._response_id = get(message, "id") or self._response_id
            self._anthropic_usage(get(message, "usage"))
            return []
        if kind == "message_delta":
            self._reason = get(get(event, "delta"), "stop_reason") or self._reason
            self._anthropic_usage(get(event, "usage"))
            return []
        if kind == "message_stop":
            out = self._calls_done()
            turn = (
                {"role": "assistant", "content": [self._blocks[i] for i in sorted(self._blocks)]},
            )
            reason = self._reason
            self._finish(
                _ANTHROPIC_OUTCOMES.get(reason or "", "stop"), reason, raw=event, turn=turn
            )
            return [*out, self.end]  # type: ignore[list-item]
        return []  # ping

    def _anthropic_delta(self, event: Any) -> list[StreamEvent]:
        index = get(event, "index")
        delta = get(event, "delta")
        dtype = get(delta, "type")
        block = self._blocks.setdefault(index, {})
        if dtype == "text_delta":
            text = get(delta, "text")
            block["text"] = block.get("text", "") + (text or "")
            return [TextDelta(text)] if self._add_text(text) else []
        if dtype == "thinking_delta":
            block["thinking"] = block.get("thinking", "") + (get(delta, "thinking") or "")
            return self._reasoning_delta(get(delta, "thinking"))
        if dtype == "signature_delta":
            block["signature"] = get(delta, "signature")  # replaced, as the SDK does
            return []
        if dtype == "input_json_delta":
            call = self._calls.get(("block", index))
            partial = get(delta, "partial_json")
            if call is None or not partial:  # server tools (web search) are not ours to run
                return []
            call.parts.append(partial)
            return [ToolCallDelta(call.index, call.id, partial)]
        return []  # citations and newer delta kinds

    def _anthropic_usage(self, usage: Any) -> None:
        if usage is None:
            return
        old = self._usage or Usage()
        details = get(usage, "output_tokens_details")
        self._usage = Usage(
            get(usage, "input_tokens")
            if get(usage, "input_tokens") is not None
            else old.input_tokens,
            get(usage, "output_tokens")
            if get(usage, "output_tokens") is not None
            else old.output_tokens,
            get(details, "thinking_tokens") if details is not None else old.reasoning_tokens,
        )


def _fc(item: Any) -> tuple[Any, Any]:
    """A Responses function_call item's (call id, name): ``call_id`` is what results refer to."""
    return get(item, "call_id") or get(item, "id"), get(item, "name")


def _args(item: Any) -> str | None:
    arguments = get(item, "arguments")
    return None if arguments is None else str(arguments)


def _chat_reasoning(delta: Any) -> Any:
    # Not in OpenAI's types: what OpenAI-compatible servers (vLLM, Ollama,
    # DeepSeek) send; the SDK keeps such extra fields on the delta.
    for name in ("reasoning_content", "reasoning"):
        value = get(delta, name)
        if isinstance(value, str) and value:
            return value
    return None


def _parsed_or_text(arguments: str) -> Any:
    if not arguments.strip():
        return {}
    try:
        return json.loads(arguments)
    except ValueError:
        return arguments


def replay(response: Any) -> list[dict[str, Any]]:
    """The stream events a complete (buffered) response would have arrived as.

    A Responses ``Response``, a Chat ``ChatCompletion`` or an Anthropic
    ``Message`` (SDK object or dict) becomes the raw events of the same
    answer, so that :class:`EventParser` reads buffered and streamed answers
    with one code path.
    """
    data = as_dict(response)
    if data.get("object") == "response" or ("output" in data and "status" in data):
        return _replay_responses(data)
    if data.get("object") == "chat.completion" or "choices" in data:
        return _replay_chat(data)
    if data.get("type") == "message":
        return _replay_anthropic(data)
    raise TypeError(
        f"replay() needs a complete Responses Response, Chat ChatCompletion or Anthropic "
        f"Message, got {type(response).__name__}. For a stream, use stream_events()."
    )


def _replay_responses(data: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [{"type": "response.created", "response": {"id": data.get("id")}}]
    for item in data.get("output") or []:
        if item.get("type") == "message":
            for part in item.get("content") or []:
                if part.get("type") == "output_text":
                    out.append({"type": "response.output_text.delta", "delta": part.get("text")})
                elif part.get("type") == "refusal":
                    out.append({"type": "response.refusal.delta", "delta": part.get("refusal")})
        elif item.get("type") == "reasoning":
            for part in [*(item.get("summary") or []), *(item.get("content") or [])]:
                out.append({"type": "response.reasoning_summary_part.added"})
                out.append(
                    {"type": "response.reasoning_summary_text.delta", "delta": part.get("text")}
                )
        out.append({"type": "response.output_item.done", "item": item})
    status = data.get("status") or "completed"
    kind = status if status in ("incomplete", "failed") else "completed"
    return [*out, {"type": f"response.{kind}", "response": data}]


def _replay_chat(data: dict[str, Any]) -> list[dict[str, Any]]:
    choice = (data.get("choices") or [{}])[0]
    message = dict(choice.get("message") or {})
    calls = [
        {"index": i, "id": c.get("id"), "type": "function", "function": c.get("function") or {}}
        for i, c in enumerate(message.pop("tool_calls", None) or [])
    ]
    delta = {**message, **({"tool_calls": calls} if calls else {})}
    chunk = {"index": 0, "delta": delta, "finish_reason": choice.get("finish_reason")}
    return [{"id": data.get("id"), "choices": [chunk], "usage": data.get("usage")}]


def _replay_anthropic(data: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": data.get("id"), "usage": data.get("usage")}}
    ]
    for i, block in enumerate(data.get("content") or []):
        btype = block.get("type")
        start, deltas = dict(block), []
        if btype == "text":
            start["text"], deltas = "", [{"type": "text_delta", "text": block.get("text")}]
        elif btype == "thinking":
            start["thinking"], start["signature"] = "", ""
            deltas = [
                {"type": "thinking_delta", "thinking": block.get("thinking")},
                {"type": "signature_delta", "signature": block.get("signature")},
            ]
        elif btype == "tool_use":
            start["input"] = {}
            arguments = json.dumps(block.get("input") or {}, ensure_ascii=False)
            deltas = [{"type": "input_json_delta", "partial_json": arguments}]
        out.append({"type": "content_block_start", "index": i, "content_block": start})
        out.extend({"type": "content_block_delta", "index": i, "delta": d} for d in deltas)
        out.append({"type": "content_block_stop", "index": i})
    stop = {"type": "message_delta", "delta": {"stop_reason": data.get("stop_reason")}}
    return [*out, {**stop, "usage": data.get("usage")}, {"type": "message_stop"}]
