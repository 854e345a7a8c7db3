"""Simulated reasoning: summary / thinking text, hidden reasoning time, opaque blobs.

Reasoning comes before the answer and takes simulated time: it occupies
``slots`` paced token slots (the effort's budget, at least the visible text),
so the answer's time to first token grows with the effort. The visible text
(a Responses summary, an Anthropic thinking block) is deterministic for a
(prompt, seed), like the answer.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from streamlab.provider.generation import (
    CORPUS,
    DEFAULT_TOPICS,
    gist,
    pick_topic,
    rng_for,
    tokenize,
)

#: Paced token slots spent reasoning per Responses ``reasoning.effort``.
EFFORT_SLOTS = {"none": 0, "minimal": 8, "low": 24, "medium": 48, "high": 96, "xhigh": 160}
#: Slots spent by an Anthropic thinking block (``budget_tokens`` caps it).
THINKING_SLOTS = 48


@dataclass(frozen=True)
class Reasoning:
    """The reasoning of one turn: visible ``parts`` (token lists) and paced ``slots``."""

    parts: list[list[str]]
    slots: int
    blob: str  # encrypted_content (Responses) or signature (Anthropic)

    @property
    def tokens(self) -> int:
        """Reasoning tokens reported in usage: every slot is a token the model spent."""
        return self.slots

    def text(self, i: int) -> str:
        return "".join(self.parts[i])


def _quote(prompt: str) -> str:
    words = gist(prompt).split()
    short = " ".join(words[:12]) + (" ..." if len(words) > 12 else "")
    return short or "(no question)"


def reasoning_parts(prompt: str, seed: int, plan: str, n_parts: int) -> list[list[str]]:
    """``n_parts`` paragraphs of visible reasoning about ``prompt``; ``plan`` says what comes next."""
    rng = rng_for("reasoning\x00" + prompt, seed)
    topic = pick_topic(prompt)
    about = f"This is about {topic}" if topic else "This is a general question"
    fact = rng.choice(CORPUS[topic or DEFAULT_TOPICS[rng.randrange(len(DEFAULT_TOPICS))]][1])
    paragraphs = [
        f"**Reading the question**\n\nThe user asks: \u201c{_quote(prompt)}\u201d. "
        f"{about}, so I should keep the answer concrete.",
        f"**Planning the answer**\n\n{plan} A useful fact to build on: {fact}",
    ]
    return [tokenize(p) for p in paragraphs[:n_parts]]


def blob(prefix: str, prompt: str, seed: int, size: int = 96) -> str:
    """An opaque, deterministic base64 string (stands in for encrypted reasoning)."""
    out = b""
    block = f"{seed}\x00{prompt}".encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return prefix + base64.urlsafe_b64encode(out[:size]).decode().rstrip("=")


def make_reasoning(
    prompt: str, seed: int, *, slots: int, n_parts: int, plan: str, prefix: str
) -> Reasoning:
    """Reasoning with ``n_parts`` visible paragraphs (0: hidden) over at least ``slots`` slots."""
    parts = reasoning_parts(prompt, seed, plan, n_parts) if n_parts else []
    visible = sum(len(p) for p in parts)
    return Reasoning(parts=parts, slots=max(slots, visible), blob=blob(prefix, prompt, seed))


def spread(n_visible: int, slots: int) -> list[int]:
    """The slot of each visible reasoning token: spread evenly, the last on the last slot."""
    if n_visible <= 0:
        return []
    if n_visible == 1:
        return [slots - 1]
    return [round(i * (slots - 1) / (n_visible - 1)) for i in range(n_visible)]
