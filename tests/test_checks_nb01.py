"""The checks of notebook 01 accept the solutions and reject typical wrong answers."""

from __future__ import annotations

import io

import pytest
from _notebooks import load_solutions
from _support import assert_explains, assert_pending

from streamlab.checks import nb01


@pytest.fixture(scope="module")
def solutions():
    return load_solutions("01")


def test_decode_chunked_accepts_the_solution(solutions, capsys):
    assert nb01.check_decode_chunked(solutions["decode_chunked"])
    assert "[PASS]" in capsys.readouterr().out


def test_decode_chunked_matches_what_the_local_server_sends(solutions, local_server):
    import socket

    import httpx

    text = "Hello café ☕ world\n"
    url = httpx.URL(local_server.base_url)
    query = httpx.QueryParams(text=text, chunk_size=5, delay_ms=0)
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(
            f"GET /lesson/chunked?{query} HTTP/1.1\r\nHost: {url.host}:{url.port}\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while data := sock.recv(65536):
            received += data
    body = received.partition(b"\r\n\r\n")[2]
    assert solutions["decode_chunked"](body).decode() == text


def test_differently_written_correct_answers_pass(capsys):
    def decode_chunked(body):
        stream, out = io.BytesIO(body), b""
        while size := int(stream.readline().split(b";")[0], 16):
            out += stream.read(size)
            stream.read(2)
        return out

    def utf8_pieces(chunks):
        pending = b""
        for chunk in chunks:
            pending += chunk
            for cut in range(len(pending), max(len(pending) - 4, -1), -1):
                try:
                    text = pending[:cut].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                pending = pending[cut:]
                yield text
                break
        if pending:
            yield pending.decode("utf-8", errors="replace")

    assert nb01.check_decode_chunked(decode_chunked)
    assert nb01.check_utf8_pieces(utf8_pieces)
    assert capsys.readouterr().out.count("[PASS]") == 2


def test_not_attempted_is_pending(capsys):
    assert_pending(capsys, nb01.check_decode_chunked, nb01.check_utf8_pieces)


def _decode_with(size_of):
    """A chunked decoder that reads sizes with ``size_of(size line)``; right but for that."""

    def decode_chunked(body):
        out = b""
        while True:
            line, _, body = body.partition(b"\r\n")
            size = size_of(line)
            if size == 0:
                return out
            out, body = out + body[:size], body[size + 2 :]

    return decode_chunked


def decode_splitting_on_crlf(body):
    parts = body.split(b"\r\n")
    return b"".join(parts[i] for i in range(1, len(parts), 2))


def decode_two_hex_digits(body):  # sizes written as two hex digits, as in the samples
    out, pos = b"", 0
    while size := int(body[pos : pos + 2].rstrip(b"\r\n;"), 16):
        start = body.index(b"\r\n", pos) + 2
        out, pos = out + body[start : start + size], start + size + 2
    return out


def decode_lowercase_only(body):
    import re

    out, pos = b"", 0
    while m := re.compile(rb"([0-9a-f]+)[^\r]*\r\n").match(body, pos):
        size = int(m.group(1), 16)
        if size == 0:
            return out
        out += body[m.end() : m.end() + size]
        pos = m.end() + size + 2
    return out


def decode_name_value_extensions_only(body):  # drops ";name=value", keeps a bare ";name"
    import re

    return _decode_with(lambda line: int(re.sub(rb";\w+=\w+", b"", line), 16))(body)


def decode_stripping_each_chunk(body):  # strip() "cleans up" the data too
    out, pos = b"", 0
    while True:
        end = body.index(b"\r\n", pos)
        size = int(body[pos:end].split(b";")[0], 16)
        if size == 0:
            return out
        out += body[end + 2 : end + 2 + size].strip()
        pos = end + 2 + size + 2


WRONG_DECODE = {
    "only name=value extensions": (
        decode_name_value_extensions_only,
        ["'extension without a value'", "a bare name"],
    ),
    "strips each chunk's data": (decode_stripping_each_chunk, ["'CRLF inside the data'"]),
    "decimal sizes": (
        _decode_with(lambda line: int(line.split(b";")[0])),
        ["'sizes of 16 and 26 bytes'", "chunk sizes are hexadecimal"],
    ),
    "extensions not ignored": (
        _decode_with(lambda line: int(line, 16)),
        ["'chunk extension'", "your code raised ValueError", "ignore it"],
    ),
    "splits on CRLF": (decode_splitting_on_crlf, ["'CRLF inside the data'", "exactly `size`"]),
    "two hex digits": (decode_two_hex_digits, ["random chunk sizes", "any number of hex digits"]),
    "lower-case hex only": (decode_lowercase_only, ["'upper-case hex'", "upper or lower case"]),
    "text, not bytes": (
        lambda body: _decode_with(lambda x: int(x.split(b";")[0], 16))(body).decode(
            "utf-8", "replace"
        ),
        ["return bytes, not str"],
    ),
}


@pytest.mark.parametrize("name", WRONG_DECODE)
def test_decode_chunked_rejects(name, capsys):
    answer, says = WRONG_DECODE[name]
    assert_explains(capsys, nb01.check_decode_chunked, answer, "[FAIL]", *says)


def pieces_strict(chunks):
    for chunk in chunks:
        yield chunk.decode("utf-8")


def pieces_replace(chunks):
    for chunk in chunks:
        yield chunk.decode("utf-8", errors="replace")


def pieces_ignore(chunks):
    for chunk in chunks:
        yield chunk.decode("utf-8", errors="ignore")


def pieces_all_at_once(chunks):
    return [b"".join(chunks).decode("utf-8")]


def pieces_holding_back_one_byte(chunks):  # right for "é", wrong for 3- and 4-byte characters
    pending = b""
    for chunk in chunks:
        pending += chunk
        if pending and pending[-1] >= 0xC0:
            text, pending = pending[:-1], pending[-1:]
        else:
            text, pending = pending, b""
        yield text.decode("utf-8", errors="replace")
    yield pending.decode("utf-8", errors="replace")


def pieces_without_final_flush(chunks):
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8")()
    for chunk in chunks:
        yield decoder.decode(chunk)


WRONG_PIECES = {
    "strict decode per chunk": (pieces_strict, ["UnicodeDecodeError", "getincrementaldecoder"]),
    "replace per chunk": (pieces_replace, ["came out as '\ufffd'"]),
    "ignore per chunk": (pieces_ignore, ["characters are missing"]),
    "everything at the end": (pieces_all_at_once, ["as soon as the chunk arrives"]),
    "holds back one byte": (pieces_holding_back_one_byte, ["came out as '\ufffd'"]),
    "no final flush": (pieces_without_final_flush, ["without a trace", "final=True"]),
}


@pytest.mark.parametrize("name", WRONG_PIECES)
def test_utf8_pieces_rejects(name, capsys):
    answer, says = WRONG_PIECES[name]
    assert_explains(capsys, nb01.check_utf8_pieces, answer, "[FAIL]", *says)
