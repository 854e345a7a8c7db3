"""The decoder's optional limits: max_line_bytes and max_event_bytes.

A limit is checked on the bytes fed before the decoder keeps them, so it
raises at the chunk that takes a line (or event) over, under any chunking,
and memory stays near the limit however long the line the server sends.
"""

from __future__ import annotations

import re
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_sse_decoder import _chunk, _soup, fast_paths, reference_decode

from streamlab.sse import ServerSentEvent, SSEDecoder, SSEError, SSELimitError, SSEStateError

_LINE_END = re.compile(rb"\r\n|\r|\n")


def reference_sizes(stream: bytes) -> tuple[int, int]:
    """The longest line and the largest event of a stream, as the limits count them.

    Bytes, line ends not counted; the unfinished line at the end counts too
    (the decoder had to hold it), and an event is the sum of its lines since
    the last empty line.
    """
    if b"\xef\xbb\xbf".startswith(stream):
        return 0, 0  # (part of) a byte order mark: nothing to measure yet
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    lines = _LINE_END.split(stream)
    biggest = event = 0
    for line in lines:
        event = event + len(line) if line else 0
        biggest = max(biggest, event)
    return max(map(len, lines)), biggest


def decode_limited(chunks: list[bytes], **limits: int | None):
    decoder = SSEDecoder(**limits)
    events: list[ServerSentEvent] = []
    try:
        for chunk in chunks:
            events.extend(decoder.feed(chunk))
        events.extend(decoder.close())
    except SSELimitError as exc:
        return events, exc, decoder
    return events, None, decoder


_limits = st.none() | st.integers(1, 40)
_long = st.integers(0, 60).map(lambda n: b"x" * n)
_stream = st.lists(_soup | _long, max_size=8).map(b"".join)


@pytest.mark.parametrize("fast", [True, False])
@settings(max_examples=400, deadline=None)
@given(_stream, st.lists(st.integers(0, 10**6), max_size=20), _limits, _limits)
def test_limits_raise_exactly_when_a_line_or_event_is_over_under_any_chunking(
    fast: bool, stream: bytes, cuts: list, max_line: int | None, max_event: int | None
) -> None:
    with fast_paths(fast):
        events, error, decoder = decode_limited(
            _chunk(stream, cuts), max_line_bytes=max_line, max_event_bytes=max_event
        )
    longest, biggest = reference_sizes(stream)
    line_over = max_line is not None and longest > max_line
    event_over = max_event is not None and biggest > max_event
    expected = reference_decode(stream)[0]
    if not (line_over or event_over):
        assert error is None and events == expected
        return
    assert error is not None, f"no error: longest line {longest}, largest event {biggest}"
    # Named after a limit that really was passed, with its value.
    assert (error.limit, error.value) in {
        *((("max_line_bytes", max_line),) if line_over else ()),
        *((("max_event_bytes", max_event),) if event_over else ()),
    }
    assert events == expected[: len(events)]  # what came before the error is right
    assert decoder.closed


def test_the_error_names_the_limit_and_the_decoder_is_closed() -> None:
    decoder = SSEDecoder(max_line_bytes=10)
    assert decoder.feed(b"data: 1234\n\n") == [ServerSentEvent(data="1234")]
    with pytest.raises(SSELimitError) as info:
        decoder.feed(b"data: 12345")  # 11 bytes of a line, not finished yet
    err = info.value
    assert isinstance(err, SSEError) and isinstance(err, ValueError)
    assert (err.limit, err.value) == ("max_line_bytes", 10)
    assert "a line of the stream is longer than max_line_bytes=10 bytes" in str(err)
    assert "raise max_line_bytes (None: no limit)" in str(err)
    with pytest.raises(SSEStateError, match="after close"):
        decoder.feed(b"\n\n")
    with pytest.raises(SSELimitError, match="an event of the stream is longer than max_event"):
        SSEDecoder(max_event_bytes=20).feed(b"event: e\ndata: 123456\ndata: 7\n\n")


def test_line_ends_are_not_counted_and_limits_are_off_by_default() -> None:
    # CRLF, CR or LF: the same sizes. Exactly at the limit is allowed.
    for eol in (b"\n", b"\r", b"\r\n"):
        body = b"data: 1234" + eol + b"data: 5678" + eol + eol
        events = SSEDecoder(max_line_bytes=10, max_event_bytes=20).feed(body)
        assert events == [ServerSentEvent(data="1234\n5678")]
    big = b"data: " + b"x" * 2_000_000 + b"\n\n"
    decoder = SSEDecoder()
    assert (decoder.max_line_bytes, decoder.max_event_bytes) == (None, None)
    assert len(decoder.feed(big)[0].data) == 2_000_000


@pytest.mark.parametrize("value", [0, -1, 1.5, "10", True])
def test_bad_limits_are_refused(value) -> None:
    with pytest.raises(ValueError, match="must be a whole number >= 1, or None"):
        SSEDecoder(max_line_bytes=value)
    with pytest.raises(ValueError, match="max_event_bytes"):
        SSEDecoder(max_event_bytes=value)


@pytest.mark.parametrize("limit", ["max_line_bytes", "max_event_bytes"])
def test_memory_stays_near_the_limit_on_a_huge_line(limit: str) -> None:
    """A 64 MiB line in 64 KiB chunks with a 1 MiB limit: the decoder never holds much more."""
    decoder = SSEDecoder(**{limit: 1 << 20})
    decoder.feed(b"data: ")
    tracemalloc.start()
    try:
        with pytest.raises(SSELimitError):
            for _ in range(1024):
                decoder.feed(b"x" * 65536)  # a new chunk each time, as from a socket
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 3 << 20, f"peak {peak:,} bytes for a 1 MiB limit"
