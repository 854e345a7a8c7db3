"""The notebook 04 checks accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

from itertools import groupby

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb04


def test_solutions_pass(capsys):
    sol = load_solutions("04")
    assert nb04.check_accumulate(sol["accumulate"])
    assert nb04.check_accumulate_chat(sol["accumulate_chat"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_differently_written_correct_answers_pass(capsys):
    def accumulate(events):
        text, status = "", None
        for event in events:
            kind = getattr(event, "type", "")
            if kind == "response.output_text.delta":
                text += event.delta
            elif kind == "error":
                status = "failed"
            elif kind in ("response.completed", "response.incomplete", "response.failed"):
                status = event.response.status
        return text, status

    def accumulate_chat(chunks):
        chunks = list(chunks)  # read once, then look at it in peace
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
        usages = [c.usage for c in chunks if getattr(c, "usage", None)]
        return text, next((r for r in reversed(reasons) if r), None), (usages or [None])[-1]

    assert nb04.check_accumulate(accumulate)
    assert nb04.check_accumulate_chat(accumulate_chat)
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb04.check_accumulate, nb04.check_accumulate_chat)


def _text_deltas(events):
    return (e.delta for e in events if e.type == "response.output_text.delta")


def _right_status(seen):
    finals = {"response.completed", "response.incomplete", "response.failed", "error"}
    last = next((e.type for e in reversed(seen) if e.type in finals), None)
    return {None: None, "response.completed": "completed", "response.incomplete": "incomplete"}.get(
        last, "failed"
    )


def text_only(text_of):
    """A wrong text (``text_of(events) -> str``) with the right status: only the text is judged."""

    def accumulate(events):
        seen = []

        def watched():
            for event in events:
                seen.append(event)
                yield event

        return text_of(watched()), _right_status(seen)

    return accumulate


def any_delta(events):
    return "".join(getattr(e, "delta", "") for e in events)


def deltas_and_done_text(events):
    text = ""
    for e in events:
        if e.type == "response.output_text.delta":
            text += e.delta
        elif e.type == "response.output_text.done":
            text += e.text
    return text


def reads_twice(events):
    if not any(e.type == "response.completed" for e in events):
        return None
    return "".join(_text_deltas(events))


def stripped(events):
    return "".join(d.strip() for d in _text_deltas(events))


def final_event_text(events):
    for e in events:
        if e.type == "response.completed":
            return e.response.output_text
    return ""


def done_event_text(events):
    return "".join(e.text for e in events if e.type == "response.output_text.done")


def every_kind_of_text_delta(events):
    return "".join(e.delta for e in events if e.type.endswith("text.delta"))


def no_repeats(events):
    seen, parts = set(), []
    for delta in _text_deltas(events):
        if delta not in seen:  # "the stream resends pieces"
            seen.add(delta)
            parts.append(delta)
    return "".join(parts)


def text_alone(events):
    return "".join(_text_deltas(events))


def always_completed(events):
    return "".join(_text_deltas(events)), "completed"


def last_event_type(events):
    parts, last = [], None
    for e in events:
        last = e.type
        if e.type == "response.output_text.delta":
            parts.append(e.delta)
    return "".join(parts), last


def last_type_without_prefix(events):
    text, last = last_event_type(events)
    return text, last.removeprefix("response.")


def error_event_is_none(events):
    parts, status = [], None
    for e in events:
        if e.type == "response.output_text.delta":
            parts.append(e.delta)
        elif e.type in ("response.completed", "response.incomplete", "response.failed"):
            status = e.type.removeprefix("response.")
    return "".join(parts), status


def completed_unless_told(events):
    parts, status = [], "completed"
    for e in events:
        if e.type == "response.output_text.delta":
            parts.append(e.delta)
        elif e.type in ("response.incomplete", "response.failed", "error"):
            status = "incomplete" if e.type == "response.incomplete" else "failed"
    return "".join(parts), status


def final_events_status(events):
    parts, last = [], None
    for last in events:
        if last.type == "response.output_text.delta":
            parts.append(last.delta)
    return "".join(parts), last.response.status


def done_text_and_status(events):
    parts, status = [], None
    for e in events:
        if e.type == "response.output_text.done":
            parts.append(e.text)
        elif e.type in ("response.completed", "response.incomplete", "response.failed"):
            status = e.response.status
        elif e.type == "error":
            status = "failed"
    return "".join(parts), status


WRONG_ACCUMULATE = {
    "any event with a delta": (text_only(any_delta), ["includes deltas that are not answer text"]),
    "deltas and the done text": (text_only(deltas_and_done_text), ["the answer appears twice"]),
    "reads the stream twice": (text_only(reads_twice), ["can be read only once"]),
    "strips deltas": (text_only(stripped), ["spaces or newlines are lost"]),
    "the final event's text": (
        text_only(final_event_text),
        ["stopped early", "ended with `response.incomplete`", "do not wait for the final"],
    ),
    "the done events' text": (text_only(done_event_text), ["stopped early"]),
    "reasoning text deltas too": (
        text_only(every_kind_of_text_delta),
        ["reasoning and a tool call first"],
    ),
    "repeated deltas dropped": (text_only(no_repeats), ["repeats and whitespace included"]),
    "the text alone, no status": (
        text_alone,
        ["return a tuple (text, status)", "you returned only the text"],
    ),
    "always completed": (
        always_completed,
        [
            "status: a stream that ended with response.incomplete is not 'completed'",
            "its reason is in response.incomplete_details",
            "an error event means failed even with text",
            "has no final event: None, not 'completed'",
        ],
    ),
    "the last event's type": (
        last_event_type,
        ["not the event type 'response.completed'", "map the final event's type"],
    ),
    "the last event's type, prefix cut": (
        last_type_without_prefix,
        ["not the event type 'error'", "has no final event: None, not 'output_text.delta'"],
    ),
    "an error event read as no final event": (
        error_event_is_none,
        ["closed right after an error event: status: an error event means failed", "not None"],
    ),
    "completed unless told otherwise": (
        completed_unless_told,
        ["stopped by the reader after 3", "has no final event: None, not 'completed'"],
    ),
    "the last event's response.status": (
        final_events_status,
        [
            "AttributeError",
            "an `error` event has no `response`",
            "a stream stopped by the reader ends with a delta",
            "its status is None",
        ],
    ),
    "the done text, with the status": (
        done_text_and_status,
        ["stopped early", "ended with `response.failed`", "a failed stream has no `*.done` events"],
    ),
}


@pytest.mark.parametrize("name", WRONG_ACCUMULATE)
def test_accumulate_rejects(name, capsys):
    answer, says = WRONG_ACCUMULATE[name]
    assert_explains(capsys, nb04.check_accumulate, answer, "[FAIL]", *says)


def chat_first_choice_always(chunks):
    text, reason = "", None
    for c in chunks:
        choice = c.choices[0]
        text += choice.delta.content or ""
        reason = choice.finish_reason or reason
    return text, reason, None


def chat_concat_none(chunks):
    text, reason, usage = "", None, None
    for c in chunks:
        usage = c.usage or usage
        for choice in c.choices:
            text += choice.delta.content
            reason = choice.finish_reason or reason
    return text, reason, usage


def chat_no_usage(chunks):
    text, reason = "", None
    for c in chunks:
        for choice in c.choices:
            text += choice.delta.content or ""
            reason = choice.finish_reason or reason
    return text, reason, None


def chat_last_content_only(chunks):
    text, reason, usage = "", None, None
    for c in chunks:
        usage = c.usage or usage
        for choice in c.choices:
            text = choice.delta.content or text
            reason = choice.finish_reason or reason
    return text, reason, usage


def chat_stop_or_length(chunks):
    text, reason, usage = "", None, None
    for c in chunks:
        usage = c.usage or usage
        for choice in c.choices:
            text += choice.delta.content or ""
            if choice.finish_reason:
                reason = "length" if choice.finish_reason == "length" else "stop"
    return text, reason, usage


def chat_finish_from_the_last_chunk(chunks):  # "the last chunk says how it ended"
    chunks = list(chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1]
    finish = last.choices[0].finish_reason if last.choices else None
    return text, finish, last.usage


WRONG_CHAT = {
    "finish_reason of the very last chunk": (
        chat_finish_from_the_last_chunk,
        ["a stream with include_usage: the finish_reason (from the chunk that has one)"],
    ),
    "choices[0] of every chunk": (chat_first_choice_always, ["no choices", "IndexError"]),
    "None content concatenated": (chat_concat_none, ["`delta.content` is None in some chunks"]),
    "usage never read": (chat_no_usage, ["usage should be the last chunk's `usage`"]),
    "last content only": (chat_last_content_only, ["the text: expected"]),
    "finish reasons folded to stop": (
        chat_stop_or_length,
        ["the finish_reason", "expected 'content_filter', got 'stop'"],
    ),
}


@pytest.mark.parametrize("name", WRONG_CHAT)
def test_accumulate_chat_rejects(name, capsys):
    answer, says = WRONG_CHAT[name]
    assert_explains(capsys, nb04.check_accumulate_chat, answer, "[FAIL]", *says)


def test_streams_built_by_the_check_are_what_the_sdk_yields():
    events = nb04.responses_events(["a", "b"], extras="reasoning tool refusal")
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == "ab"
    chunks = nb04.chat_chunks(["x"], usage=True)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 10
    assert chunks[-2].choices[0].finish_reason == "stop"


LIVE_ENDINGS = {
    "completed": {},
    "incomplete": {"x-streamlab-ending": "max-tokens;after=3"},
    "failed": {"x-streamlab-ending": "failed;after=3"},
    "error": {"x-streamlab-fault": "error-after={k}"},  # k: three text deltas in
}


def _live(server, headers):
    return list(
        server.openai(max_retries=0).responses.create(
            model="m",
            input="Tell me about coffee",
            reasoning={"effort": "low", "summary": "auto"},
            stream=True,
            extra_headers=headers,
        )
    )


def _message_runs(events):
    """The types from the message's item on, each run folded: delta counts differ, not the shape."""
    at = max(n for n, e in enumerate(events) if e.type == "response.output_item.added")
    return [kind for kind, _ in groupby(e.type for e in events[at:])]


