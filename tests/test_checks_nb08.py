"""The notebook 08 checks accept correct release policies and reject plausible wrong ones."""

from __future__ import annotations

import functools
import re

import pytest
from _notebooks import load_solutions

from streamlab import release
from streamlab.checks import nb08


@pytest.fixture(scope="module")
def sol():
    return load_solutions("08")


def test_solutions_pass(sol, capsys):
    assert nb08.check_hold_back(sol["hold_back"])
    assert nb08.check_by_sentence(sol["by_sentence"])
    assert capsys.readouterr().out.count("[PASS]") == 2


# -- correct, written differently ---------------------------------------------------


def hold_back_pending(deltas, check, window=32):
    seen, pending = "", ""
    for delta in deltas:
        seen += delta
        pending += delta
        if check(seen):
            return
        if len(pending) > window:
            out, pending = pending[:-window], pending[-window:]
            yield out
    if pending:
        yield pending


def _last_end(text, start):
    """Where the last complete sentence in ``text[start:]`` ends, scanning character by character."""
    last, i = start, start
    while i < len(text):
        if text[i] in ".!?":
            j = i + 1
            while j < len(text) and text[j] in "\"')]":
                j += 1
            k = j
            while k < len(text) and text[k].isspace():
                k += 1
            if k > j and k < len(text):  # whitespace after it, and the next sentence begun
                last = k
            i = k if k > j else j
        else:
            i += 1
    return last


def by_sentence_split(deltas, check):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        end = _last_end(text, shown)
        if end > shown:
            if check(text[:end]):
                return
            yield text[shown:end]
            shown = end
    if shown < len(text) and not check(text):
        yield text[shown:]


def test_differently_written_correct_policies_pass(capsys):
    assert nb08.check_hold_back(hold_back_pending)
    assert nb08.check_by_sentence(by_sentence_split)
    assert capsys.readouterr().out.count("[PASS]") == 2


# -- wrong hold-back policies ----------------------------------------------------------


