"""Read the variant columns of a VCF (plain, gzip or bgzip), one row per ALT allele."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from ..errors import InputFormatError
from ..keys import MAX_POSITION
from .lines import file_line
from .stdin import stdin_text

_CONTIG_ID = re.compile(r"^##contig=<(?:[^>]*?,)?ID=([^,>]+)")
_CONTIG_LENGTH = re.compile(r"^##contig=<(?:[^>]*?,)?length=(\d+)")


def contig_length(line: str) -> tuple[str, int] | None:
    """The ID and length a ``##contig`` line declares (keys in any order), or None.

    >>> contig_length("##contig=<length=156040895,ID=X,assembly=GRCh38>")
    ('X', 156040895)
    >>> contig_length("##contig=<ID=chr1,length=248956422>"), contig_length("##contig=<ID=Un>")
    (('chr1', 248956422), None)
    """
    name, length = _CONTIG_ID.match(line), _CONTIG_LENGTH.match(line)
    if name is None or length is None:
        return None
    return name.group(1), int(length.group(1))
VCF_COLUMNS = ("chromosome", "position", "id", "ref_allele", "alt_allele", "qual", "filter")


def _open_text(path: str) -> IO[str]:
    if path == "-":
        return stdin_text()
    p = Path(path)
    if not p.exists():
        msg = "no such file"
        raise InputFormatError(msg, path=path)
    with p.open("rb") as probe:
        magic = probe.read(2)
    # utf-8-sig: a byte-order mark (some Windows editors write one) is not part of ##
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8-sig", errors="replace")
    return p.open(encoding="utf-8-sig", errors="replace")


def iter_vcf(path: str, *, batch_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """Variants of a VCF in batches of about ``batch_rows`` records: one row per ALT, with
    ``vcf_record`` (1-based record number) and ``alt_index`` (0-based) so results can be
    joined back to the records. Each batch carries the header's contig lengths in
    ``frame.attrs["contig_lengths"]``. The header is read line by line; records go through
    Arrow's CSV reader (pandas' C parser for standard input)."""
    handle = _open_text(path)
    header_lines = 0
    contig_lengths: dict[str, int] = {}
    saw_chrom_line = False
    try:
        for line in handle:
            if header_lines and not line.strip():
                msg = ("a blank line in the header, before the #CHROM line; remove it (a VCF "
                       "header is ## lines, then #CHROM)")
                raise InputFormatError(msg, path=path, line=header_lines + 1)
            if line.startswith("##"):
                header_lines += 1
                declared = contig_length(line)
                if declared is not None:
                    contig_lengths[declared[0]] = declared[1]
                continue
            if line.startswith("#CHROM"):
                header_lines += 1
                saw_chrom_line = True
            break
        if not saw_chrom_line:
            msg = ("empty file, or not a VCF (no #CHROM header line)" if header_lines == 0
                   else "no #CHROM header line; is this a VCF?")
            raise InputFormatError(msg, path=path)
        if path == "-":
            yield from _records(handle, path, header_lines, batch_rows, contig_lengths)
            return
        first = next((ln for ln in handle if ln.strip("\r\n")), "")
        handle.close()
        if not first:  # a header and no records
            yield _frame([], 0, contig_lengths)
            return
        columns = first.rstrip("\r\n").count("\t") + 1
        yield from _arrow_records(path, header_lines, columns, batch_rows, contig_lengths)
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError, zlib.error) as exc:
        msg = f"cannot read ({exc}); is the file complete?"
        raise InputFormatError(msg, path=path) from exc
    finally:
        if path != "-":
            handle.close()


def _records(source: Any, path: str, header_lines: int, batch_rows: int,
             contig_lengths: dict[str, int]) -> Iterator[pd.DataFrame]:
    before = 0
    try:
        reader = pd.read_csv(
            source, sep="\t", header=None, skiprows=header_lines if path != "-" else 0,
            dtype=str, na_filter=False, quoting=csv.QUOTE_NONE, chunksize=batch_rows,
            engine="c", encoding_errors="replace",
            compression="gzip" if path != "-" and _is_gzip(path) else None)
        with reader:
            for chunk in reader:
                if chunk.shape[1] < 5:
                    msg = (f"a VCF record needs at least 5 tab-separated columns (CHROM POS ID "
                           f"REF ALT), found {chunk.shape[1]}")
                    raise InputFormatError(msg, path=path,
                                           line=file_line(path, header_lines + before + 1))
                part = chunk.iloc[:, :7].copy()
                part.columns = list(VCF_COLUMNS[: part.shape[1]])
                for col in VCF_COLUMNS[part.shape[1]:]:
                    part[col] = ""
                _check_records(part, path, header_lines + before)
                yield _frame(part, before, contig_lengths)
                before += len(chunk)
    except pd.errors.EmptyDataError:
        pass
    except pd.errors.ParserError as exc:
        msg = f"not a well-formed VCF ({exc}; line numbers count from the first record)"
        raise InputFormatError(msg, path=path) from exc
    if before == 0:
        yield _frame([], 0, contig_lengths)


def _arrow_records(path: str, header_lines: int, columns: int, batch_rows: int,
                   contig_lengths: dict[str, int]) -> Iterator[pd.DataFrame]:
    """The records of a VCF file through Arrow's multi-threaded CSV reader, in batches of
    ``batch_rows``. Every record must have the first record's number of columns; bytes
    that are not UTF-8 are replaced, as in the header."""
    if columns < 5:
        msg = (f"a VCF record needs at least 5 tab-separated columns (CHROM POS ID REF ALT), "
               f"found {columns}")
        raise InputFormatError(msg, path=path, line=file_line(path, header_lines + 1))
    wanted = [f"f{i}" for i in range(min(columns, len(VCF_COLUMNS)))]
    odd: list[int] = []

    def on_invalid_row(row: Any) -> str:
        odd.append(row.actual_columns)
        return "skip"  # reported below, with its line number, before any of it is used

    stream = pa.input_stream(path, compression="gzip" if _is_gzip(path) else None)
    try:
        reader = pcsv.open_csv(
            stream,
            read_options=pcsv.ReadOptions(skip_rows=header_lines, block_size=8 << 20,
                                          autogenerate_column_names=True),
            parse_options=pcsv.ParseOptions(delimiter="\t", quote_char=False,
                                            double_quote=False, escape_char=False,
                                            invalid_row_handler=on_invalid_row),
            convert_options=pcsv.ConvertOptions(
                include_columns=wanted, column_types=dict.fromkeys(wanted, pa.binary()),
                null_values=[], strings_can_be_null=False))
        before = 0
        pending: list[pa.RecordBatch] = []
        held = 0
        for batch in reader:
            if odd:
                raise _column_count_error(path, header_lines, columns)
            pending.append(batch)
            held += batch.num_rows
            while held >= batch_rows:
                table = pa.Table.from_batches(pending)
                part, rest = table.slice(0, batch_rows), table.slice(batch_rows)
                pending, held = rest.to_batches(), rest.num_rows
                yield _arrow_frame(part, path, header_lines + before, before, contig_lengths)
                before += batch_rows
        if odd:
            raise _column_count_error(path, header_lines, columns)
        if held:
            yield _arrow_frame(pa.Table.from_batches(pending), path, header_lines + before,
                               before, contig_lengths)
        elif before == 0:
            yield _frame([], 0, contig_lengths)
    except pa.ArrowException as exc:
        msg = f"cannot read as a VCF ({exc}); is the file complete and tab-separated?"
        raise InputFormatError(msg, path=path) from exc
    finally:
        stream.close()


def _arrow_frame(table: pa.Table, path: str, lines_before: int, before: int,
                 contig_lengths: dict[str, int]) -> pd.DataFrame:
    fast = _clean_arrow_frame(table, before, contig_lengths)
    if fast is not None:
        return fast
    # Something to report or repair (bytes that are not UTF-8, a short record, a bad POS):
    # the general path, column by column in pandas, gives the message and the line.
    data: dict[str, Any] = {}
    for name, column in zip(VCF_COLUMNS, table.columns, strict=False):
        try:
            text = column.cast(pa.string())
        except pa.ArrowInvalid:  # not UTF-8: replace the bad bytes, as pandas would
            text = pa.array([v.decode("utf-8", "replace") for v in column.to_pylist()],
                            pa.string())
        data[name] = text
    for name in VCF_COLUMNS[len(data):]:
        data[name] = pa.array([""] * table.num_rows, pa.string())
    part = pa.table(data).to_pandas()
    _check_records(part, path, lines_before)
    return _frame(part, before, contig_lengths)


def _clean_arrow_frame(table: pa.Table, before: int,
                       contig_lengths: dict[str, int]) -> pd.DataFrame | None:
    """The frame of a batch built with Arrow's compute functions, or None when the batch
    needs the general path: bytes that are not UTF-8, an empty REF or ALT, or a POS that is
    not 1 to 10 ASCII digits from 1 to MAX_POSITION. Only batches that pass every check
    are built here, so nothing is repaired or reported, and the frame is the one
    :func:`_check_records` and :func:`_frame` give. No value holds a carriage return:
    Arrow's CSV reader ends a line at CR, LF or CRLF, so stripping CRs changes nothing."""
    n = table.num_rows
    if n == 0:
        return None
    columns: list[pa.ChunkedArray] = []
    for column in table.columns[: len(VCF_COLUMNS)]:
        try:  # validates the UTF-8; pandas widens the offsets to large_string once, below
            columns.append(column.cast(pa.string()))
        except pa.ArrowInvalid:
            return None
    if len(columns) < 5:
        return None
    ref, alt, pos = columns[3], columns[4], columns[1]
    if pc.min(pc.binary_length(ref)).as_py() == 0 or pc.min(pc.binary_length(alt)).as_py() == 0:
        return None
    length = pc.min_max(pc.binary_length(pos)).as_py()
    if length["min"] < 1 or length["max"] > 10 or not pc.all(pc.ascii_is_decimal(pos)).as_py():
        return None
    columns[1] = pc.cast(pos, pa.int64())
    value = pc.min_max(columns[1]).as_py()
    if value["min"] < 1 or value["max"] > MAX_POSITION:
        return None
    empty = pa.chunked_array([pa.repeat(pa.scalar("", pa.string()), n)])
    columns += [empty] * (len(VCF_COLUMNS) - len(columns))
    records = np.arange(before + 1, before + n + 1, dtype=np.int64)
    alt_index = np.zeros(n, dtype=np.int64)
    commas = pc.count_substring(alt, ",")
    if pc.max(commas).as_py() > 0:  # one row per ALT: repeat the record, split its ALTs
        counts = commas.to_numpy().astype(np.int64) + 1
        source = np.repeat(np.arange(n), counts)
        first = np.cumsum(counts) - counts  # output row of each record's first ALT
        rows = pa.array(source)
        columns = [pc.take(column, rows) for column in columns]  # in one chunk each
        columns[4] = pa.chunked_array([pc.list_flatten(pc.split_pattern(alt, ","))
                                       .combine_chunks()])
        records = records[source]
        alt_index = np.arange(len(source), dtype=np.int64) - first[source]
    positions = columns.pop(1).to_numpy()
    names = [name for name in VCF_COLUMNS if name != "position"]
    frame: pd.DataFrame = pa.table(columns, names=names).to_pandas()
    # one block per column, as the pandas path leaves them (not one 2-D block of int64)
    frame.insert(1, "position", positions)
    frame["vcf_record"] = records
    frame["alt_index"] = alt_index
    frame.attrs["contig_lengths"] = contig_lengths
    return frame


