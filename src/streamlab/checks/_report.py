"""The shared way every exercise check reports back to the learner."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any


class Report:
    """Collects the findings of one check and prints them once.

    >>> r = Report("Exercise 2.1: split lines")
    >>> r.expect(1 + 1 == 2, "adds up")
    True
    >>> r.done()  # doctest: +NORMALIZE_WHITESPACE
    ✅ Exercise 2.1: split lines: all 1 checks pass.
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
            print(f"✅ {self.title}: all {self.checked} checks pass.")
        elif self.not_started:
            print(f"⏳ {self.title}: {self.problems[-1]}")
        else:
            print(f"❌ {self.title}: {len(self.problems)} of {self.checked} checks fail.")
            for p in self.problems:
                print(f"   - {p}")
        return self.ok


def run_check(title: str, body: Callable[[Report], None]) -> bool:
    """Run ``body(report)``, turning the learner's exceptions into findings.

    ``NotImplementedError`` means "not attempted yet"; any other exception is
    reported with the line of the learner's code that raised it, not a
    traceback through streamlab.
    """
    report = Report(title)
    try:
        body(report)
    except NotImplementedError:
        report.not_yet()
    except Exception as exc:  # the learner's code failed: say where, briefly
        frames = traceback.extract_tb(exc.__traceback__)
        where = next((f for f in reversed(frames) if "streamlab" not in f.filename), frames[-1])
        report.checked += 1
        report.problems.append(
            f"your code raised {type(exc).__name__}: {exc} (line {where.lineno}: {where.line})"
        )
    return report.done()
