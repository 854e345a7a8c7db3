"""Partial JSON: every prefix of a document parses to something sensible."""

from __future__ import annotations

import json

import pytest

from streamlab.partial_json import closing_for, parse_partial

DOC = {
    "title": 'Streaming "JSON" \\ é \u2028 \\u0041',
    "n": -12.5e3,
    "ok": True,
    "none": None,
    "tags": ["a", "b", None, 3],
    "nested": {"x": [1, {"y": False}], "empty": {}},
}


def test_complete_documents_parse_exactly():
    text = json.dumps(DOC, ensure_ascii=False)
    assert parse_partial(text) == DOC


@pytest.mark.parametrize("ensure_ascii", [True, False])
def test_every_prefix_parses_and_only_grows(ensure_ascii):
    text = json.dumps(DOC, ensure_ascii=ensure_ascii)
    for i in range(1, len(text) + 1):
        value = parse_partial(text[:i])
        assert isinstance(value, dict), text[:i]
        for key in value:
            assert key in DOC, f"invented key {key!r} from {text[:i]!r}"


def test_matches_jiter_on_strings_and_containers():
    jiter = pytest.importorskip("jiter")  # the openai SDK's partial parser
    text = json.dumps({"a": ["xy", {"b": "zz"}], "c": "end"})
    for i in range(1, len(text) + 1):
        assert parse_partial(text[:i]) == jiter.from_json(
            text[:i].encode(), partial_mode="trailing-strings"
        )


@pytest.mark.parametrize(
    ("prefix", "value"),
    [
        ("", None),
        ("{", {}),
        ('{"na', {}),
        ('{"name": "Ad', {"name": "Ad"}),
        ('{"ok": tr', {}),
        ('{"a": [1, 2', {"a": [1, 2]}),
        ('{"s": "back\\', {"s": "back"}),
        ('{"s": "\\u00', {"s": ""}),
        ("[", []),
    ],
)
def test_known_prefixes(prefix, value):
    assert parse_partial(prefix) == value


def test_closing_for():
    assert closing_for('{"a": [1, {"b": "x') == '"}]}'
    assert closing_for('{"a": "}]"') == "}"