def _column_count_error(path: str, header_lines: int, columns: int) -> InputFormatError:
    """Name the first record whose number of columns differs from the first record's."""
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if number <= header_lines or not line.strip("\r\n"):
                continue
            found = line.rstrip("\r\n").count("\t") + 1
            if found != columns:
                msg = (f"{found} tab-separated columns where the first record has {columns}; "
                       "every record needs the same columns")
                return InputFormatError(msg, path=path, line=number)
    msg = f"records with another number of columns than the first record's ({columns})"
    return InputFormatError(msg, path=path)


def _check_records(chunk: pd.DataFrame, path: str, lines_before: int) -> None:
    for col in ("chromosome", "position", "id", "ref_allele", "alt_allele", "qual", "filter"):
        chunk[col] = chunk[col].str.rstrip("\r")
    short = (chunk["alt_allele"] == "") | (chunk["ref_allele"] == "")
    pos = chunk["position"]
    digits = pos.str.fullmatch(r"[0-9]{1,10}")
    bad = ~digits
    bad[digits] = ~pos[digits].astype("int64").between(1, MAX_POSITION)
    for mask, what in ((short, "a VCF record needs at least 5 tab-separated columns "
                              "(CHROM POS ID REF ALT)"),
                       (bad, "POS is not a 1-based position (a whole number from 1 to "
                             f"{MAX_POSITION:,})")):
        if mask.any():
            i = int(np.flatnonzero(mask.to_numpy())[0])
            msg = f"{what}: {chunk['position'].iloc[i]!r}" if mask is bad else what
            raise InputFormatError(msg, path=path, line=file_line(path, lines_before + i + 1))


