"""The checks of notebook 00 accept correct answers and reject plausible wrong ones, saying why."""

from __future__ import annotations

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb00


@pytest.fixture(scope="module")
def solutions():
    return load_solutions("00")


def test_the_solutions_pass(solutions, capsys):
    assert nb00.check_ttft_and_total(solutions["ttft_and_total"])
    assert nb00.check_deltas_per_second(solutions["deltas_per_second"])
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_differently_written_correct_answers_pass(capsys):
    def ttft_and_total(start, events):
        ttft = None
        for timestamp, delta in events:
            if delta != "":
                ttft = timestamp - start
                break
        return ttft, max(t for t, _ in events) - start

    def deltas_per_second(events):
        first = last = None
        count = 0
        for timestamp, delta in events:
            if delta:
                first = timestamp if first is None else first
                last, count = timestamp, count + 1
        return (count - 1) / (last - first) if count >= 2 else None

    assert nb00.check_ttft_and_total(ttft_and_total)
    assert nb00.check_deltas_per_second(deltas_per_second)
    assert nb00.check_tokens_per_second is nb00.check_deltas_per_second  # the old name
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_not_attempted_is_pending(capsys):
    assert_pending(capsys, nb00.check_ttft_and_total, nb00.check_deltas_per_second)


def _first_text(events):
    return next((t for t, d in events if d), None)


def ttft_counts_empty_deltas(start, events):
    return events[0][0] - start, events[-1][0] - start


def ttft_timestamps_not_durations(start, events):
    first = _first_text(events)
    return first, events[-1][0]


def ttft_skips_only_the_first_event(start, events):  # "the first one is the role chunk"
    return events[min(1, len(events) - 1)][0] - start, events[-1][0] - start


def ttft_total_to_the_last_text(start, events):
    texts = [t for t, d in events if d]
    return (texts[0] - start, texts[-1] - start) if texts else (None, events[-1][0] - start)


def ttft_zero_without_text(start, events):
    first = _first_text(events)
    return (first - start if first is not None else 0.0), events[-1][0] - start


def ttft_measured_from_the_first_event(start, events):
    first = _first_text(events)
    return (None if first is None else first - events[0][0]), events[-1][0] - start


def ttft_strips_whitespace(start, events):  # reads "holds text" as "has a visible character"
    first = next((t for t, d in events if d.strip()), None)
    return (None if first is None else first - start), events[-1][0] - start


WRONG_TTFT = {
    "whitespace is not text": (ttft_strips_whitespace, ["'a newline first'", "holds text"]),
    "counts empty deltas": (ttft_counts_empty_deltas, ["an empty delta (a role chunk"]),
    "timestamps for durations": (ttft_timestamps_not_durations, ["subtract start"]),
    "skips only the first event": (ttft_skips_only_the_first_event, ["'three deltas'"]),
    "total to the last text": (ttft_total_to_the_last_text, ["the total still runs to the last"]),
    "zero, not None, without text": (ttft_zero_without_text, ["time to first token is None"]),
    "from the first event, not start": (
        ttft_measured_from_the_first_event,
        ["both times are measured from start"],
    ),
}


@pytest.mark.parametrize("name", WRONG_TTFT)
def test_ttft_and_total_rejects(name, capsys):
    answer, says = WRONG_TTFT[name]
    assert_explains(capsys, nb00.check_ttft_and_total, answer, "[FAIL]", *says)


def test_ttft_and_total_names_the_learners_line_when_it_raises(capsys):
    def ttft_and_total(start, events):
        with_text = [t for t, d in events if d]
        return with_text[0] - start, events[-1][0] - start  # IndexError without text

    assert_explains(
        capsys,
        nb00.check_ttft_and_total,
        ttft_and_total,
        "'no text at all': your code raised IndexError",
        "return with_text[0] - start",
        "time to first token is None",
    )


def rate_counts_from_the_request(events):
    return (len(events) - 1) / (events[-1][0] - events[0][0])


def rate_counts_empty_deltas(events):
    times = [t for t, _ in events]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None


def rate_counts_deltas_not_gaps(events):
    times = [t for t, d in events if d]
    return len(times) / (times[-1] - times[0]) if len(times) > 1 else None


def rate_counts_characters(events):
    texts = [(t, d) for t, d in events if d]
    if len(texts) < 2:
        return None
    return (sum(len(d) for _, d in texts) - len(texts[0][1])) / (texts[-1][0] - texts[0][0])


def rate_divides_by_zero(events):
    times = [t for t, d in events if d]
    return (len(times) - 1) / (times[-1] - times[0])


def rate_zero_for_one_delta(events):
    times = [t for t, d in events if d]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0


def rate_needs_three(events):  # "fewer than two" read as "two or fewer"
    times = [t for t, d in events if d]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 2 else None


def rate_strips_whitespace(events):
    times = [t for t, d in events if d.strip()]
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None


WRONG_RATE = {
    "None for exactly two": (rate_needs_three, ["'exactly two'", "are not 'fewer than two'"]),
    "whitespace is not text": (rate_strips_whitespace, ["'spaces and newlines'", "count it"]),
    "counts from the request": (rate_counts_from_the_request, ["'slow start'", "the wait for"]),
    "counts empty deltas": (rate_counts_empty_deltas, ["empty deltas do not count"]),
    "counts deltas, not gaps": (rate_counts_deltas_not_gaps, ["two intervals of 0.5 s"]),
    "counts characters": (rate_counts_characters, ["count deltas, not characters"]),
    "divides by zero": (rate_divides_by_zero, ["your code raised ZeroDivisionError", "None"]),
    "zero for one delta": (rate_zero_for_one_delta, ["there is no rate: None"]),
}


@pytest.mark.parametrize("name", WRONG_RATE)
def test_deltas_per_second_rejects(name, capsys):
    answer, says = WRONG_RATE[name]
    assert_explains(capsys, nb00.check_deltas_per_second, answer, "[FAIL]", *says)
