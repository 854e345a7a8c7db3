"""Probes shared by the checks of several notebooks."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


def first_out(
    fn: Callable[[Iterator[bytes]], Any], chunks: Iterable[bytes]
) -> tuple[Any, Any, int]:
    """Call ``fn`` on ``chunks`` (as a generator) and take the first item it gives.

    Returns ``(result, first, reads)``: what ``fn`` returned (when ``None``,
    ``first`` is ``None`` too), its first item (``None`` if it gave none) and
    how many chunks had been read when that item came out: 1 for code that
    works as the chunks arrive, all of them for code that reads everything
    first.
    """
    taken: list[bytes] = []

    def reads() -> Iterator[bytes]:
        for chunk in chunks:
            taken.append(chunk)
            yield chunk

    result = fn(reads())
    if result is None:
        return None, None, len(taken)
    return result, next(iter(result), None), len(taken)
