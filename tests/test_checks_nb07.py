"""The notebook 07 checks accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

import asyncio

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb07


def test_solutions_pass(capsys):
    sol = load_solutions("07")
    assert nb07.check_redraws(sol["redraws"])
    assert nb07.check_collect(sol["collect"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_unattempted_is_pending_not_wrong(capsys):
    assert_pending(capsys, nb07.check_redraws, nb07.check_collect)


def test_differently_written_correct_answers_pass(capsys):
    def redraws(events, interval=1 / 30):
        plan, shown_until, next_at = [], 0, None
        for i, (t, _) in enumerate(events):
            if next_at is None or t >= next_at:
                plan.append((t, "".join(d for _, d in events[: i + 1])))
                shown_until, next_at = i + 1, t + interval
        if events and shown_until < len(events):
            plan.append((events[-1][0], "".join(d for _, d in events)))
        return plan

    def collect(deltas):
        got = []
        try:
            got.extend(deltas)
        except Exception as exc:
            note = f"{len(got)} deltas arrived, then: {type(exc).__name__}: {exc}"
            return "".join(got), note
        return "".join(got), None

    assert nb07.check_redraws(redraws)
    assert nb07.check_collect(collect)
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_a_plan_on_the_next_due_time_and_a_note_in_words_pass(capsys):
    def redraws(events, interval=1 / 30):
        plan, due, drawn = [], None, 0
        for i, (t, _) in enumerate(events):
            if due is None or t >= due:
                plan.append((t, "".join(d for _, d in events[: i + 1])))
                due, drawn = t + interval, i + 1
        if drawn < len(events):
            plan.append((events[-1][0], "".join(d for _, d in events)))
        return plan

    words = {5: "five", 12: "twelve"}

    def collect(deltas):
        text, n = [], 0
        try:
            for d in deltas:
                text.append(d)
                n += 1
        except Exception as exc:
            return "".join(text), f"Stopped after {words.get(n, n)} deltas ({exc})."
        return "".join(text), None

    assert nb07.check_redraws(redraws)
    assert nb07.check_collect(collect)
    assert capsys.readouterr().out.count("[PASS]") == 2


def every_delta(events, interval=1 / 30):
    text, plan = "", []
    for t, d in events:
        text += d
        plan.append((t, text))
    return plan


def no_final_flush(events, interval=1 / 30):
    text, plan, last = "", [], None
    for t, d in events:
        text += d
        if last is None or t - last >= interval:
            plan.append((t, text))
            last = t
    return plan


def counts_deltas(events, interval=1 / 30):
    text, plan = "", []
    for i, (t, d) in enumerate(events):
        text += d
        if i % 70 == 0:
            plan.append((t, text))
    plan.append((events[-1][0], text))
    return plan


def gap_since_the_last_delta(events, interval=1 / 30):  # never redraws while deltas are fast
    text, plan, previous = "", [], None
    for t, d in events:
        text += d
        if previous is None or t - previous >= interval:
            plan.append((t, text))
        previous = t
    if plan[-1][1] != text:
        plan.append((events[-1][0], text))
    return plan


def strictly_more_than_interval(events, interval=1 / 30):  # "at least" read as "more than"
    text, plan, last = "", [], None
    for t, d in events:
        text += d
        if last is None or t - last > interval:
            plan.append((t, text))
            last = t
    if plan[-1][1] != text:
        plan.append((events[-1][0], text))
    return plan


def fixed_interval(events, interval=1 / 30):
    return load_solutions("07")["redraws"](events, 1 / 30)


def delta_not_text(events, interval=1 / 30):
    plan, last = [], None
    for t, d in events:
        if last is None or t - last >= interval:
            plan.append((t, d))
            last = t
    return plan


def wall_clock_times(events, interval=1 / 30):
    return [(t + 0.001, text) for t, text in load_solutions("07")["redraws"](events, interval)]


WRONG_REDRAWS = {
    "every delta": (every_delta, ["(interval=0.0333333): 1998 redraws come less than 33 ms"]),
    "no final flush": (no_final_flush, ["draw whatever is still pending"]),
    "counts deltas": (counts_deltas, ["do not count deltas, look at the time"]),
    "gap since the last delta": (
        gap_since_the_last_delta,
        ["while deltas kept arriving", "measured from the redraw"],
    ),
    "its own interval": (fixed_interval, ["interval=0.1", "take the interval from the argument"]),
    "the delta, not the text": (delta_not_text, ["all text so far"]),
    "times of its own": (wall_clock_times, ["redraw only when a delta arrives"]),
    "more than interval, not at least": (
        strictly_more_than_interval,
        ["a delta every 0.125 s", "exactly `interval` after the previous redraw", ">=, not >"],
    ),
}


@pytest.mark.parametrize("name", WRONG_REDRAWS)
def test_redraws_rejects(name, capsys):
    answer, says = WRONG_REDRAWS[name]
    assert_explains(capsys, nb07.check_redraws, answer, "[FAIL]", *says)


def collect_keeps_nothing(deltas):
    text = ""
    try:
        for d in deltas:
            text += d
    except Exception as exc:
        return "", str(exc)
    return text, None


def collect_uncaught(deltas):
    return "".join(deltas), None


def collect_swallows_everything(deltas):
    text, n = "", 0
    try:
        for d in deltas:
            text, n = text + d, n + 1
    except BaseException as exc:  # noqa: B036 - the mistake under test
        return text, f"stopped after {n} deltas: {exc}"
    return text, None


def collect_hard_coded_count(deltas):
    text = ""
    try:
        for d in deltas:
            text += d
    except Exception as exc:
        return text, f"stopped after 5 deltas: {exc}"
    return text, None


def collect_counts_characters(deltas):
    text = ""
    try:
        for d in deltas:
            text += d
    except Exception as exc:
        return text, f"stopped after {len(text)} characters: {exc}"
    return text, None


def collect_no_message(deltas):
    pieces = []
    try:
        for d in deltas:
            pieces.append(d)
    except Exception:
        return "".join(pieces), f"the answer is incomplete ({len(pieces)} deltas)"
    return "".join(pieces), None


def collect_empty_note(deltas):
    pieces = []
    try:
        for d in deltas:
            pieces.append(d)
    except Exception as exc:
        return "".join(pieces), f"{len(pieces)} deltas: {exc}"
    return "".join(pieces), ""


def collect_counts_from_zero(deltas):
    text, i = "", 0
    try:
        for i, d in enumerate(deltas):  # noqa: B007 - i is the index, one less than the count
            text += d
    except Exception as exc:
        return text, f"stopped after {i} deltas: {exc}"
    return text, None


WRONG_COLLECT = {
    "keeps nothing": (collect_keeps_nothing, ["keep what arrived"]),
    "lets the error through": (collect_uncaught, ["the stream's error escaped"]),
    "swallows cancellation": (collect_swallows_everything, ["CancelledError", "catch `Exception`"]),
    "a count of its own": (collect_hard_coded_count, ["how many deltas had arrived (12)"]),
    "counts characters": (collect_counts_characters, ["how many deltas had arrived (5)"]),
    "no error message": (collect_no_message, ["include the error's message"]),
    "a note when all went well": (collect_empty_note, ["for a stream that ends normally"]),
    "an index, not a count": (collect_counts_from_zero, ["how many deltas had arrived (5)"]),
}


@pytest.mark.parametrize("name", WRONG_COLLECT)
def test_collect_rejects(name, capsys):
    answer, says = WRONG_COLLECT[name]
    assert_explains(capsys, nb07.check_collect, answer, "[FAIL]", *says)


def test_a_cancelled_stream_is_cancelled():
    with pytest.raises(asyncio.CancelledError):
        list(nb07.BrokenStream(["a"], asyncio.CancelledError()))