def hold_back_hard_coded(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(text):
            return
        if len(text) - 32 > shown:
            yield text[shown : len(text) - 32]
            shown = len(text) - 32
    yield text[shown:]


def hold_back_off_by_one(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(text):
            return
        if len(text) - window + 1 > shown:
            yield text[shown : len(text) - window + 1]
            shown = len(text) - window + 1
    yield text[shown:]


def hold_back_checks_the_delta(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(delta):
            return
        if len(text) - window > shown:
            yield text[shown : len(text) - window]
            shown = len(text) - window
    yield text[shown:]


def hold_back_checks_the_window(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(text[-window:]):
            return
        if len(text) - window > shown:
            yield text[shown : len(text) - window]
            shown = len(text) - window
    yield text[shown:]


def hold_back_checks_unreleased(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(text[shown:]):
            return
        if len(text) - window > shown:
            yield text[shown : len(text) - window]
            shown = len(text) - window
    yield text[shown:]


def hold_back_checks_before_adding(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        if check(text):
            return
        text += delta
        if len(text) - window > shown:
            yield text[shown : len(text) - window]
            shown = len(text) - window
    yield text[shown:]


def hold_back_without_window_argument(deltas, check):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(text):
            return
        if len(text) - 32 > shown:
            yield text[shown : len(text) - 32]
            shown = len(text) - 32
    yield text[shown:]


def hold_back_forgets_tail(deltas, check, window=32):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if check(text):
            return
        if len(text) - window > shown:
            yield text[shown : len(text) - window]
            shown = len(text) - window


def hold_back_checks_when_full(deltas, check, window=32):
    """Checks only when something falls out of the window; the end is taken as already checked."""
    text, shown = "", 0
    for delta in deltas:
        text += delta
        if len(text) - window > shown:
            if check(text):
                return
            yield text[shown : len(text) - window]
            shown = len(text) - window
    yield text[shown:]


def hold_back_swallows(deltas, check, window=32):
    try:
        yield from hold_back_hard_coded(deltas, check, window)
    except Exception:
        return


HOLD_BACK_WRONG = {
    "hard-coded window": (hold_back_hard_coded, "the argument, not a number of your own"),
    "off by one": (hold_back_off_by_one, "keep the last `window` characters"),
    "checks only the delta": (hold_back_checks_the_delta, "characters of the flagged text"),
    "checks only the window": (hold_back_checks_the_window, "'secret in one long delta'"),
    "checks only unreleased text": (hold_back_checks_unreleased, "needs context"),
    "checks before adding the delta": (
        hold_back_checks_before_adding,
        "'secret in one long delta'",
    ),
    "no window argument": (hold_back_without_window_argument, "as its `window` argument"),
    "forgets the tail": (hold_back_forgets_tail, "check and release what you still hold"),
    "checks only once the window is full": (
        hold_back_checks_when_full,
        "also while the window is not yet full",
    ),
    "checked prefix at once": (release.release_checked_prefix, "characters of the flagged text"),
    "at the end": (release.release_at_end, "releases text steadily"),
}


@pytest.mark.parametrize("name", HOLD_BACK_WRONG)
def test_hold_back_rejects(name, capsys):
    policy, says = HOLD_BACK_WRONG[name]
    assert not nb08.check_hold_back(policy)
    assert says in capsys.readouterr().out


def test_a_window_shorter_than_the_key_leaks_part_of_it(sol, capsys):
    assert not nb08.check_hold_back(functools.partial(sol["hold_back"], window=10))
    assert "the key is 27 characters long" in capsys.readouterr().out


# -- wrong sentence policies --------------------------------------------------------


def _by(pattern, *, check_all=True, check_tail=True):
    end = re.compile(pattern)

    def by_sentence(deltas, check):
        text, shown = "", 0
        for delta in deltas:
            text += delta
            ends = [m.end() for m in end.finditer(text, shown)]
            if ends:
                if check(text[: ends[-1]] if check_all else text[shown : ends[-1]]):
                    return
                yield text[shown : ends[-1]]
                shown = ends[-1]
        if text[shown:] and (not check_tail or not check(text)):
            yield text[shown:]

    return by_sentence


def by_sentence_waits_for_two(deltas, check):
    text, shown = "", 0
    for delta in deltas:
        text += delta
        ends = [m.end() for m in re.finditer(r"[.!?]+\s+", text[shown:])]
        if len(ends) >= 2:
            if check(text[: shown + ends[-2]]):
                return
            yield text[shown : shown + ends[-2]]
            shown += ends[-2]
    if text[shown:] and not check(text):
        yield text[shown:]


BY_SENTENCE_WRONG = {
    "splits only on '.'": (_by(r"\.\s+"), "release each sentence as soon as it ends"),
    "splits at '.' without the space": (_by(r"[.!?]"), "'3.14'"),
    "checks only the sentence": (_by(r"[.!?]+\s+", check_all=False), "needs context"),
    "releases the tail unchecked": (
        _by(r"[.!?]+\s+", check_tail=False),
        "'secret after the last sentence'",
    ),
    "one sentence late": (by_sentence_waits_for_two, "released only after"),
    "ignores closing quotes and brackets": (
        _by(r"[.!?]+\s+"),
        "'clean, quotes, brackets and line breaks' stream the sentence ending",
    ),
    "takes a '.' at the end of the text so far for an end": (
        _by(r"[.!?][\"')\]]*(\s+|$)"),
        "a '.' not yet followed by a space",
    ),
    "takes a bare line break for an end": (
        _by(r"[.!?]+[\"')\]]*\s+|\n"),
        "line break with no punctuation before it",
    ),
    "at the end": (release.release_at_end, "released only after"),
    "each delta": (release.release_each_delta, "characters of the flagged text"),
}


@pytest.mark.parametrize("name", BY_SENTENCE_WRONG)
def test_by_sentence_rejects(name, capsys):
    policy, says = BY_SENTENCE_WRONG[name]
    assert not nb08.check_by_sentence(policy)
    assert says in capsys.readouterr().out


def test_a_window_is_not_by_sentence(sol, capsys):
    assert not nb08.check_by_sentence(sol["hold_back"])
    assert "a release ends in the middle of a sentence" in capsys.readouterr().out


def test_an_error_in_the_policy_is_reported_with_its_line(capsys):
    def hold_back(deltas, check, window=32):
        for delta in deltas:
            yield delta.upper_case()

    assert not nb08.check_hold_back(hold_back)
    out = capsys.readouterr().out
    assert "AttributeError" in out and "upper_case" in out


def test_unattempted_is_pending(capsys):
    def hold_back(deltas, check, window=32):
        raise NotImplementedError

    assert not nb08.check_hold_back(hold_back)
    assert "not attempted yet" in capsys.readouterr().out
