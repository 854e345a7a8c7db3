"""Checks for notebook 05: Anthropic streaming and a provider-neutral stream.

The checks feed the learner's functions real SDK event objects (built with
the SDKs' own pydantic models, exactly what ``stream=True`` yields) from all
three stream shapes, including the awkward ones: the Chat usage chunk with no
choices, the role-only first chunk, Anthropic tool-use JSON deltas, and the
Responses ``output_text.done`` event that repeats the whole text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["sample_events", "sample_streams", "check_finish_of", "check_final_result"]

_RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "created_at": 0,
    "model": "m",
    "output": [],
    "parallel_tool_calls": True,
    "tool_choice": "auto",
    "tools": [],
}


def _chunk(delta: dict[str, Any] | None, finish: str | None = None, *, usage: bool = False) -> Any:
    from openai.types.chat import ChatCompletionChunk

    body: dict[str, Any] = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "m",
        "choices": [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    if usage:
        body["usage"] = {"prompt_tokens": 3, "completion_tokens": 5, "total_tokens": 8}
    return ChatCompletionChunk.construct(**body)


_MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "m",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 3, "output_tokens": 1},
}


def _event(type_: str, **fields: Any) -> Any:
    """A Responses or Anthropic stream event of ``type_``, built as its SDK builds it."""
    from anthropic import types as a
    from openai.types import responses as r

    cls = {
        "response.created": r.ResponseCreatedEvent,
        "response.output_text.delta": r.ResponseTextDeltaEvent,
        "response.output_text.done": r.ResponseTextDoneEvent,
        "response.completed": r.ResponseCompletedEvent,
        "response.incomplete": r.ResponseIncompleteEvent,
        "response.failed": r.ResponseFailedEvent,
        "error": r.ResponseErrorEvent,
        "message_start": a.RawMessageStartEvent,
        "content_block_start": a.RawContentBlockStartEvent,
        "content_block_delta": a.RawContentBlockDeltaEvent,
        "content_block_stop": a.RawContentBlockStopEvent,
        "message_delta": a.RawMessageDeltaEvent,
        "message_stop": a.RawMessageStopEvent,
    }[type_]
    return cls.construct(type=type_, **fields)


def _a_delta(delta: dict[str, Any]) -> Any:
    return _event("content_block_delta", index=0, delta=delta)


def _a_stop(reason: str, output_tokens: int) -> Any:
    return _event(
        "message_delta",
        delta={"stop_reason": reason, "stop_sequence": None},
        usage={"output_tokens": output_tokens},
    )


_A_START = {"index": 0, "content_block": {"type": "text", "text": ""}}
_TEXT_IDS = {"item_id": "msg_1", "output_index": 0, "content_index": 0, "logprobs": []}


def _r_final(type_: str, n: int, status: str, **response: Any) -> Any:
    return _event(type_, sequence_number=n, response={**_RESPONSE, "status": status, **response})


_FUNCTION_CALL = {
    "id": "fc_1",
    "type": "function_call",
    "call_id": "call_1",
    "name": "get_weather",
    "arguments": '{"city": "Paris"}',
    "status": "completed",
}


def _message(*parts: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "status": "completed",
        "content": list(parts),
    }


_REASONING = {"id": "rs_1", "type": "reasoning", "summary": []}
_TEXT_PART = {"type": "output_text", "text": "Let me check.", "annotations": [], "logprobs": []}
_REFUSAL_PART = {"type": "refusal", "refusal": "I can't help with that."}


def _incomplete(reason: str) -> Any:
    return _r_final("response.incomplete", 12, "incomplete", incomplete_details={"reason": reason})


def sample_events() -> list[tuple[str, Any, str | None, str | None]]:
    """``(description, SDK event, text it carries, how the answer finished)`` for each case."""
    return [
        *_endings(),
        # OpenAI Responses
        (
            "a Responses response.created event",
            _event(
                "response.created",
                sequence_number=0,
                response={**_RESPONSE, "status": "in_progress"},
            ),
            None,
            None,
        ),
        (
            "a Responses response.output_text.delta event",
            _event("response.output_text.delta", sequence_number=4, delta="Hel", **_TEXT_IDS),
            "Hel",
            None,
        ),
        (
            "a Responses response.output_text.done event (it repeats the whole text)",
            _event("response.output_text.done", sequence_number=9, text="Hello", **_TEXT_IDS),
            None,
            None,
        ),
        (
            "a Responses response.completed event",
            _event(
                "response.completed",
                sequence_number=12,
                response={**_RESPONSE, "status": "completed"},
            ),
            None,
            "stop",
        ),
        (
            "a Responses response.incomplete event (max_output_tokens reached)",
            _event(
                "response.incomplete",
                sequence_number=12,
                response={
                    **_RESPONSE,
                    "status": "incomplete",
                    "incomplete_details": {"reason": "max_output_tokens"},
                },
            ),
            None,
            "length",
        ),
        # OpenAI Chat Completions
        (
            "the first Chat chunk (role only, content None)",
            _chunk({"role": "assistant", "content": None}),
            None,
            None,
        ),
        ("a Chat chunk with content", _chunk({"content": "lo"}), "lo", None),
        ("a Chat chunk with finish_reason 'stop'", _chunk({}, "stop"), None, "stop"),
        ("a Chat chunk with finish_reason 'length'", _chunk({}, "length"), None, "length"),
        ("the Chat usage chunk (choices == [])", _chunk(None, usage=True), None, None),
        # Anthropic Messages
        (
            "an Anthropic message_start event",
            _event("message_start", message={**_MESSAGE}),
            None,
            None,
        ),
        (
            "an Anthropic content_block_start event",
            _event("content_block_start", **_A_START),
            None,
            None,
        ),
        ("an Anthropic text_delta", _a_delta({"type": "text_delta", "text": " wor"}), " wor", None),
        (
            "an Anthropic input_json_delta (tool-use arguments, not answer text)",
            _a_delta({"type": "input_json_delta", "partial_json": '{"city": "Par'}),
            None,
            None,
        ),
        (
            "an Anthropic content_block_stop event",
            _event("content_block_stop", index=0),
            None,
            None,
        ),
        (
            "an Anthropic message_delta with stop_reason 'end_turn'",
            _a_stop("end_turn", 5),
            None,
            "stop",
        ),
        (
            "an Anthropic message_delta with stop_reason 'max_tokens'",
            _a_stop("max_tokens", 5),
            None,
            "length",
        ),
        (
            "an Anthropic message_stop event",
            _event("message_stop"),
            None,
            None,
        ),
    ]


def _endings() -> list[tuple[str, Any, str | None, str | None]]:
    """The endings beyond stop and length: tool calls, refusals, filters, failures, pauses."""
    fail = {"error": {"code": "server_error", "message": "The model failed."}}
    return [
        (
            "a Responses response.completed whose output is a function_call item",
            _r_final("response.completed", 9, "completed", output=[_FUNCTION_CALL]),
            None,
            "tool_calls",
        ),
        (
            "a Responses response.completed with some text and then a function_call item",
            _r_final(
                "response.completed", 9, "completed", output=[_message(_TEXT_PART), _FUNCTION_CALL]
            ),
            None,
            "tool_calls",
        ),
        (
            "a Responses response.completed whose output is a function_call item, then a message",
            _r_final(
                "response.completed", 9, "completed", output=[_FUNCTION_CALL, _message(_TEXT_PART)]
            ),
            None,
            "tool_calls",
        ),
        (
            "a Responses response.completed whose output is reasoning, a function_call, a message",
            _r_final(
                "response.completed",
                9,
                "completed",
                output=[_REASONING, _FUNCTION_CALL, _message(_TEXT_PART)],
            ),
            None,
            "tool_calls",
        ),
        (
            "a Responses response.completed whose message holds a refusal part",
            _r_final("response.completed", 9, "completed", output=[_message(_REFUSAL_PART)]),
            None,
            "refusal",
        ),
        (
            "a Responses response.completed whose message holds text",
            _r_final("response.completed", 9, "completed", output=[_message(_TEXT_PART)]),
            None,
            "stop",
        ),
        (
            "a Responses response.incomplete event (a content filter stopped it)",
            _incomplete("content_filter"),
            None,
            "filtered",
        ),
        (
            "a Responses response.failed event",
            _r_final("response.failed", 7, "failed", **fail),
            None,
            "failed",
        ),
        (
            "a Responses error event (it may come alone, without response.failed)",
            _event(
                "error",
                sequence_number=7,
                code="server_error",
                message="The model failed.",
                param=None,
            ),
            None,
            "failed",
        ),
        (
            "a Responses response.incomplete event with reason 'max_messages'",
            _incomplete("max_messages"),
            None,
            "max_messages",
        ),
        (
            "a Responses response.incomplete event with reason 'steered' (notebook 09)",
            _incomplete("steered"),
            None,
            "steered",
        ),
        (
            "a Chat chunk with finish_reason 'tool_calls'",
            _chunk({}, "tool_calls"),
            None,
            "tool_calls",
        ),
        (
            "a Chat chunk with finish_reason 'function_call' (the older name for a tool call)",
            _chunk({}, "function_call"),
            None,
            "tool_calls",
        ),
        (
            "a Chat chunk with finish_reason 'content_filter'",
            _chunk({}, "content_filter"),
            None,
            "filtered",
        ),
        (
            "a Chat chunk with a tool-call fragment (no finish_reason yet)",
            _chunk(
                {
                    "tool_calls": [
                        {
                            "index": 0,
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "get_weather", "arguments": ""},
                        }
                    ]
                }
            ),
            None,
            None,
        ),
        (
            "an Anthropic content_block_start of a tool_use block",
            _event(
                "content_block_start",
                index=1,
                content_block={
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "get_weather",
                    "input": {},
                },
            ),
            None,
            None,
        ),
        (
            "an Anthropic message_delta with stop_reason 'tool_use'",
            _a_stop("tool_use", 9),
            None,
            "tool_calls",
        ),
        (
            "an Anthropic message_delta with stop_reason 'refusal'",
            _a_stop("refusal", 3),
            None,
            "refusal",
        ),
        (
            "an Anthropic message_delta with stop_reason 'stop_sequence'",
            _a_stop("stop_sequence", 4),
            None,
            "stop",
        ),
        (
            "an Anthropic message_delta with stop_reason 'model_context_window_exceeded'",
            _a_stop("model_context_window_exceeded", 8),
            None,
            "length",
        ),
        (
            "an Anthropic message_delta with stop_reason 'pause_turn' (not finished: send it back "
            "to continue)",
            _a_stop("pause_turn", 2),
            None,
            "pause_turn",
        ),
    ]


_FINISH_HINTS = {
    "tool_calls": (
        "the model asks you to run a tool, so its text is not the answer yet (Responses: a "
        "function_call item in response.output; Chat: 'tool_calls' or the older 'function_call'; "
        "Anthropic: 'tool_use')"
    ),
    "refusal": (
        "the model declined (Responses: a 'refusal' part in the message; Anthropic: stop_reason "
        "'refusal')"
    ),
    "filtered": (
        "a content filter cut the answer (Chat: 'content_filter'; Responses: "
        "incomplete_details.reason 'content_filter')"
    ),
    "failed": (
        "response.failed or an error event: the answer failed part-way, whatever text arrived"
    ),
    "max_messages": (
        "a reason you have no name for is not 'length' or 'stop': return the provider's own "
        "word (only max_output_tokens is a token limit, only content_filter a filter)"
    ),
    "steered": (
        "a reason you have no name for is not 'length' or 'stop': return the provider's own word"
    ),
    "length": (
        "a limit cut the answer: max_output_tokens, 'length', 'max_tokens', and "
        "'model_context_window_exceeded' (the context window is a limit too)"
    ),
    "stop": "the answer is complete (end_turn and stop_sequence both mean that)",
    "pause_turn": (
        "a word you have no name for is not 'stop': return the provider's own word, so the "
        "caller sees the turn is not finished"
    ),
    None: "this event does not say how the answer ended",
}


def _each(report: Report, fn: Callable[[Any], Any], column: int, what: str) -> None:
    for case in sample_events():
        description, event, want = case[0], case[1], case[column]
        ok, got = report.call(fn, event, what=f"for {description}")
        if not ok:
            continue
        if got == "" and want is None:
            got = None  # "" and None both mean "no text here"
        hint = f" ({what})" if column == 2 and want is not None else ""
        if column == 3 and got != want:
            hint = f": {_FINISH_HINTS[want]}"
        report.expect(
            got == want, f"for {description} it should return {want!r}, not {got!r}{hint}"
        )


def check_finish_of(finish_of: Callable[[Any], str | None]) -> bool:
    """Exercise 5.1: ``finish_of(event)``: "stop", "length", "tool_calls", "refusal", "filtered",
    "failed", the provider's own word for any other ending, or None."""

    def body(report: Report) -> None:
        _each(report, finish_of, 3, "how the answer ended")

    return run_check("Exercise 5.1: why did the answer end?", body)


