"""The notebook 05 checks accept the solutions and reject typical wrong answers."""

from __future__ import annotations

from _notebooks import load_solutions

from streamlab.checks import nb05


def test_solutions_pass(capsys):
    sol = load_solutions("05")
    assert nb05.check_finish_of(sol["finish_of"])
    assert nb05.check_final_result(sol["final_result"])
    assert capsys.readouterr().out.count("✅") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    def finish_of(event):
        raise NotImplementedError

    assert not nb05.check_finish_of(finish_of)
    assert "⏳" in capsys.readouterr().out


def test_finish_of_must_map_provider_words(capsys):
    def finish_of(event):  # passes the providers' own words through
        kind = getattr(event, "type", None)
        if kind == "message_delta":
            return event.delta.stop_reason
        if getattr(event, "choices", None):
            return event.choices[0].finish_reason
        return None

    assert not nb05.check_finish_of(finish_of)
    out = capsys.readouterr().out
    assert "stop_reason 'end_turn' it should return 'stop', not 'end_turn'" in out
    assert "response.completed event it should return 'stop', not None" in out


def test_naive_chat_code_trips_on_the_usage_chunk(capsys):
    def finish_of(event):
        if hasattr(event, "choices"):
            return event.choices[0].finish_reason
        return None

    assert not nb05.check_finish_of(finish_of)
    assert "usage chunk (choices == []): your code raised IndexError" in capsys.readouterr().out


def test_final_result_must_not_double_the_text_or_trust_message_start(capsys):
    sol = load_solutions("05")

    def final_result(events):
        text, tokens = "", None
        for e in events:
            kind = getattr(e, "type", None)
            if kind == "response.output_text.done":
                text += e.text
            text += sol["text_of"](e) or ""
            if kind == "message_start":
                tokens = e.message.usage.output_tokens
        return {"text": text, "finish": "stop", "output_tokens": tokens}

    assert not nb05.check_final_result(final_result)
    out = capsys.readouterr().out
    assert "'text' should be 'Hello there', not 'Hello thereHello there'" in out
    assert "Anthropic Messages stream 'output_tokens' should be 4, not 1" in out
    assert "'finish' should be 'length', not 'stop'" in out
