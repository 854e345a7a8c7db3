"""The notebook 04 checks accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb04


def test_solutions_pass(capsys):
    sol = load_solutions("04")
    assert nb04.check_accumulate(sol["accumulate"])
    assert nb04.check_accumulate_chat(sol["accumulate_chat"])
    assert capsys.readouterr().out.count("✅") == 2


def test_differently_written_correct_answers_pass(capsys):
    def accumulate(events):
        text = ""
        for event in events:
            if getattr(event, "type", "") == "response.output_text.delta":
                text += event.delta
        return text

    def accumulate_chat(chunks):
        chunks = list(chunks)  # read once, then look at it in peace
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        reasons = [c.choices[0].finish_reason for c in chunks if c.choices]
        usages = [c.usage for c in chunks if getattr(c, "usage", None)]
        return text, next((r for r in reversed(reasons) if r), None), (usages or [None])[-1]

    assert nb04.check_accumulate(accumulate)
    assert nb04.check_accumulate_chat(accumulate_chat)
    assert capsys.readouterr().out.count("✅") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb04.check_accumulate, nb04.check_accumulate_chat)


def _text_deltas(events):
    return (e.delta for e in events if e.type == "response.output_text.delta")


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


WRONG_ACCUMULATE = {
    "any event with a delta": (any_delta, ["includes deltas that are not answer text"]),
    "deltas and the done text": (deltas_and_done_text, ["the answer appears twice"]),
    "reads the stream twice": (reads_twice, ["can be read only once"]),
    "strips deltas": (stripped, ["spaces or newlines are lost"]),
    "the final event's text": (final_event_text, ["stopped early", "do not wait for the final"]),
    "the done events' text": (done_event_text, ["stopped early"]),
    "reasoning text deltas too": (every_kind_of_text_delta, ["reasoning and a tool call first"]),
    "repeated deltas dropped": (no_repeats, ["repeats and whitespace included"]),
}


@pytest.mark.parametrize("name", WRONG_ACCUMULATE)
def test_accumulate_rejects(name, capsys):
    answer, says = WRONG_ACCUMULATE[name]
    assert_explains(capsys, nb04.check_accumulate, answer, "❌", *says)


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


WRONG_CHAT = {
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
    assert_explains(capsys, nb04.check_accumulate_chat, answer, "❌", *says)


def test_streams_built_by_the_check_are_what_the_sdk_yields():
    events = nb04.responses_events(["a", "b"], extras="reasoning tool refusal")
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == "ab"
    chunks = nb04.chat_chunks(["x"], usage=True)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 10
    assert chunks[-2].choices[0].finish_reason == "stop"
