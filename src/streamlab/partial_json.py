"""Best-effort parsing of a JSON document that is still arriving.

A structured answer streamed as text deltas is not valid JSON until its last
delta: ``json.loads`` fails on every prefix. :func:`parse_partial` closes
what is open (a string, arrays, objects), drops what cannot be completed (a
half-written key, ``tru``, a dangling ``,`` or ``:``) and parses the result,
so a UI can show a partial object while the rest arrives.

Caveats, true of every partial parser: a number may still grow (``12`` may
become ``125``), a string is shown cut, and a key appears only once its value
has started. Production parsers (``jiter``'s ``partial_mode``, used by the
openai SDK) are incremental; this one re-scans the text, which is fine for
the sizes a notebook streams.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["parse_partial", "closing_for"]


def closing_for(text: str) -> str:
    """The characters that close every string, array and object open at the end of ``text``.

    >>> closing_for('{"a": [1, {"b": "x')
    '"}]}'
    """
    return _scan(text)[0]


def _scan(text: str) -> tuple[str, bool]:
    """(closing characters, whether the text ends inside an unfinished escape)."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
    return ('"' if in_string else "") + "".join(reversed(stack)), escaped


def parse_partial(text: str, default: Any = None) -> Any:
    """Parse a prefix of a JSON document into the most complete value it supports.

    Returns ``default`` when nothing can be parsed yet (empty text, ``"{"`` is
    enough for ``{}``). A complete document parses exactly as ``json.loads``.

    >>> parse_partial('{"name": "Ada", "langs": ["en", "fr')
    {'name': 'Ada', 'langs': ['en', 'fr']}
    >>> parse_partial('{"name": "Ada", "ag')
    {'name': 'Ada'}
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    s = text
    while s:
        closing, escaped = _scan(s)
        if escaped:
            s = s[:-1]  # a lone backslash would escape the closing quote
            continue
        try:
            return json.loads(s + closing)
        except ValueError:
            s = s[:-1]
    return default
