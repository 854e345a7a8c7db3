"""Inline CSS shared by the panes and the status line.

Colours stay readable in JupyterLab's light and dark themes: the muted text
uses the theme's own variable, the boxes a translucent background.
"""

from __future__ import annotations

#: Secondary text (waiting clocks, stats, the status line).
MUTED = "color: var(--jp-ui-font-color2, #666)"
#: Line spacing for every part of a pane: ipywidgets' HTML widget sets its own
#: line-height to the 28 px height of an input row, which double-spaces text.
LINES = "line-height: 1.4"
#: The box under a pane's text when the stream failed.
ERROR_BOX = (
    "margin-top: .4em; padding: .3em .5em; border-left: 4px solid #d32f2f;"
    " background: rgba(211, 47, 47, .08); white-space: normal"
)
#: The box under a pane's text when the reader stopped the stream.
NOTE_BOX = (
    "margin-top: .4em; padding: .3em .5em; border-left: 4px solid #f9a825;"
    " background: rgba(249, 168, 37, .10); white-space: normal"
)
