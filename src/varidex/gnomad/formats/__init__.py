"""Readers and writers of variant tables behind one registry, by name or by file suffix.

========  =========================  =====  ======  =====================================
name      suffixes                   read   write   notes
========  =========================  =====  ======  =====================================
vcf       .vcf (.gz, .bgz)           yes    yes     one row per ALT; VCF out needs VCF in
csv       .csv                       yes    yes     column aliases, or a variant_id column
tsv       .tsv .txt .tab             yes    yes     the same
parquet   .parquet .pq               yes    yes     provenance in the schema metadata
23andme   (told from the header)     yes    no      genotypes, see varidex.gnomad.genotypes
ancestry  (told from the header)     yes    no      AncestryDNA genotypes
ftdna     (told from the header)     yes    no      FamilyTreeDNA genotypes
========  =========================  =====  ======  =====================================
"""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pandas as pd

from varidex import __version__

from ..errors import InputFormatError
from ..provenance import Provenance
from .base import InputBatch, TableWriter
from .consumer import GENOTYPE_FORMATS, sniff_genotypes
from .delimited import DelimitedWriter, iter_delimited, read_delimited, write_table
from .parquet import ParquetWriter, iter_parquet
from .stdin import stdin_bytes
from .vcf import iter_vcf, read_vcf
from .vcf_source import VcfHeader
from .vcf_writer import VcfWriter


@dataclass(frozen=True)
class Format:
    """One file format: its name, the suffixes that select it, what varidex does with it."""

    name: str
    suffixes: tuple[str, ...]
    readable: bool
    writable: bool
    genotypes: bool = False


FORMATS: Final[dict[str, Format]] = {f.name: f for f in (
    Format("vcf", (".vcf",), True, True),
    Format("csv", (".csv",), True, True),
    Format("tsv", (".tsv", ".txt", ".tab"), True, True),
    Format("parquet", (".parquet", ".pq"), True, True),
    *(Format(name, (), True, False, genotypes=True) for name in GENOTYPE_FORMATS),
)}
INPUT_FORMATS: Final = tuple(n for n, f in FORMATS.items() if f.readable)
OUTPUT_FORMATS: Final = tuple(n for n, f in FORMATS.items() if f.writable)


def format_from_suffix(path: str) -> str | None:
    """The format a file name's suffix selects (``.gz``/``.bgz`` looked through), or None.

    >>> format_from_suffix("calls.vcf.bgz"), format_from_suffix("x.PQ"), format_from_suffix("a")
    ('vcf', 'parquet', None)
    """
    name = path.lower()
    for suffix in (".gz", ".bgz"):
        name = name.removesuffix(suffix)
    ext = Path(name).suffix
    return next((f.name for f in FORMATS.values() if ext in f.suffixes), None)


def guess_format(path: str) -> str:
    """Format of a file from its name (TSV when the name says nothing).

    >>> guess_format("calls.vcf.gz"), guess_format("x.CSV"), guess_format("panel.txt")
    ('vcf', 'csv', 'tsv')
    """
    return format_from_suffix(path) or "tsv"


def sniff(head: bytes) -> str | None:
    """The format of a file from its first bytes (already gunzipped), or None.

    >>> sniff(b"##fileformat=VCFv4.2\\n"), sniff(b"PAR1..."), sniff(b"chrom,pos,ref,alt\\n")
    ('vcf', 'parquet', 'csv')
    """
    if head.startswith(b"PAR1"):
        return "parquet"
    lines = head.decode("utf-8", "replace").splitlines()
    first = lines[0] if lines else ""
    if first.startswith(("##fileformat=VCF", "#CHROM")):
        return "vcf"
    kind = sniff_genotypes(lines)
    if kind is not None:
        return kind
    if not first:
        return None
    return "csv" if "," in first and "\t" not in first else "tsv"


def _head(path: str, size: int = 65536) -> bytes:
    with Path(path).open("rb") as handle:
        head = handle.read(size)
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(path, "rb") as handle:
                head = handle.read(size)
        except (OSError, EOFError):
            return b""
    return head


#: Leading bytes of containers a variants file may arrive in, and what to do about them.
_CONTAINERS: Final = (
    (b"PK\x03\x04", "a ZIP archive (23andMe and AncestryDNA downloads come zipped; an "
                     ".xlsx workbook is one too)", "unzip it and give the file inside, or "
                     "save the sheet as CSV"),
    (b"BZh", "bzip2-compressed", "decompress it (`bunzip2`), or recompress with bgzip"),
    (b"\xfd7zXZ\x00", "xz-compressed", "decompress it (`unxz`), or recompress with bgzip"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed", "decompress it (`unzstd`), or recompress with "
                                             "bgzip"),
)


def _refuse_unreadable(head: bytes, path: str, raw: int | None = None) -> None:
    """An empty input, or one in a container varidex does not open, is an error that says
    what the file is and what to do."""
    if raw == 0 or not head.strip():  # nothing, blank lines, or an empty .gz
        msg = ("is empty: nothing to annotate; give a VCF, CSV, TSV, Parquet or genotype "
               "file with a header and records")
        raise InputFormatError(msg, path=path)
    for magic, what, fix in _CONTAINERS:
        if head.startswith(magic):
            msg = f"is {what}, not a variants file: {fix}"
            raise InputFormatError(msg, path=path)


