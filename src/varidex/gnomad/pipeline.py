"""Annotate a variants file end to end: read, look up, add columns, write atomically."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from tqdm import tqdm

from .annotate import Annotator, LookupResult, Planned, result_columns, result_frame
from .combine import AnyAnnotator
from .contigs import HG19_CHRM_LENGTH, normalize_chrom
from .errors import BuildMismatchError, InputFormatError
from .formats import guess_format
from .formats.delimited import AtomicOutput, iter_delimited
from .formats.stdin import stdin_format
from .formats.vcf import iter_vcf
from .frames import variant_columns
from .keys import ABSENT, FOUND, FOUND_NON_PASS, NO_DATA
from .releases import CHR1_LENGTH

logger = logging.getLogger(__name__)
T = TypeVar("T")


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
                f"({self.counts.get(FOUND, 0)} PASS, {self.counts.get(FOUND_NON_PASS, 0)} "
                "non-PASS), "
                f"{self.counts.get('absent', 0)} absent, {self.counts.get(NO_DATA, 0)} no data, "
                f"{skipped} skipped; {self.seconds:.2f} s ({rate:,.0f} variants/s); "
                f"gnomAD {self.release}; output {self.output}")


#: Rows read, annotated and written at a time: memory stays flat whatever the input size.
BATCH_ROWS = 250_000

OUTPUT_SUFFIXES = {".tsv": "tsv", ".txt": "tsv", ".tab": "tsv", ".csv": "csv"}
NOT_YET = (".vcf", ".bcf", ".parquet", ".xlsx", ".xls", ".json")


def iter_variants(path: str, fmt: str | None = None, *,
                  batch_rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """Batches of a VCF, CSV or TSV of variants (format from ``fmt`` or the file name)."""
    kind = fmt or (stdin_format() if path == "-" else guess_format(path))
    if path != "-" and Path(path).is_dir():
        msg = "is a directory, not a variants file"
        raise InputFormatError(msg, path=path)
    if kind == "vcf":
        return iter_vcf(path, batch_rows=batch_rows)
    if kind in ("csv", "tsv"):
        return iter_delimited(path, sep="," if kind == "csv" else "\t", batch_rows=batch_rows)
    msg = f"unknown input format {kind!r}; use vcf, csv or tsv"
    raise InputFormatError(msg, path=path)


def read_variants(path: str, fmt: str | None = None) -> pd.DataFrame:
    """A whole VCF, CSV or TSV of variants as one frame."""
    batches = list(iter_variants(path, fmt))
    frame = pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0]
    frame.attrs = dict(batches[0].attrs)
    out: pd.DataFrame = frame
    return out


def output_format(path: str, fmt: str | None) -> str:
    """``tsv`` or ``csv`` for an output path (``.gz`` allowed after either)."""
    if fmt:
        return fmt
    if path == "-":
        return "tsv"
    name = path.lower().removesuffix(".gz").removesuffix(".bgz")
    suffix = Path(name).suffix
    if suffix in NOT_YET:
        msg = f"{suffix} output is not available; write .tsv or .csv (optionally .gz)"
        raise InputFormatError(msg, path=path)
    return OUTPUT_SUFFIXES.get(suffix, "tsv")


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


def lookup_frame(annotator: AnyAnnotator, frame: pd.DataFrame, *, show_progress: bool,
                 where: str = "input", progress: Any = None) -> LookupResult:
    """Look up the variants of ``frame`` (see :func:`annotate_frame`)."""
    chrom, pos, ref, alt = variant_columns(frame, where=where)
    no_data = check_contigs(annotator, frame.attrs.get("contig_lengths", {}), where)
    with _named(where):
        return annotator.lookup(chrom, pos, ref, alt, show_progress=show_progress,
                                no_data_chroms=no_data, progress=progress)


@contextmanager
def _named(where: str) -> Iterator[None]:
    """Input errors raised inside name the input."""
    try:
        yield
    except InputFormatError as exc:
        if exc.path is not None:
            raise
        raise InputFormatError(str(exc), path=where) from None


def _planned(annotator: AnyAnnotator, batches: Iterator[pd.DataFrame],
             where: str) -> Iterator[tuple[pd.DataFrame, Planned | None]]:
    """Each batch, with its variants normalized and cut into chunk tasks when the annotator
    can do that apart from the lookup (a single dataset's)."""
    for batch in batches:
        if not isinstance(annotator, Annotator):
            yield batch, None
            continue
        chrom, pos, ref, alt = variant_columns(batch, where=where)
        no_data = check_contigs(annotator, batch.attrs.get("contig_lengths", {}), where)
        with _named(where):
            yield batch, annotator.plan(chrom, pos, ref, alt, no_data_chroms=no_data)


def with_results(annotator: AnyAnnotator, frame: pd.DataFrame,
                 result: LookupResult) -> pd.DataFrame:
    """``frame`` with the ``gnomad_*`` columns of ``result`` added."""
    added = result_frame(result, release=annotator.release_key, index=frame.index)
    return pd.concat([frame, added], axis=1)


def annotate_frame(annotator: AnyAnnotator, frame: pd.DataFrame, *,
                   show_progress: bool, where: str = "input",
                   progress: Any = None) -> tuple[pd.DataFrame, LookupResult]:
    result = lookup_frame(annotator, frame, show_progress=show_progress, where=where,
                          progress=progress)
    return with_results(annotator, frame, result), result


def _absent_indels(frame: pd.DataFrame, result: LookupResult) -> int:
    absent = result.status == ABSENT
    if not absent.any():
        return 0
    _, _, ref, alt = variant_columns(frame[absent])
    lengths = pd.Series(ref, dtype=object).astype(str).str.len().to_numpy()
    return int(np.count_nonzero(lengths != pd.Series(alt, dtype=object).astype(str).str.len(
        ).to_numpy()))


def prefetched(items: Iterator[T]) -> Generator[T, None, None]:
    """The items of ``items``, each next one produced in a thread while the caller works on
    the current one (an exception is raised where the caller takes that item)."""
    with ThreadPoolExecutor(1, thread_name_prefix="varidex-read") as pool:
        future = pool.submit(next, items, None)
        while True:
            item = future.result()
            if item is None:
                return
            future = pool.submit(next, items, None)
            yield item


def _arrow_table(frame: pd.DataFrame, result: LookupResult, release: str) -> Any:
    """``frame`` with the columns :func:`result_frame` adds, as an Arrow table built straight
    from the result's arrays (no data frame in between); None if Arrow cannot take the
    frame's columns."""
    import pyarrow as pa

    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    columns = dict(zip(table.column_names, table.columns, strict=True))
    added = result_columns(result)
    names = {n for n, _ in added} | {"gnomad_status", "gnomad_release"}
    if len(columns) != len(frame.columns) or names & columns.keys():
        return None  # repeated column names: the data frame keeps each
    for name, canonical in added:
        col, mask = result.data[canonical], result.missing[canonical]
        if mask is not None:
            columns[name] = pa.array(col, mask=mask)
        elif col.dtype == object:
            columns[name] = pa.array(col, type=pa.string(), from_pandas=True)
        else:
            columns[name] = pa.array(col, from_pandas=True)
    columns["gnomad_status"] = pa.array(result.status, type=pa.string())
    columns["gnomad_release"] = pa.repeat(pa.scalar(release), len(frame))
    return pa.table(columns)


class _Writer:
    """Builds and writes each annotated batch in a thread while the next one is looked up;
    one batch at a time, in order. Errors surface at the next :meth:`put` or at the end."""

    def __init__(self, annotator: AnyAnnotator, out: AtomicOutput, sep: str) -> None:
        self.annotator, self.out, self.sep = annotator, out, sep
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="varidex-write")
        self.pending: Future[int] | None = None
        self.absent_indels = 0

    def _write(self, frame: pd.DataFrame, result: LookupResult, header: bool) -> int:
        table = _arrow_table(frame, result, self.annotator.release_key)
        if table is None or not self.out.write_arrow(table, sep=self.sep, header=header):
            self.out.write_frame(with_results(self.annotator, frame, result), sep=self.sep,
                                 header=header)
        return _absent_indels(frame, result)

    def put(self, frame: pd.DataFrame, result: LookupResult, *, header: bool) -> None:
        self.wait()
        self.pending = self.pool.submit(self._write, frame, result, header)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.absent_indels += pending.result()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def annotate_file(annotator: AnyAnnotator, input_path: str, output_path: str, *,
                  input_format: str | None = None, output_format_: str | None = None,
                  show_progress: bool = False, batch_rows: int = BATCH_ROWS) -> RunSummary:
    """Annotate ``input_path`` into ``output_path`` (``-`` for stdin/stdout), in batches.

    Three batches are in hand at most: the next one is read and planned, and the previous
    one written, in threads, while the current one is looked up."""
    started = time.perf_counter()
    kind = output_format(output_path, output_format_)
    sep = "," if kind == "csv" else "\t"
    counts: Counter[str] = Counter()
    rows = 0
    batches = iter_variants(input_path, input_format, batch_rows=batch_rows)
    with AtomicOutput(output_path) as out, tqdm(
            unit=" variants", unit_scale=True, disable=None if show_progress else True,
            delay=0.5,
            dynamic_ncols=True, desc="gnomAD lookup") as bar:
        writer = _Writer(annotator, out, sep)
        inputs = prefetched(_planned(annotator, batches, input_path))
        try:
            for batch, planned in inputs:
                if planned is None:
                    result = lookup_frame(annotator, batch, show_progress=False,
                                          where=input_path, progress=bar)
                else:
                    assert isinstance(annotator, Annotator)
                    with _named(input_path):
                        result = annotator.run(planned, progress=bar)
                writer.put(batch, result, header=rows == 0)
                rows += len(batch)
                counts.update(result.counts())
            writer.wait()
        finally:
            inputs.close()  # waits for a batch being read
            writer.close()  # before the output is renamed, or removed on an error
    absent_indels = writer.absent_indels
    if absent_indels and getattr(annotator, "reference", None) is None:
        logger.warning("%d indel(s) absent from gnomAD; gnomAD's indels are left-aligned, "
                       "so an indel written further right in a repeat is missed without "
                       "--reference FASTA", absent_indels)
    duplicates = sum(a.totals["duplicate_gnomad_keys"]
                     for a in getattr(annotator, "parts", {"": annotator}).values())
    if duplicates:
        logger.warning("%d gnomAD records repeated an allele already seen at the same "
                       "position (after normalization); the first record's values were used",
                       duplicates)
    return RunSummary(rows, dict(counts), time.perf_counter() - started,
                      annotator.release_key,
                      "stdout" if output_path == "-" else str(Path(output_path)))