@pytest.mark.parametrize("ending", LIVE_ENDINGS)
def test_the_check_ends_a_stream_as_the_local_provider_does(local_server, ending):
    from openai.types.responses import ResponseStreamEvent
    from pydantic import TypeAdapter

    whole = [e.type for e in _live(local_server, {})]  # the provider is deterministic
    k = whole.index("response.output_text.delta") + 3
    headers = {h: v.format(k=k) for h, v in LIVE_ENDINGS[ending].items()}
    live = _live(local_server, headers)
    built = nb04.responses_events(list(_text_deltas(live)), extras="reasoning", ending=ending)
    assert _message_runs(built) == _message_runs(live)
    assert {e.type for e in built} == {e.type for e in live}  # the reasoning item's events too
    strict = TypeAdapter(ResponseStreamEvent)
    for event in built:
        strict.validate_python(event.model_dump(mode="json", exclude_unset=True))
    got, want = built[-1].response, live[-1].response
    assert (got.status, got.incomplete_details, got.output_text) == (
        want.status,
        want.incomplete_details,
        want.output_text,
    )
    assert (got.error and got.error.code) == (want.error and want.error.code)
    assert [(o.type, o.status) for o in got.output if o.type == "message"] == [
        (o.type, o.status) for o in want.output if o.type == "message"
    ]
    if ending == "error":
        assert built[-2].model_dump() == {
            **live[-2].model_dump(),
            "sequence_number": len(built) - 2,
        }
