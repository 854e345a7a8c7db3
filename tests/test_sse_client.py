"""streamlab.sse over real sockets: the httpx adapters and the reconnecting clients.

Each test runs a tiny HTTP/1.1 server on 127.0.0.1 (plain sockets in a thread,
so that a test can cut a connection at any byte: mid-event, with a clean
close, a truncated chunked body or a TCP reset) and talks to it with httpx.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from streamlab.sse import (
    DEFAULT_MAX_RECONNECTS,
    MIN_RETRY_MS,
    AsyncEventSource,
    EventSource,
    Reconnect,
    ServerSentEvent,
    SSEContentTypeError,
    SSEDecoder,
    SSEError,
    SSELimitError,
    SSEReconnectError,
    SSEStatusError,
    SSETransportError,
    aiter_sse,
    encode_event,
    iter_sse,
)

# ---------------------------------------------------------------------- the server


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    names: list[str] = field(default_factory=list)  # every header name, in order


@dataclass
class Conn:
    """One accepted connection, with helpers to answer it."""

    sock: socket.socket
    request: Request
    chunked: bool = False

    def head(
        self,
        status: int = 200,
        content_type: str | None = "text/event-stream",
        chunked: bool = True,
        extra: str = "",
    ) -> None:
        self.chunked = chunked
        lines = [f"HTTP/1.1 {status} X"]
        if content_type is not None:
            lines.append(f"Content-Type: {content_type}")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif status == 204:
            pass
        lines.append("Connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode())

    def send(self, data: bytes) -> None:
        if self.chunked:
            self.sock.sendall(b"%x\r\n%s\r\n" % (len(data), data))
        else:
            self.sock.sendall(data)

    def end(self) -> None:
        """Finish the body properly (the last chunk of a chunked body)."""
        if self.chunked:
            self.sock.sendall(b"0\r\n\r\n")

    def reset(self) -> None:
        """Drop the connection with a TCP RST (the client sees a read error)."""
        time.sleep(0.05)  # let the client read what was sent before the RST
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


@dataclass
class Server:
    handler: Callable[[Conn], None]
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(32)
        self.port = self._listener.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/events"

    def _serve(self) -> None:
        while not self._stop:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(sock,), daemon=True).start()

    def _handle(self, sock: socket.socket) -> None:
        with sock:
            raw = b""
            while b"\r\n\r\n" not in raw:
                piece = sock.recv(65536)
                if not piece:
                    return
                raw += piece
            head, _, body = raw.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, path, _ = lines[0].split(" ", 2)
            headers = {}
            names = []
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
                names.append(name.strip().lower())
            length = int(headers.get("content-length", "0"))
            while len(body) < length:
                body += sock.recv(65536)
            request = Request(method, path, headers, body, names)
            self.requests.append(request)
            try:
                self.handler(Conn(sock, request))
            except OSError:
                pass  # the client went away: fine for these tests

    def close(self) -> None:
        self._stop = True
        self._listener.close()


@pytest.fixture
def serve():
    servers: list[Server] = []

    def start(handler: Callable[[Conn], None]) -> Server:
        server = Server(handler)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def resumable(total: int, per_connection: int, drop: str) -> Callable[[Conn], None]:
    """A stream of events 1..total that resumes after Last-Event-ID.

    Each connection sends ``retry: 10``, then up to ``per_connection`` events,
    then half of the next event and drops the connection (``drop``: "eof" a
    clean close, "truncate" a chunked body cut short, "reset" a TCP RST). Once
    everything was sent it ends the body; the next connection gets 204.
    """

    def handler(conn: Conn) -> None:
        last = int(conn.request.headers.get("last-event-id") or 0)
        if last >= total:
            conn.head(204, content_type=None, chunked=False)
            return
        conn.head(chunked=drop != "eof")
        conn.send(encode_event(retry=10))
        stop = min(last + per_connection, total)
        for i in range(last + 1, stop + 1):
            conn.send(encode_event(json.dumps({"n": i, "text": f"é{i}"}), id=str(i)))
        if stop < total:
            nxt = encode_event(f"partial {stop + 1}", id=str(stop + 1))
            conn.send(nxt[: len(nxt) // 2])
            if drop == "reset":
                conn.reset()
            return  # closing the socket mid-event
        conn.end()

    return handler


# ---------------------------------------------------------------------- adapters


def test_iter_sse_over_a_real_response(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head()
        body = b"\xef\xbb\xbf" + b"".join(encode_event(f"{i} €", id=str(i)) for i in range(20))
        for i in range(0, len(body), 3):  # tiny writes: events and characters split
            conn.send(body[i : i + 3])
        conn.end()

    server = serve(handler)
    decoder = SSEDecoder()
    with httpx.Client() as client, client.stream("GET", server.url) as response:
        events = list(iter_sse(response, decoder=decoder))
    assert [e.data for e in events] == [f"{i} €" for i in range(20)]
    assert decoder.last_event_id == "19" and decoder.closed


async def test_aiter_sse_over_a_real_response(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head()
        for i in range(5):
            conn.send(encode_event(f"line 1\nline {i}", event="tick"))
        conn.send(b"data: incomplete")
        conn.end()

    server = serve(handler)
    async with httpx.AsyncClient() as client, client.stream("GET", server.url) as response:
        events = [e async for e in aiter_sse(response)]
    assert events == [ServerSentEvent("tick", f"line 1\nline {i}") for i in range(5)]


# ---------------------------------------------------------------------- reconnecting


@pytest.mark.parametrize("drop", ["eof", "truncate", "reset"])
def test_reconnects_without_losing_or_repeating_events(serve, drop: str) -> None:
    server = serve(resumable(total=10, per_connection=3, drop=drop))
    seen: list[Reconnect] = []
    with EventSource(
        server.url, on_reconnect=seen.append, max_attempts=3, min_retry_ms=0
    ) as source:
        events = list(source)
    assert [e.id for e in events] == [str(i) for i in range(1, 11)]
    assert [e.json()["text"] for e in events] == [f"é{i}" for i in range(1, 11)]
    # Three drops mid-stream, then the clean end of the body, then 204.
    assert [r.last_event_id for r in source.reconnects] == ["3", "6", "9", "10"]
    assert seen == source.reconnects
    assert all(r.attempt == 1 and r.delay == 0.01 for r in source.reconnects)
    assert source.retry_ms == 10
    sent = [r.headers.get("last-event-id") for r in server.requests]
    assert sent == [None, "3", "6", "9", "10"]
    assert all(r.headers["accept"] == "text/event-stream" for r in server.requests)
    reasons = {r.reason for r in source.reconnects[:3]}
    if drop == "eof":
        assert reasons == {"the server closed the connection"}
    else:
        assert all("Error" in reason for reason in reasons), reasons


@pytest.mark.parametrize("drop", ["eof", "truncate", "reset"])
async def test_async_reconnects_without_losing_or_repeating_events(serve, drop: str) -> None:
    server = serve(resumable(total=10, per_connection=4, drop=drop))
    async with AsyncEventSource(server.url, max_attempts=3, min_retry_ms=0) as source:
        events = [e async for e in source]
    assert [e.id for e in events] == [str(i) for i in range(1, 11)]
    assert [r.last_event_id for r in source.reconnects] == ["4", "8", "10"]
    assert [r.headers.get("last-event-id") for r in server.requests] == [None, "4", "8", "10"]


def test_post_body_and_headers_are_sent_again_on_reconnect(serve) -> None:
    server = serve(resumable(total=4, per_connection=2, drop="truncate"))
    with EventSource(
        server.url,
        method="POST",
        json={"stream": True},
        headers={"Authorization": "Bearer test"},
        last_event_id="1",
    ) as source:
        events = list(source)
    assert [e.id for e in events] == ["2", "3", "4"]
    assert [r.method for r in server.requests] == ["POST"] * 3
    assert all(json.loads(r.body) == {"stream": True} for r in server.requests)
    assert all(r.headers["authorization"] == "Bearer test" for r in server.requests)
    assert [r.headers.get("last-event-id") for r in server.requests] == ["1", "3", "4"]


def test_204_ends_the_stream_at_once(serve) -> None:
    server = serve(lambda conn: conn.head(204, content_type=None, chunked=False))
    with EventSource(server.url) as source:
        assert list(source) == []
    assert source.reconnects == [] and source.closed


def test_gives_up_after_too_many_attempts_without_events(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head()
        conn.send(b": nothing to say\n\n")
        conn.end()

    server = serve(handler)
    source = EventSource(server.url, retry_ms=5, min_retry_ms=0, max_retry_ms=12, max_attempts=3)
    with source, pytest.raises(SSEReconnectError) as info:
        list(source)
    assert info.value.attempts == 3
    assert "gave up on http://127.0.0.1" in str(info.value)
    assert "after 3 failed reconnection attempts" in str(info.value)
    assert "the server closed the connection" in str(info.value)
    # Doubling from the reconnection time, capped by max_retry_ms.
    assert [r.delay for r in source.reconnects] == [0.005, 0.01, 0.012]
    assert [r.attempt for r in source.reconnects] == [1, 2, 3]
    assert len(server.requests) == 4


def test_connection_refused_counts_as_a_failed_attempt() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    source = EventSource(f"http://127.0.0.1:{port}/", retry_ms=1, min_retry_ms=0, max_attempts=2)
    with source, pytest.raises(SSEReconnectError) as info:
        list(source)
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert info.value.last_cause is info.value.__cause__
    assert "ConnectError" in str(info.value)


async def test_async_gives_up_after_too_many_attempts() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with AsyncEventSource(f"http://127.0.0.1:{port}/", retry_ms=1, max_attempts=2) as source:
        with pytest.raises(SSEReconnectError, match="after 2 failed reconnection attempts"):
            async for _ in source:
                pass
    assert len(source.reconnects) == 2


# ---------------------------------------------------------------------- errors


def _json_error(status: int, body: dict) -> Callable[[Conn], None]:
    def handler(conn: Conn) -> None:
        data = json.dumps(body).encode()
        conn.head(
            status,
            content_type="application/json",
            chunked=False,
            extra=f"Content-Length: {len(data)}\r\n",
        )
        conn.send(data)

    return handler


def test_status_error_quotes_the_error_message(serve) -> None:
    body = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
    server = serve(_json_error(401, body))
    with EventSource(server.url) as source, pytest.raises(SSEStatusError) as info:
        next(iter(source))
    err = info.value
    assert err.status_code == 401
    assert err.message == "Incorrect API key provided"
    assert str(err).startswith(f"HTTP 401 from {server.url}: Incorrect API key provided")
    assert "check the URL, method, body and credentials" in str(err)
    assert source.reconnects == []  # a status error is final, per spec


async def test_async_status_error_with_a_plain_text_body(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head(503, content_type="text/plain", chunked=False, extra="Content-Length: 17\r\n")
        conn.send(b"upstream exploded")

    server = serve(handler)
    async with AsyncEventSource(server.url) as source:
        with pytest.raises(SSEStatusError, match="HTTP 503 .*: upstream exploded") as info:
            async for _ in source:
                pass
    assert info.value.body == "upstream exploded"
    assert isinstance(info.value, SSEError)


@pytest.mark.parametrize(
    ("content_type", "shown"),
    [("application/json", "'application/json'"), (None, "no Content-Type header")],
)
def test_content_type_error_says_what_it_got(serve, content_type, shown) -> None:
    def handler(conn: Conn) -> None:
        conn.head(content_type=content_type, chunked=False, extra="Content-Length: 2\r\n")
        conn.send(b"{}")

    server = serve(handler)
    with EventSource(server.url) as source, pytest.raises(SSEContentTypeError) as info:
        list(source)
    assert f"expected Content-Type 'text/event-stream' from {server.url}, got {shown}" in str(
        info.value
    )


def test_content_type_with_parameters_is_accepted(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head(content_type="Text/Event-Stream; charset=utf-8")
        conn.send(encode_event("ok"))
        conn.end()

    server = serve(handler)
    with EventSource(server.url, max_attempts=0) as source:
        with pytest.raises(SSEReconnectError):  # the body ends, no reconnection allowed
            for event in source:
                assert event.data == "ok"


# ---------------------------------------------------------------------- closing


def test_break_then_close_and_a_borrowed_client_stays_open(serve) -> None:
    release = threading.Event()

    def handler(conn: Conn) -> None:
        conn.head()
        for i in range(3):
            conn.send(encode_event(str(i), id=str(i)))
        release.wait(5)

    server = serve(handler)
    with httpx.Client() as client:
        with EventSource(server.url, client=client) as source:
            for event in source:
                if event.data == "1":
                    break
        assert source.closed and source.last_event_id == "1"
        assert source.response is None
        assert not client.is_closed  # ours to close, not the EventSource's
    release.set()


def test_close_from_another_thread_interrupts_the_wait(serve) -> None:
    server = serve(lambda conn: conn.head(chunked=False))  # an empty stream, then close
    source = EventSource(server.url, retry_ms=10_000, max_attempts=None)
    threading.Timer(0.3, source.close).start()
    t0 = time.monotonic()
    assert list(source) == []
    assert time.monotonic() - t0 < 5
    assert source.reconnects and source.reconnects[0].delay == 10.0


async def test_async_break_then_aclose(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head()
        for i in range(100):
            conn.send(encode_event(str(i)))
        conn.end()

    server = serve(handler)
    source = AsyncEventSource(server.url)
    got = []
    async for event in source:
        got.append(event.data)
        if len(got) == 3:
            break
    await source.aclose()
    assert got == ["0", "1", "2"] and source.closed


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        EventSource("http://127.0.0.1:1/", retry_ms=-1)
    with pytest.raises(ValueError, match="NUL, CR or LF"):
        EventSource("http://127.0.0.1:1/", last_event_id="a\nb")


async def test_aclose_from_another_task_interrupts_the_wait(serve) -> None:
    import asyncio

    server = serve(lambda conn: conn.head(chunked=False))
    source = AsyncEventSource(server.url, retry_ms=10_000, max_attempts=None)

    async def consume() -> list[ServerSentEvent]:
        return [e async for e in source]

    task = asyncio.ensure_future(consume())
    await asyncio.sleep(0.3)
    t0 = time.monotonic()
    await source.aclose()
    assert await asyncio.wait_for(task, 5) == []
    assert time.monotonic() - t0 < 5


def test_close_from_another_thread_while_reading(serve) -> None:
    release = threading.Event()

    def handler(conn: Conn) -> None:
        conn.head()
        conn.send(encode_event("first"))
        release.wait(5)

    server = serve(handler)
    source = EventSource(server.url)
    got = []
    t0 = time.monotonic()
    for event in source:
        got.append(event.data)
        threading.Timer(0.2, source.close).start()  # while the next read blocks
    assert time.monotonic() - t0 < 3  # woken up, not waiting for the server
    release.set()
    assert got == ["first"] and source.closed


def test_rate_limit_hint_and_header_names_merge(serve) -> None:
    server = serve(_json_error(429, {"type": "error", "error": {"message": "slow down"}}))
    with EventSource(server.url, headers={"accept": "text/event-stream, */*"}) as source:
        with pytest.raises(SSEStatusError, match="HTTP 429 .*: slow down .*rate limited"):
            list(source)
    (request,) = server.requests
    assert request.headers["accept"] == "text/event-stream, */*"
    assert request.names.count("accept") == 1


def test_errors_are_named_by_their_public_module_in_tracebacks():
    import traceback

    from streamlab import sse

    try:
        raise sse.SSEStatusError(401, "http://127.0.0.1/x", "no key", "{}")
    except sse.SSEError as exc:
        shown = "".join(traceback.format_exception_only(type(exc), exc))
    assert shown.startswith("streamlab.sse.SSEStatusError:"), shown
    assert all(getattr(sse, e.__name__) is e for e in sse.SSEError.__subclasses__())


# ---------------------------------------------------------------------- hostile servers


def _retry_0(conn: Conn) -> None:
    """A server that asks for no wait at all, sends one event (no id) and closes."""
    conn.head()
    conn.send(b"retry: 0\ndata: again\n\n")
    conn.end()


def test_retry_0_reconnects_at_the_floor_then_waits_for_the_budget(serve) -> None:
    server = serve(_retry_0)
    seen: list[Reconnect] = []

    def record(reconnect: Reconnect) -> None:
        seen.append(reconnect)
        if len(seen) == DEFAULT_MAX_RECONNECTS + 1:
            source.close()  # the decision is made; no need to sit out the wait

    # The default floor and budget; a window longer than any test could take,
    # so that the wait it asks for shows the budget whatever the machine's speed.
    source = EventSource(server.url, max_attempts=None, reconnect_window=3600, on_reconnect=record)
    with source:
        events = list(source)
    assert len(events) == len(server.requests) == DEFAULT_MAX_RECONNECTS + 1
    assert [r.delay for r in seen[:-1]] == [MIN_RETRY_MS / 1000] * DEFAULT_MAX_RECONNECTS
    assert seen[-1].delay > 3000  # the 11th would fall inside the window: it waits


async def test_async_retry_0_is_budgeted_too(serve) -> None:
    import asyncio

    server = serve(_retry_0)
    source = AsyncEventSource(
        server.url, max_attempts=None, max_reconnects=2, reconnect_window=3600
    )
    closing = []

    def record(reconnect: Reconnect) -> None:
        if len(source.reconnects) == 3:  # decided: close while it waits
            closing.append(asyncio.get_running_loop().create_task(source.aclose()))

    source.on_reconnect = record
    async with source:
        events = [e async for e in source]
    await asyncio.gather(*closing)
    assert len(events) == len(server.requests) == 3
    assert [r.delay for r in source.reconnects[:2]] == [0.1, 0.1]
    assert source.reconnects[2].delay > 3000


def _redirect_loop(conn: Conn) -> None:
    conn.head(
        302, content_type=None, chunked=False, extra="Location: /events\r\nContent-Length: 0\r\n"
    )


def test_a_redirect_loop_is_a_typed_error_with_its_cause(serve) -> None:
    server = serve(_redirect_loop)
    with EventSource(server.url) as source, pytest.raises(SSETransportError) as info:
        list(source)
    err = info.value
    assert isinstance(err, SSEError) and isinstance(err.__cause__, httpx.TooManyRedirects)
    assert err.cause is err.__cause__ and err.url == server.url
    assert f"could not read an event stream from {server.url}: TooManyRedirects" in str(err)
    assert "keeps redirecting" in str(err) and "follow_redirects=False" in str(err)
    assert source.reconnects == []  # it would only loop again


async def test_async_redirect_loop_and_a_bad_scheme_are_typed_errors(serve) -> None:
    server = serve(_redirect_loop)
    async with AsyncEventSource(server.url) as source:
        with pytest.raises(SSETransportError, match="keeps redirecting") as info:
            async for _ in source:
                pass
    assert isinstance(info.value.__cause__, httpx.TooManyRedirects)
    async with AsyncEventSource("ftp://127.0.0.1/events") as source:
        with pytest.raises(SSETransportError, match="must start with http:// or https://") as info:
            async for _ in source:
                pass
    assert isinstance(info.value.__cause__, httpx.UnsupportedProtocol)


@pytest.mark.parametrize(
    ("url", "cause", "hint"),
    [
        ("ftp://127.0.0.1/events", httpx.UnsupportedProtocol, "http:// or https://"),
        ("http://127.0.0.1:80a/events", httpx.InvalidURL, "the URL is not valid"),
    ],
)
def test_bad_urls_are_typed_errors(url: str, cause: type, hint: str) -> None:
    with EventSource(url) as source, pytest.raises(SSETransportError, match=hint) as info:
        list(source)
    assert isinstance(info.value.__cause__, cause)


def test_limits_reach_the_decoders_of_the_clients_and_adapters(serve) -> None:
    def handler(conn: Conn) -> None:
        conn.head()
        conn.send(encode_event("short"))
        for _ in range(64):  # a 4 MiB line, which a 64 KiB limit stops early
            conn.send(b"x" * 65536)
        conn.end()

    server = serve(handler)
    got = []
    with EventSource(server.url, max_line_bytes=65536) as source:
        with pytest.raises(SSELimitError, match="max_line_bytes=65,536") as info:
            for event in source:
                got.append(event.data)
    assert got == ["short"] and info.value.limit == "max_line_bytes"
    assert source.reconnects == []  # the same line would come again
    with httpx.stream("GET", server.url) as response:
        with pytest.raises(SSELimitError, match="max_event_bytes"):
            list(iter_sse(response, max_event_bytes=100_000))
    with httpx.stream("GET", server.url) as response:
        with pytest.raises(TypeError, match="pass the limits to the SSEDecoder"):
            list(iter_sse(response, decoder=SSEDecoder(), max_line_bytes=10))
