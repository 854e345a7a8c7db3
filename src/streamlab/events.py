"""Provider-neutral stream events: what any LLM stream says, whichever API sent it.

The three APIs the course streams (OpenAI Responses, Chat Completions,
Anthropic Messages) say the same few things in different shapes. These
frozen dataclasses are the one vocabulary for them; ``stream_events`` /
``astream_events`` (in :mod:`streamlab.deltas`) turn any SDK stream into
them:

=====================  ==========================================================
event                  meaning
=====================  ==========================================================
:class:`TextDelta`     a piece of the answer's text
:class:`ReasoningDelta`  a piece of the reasoning summary (Responses) or thinking
                       (Anthropic, ``reasoning_content`` of compatible Chat servers)
:class:`ToolCallStart` the model began a tool call: its id and name are known
:class:`ToolCallDelta` a fragment of that call's JSON arguments (never parse it alone)
:class:`ToolCallDone`  the call's arguments are complete: only now may it run
:class:`StreamEnd`     the last event: the outcome, usage, and everything assembled
=====================  ==========================================================

``index`` numbers a response's tool calls 0, 1, 2... in the order they
started, on every API (the providers' own indexes also count text and
reasoning items; those are in ``StreamEnd.raw``). ``id`` is the provider's
call id (``call_...``, ``toolu_...``), repeated on every delta even where the
wire sends it only once, so a consumer never has to remember it.

Check :attr:`StreamEnd.outcome` before trusting the text: a stream that was cut
short (``"length"``), refused, filtered or failed can still have sent text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Outcome",
    "OUTCOMES",
    "TextDelta",
    "ReasoningDelta",
    "ToolCallStart",
    "ToolCallDelta",
    "ToolCallDone",
    "Usage",
    "StreamEnd",
    "StreamEvent",
]

#: How a stream ended, the same words for every API:
#:
#: - ``"stop"``: the answer is complete (``end_turn``, ``stop``, ``completed``);
#: - ``"length"``: cut short, the text is incomplete (a token or context limit,
#:   or a turn the provider paused: ``max_tokens``, ``length``,
#:   ``incomplete``, ``pause_turn``; ``StreamEnd.reason`` says which);
#: - ``"tool_calls"``: the model wants tools run (``tool_use``, ``tool_calls``,
#:   or a completed response whose output has function calls);
#: - ``"refusal"``: the model declined (Anthropic ``refusal``, an OpenAI refusal);
#: - ``"filtered"``: the provider's content filter stopped it (``content_filter``);
#: - ``"failed"``: an error inside the stream, or it ended without saying how.
Outcome = Literal["stop", "length", "tool_calls", "refusal", "filtered", "failed"]
OUTCOMES: tuple[str, ...] = ("stop", "length", "tool_calls", "refusal", "filtered", "failed")


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer's text, in order."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of reasoning shown before (or between) the answer's text.

    OpenAI Responses sends a *summary* of the model's reasoning; Anthropic
    sends its *thinking*. Show it muted and apart from the answer: it is not
    the answer, and it can be long.
    """

    text: str


@dataclass(frozen=True)
class ToolCallStart:
    """The model started tool call number ``index``: ``id`` and ``name`` are known, no arguments yet."""

    index: int
    id: str
    name: str


@dataclass(frozen=True)
class ToolCallDelta:
    """A fragment of the JSON arguments of call ``index``.

    Concatenate the fragments of one call (by ``index`` or ``id``); a fragment
    alone is usually not valid JSON, and the joined text is not complete
    before :class:`ToolCallDone`. :mod:`streamlab.partial_json` can show it
    while it grows.
    """

    index: int
    id: str
    arguments_delta: str


@dataclass(frozen=True)
class ToolCallDone:
    """Tool call ``index`` is complete: ``arguments`` is its whole JSON text.

    Only now may the tool run. :meth:`parsed_arguments` parses the JSON.
    """

    index: int
    id: str
    name: str
    arguments: str

    def parsed_arguments(self) -> Any:
        """The arguments as Python values (``{}`` for an empty argument string).

        Raises :class:`ValueError` naming the call when the model sent JSON
        that does not parse (models do): send the error back as the tool's
        result and let the model try again, rather than crash the loop.
        """
        if not self.arguments.strip():
            return {}
        try:
            return json.loads(self.arguments)
        except ValueError as exc:
            raise ValueError(
                f"tool call {self.index} ({self.name!r}, id {self.id!r}) has arguments that are "
                f"not valid JSON ({exc}): {self.arguments!r:.120}. Send this error back as the "
                "tool's result so that the model can correct itself."
            ) from None


@dataclass(frozen=True)
class Usage:
    """Token counts the provider reported (``None``: not reported).

    ``reasoning_tokens`` are part of ``output_tokens`` on OpenAI (billed as
    output, not shown); Anthropic does not report them separately.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True)
class StreamEnd:
    """The last event of every stream: how it ended and what was assembled.

    - ``outcome``: one of :data:`OUTCOMES`; check it before trusting ``text``.
    - ``reason``: the provider's own word for the ending (``"end_turn"``,
      ``"max_output_tokens"``, ``"content_filter"``, an error code...), or ``None``.
    - ``text``, ``reasoning``, ``refusal``: everything that arrived, joined.
    - ``tool_calls``: the complete calls, in ``index`` order.
    - ``usage``: the token counts, when the provider sent them.
    - ``error``: the provider's error message when ``outcome == "failed"``.
    - ``api``: ``"responses"``, ``"chat"``, ``"anthropic"`` or ``"text"``
      (plain strings); ``response_id``: the provider's id for the response.
    - ``assistant_turn``: the assistant's turn in the API's own input format,
      ready to append to the conversation for the next request (Anthropic
      thinking blocks keep their ``signature``, Responses reasoning items
      their ``encrypted_content``: the provider needs them back).
    - ``raw``: the provider's final event or object, for anything else.
    """

    outcome: Outcome
    usage: Usage | None = None
    text: str = ""
    tool_calls: tuple[ToolCallDone, ...] = ()
    reasoning: str = ""
    refusal: str = ""
    error: str | None = None
    reason: str | None = None
    api: str = "text"
    response_id: str | None = None
    assistant_turn: tuple[dict[str, Any], ...] = field(default=(), compare=False, repr=False)
    raw: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        """True when the answer is complete and may be trusted as it is (``outcome == "stop"``)."""
        return self.outcome == "stop"


#: Any event :func:`streamlab.deltas.stream_events` yields.
StreamEvent = TextDelta | ReasoningDelta | ToolCallStart | ToolCallDelta | ToolCallDone | StreamEnd
