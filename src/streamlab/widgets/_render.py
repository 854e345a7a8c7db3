"""How a pane's parts are drawn: the view's display settings and the HTML of each part.

Shared by :mod:`~streamlab.widgets._pane` and :mod:`~streamlab.widgets._view`
(the view owns one :class:`ViewSettings`, its panes read it), so that neither
module needs the other's internals.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from streamlab.widgets._result import ToolCallProgress
from streamlab.widgets._styles import LINES, MUTED, NOTE_BOX

#: Characters of a call's arguments shown while they stream (the tail; all are kept).
ARGUMENTS_SHOWN = 160

_OUTCOME_NOTES = {
    "length": "cut short ({reason}): the answer is incomplete",
    "tool_calls": "the model asked for tools; its answer comes after their results",
    "refusal": "the model refused{refusal}",
    "filtered": "stopped by the provider's content filter ({reason}): do not show it as an answer",
    "failed": "the stream failed: {error}",
}


@dataclass
class ViewSettings:
    """What a :class:`StreamView` was asked for, read by its panes on every draw."""

    label: str = "run"
    markdown: bool = False
    max_fps: float = 30.0
    height: str = "12em"
    _md: Any = field(default=None, repr=False)

    def render_text(self, text: str) -> str:
        """The answer's text as HTML: escaped, or Markdown without raw HTML."""
        if not self.markdown:
            return f"<span class='streamlab-text' style='white-space: pre-wrap'>{html.escape(text)}</span>"
        if self._md is None:
            from markdown_it import MarkdownIt

            # html=False: text from a model is data, never markup for the page.
            self._md = MarkdownIt("commonmark", {"html": False})
        return f"<div class='streamlab-text'>{self._md.render(text)}</div>"


def render_reasoning(text: str, *, streaming: bool) -> str:
    """The reasoning area's content: muted, pre-wrapped, the newest line kept in view."""
    cursor = "<span style='opacity:.6'>&#9612;</span>" if streaming else ""
    # Paragraphs as blocks with a small gap: a blank line drawn as a whole empty
    # line looked like an empty band at the top of the scrolled area. A summary's
    # "**Title**" line (OpenAI writes one per part) is shown bold, not as asterisks.
    paragraphs = [p.strip() for p in _BLANK_LINES.split(text) if p.strip()] or [""]
    blocks = [f"<div style='margin-top: .35em'>{_paragraph(p)}</div>" for p in paragraphs[:-1]] + [
        f"<div style='margin-top: .35em'>{_paragraph(paragraphs[-1])}{cursor}</div>"
    ]
    # column-reverse keeps the newest line in view; margin-bottom: auto keeps a
    # short text at the top.
    return (
        f"<div class='streamlab-reasoning' style='{MUTED}; font-size: 90%; {LINES};"
        " max-height: 7em; overflow-y: auto; display: flex; flex-direction: column-reverse;"
        f" white-space: pre-wrap'><div style='margin-bottom: auto'>{''.join(blocks)}</div></div>"
    )


_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")
_TITLE = re.compile(r"\*\*([^*\n]+)\*\*")


def _paragraph(text: str) -> str:
    """One paragraph of reasoning as HTML: escaped, with **bold** titles drawn bold."""
    return _TITLE.sub(r"<b>\1</b>", html.escape(text))


def reasoning_title(chars: int, *, streaming: bool) -> str:
    return f"Reasoning{'…' if streaming else ''} ({chars} characters)"


def render_tool_calls(calls: Sequence[ToolCallProgress]) -> str:
    """One line per tool call: its name, the arguments so far (growing), and whether they are complete."""
    lines = []
    for call in calls:
        args = call.arguments
        if len(args) > ARGUMENTS_SHOWN:
            args = "…" + args[-ARGUMENTS_SHOWN:]
        mark = "&#10003; complete" if call.done else "&hellip; streaming"
        state = "done" if call.done else "streaming"
        lines.append(
            f"<div class='streamlab-tool-call streamlab-tool-call-{state}' style='font-family:"
            f" var(--jp-code-font-family, monospace); font-size: 90%; {LINES};"
            # JSON has long unbroken runs (a long string value): wrap them inside the pane.
            f" overflow-wrap: anywhere'>&#9881; <b>{html.escape(call.name)}</b>"
            f"(<span class='streamlab-tool-args'>{html.escape(args)}</span>) "
            f"<span style='{MUTED}'>{mark}</span></div>"
        )
    return "".join(lines)


def render_outcome(
    outcome: str | None, *, reason: str | None, refusal: str, error: str | None
) -> str:
    """A note under the text when the stream ended in any way but a complete answer."""
    if outcome in (None, "stop") or outcome not in _OUTCOME_NOTES:
        return ""
    note = _OUTCOME_NOTES[outcome].format(
        reason=reason or outcome, refusal=f": {refusal}" if refusal else "", error=error or reason
    )
    return (
        f"<div class='streamlab-outcome streamlab-outcome-{outcome}' style='{NOTE_BOX}'>"
        f"<b>Note:</b> {html.escape(note)}</div>"
    )
