"""Exercise checks of notebook 11 accept correct solutions and explain typical mistakes."""

from __future__ import annotations

import re

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks.nb11 import check_resume

SOLUTIONS = load_solutions("11")

_ID = re.compile(r"[0-9]+")


def _by_position(kept, last_event_id):
    """Correct, written differently: a regex, and positions in the list instead of a filter."""
    if not last_event_id:
        after = -1
    elif _ID.fullmatch(last_event_id):
        after = int(last_event_id)
    else:
        return (400, [])
    start = after + 1 - kept[0][0]  # the index of the first event the client needs
    if start < 0:
        return (410, [])
    if after > kept[-1][0]:
        return (400, [])
    return (200, [frame for _, frame in kept[start:]])


@pytest.mark.parametrize(
    "answer", [SOLUTIONS["resume"], _by_position], ids=["worked", "by-position"]
)
def test_resume_check_accepts_correct_solutions(capsys, answer):
    assert check_resume(answer)
    assert "[PASS]" in capsys.readouterr().out


def _wrong(
    *,
    gone_at_first=False,
    include_own=False,
    parse=int,
    future_ok=False,
    empty_bad=False,
    no_header_all=False,
    mutate=False,
):
    """The worked solution with one plausible slip."""

    def resume(kept, last_event_id):
        if last_event_id is None or (last_event_id == "" and not empty_bad):
            if no_header_all:
                return 200, [f for _, f in kept]
            after = -1
        else:
            try:
                after = parse(last_event_id)
            except ValueError:
                return 400, []
        first, last = kept[0][0], kept[-1][0]
        if after > last and not future_ok:
            return 400, []
        if after < first if gone_at_first else after + 1 < first:
            return 410, []
        frames = [f for i, f in kept if (i >= after if include_own else i > after)]
        if mutate:
            kept.clear()
        return 200, frames

    return resume


def _isdigit(text):
    if not text.isdigit():  # accepts "\u0663" (ARABIC-INDIC DIGIT THREE)
        raise ValueError(text)
    return int(text)


WRONG = [
    pytest.param(
        _wrong(gone_at_first=True),
        ["the id just before the first kept one", "expected status 200"],
        id="off-by-one-at-the-first-kept-id",
    ),
    pytest.param(
        _wrong(include_own=True),
        ["an id in the middle", "the events after"],
        id="resends-the-event-it-saw",
    ),
    pytest.param(
        _wrong(), ["not ASCII digits (' 3')", "int() accepts"], id="int-parses-the-header"
    ),
    pytest.param(
        _wrong(parse=_isdigit), ["not ASCII digits ('\u0663')"], id="isdigit-accepts-other-scripts"
    ),
    pytest.param(
        _wrong(parse=_isdigit, future_ok=True),
        ["an id past the last one", "expected status 400"],
        id="future-id-answers-nothing",
    ),
    pytest.param(
        _wrong(parse=_isdigit, empty_bad=True),
        ["an empty header is no header"],
        id="empty-header-refused",
    ),
    pytest.param(
        _wrong(parse=_isdigit, no_header_all=True),
        ["no header, but event 0 was dropped", "expected status 410"],
        id="no-header-ignores-the-cap",
    ),
    pytest.param(_wrong(parse=_isdigit, mutate=True), ["changed `kept`"], id="changes-the-log"),
    pytest.param(
        lambda kept, h: [f for _, f in kept], ["return a pair (status, frames)"], id="frames-only"
    ),
    pytest.param(lambda kept, h: ("200", []), ["the status should be an int"], id="status-as-text"),
    pytest.param(lambda kept, h: kept[99], ["your code raised IndexError"], id="raises"),
]


@pytest.mark.parametrize("answer, says", WRONG)
def test_resume_check_explains_typical_mistakes(capsys, answer, says):
    assert_explains(capsys, check_resume, answer, "[FAIL]", *says)


def test_resume_check_waits_for_an_attempt(capsys):
    assert_pending(capsys, check_resume)
