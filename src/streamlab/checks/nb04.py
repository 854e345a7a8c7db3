"""Checks for notebook 04, OpenAI streaming.

- :func:`check_accumulate`: exercise 4.1, join the text of a Responses stream.
- :func:`check_accumulate_chat`: exercise 4.2, join a Chat Completions stream,
  finish reason and usage chunk included.

Both feed the learner's function with the same SDK objects a real stream
yields (built from the JSON the server sends, exactly as the SDK builds
them), including events that must be ignored.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from streamlab.checks._report import Report, run_check

__all__ = ["check_accumulate", "check_accumulate_chat", "responses_events", "chat_chunks"]


def _construct(type_: Any, value: dict[str, Any]) -> Any:
    """Build an SDK model from wire JSON the way the SDK does while streaming."""
    try:  # the SDK's own (lenient) constructor: what `for event in stream` yields
        from openai._models import construct_type

        return construct_type(type_=type_, value=value)
    except ImportError:  # pragma: no cover - private helper moved
        import pydantic

        return pydantic.TypeAdapter(type_).validate_python(value)


def _single_pass(items: list[Any]) -> Iterator[Any]:
    """A generator: like a live stream, it can be read only once."""
    yield from items


# --------------------------------------------------------------------------- 4.1
_ITEM = "msg_0001"


def _response(status: str, text: str | None = None) -> dict[str, Any]:
    output = []
    if text is not None:
        output = [
            {
                "id": _ITEM,
                "type": "message",
                "role": "assistant",
                "status": "completed",
                "content": [
                    {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
                ],
            }
        ]
    return {
        "id": "resp_0001",
        "object": "response",
        "created_at": 0,
        "model": "streamlab-sim",
        "status": status,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }


def _item(out: int, item: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``events`` between ``response.output_item.added`` and ``.done`` of output ``out``."""
    return [
        {"type": "response.output_item.added", "output_index": out, "item": item},
        *events,
        {"type": "response.output_item.done", "output_index": out, "item": item},
    ]


def _streamed(
    kind: str, where: dict[str, Any], pieces: list[str], done: dict[str, Any], **extra: Any
) -> list[dict[str, Any]]:
    """``{kind}.delta`` events, one a piece, then ``{kind}.done``; each names ``where`` it goes."""
    return [
        *({"type": f"{kind}.delta", **where, "delta": piece, **extra} for piece in pieces),
        {"type": f"{kind}.done", **where, **done},
    ]


