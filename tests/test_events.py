"""streamlab.events: the provider-neutral event types."""

from __future__ import annotations

import dataclasses

import pytest

import streamlab
from streamlab.events import (
    OUTCOMES,
    ReasoningDelta,
    StreamEnd,
    TextDelta,
    ToolCallDelta,
    ToolCallDone,
    ToolCallStart,
    Usage,
)


def test_events_are_frozen_values_reexported_from_the_package():
    for cls in (TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, ToolCallDone, StreamEnd):
        assert getattr(streamlab, cls.__name__) is cls
    assert TextDelta("a") == TextDelta("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        TextDelta("a").text = "b"  # type: ignore[misc]
    assert OUTCOMES == ("stop", "length", "tool_calls", "refusal", "filtered", "failed")


def test_stream_end_says_whether_to_trust_the_text():
    assert StreamEnd("stop", Usage(1, 2)).ok
    assert not StreamEnd("length", text="half an ans").ok
    # assistant_turn and raw are for the next request, not for equality.
    assert StreamEnd("stop", raw=object(), assistant_turn=({"role": "assistant"},)) == StreamEnd(
        "stop"
    )


def test_tool_call_arguments_parse_or_explain():
    call = ToolCallDone(0, "call_1", "get_weather", '{"city": "Paris"}')
    assert call.parsed_arguments() == {"city": "Paris"}
    assert ToolCallDone(1, "call_2", "now", "").parsed_arguments() == {}
    with pytest.raises(ValueError, match=r"tool call 0 \('get_weather'.*Send this error back"):
        ToolCallDone(0, "call_1", "get_weather", '{"city": "Par').parsed_arguments()
