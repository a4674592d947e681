"""CSV and TSV variant tables in, and annotated tables out (atomically)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from ..errors import InputFormatError
from ..frames import find_columns


def read_delimited(path: str, *, sep: str) -> pd.DataFrame:
    """Read a CSV or TSV of variants; every column is kept, as text."""
    source = sys.stdin if path == "-" else path
    if path != "-" and not Path(path).exists():
        msg = "no such file"
        raise InputFormatError(msg, path=path)
    try:
        frame = pd.read_csv(source, sep=sep, dtype=str, keep_default_na=False,
                            comment=None, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = f"cannot read as {'CSV' if sep == ',' else 'TSV'}: {exc}"
        raise InputFormatError(msg, path=path) from exc
    names = find_columns(list(frame.columns), where=str(path))
    for i, value in enumerate(frame[names["position"]].tolist()):
        if not str(value).strip().isdigit():
            msg = f"position {value!r} is not a whole number (column {names['position']!r})"
            raise InputFormatError(msg, path=path, line=i + 2)
    alt = names["alt_allele"]
    if frame[alt].str.contains(",", regex=False).any():
        # One row per ALT allele, as for VCF input; input_row/alt_index say where each came from.
        frame.insert(0, "input_row", range(1, len(frame) + 1))
        frame[alt] = frame[alt].str.split(",")
        frame = frame.explode(alt, ignore_index=True)
        frame["alt_index"] = frame.groupby("input_row").cumcount()
    return frame


def write_table(frame: pd.DataFrame, path: str, *, sep: str) -> None:
    """Write ``frame`` to ``path`` (``-`` = stdout) through a temporary file and a rename,
    so an error or Ctrl-C never leaves a partial output."""
    if path == "-":
        frame.to_csv(sys.stdout, sep=sep, index=False, na_rep="")
        return
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                               dir=target.parent if str(target.parent) else ".")
    try:
        with os.fdopen(fd, "w", newline="") as handle:
            frame.to_csv(handle, sep=sep, index=False, na_rep="")
        Path(tmp).replace(target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise
