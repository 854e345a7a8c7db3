"""The reconnecting clients: :class:`EventSource` (threads) and :class:`AsyncEventSource` (asyncio).

Each is a thin IO loop (httpx, plus a way to wait that ``close()`` can cut
short) around one sans-IO :class:`~streamlab.sse._reconnect.Reconnector`,
which makes every decision: what to send, what a response means, how long to
wait, when to give up. The loops differ only where sync and async IO must.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from streamlab.sse._errors import SSETransportError
from streamlab.sse._event import ServerSentEvent
from streamlab.sse._reconnect import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_RECONNECTS,
    DEFAULT_RECONNECT_WINDOW,
    DEFAULT_RETRY_MS,
    MAX_RETRY_MS,
    MIN_RETRY_MS,
    Reconnect,
    Reconnector,
)

if TYPE_CHECKING:  # pragma: no cover
    import httpx

#: How much of an error body is read to quote from it.
_ERROR_BODY_LIMIT = 64 * 1024

_Client = TypeVar("_Client")  # httpx.Client or httpx.AsyncClient


class _SourceBase(Generic[_Client]):
    """What the sync and async clients share: arguments, properties, the steps around a connection."""

    def __init__(
        self,
        url: str,
        *,
        client: _Client | None = None,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        params: Any = None,
        json: Any = None,
        content: bytes | str | None = None,
        last_event_id: str = "",
        retry_ms: int = DEFAULT_RETRY_MS,
        min_retry_ms: int = MIN_RETRY_MS,
        max_retry_ms: int = MAX_RETRY_MS,
        max_attempts: int | None = DEFAULT_MAX_ATTEMPTS,
        max_reconnects: int | None = DEFAULT_MAX_RECONNECTS,
        reconnect_window: float = DEFAULT_RECONNECT_WINDOW,
        on_reconnect: Callable[[Reconnect], Any] | None = None,
        max_line_bytes: int | None = None,
        max_event_bytes: int | None = None,
        timeout: Any = None,
    ) -> None:
        self._state = Reconnector(
            str(url),
            last_event_id=last_event_id,
            retry_ms=retry_ms,
            min_retry_ms=min_retry_ms,
            max_retry_ms=max_retry_ms,
            max_attempts=max_attempts,
            max_reconnects=max_reconnects,
            reconnect_window=reconnect_window,
            on_reconnect=on_reconnect,
            max_line_bytes=max_line_bytes,
            max_event_bytes=max_event_bytes,
        )
        self.method = method
        self._headers = dict(headers or {})
        body = {"params": params, "json": json, "content": content}
        self._body = {name: value for name, value in body.items() if value is not None}
        self._timeout = timeout
        self._client = client
        self._own_client = client is None
        self._closed = False
        self._response: httpx.Response | None = None
        self._iterator: Any = None
        self._wake: Any = self._new_wake()

    # The settings and the record live on the Reconnector, which decides with them.

    @property
    def url(self) -> str:
        """The URL connected to (and reconnected to)."""
        return self._state.url

    @url.setter
    def url(self, value: str) -> None:
        self._state.url = value

    @property
    def max_retry_ms(self) -> int:
        """Upper bound (ms) on the wait before a reconnection."""
        return self._state.max_retry_ms

    @max_retry_ms.setter
    def max_retry_ms(self, value: int) -> None:
        self._state.max_retry_ms = value

    @property
    def min_retry_ms(self) -> int:
        """Lower bound (ms) on every wait before a reconnection."""
        return self._state.min_retry_ms

    @min_retry_ms.setter
    def min_retry_ms(self, value: int) -> None:
        self._state.min_retry_ms = value

    @property
    def max_reconnects(self) -> int | None:
        """The budget: reconnections without progress allowed per ``reconnect_window`` (None: any)."""
        return self._state.max_reconnects

    @max_reconnects.setter
    def max_reconnects(self, value: int | None) -> None:
        self._state.max_reconnects = value

    @property
    def reconnect_window(self) -> float:
        """The budget's window, in seconds."""
        return self._state.reconnect_window

    @reconnect_window.setter
    def reconnect_window(self, value: float) -> None:
        self._state.reconnect_window = value

    @property
    def max_attempts(self) -> int | None:
        """Reconnection attempts in a row without an event before giving up (None: never)."""
        return self._state.max_attempts

    @max_attempts.setter
    def max_attempts(self, value: int | None) -> None:
        self._state.max_attempts = value

    @property
    def on_reconnect(self) -> Callable[[Reconnect], Any] | None:
        """Called with each :class:`Reconnect` record, before its wait."""
        return self._state.on_reconnect

    @on_reconnect.setter
    def on_reconnect(self, value: Callable[[Reconnect], Any] | None) -> None:
        self._state.on_reconnect = value

    @property
    def reconnects(self) -> list[Reconnect]:
        """Every reconnection so far, oldest first."""
        return self._state.reconnects

    @reconnects.setter
    def reconnects(self, value: list[Reconnect]) -> None:
        self._state.reconnects = value

    @property
    def last_event_id(self) -> str:
        """The id that the next reconnection sends as ``Last-Event-ID``."""
        return self._state.last_event_id

    @property
    def retry_ms(self) -> int:
        """The reconnection time in ms (the server's last ``retry:``, else the default)."""
        return self._state.retry_ms

    @property
    def closed(self) -> bool:
        """True once closed, by ``close()`` or by the server's HTTP 204."""
        return self._closed

    @property
    def response(self) -> httpx.Response | None:
        """The response being read, if connected."""
        return self._response

    def _new_wake(self) -> Any:
        """What ``close()`` sets to cut a wait between attempts short.

        None here, and for the async client always: its ``asyncio.Event`` must be
        made inside the running loop, so it is created when iteration starts.
        """
        return None

    def _default_client_kwargs(self) -> dict[str, Any]:
        import httpx

        # An event stream may be quiet for minutes (a model thinking); a read
        # timeout only makes the client reconnect, so keep it long.
        timeout = self._timeout or httpx.Timeout(10.0, read=300.0)
        return {"timeout": timeout, "follow_redirects": True}

    def _request(self) -> dict[str, Any]:
        """``client.stream`` arguments after the method and URL (the same on every attempt)."""
        return {"headers": self._state.request_headers(self._headers), **self._body}

    def _opened(self, response: httpx.Response) -> Literal["events", "stop", "error"]:
        """Note a new response; what to do with it (see :meth:`Reconnector.response`)."""
        self._response = response
        todo = self._state.response(
            response.status_code, response.headers.get("content-type", ""), str(response.url)
        )
        if todo == "stop":
            self._closed = True
        return todo

    @contextlib.contextmanager
    def _connection(self) -> Iterator[None]:
        """Around one connection: a drop worth another attempt is noted, not raised.

        Any other transport error is raised as :class:`SSETransportError`
        (its hint says what to do), with httpx's exception as the cause.
        """
        import httpx

        try:
            yield
        except Exception as exc:
            # After close() from elsewhere cut the connection, nothing is an error.
            if self._closed:
                return
            # Network trouble and a server cutting the body short are what the
            # spec reconnects after; a redirect loop or a bad URL would fail again.
            if isinstance(
                exc, (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError)
            ):
                self._state.connection_ended(exc)
            elif isinstance(exc, (httpx.RequestError, httpx.InvalidURL)):
                raise SSETransportError(self.url, exc) from exc
            else:
                raise
        finally:
            self._response = None


