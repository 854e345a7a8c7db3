"""One way for every check to turn the learner's exception into a finding."""

from __future__ import annotations

import asyncio
from pathlib import Path

import streamlab
from streamlab.checks._report import PACKAGE_DIR, Report, learner_error, run_check


def _learner_code(folder: Path, source: str) -> dict:
    """Compile ``source`` as if it were a file the learner wrote in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "answer.py"
    path.write_text(source)
    namespace: dict = {}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


def test_the_package_is_found_by_its_folder_not_its_name():
    assert PACKAGE_DIR == Path(streamlab.__file__).resolve().parent


def test_the_learners_line_is_found_in_a_clone_named_streamlab(tmp_path, capsys):
    # A clone in a folder named "streamlab" (or "streamlab-main"): the learner's
    # own file is in it, and must still be the line reported.
    ns = _learner_code(
        tmp_path / "streamlab-main" / "notebooks",
        "def parse(text):\n    return int(text)  # the learner's line\n",
    )

    def body(r: Report) -> None:
        r.expect(ns["parse"]("five") == 5, "parses")

    assert not run_check("Exercise 9.9: parse", body)
    out = capsys.readouterr().out
    assert "your code raised ValueError" in out
    assert "(line 2: return int(text)  # the learner's line)" in out


def test_a_library_frame_is_not_the_learners_line(tmp_path):
    ns = _learner_code(tmp_path, "import json\n\ndef load(text):\n    return json.loads(text)\n")
    try:
        ns["load"]("{")
    except ValueError as exc:
        message = learner_error(exc, "load('{')", "close the brace")
    assert "line 4: return json.loads(text)" in message
    assert message.startswith("load('{'): your code raised JSONDecodeError")
    assert message.endswith("Hint: close the brace")


def test_call_records_the_error_and_cancelled_error_is_the_learners(capsys):
    def swallow_nothing():
        raise asyncio.CancelledError()

    r = Report("Exercise 9.9: cancel")
    assert r.call(swallow_nothing, what="a stream cancelled", hint=lambda e: "re-raise it") == (
        False,
        None,
    )
    assert r.call(len, "abc") == (True, 3)
    r.done()
    out = capsys.readouterr().out
    assert "a stream cancelled: your code raised CancelledError" in out
    assert "Hint: re-raise it" in out


def test_not_implemented_still_means_not_attempted(capsys):
    def body(r: Report) -> None:
        r.call(lambda: (_ for _ in ()).throw(NotImplementedError))

    assert not run_check("Exercise 9.9: later", body)
    assert "[TO DO]" in capsys.readouterr().out


def test_each_message_opens_with_a_text_mark_any_font_can_draw(capsys):
    # Debian's Chromium has no emoji font: an emoji mark rendered as an empty box.
    from streamlab.checks._report import FAIL_MARK, PASS_MARK, TODO_MARK

    def passing(r: Report) -> None:
        r.expect(True, "fine")

    def failing(r: Report) -> None:
        r.expect(False, "wrong")

    def pending(r: Report) -> None:
        raise NotImplementedError

    for body in (passing, failing, pending):
        run_check("Exercise 9.9: marks", body)
    firsts = [line.split(" Exercise")[0] for line in capsys.readouterr().out.splitlines()[:4]]
    assert firsts == [PASS_MARK, FAIL_MARK, "   - wrong", TODO_MARK]
    assert all(mark.isascii() for mark in (PASS_MARK, FAIL_MARK, TODO_MARK))


def test_no_test_looks_for_the_old_emoji_marks():
    # Tests written before the marks became text still look for the emoji and
    # would fail for a reason their names do not say.
    tests = Path(__file__).resolve().parent
    old = {"\u2705": "[PASS]", "\u274c": "[FAIL]", "\u23f3": "[TO DO]"}
    stale = sorted(
        f"{path.name}:{n}"
        for path in tests.rglob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if any(f'"{mark}"' in line for mark in old)
    )
    assert not stale, (
        f"these lines look for an emoji mark; the checks print {list(old.values())} now "
        '(sed -i \'s/"\u2705"/"[PASS]"/g; s/"\u274c"/"[FAIL]"/g; s/"\u23f3"/"[TO DO]"/g\'): '
        + ", ".join(stale)
    )
