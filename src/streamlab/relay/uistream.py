"""The Vercel AI SDK's UI message stream, from provider-neutral events (sans-IO).

Front ends built on the AI SDK (``useChat``, ``DefaultChatTransport``,
``readUIMessageStream``) read a server's answer as *UI message chunks*: SSE
whose ``data:`` lines are JSON objects with a ``type``, ending with
``data: [DONE]``, in a response marked ``x-vercel-ai-ui-message-stream: v1``.
:class:`UIMessageStreamEncoder` turns :mod:`streamlab.events` into those
chunks, field by field as the ``ai`` package's ``UIMessageChunk`` type
(ai 6) and its ``streamText(...).toUIMessageStream()`` write them:

==============================  ===================================================
neutral event                   UI message chunks
==============================  ===================================================
(first event)                   ``start`` (``messageId``), ``start-step``
:class:`~streamlab.events.TextDelta`       ``text-start`` (once per run of text), ``text-delta``
:class:`~streamlab.events.ReasoningDelta`  ``reasoning-start`` (once per run), ``reasoning-delta``
:class:`~streamlab.events.ToolCallStart`   ``tool-input-start`` (``toolCallId``, ``toolName``)
:class:`~streamlab.events.ToolCallDelta`   ``tool-input-delta`` (``inputTextDelta``)
:class:`~streamlab.events.ToolCallDone`    ``tool-input-available`` (``input``: the parsed
                                JSON; ``tool-input-error`` if it does not parse)
:class:`~streamlab.events.StreamEnd`       ``text-end``/``reasoning-end`` of an open part,
                                ``finish-step``, ``finish`` (``finishReason``)
==============================  ===================================================

A run of text or reasoning ends (``text-end``, ``reasoning-end``) when
another kind of event comes. It holds no sockets: :meth:`frame` makes the
SSE bytes, the relay writes them.

>>> from streamlab.events import TextDelta, StreamEnd
>>> enc = UIMessageStreamEncoder(message_id="m1")
>>> [c["type"] for c in enc.feed(TextDelta("Hi"))]
['start', 'start-step', 'text-start', 'text-delta']
>>> [c["type"] for c in enc.feed(StreamEnd(outcome="stop"))]
['text-end', 'finish-step', 'finish']
>>> enc.frame({"type": "finish", "finishReason": "stop"})
b'data: {"type":"finish","finishReason":"stop"}\\n\\n'
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from streamlab.events import (
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
)

__all__ = ["UI_STREAM_HEADERS", "DONE", "FINISH_REASONS", "UIMessageStreamEncoder"]

#: The response headers: the relay's SSE headers plus the AI SDK's protocol marker.
UI_STREAM_HEADERS: dict[str, str] = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store, no-transform",
    "X-Accel-Buffering": "no",
    "x-vercel-ai-ui-message-stream": "v1",
}

#: The stream's last line, as the AI SDK's JsonToSseTransformStream writes it.
DONE = b"data: [DONE]\n\n"

#: Neutral outcomes -> the AI SDK's ``FinishReason``.
FINISH_REASONS: dict[str, str] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool-calls",
    "filtered": "content-filter",
    "refusal": "other",
    "failed": "error",
}


class UIMessageStreamEncoder:
    """Neutral stream events in, UI message chunks (dicts) out; one assistant message.

    :meth:`feed` takes a neutral event (a plain ``str`` counts as text) and
    returns the chunks it makes; :meth:`abort` and :meth:`fail` end a stream
    that was stopped or broke without a :class:`~streamlab.events.StreamEnd`;
    :meth:`close` ends one that simply ran out (``finish`` with ``stop``).
    After the end, everything returns ``[]``; write :data:`DONE` last.
    """

    def __init__(self, message_id: str | None = None) -> None:
        self.message_id = message_id or f"msg-{uuid.uuid4().hex}"
        self.started = False
        self.ended = False
        self._open: tuple[str, str] | None = None  # ("text" | "reasoning", part id)
        self._parts = 0

    def feed(self, event: Any) -> list[dict[str, Any]]:
        """The chunks for one neutral event."""
        if self.ended:
            return []
        out = self._start()
        if isinstance(event, str):
            event = TextDelta(event)
        match event:
            case TextDelta(text=text):
                out += self._part("text", "text-delta", text)
            case ReasoningDelta(text=text):
                out += self._part("reasoning", "reasoning-delta", text)
            case ToolCallStart(id=call_id, name=name):
                out += self._close_part()
                out.append({"type": "tool-input-start", "toolCallId": call_id, "toolName": name})
            case ToolCallDelta(id=call_id, arguments_delta=delta):
                out.append(
                    {"type": "tool-input-delta", "toolCallId": call_id, "inputTextDelta": delta}
                )
            case ToolCallDone():
                out += self._close_part()
                out.append(self._tool_input(event))
            case StreamEnd(outcome=outcome):
                out += self._finish(FINISH_REASONS.get(outcome, "other"))
            case _:
                raise TypeError(
                    f"UIMessageStreamEncoder.feed() takes streamlab.events (or str), "
                    f"not {type(event).__name__}"
                )
        return out

    def close(self) -> list[dict[str, Any]]:
        """End a stream whose source ran out without a StreamEnd: ``finish`` (stop)."""
        return [] if self.ended else self._start() + self._finish("stop")

    def abort(self, reason: str) -> list[dict[str, Any]]:
        """End a stream that was stopped (the user, or everybody left): ``abort``."""
        if self.ended:
            return []
        out = self._start() + self._close_part()
        self.ended = True
        return out + [{"type": "abort", "reason": reason}]

    def fail(self, message: str) -> list[dict[str, Any]]:
        """End a stream that broke: ``error`` (``errorText``), then ``finish`` (error)."""
        if self.ended:
            return []
        out = self._start() + self._close_part()
        out.append({"type": "error", "errorText": message})
        return out + self._finish("error", close=False)

    @staticmethod
    def frame(chunk: dict[str, Any]) -> bytes:
        """One chunk as SSE, compact JSON as ``JSON.stringify`` writes it."""
        data = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
        return f"data: {data}\n\n".encode()

    # ------------------------------------------------------------------ internals

    def _start(self) -> list[dict[str, Any]]:
        if self.started:
            return []
        self.started = True
        return [{"type": "start", "messageId": self.message_id}, {"type": "start-step"}]

    def _part(self, kind: str, delta_type: str, text: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        if self._open is None or self._open[0] != kind:
            out += self._close_part()
            self._parts += 1
            self._open = (kind, f"{kind}-{self._parts}")
            out.append({"type": f"{kind}-start", "id": self._open[1]})
        out.append({"type": delta_type, "id": self._open[1], "delta": text})
        return out

    def _close_part(self) -> list[dict[str, Any]]:
        if self._open is None:
            return []
        kind, part_id = self._open
        self._open = None
        return [{"type": f"{kind}-end", "id": part_id}]

    def _finish(self, reason: str, *, close: bool = True) -> list[dict[str, Any]]:
        out = self._close_part() if close else []
        self.ended = True
        return out + [{"type": "finish-step"}, {"type": "finish", "finishReason": reason}]

    @staticmethod
    def _tool_input(done: ToolCallDone) -> dict[str, Any]:
        head = {"toolCallId": done.id, "toolName": done.name}
        try:
            return {"type": "tool-input-available", **head, "input": done.parsed_arguments()}
        except ValueError as exc:
            return {
                "type": "tool-input-error",
                **head,
                "input": done.arguments,
                "errorText": str(exc),
            }
