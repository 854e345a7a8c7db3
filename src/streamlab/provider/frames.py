"""Fast delta frames: one ``encode_event`` call per stream, not per token.

Between two text deltas of one stream only the token (and, for Responses,
the sequence number and the ``obfuscation`` padding) changes. ``DeltaFrames`` encodes a sample event once
with ``streamlab.sse.encode_event`` using placeholder values, then splices
each real token (as a JSON string, which never contains a line break),
sequence number and obfuscation into that output. The bytes are identical to calling the
encoder for every delta, at a fraction of the cost: with 200 concurrent
streams the encoder was a fifth of the server's CPU.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from streamlab.sse import encode_event

_TOKEN = "\ue000streamlab-token\ue000"
_SEQ = 918273645546372819
_OBF = "\ue000streamlab-obfuscation\ue000"
# What real obfuscation looks like: URL-safe letters and digits.
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
OBFUSCATION_BLOCK = 16
_MAX_PIECES = 4096  # per stream: tokens repeat, so a few hundred pieces is typical


@functools.lru_cache(maxsize=8192)
def json_string(text: str) -> bytes:
    """``text`` as a JSON string literal, UTF-8 (tokens repeat a lot: cached)."""
    return json.dumps(text, ensure_ascii=False).encode()


@functools.lru_cache(maxsize=8192)
def obfuscation(text: str) -> str:
    """The ``obfuscation`` padding OpenAI adds to a delta event (since August 2025).

    Random characters that round the delta's length up, so that the size of
    an encrypted event does not reveal the token (a side channel): the real
    API pads ``delta`` + ``obfuscation`` to 16 characters and more. Here the
    characters are a fixed function of the text (deterministic, cached).
    """
    n = OBFUSCATION_BLOCK - len(text) % OBFUSCATION_BLOCK
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    return "".join(_ALPHABET[b % 62] for b in digest[:n])


@functools.lru_cache(maxsize=8192)
def _obfuscation_json(text: str) -> bytes:
    return json_string(obfuscation(text))


class DeltaFrames:
    """Build the frame of each delta event of one stream.

    ``payload`` is the event's JSON object with ``DeltaFrames.TOKEN`` where
    the token goes and, optionally, ``DeltaFrames.SEQ`` where the sequence
    number goes and ``DeltaFrames.OBF`` where the token's ``obfuscation``
    goes (after the token).
    """

    TOKEN = _TOKEN
    SEQ = _SEQ
    OBF = _OBF

    def __init__(self, payload: dict[str, Any], *, event: str | None = None) -> None:
        sample = encode_event(json.dumps(payload, ensure_ascii=False), event=event)
        head, sep, rest = sample.partition(json_string(_TOKEN))
        if not sep or json_string(_TOKEN) in rest:
            raise ValueError("payload must contain DeltaFrames.TOKEN exactly once")
        self._head = head
        self._obf_head, sep, obf_rest = rest.partition(json_string(_OBF))
        self._has_obf = bool(sep)
        self._pieces: dict[str, bytes] = {}
        if self._has_obf:  # token, then obfuscation, then (maybe) the sequence number
            if str(_SEQ).encode() in self._obf_head:
                raise ValueError("DeltaFrames.OBF must come before DeltaFrames.SEQ")
            rest = obf_rest
        self._mid, sep, self._tail = rest.partition(str(_SEQ).encode())
        self._has_seq = bool(sep)
        if not self._has_seq:
            self._mid, self._tail = rest, b""

    def __call__(self, token: str, seq: int = 0) -> bytes:
        if self._has_obf:  # token + obfuscation spliced as one cached piece: no extra cost
            piece = self._pieces.get(token)
            if piece is None:
                if len(self._pieces) >= _MAX_PIECES:
                    self._pieces.clear()
                piece = json_string(token) + self._obf_head + _obfuscation_json(token)
                self._pieces[token] = piece
            if self._has_seq:
                return b"".join((self._head, piece, self._mid, str(seq).encode(), self._tail))
            return b"".join((self._head, piece, self._mid))
        if self._has_seq:
            return b"".join(
                (self._head, json_string(token), self._mid, str(seq).encode(), self._tail)
            )
        return b"".join((self._head, json_string(token), self._mid))
