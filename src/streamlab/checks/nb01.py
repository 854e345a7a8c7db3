"""Checks for notebook 01, Raw chunked HTTP.

- :func:`check_decode_chunked`: ``decode_chunked(body) -> bytes`` undoes
  ``Transfer-Encoding: chunked`` on the bytes after the response headers.
- :func:`check_utf8_pieces`: ``utf8_pieces(chunks)`` yields text as byte
  chunks arrive, never garbling a UTF-8 character split between two chunks.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable

from streamlab.checks._helpers import first_out
from streamlab.checks._report import Report, run_check

__all__ = ["check_decode_chunked", "check_utf8_pieces"]

ALPHABET = b"abcdefghijklmnopqrstuvwxyz"

# name, chunked body, decoded body, hint when it fails
CHUNKED_CASES: list[tuple[str, bytes, bytes, str]] = [
    (
        "two chunks",
        b"5\r\nHello\r\n7\r\n, world\r\n0\r\n\r\n",
        b"Hello, world",
        "each chunk is a size line, the data, then '\\r\\n'; a chunk of size 0 ends the body",
    ),
    (
        "only the last chunk",
        b"0\r\n\r\n",
        b"",
        "a body can be empty: its first chunk already has size 0",
    ),
    (
        "sizes of 16 and 26 bytes",
        b"10\r\n" + ALPHABET[:16] + b"\r\n1a\r\n" + ALPHABET + b"\r\n0\r\n\r\n",
        ALPHABET[:16] + ALPHABET,
        "chunk sizes are hexadecimal: '10' is 16 bytes and '1a' is 26; int(size, 16)",
    ),
    (
        "upper-case hex",
        b"1A\r\n" + ALPHABET + b"\r\n0\r\n\r\n",
        ALPHABET,
        "hex digits may be upper or lower case",
    ),
    (
        "CRLF inside the data",
        b"9\r\nline1\r\nok\r\n3\r\n\r\n!\r\n0\r\n\r\n",
        b"line1\r\nok\r\n!",
        "read exactly `size` bytes of data after the size line: the data itself may contain '\\r\\n'",
    ),
    (
        "chunk extension",
        b"5;name=value\r\nHello\r\n0\r\n\r\n",
        b"Hello",
        "a size line may carry an extension after ';' (like '5;name=value'): ignore it",
    ),
    (
        "extension without a value",
        b"5;last\r\nHello\r\n0;done\r\n\r\n",
        b"Hello",
        "an extension may be a bare name ('5;last', even on the size-0 chunk '0;done'): ignore "
        "everything from the ';' on",
    ),
    (
        "trailer fields",
        b"5\r\nHello\r\n0\r\nX-Checksum: abc\r\n\r\n",
        b"Hello",
        "after the size-0 chunk, trailer header lines may follow before the final blank line: "
        "they are not part of the body",
    ),
    (
        "UTF-8 split across chunks",
        b"4\r\ncaf\xc3\r\n3\r\n\xa9 !\r\n0\r\n\r\n",
        "café !".encode(),
        "return bytes, joined as they came; decoding text is a separate step (exercise 1.2)",
    ),
]


def _random_chunked(seed: int) -> tuple[str, bytes, bytes, str]:
    """A body no answer can special-case: sizes from 1 byte to several KB, hex in either case."""
    rng = random.Random(seed)
    data, body = b"", b""
    for _ in range(rng.randint(6, 10)):
        size = rng.choice([1, 2, 15, 16, 255, 256, 4096, rng.randint(1, 70000)])
        piece = bytes(rng.choice(b"ab\r\n0;") for _ in range(size))
        digits = f"{size:x}"
        digits = digits.upper() if rng.random() < 0.5 else digits
        ext = b";n=1" if rng.random() < 0.3 else b""
        body += digits.encode() + ext + b"\r\n" + piece + b"\r\n"
        data += piece
    body += b"0\r\n\r\n"
    return (
        f"random chunk sizes, {len(data)} bytes in all (seed {seed})",
        body,
        data,
        "sizes can have any number of hex digits (4096 is '1000'), and data can hold '\\r\\n', "
        "'0' and ';': read the size line, then exactly that many bytes",
    )


def _show(raw: bytes) -> str:
    return repr(raw) if len(raw) <= 80 else f"{raw[:40]!r}... ({len(raw)} bytes)"


def check_decode_chunked(decode_chunked: Callable[[bytes], bytes]) -> bool:
    """Exercise 1.1: decode a chunked body by hand."""

    def body(r: Report) -> None:
        for name, raw, want, hint in [*CHUNKED_CASES, _random_chunked(1)]:
            ok, got = r.call(decode_chunked, raw, what=f"body {name!r} {_show(raw)}", hint=hint)
            if not ok:
                continue
            if isinstance(got, str):
                r.expect(
                    False,
                    f"body {name!r}: return bytes, not str ({got!r:.60}); decoding text is "
                    "a separate step (exercise 1.2)",
                )
                continue
            r.expect(
                got == want,
                f"body {name!r} {_show(raw)}: expected {_show(want)}, got "
                f"{_show(got) if isinstance(got, bytes) else repr(got)}. Hint: {hint}",
            )

    return run_check("Exercise 1.1: decode a chunked body by hand", body)


TEXT = "Grüße, 世界! 👋 ok"


def check_utf8_pieces(utf8_pieces: Callable[[Iterable[bytes]], Iterable[str]]) -> bool:
    """Exercise 1.2: text from byte chunks, piece by piece, UTF-8 safe."""

    def body(r: Report) -> None:
        # Incremental: the first piece comes out before the second chunk is read.
        pieces, first, reads = first_out(utf8_pieces, (b"Hello ", b"w\xc3\xb6rld"))
        if pieces is None:
            r.expect(False, "utf8_pieces returned None: yield the text of each chunk")
            return
        r.expect(
            first == "Hello " and reads == 1,
            "yield each chunk's text as soon as the chunk arrives (use `yield` inside the loop "
            f"over chunks): the first piece should be 'Hello ', before the next chunk is read; "
            f"got {first!r} after reading {reads} chunk(s)",
        )

        data = TEXT.encode()
        splits = [[data[:i], data[i:]] for i in range(1, len(data))]
        splits.append([data[i : i + 1] for i in range(len(data))])
        splits.append(_random_chunks(data, random.Random(7)))
        problem = None
        for chunks in splits:
            ok, got = r.call(
                lambda c: list(utf8_pieces(iter(c))),
                chunks,
                what=f"chunks {chunks!r}",
                hint="a chunk can end in the middle of a character: decoding each chunk "
                "on its own fails there. Use codecs.getincrementaldecoder('utf-8')()",
            )
            if not ok:
                problem = "raised"
                break
            if not (isinstance(got, list) and all(isinstance(p, str) for p in got)):
                problem = f"yield str pieces; got {got!r}"
                break
            text = "".join(got)
            if text != TEXT:
                where = " + ".join(repr(c) for c in chunks) if len(chunks) <= 4 else ""
                where = where or ("one byte at a time" if len(chunks) == len(data) else "at random")
                if "\ufffd" in text:
                    why = (
                        "a character cut between two chunks came out as '\ufffd': decoding each "
                        "chunk on its own cannot see the rest of it. Keep the incomplete bytes "
                        "for the next chunk: codecs.getincrementaldecoder('utf-8')() does that"
                    )
                elif len(text) < len(TEXT):
                    why = (
                        "characters are missing: errors='ignore' drops a character cut between two "
                        "chunks. Keep the incomplete bytes for the next chunk instead"
                    )
                else:
                    why = "the pieces joined should be exactly the text sent"
                problem = f"chunks {where}: joined text {text!r}, expected {TEXT!r}. Hint: {why}"
                break
        if problem != "raised":
            r.expect(problem is None, problem or "")
        _ends_mid_character(r, utf8_pieces)

    return run_check("Exercise 1.2: UTF-8-safe text from chunks", body)


def _random_chunks(data: bytes, rng: random.Random) -> list[bytes]:
    chunks, i = [], 0
    while i < len(data):
        n = rng.randint(1, 7)
        chunks.append(data[i : i + n])
        i += n
    return chunks


def _ends_mid_character(r: Report, utf8_pieces: Callable[[Iterable[bytes]], Iterable[str]]) -> None:
    """A stream cut inside a character: its bytes must not vanish without a trace."""
    chunks = [b"ok ", b"\xe2\x98"]  # the first two of the three bytes of a cup of coffee
    try:
        text = "".join(utf8_pieces(iter(chunks)))
    except NotImplementedError:
        raise
    except (UnicodeDecodeError, ValueError):
        r.expect(True, "")
        return
    r.expect(
        text.endswith("\ufffd"),
        f"chunks {chunks!r} (the stream ends inside a character): joined text {text!r}; the "
        "incomplete character disappeared without a trace. At the end, flush the decoder: "
        "decoder.decode(b'', final=True) raises on leftover bytes (or gives '\ufffd' with "
        "errors='replace')",
    )
