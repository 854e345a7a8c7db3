"""Checks for notebook 08: release policies for checked (moderated) streams.

A policy is ``policy(deltas, check) -> iterator of released text`` (see
:mod:`streamlab.release`). The checks run it on the deterministic samples of
``streamlab.release.samples()``: a clean answer, and answers with an API key
inside, cut into deltas in different ways, and at the very end.
"""

from __future__ import annotations

import re

from streamlab.checks._report import Report, run_check
from streamlab.release import SECRET, Outcome, Policy, find_secret, run_policy, samples

__all__ = ["check_hold_back", "check_by_sentence"]

#: How far behind a hold-back policy may run, on average, on the clean sample.
MAX_HOLD_BACK_LAG = 64
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s*$|\n\s*$")


def _safety(report: Report, policy: Policy) -> dict[str, Outcome]:
    """What every policy must do: show all of a clean answer, none of a secret, and stop."""
    outcomes = {}
    for name, sample in samples().items():
        o = run_policy(policy, sample, find_secret)
        outcomes[name] = o
        where = f"on the '{name}' stream"
        report.expect(
            o.in_order,
            f"{where}: you released text that is not the stream's text in order "
            "(release each character once, oldest first)",
        )
        if sample.bad is None:
            report.expect(
                o.complete,
                f"{where}: the reader saw {len(o.released)} of {len(o.text)} characters of a clean answer: "
                "when the stream ends, check and release what you still hold",
            )
        else:
            report.expect(
                o.leaked == 0,
                f"{where}: {o.leaked} characters of the key reached the reader before the check caught it "
                f"(the key is {len(SECRET)} characters long): check all held text together, "
                "and release only text the check has already seen whole",
            )
            report.expect(
                len(o.released) <= sample.bad[1],
                f"{where}: the reader saw text from after the key: once the check fails, release nothing more",
            )
    return outcomes


def check_hold_back(policy: Policy) -> bool:
    """Exercise 8.1: ``hold_back(deltas, check)`` keeps a window of recent text unreleased."""

    def body(report: Report) -> None:
        outcomes = _safety(report, policy)
        clean = outcomes["clean"]
        report.expect(
            len(clean.releases) > 3,
            f"on the clean stream you released {len(clean.releases)} times: a hold-back window releases "
            "text steadily as the stream goes, not all at the end",
        )
        report.expect(
            clean.mean_lag <= MAX_HOLD_BACK_LAG,
            f"on the clean stream text waited {clean.mean_lag:.0f} characters on average before it was "
            f"shown: hold back only the last `window` characters (a little more than the key's "
            f"{len(SECRET)}), release the rest",
        )
        mid = outcomes["secret mid-answer"]
        report.expect(
            len(mid.released) >= mid.bad[0] - MAX_HOLD_BACK_LAG,
            f"with a key at character {mid.bad[0]} you showed only {len(mid.released)} characters: "
            "the safe text before the window should already be out",
        )

    return run_check("Exercise 8.1: hold back a window", body)


def check_by_sentence(policy: Policy) -> bool:
    """Exercise 8.2: ``by_sentence(deltas, check)`` checks and releases whole sentences."""

    def body(report: Report) -> None:
        outcomes = _safety(report, policy)
        clean = outcomes["clean"]
        sentences = len(re.findall(r"[.!?](\s|$)", clean.text))
        report.expect(
            len(clean.releases) >= sentences - 1,
            f"on the clean stream you released {len(clean.releases)} times for {sentences} sentences: "
            "release each sentence as soon as it is complete and checked",
        )
        cut = [chunk for _, chunk in clean.releases[:-1] if not _SENTENCE_END.search(chunk)]
        report.expect(
            not cut,
            f"a release ends in the middle of a sentence ({cut[0][-30:]!r}): release only up to the end "
            "of a sentence (., ! or ? and the space after it)"
            if cut
            else "",
        )

    return run_check("Exercise 8.2: release by sentence", body)
