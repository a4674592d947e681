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

from ..errors import InputFormatError
from ..keys import MAX_POSITION
from .stdin import stdin_text

_CONTIG = re.compile(r"^##contig=<ID=([^,>]+)(?:,.*?length=(\d+))?")
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
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8", errors="replace")
    return p.open(encoding="utf-8", errors="replace")


def iter_vcf(path: str, *, batch_rows: int = 200_000) -> Iterator[pd.DataFrame]:
    """Variants of a VCF in batches of about ``batch_rows`` records: one row per ALT, with
    ``vcf_record`` (1-based record number) and ``alt_index`` (0-based) so results can be
    joined back to the records. Each batch carries the header's contig lengths in
    ``frame.attrs["contig_lengths"]``. The header is read line by line; records go through
    pandas' C parser."""
    handle = _open_text(path)
    header_lines = 0
    contig_lengths: dict[str, int] = {}
    saw_chrom_line = False
    try:
        for line in handle:
            if line.startswith("##"):
                header_lines += 1
                m = _CONTIG.match(line)
                if m and m.group(2):
                    contig_lengths[m.group(1)] = int(m.group(2))
                continue
            if line.startswith("#CHROM"):
                header_lines += 1
                saw_chrom_line = True
            break
        if not saw_chrom_line:
            msg = ("empty file, or not a VCF (no #CHROM header line)" if header_lines == 0
                   else "no #CHROM header line; is this a VCF?")
            raise InputFormatError(msg, path=path)
        source: Any = handle if path == "-" else path
        if path != "-":
            handle.close()
        yield from _records(source, path, header_lines, batch_rows, contig_lengths)
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
                    raise InputFormatError(msg, path=path, line=header_lines + before + 1)
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


def _check_records(chunk: pd.DataFrame, path: str, lines_before: int) -> None:
    for col in ("chromosome", "position", "id", "ref_allele", "alt_allele", "qual", "filter"):
        chunk[col] = chunk[col].str.rstrip("\r")
    short = (chunk["alt_allele"] == "") | (chunk["ref_allele"] == "")
    pos = chunk["position"]
    digits = pos.str.fullmatch(r"\d{1,10}")
    bad = ~digits
    bad[digits] = ~pos[digits].astype("int64").between(1, MAX_POSITION)
    for mask, what in ((short, "a VCF record needs at least 5 tab-separated columns "
                              "(CHROM POS ID REF ALT)"),
                       (bad, "POS is not a 1-based position (a whole number from 1 to "
                             f"{MAX_POSITION:,})")):
        if mask.any():
            i = int(np.flatnonzero(mask.to_numpy())[0])
            msg = f"{what}: {chunk['position'].iloc[i]!r}" if mask is bad else what
            raise InputFormatError(msg, path=path, line=lines_before + i + 1)


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
    alts = alt.to_numpy(dtype=object)[source]
    for i in np.flatnonzero(counts > 1).tolist():
        alts[first[i]:first[i] + counts[i]] = alt.iloc[i].split(",")
    out = frame.iloc[source].reset_index(drop=True)
    out["alt_allele"] = pd.array(alts, dtype=alt.dtype)
    out["alt_index"] = np.arange(len(source)) - first[source]
    return out


def read_vcf(path: str) -> pd.DataFrame:
    """The whole VCF as one frame (see :func:`iter_vcf`)."""
    batches = list(iter_vcf(path))
    frame = pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
    frame.attrs["contig_lengths"] = batches[0].attrs["contig_lengths"]
    out: pd.DataFrame = frame
    return out
