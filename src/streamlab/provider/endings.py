"""How a stream ends, chosen per request with the ``x-streamlab-ending`` header.

``x-streamlab-ending: NAME[;after=N]`` where NAME is one of ``ENDINGS``
(``_`` and ``-`` are the same). ``after=N`` sets how many answer tokens come
before a cut (default: half the answer). Each API accepts the endings its
real counterpart has; any other is a 400 that says which ones it has.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.datastructures import Headers

from streamlab.provider.faults import ProviderError

HEADER_ENDING = "x-streamlab-ending"

#: Ending names and the APIs that have them.
ENDINGS: dict[str, tuple[str, ...]] = {
    "refusal": ("responses", "chat", "messages"),
    "content-filter": ("responses", "chat"),
    "failed": ("responses",),
    "max-tokens": ("responses", "chat", "messages"),
    "pause-turn": ("messages",),
    "context-window": ("messages",),
}

REFUSAL_TEXT = "I'm sorry, but I can't help with that request. (simulated refusal by streamlab)"


@dataclass(frozen=True)
class Ending:
    """A forced ending: ``name`` from ``ENDINGS``; ``after`` answer tokens before a cut."""

    name: str
    after: int | None = None

    def cut(self, n_tokens: int) -> int:
        """How many of ``n_tokens`` answer tokens are sent before the cut."""
        return min(n_tokens, self.after if self.after is not None else max(1, n_tokens // 2))


def _bad(message: str) -> ProviderError:
    return ProviderError(400, f"{HEADER_ENDING}: {message}", param="headers")


def ending_from(headers: Headers, api: str) -> Ending | None:
    """The ending the request asks for on ``api``, or None; a 400 for a bad value."""
    raw = headers.get(HEADER_ENDING)
    if raw is None or not raw.strip():
        return None
    head, *opts = [p.strip() for p in raw.split(";")]
    name = head.lower().replace("_", "-")
    have = [n for n, apis in ENDINGS.items() if api in apis]
    if name not in ENDINGS:
        raise _bad(f"unknown ending {head!r}; this API has: {', '.join(have)}.")
    if api not in ENDINGS[name]:
        raise _bad(f"the ending {name!r} does not exist on this API; it has: {', '.join(have)}.")
    after = None
    for opt in filter(None, opts):
        key, _, value = opt.partition("=")
        if key.strip() != "after" or not value.strip().isdigit():
            raise _bad(f"bad option {opt!r}; the only option is after=N (N >= 0).")
        after = int(value)
    return Ending(name, after)
