"""Release policies: when may streamed text be shown, if it must be checked first?

A moderation or validation check that runs after the whole answer arrived is
too late for a streamed answer (the reader has already seen it); a check that
runs on each delta alone is too early (a secret split over five deltas passes
five times). A *release policy* sits between the stream and the reader: it
takes the deltas and a check, and decides what may be shown, and when.

Shapes used throughout (notebook 08)::

    check(text: str) -> str | None          # a reason to stop, or None if fine
    policy(deltas: Iterable[str], check) -> Iterator[str]   # yields text to release

A policy yields chunks of text in order; once the check fails it stops
(returns) without releasing the flagged text. :func:`run_policy` feeds a
policy one delta at a time and measures what reached the reader, how much of
the flagged text leaked and how long text was held back; :func:`compare`
prints that for several policies side by side.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "Check",
    "Policy",
    "Sample",
    "Outcome",
    "find_secret",
    "tokenize",
    "splice",
    "samples",
    "release_each_delta",
    "release_checked_prefix",
    "release_at_end",
    "run_policy",
    "compare",
]

Check = Callable[[str], "str | None"]
Policy = Callable[[Iterable[str], Check], Iterator[str]]

#: What the example check must catch: something shaped like an API key.
SECRET_PATTERN = re.compile(r"sk-[A-Za-z0-9]{20,}")
#: A made-up key that the samples leak on purpose (27 characters).
SECRET = "sk-" + "Z4b9Qe2LmX7tR1vK8pW3nY6d"

_TOKEN = re.compile(r"\s*[^\s]{1,4}|\s+")


def find_secret(text: str) -> str | None:
    """The example check: a reason if ``text`` holds something like an API key."""
    m = SECRET_PATTERN.search(text)
    return f"looks like an API key ({m.group()[:5]}...)" if m else None


def tokenize(text: str) -> list[str]:
    """Cut text into token-sized deltas (at most 4 visible characters each), like a model's."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Sample:
    """A stream of deltas; ``bad`` is the (start, end) of the text that must not be shown."""

    name: str
    deltas: tuple[str, ...]
    bad: tuple[int, int] | None = None

    @property
    def text(self) -> str:
        return "".join(self.deltas)


def splice(
    deltas: Iterable[str], insert: str, at: int, *, name: str = "spliced", piece: int = 3
) -> Sample:
    """Insert ``insert`` into a stream after about ``at`` characters, cut into ``piece``-sized deltas.

    Use it to make any stream, a real provider's too, carry something a check
    must catch. The insert goes in at a delta boundary at or after ``at``.
    """
    out: list[str] = []
    seen = 0
    inserted = None
    for d in deltas:
        if inserted is None and seen >= at:
            inserted = seen
            out.extend(insert[i : i + piece] for i in range(0, len(insert), piece))
        out.append(d)
        seen += len(d)
    if inserted is None:
        inserted = seen
        out.extend(insert[i : i + piece] for i in range(0, len(insert), piece))
    return Sample(name, tuple(out), (inserted, inserted + len(insert)))


_STORY = (
    "Streaming shows the answer while it is written. The reader starts reading at once. "
    "Here is the configuration you asked for. "
    "Set the key to {secret} and restart the service. "
    "After that the dashboard should show the new data within a minute. "
    "If it does not, check the logs first!"
)
_CLEAN = (
    "Streaming shows the answer while it is written. The reader starts reading at once. "
    "Nothing in this answer needs to be held back. "
    "Still, every sentence passes the same check before anyone sees it. "
    "Is that slower? Only a little, as you will measure."
)


def samples() -> dict[str, Sample]:
    """Deterministic streams for the exercises: clean, a secret mid-answer, one at the very end."""
    before, after = _STORY.split("{secret}")
    mid = splice(tokenize(before) + tokenize(after), SECRET, len(before), name="secret mid-answer")
    end_text = "Done. Your key is "
    end = splice(tokenize(end_text), SECRET + ".", len(end_text), name="secret at the end", piece=2)
    end = Sample(end.name, end.deltas, (end.bad[0], end.bad[1] - 1))  # the final "." is harmless
    # The same secret cut differently: one delta per character of the key.
    odd = splice(
        tokenize(before) + tokenize(after),
        SECRET,
        len(before),
        name="secret, 1-char deltas",
        piece=1,
    )
    return {
        "clean": Sample("clean", tuple(tokenize(_CLEAN))),
        mid.name: mid,
        odd.name: odd,
        end.name: end,
    }


