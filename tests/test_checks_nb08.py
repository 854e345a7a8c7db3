"""The notebook 08 checks accept the solutions and reject typical wrong answers."""

from __future__ import annotations

import functools

from _notebooks import load_solutions

from streamlab import release
from streamlab.checks import nb08


def test_solutions_pass(capsys):
    sol = load_solutions("08")
    assert nb08.check_hold_back(sol["hold_back"])
    assert nb08.check_by_sentence(sol["by_sentence"])
    assert capsys.readouterr().out.count("✅") == 2


def test_checking_then_releasing_at_once_leaks_the_key(capsys):
    assert not nb08.check_hold_back(release.release_checked_prefix)
    assert "characters of the key reached the reader" in capsys.readouterr().out


def test_a_window_shorter_than_the_key_leaks_part_of_it(capsys):
    sol = load_solutions("08")
    assert not nb08.check_hold_back(functools.partial(sol["hold_back"], window=10))
    assert "the key is 27 characters long" in capsys.readouterr().out


def test_waiting_for_the_end_is_not_a_window(capsys):
    assert not nb08.check_hold_back(release.release_at_end)
    assert "releases text steadily" in capsys.readouterr().out


def test_forgetting_the_tail_loses_the_end_of_a_clean_answer(capsys):
    def hold_back(deltas, check, window=32):
        text, shown = "", 0
        for d in deltas:
            text += d
            if check(text):
                return
            if len(text) - window > shown:
                yield text[shown : len(text) - window]
                shown = len(text) - window

    assert not nb08.check_hold_back(hold_back)
    assert "when the stream ends, check and release what you still hold" in capsys.readouterr().out


def test_a_window_is_not_by_sentence(capsys):
    sol = load_solutions("08")
    assert not nb08.check_by_sentence(sol["hold_back"])
    assert "release ends in the middle of a sentence" in capsys.readouterr().out
