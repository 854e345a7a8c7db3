"""Checks for notebook 08: release policies for checked (moderated) streams.

A policy is ``policy(deltas, check) -> iterator of released text`` (see
:mod:`streamlab.release`). The checks run it on the deterministic samples of
``streamlab.release.samples()`` (a clean answer, answers with an API key
inside cut into deltas in different ways, and one at the very end), on a key
that arrives inside one long delta, and with a check that needs context (it
flags a sentence only after the one before it). The hold-back policy also
runs with windows of several sizes, so the window must come from its argument.
"""

from __future__ import annotations

import functools
import inspect
import re

from streamlab.checks._report import Report, run_check
from streamlab.release import (
    SECRET,
    Check,
    Outcome,
    Policy,
    Sample,
    find_secret,
    run_policy,
    samples,
    splice,
    tokenize,
)

__all__ = ["check_hold_back", "check_by_sentence"]

#: How much more than its window a hold-back policy may lag, on average, on a clean stream.
MAX_EXTRA_LAG = 16
#: Window sizes the hold-back policy is run with: all longer than the key.
WINDOWS = (30, 45, 70)

# A sentence ends at ., ! or ?, closing quotes or brackets, then whitespace; the
# end of a release is after that whitespace.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+")
_CLEAN_MIXED = (
    "Wow! It streams. Does it wait for the end? No, it does not. "
    "Pi is about 3.14 here, e.g. in tests. Three kinds of end: . and ! and ?! Done."
)
# Ends after closing quotes and brackets, and line breaks that end nothing (no punctuation).
_CLEAN_QUOTED = (
    'She said "it streams." Then it did (mostly.) Was it fast?" he asked. [Yes!] '
    "The list:\n- first item\n- second item\nThat is all.\nBye."
)
# The context check flags the second sentence of this story only after the first.
_CONTEXT = "The launch code is blue. Now repeat the code to me. Thanks, that is all."
_CONTEXT_BAD = (_CONTEXT.index("Now"), _CONTEXT.index(" Thanks"))


def _needs_context(text: str) -> str | None:
    """A check that needs what came before: "repeat the code" is bad only after "launch code"."""
    if "launch code" in text and "repeat the code" in text:
        return "asks to repeat a launch code"
    return find_secret(text)


def _long_delta() -> Sample:
    """The key inside one delta of 80 characters, followed by more text."""
    before = "Here is the configuration. Set the key to "
    long = SECRET + " and then restart the service, it takes a minute or so."
    after = " After that the dashboard shows the new data. Done."
    deltas = (*tokenize(before), long, *tokenize(after))
    return Sample("secret in one long delta", deltas, (len(before), len(before) + len(SECRET)))


def _cases() -> list[tuple[Sample, Check]]:
    cases: list[tuple[Sample, Check]] = [(s, find_secret) for s in samples().values()]
    mixed = tokenize(_CLEAN_MIXED)
    cases.append((Sample("clean, every kind of sentence end", tuple(mixed)), find_secret))
    cases.append(
        (
            Sample("clean, quotes, brackets and line breaks", tuple(tokenize(_CLEAN_QUOTED))),
            find_secret,
        )
    )
    short = "Use " + SECRET
    cases.append(
        (
            Sample("a short answer that is only the key", tuple(tokenize(short)), (4, len(short))),
            find_secret,
        )
    )
    cases.append((_long_delta(), find_secret))
    tail = splice(mixed, SECRET, len(_CLEAN_MIXED), name="secret after the last sentence", piece=5)
    cases.append((tail, find_secret))
    context = Sample("a check that needs context", tuple(tokenize(_CONTEXT)), _CONTEXT_BAD)
    cases.append((context, _needs_context))
    return cases


def _safety(
    report: Report, policy: Policy, cases: list[tuple[Sample, Check]]
) -> dict[str, Outcome] | None:
    """What every policy must do: show all of a clean answer, none of a flagged part, and stop."""
    outcomes = {}
    for sample, check in cases:
        ran, o = report.call(
            run_policy, policy, sample, check, what=f"on the '{sample.name}' stream"
        )
        if not ran:
            return None
        outcomes[sample.name] = o
        where = f"on the '{sample.name}' stream"
        report.expect(
            o.in_order,
            f"{where}: you released text that is not the stream's text in order "
            "(release each character once, oldest first)",
        )
        if sample.bad is None:
            report.expect(
                o.complete,
                f"{where}: the reader saw {len(o.released)} of {len(o.text)} characters of a "
                "clean answer: when the stream ends, check and release what you still hold",
            )
            continue
        context = check is _needs_context
        report.expect(
            o.leaked == 0,
            f"{where}: {o.leaked} characters of the flagged text reached the reader before the "
            "check caught it: "
            + (
                "this check flags a sentence only together with the one before it, so call "
                "check() on all the text so far, not only on the newest part"
                if context
                else f"check all held text together (the key is {len(SECRET)} characters long "
                "and may arrive in one delta or in many), and release only text the check has "
                "already seen whole"
            ),
        )
        report.expect(
            len(o.released) <= sample.bad[1],
            f"{where}: the reader saw text from after the flagged part: once the check fails, "
            "release nothing more",
        )
    return outcomes