# -- three policies to compare against: too early, too early, too late ------------------


def release_each_delta(deltas: Iterable[str], check: Check) -> Iterator[str]:
    """Too early: check each delta on its own, release it if it passes."""
    for d in deltas:
        if check(d):
            return
        yield d


def release_checked_prefix(deltas: Iterable[str], check: Check) -> Iterator[str]:
    """Still too early: check all text so far, then release the new delta at once.

    Catches the secret, but only once all of it arrived: its first part has
    already been shown.
    """
    text = ""
    for d in deltas:
        text += d
        if check(text):
            return
        yield d


def release_at_end(deltas: Iterable[str], check: Check) -> Iterator[str]:
    """Safe but not streaming: check the whole answer, then release it in one piece."""
    text = "".join(deltas)
    if check(text) is None:
        yield text


# -- measuring a policy -----------------------------------------------------------------


@dataclass
class Outcome:
    """What one policy did with one stream."""

    policy: str
    sample: str
    released: str
    text: str
    bad: tuple[int, int] | None
    releases: list[tuple[int, str]] = field(default_factory=list)  # (chars arrived, chunk)
    in_order: bool = True
    error: str | None = None

    @property
    def complete(self) -> bool:
        """Everything in the stream reached the reader."""
        return self.released == self.text

    @property
    def stopped(self) -> bool:
        return not self.complete

    @property
    def leaked(self) -> int:
        """Characters of the flagged text that reached the reader."""
        if self.bad is None:
            return 0
        start, end = self.bad
        return max(0, min(len(self.released), end) - start) if self.in_order else end - start

    @property
    def mean_lag(self) -> float:
        """Average characters that had arrived after each released character, when it was released."""
        lags: list[int] = []
        pos = 0
        for arrived, chunk in self.releases:
            for _ in chunk:
                pos += 1
                lags.append(max(0, arrived - pos))
        return sum(lags) / len(lags) if lags else 0.0


def run_policy(
    policy: Policy, sample: Sample, check: Check = find_secret, *, name: str | None = None
) -> Outcome:
    """Feed ``sample`` to ``policy`` one delta at a time and record what it released, and when.

    Exceptions from the policy propagate (``NotImplementedError`` included),
    so a check can report them.
    """
    arrived = 0

    def feed() -> Iterator[str]:
        nonlocal arrived
        for d in sample.deltas:
            arrived += len(d)
            yield d

    out = Outcome(
        name or getattr(policy, "__name__", "policy"), sample.name, "", sample.text, sample.bad
    )
    released = out.released
    result = policy(feed(), check)
    if result is None or isinstance(result, str):
        raise TypeError("a policy must yield the chunks it releases (use `yield`), not return them")
    for chunk in result:
        if not isinstance(chunk, str):
            raise TypeError(f"a policy must yield strings, it yielded {type(chunk).__name__}")
        if not chunk:
            continue
        out.releases.append((arrived, chunk))
        released += chunk
        if not sample.text.startswith(released):
            out.in_order = False
    out.released = released
    return out


def compare(
    policies: dict[str, Policy],
    stream_samples: Iterable[Sample] | None = None,
    check: Check = find_secret,
) -> list[Outcome]:
    """Run every policy on every sample and print one table; return the outcomes.

    A policy that raises ``NotImplementedError`` is shown as "not written yet".
    """
    chosen = list(stream_samples) if stream_samples is not None else list(samples().values())
    outcomes: list[Outcome] = []
    print(f"{'policy':<24} {'stream':<24} {'shown':>11} {'leaked':>6} {'lag':>6}  releases")
    for pname, policy in policies.items():
        for s in chosen:
            try:
                o = run_policy(policy, s, check, name=pname)
            except NotImplementedError:
                print(f"{pname:<24} (not written yet)")
                break
            except Exception as exc:  # show, keep going: this is a comparison table
                print(f"{pname:<24} {s.name:<24} raised {type(exc).__name__}: {exc}")
                continue
            outcomes.append(o)
            shown = f"{len(o.released)}/{len(o.text)}"
            leaked = f"{o.leaked}" if o.bad else "-"
            print(
                f"{pname:<24} {s.name:<24} {shown:>11} {leaked:>6} {o.mean_lag:>6.1f}  {len(o.releases)}"
            )
    return outcomes
