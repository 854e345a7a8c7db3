"""uvicorn's httptools protocol with a bound on the request head (imported with uvicorn)."""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from streamlab.provider.app import MAX_HEADER_BYTES, headers_too_large
from streamlab.provider.faults import flavor_for


class BoundedHeadProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, but it stops reading oversized headers.

    uvicorn bounds headers only with h11 (``h11_max_incomplete_event_size``);
    with httptools a client could send megabytes of headers and the server
    would hold them all. Past ``MAX_HEADER_BYTES`` this answers the provider's
    431, half-closes, and drops whatever else the client sends, so that the
    client (still sending) can read the answer instead of a reset.
    """

    _head = 0
    _rejected = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head = 0

    def on_url(self, url: bytes) -> None:
        self._grow(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _grow(self, n: int) -> None:
        self._head += n
        if self._head > MAX_HEADER_BYTES and not self._rejected:
            self._rejected = True
            path = self.url.split(b"?", 1)[0].decode("latin-1")
            response = headers_too_large(path).response(flavor_for(path))
            head = [b"HTTP/1.1 431 Request Header Fields Too Large"]
            head += [b"%s: %s" % (k, v) for k, v in response.raw_headers]
            head.append(b"connection: close")
            self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + response.body)
            if self.transport.can_write_eof():
                self.transport.write_eof()
            self.loop.call_later(5, self.transport.close)
            raise ValueError("request headers too large")  # stops the parser

    def data_received(self, data: bytes) -> None:
        if not self._rejected:
            super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        if not self._rejected:  # the parser stopped because of the 431 above
            super().send_400_response(msg)
