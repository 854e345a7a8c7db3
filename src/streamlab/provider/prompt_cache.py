"""Prompt caching that counts: ``cached_tokens`` and Anthropic's cache figures.

Real providers keep the processed prefix of recent prompts for a few
minutes; a request whose prompt starts with one of them pays less and says
so in its usage. The local provider does the same, deterministically on one
server, with bounded memory: a least-recently-used set of prefix hashes
(``MAX_PREFIXES``, about 100 bytes each).

- OpenAI (Responses ``usage.input_tokens_details.cached_tokens``, Chat
  ``usage.prompt_tokens_details.cached_tokens``): automatic. The prompt is
  hashed every ``BLOCK_CHARS`` characters; the longest prefix an earlier
  request on this server also had counts, in steps of 128 tokens from
  1,024 tokens (the real minimum): a shorter one caches nothing.
- Anthropic: explicit. A content block (tool, system block or message
  block) with ``cache_control`` is a breakpoint; the prompt up to it is
  written to the cache the first time (``cache_creation_input_tokens``, split
  by ``ttl`` into ``cache_creation.ephemeral_5m_input_tokens`` /
  ``ephemeral_1h_input_tokens``) and read on a later request with the same
  prefix (``cache_read_input_tokens``); ``input_tokens`` counts only what
  follows the last breakpoint. A prefix shorter than the model's minimum
  (1,024 tokens; 4,096 for Claude Haiku 4.5 and Opus 4.5, 2,048 for the
  Haiku 3 models) is not cached, as with the real API.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from streamlab.provider.generation import count_tokens

MAX_PREFIXES = 16_384
BLOCK_CHARS = 512
MIN_CACHED_TOKENS = 1024
CACHE_STEP = 128
_ANTHROPIC_MINIMUM = {
    "claude-haiku-4-5": 4096,
    "claude-opus-4-5": 4096,
    "claude-3-5-haiku": 2048,
    "claude-3-haiku": 2048,
}


@dataclass(frozen=True)
class AnthropicCache:
    """One Anthropic request's input split: uncached, written to the cache, read from it."""

    input_tokens: int
    created: int = 0
    created_5m: int = 0
    read: int = 0


class PromptCache:
    """The prefixes this server has seen, most recent last (bounded, thread-safe)."""

    def __init__(self, max_prefixes: int = MAX_PREFIXES) -> None:
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._max = max_prefixes
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._seen)

    def _hit(self, key: bytes) -> bool:
        with self._lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return True
            return False

    def _store(self, keys: list[bytes]) -> None:
        with self._lock:
            for key in keys:
                self._seen[key] = None
                self._seen.move_to_end(key)
            while len(self._seen) > self._max:
                self._seen.popitem(last=False)

    def openai(self, text: str, input_tokens: int) -> int:
        """``cached_tokens`` for a prompt whose text is ``text``, and remember its prefixes."""
        h = hashlib.blake2b(b"openai", digest_size=16)
        keys, ends = [], []
        for end in range(BLOCK_CHARS, len(text) + 1, BLOCK_CHARS):
            h.update(text[end - BLOCK_CHARS : end].encode("utf-8", "surrogatepass"))
            keys.append(h.copy().digest())
            ends.append(end)
        matched = next((ends[i] for i in range(len(keys) - 1, -1, -1) if self._hit(keys[i])), 0)
        self._store(keys)
        if not matched:
            return 0
        tokens = count_tokens(text[:matched]) // CACHE_STEP * CACHE_STEP
        return min(tokens, input_tokens) if tokens >= MIN_CACHED_TOKENS else 0

    def anthropic(self, body: dict[str, Any], input_tokens: int, model: str) -> AnthropicCache:
        """Split an Anthropic request's input by its ``cache_control`` breakpoints."""
        points = _breakpoints(body)
        minimum = next((v for k, v in _ANTHROPIC_MINIMUM.items() if model.startswith(k)), 1024)
        points = [p for p in points if p[1] >= minimum]
        if not points:
            return AnthropicCache(input_tokens)
        total = max(input_tokens, points[-1][1] + 1, count_tokens(_all_text(body)))
        read = next((tokens for key, tokens, _ in reversed(points) if self._hit(key)), 0)
        last = points[-1][1]
        created = last - read
        created_1h = sum(
            tokens - max(read, prev)
            for (_, tokens, ttl), prev in zip(points, [0] + [p[1] for p in points], strict=False)
            if ttl == "1h" and tokens > read
        )
        self._store([key for key, _, _ in points])
        return AnthropicCache(total - last, created, created - min(created_1h, created), read)


def _segments(body: dict[str, Any]) -> list[tuple[str, Any]]:
    """The prompt in cache order (tools, system, messages): (text, cache_control) per block."""
    out: list[tuple[str, Any]] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            out.append((json.dumps(tool, sort_keys=True), tool.get("cache_control")))
    system = body.get("system")
    blocks = [{"type": "text", "text": system}] if isinstance(system, str) else system or []
    for m in [{"role": "system", "content": blocks}, *(body.get("messages") or [])]:
        content = m.get("content") if isinstance(m, dict) else None
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        for block in content if isinstance(content, list) else []:
            if isinstance(block, dict):
                text = block.get("text") if block.get("type") == "text" else None
                shown = text if isinstance(text, str) else json.dumps(block, sort_keys=True)
                out.append((shown, block.get("cache_control")))
    return out


def _all_text(body: dict[str, Any]) -> str:
    return "".join(text for text, _ in _segments(body))


def _breakpoints(body: dict[str, Any]) -> list[tuple[bytes, int, str]]:
    """(prefix hash, prefix tokens, ttl) at each block marked ``cache_control``."""
    h = hashlib.blake2b(b"anthropic", digest_size=16)
    out, text = [], ""
    for shown, control in _segments(body):
        h.update(shown.encode("utf-8", "surrogatepass") + b"\x00")
        text += shown
        if isinstance(control, dict):
            ttl = "1h" if control.get("ttl") == "1h" else "5m"
            out.append((h.copy().digest(), count_tokens(text), ttl))
    return out


def cache_for(app: Any) -> PromptCache:
    """The prompt cache of the server running ``app`` (made on first use)."""
    state = app.state
    cache = getattr(state, "prompt_cache", None)
    if cache is None:
        cache = state.prompt_cache = PromptCache()
    return cache


__all__ = ["AnthropicCache", "PromptCache", "cache_for", "MAX_PREFIXES", "MIN_CACHED_TOKENS"]
