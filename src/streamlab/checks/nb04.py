"""Checks for notebook 04, OpenAI streaming.

- :func:`check_accumulate`: exercise 4.1, join the text of a Responses stream
  and say how it ended (completed, incomplete, failed, or stopped first).
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

__all__ = [
    "ENDINGS",
    "check_accumulate",
    "check_accumulate_chat",
    "responses_events",
    "chat_chunks",
]


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

#: How each ending of :func:`responses_events` closes the stream: the final event's
#: type and the ``status`` an accumulator reports (None: the stream was cut first).
ENDINGS = {
    "completed": ("response.completed", "completed"),
    "incomplete": ("response.incomplete", "incomplete"),
    "failed": ("response.failed", "failed"),
    "error": ("response.failed", "failed"),  # an `error` event, then response.failed
}

# The local provider's wording (streamlab.provider.openai_responses and .faults).
_MODEL_FAILED = "The model failed to generate a response. (simulated by streamlab)"
_SERVER_ERROR = "The server had an error while processing your request. (simulated by streamlab)"


def _message(status: str, text: str | None) -> dict[str, Any]:
    content = [] if text is None else [_part(text)]
    return {
        "id": _ITEM,
        "type": "message",
        "role": "assistant",
        "status": status,
        "content": content,
    }


def _part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def _response(status: str, output: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A ``Response`` snapshot; a final one (not in_progress) says why it ended, as the provider does."""
    response: dict[str, Any] = {
        "id": "resp_0001",
        "object": "response",
        "created_at": 0,
        "model": "streamlab-sim",
        "status": status,
        "error": None,
        "incomplete_details": None,
        "output": output or [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    }
    if status == "incomplete":
        response["incomplete_details"] = {"reason": "max_output_tokens"}
    elif status == "failed":
        response["error"] = {"code": "server_error", "message": _MODEL_FAILED}
    return response


def _item(
    out: int, added: dict[str, Any], events: list[dict[str, Any]], done: dict[str, Any]
) -> list[dict[str, Any]]:
    """``events`` between ``response.output_item.added`` and ``.done`` of output ``out``."""
    return [
        {"type": "response.output_item.added", "output_index": out, "item": added},
        *events,
        {"type": "response.output_item.done", "output_index": out, "item": done},
    ]


def _done(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The output items complete so far: a final response's ``output``."""
    return [e["item"] for e in raw if e["type"] == "response.output_item.done"]


def _streamed(
    kind: str, where: dict[str, Any], pieces: list[str], done: dict[str, Any], **extra: Any
) -> list[dict[str, Any]]:
    """``{kind}.delta`` events, one a piece, then ``{kind}.done``; each names ``where`` it goes."""
    return [
        *({"type": f"{kind}.delta", **where, "delta": piece, **extra} for piece in pieces),
        {"type": f"{kind}.done", **where, **done},
    ]


def _reasoning(out: int) -> list[dict[str, Any]]:
    summary = "Thinking about the question."
    rs = {"id": "rs_0001", "type": "reasoning", "summary": []}
    at = {"item_id": "rs_0001", "output_index": out, "summary_index": 0}
    part = {"type": "summary_text", "text": summary}
    return _item(
        out,
        rs,
        [
            {"type": "response.reasoning_summary_part.added", **at, "part": {**part, "text": ""}},
            *_streamed(
                "response.reasoning_summary_text",
                at,
                ["Thinking about ", "the question."],
                {"text": summary},
            ),
            {"type": "response.reasoning_summary_part.done", **at, "part": part},
        ],
        {**rs, "summary": [part]},
    )


def _tool_call(out: int) -> list[dict[str, Any]]:
    arguments = '{"city": "Paris"}'
    fc = {
        "id": "fc_0001",
        "type": "function_call",
        "status": "in_progress",
        "call_id": "call_1",
        "name": "get_weather",
        "arguments": "",
    }
    return _item(
        out,
        fc,
        _streamed(
            "response.function_call_arguments",
            {"item_id": "fc_0001", "output_index": out},
            ['{"city": ', '"Paris"}'],
            {"arguments": arguments},
        ),
        {**fc, "status": "completed", "arguments": arguments},
    )


def responses_events(
    deltas: list[str], *, extras: str = "", ending: str = "completed"
) -> list[Any]:
    """A Responses event stream (SDK objects) whose output text is ``"".join(deltas)``.

    ``extras`` adds events a text accumulator must ignore: ``"reasoning"``
    (a reasoning summary streamed first), ``"tool"`` (function-call argument
    deltas), ``"refusal"`` (refusal deltas in a second content part).
    ``ending`` is how the stream ends, as the local provider ends it (a key of
    :data:`ENDINGS`): ``"completed"``; ``"incomplete"`` (cut by
    max_output_tokens: the ``*.done`` events, then ``response.incomplete``);
    ``"failed"`` (the model failed after the deltas: no ``*.done`` events,
    ``response.failed``); ``"error"`` (an ``error`` event after the deltas,
    then ``response.failed`` with no output, like the provider's
    ``error-after`` fault).
    """
    from openai.types.responses import ResponseStreamEvent

    if ending not in ENDINGS:
        raise ValueError(f"ending={ending!r}: use one of {sorted(ENDINGS)}")
    text = "".join(deltas)
    raw: list[dict[str, Any]] = [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.in_progress", "response": _response("in_progress")},
    ]
    if "reasoning" in extras:
        raw += _reasoning(out=0)
    if "tool" in extras:
        raw += _tool_call(out=int("reasoning" in extras))
    out = int("reasoning" in extras) + int("tool" in extras)
    at = {"item_id": _ITEM, "output_index": out, "content_index": 0}
    raw += [
        {
            "type": "response.output_item.added",
            "output_index": out,
            "item": _message("in_progress", None),
        },
        {"type": "response.content_part.added", **at, "part": _part("")},
    ]
    text_events = _streamed(
        "response.output_text", at, deltas, {"text": text, "logprobs": []}, logprobs=[]
    )
    status = ENDINGS[ending][1]
    if ending == "error":
        raw += text_events[:-1]
        raw.append(
            {"type": "error", "code": "server_error", "message": _SERVER_ERROR, "param": None}
        )
        failed = _response("failed")
        failed["error"] = {"code": "server_error", "message": _SERVER_ERROR}
        raw.append({"type": "response.failed", "response": failed})
    elif ending == "failed":  # the provider sends no *.done events for the cut message
        raw += text_events[:-1]
        raw.append(
            {
                "type": "response.failed",
                "response": _response(status, [*_done(raw), _message("incomplete", text)]),
            }
        )
    else:
        item_status = "completed" if ending == "completed" else "incomplete"
        raw += [*text_events, {"type": "response.content_part.done", **at, "part": _part(text)}]
        message = _message(item_status, text)
        if "refusal" in extras:
            refusal = "I can't help with that."
            at = {**at, "content_index": 1}
            raw.append(
                {
                    "type": "response.content_part.added",
                    **at,
                    "part": {"type": "refusal", "refusal": ""},
                }
            )
            raw += _streamed(
                "response.refusal", at, ["I can't ", "help with that."], {"refusal": refusal}
            )
            part = {"type": "refusal", "refusal": refusal}
            raw.append({"type": "response.content_part.done", **at, "part": part})
            message["content"].append(part)
        raw.append({"type": "response.output_item.done", "output_index": out, "item": message})
        raw.append({"type": ENDINGS[ending][0], "response": _response(status, _done(raw))})
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
        report.expect(False, f"{what}: the text: return it as one str, got {type(got).__name__}")
        return
    if got == want:
        report.expect(True, "")
        return
    last = events[-1].type if events else None
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
    elif last == "response.output_text.delta" and got in ("", None) and want:
        problem = (
            "this stream stopped early (no `*.done` events, no final event), and you "
            f"returned {got!r}: join the `response.output_text.delta` events as they come, do not "
            "wait for the final event's text"
        )
    elif last != "response.completed" and got in ("", None) and want:
        done = any(e.type == "response.output_text.done" for e in events)
        problem = (
            f"this stream ended with `{last}`, not `response.completed`, and you returned "
            f"{got!r}: the text that arrived is still in its `response.output_text.delta` events"
            + ("" if done else " (a failed stream has no `*.done` events)")
            + "; join them as they come, do not wait for the final event's text"
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
    report.expect(False, f"{what}: the text: {problem}")


def _diagnose_status(
    report: Report, got: Any, want: str | None, events: list[Any], what: str
) -> None:
    if got == want:
        report.expect(True, "")
        return
    if isinstance(got, str) and (got.startswith("response.") or got == "error"):
        problem = (
            f"give the status as a word, 'completed', 'incomplete' or 'failed' (or None), not "
            f"the event type {got!r}: map the final event's type to it"
        )
    elif want is None:
        problem = (
            f"a stream stopped by the reader has no final event: None, not {got!r} (only a "
            "`response.completed` makes the answer 'completed')"
        )
    elif want == "incomplete":
        problem = (
            f"a stream that ended with response.incomplete is not {got!r} but 'incomplete': the "
            "text was cut short; its reason is in response.incomplete_details (here "
            "max_output_tokens)"
        )
    elif any(e.type == "error" for e in events):
        problem = (
            f"an error event means failed even with text before it (and even with no "
            f"response.failed after it): 'failed', not {got!r}"
        )
    elif want == "failed":
        problem = (
            f"a stream that ended with response.failed is 'failed', not {got!r}, even with text "
            "before it (what went wrong is in response.error)"
        )
    else:
        problem = f"a stream that ended with response.completed is 'completed', not {got!r}"
    report.expect(False, f"{what}: status: {problem}")


def _status_hint(exc: BaseException) -> str | None:
    if not (isinstance(exc, AttributeError) and "'response'" in str(exc)):
        return None
    if "ResponseErrorEvent" in str(exc):
        return (
            "an `error` event has no `response`: it is a final event of its own (its `code` and "
            "`message` say what went wrong), and it means 'failed'"
        )
    return (
        "only the final events (`response.completed`, `.incomplete`, `.failed`) carry a "
        "`response`; a stream stopped by the reader ends with a delta: it has no final event, "
        "and its status is None"
    )


def check_accumulate(accumulate: Callable[[Iterable[Any]], tuple[str, str | None]]) -> bool:
    """Exercise 4.1: ``accumulate(events) -> (text, status)`` for a Responses stream.

    ``text`` joins the answer's deltas; ``status`` is ``"completed"``,
    ``"incomplete"``, ``"failed"`` (``response.failed`` or an ``error``
    event), or ``None`` when the stream stopped before any final event.
    """

    def body(r: Report) -> None:
        cases: list[tuple[str, list[str], list[Any], str | None]] = []

        def add(what: str, deltas: list[str], extras: str = "", ending: str = "completed") -> None:
            events = responses_events(deltas, extras=extras, ending=ending)
            cases.append((what, deltas, events, ENDINGS[ending][1]))

        add("a plain stream", ["Hello", ",", " world", "!"])
        add("spaces and newlines", ["  Two", " lines", "\n", "and ", "é", "🙂 "])
        add(
            "a stream with reasoning and a tool call first",
            ["Sunny", " in Paris."],
            "reasoning tool",
        )
        add("a stream that ends with a refusal part", ["Here is", " part of it."], "refusal")
        add("a stream with no text at all", [])
        add("a random stream, repeats and whitespace included (seed 4)", _random_deltas(4))
        add(
            "a stream cut short by max_output_tokens",
            ["It was", " a dark", " and"],
            ending="incomplete",
        )
        add(
            "a random stream cut by max_output_tokens after a tool call (seed 7)",
            _random_deltas(7),
            "tool",
            "incomplete",
        )
        add(
            "a stream that failed part-way (response.failed)",
            ["Half", " an answer"],
            ending="failed",
        )
        add(
            "a stream with an error event after the text",
            ["So far", " so good"],
            "reasoning",
            "error",
        )
        what = "a stream whose connection closed right after an error event"
        events = responses_events(["Cut", " here"], ending="error")[:-1]
        cases.append((what, ["Cut", " here"], events, "failed"))
        stopped = _random_deltas(5)
        for after in (3, len(stopped) // 2):
            what = f"a stream stopped by the reader after {after} of {len(stopped)} deltas"
            events = _stopped(responses_events(stopped, extras="reasoning"), after)
            cases.append((what, stopped[:after], events, None))
        for what, deltas, events, status in cases:
            ok, got = r.call(accumulate, _single_pass(events), what=what, hint=_status_hint)
            if not ok:
                continue
            if not (isinstance(got, tuple) and len(got) == 2):
                only = " (you returned only the text)" if isinstance(got, str) else ""
                r.expect(False, f"{what}: return a tuple (text, status), got {got!r:.80}{only}")
                continue
            _diagnose_text(r, got[0], "".join(deltas), events, what)
            _diagnose_status(r, got[1], status, events, what)

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
