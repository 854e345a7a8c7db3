"""The typed errors of :mod:`streamlab.sse`, all subclasses of :class:`SSEError`."""

from __future__ import annotations


class SSEError(Exception):
    """Base class of every error raised by :mod:`streamlab.sse`."""


class SSEEncodeError(SSEError, ValueError):
    """A value cannot be written as an event stream field (e.g. a line break in an id)."""


class SSEJSONError(SSEError, ValueError):
    """:meth:`ServerSentEvent.json` was called on an event whose data is not JSON."""


class SSEStateError(SSEError, RuntimeError):
    """An object was used in a state that does not allow it (e.g. ``feed`` after ``close``)."""


class SSEStatusError(SSEError):
    """The server answered with a status other than 2xx.

    Attributes: ``status_code``, ``url``, ``message`` (the error message found
    in the body, or the start of the body) and ``body`` (the text read, at most
    64 KiB).
    """

    def __init__(self, status_code: int, url: str, message: str, body: str) -> None:
        self.status_code = status_code
        self.url = url
        self.message = message
        self.body = body
        if status_code == 429:
            hint = "you are rate limited: wait (see the Retry-After header) and try again"
        elif 400 <= status_code < 500:
            hint = "check the URL, method, body and credentials"
        elif status_code >= 500:
            hint = "the server failed; try again later or look at its logs"
        else:
            hint = "a redirect was not followed, or the status is unexpected"
        text = f"HTTP {status_code} from {url}"
        if message:
            text += f": {message}"
        super().__init__(f"{text} (an event stream needs a 2xx answer; {hint})")


class SSEContentTypeError(SSEError):
    """The response is not an event stream (``Content-Type`` is not ``text/event-stream``)."""

    def __init__(self, content_type: str, url: str) -> None:
        self.content_type = content_type
        self.url = url
        got = repr(content_type) if content_type else "no Content-Type header"
        super().__init__(
            f"expected Content-Type 'text/event-stream' from {url}, got {got}: "
            "this URL does not serve Server-Sent Events (wrong endpoint, or streaming "
            'not switched on, e.g. a missing "stream": true in the request)'
        )


class SSEReconnectError(SSEError):
    """Too many consecutive reconnection attempts failed.

    Attributes: ``url``, ``attempts`` and ``last_cause`` (also the ``__cause__``).
    """

    def __init__(self, url: str, attempts: int, last_cause: BaseException | str) -> None:
        self.url = url
        self.attempts = attempts
        self.last_cause = last_cause
        if attempts == 0:
            text = f"the connection to {url} ended and reconnecting is off (max_attempts=0)"
        else:
            text = f"gave up on {url} after {attempts} failed reconnection attempts in a row"
        super().__init__(
            f"{text}; last cause: {describe(last_cause)} (is the server up? raise "
            "max_attempts, or pass max_attempts=None to keep trying)"
        )


def describe(cause: BaseException | str) -> str:
    """A cause in one line: the text as is, an exception as ``Type: message``."""
    if isinstance(cause, str):
        return cause
    text = str(cause)
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
