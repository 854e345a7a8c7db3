"""The event type: :class:`ServerSentEvent`, one dispatched event."""

from __future__ import annotations

import json as _json
from dataclasses import dataclass
from typing import Any

from streamlab.sse._errors import SSEJSONError


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    """One dispatched event.

    ``event`` is the type (``"message"`` when the stream gave none), ``data``
    the data lines joined with LF, ``id`` the last event ID in force when the
    event was dispatched (it persists from earlier events until an ``id:``
    line changes it), ``retry`` the reconnection time in ms if this event's
    own lines carried a valid ``retry:`` field, else None.
    """

    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None

    def json(self) -> Any:
        """The data parsed as JSON; :class:`SSEJSONError` (a ValueError) if it is not JSON."""
        try:
            return _json.loads(self.data)
        except _json.JSONDecodeError as exc:
            where = f"event {self.event!r}" + (f" (id {self.id!r})" if self.id else "")
            snippet = self.data if len(self.data) <= 60 else self.data[:60] + "..."
            hint = (
                "'[DONE]' is the Chat Completions end-of-stream marker: stop before parsing it"
                if self.data.strip() == "[DONE]"
                else "look at .data to see what the server sent"
            )
            raise SSEJSONError(
                f"{where} has data that is not JSON: {exc.msg} at line {exc.lineno} "
                f"column {exc.colno} (char {exc.pos}) of {snippet!r}; {hint}"
            ) from exc
