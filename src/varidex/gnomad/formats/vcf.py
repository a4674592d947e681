"""Read the variant columns of a VCF (plain, gzip or bgzip), one row per ALT allele."""

from __future__ import annotations

import gzip
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pandas as pd

from ..errors import InputFormatError
from ..keys import MAX_POSITION

_CONTIG = re.compile(r"^##contig=<ID=([^,>]+)(?:,.*?length=(\d+))?")
VCF_COLUMNS = ("chromosome", "position", "id", "ref_allele", "alt_allele", "qual", "filter")


def _open_text(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
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
    ``frame.attrs["contig_lengths"]``."""
    handle = _open_text(path)
    header_lines = records = 0
    contig_lengths: dict[str, int] = {}
    saw_chrom_line = False
    rows: list[list[str]] = []
    try:
        for line_no, line in enumerate(handle, start=1):
            if line.startswith("##"):
                header_lines += 1
                m = _CONTIG.match(line)
                if m and m.group(2):
                    contig_lengths[m.group(1)] = int(m.group(2))
                continue
            if line.startswith("#CHROM"):
                saw_chrom_line = True
                continue
            text = line.rstrip("\r\n")
            if not text:
                continue
            if not saw_chrom_line:
                msg = "no #CHROM header line before the first record; is this a VCF?"
                raise InputFormatError(msg, path=path, line=line_no)
            cols = text.split("\t", 8)
            if len(cols) < 5:
                msg = (f"a VCF record needs at least 5 tab-separated columns "
                       f"(CHROM POS ID REF ALT), found {len(cols)}")
                raise InputFormatError(msg, path=path, line=line_no)
            if not cols[1].isdigit() or not 1 <= int(cols[1]) <= MAX_POSITION:
                msg = (f"POS {cols[1]!r} is not a 1-based position (a whole number from 1 "
                       f"to {MAX_POSITION:,})")
                raise InputFormatError(msg, path=path, line=line_no)
            cols += [""] * (7 - len(cols))
            rows.append(cols[:7])
            if len(rows) >= batch_rows:
                yield _frame(rows, records, contig_lengths)
                records += len(rows)
                rows = []
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeDecodeError) as exc:
        msg = f"cannot read ({exc}); is the file complete?"
        raise InputFormatError(msg, path=path) from exc
    finally:
        if handle is not sys.stdin:
            handle.close()
    if not saw_chrom_line and not rows and records == 0:
        msg = ("empty file, or not a VCF (no #CHROM header line and no records)"
               if header_lines == 0 else "no #CHROM header line; is this a VCF?")
        raise InputFormatError(msg, path=path)
    if rows or records == 0:
        yield _frame(rows, records, contig_lengths)


def _frame(rows: list[list[str]], before: int, contig_lengths: dict[str, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(VCF_COLUMNS), dtype=object)
    frame["vcf_record"] = range(before + 1, before + len(frame) + 1)
    frame["alt_allele"] = frame["alt_allele"].str.split(",")
    frame = frame.explode("alt_allele", ignore_index=True)
    frame["alt_index"] = frame.groupby("vcf_record").cumcount()
    frame["position"] = frame["position"].astype("int64")
    frame.attrs["contig_lengths"] = contig_lengths
    out: pd.DataFrame = frame
    return out


def read_vcf(path: str) -> pd.DataFrame:
    """The whole VCF as one frame (see :func:`iter_vcf`)."""
    batches = list(iter_vcf(path))
    frame = pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
    frame.attrs["contig_lengths"] = batches[0].attrs["contig_lengths"]
    out: pd.DataFrame = frame
    return out