def _is_gzip(path: str) -> bool:
    with Path(path).open("rb") as probe:
        return probe.read(2) == b"\x1f\x8b"


def _frame(rows: list[list[str]] | pd.DataFrame, before: int,
           contig_lengths: dict[str, int]) -> pd.DataFrame:
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(
        rows, columns=list(VCF_COLUMNS), dtype=object)
    frame = frame.reset_index(drop=True)
    frame["vcf_record"] = range(before + 1, before + len(frame) + 1)
    frame = _split_alts(frame)
    frame["position"] = frame["position"].astype("int64")
    frame.attrs["contig_lengths"] = contig_lengths
    out: pd.DataFrame = frame
    return out


def _split_alts(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per ALT allele (``A,G`` gives two rows), with ``alt_index`` (0-based).
    Column-wise: only the records with several ALTs are split one by one."""
    alt = frame["alt_allele"]
    n = len(frame)
    counts = alt.str.count(",").fillna(0).to_numpy(dtype=np.int64) + 1 if n else np.zeros(
        0, dtype=np.int64)
    if (counts == 1).all():
        frame["alt_index"] = np.zeros(n, dtype=np.int64)
        return frame
    source = np.repeat(np.arange(n), counts)
    first = np.cumsum(counts) - counts  # output row of each record's first ALT
    values = alt.to_numpy(dtype=object)
    alts = values[source]
    for i in np.flatnonzero(counts > 1).tolist():
        alts[first[i]:first[i] + counts[i]] = values[i].split(",")
    out: pd.DataFrame = frame.iloc[source].reset_index(drop=True)
    out["alt_allele"] = pd.Series(alts, dtype=alt.dtype)
    out["alt_index"] = np.arange(len(source)) - first[source]
    return out


def read_vcf(path: str) -> pd.DataFrame:
    """The whole VCF as one frame (see :func:`iter_vcf`)."""
    batches = list(iter_vcf(path))
    frame = pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
    frame.attrs["contig_lengths"] = batches[0].attrs["contig_lengths"]
    out: pd.DataFrame = frame
    return out
