"""The checks of notebook 01 accept the solutions and reject typical wrong answers."""

from __future__ import annotations

import pytest
from _notebooks import load_solutions

from streamlab.checks import nb01


@pytest.fixture(scope="module")
def solutions():
    return load_solutions("01")


def test_decode_chunked_accepts_the_solution(solutions, capsys):
    assert nb01.check_decode_chunked(solutions["decode_chunked"])
    assert "✅" in capsys.readouterr().out


def test_decode_chunked_matches_what_the_local_server_sends(solutions, local_server):
    import socket

    import httpx

    text = "Hello café ☕ world\n"
    url = httpx.URL(local_server.base_url)
    query = httpx.QueryParams(text=text, chunk_size=5, delay_ms=0)
    with socket.create_connection((url.host, url.port)) as sock:
        sock.sendall(
            f"GET /lesson/chunked?{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
        )
        received = b""
        while data := sock.recv(65536):
            received += data
    body = received.partition(b"\r\n\r\n")[2]
    assert solutions["decode_chunked"](body).decode() == text


def test_decode_chunked_not_attempted(capsys):
    def decode_chunked(body):
        raise NotImplementedError

    assert not nb01.check_decode_chunked(decode_chunked)
    assert "⏳" in capsys.readouterr().out


def test_decode_chunked_rejects_decimal_sizes(capsys):
    def decode_chunked(body):
        out = b""
        while True:
            line, _, body = body.partition(b"\r\n")
            size = int(line.split(b";")[0])  # decimal: wrong
            if size == 0:
                return out
            out, body = out + body[:size], body[size + 2 :]

    assert not nb01.check_decode_chunked(decode_chunked)
    out = capsys.readouterr().out
    assert "body 'sizes of 16 and 26 bytes'" in out
    assert "chunk sizes are hexadecimal" in out


def test_decode_chunked_rejects_splitting_on_crlf(capsys):
    def decode_chunked(body):
        parts = body.split(b"\r\n")
        return b"".join(parts[i] for i in range(1, len(parts), 2))

    assert not nb01.check_decode_chunked(decode_chunked)
    out = capsys.readouterr().out
    assert "body 'CRLF inside the data'" in out
    assert "read exactly `size` bytes" in out


def test_decode_chunked_rejects_ignoring_extensions(capsys):
    def decode_chunked(body):
        out = b""
        while True:
            line, _, body = body.partition(b"\r\n")
            size = int(line, 16)
            if size == 0:
                return out
            out, body = out + body[:size], body[size + 2 :]

    assert not nb01.check_decode_chunked(decode_chunked)
    out = capsys.readouterr().out
    assert "body 'chunk extension'" in out and "your code raised ValueError" in out
    assert "ignore it" in out


def test_decode_chunked_rejects_text(solutions, capsys):
    assert not nb01.check_decode_chunked(lambda body: solutions["decode_chunked"](body).decode())
    assert "return bytes, not str" in capsys.readouterr().out


def test_utf8_pieces_accepts_the_solution(solutions, capsys):
    assert nb01.check_utf8_pieces(solutions["utf8_pieces"])
    assert "✅" in capsys.readouterr().out


def test_utf8_pieces_rejects_strict_decode_per_chunk(capsys):
    def utf8_pieces(chunks):
        for chunk in chunks:
            yield chunk.decode("utf-8")

    assert not nb01.check_utf8_pieces(utf8_pieces)
    out = capsys.readouterr().out
    assert "UnicodeDecodeError" in out and "getincrementaldecoder" in out


def test_utf8_pieces_rejects_replace_per_chunk(capsys):
    def utf8_pieces(chunks):
        for chunk in chunks:
            yield chunk.decode("utf-8", errors="replace")

    assert not nb01.check_utf8_pieces(utf8_pieces)
    out = capsys.readouterr().out
    assert "came out as '\ufffd'" in out


def test_utf8_pieces_rejects_ignore_per_chunk(capsys):
    def utf8_pieces(chunks):
        for chunk in chunks:
            yield chunk.decode("utf-8", errors="ignore")

    assert not nb01.check_utf8_pieces(utf8_pieces)
    assert "characters are missing" in capsys.readouterr().out


def test_utf8_pieces_rejects_waiting_for_the_whole_stream(capsys):
    def utf8_pieces(chunks):
        return [b"".join(chunks).decode("utf-8")]

    assert not nb01.check_utf8_pieces(utf8_pieces)
    assert "yield each chunk's text as soon as the chunk arrives" in capsys.readouterr().out
