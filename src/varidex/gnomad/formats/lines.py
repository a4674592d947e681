"""Line numbers for error messages, counted as a text editor counts them.

The readers skip blank lines (pandas and Arrow both do), so the row number of a record is
not its line number when blank lines come before it. Only when an error is reported is the
file read again to find the record's real line: nothing is counted on the fast path.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable
from pathlib import Path

# Compressions pandas opens by a file's extension and varidex does not count lines in.
_OTHER_MAGIC = (b"BZh", b"\xfd7zXZ", b"PK\x03\x04", b"\x28\xb5\x2f\xfd")


def file_line(path: str, counted: int, *, spaces: str = "", sep: str | None = None) -> int:
    """The line number of the ``counted``-th line that is not blank in ``path``; with
    ``sep`` (a CSV or TSV), of the first line of the ``counted``-th record, whose quoted
    values may span lines.

    A line is blank when nothing but ``spaces`` remains once its line end is removed
    (pandas also skips lines of spaces; Arrow only empty ones). For standard input or a
    file that cannot be read again, ``counted`` is returned unchanged."""
    if path == "-" or counted < 1:
        return counted
    p = Path(path)
    try:
        with p.open("rb") as probe:
            magic = probe.read(4)
        if magic.startswith(_OTHER_MAGIC):
            return counted
        opener = gzip.open if magic[:2] == b"\x1f\x8b" else open
        with opener(p, "rb") as raw, io.TextIOWrapper(
                raw, encoding="utf-8", errors="replace", newline="") as handle:
            if sep is not None:
                return _record_line(handle, counted, spaces, sep)
            seen = 0
            for number, line in enumerate(handle, start=1):
                if line.rstrip("\r\n").strip(spaces) if spaces else line.rstrip("\r\n"):
                    seen += 1
                    if seen == counted:
                        return number
    except (OSError, EOFError, gzip.BadGzipFile, csv.Error):
        pass
    return counted


def _record_line(handle: Iterable[str], counted: int, spaces: str, sep: str) -> int:
    """The first line of the ``counted``-th record that is not blank, read as pandas reads
    a CSV (double quotes, doubled inside)."""
    reader = csv.reader(handle, delimiter=sep, quotechar='"', doublequote=True)
    seen, first = 0, 1
    for row in reader:
        blank = not row or (len(row) == 1 and not row[0].strip(spaces))
        if not blank:
            seen += 1
            if seen == counted:
                return first
        first = reader.line_num + 1
    return counted
