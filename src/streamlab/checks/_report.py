"""The shared way every exercise check reports back to the learner.

One way to turn the learner's exception into a finding: :func:`learner_error`
formats it (with the line of the learner's code that raised it), and
:meth:`Report.call` calls the learner's function and records such a finding
instead of letting the exception escape. :func:`run_check` does the same for
anything a check did not catch itself.
"""

from __future__ import annotations

import asyncio
import sysconfig
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlab

#: The package's own folder: frames in it are the check, not the learner. Compared
#: as a path, since a clone's folder may be named anything (even "streamlab").
PACKAGE_DIR = Path(streamlab.__file__).resolve().parent
_LIBRARY_DIRS = tuple(
    Path(p).resolve() for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
)

#: Exceptions a learner's code may raise that are still the learner's: ``CancelledError``
#: is a ``BaseException`` (not an ``Exception``) since Python 3.8.
LEARNER_ERRORS: tuple[type[BaseException], ...] = (Exception, asyncio.CancelledError)

Hint = str | Callable[[BaseException], str | None]

#: The marks that open a check's message. Text, not emoji: a browser without an
#: emoji font (Debian's Chromium as installed) draws an emoji as an empty box.
PASS_MARK = "[PASS]"
FAIL_MARK = "[FAIL]"
TODO_MARK = "[TO DO]"


def _under(filename: str, folders: tuple[Path, ...]) -> bool:
    path = Path(filename)
    if not path.is_absolute():  # "<string>", "<stdin>": code typed or exec'd by someone
        return False
    path = path.resolve()
    return any(path.is_relative_to(folder) for folder in folders)


def learner_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The frame of the learner's own code where ``exc`` was raised (deepest first).

    Frames in the streamlab package are the check's; frames in the standard
    library or installed packages are the tools the learner called. The
    deepest frame that is neither is the learner's line; failing that, the
    deepest frame outside streamlab.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    outside = [f for f in frames if not _under(f.filename, (PACKAGE_DIR,))]
    own = [f for f in outside if not _under(f.filename, _LIBRARY_DIRS)]
    for candidates in (own, outside):
        if candidates:
            return candidates[-1]
    return None


def learner_error(exc: BaseException, what: str = "", hint: Hint = "") -> str:
    """The finding for ``exc`` raised by the learner's code: what ran, the error, the line, a hint.

    >>> def parse(text):
    ...     return int(text)
    >>> try:
    ...     parse("five")
    ... except ValueError as exc:
    ...     print(learner_error(exc, "parse('five')", "give digits"))
    parse('five'): your code raised ValueError: invalid literal for int() with base 10: 'five' (line 2: return int(text)). Hint: give digits
    """
    frame = learner_frame(exc)
    where = ""
    if frame is not None:
        where = f" (line {frame.lineno}: {frame.line})" if frame.line else f" (line {frame.lineno})"
    message = str(exc)
    text = f"your code raised {type(exc).__name__}" + (f": {message}" if message else "") + where
    if callable(hint):
        hint = hint(exc) or ""
    return (f"{what}: " if what else "") + text + (f". Hint: {hint}" if hint else "")


class Report:
    """Collects the findings of one check and prints them once.

    >>> r = Report("Exercise 2.1: split lines")
    >>> r.expect(1 + 1 == 2, "adds up")
    True
    >>> r.done()  # doctest: +NORMALIZE_WHITESPACE
    [PASS] Exercise 2.1: split lines: all 1 checks pass.
    True
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self.problems: list[str] = []
        self.checked = 0
        self.not_started = False

    def expect(self, condition: bool, problem: str) -> bool:
        """Record one expectation; ``problem`` says what is wrong when it fails."""
        self.checked += 1
        if not condition:
            self.problems.append(problem)
        return bool(condition)

    def equal(self, got: Any, want: Any, what: str) -> bool:
        """Record that ``what`` should be ``want``, saying what it was instead."""
        return self.expect(got == want, f"{what}: expected {want!r}, got {got!r}")

    def call(
        self, fn: Callable[..., Any], *args: Any, what: str = "", hint: Hint = "", **kwargs: Any
    ) -> tuple[bool, Any]:
        """Call the learner's ``fn``: ``(True, result)``, or ``(False, None)`` with the error recorded.

        ``NotImplementedError`` passes through: :func:`run_check` reads it as
        "not attempted yet". ``hint`` may be a function of the exception.
        """
        try:
            return True, fn(*args, **kwargs)
        except NotImplementedError:
            raise
        except LEARNER_ERRORS as exc:
            self.expect(False, learner_error(exc, what, hint))
            return False, None

    def not_yet(self, hint: str = "") -> None:
        self.not_started = True
        self.problems.append(
            hint or "not attempted yet: replace the `raise NotImplementedError` line"
        )

    @property
    def ok(self) -> bool:
        return not self.problems and self.checked > 0

    def done(self) -> bool:
        if self.ok:
            print(f"{PASS_MARK} {self.title}: all {self.checked} checks pass.")
        elif self.not_started:
            print(f"{TODO_MARK} {self.title}: {self.problems[-1]}")
        else:
            print(f"{FAIL_MARK} {self.title}: {len(self.problems)} of {self.checked} checks fail.")
            for p in self.problems:
                print(f"   - {p}")
        return self.ok


def run_check(title: str, body: Callable[[Report], None]) -> bool:
    """Run ``body(report)``, turning the learner's exceptions into findings.

    ``NotImplementedError`` means "not attempted yet"; any other exception is
    reported with the line of the learner's code that raised it
    (:func:`learner_error`), not a traceback through streamlab.
    """
    report = Report(title)
    try:
        body(report)
    except NotImplementedError:
        report.not_yet()
    except LEARNER_ERRORS as exc:  # the learner's code failed: say where, briefly
        report.checked += 1
        report.problems.append(learner_error(exc))
    return report.done()
