"""The checks of notebook 00 accept the solutions and reject typical wrong answers."""

from __future__ import annotations

import pytest
from _notebooks import load_solutions

from streamlab.checks import nb00


@pytest.fixture(scope="module")
def solutions():
    return load_solutions("00")


def test_ttft_and_total_accepts_the_solution(solutions, capsys):
    assert nb00.check_ttft_and_total(solutions["ttft_and_total"])
    assert "✅" in capsys.readouterr().out


def test_ttft_and_total_not_attempted(capsys):
    def ttft_and_total(start, events):
        raise NotImplementedError

    assert not nb00.check_ttft_and_total(ttft_and_total)
    assert "⏳" in capsys.readouterr().out


def test_ttft_and_total_rejects_counting_empty_deltas(capsys):
    def ttft_and_total(start, events):
        return events[0][0] - start, events[-1][0] - start

    assert not nb00.check_ttft_and_total(ttft_and_total)
    out = capsys.readouterr().out
    assert "'empty deltas first and last'" in out and "got (0.1, 2.0)" in out
    assert "an empty delta (a role chunk" in out


def test_ttft_and_total_rejects_timestamps_for_durations(capsys):
    def ttft_and_total(start, events):
        with_text = [t for t, d in events if d]
        return (with_text[0] if with_text else None), events[-1][0]

    assert not nb00.check_ttft_and_total(ttft_and_total)
    assert "subtract start: these are durations, not timestamps" in capsys.readouterr().out


def test_ttft_and_total_rejects_total_after_first_token(capsys):
    def ttft_and_total(start, events):
        with_text = [t for t, d in events if d]
        ttft = with_text[0] - start
        return ttft, events[-1][0] - start - ttft  # generation time, not total

    assert not nb00.check_ttft_and_total(ttft_and_total)
    out = capsys.readouterr().out
    assert "❌" in out and "'three deltas'" in out
    assert "your code raised IndexError" in out  # no text at all: with_text is empty


def test_tokens_per_second_accepts_the_solution(solutions, capsys):
    assert nb00.check_tokens_per_second(solutions["tokens_per_second"])
    assert "✅" in capsys.readouterr().out


def test_tokens_per_second_rejects_counting_from_the_request(capsys):
    def tokens_per_second(events):
        return len(events) / (events[-1][0] - events[0][0])

    assert not nb00.check_tokens_per_second(tokens_per_second)
    out = capsys.readouterr().out
    assert "'slow start'" in out and "the wait for the first token is not part of the rate" in out


def test_tokens_per_second_rejects_counting_empty_deltas(capsys):
    def tokens_per_second(events):
        times = [t for t, _ in events if True]  # every event counted, even empty ones
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else None

    assert not nb00.check_tokens_per_second(tokens_per_second)
    out = capsys.readouterr().out
    assert "'empty deltas at the end'" in out and "empty deltas are not tokens" in out


def test_tokens_per_second_reports_division_by_zero(capsys):
    def tokens_per_second(events):
        times = [t for t, d in events if d]
        return (len(times) - 1) / (times[-1] - times[0])

    assert not nb00.check_tokens_per_second(tokens_per_second)
    assert "ZeroDivisionError" in capsys.readouterr().out
