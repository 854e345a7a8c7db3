"""Prompted JSON: a JSON Schema written into the system prompt or instructions.

Libraries such as pydantic-ai (``PromptedOutput``) and instructor (JSON mode)
ask for ``json_object`` output and put the schema only in the prompt text; a
real model follows it, so the local provider does too.
"""

from __future__ import annotations

import json
from typing import Any

from streamlab.provider.generation import gist

_SCHEMA_KEYS = ("properties", "$defs", "anyOf", "oneOf", "items")
_MAX_TRIES = 64  # opening braces looked at: bounded work on long prompts


def prompted_schema(text: str) -> dict[str, Any] | None:
    """The first JSON object in ``text`` that looks like a JSON Schema, or None."""
    text = gist(text)  # the schema of a long prompt is at its start or end
    decoder = json.JSONDecoder()
    start = text.find("{")
    tries = 0
    while start >= 0 and tries < _MAX_TRIES:
        tries += 1
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and (
            any(k in value for k in _SCHEMA_KEYS) or value.get("type") == "object"
        ):
            return value
        start = text.find("{", end)
    return None