def sample_streams() -> dict[str, tuple[list[Any], dict[str, Any]]]:
    """Whole streams, one per provider shape: ``name -> (events, the final result they describe)``."""
    usage = {
        "input_tokens": 4,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 6,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 10,
    }

    def r_delta(n: int, text: str) -> Any:
        return _event("response.output_text.delta", sequence_number=n, delta=text, **_TEXT_IDS)

    created = _event(
        "response.created", sequence_number=0, response={**_RESPONSE, "status": "in_progress"}
    )
    responses = [
        created,
        r_delta(1, "Hel"),
        r_delta(2, "lo"),
        r_delta(3, " there"),
        _event("response.output_text.done", sequence_number=4, text="Hello there", **_TEXT_IDS),
        _event(
            "response.completed",
            sequence_number=5,
            response={**_RESPONSE, "status": "completed", "usage": usage},
        ),
    ]
    cut = [
        created,
        r_delta(1, "Hel"),
        _event(
            "response.incomplete",
            sequence_number=2,
            response={
                **_RESPONSE,
                "status": "incomplete",
                "incomplete_details": {"reason": "max_output_tokens"},
                "usage": {**usage, "output_tokens": 2, "total_tokens": 6},
            },
        ),
    ]
    chat = [
        _chunk({"role": "assistant", "content": ""}),
        _chunk({"content": "Hel"}),
        _chunk({"content": "lo"}),
        _chunk({}, "length"),
        _chunk(None, usage=True),  # completion_tokens=5
    ]
    anthropic = [
        _event("message_start", message={**_MESSAGE}),
        _event("content_block_start", **_A_START),
        _a_delta({"type": "text_delta", "text": "Good"}),
        _a_delta({"type": "text_delta", "text": " day"}),
        _event("content_block_stop", index=0),
        _a_stop("end_turn", 4),
        _event("message_stop"),
    ]
    anthropic_tool = [
        _event("message_start", message={**_MESSAGE}),
        _event("content_block_start", **_A_START),
        _a_delta({"type": "text_delta", "text": "Let me look"}),
        _event("content_block_stop", index=0),
        _event(
            "content_block_start",
            index=1,
            content_block={"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
        ),
        _event(
            "content_block_delta",
            index=1,
            delta={"type": "input_json_delta", "partial_json": '{"city": "Par'},
        ),
        _event(
            "content_block_delta",
            index=1,
            delta={"type": "input_json_delta", "partial_json": 'is"}'},
        ),
        _event("content_block_stop", index=1),
        _a_stop("tool_use", 11),
        _event("message_stop"),
    ]
    return {
        "Anthropic Messages asking for a tool": (
            anthropic_tool,
            {"text": "Let me look", "finish": "tool_calls", "output_tokens": 11},
        ),
        "OpenAI Responses": (
            responses,
            {"text": "Hello there", "finish": "stop", "output_tokens": 6},
        ),
        "OpenAI Responses, cut by max_output_tokens": (
            cut,
            {"text": "Hel", "finish": "length", "output_tokens": 2},
        ),
        "Chat Completions with include_usage": (
            chat,
            {"text": "Hello", "finish": "length", "output_tokens": 5},
        ),
        "Anthropic Messages": (
            anthropic,
            {"text": "Good day", "finish": "stop", "output_tokens": 4},
        ),
    }


_HINTS = {
    "text": "join the text deltas only (the Responses output_text.done event repeats the whole text)",
    "finish": "use your finish_of: the last event that says why the answer ended",
    "output_tokens": (
        "tokens are what the provider reports, not the number of deltas. "
        "Responses: response.usage.output_tokens on the final event; Chat: usage.completion_tokens "
        "on the usage chunk; Anthropic: the usage on message_delta (message_start only has a "
        "placeholder count)"
    ),
}


def check_final_result(final_result: Callable[[list[Any]], dict[str, Any]]) -> bool:
    """Exercise 5.2: ``final_result(events)`` -> ``{"text", "finish", "output_tokens"}`` for any provider."""

    def body(report: Report) -> None:
        for name, (events, want) in sample_streams().items():
            ok, got = report.call(final_result, list(events), what=f"for the {name} stream")
            if not ok:
                continue
            if not report.expect(
                isinstance(got, dict), f"for the {name} stream return a dict, got {got!r:.60}"
            ):
                continue
            for key, value in want.items():
                report.expect(
                    got.get(key) == value,
                    f"for the {name} stream {key!r} should be {value!r}, not {got.get(key)!r}: {_HINTS[key]}",
                )

    return run_check("Exercise 5.2: one final result", body)
