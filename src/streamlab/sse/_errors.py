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


class SSELimitError(SSEError, ValueError):
    """A line or an event of the stream is longer than the decoder's limit.

    Attributes: ``limit`` (``"max_line_bytes"`` or ``"max_event_bytes"``) and
    ``value`` (the limit, in bytes). The decoder is closed when it raises this.
    """

    def __init__(self, limit: str, value: int) -> None:
        self.limit = limit
        self.value = value
        noun, what = ("line", "a line") if limit == "max_line_bytes" else ("event", "an event")
        super().__init__(
            f"{what} of the stream is longer than {limit}={value:,} bytes, so the decoder "
            f"stopped before buffering it: if the server really sends {noun}s this long, "
            f"raise {limit} (None: no limit); otherwise the stream is not what it "
            "should be (a runaway line, or not an event stream at all)"
        )


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


class SSETransportError(SSEError):
    """The request could not be made, or its response not read, in a way that retrying cannot fix.

    A redirect loop, a URL that is not ``http(s)://``, an invalid URL or
    header, a body that cannot be decoded. (Dropped connections and timeouts
    are retried instead, and end in :class:`SSEReconnectError` if they go
    on.) Attributes: ``url`` and ``cause``, the transport's own exception
    (also the ``__cause__``).
    """

    def __init__(self, url: str, cause: BaseException) -> None:
        self.url = url
        self.cause = cause
        hint = _TRANSPORT_HINTS.get(type(cause).__name__, _TRANSPORT_HINT)
        super().__init__(f"could not read an event stream from {url}: {describe(cause)} ({hint})")


# Keyed by the class name, so that httpx and its fork httpx2 share the table.
_TRANSPORT_HINTS = {
    "TooManyRedirects": (
        "the server keeps redirecting, probably in a loop: open the URL with "
        "httpx.get(url, follow_redirects=False) to see the Location it sends, and use the final URL"
    ),
    "UnsupportedProtocol": "the URL must start with http:// or https://",
    "InvalidURL": "the URL is not valid: check it for spaces, a missing host or a bad port",
    "LocalProtocolError": (
        "httpx refused to send this request: check the headers (no line breaks or "
        "non-ASCII text in values)"
    ),
    "DecodingError": (
        "the body could not be decoded: the server's Content-Encoding is wrong or unsupported; "
        "an event stream should not be compressed"
    ),
    "ProxyError": "the proxy refused the request: check HTTP_PROXY / HTTPS_PROXY / NO_PROXY",
}
_TRANSPORT_HINT = "retrying would fail the same way: check the URL and the request"


def describe(cause: BaseException | str) -> str:
    """A cause in one line: the text as is, an exception as ``Type: message``."""
    if isinstance(cause, str):
        return cause
    text = str(cause)
    return f"{type(cause).__name__}: {text}" if text else type(cause).__name__
