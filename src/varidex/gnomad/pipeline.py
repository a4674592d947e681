"""Annotate a variants file end to end: read, look up, add columns, write atomically."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .annotate import Annotator, LookupResult, result_frame
from .errors import InputFormatError
from .formats import guess_format, read_delimited, read_vcf, write_table
from .frames import variant_columns
from .keys import FOUND, FOUND_NON_PASS, NO_DATA


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


def annotate_frame(annotator: Annotator, frame: pd.DataFrame, *,
                   show_progress: bool) -> tuple[pd.DataFrame, LookupResult]:
    chrom, pos, ref, alt = variant_columns(frame)
    result = annotator.lookup(chrom, pos, ref, alt, show_progress=show_progress)
    added = result_frame(result, release=annotator.files.release.key, index=frame.index)
    return pd.concat([frame, added], axis=1), result


def annotate_file(annotator: Annotator, input_path: str, output_path: str, *,
                  input_format: str | None = None, output_format: str | None = None,
                  show_progress: bool = False) -> RunSummary:
    """Annotate ``input_path`` into ``output_path`` (``-`` for stdin/stdout)."""
    started = time.perf_counter()
    frame = read_variants(input_path, input_format)
    out, result = annotate_frame(annotator, frame, show_progress=show_progress)
    kind = output_format or ("tsv" if output_path == "-" else guess_format(output_path))
    if kind == "vcf":
        msg = "VCF output is not available yet; write .tsv or .csv"
        raise InputFormatError(msg, path=output_path)
    write_table(out, output_path, sep="," if kind == "csv" else "\t")
    return RunSummary(len(frame), result.counts(), time.perf_counter() - started,
                      annotator.files.release.key,
                      "stdout" if output_path == "-" else str(Path(output_path)))
