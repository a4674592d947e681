"""Read the variant columns of a VCF (plain, gzip or bgzip), one row per ALT allele."""

from __future__ import annotations

import gzip
import io
import re
import sys
from pathlib import Path
from typing import IO

import pandas as pd

from ..errors import InputFormatError

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


def read_vcf(path: str) -> pd.DataFrame:
    """Variants of a VCF as a frame: one row per ALT, with ``vcf_record`` (1-based record
    number) and ``alt_index`` (0-based) so results can be joined back to the records."""
    handle = _open_text(path)
    header_lines = 0
    contig_lengths: dict[str, int] = {}
    try:
        rows: list[list[str]] = []
        saw_chrom_line = False
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
            if not cols[1].isdigit():
                msg = f"POS {cols[1]!r} is not a whole number"
                raise InputFormatError(msg, path=path, line=line_no)
            cols += [""] * (7 - len(cols))
            rows.append(cols[:7])
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        msg = f"cannot read ({exc}); is the file complete?"
        raise InputFormatError(msg, path=path) from exc
    finally:
        if handle is not sys.stdin:
            handle.close()
    if not rows and header_lines == 0:
        msg = "empty file, or not a VCF (no ## header lines and no records)"
        raise InputFormatError(msg, path=path)
    frame = pd.DataFrame(rows, columns=list(VCF_COLUMNS), dtype=object)
    frame["vcf_record"] = range(1, len(frame) + 1)
    frame["alt_allele"] = frame["alt_allele"].str.split(",")
    frame = frame.explode("alt_allele", ignore_index=True)
    frame["alt_index"] = frame.groupby("vcf_record").cumcount()
    frame["position"] = frame["position"].astype("int64")
    frame.attrs["contig_lengths"] = contig_lengths
    out: pd.DataFrame = frame
    return out
