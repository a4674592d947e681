"""CSV and TSV variant tables in, and annotated tables out (atomically)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pysam

from ..errors import InputFormatError, OutputError
from ..frames import CANONICAL_COLUMNS, find_columns
from ..keys import MAX_POSITION
from ..signals import held, output_complete
from ..variant_ids import expand_ids, id_column
from .arrow_text import quote_names, table_text
from .bgzf import BgzfWriter
from .lines import file_line
from .stdin import stdin_bytes

logger = logging.getLogger(__name__)


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
            ids: str | None = None
            locate: bool | None = None
            for frame in reader:
                if names is None:
                    names, ids = variant_columns_or_ids(list(frame.columns), where=str(path))
                if ids is not None:  # a variant-ID column: 1-55505647-G-T
                    frame = expand_ids(frame, ids, where=str(path), first_line=before + 2)
                had = list(frame.columns)  # prepare_variants may insert input_row
                prepared = prepare_variants(frame, names, before, path, sep=sep, locate=locate)
                if locate is None:
                    locate = adds_locations(had, prepared)
                yield prepared
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


def variant_columns_or_ids(columns: list[str], *,
                           where: str) -> tuple[dict[str, str], str | None]:
    """The input's four variant columns, or (canonical names, the variant-ID column) when
    it has none but a ``variant_id`` column to take them from."""
    ids = id_column(columns)
    if ids is not None:
        return {c: c for c in CANONICAL_COLUMNS}, ids
    return find_columns(columns, where=where), None


def prepare_variants(frame: pd.DataFrame, names: dict[str, str], before: int, path: str, *,
                     first_line: int = 2, unit: str = "line", sep: str = ",",
                     locate: bool | None = None) -> pd.DataFrame:
    """Check the positions of a batch of table rows and split multi-ALT cells.

    ``before`` rows came before this batch; the first data row is ``first_line`` (line 2 of
    a CSV, after its header; row 1 of a Parquet file, ``unit="row"``). ``locate``: whether
    to add ``input_row`` and ``alt_index`` (None: when this batch has a multi-ALT cell).
    The first batch decides for the later ones, so every batch has the same columns."""
    column = names["position"]
    values = frame[column]
    if values.dtype.kind in "iu":  # numpy, or pandas' nullable (Parquet): NA is bad too
        bad = (~values.between(1, MAX_POSITION)).fillna(True).astype(bool)
    elif values.dtype.kind == "f":
        bad = ~(values.between(1, MAX_POSITION) & (values == values.round()))
    else:
        positions = values.astype(str).str.strip()
        digits = positions.str.fullmatch(r"[0-9]{1,10}").fillna(False).astype(bool)
        bad = ~digits
        bad[digits] = ~positions[digits].astype("int64").between(1, MAX_POSITION)
    if bad.any():
        i = int(bad.to_numpy().nonzero()[0][0])
        value = values.iloc[i]
        value = value.item() if hasattr(value, "item") else value  # numpy scalar -> Python
        msg = (f"position {value!r} (column {column!r}) is not a 1-based position: "
               f"a whole number from 1 to {MAX_POSITION:,}")
        number = before + i + first_line
        if unit == "line":  # blank lines were skipped: count them back in
            spaces = " \t".replace(sep, "")  # pandas skips lines of these
            raise InputFormatError(msg, path=path,
                                   line=file_line(path, number, spaces=spaces, sep=sep))
        msg = f"{unit} {number}: {msg}"
        raise InputFormatError(msg, path=path)
    if isinstance(values.dtype, pd.api.extensions.ExtensionDtype):
        frame[column] = values.astype("int64")  # checked: no NA
    alt = names["alt_allele"]
    multi = frame[alt].astype(str).str.contains(",", regex=False).to_numpy()
    if _clashes(frame):
        locate = False
    elif locate is None:
        locate = bool(multi.any())
    if locate:
        # One row per ALT allele, as for VCF input; input_row/alt_index say where each came from.
        frame.insert(0, "input_row", range(before + 1, before + len(frame) + 1))
    if multi.any():
        if not locate:
            i = int(multi.nonzero()[0][0])
            where = (f"line {file_line(path, before + i + first_line, spaces=' ', sep=sep)}"
                     if unit == "line" else f"{unit} {before + i + first_line}")
            logger.warning("%s, %s: a cell with several ALT alleles (%r) after the first batch "
                           "had none (or the input has input_row/alt_index columns): split into "
                           "one row per ALT, without input_row/alt_index columns, so every "
                           "row keeps the first batch's columns; put such rows first, or split "
                           "them beforehand, to have them", path, where, frame[alt].iloc[i])
        frame[alt] = frame[alt].astype(str).str.split(",")
        frame = frame.explode(alt, ignore_index=True)
    if locate:
        frame["alt_index"] = frame.groupby("input_row").cumcount() if multi.any() else 0
    return frame


def _clashes(frame: pd.DataFrame) -> bool:
    return "input_row" in frame.columns or "alt_index" in frame.columns


def adds_locations(columns: list[str], prepared: pd.DataFrame) -> bool:
    """Whether the first batch (its input ``columns``) was given input_row/alt_index: then
    every later batch is."""
    return "input_row" not in columns and "alt_index" not in columns and (
        "input_row" in prepared.columns)


def read_delimited(path: str, *, sep: str) -> pd.DataFrame:
    """The whole CSV or TSV as one frame (see :func:`iter_delimited`)."""
    batches = list(iter_delimited(path, sep=sep))
    out: pd.DataFrame = pd.concat(batches, ignore_index=True) if len(batches) > 1 else \
        batches[0]
    return out


class AtomicOutput:
    """A text output written to a temporary file beside the target and renamed into place
    only when complete (``-`` = stdout). ``.gz`` targets are bgzip-compressed. The file
    gets the permissions a new file would get (umask), or those of the file it replaces.

    ``index_vcf``: a bgzipped VCF target also gets a tabix index (``.tbi``), built on the
    temporary file and renamed with it; an unsortable file fails the whole output. An index
    left beside a replaced file (``.tbi``, ``.csi``) no longer describes it and is removed.

    A device, FIFO or socket (``/dev/null``, ``/dev/stdout``, a named pipe) cannot be
    replaced: it is written in place, like ``-``. A symbolic link is kept: the file it
    points to is replaced, and the index goes beside the link, where htslib (tabix,
    bcftools) looks for it when given the link's name, as ``bcftools --write-index`` puts
    it."""

    def __init__(self, path: str, *, index_vcf: bool = False) -> None:
        self.path = path
        self._given = path  # the name as given: a link's index goes beside it
        self._tmp: Path | None = None
        self.handle: Any = None
        self.index_vcf = index_vcf and path.endswith((".gz", ".bgz"))
        if path == "-":
            return
        target = Path(path)
        if target.is_dir():
            msg = "is a directory; give a file name for the output"
            raise OutputError(msg, path=path)
        try:
            mode = target.stat().st_mode  # follows links
        except OSError:
            mode = None
        if mode is not None and not stat.S_ISREG(mode):
            self._open_in_place(path)
            return
        if target.is_symlink():
            target = Path(os.path.realpath(target))
            self.path = str(target)
        folder = target.parent
        if not folder.is_dir():
            msg = f"the folder {folder} does not exist; create it first"
            raise OutputError(msg, path=path)
        # Ctrl-C (or SIGTERM) is held back while the temporary file is created and its
        # name kept, then raised inside the try, whose handler removes the file again.
        try:
            with held():
                try:
                    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                                               dir=folder)
                except OSError as exc:
                    msg = f"cannot write into {folder} ({exc.strerror}); choose a writable folder"
                    raise OutputError(msg, path=path) from exc
                os.close(fd)
                self._tmp = Path(tmp)
            if path.endswith((".gz", ".bgz")):
                self.handle = BgzfWriter(self._tmp.open("wb"))  # gzip and tabix read it
            else:
                self.handle = self._tmp.open("wb")
        except BaseException:
            if self._tmp is not None:
                self._tmp.unlink(missing_ok=True)
            raise

    def _open_in_place(self, path: str) -> None:
        self.index_vcf = False  # a stream cannot be indexed
        try:
            if path.endswith((".gz", ".bgz")):
                self.handle = BgzfWriter(Path(path).open("wb"))  # noqa: SIM115 (closed in __exit__)
            else:
                self.handle = Path(path).open("wb")  # noqa: SIM115 (closed in __exit__)
        except OSError as exc:
            msg = f"cannot write ({exc.strerror or exc}); choose another output"
            raise OutputError(msg, path=path) from exc

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self._tmp is None:
            if self.handle is not None:  # a device or FIFO, written in place
                try:
                    self.handle.close()
                except OSError as err:
                    msg = f"cannot finish writing ({err.strerror or err})"
                    raise OutputError(msg, path=self.path) from err
            elif exc_type is None:
                sys.stdout.flush()
            return
        index = Path(f"{self._tmp}.tbi")
        try:
            self.handle.close()
            if exc_type is None:
                if self.index_vcf:
                    self._build_index()
                self._tmp.chmod(_mode_for(Path(self.path)))
                if self.index_vcf:
                    index.chmod(_mode_for(Path(f"{self._given}.tbi")))
                with held():  # the file, its index and no stale one: all or nothing said
                    replaced = Path(self.path).exists()
                    self._tmp.replace(self.path)
                    if self.index_vcf:
                        shutil.move(index, f"{self._given}.tbi")  # another file system, maybe
                    if replaced:
                        self._remove_stale_indexes()
                    output_complete(self._given)
        except OSError as err:
            msg = f"cannot finish writing ({err.strerror or err}); no output was written"
            raise OutputError(msg, path=self.path) from err
        finally:
            for leftover in (self._tmp, index):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _remove_stale_indexes(self) -> None:
        """Indexes of the file just replaced describe the old content (htslib would use
        them to answer region queries wrongly): remove them."""
        kept = {f"{self._given}.tbi"} if self.index_vcf else set()
        for stale in dict.fromkeys(f"{name}{suffix}" for name in _link_chain(self._given)
                                   for suffix in (".tbi", ".csi")):
            if stale not in kept and os.path.lexists(stale):
                Path(stale).unlink()
                logger.info("%s: removed %s, the index of the file this output replaced",
                            self.path, stale)

    def _build_index(self) -> None:
        assert self._tmp is not None
        try:
            pysam.tabix_index(str(self._tmp), preset="vcf", force=True, keep_original=True)
        except (OSError, ValueError) as exc:
            detail = str(exc).split("[E::", 1)[-1].split("] ", 1)[-1]
            msg = (f"cannot index the bgzipped VCF ({detail}): tabix needs records sorted by "
                   "contig and position, and varidex keeps the input's order. Sort the input "
                   "first (`bcftools sort`), or write an uncompressed .vcf; no output was "
                   "written")
            raise OutputError(msg, path=self.path) from exc

    def write_arrow(self, table: Any, *, sep: str, header: bool) -> bool:
        """Append an Arrow table as CSV/TSV, as :meth:`write_frame` would write it; False
        (nothing written) when a value needs quoting: then write the frame instead."""
        data = _arrow_table_csv(table, sep=sep, header=header)
        if data is None:
            return False
        self.write_bytes(data)
        return True

    def write_bytes(self, data: bytes) -> None:
        """Append raw bytes (text already encoded as UTF-8)."""
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

    def write_blocks(self, blocks: bytes) -> None:
        """Append BGZF blocks compressed elsewhere (a ``.gz`` output only)."""
        assert isinstance(self.handle, BgzfWriter)
        try:
            self.handle.write_blocks(blocks)
        except OSError as exc:
            msg = f"cannot write ({exc.strerror or exc}); is the disk full?"
            raise OutputError(msg, path=self.path) from exc

    @property
    def bgzipped(self) -> bool:
        """Whether the output is written as BGZF (a ``.gz``/``.bgz`` file, not stdout)."""
        return isinstance(self.handle, BgzfWriter)

    def write_frame(self, frame: pd.DataFrame, *, sep: str, header: bool) -> None:
        """Append ``frame`` as CSV/TSV: through Arrow's C++ writer (fast), or pandas when a
        value needs quoting (a separator, quote or newline inside a cell)."""
        data = _arrow_csv(frame, sep=sep, header=header)
        if data is None:
            data = frame.to_csv(None, sep=sep, index=False, na_rep="",
                                header=header).encode()
        self.write_bytes(data)


def _arrow_csv(frame: pd.DataFrame, *, sep: str, header: bool) -> bytes | None:
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, ValueError):
        return None  # ValueError: repeated column names (pandas writes those)
    return _arrow_table_csv(table, sep=sep, header=header, names=[str(c) for c in frame.columns])


def _arrow_table_csv(table: Any, *, sep: str, header: bool,
                     names: list[str] | None = None) -> bytes | None:
    names = quote_names(names if names is not None else [str(c) for c in table.column_names], sep)
    body = table_text(table, sep)
    if body is None:
        return None
    return (sep.join(names) + "\n").encode() + body if header else body


def _link_chain(path: str) -> list[str]:
    """``path`` and, if it is a symbolic link, each name it leads through to the file: an
    index beside any of them would describe the replaced file."""
    names = [Path(path)]
    while names[-1].is_symlink() and len(names) < 40:
        names.append(names[-1].parent / names[-1].readlink())
    return [str(n) for n in names]


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


class DelimitedWriter:
    """Annotated batches as one CSV or TSV (header once), written atomically."""

    def __init__(self, path: str, *, sep: str) -> None:
        self.sep = sep
        self._out = AtomicOutput(path)
        self._header = True

    def __enter__(self) -> DelimitedWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        self._out.__exit__(exc_type, exc, tb)

    def write(self, frame: pd.DataFrame, batch: object = None, *,
              keep: np.ndarray | None = None) -> None:
        if keep is not None:
            frame = frame[keep]
        self._out.write_frame(frame, sep=self.sep, header=self._header)
        self._header = False

    def write_arrow(self, table: Any) -> bool:
        """Append an Arrow table of the annotated batch; False (nothing written) when a
        value needs quoting, and then :meth:`write` takes the data frame instead."""
        if not self._out.write_arrow(table, sep=self.sep, header=self._header):
            return False
        self._header = False
        return True
