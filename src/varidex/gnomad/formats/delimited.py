"""CSV and TSV variant tables in, and annotated tables out (atomically)."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pysam

from ..errors import InputFormatError, OutputError
from ..frames import find_columns
from ..keys import MAX_POSITION
from .stdin import stdin_bytes


def iter_delimited(path: str, *, sep: str,
                   batch_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """A CSV or TSV of variants in batches; every column is kept, as text. Cells with several
    ALT alleles (``"A,G"``) become one row per ALT, with ``input_row`` and ``alt_index``."""
    source: Any = stdin_bytes() if path == "-" else path
    if path != "-" and not Path(path).exists():
        msg = "no such file"
        raise InputFormatError(msg, path=path)
    kind = "CSV" if sep == "," else "TSV"
    try:
        with pd.read_csv(source, sep=sep, dtype=str, keep_default_na=False,
                         skip_blank_lines=True, chunksize=batch_rows,
                         encoding_errors="replace") as reader:
            before = 0
            names: dict[str, str] | None = None
            for frame in reader:
                if names is None:
                    names = find_columns(list(frame.columns), where=str(path))
                yield _prepare(frame, names, before, path)
                before += len(frame)
        if names is None:
            msg = f"no header line: a {kind} needs a header naming its columns"
            raise InputFormatError(msg, path=path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, EOFError,
            OSError) as exc:
        msg = f"cannot read as {kind}: {exc}"
        if isinstance(exc, UnicodeDecodeError):
            msg += " (binary data? a BCF or an Excel file? give a VCF, CSV or TSV)"
        raise InputFormatError(msg, path=path) from exc


def _prepare(frame: pd.DataFrame, names: dict[str, str], before: int,
             path: str) -> pd.DataFrame:
    positions = frame[names["position"]].str.strip()
    digits = positions.str.fullmatch(r"\d{1,10}")
    bad = ~digits
    bad[digits] = ~positions[digits].astype("int64").between(1, MAX_POSITION)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        value = frame[names["position"]].iloc[i]
        msg = (f"position {value!r} (column {names['position']!r}) is not a 1-based position: "
               f"a whole number from 1 to {MAX_POSITION:,}")
        raise InputFormatError(msg, path=path, line=before + i + 2)
    alt = names["alt_allele"]
    if frame[alt].str.contains(",", regex=False).any():
        # One row per ALT allele, as for VCF input; input_row/alt_index say where each came from.
        frame.insert(0, "input_row", range(before + 1, before + len(frame) + 1))
        frame[alt] = frame[alt].str.split(",")
        frame = frame.explode(alt, ignore_index=True)
        frame["alt_index"] = frame.groupby("input_row").cumcount()
    return frame


def read_delimited(path: str, *, sep: str) -> pd.DataFrame:
    """The whole CSV or TSV as one frame (see :func:`iter_delimited`)."""
    batches = list(iter_delimited(path, sep=sep))
    out: pd.DataFrame = pd.concat(batches, ignore_index=True) if len(batches) > 1 else \
        batches[0]
    return out


class AtomicOutput:
    """A text output written to a temporary file beside the target and renamed into place
    only when complete (``-`` = stdout). ``.gz`` targets are bgzip-compressed. The file
    gets the permissions a new file would get (umask), or those of the file it replaces."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._tmp: Path | None = None
        self.handle: Any = None
        if path == "-":
            return
        target = Path(path)
        if target.is_dir():
            msg = "is a directory; give a file name for the output"
            raise OutputError(msg, path=path)
        folder = target.parent
        if not folder.is_dir():
            msg = f"the folder {folder} does not exist; create it first"
            raise OutputError(msg, path=path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=folder)
        except OSError as exc:
            msg = f"cannot write into {folder} ({exc.strerror}); choose a writable folder"
            raise OutputError(msg, path=path) from exc
        os.close(fd)
        self._tmp = Path(tmp)
        if path.endswith((".gz", ".bgz")):
            self.handle = pysam.BGZFile(tmp, "wb", None)  # bgzip: readable by gzip and tabix
        else:
            self.handle = self._tmp.open("wb")

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self._tmp is None:
            if exc_type is None:
                sys.stdout.flush()
            return
        try:
            self.handle.close()
            if exc_type is None:
                self._tmp.chmod(_mode_for(Path(self.path)))
                self._tmp.replace(self.path)
        except OSError as err:
            msg = f"cannot finish writing ({err.strerror or err}); no output was written"
            raise OutputError(msg, path=self.path) from err
        finally:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()

    def write_frame(self, frame: pd.DataFrame, *, sep: str, header: bool) -> None:
        """Append ``frame`` as CSV/TSV: through Arrow's C++ writer (fast), or pandas when a
        value needs quoting (a separator, quote or newline inside a cell)."""
        data = _arrow_csv(frame, sep=sep, header=header)
        if data is None:
            data = frame.to_csv(None, sep=sep, index=False, na_rep="",
                                header=header).encode()
        self._write(data)

    def write_arrow(self, table: Any, *, sep: str, header: bool) -> bool:
        """Append an Arrow table as CSV/TSV, as :meth:`write_frame` would write it; False
        (nothing written) when a value needs quoting: then write the frame instead."""
        data = _arrow_table_csv(table, sep=sep, header=header)
        if data is None:
            return False
        self._write(data)
        return True

    def _write(self, data: bytes) -> None:
        try:
            if self.handle is None:
                sys.stdout.write(data.decode())
            else:
                self.handle.write(data)
        except BrokenPipeError:
            raise
        except OSError as exc:
            msg = f"cannot write ({exc.strerror or exc}); is the disk full?"
            raise OutputError(msg, path=self.path) from exc


def _arrow_csv(frame: pd.DataFrame, *, sep: str, header: bool) -> bytes | None:
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        return None  # ValueError: repeated column names (pandas writes those)
    return _arrow_table_csv(table, sep=sep, header=header, names=[str(c) for c in frame.columns])


def _arrow_table_csv(table: Any, *, sep: str, header: bool,
                     names: list[str] | None = None) -> bytes | None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    names = names if names is not None else [str(c) for c in table.column_names]
    if any(sep in n or '"' in n or "\n" in n for n in names):
        return None
    sink = io.BytesIO()
    if header:
        sink.write((sep.join(names) + "\n").encode())
    try:
        pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(
            include_header=False, delimiter=sep, quoting_style="none"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return sink.getvalue()


def _mode_for(target: Path) -> int:
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_table(frame: pd.DataFrame, path: str, *, sep: str) -> None:
    """Write ``frame`` to ``path`` (``-`` = stdout) atomically (see :class:`AtomicOutput`)."""
    with AtomicOutput(path) as out:
        out.write_frame(frame, sep=sep, header=True)