class EventSource(_SourceBase["httpx.Client"]):
    """A reconnecting event stream client (sync), like the browser's ``EventSource``.

    >>> with EventSource("http://127.0.0.1:8000/events") as source:   # doctest: +SKIP
    ...     for event in source:
    ...         print(event.id, event.data)

    Each connection sends ``Accept: text/event-stream`` and, once an id was
    seen, ``Last-Event-ID``. When a connection drops (network error, or the
    server closing the body) it waits the reconnection time (the server's
    ``retry:``, else ``retry_ms``, default 1000 ms; doubled for each further
    consecutive failure, never above ``max_retry_ms``, default 30 s), records a
    :class:`Reconnect` in ``.reconnects``, calls ``on_reconnect(record)`` and
    connects again. Every wait is at least ``min_retry_ms`` (100 ms), and
    reconnections without progress are budgeted (``max_reconnects`` in any
    ``reconnect_window``, 10 a minute), so that a server sending ``retry: 0``
    cannot make it spin: the rule is in :mod:`streamlab.sse._reconnect`.
    HTTP 204 ends the iteration. It raises :class:`SSEStatusError` on a non-2xx
    status, :class:`SSEContentTypeError` on a body that is not
    ``text/event-stream``, :class:`SSEReconnectError` after ``max_attempts``
    consecutive attempts without an event (None: never), and
    :class:`SSETransportError` for any other transport failure (a redirect
    loop, a bad URL), each with httpx's exception as ``__cause__``.
    ``max_line_bytes`` / ``max_event_bytes`` set the decoder's limits
    (:class:`SSELimitError`).

    ``client``: an ``httpx.Client`` to use (not closed by this object);
    otherwise one is made with redirects followed and a long read timeout.
    ``method``, ``headers``, ``params``, ``json``, ``content`` shape the request
    (re-sent on each reconnection).
    """

    def _new_wake(self) -> threading.Event:
        # Made at once: close() may come from another thread while this one waits.
        return threading.Event()

    def __iter__(self) -> Iterator[ServerSentEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    def __enter__(self) -> EventSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop: close the connection (and the client if this object made it)."""
        self._closed = True
        self._wake.set()
        it, self._iterator = self._iterator, None
        reading_elsewhere = False
        if it is not None and hasattr(it, "close"):
            try:
                it.close()
            except ValueError:  # "generator already executing": another thread is reading
                reading_elsewhere = True
        response, self._response = self._response, None
        if response is not None:
            if reading_elsewhere:
                # Closing a socket does not wake a thread blocked reading it;
                # shutting it down does. That thread then closes the response.
                _shutdown(response)
            else:
                response.close()
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def _get_client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(**self._default_client_kwargs())
        return self._client

    def _events(self) -> Iterator[ServerSentEvent]:
        state = self._state
        while not self._closed:
            delay = state.next_delay()
            if (delay and self._wake.wait(delay)) or self._closed:
                return
            client = self._get_client()
            with self._connection():
                with client.stream(self.method, self.url, **self._request()) as response:
                    todo = self._opened(response)
                    if todo == "stop":
                        return
                    if todo == "error":
                        raise state.status_error(_read_limited(response))
                    for chunk in response.iter_bytes():
                        yield from state.events(chunk)
                state.connection_ended()


def _shutdown(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    sock = stream.get_extra_info("socket") if stream is not None else None
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _read_limited(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_LIMIT:
            break
    return b"".join(parts)[:_ERROR_BODY_LIMIT]


async def _aread_limited(response: httpx.Response) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        parts.append(chunk)
        size += len(chunk)
        if size >= _ERROR_BODY_LIMIT:
            break
    return b"".join(parts)[:_ERROR_BODY_LIMIT]


class AsyncEventSource(_SourceBase["httpx.AsyncClient"]):
    """The asyncio twin of :class:`EventSource` (same arguments, ``httpx.AsyncClient``).

    >>> async with AsyncEventSource(url) as source:   # doctest: +SKIP
    ...     async for event in source:
    ...         print(event.data)
    """

    def __aiter__(self) -> AsyncIterator[ServerSentEvent]:
        if self._iterator is None:
            self._iterator = self._events()
        return self._iterator

    async def __aenter__(self) -> AsyncEventSource:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop: close the connection (and the client if this object made it)."""
        self._closed = True
        if self._wake is not None:
            self._wake.set()
        it, self._iterator = self._iterator, None
        if it is not None:
            try:
                await it.aclose()
            except RuntimeError:  # already running (closed from inside the loop body)
                pass
        response, self._response = self._response, None
        if response is not None:
            await response.aclose()
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _get_client(self) -> httpx.AsyncClient:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(**self._default_client_kwargs())
        return self._client

    async def _sleep(self, delay: float) -> None:
        """Wait ``delay`` seconds, or less if :meth:`aclose` is called meanwhile."""
        import asyncio

        if self._wake is None:
            self._wake = asyncio.Event()
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except TimeoutError:
            pass

    async def _events(self) -> AsyncIterator[ServerSentEvent]:
        state = self._state
        while not self._closed:
            delay = state.next_delay()
            if delay:
                await self._sleep(delay)
            if self._closed:
                return
            client = self._get_client()
            with self._connection():
                async with client.stream(self.method, self.url, **self._request()) as response:
                    todo = self._opened(response)
                    if todo == "stop":
                        return
                    if todo == "error":
                        raise state.status_error(await _aread_limited(response))
                    async for chunk in response.aiter_bytes():
                        for sse in state.events(chunk):
                            yield sse
                state.connection_ended()