def responses_events(deltas: list[str], *, extras: str = "") -> list[Any]:
    """A Responses event stream (SDK objects) whose output text is ``"".join(deltas)``.

    ``extras`` adds events a text accumulator must ignore: ``"reasoning"``
    (a reasoning summary streamed first), ``"tool"`` (function-call argument
    deltas), ``"refusal"`` (refusal deltas in a second content part).
    """
    from openai.types.responses import ResponseStreamEvent

    text = "".join(deltas)
    raw: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.in_progress", "response": _response("in_progress")},
    ]
    out = 0
    if "reasoning" in extras:
        rs = {"id": "rs_0001", "type": "reasoning", "summary": []}
        raw += _item(
            out,
            rs,
            _streamed(
                "response.reasoning_summary_text",
                {"item_id": "rs_0001", "output_index": out, "summary_index": 0},
                ["Thinking about ", "the question."],
                {"text": "Thinking about the question."},
            ),
        )
        out += 1
    if "tool" in extras:
        fc = {
            "id": "fc_0001",
            "type": "function_call",
            "call_id": "call_1",
            "name": "get_weather",
            "arguments": "",
        }
        raw += _item(
            out,
            fc,
            _streamed(
                "response.function_call_arguments",
                {"item_id": "fc_0001", "output_index": out},
                ['{"city": ', '"Paris"}'],
                {"arguments": '{"city": "Paris"}'},
            ),
        )
        out += 1
    msg = {
        "id": _ITEM,
        "type": "message",
        "role": "assistant",
        "status": "in_progress",
        "content": [],
    }
    at = {"item_id": _ITEM, "output_index": out, "content_index": 0}
    content = [
        {
            "type": "response.content_part.added",
            **at,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        *_streamed("response.output_text", at, deltas, {"text": text, "logprobs": []}, logprobs=[]),
        {
            "type": "response.content_part.done",
            **at,
            "part": {"type": "output_text", "text": text, "annotations": []},
        },
    ]
    if "refusal" in extras:
        at = {**at, "content_index": 1}
        content.append(
            {
                "type": "response.content_part.added",
                **at,
                "part": {"type": "refusal", "refusal": ""},
            }
        )
        content += _streamed(
            "response.refusal",
            at,
            ["I can't ", "help with that."],
            {"refusal": "I can't help with that."},
        )
    raw += _item(out, msg, content)
    raw.append({"type": "response.completed", "response": _response("completed", text)})
    for n, event in enumerate(raw):
        event["sequence_number"] = n
    return [_construct(ResponseStreamEvent, e) for e in raw]


def _stopped(events: list[Any], after: int) -> list[Any]:
    """The stream as a reader who pressed Stop saw it: cut right after its ``after``-th text delta."""
    seen = 0
    for n, event in enumerate(events):
        if event.type == "response.output_text.delta":
            seen += 1
            if seen == after:
                return events[: n + 1]
    return events


def _random_deltas(seed: int) -> list[str]:
    """Deltas of many sizes, some repeated (a model says "ha" twice), some only whitespace."""
    rng = random.Random(seed)
    pieces = ["ha", " ha", "Stream", "ing", " ", "\n\n", " é", "🙂", " the", " the", ".", "  "]
    return [rng.choice(pieces) for _ in range(rng.randint(30, 60))]


def _diagnose_text(report: Report, got: Any, want: str, events: list[Any], what: str) -> None:
    if not isinstance(got, str) and not (got is None and want):
        report.expect(False, f"{what}: return the text as one str, got {type(got).__name__}")
        return
    if got == want:
        report.expect(True, "")
        return
    other = [
        e.delta
        for e in events
        if getattr(e, "delta", None) and e.type != "response.output_text.delta"
    ]
    if want and got == want + want or (want and got.endswith(want + want)):
        problem = (
            "the answer appears twice: `response.output_text.done` (and the final response) "
            "carry the whole text again; join only the `response.output_text.delta` events"
        )
    elif any(piece in got for piece in other):
        problem = (
            "your text includes deltas that are not answer text (reasoning summary, tool-call "
            "arguments or a refusal also have a `delta`); keep only events whose type is "
            "'response.output_text.delta'"
        )
    elif not any(e.type == "response.completed" for e in events) and got in ("", None) and want:
        problem = (
            "this stream stopped early (no `*.done` events, no `response.completed`), and you "
            f"returned {got!r}: join the `response.output_text.delta` events as they come, do not "
            "wait for the final event's text"
        )
    elif got == "" and want:
        problem = (
            "you returned an empty string: did you read the events twice? A stream (here a "
            "generator) can be read only once"
        )
    elif got.replace(" ", "").replace("\n", "") == want.replace(" ", "").replace("\n", ""):
        problem = "spaces or newlines are lost: join the deltas exactly as they come (no strip)"
    else:
        problem = f"expected {want!r}, got {got!r}"
    report.expect(False, f"{what}: {problem}")


def check_accumulate(accumulate: Callable[[Iterable[Any]], str]) -> bool:
    """Exercise 4.1: ``accumulate(events) -> str`` joins a Responses stream's text."""

    def body(r: Report) -> None:
        cases = [
            ("a plain stream", ["Hello", ",", " world", "!"], ""),
            ("spaces and newlines", ["  Two", " lines", "\n", "and ", "é", "🙂 "], ""),
            (
                "a stream with reasoning and a tool call first",
                ["Sunny", " in Paris."],
                "reasoning tool",
            ),
            ("a stream that ends with a refusal part", ["Here is", " part of it."], "refusal"),
            ("a stream with no text at all", [], ""),
            ("a random stream, repeats and whitespace included (seed 4)", _random_deltas(4), ""),
        ]
        for what, deltas, extras in cases:
            events = responses_events(deltas, extras=extras)
            ok, got = r.call(accumulate, _single_pass(events), what=what)
            if ok:
                _diagnose_text(r, got, "".join(deltas), events, what)
        stopped = _random_deltas(5)
        for after in (3, len(stopped) // 2):
            what = f"a stream stopped by the reader after {after} of {len(stopped)} deltas"
            events = _stopped(responses_events(stopped, extras="reasoning"), after)
            ok, got = r.call(accumulate, _single_pass(events), what=what)
            if ok:
                _diagnose_text(r, got, "".join(stopped[:after]), events, what)

    return run_check("Exercise 4.1: accumulate a Responses stream", body)


# --------------------------------------------------------------------------- 4.2
def chat_chunks(deltas: list[str], *, finish_reason: str = "stop", usage: bool = True) -> list[Any]:
    """A Chat Completions stream (SDK ``ChatCompletionChunk`` objects).

    Like the real API: the first chunk carries the role and empty content,
    the last choice chunk has ``content`` None and a ``finish_reason``, and
    with ``stream_options={"include_usage": True}`` a final chunk has
    ``choices == []`` and the usage (every other chunk has ``usage`` None).
    """
    from openai.types.chat import ChatCompletionChunk

    base = {
        "id": "chatcmpl-0001",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "streamlab-sim",
    }

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        c: dict[str, Any] = {
            **base,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if usage:
            c["usage"] = None
        return c

    raw = [chunk({"role": "assistant", "content": "", "refusal": None})]
    raw += [chunk({"content": d}) for d in deltas]
    raw.append(chunk({}, finish_reason))
    if usage:
        n = max(1, len(deltas))
        raw.append(
            {
                **base,
                "choices": [],
                "usage": {"prompt_tokens": 9, "completion_tokens": n, "total_tokens": 9 + n},
            }
        )
    return [_construct(ChatCompletionChunk, c) for c in raw]


def _hint_for(exc: BaseException) -> str | None:
    if isinstance(exc, IndexError):
        return (
            "the usage chunk at the end has no choices "
            "(`chunk.choices == []`); check `if chunk.choices:` before `chunk.choices[0]`"
        )
    if isinstance(exc, TypeError) and "NoneType" in str(exc):
        return (
            "`delta.content` is None in some chunks "
            "(the last choice chunk has only a finish_reason); skip None"
        )
    if isinstance(exc, AttributeError) and "NoneType" in str(exc):
        return (
            "`chunk.usage` is None on every chunk but "
            "the last, and missing entirely without include_usage"
        )
    return None


def check_accumulate_chat(accumulate_chat: Callable[[Iterable[Any]], tuple[str, Any, Any]]) -> bool:
    """Exercise 4.2: ``accumulate_chat(chunks) -> (text, finish_reason, usage)``."""

    def body(r: Report) -> None:
        cases = [
            ("a stream with include_usage", ["Streaming", " is", " fun", "."], "stop", True),
            (
                "a stream cut by max_tokens, no usage requested",
                ["A long", " answer"],
                "length",
                False,
            ),
            ("an empty answer with usage", [], "stop", True),
            (
                "a random stream cut by a content filter (seed 6)",
                _random_deltas(6),
                "content_filter",
                True,
            ),
        ]
        for what, deltas, finish, usage in cases:
            chunks = chat_chunks(deltas, finish_reason=finish, usage=usage)
            ok, got = r.call(accumulate_chat, _single_pass(chunks), what=what, hint=_hint_for)
            if not ok:
                continue
            if not (isinstance(got, tuple) and len(got) == 3):
                r.expect(False, f"{what}: return a tuple (text, finish_reason, usage), got {got!r}")
                continue
            text, reason, used = got
            want_text = "".join(deltas)
            if text == "" and want_text:
                r.expect(False, f"{what}: the text is empty; a stream can be read only once")
            else:
                r.equal(text, want_text, f"{what}: the text")
            r.equal(reason, finish, f"{what}: the finish_reason (from the chunk that has one)")
            want_usage = chunks[-1].usage if usage else None
            if want_usage is None:
                r.expect(
                    used is None,
                    f"{what}: usage should be None when the stream carries none, got {used!r}",
                )
            else:
                total = getattr(used, "total_tokens", None)
                r.expect(
                    total == want_usage.total_tokens,
                    f"{what}: usage should be the last chunk's `usage` (total_tokens "
                    f"{want_usage.total_tokens}), got {used!r}",
                )

    return run_check("Exercise 4.2: accumulate a Chat Completions stream", body)
