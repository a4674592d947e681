"""Annotate a variants file end to end: read, look up, add columns, write atomically."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .annotate import LookupResult, result_frame
from .combine import AnyAnnotator
from .contigs import HG19_CHRM_LENGTH, normalize_chrom
from .errors import BuildMismatchError, InputFormatError
from .formats import guess_format, read_delimited, read_vcf, write_table
from .frames import variant_columns
from .keys import FOUND, FOUND_NON_PASS, NO_DATA
from .releases import CHR1_LENGTH

logger = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """Counts and timing of one annotation run, for the one-line summary."""

    variants: int
    counts: dict[str, int]
    seconds: float
    release: str
    output: str

    def line(self) -> str:
        found = self.counts.get(FOUND, 0) + self.counts.get(FOUND_NON_PASS, 0)
        skipped = self.variants - found - self.counts.get("absent", 0) - self.counts.get(
            NO_DATA, 0)
        rate = self.variants / self.seconds if self.seconds > 0 else float("inf")
        return (f"varidex: {self.variants} variants, {found} found "
                f"({self.counts.get(FOUND_NON_PASS, 0)} non-PASS), "
                f"{self.counts.get('absent', 0)} absent, {self.counts.get(NO_DATA, 0)} no data, "
                f"{skipped} skipped; {self.seconds:.2f} s ({rate:,.0f} variants/s); "
                f"gnomAD {self.release}; output {self.output}")


def read_variants(path: str, fmt: str | None = None) -> pd.DataFrame:
    """Read a VCF, CSV or TSV of variants (format from ``fmt`` or the file name)."""
    kind = fmt or guess_format(path)
    if kind == "vcf":
        return read_vcf(path)
    if kind in ("csv", "tsv"):
        return read_delimited(path, sep="," if kind == "csv" else "\t")
    msg = f"unknown input format {kind!r}; use vcf, csv or tsv"
    raise InputFormatError(msg, path=path)


def check_contigs(annotator: AnyAnnotator, contig_lengths: dict[str, int],
                  where: str) -> frozenset[str]:
    """Check an input's declared contig lengths against the release's build.

    Returns the canonical chromosomes to report as ``no_data`` (hg19's chrM, which is not
    the rCRS sequence gnomAD's chrM/MT is on).
    """
    build = annotator.files.release.build
    no_data: set[str] = set()
    for name, length in contig_lengths.items():
        canon = normalize_chrom(name)
        if canon == "1" and length not in (CHR1_LENGTH[build], 0):
            other = next((b for b, n in CHR1_LENGTH.items() if n == length), "another build")
            if not annotator.allow_ref_mismatch:
                msg = (f"{where}: the header declares contig {name} with length {length}, "
                       f"which is {other}, but gnomAD {annotator.release_key} is "
                       f"{build}; use a gnomAD release of the input's build, lift the input "
                       "over, or pass --allow-ref-mismatch")
                raise BuildMismatchError(msg)
        if canon == "MT" and length == HG19_CHRM_LENGTH:
            logger.warning("%s: contig %s has length %d: hg19's chrM (NC_001807), not the rCRS "
                           "sequence of gnomAD; its variants are reported as no_data", where,
                           name, length)
            no_data.add("MT")
    return frozenset(no_data)


def annotate_frame(annotator: AnyAnnotator, frame: pd.DataFrame, *,
                   show_progress: bool, where: str = "input") -> tuple[pd.DataFrame, LookupResult]:
    chrom, pos, ref, alt = variant_columns(frame)
    no_data = check_contigs(annotator, frame.attrs.get("contig_lengths", {}), where)
    result = annotator.lookup(chrom, pos, ref, alt, show_progress=show_progress,
                              no_data_chroms=no_data)
    added = result_frame(result, release=annotator.release_key, index=frame.index)
    return pd.concat([frame, added], axis=1), result


def annotate_file(annotator: AnyAnnotator, input_path: str, output_path: str, *,
                  input_format: str | None = None, output_format: str | None = None,
                  show_progress: bool = False) -> RunSummary:
    """Annotate ``input_path`` into ``output_path`` (``-`` for stdin/stdout)."""
    started = time.perf_counter()
    frame = read_variants(input_path, input_format)
    out, result = annotate_frame(annotator, frame, show_progress=show_progress,
                                 where=input_path)
    kind = output_format or ("tsv" if output_path == "-" else guess_format(output_path))
    if kind == "vcf":
        msg = "VCF output is not available yet; write .tsv or .csv"
        raise InputFormatError(msg, path=output_path)
    write_table(out, output_path, sep="," if kind == "csv" else "\t")
    return RunSummary(len(frame), result.counts(), time.perf_counter() - started,
                      annotator.release_key,
                      "stdout" if output_path == "-" else str(Path(output_path)))
