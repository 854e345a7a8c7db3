"""The notebook 05 checks accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb05


@pytest.fixture(scope="module")
def sol():
    return load_solutions("05")


def test_solutions_pass(sol, capsys):
    assert nb05.check_finish_of(sol["finish_of"])
    assert nb05.check_final_result(sol["final_result"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb05.check_finish_of, nb05.check_final_result)


def _finish(
    *,
    chat=None,
    anthropic=None,
    completed=None,
    incomplete=None,
    failed="failed",
    error="failed",
    unknown=lambda word: word,
    unknown_incomplete=None,
):
    """A finish_of built from tables; the defaults are right, each test spoils one part."""
    chat = chat or {
        "stop": "stop",
        "length": "length",
        "tool_calls": "tool_calls",
        "function_call": "tool_calls",
        "content_filter": "filtered",
    }
    anthropic = anthropic or {
        "end_turn": "stop",
        "stop_sequence": "stop",
        "max_tokens": "length",
        "model_context_window_exceeded": "length",
        "tool_use": "tool_calls",
        "refusal": "refusal",
    }
    incomplete = incomplete or {"max_output_tokens": "length", "content_filter": "filtered"}

    def default_completed(response):
        kinds = [item.type for item in response.output]
        parts = [p.type for item in response.output if item.type == "message" for p in item.content]
        if "function_call" in kinds:
            return "tool_calls"
        return "refusal" if "refusal" in parts else "stop"

    completed = completed or default_completed

    def finish_of(event):
        kind = getattr(event, "type", None)
        if kind == "response.completed":
            return completed(event.response)
        if kind == "response.incomplete":
            reason = event.response.incomplete_details.reason
            return incomplete.get(reason, (unknown_incomplete or unknown)(reason))
        if kind == "response.failed":
            return failed
        if kind == "error":
            return error
        if kind == "message_delta":
            reason = event.delta.stop_reason
            return anthropic.get(reason, unknown(reason))
        if kind is None and event.choices:
            reason = event.choices[0].finish_reason
            return None if reason is None else chat.get(reason, unknown(reason))
        return None

    return finish_of


def test_a_differently_written_finish_of_passes(capsys):
    assert nb05.check_finish_of(_finish())
    assert "[PASS]" in capsys.readouterr().out


def passes_provider_words(event):
    kind = getattr(event, "type", None)
    if kind == "message_delta":
        return event.delta.stop_reason
    if getattr(event, "choices", None):
        return event.choices[0].finish_reason
    return None


def naive_chat(event):
    if hasattr(event, "choices"):
        return event.choices[0].finish_reason
    return None


def stop_or_length(event):  # the exercise as it was: everything else is "stop"
    word = _finish()(event)
    return None if word is None else ("length" if word == "length" else "stop")


WRONG_FINISH = {
    "provider words passed through": (
        passes_provider_words,
        ["stop_reason 'end_turn' it should return 'stop', not 'end_turn'"],
    ),
    "choices[0] of the usage chunk": (naive_chat, ["(choices == []): your code raised IndexError"]),
    "everything but length is stop": (
        stop_or_length,
        ["it should return 'tool_calls', not 'stop'", "it should return 'pause_turn', not 'stop'"],
    ),
    "completed is always stop": (
        _finish(completed=lambda response: "stop"),
        ["function_call item it should return 'tool_calls'", "a function_call item in response"],
    ),
    "tool call only when there is no text": (
        _finish(
            completed=lambda r: (
                "tool_calls" if r.output and r.output[0].type == "function_call" else "stop"
            )
        ),
        ["some text and then a function_call item it should return 'tool_calls'"],
    ),
    "refusal part not seen": (
        _finish(
            completed=lambda r: (
                "tool_calls" if any(i.type == "function_call" for i in r.output) else "stop"
            )
        ),
        ["refusal part it should return 'refusal'"],
    ),
    "content_filter not named filtered": (
        _finish(
            chat={
                "stop": "stop",
                "length": "length",
                "tool_calls": "tool_calls",
                "function_call": "tool_calls",
            }
        ),
        ["'content_filter' it should return 'filtered', not 'content_filter'"],
    ),
    "context window is not a limit": (
        _finish(
            anthropic={
                "end_turn": "stop",
                "stop_sequence": "stop",
                "max_tokens": "length",
                "tool_use": "tool_calls",
                "refusal": "refusal",
            }
        ),
        ["'model_context_window_exceeded' it should return 'length'", "the context window"],
    ),
    "unknown words become stop": (
        _finish(unknown=lambda word: "stop"),
        ["'pause_turn' (not finished", "return the provider's own word"],
    ),
    "failures not reported": (_finish(failed=None), ["response.failed event it should return"]),
    "an error event is not a failure": (
        _finish(error=None),
        ["error event (it may come alone, without response.failed) it should return 'failed'"],
    ),
    "a function_call only as the last item": (
        _finish(
            completed=lambda r: (
                "tool_calls" if r.output and r.output[-1].type == "function_call" else "stop"
            )
        ),
        ["function_call item, then a message it should return 'tool_calls'"],
    ),
    "every incomplete reason is a limit": (
        _finish(unknown_incomplete=lambda word: "length"),
        ["reason 'max_messages' it should return 'max_messages', not 'length'"],
    ),
}


@pytest.mark.parametrize("name", WRONG_FINISH)
def test_finish_of_rejects(name, capsys):
    answer, says = WRONG_FINISH[name]
    assert_explains(capsys, nb05.check_finish_of, answer, "[FAIL]", *says)


def _final(sol, *, text="deltas", tokens="reported", finish="finish_of"):
    def final_result(events):
        out, count, used, end = "", 0, None, None
        for e in events:
            kind = getattr(e, "type", None)
            piece = sol["text_of"](e)
            if piece:
                out, count = out + piece, count + 1
            if text == "done too" and kind == "response.output_text.done":
                out += e.text
            end = sol["finish_of"](e) or end
            if kind in ("response.completed", "response.incomplete") and e.response.usage:
                used = e.response.usage.output_tokens
            elif kind == "message_delta":
                used = e.usage.output_tokens
            elif kind == "message_start" and tokens == "message_start":
                used = e.message.usage.output_tokens
            elif kind is None and getattr(e, "usage", None) is not None:
                used = e.usage.total_tokens if tokens == "total" else e.usage.completion_tokens
        if tokens == "deltas":
            used = count
        if tokens == "message_start" and any(
            getattr(e, "type", "") == "message_start" for e in events
        ):
            used = events[0].message.usage.output_tokens
        return {"text": out, "finish": "stop" if finish == "stop" else end, "output_tokens": used}

    return final_result


WRONG_FINAL = {
    "done text added": (
        dict(text="done too"),
        ["'text' should be 'Hello there', not 'Hello thereHello there'"],
    ),
    "deltas counted as tokens": (
        dict(tokens="deltas"),
        ["'output_tokens' should be 6, not 3", "not the number of deltas"],
    ),
    "message_start's placeholder": (
        dict(tokens="message_start"),
        ["Anthropic Messages stream 'output_tokens' should be 4, not 1"],
    ),
    "Chat total tokens": (
        dict(tokens="total"),
        ["Chat Completions with include_usage stream 'output_tokens' should be 5, not 8"],
    ),
    "finish always stop": (
        dict(finish="stop"),
        ["'finish' should be 'length', not 'stop'", "'finish' should be 'tool_calls'"],
    ),
}


@pytest.mark.parametrize("name", WRONG_FINAL)
def test_final_result_rejects(sol, name, capsys):
    options, says = WRONG_FINAL[name]
    assert_explains(capsys, nb05.check_final_result, _final(sol, **options), "[FAIL]", *says)


def test_a_differently_written_final_result_passes(sol, capsys):
    assert nb05.check_final_result(_final(sol))
    assert "[PASS]" in capsys.readouterr().out
