"""Standard input as a binary stream, gunzipped when it is gzip or bgzip, with a peek at its
first bytes so the format can be told without a file name."""

from __future__ import annotations

import gzip
import io
import sys
from typing import IO, cast

_STDIN: tuple[object, io.BufferedReader] | None = None


def stdin_bytes() -> io.BufferedReader:
    """Standard input, decompressed if it starts with the gzip magic (one stream per
    ``sys.stdin``: the format peek and the reader share it)."""
    global _STDIN
    if _STDIN is not None and _STDIN[0] is sys.stdin:
        return _STDIN[1]
    buffer = getattr(sys.stdin, "buffer", None)
    raw: IO[bytes] = buffer if buffer is not None else io.BytesIO(sys.stdin.read().encode())
    reader = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(
        cast("io.RawIOBase", raw))
    if reader.peek(2)[:2] == b"\x1f\x8b":
        reader = io.BufferedReader(cast("io.RawIOBase", gzip.GzipFile(fileobj=reader)))
    _STDIN = (sys.stdin, reader)
    return reader


def stdin_text() -> IO[str]:
    return io.TextIOWrapper(stdin_bytes(), encoding="utf-8", errors="replace")