def _window_kept(report: Report, policy: Policy, window: int) -> None:
    """While the stream runs, the last ``window`` characters stay unreleased, and no more."""
    clean = samples()["clean"]
    ran, o = report.call(run_policy, policy, clean, what=f"with window={window}")
    if not ran:
        return
    total, shown = len(clean.text), 0
    for arrived, chunk in o.releases:
        shown += len(chunk)
        if arrived < total and not report.expect(
            shown <= arrived - window,
            f"with window={window}, {arrived} characters had arrived and you had released "
            f"{shown}: keep the last `window` characters (the argument, not a number of your "
            "own) unreleased until the stream ends",
        ):
            return
    longest = max(map(len, clean.deltas))
    report.expect(
        o.mean_lag <= window + longest + MAX_EXTRA_LAG,
        f"with window={window}, text waited {o.mean_lag:.0f} characters on average before it was "
        "shown: hold back only the last `window` characters, release the rest as it falls out",
    )


def _checks_every_delta(report: Report, policy: Policy) -> None:
    """``check`` runs on all the text so far after each delta, from the first one on."""
    clean = samples()["clean"]
    seen: list[str] = []

    def recording(text: str) -> str | None:
        seen.append(text)
        return find_secret(text)

    ran, _ = report.call(run_policy, policy, clean, recording, what="with a recording check")
    if not ran:
        return
    prefix, missed = "", None
    for k, d in enumerate(clean.deltas, 1):
        prefix += d
        if prefix not in seen:
            missed = k
            break
    report.expect(
        missed is None,
        f"after delta {missed} of the clean stream, check() never saw all the text so far: call "
        "check(all text so far) after every delta, from the first one, also while the window "
        "is not yet full (a check may need to stop the stream before anything is released)",
    )


def _takes_window(policy: Policy) -> bool:
    try:
        return "window" in inspect.signature(policy).parameters
    except (TypeError, ValueError):
        return False


def check_hold_back(policy: Policy) -> bool:
    """Exercise 8.1: ``hold_back(deltas, check, window=32)`` keeps a window of recent text unreleased."""

    def body(report: Report) -> None:
        outcomes = _safety(report, policy, _cases())
        if outcomes is None:
            return
        clean = outcomes["clean"]
        report.expect(
            len(clean.releases) > 3,
            f"on the clean stream you released {len(clean.releases)} times: a hold-back window "
            "releases text steadily as the stream goes, not all at the end",
        )
        _checks_every_delta(report, policy)
        if not report.expect(
            _takes_window(policy),
            "hold_back must take the window size as its `window` argument (default 32)",
        ):
            return
        for window in WINDOWS:
            _window_kept(report, functools.partial(policy, window=window), window)

    return run_check("Exercise 8.1: hold back a window", body)


def _sentence_ends(text: str) -> list[int]:
    return [m.end() for m in _SENTENCE_END.finditer(text)]


def check_by_sentence(policy: Policy) -> bool:
    """Exercise 8.2: ``by_sentence(deltas, check)`` checks and releases whole sentences."""

    def body(report: Report) -> None:
        cases = _cases()
        outcomes = _safety(report, policy, cases)
        if outcomes is None:
            return
        deltas = {sample.name: sample.deltas for sample, _ in cases}
        for name in (
            "clean",
            "clean, every kind of sentence end",
            "clean, quotes, brackets and line breaks",
        ):
            o = outcomes[name]
            if not o.complete:
                continue
            ends = set(_sentence_ends(o.text))
            shown = 0
            for arrived, chunk in o.releases:
                shown += len(chunk)
                if arrived < len(o.text) and not report.expect(
                    shown in ends,
                    f"on the '{name}' stream a release ends in the middle of a sentence "
                    f"({o.text[max(0, shown - 30) : shown]!r} | {o.text[shown : shown + 10]!r}): "
                    "a sentence ends at ., ! or ? (and any closing quotes or brackets) and the "
                    "whitespace after it, so '3.14', a '.' not yet followed by a space, or a "
                    "line break with no punctuation before it is not an end",
                ):
                    break
            _on_time(report, name, o, deltas[name])

    return run_check("Exercise 8.2: release by sentence", body)


def _on_time(report: Report, name: str, o: Outcome, deltas: tuple[str, ...]) -> None:
    """Each sentence is released before the next delta is read, once its end has arrived."""
    arrived_by: list[int] = []  # the stream's length once the delta holding each character came
    pos = 0
    for d in deltas:
        pos += len(d)
        arrived_by.extend([pos] * len(d))
    shown, releases = 0, iter(o.releases)
    for end in _sentence_ends(o.text):
        due = arrived_by[end - 1]
        while shown < end:
            step = next(releases, None)
            if step is None:
                return
            arrived, chunk = step
            shown += len(chunk)
        if not report.expect(
            arrived <= due,
            f"on the '{name}' stream the sentence ending {o.text[max(0, end - 25) : end]!r} "
            f"was complete after {due} characters but released only after {arrived}: "
            "release each sentence as soon as it ends with ., ! or ?, any closing quotes or "
            "brackets, and whitespace",
        ):
            return
