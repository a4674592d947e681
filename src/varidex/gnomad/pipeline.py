"""Annotate a variants file end to end: read, look up, add columns, write atomically."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from .annotate import LookupResult, result_frame
from .combine import AnyAnnotator
from .contigs import HG19_CHRM_LENGTH, normalize_chrom
from .errors import BuildMismatchError, InputFormatError
from .formats import guess_format
from .formats.delimited import AtomicOutput, iter_delimited
from .formats.stdin import stdin_format
from .formats.vcf import iter_vcf
from .frames import find_columns, variant_series
from .keys import ABSENT, FOUND, FOUND_NON_PASS, NO_DATA
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


def annotate_frame(annotator: AnyAnnotator, frame: pd.DataFrame, *,
                   show_progress: bool, where: str = "input",
                   progress: Any = None) -> tuple[pd.DataFrame, LookupResult]:
    chrom, pos, ref, alt = variant_series(frame, where=where)
    no_data = check_contigs(annotator, frame.attrs.get("contig_lengths", {}), where)
    try:
        result = annotator.lookup(chrom, pos, ref, alt, show_progress=show_progress,
                                  no_data_chroms=no_data, progress=progress)
    except InputFormatError as exc:
        if exc.path is not None:
            raise
        raise InputFormatError(str(exc), path=where) from None
    added = result_frame(result, release=annotator.release_key, index=frame.index)
    return pd.concat([frame, added], axis=1), result


def _absent_indels(frame: pd.DataFrame) -> int:
    absent = frame["gnomad_status"] == ABSENT
    if not absent.any():
        return 0
    names = find_columns(list(frame.columns))
    rows = frame.loc[absent]
    ref = rows[names["ref_allele"]].astype(str).str.len()
    alt = rows[names["alt_allele"]].astype(str).str.len()
    return int((ref != alt).sum())


def read_ahead(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The same batches, read one ahead by a background thread; its errors are raised
    here, in order. Stopping early stops the thread."""
    slot: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def offer(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                slot.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def produce() -> None:
        try:
            for batch in batches:
                if not offer(("batch", batch)):
                    return
            offer(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            offer(("error", exc))

    thread = threading.Thread(target=produce, name="varidex-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, item = slot.get()
            if kind == "end":
                return
            if kind == "error":
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def annotate_file(annotator: AnyAnnotator, input_path: str, output_path: str, *,
                  input_format: str | None = None, output_format_: str | None = None,
                  show_progress: bool = False, batch_rows: int = BATCH_ROWS) -> RunSummary:
    """Annotate ``input_path`` into ``output_path`` (``-`` for stdin/stdout), in batches."""
    started = time.perf_counter()
    kind = output_format(output_path, output_format_)
    sep = "," if kind == "csv" else "\t"
    counts: Counter[str] = Counter()
    rows = absent_indels = 0
    batches = iter_variants(input_path, input_format, batch_rows=batch_rows)
    # Three stages overlap: a thread reads the next batch and another writes the previous
    # one (pandas' parser and Arrow's CSV writer release the GIL) while this one annotates.
    # At most three batches are in memory; output order is input order.
    with AtomicOutput(output_path) as out, tqdm(
            unit=" variants", unit_scale=True, disable=None if show_progress else True,
            delay=0.5,
            dynamic_ncols=True, desc="gnomAD lookup") as bar, ThreadPoolExecutor(
            1, thread_name_prefix="varidex-writer") as writer:
        pending: Future[None] | None = None
        try:
            for batch in read_ahead(batches):
                annotated, result = annotate_frame(annotator, batch, show_progress=False,
                                                   where=input_path, progress=bar)
                if pending is not None:
                    pending.result()  # the previous batch is written (or its error raised)
                pending = writer.submit(out.write_frame, annotated, sep=sep, header=rows == 0)
                rows += len(batch)
                counts.update(result.counts())
                absent_indels += _absent_indels(annotated)
            if pending is not None:
                pending.result()
        finally:
            if pending is not None and not pending.done():
                wait([pending])  # never close the output under a running write
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
