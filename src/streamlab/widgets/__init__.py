"""Streamed beside buffered: a live two-pane view, a Stop button, a timeline plot.

The picture the course is built around: the same answer shown the two ways a
person can receive it. The *streamed* pane fills as deltas arrive; the
*buffered* pane says it is waiting and then shows everything at once. Under
each pane: time to first text, total time, tokens and tokens per second.

Three ways to drive a :class:`StreamView` (``source`` is anything
:func:`streamlab.deltas.atext_deltas` accepts: an iterator of strings, an SDK
stream, or a function returning one, so that the request itself is timed)::

    view = StreamView()
    display(view)
    await view.arun(lambda: client.responses.create(..., stream=True))  # top-level await
    task = view.start(source)          # background task; the next cell runs at once
    view.run(source)                   # plain sync loop (the kernel is busy meanwhile)

:func:`compare` sends one prompt twice at once, streamed and not streamed, to
the current provider and shows both. :func:`plot_timeline` draws what the
person saw over time, for one or several runs.

Why redraws are coalesced: each ``widget.value = ...`` sends the *whole* value
to the browser. Redrawing per token at 2,000 tokens/s would send megabytes
per second of mostly the same text and flood the front end. The view keeps
every delta (none is lost or reordered: ``view.text`` is exactly the joined
deltas) but redraws at most ``max_fps`` times a second; a small timer thread
draws what is pending when the stream pauses.

Where things are (everything is re-exported here, so ``from
streamlab.widgets import StreamView`` keeps working):

- :mod:`streamlab.widgets._result`: :class:`StreamResult`, the ``Status`` and ``Mode`` literals;
- :mod:`streamlab.widgets._pane`: :class:`Pane`, one side's state and coalesced redraws;
- :mod:`streamlab.widgets._view`: :class:`StreamView`, the two panes, Stop button, timer thread;
- :mod:`streamlab.widgets._comparison`: :func:`compare` and its :class:`Comparison`;
- :mod:`streamlab.widgets._timeline`: :func:`plot_timeline`;
- :mod:`streamlab.widgets._styles`: the inline CSS they share.
"""

from __future__ import annotations

from streamlab.widgets._comparison import Comparison, compare
from streamlab.widgets._pane import Pane
from streamlab.widgets._result import Mode as Mode  # `as`: re-exported for type hints
from streamlab.widgets._result import Status as Status
from streamlab.widgets._result import StreamResult
from streamlab.widgets._timeline import plot_timeline
from streamlab.widgets._view import StreamView

__all__ = ["StreamView", "StreamResult", "Pane", "Comparison", "compare", "plot_timeline"]
