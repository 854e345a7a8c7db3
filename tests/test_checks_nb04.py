"""The notebook 04 checks accept the solutions and reject typical wrong answers."""

from __future__ import annotations

from _notebooks import load_solutions
from _support import assert_pending

from streamlab.checks import nb04


def test_solutions_pass(capsys):
    sol = load_solutions("04")
    assert nb04.check_accumulate(sol["accumulate"])
    assert nb04.check_accumulate_chat(sol["accumulate_chat"])
    assert capsys.readouterr().out.count("✅") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb04.check_accumulate, nb04.check_accumulate_chat)


def test_any_event_with_a_delta_is_not_answer_text(capsys):
    def accumulate(events):
        return "".join(getattr(e, "delta", "") for e in events)

    assert not nb04.check_accumulate(accumulate)
    out = capsys.readouterr().out
    assert "includes deltas that are not answer text" in out
    assert "a stream with reasoning and a tool call first" in out


def test_adding_the_done_text_doubles_the_answer(capsys):
    def accumulate(events):
        text = ""
        for e in events:
            if e.type == "response.output_text.delta":
                text += e.delta
            elif e.type == "response.output_text.done":
                text += e.text
        return text

    assert not nb04.check_accumulate(accumulate)
    assert "the answer appears twice" in capsys.readouterr().out


def test_reading_the_stream_twice_or_stripping(capsys):
    def twice(events):
        if not any(e.type == "response.completed" for e in events):
            return None
        return "".join(e.delta for e in events if e.type == "response.output_text.delta")

    def stripped(events):
        return "".join(e.delta.strip() for e in events if e.type == "response.output_text.delta")

    assert not nb04.check_accumulate(twice)
    assert "can be read only once" in capsys.readouterr().out
    assert not nb04.check_accumulate(stripped)
    assert "spaces or newlines are lost" in capsys.readouterr().out


def test_chat_usage_chunk_has_no_choices(capsys):
    def accumulate_chat(chunks):
        text, reason = "", None
        for c in chunks:
            choice = c.choices[0]
            text += choice.delta.content or ""
            reason = choice.finish_reason or reason
        return text, reason, None

    assert not nb04.check_accumulate_chat(accumulate_chat)
    out = capsys.readouterr().out
    assert "usage chunk at the end has no choices" in out
    assert "IndexError" in out


def test_chat_content_none_and_missing_usage(capsys):
    def concat_none(chunks):
        text, reason, usage = "", None, None
        for c in chunks:
            usage = c.usage or usage
            for choice in c.choices:
                text += choice.delta.content
                reason = choice.finish_reason or reason
        return text, reason, usage

    def no_usage(chunks):
        text, reason = "", None
        for c in chunks:
            for choice in c.choices:
                text += choice.delta.content or ""
                reason = choice.finish_reason or reason
        return text, reason, None

    assert not nb04.check_accumulate_chat(concat_none)
    assert "`delta.content` is None in some chunks" in capsys.readouterr().out
    assert not nb04.check_accumulate_chat(no_usage)
    assert "usage should be the last chunk's `usage`" in capsys.readouterr().out


def test_streams_built_by_the_check_are_what_the_sdk_yields():
    events = nb04.responses_events(["a", "b"], extras="reasoning tool refusal")
    assert events[0].type == "response.created" and events[-1].type == "response.completed"
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert events[-1].response.output_text == "ab"
    chunks = nb04.chat_chunks(["x"], usage=True)
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 10
    assert chunks[-2].choices[0].finish_reason == "stop"