def input_format(path: str, fmt: str | None = None) -> str:
    """The input format: ``fmt`` if given; for stdin (``-``) told from the first bytes; else
    VCF and Parquet by suffix, genotype files by their header, then CSV/TSV by suffix."""
    if fmt is not None:
        if fmt not in INPUT_FORMATS:
            msg = f"unknown input format {fmt!r}; use one of {', '.join(INPUT_FORMATS)}"
            raise InputFormatError(msg, path=path)
        return fmt
    if path == "-":
        head = stdin_bytes().peek(65536)[:65536]
        _refuse_unreadable(head, path)
        return sniff(head) or "tsv"
    by_name = format_from_suffix(path)
    if by_name in ("vcf", "parquet"):
        return by_name
    p = Path(path)
    if p.is_file():
        head = _head(path)
        _refuse_unreadable(head, path, raw=p.stat().st_size)
        sniffed = sniff(head)
        if sniffed in GENOTYPE_FORMATS or sniffed in ("vcf", "parquet"):
            return sniffed
    return by_name or "tsv"


def output_format(path: str, fmt: str | None = None) -> str:
    """The output format: ``fmt`` if given, else by suffix (``.gz`` after it = bgzip);
    TSV for ``-`` and for names that say nothing."""
    if fmt is not None:
        if fmt not in OUTPUT_FORMATS:
            msg = f"cannot write {fmt!r}; output formats: {', '.join(OUTPUT_FORMATS)}"
            raise InputFormatError(msg, path=path)
        return fmt
    if path == "-":
        return "tsv"
    by_name = format_from_suffix(path)
    if by_name is None:
        suffix = Path(path.lower().removesuffix(".gz").removesuffix(".bgz")).suffix
        if suffix in (".bcf", ".xlsx", ".xls", ".json"):
            msg = (f"{suffix} output is not available; write one of "
                   f"{', '.join(OUTPUT_FORMATS)} (by suffix, or --output-format)")
            raise InputFormatError(msg, path=path)
        return "tsv"
    if not FORMATS[by_name].writable:
        msg = f"cannot write {by_name}; output formats: {', '.join(OUTPUT_FORMATS)}"
        raise InputFormatError(msg, path=path)
    return by_name


_READERS: Final[dict[str, Callable[[str, int], Iterator[pd.DataFrame]]]] = {
    "vcf": lambda path, n: iter_vcf(path, batch_rows=n),
    "csv": lambda path, n: iter_delimited(path, sep=",", batch_rows=n),
    "tsv": lambda path, n: iter_delimited(path, sep="\t", batch_rows=n),
    "parquet": lambda path, n: iter_parquet(path, batch_rows=n),
}


def iter_variants(path: str, fmt: str | None = None, *,
                  batch_rows: int = 250_000) -> Iterator[pd.DataFrame]:
    """Batches of a variants file (VCF, CSV, TSV or Parquet), in canonical columns plus the
    input's own. Genotype files are read with :func:`varidex.gnomad.formats.consumer.
    iter_genotypes` instead."""
    if path != "-" and Path(path).is_dir():
        msg = "is a directory, not a variants file"
        raise InputFormatError(msg, path=path)
    kind = input_format(path, fmt)
    if kind in GENOTYPE_FORMATS:
        msg = (f"a {kind} genotype file holds genotypes, not variants; annotate it with "
               "`varidex annotate` (annotate_file) or read it with iter_genotypes")
        raise InputFormatError(msg, path=path)
    return _READERS[kind](path, batch_rows)


def read_variants(path: str, fmt: str | None = None) -> pd.DataFrame:
    """A whole variants file as one frame (see :func:`iter_variants`)."""
    batches = list(iter_variants(path, fmt))
    frame: pd.DataFrame = pd.concat(batches, ignore_index=True) if len(batches) > 1 \
        else batches[0]
    frame.attrs = dict(batches[0].attrs)
    return frame


def open_writer(fmt: str, path: str, *, provenance: Provenance,
                vcf_header: VcfHeader | None = None) -> TableWriter:
    """The writer of one output format (``-`` = stdout)."""
    if fmt == "vcf":
        if vcf_header is None:
            msg = ("VCF output needs VCF input (each input record is written back with the "
                   "gnomAD INFO fields); write TSV, CSV or Parquet instead")
            raise InputFormatError(msg, path=path)
        return VcfWriter(path, vcf_header, provenance)
    if fmt == "parquet":
        return ParquetWriter(path, provenance)
    return DelimitedWriter(path, sep="," if fmt == "csv" else "\t")


def write_variants(frame: pd.DataFrame, path: str, fmt: str | None = None, *,
                   provenance: Provenance | None = None) -> None:
    """Write an annotated frame as CSV, TSV or Parquet (``-`` = stdout), atomically."""
    kind = output_format(path, fmt)
    if kind == "vcf":
        msg = "write VCF with annotate_file (it needs the input VCF's records)"
        raise InputFormatError(msg, path=path)
    prov = provenance or Provenance(__version__, "python: varidex.gnomad.formats", "", (), "")
    with open_writer(kind, path, provenance=prov) as out:
        out.write(frame)


__all__ = ["FORMATS", "GENOTYPE_FORMATS", "INPUT_FORMATS", "OUTPUT_FORMATS", "Format",
           "InputBatch", "TableWriter", "format_from_suffix", "guess_format", "input_format",
           "iter_variants", "open_writer", "output_format", "read_delimited", "read_variants",
           "read_vcf", "sniff", "write_table", "write_variants"]
