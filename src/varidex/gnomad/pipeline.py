"""Annotate a variants file end to end: read, look up, add columns, write atomically."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import formats
from .annotate import (
    DERIVED_PREFIXES,
    Annotator,
    LookupResult,
    Planned,
    earlier_columns,
    replaced_text,
    result_columns,
    result_frame,
)
from .combine import AnyAnnotator, CombinedAnnotator
from .contigs import CONTIG_LENGTHS, HG19_CHRM_LENGTH, build_of_length, normalize_chrom
from .errors import BuildMismatchError, ConfigError, InputFormatError, OutputError
from .filtering import PASS_COLUMN, FilterThresholds, pass_filter
from .formats.base import InputBatch
from .formats.consumer import GENOTYPE_FORMATS, iter_genotypes
from .formats.vcf_source import VcfSource
from .formats.vcf_writer import VcfWriter
from .frames import variant_series
from .genotypes import PAIRS, annotate_genotypes, check_build
from .keys import ABSENT, FOUND, FOUND_NON_PASS, NO_DATA, STATUS_CODE, STATUSES
from .problems import RecordProblems
from .provenance import Provenance

logger = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class RunSummary:
    """Counts and timing of one annotation run, for the one-line summary.

    ``unit`` is ``variants`` (one per ALT allele), or ``genotypes`` for a consumer genotype
    file, whose ``counts`` are output rows by genotype status; ``filtered`` rows (records
    for VCF output) were left out by ``--filter``, ``unassessed`` of them for want of a
    verdict."""

    variants: int
    counts: dict[str, int]
    seconds: float
    release: str
    output: str
    unit: str = "variants"
    source: str = ""
    filtered: int = 0
    unassessed: int = 0

    def line(self) -> str:
        c = self.counts
        found = c.get(FOUND, 0) + c.get(FOUND_NON_PASS, 0)
        rate = self.variants / self.seconds if self.seconds > 0 else float("inf")
        tail = (f"{self.seconds:.2f} s ({rate:,.0f} {self.unit}/s); gnomAD {self.release}; "
                f"output {self.output}")
        if self.filtered:
            tail = (f"{self.filtered} left out by --filter ({self.unassessed} could not be "
                    f"assessed); " + tail)
        found_text = (f"{found} found ({c.get(FOUND, 0)} PASS, {c.get(FOUND_NON_PASS, 0)} "
                      "non-PASS)")
        if self.unit == "genotypes":
            return (f"varidex: {self.variants} genotypes ({self.source}): alleles "
                    f"{found_text}, {c.get(ABSENT, 0)} absent, {c.get('no_coverage', 0)} "
                    f"without coverage; positions {c.get('reference', 0)} reference only, "
                    f"{c.get('unknown_ref', 0)} unknown REF, {c.get(NO_DATA, 0)} no data, "
                    f"{c.get('no_call', 0)} no-calls, {c.get('indel_code', 0)} indel codes, "
                    f"{c.get('invalid_genotype', 0)} invalid; {tail}")
        skipped = self.variants - found - c.get(ABSENT, 0) - c.get(NO_DATA, 0)
        return (f"varidex: {self.variants} variants, {found_text}, "
                f"{c.get(ABSENT, 0)} absent, {c.get(NO_DATA, 0)} no data, "
                f"{skipped} skipped; {tail}")


#: Rows read, annotated and written at a time: memory stays flat whatever the input size.
BATCH_ROWS = 250_000


def iter_variants(path: str, fmt: str | None = None, *,
                  batch_rows: int = BATCH_ROWS) -> Iterator[pd.DataFrame]:
    """Batches of a VCF, CSV, TSV or Parquet file of variants (format from ``fmt``, the
    file name, or the first bytes of stdin)."""
    return formats.iter_variants(path, fmt, batch_rows=batch_rows)


def read_variants(path: str, fmt: str | None = None) -> pd.DataFrame:
    """A whole VCF, CSV, TSV or Parquet file of variants as one frame."""
    return formats.read_variants(path, fmt)


def output_format(path: str, fmt: str | None) -> str:
    """The output format of a path: by suffix (``.gz`` allowed after it), TSV for ``-``."""
    return formats.output_format(path, fmt)


def check_contigs(annotator: AnyAnnotator, contig_lengths: dict[str, int],
                  where: str) -> frozenset[str]:
    """Check an input's declared contig lengths against the release's build.

    Every declared chromosome of :data:`~varidex.gnomad.contigs.CONTIG_LENGTHS` (1-22, X, Y,
    MT, under any name :func:`normalize_chrom` knows) whose length is the other build's is a
    :class:`BuildMismatchError` (unless ``allow_ref_mismatch``); a length of neither build
    (a patched or another assembly, a test contig) is left to the REF-base guard. Returns
    the canonical chromosomes to report as ``no_data`` (hg19's chrM, which is not the rCRS
    sequence gnomAD's chrM/MT is on).
    """
    build = annotator.files.release.build
    no_data: set[str] = set()
    other: list[tuple[str, int, str, str]] = []  # name, length, its build, canonical
    for name, length in contig_lengths.items():
        canon = normalize_chrom(name)
        found = build_of_length(canon, length)
        if found is not None and found != build:
            other.append((name, length, found, canon))
        if canon == "MT" and length == HG19_CHRM_LENGTH:
            logger.warning("%s: contig %s has length %d: hg19's chrM (NC_001807), not the rCRS "
                           "sequence of gnomAD; its variants are reported as no_data", where,
                           name, length)
            no_data.add("MT")
    if other and not annotator.allow_ref_mismatch:
        name, length, found, canon = other[0]
        more = (f" (other contigs of {found} length: "
                f"{', '.join(o[0] for o in other[1:6])}{', ...' if len(other) > 6 else ''})"
                if len(other) > 1 else "")
        msg = (f"{where}: the header declares contig {name} with length {length}, which is "
               f"{found}'s chromosome {canon} ({build}'s is {CONTIG_LENGTHS[build][canon]}), "
               f"but gnomAD {annotator.release_key} is {build}{more}; use a gnomAD release "
               "of the input's build, lift the input over, or pass --allow-ref-mismatch")
        raise BuildMismatchError(msg)
    return frozenset(no_data)


def check_output_target(output_path: str, input_path: str, annotator: AnyAnnotator,
                        reads_also: dict[str, str] | None = None) -> None:
    """Refuse an output that is a file the run reads: the input, a gnomAD file, an index of
    one, any file of a store, the reference and its indexes, or ``reads_also`` (path: what
    it is; the config file, the BA1 exception list): replacing it would destroy it."""
    if output_path == "-" or not os.path.lexists(output_path):
        return
    reads: dict[str, str] = dict(reads_also or {})
    if input_path != "-":
        reads.update({input_path: "the input", f"{input_path}.tbi": "the input's index",
                      f"{input_path}.csi": "the input's index"})
    parts = annotator.parts.values() if isinstance(annotator, CombinedAnnotator) else [
        annotator]
    for part in parts:
        for path in part.files.paths.values():
            reads[str(path)] = "a gnomAD file"
            for suffix in (".tbi", ".csi", ".vdx"):
                reads[f"{path}{suffix}"] = "the index of a gnomAD file"
        store = getattr(part, "store", None)
        if store is not None:  # every file of the store folder
            reads.update({str(p): "a file of the store" for p in Path(store.path).iterdir()})
        if part.reference is not None:
            reads[str(part.reference.path)] = "the reference FASTA"
            for suffix in (".fai", ".gzi"):
                reads[f"{part.reference.path}{suffix}"] = "an index of the reference FASTA"
    for path, what in reads.items():
        try:
            same = Path(output_path).samefile(path)
        except (OSError, ValueError):  # not there, or a URL
            continue
        if same:
            msg = (f"is {what} ({path}): writing the output there would destroy it; "
                   "choose another output file")
            raise OutputError(msg, path=output_path)


def lookup_frame(annotator: AnyAnnotator, frame: pd.DataFrame, *, show_progress: bool,
                 where: str = "input", progress: Any = None) -> LookupResult:
    """Look up the variants of ``frame`` (see :func:`annotate_frame`)."""
    chrom, pos, ref, alt = variant_series(frame, where=where)
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


def _planned(annotator: AnyAnnotator, batches: Iterator[InputBatch],
             where: str) -> Iterator[tuple[InputBatch, Planned | None]]:
    """Each batch, with its variants normalized and cut into chunk tasks when the annotator
    can do that apart from the lookup (a single dataset's)."""
    for batch in batches:
        if not isinstance(annotator, Annotator) or not annotator.plans_apart:
            yield batch, None
            continue
        frame = batch.frame
        chrom, pos, ref, alt = variant_series(frame, where=where)
        no_data = check_contigs(annotator, frame.attrs.get("contig_lengths", {}), where)
        with _named(where):
            yield batch, annotator.plan(chrom, pos, ref, alt, no_data_chroms=no_data)


def with_results(annotator: AnyAnnotator, frame: pd.DataFrame, result: LookupResult, *,
                 where: str = "input", prefixes: tuple[str, ...] = DERIVED_PREFIXES,
                 log: bool = True, derived_again: bool = False) -> pd.DataFrame:
    """``frame`` with the ``gnomad_*`` columns of ``result`` added.

    An annotated file annotated again: every earlier column named with one of ``prefixes``
    is dropped first (:func:`~varidex.gnomad.annotate.earlier_columns`), also those this run
    does not give (another dataset's groups, ``gnomad_exomes_*`` of a combined run), and
    the ``acmg_*`` evidence computed from them, so no value of the earlier run is left
    beside this run's. ``log`` says which, at INFO level; ``derived_again``: the evidence is
    computed again after this lookup (``--acmg``).
    """
    added = result_frame(result, release=annotator.release_key, index=frame.index)
    earlier = earlier_columns(frame.columns, prefixes)
    if earlier:
        if log:
            ours = earlier_columns(earlier, ("gnomad_",))
            text = replaced_text(ours, added.columns) if ours else ""
            if len(ours) < len(earlier):  # evidence (acmg_*) from the earlier values
                text += ("; " if text else "") + (
                    f"{len(earlier) - len(ours)} "
                    + "/".join(p + "*" for p in prefixes if p != "gnomad_")
                    + " columns computed from the earlier values, "
                    + ("added again after this lookup" if derived_again else
                       "not computed again (add --acmg for the evidence)"))
            logger.info("%s: re-annotation: dropped the %d columns of an earlier "
                        "annotation: %s", where, len(earlier), text)
        frame = frame.drop(columns=earlier)
    return pd.concat([frame, added], axis=1)


def annotate_frame(annotator: AnyAnnotator, frame: pd.DataFrame, *,
                   show_progress: bool, where: str = "input",
                   progress: Any = None) -> tuple[pd.DataFrame, LookupResult]:
    result = lookup_frame(annotator, frame, show_progress=show_progress, where=where,
                          progress=progress)
    return with_results(annotator, frame, result, where=where), result


def _absent_indels(frame: pd.DataFrame, result: LookupResult) -> int:
    """Absent variants whose REF and ALT (as written in the input) differ in length."""
    absent = np.flatnonzero(result.status_codes() == STATUS_CODE[ABSENT])
    if not len(absent):
        return 0
    _, _, ref, alt = variant_series(frame)
    return int(np.count_nonzero(_text_lengths(ref, absent) != _text_lengths(alt, absent)))


def _text_lengths(values: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The length of ``str()`` of each of ``rows`` of a column (``nan`` for a missing one,
    as ``astype(str)`` writes it)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(values.array, pd.arrays.ArrowStringArray):
        arrow = values.array.__arrow_array__().take(pa.array(rows))
        lengths = pc.fill_null(pc.utf8_length(arrow), len(str(np.nan)))
        out: np.ndarray = np.asarray(lengths.to_numpy(), dtype=np.int64)
        return out
    picked = pd.Series(values.to_numpy(dtype=object)[rows], dtype=object)
    made: np.ndarray = picked.astype(str).str.len().to_numpy(dtype=np.int64)
    return made


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
    if len(columns) != len(frame.columns) or earlier_columns(columns):
        return None  # repeated column names, or an earlier annotation's: see with_results
    for name, canonical in added:
        col, mask = result.data[canonical], result.missing[canonical]
        if mask is not None and col.dtype == np.int64:
            columns[name] = _masked_array(pa.int64(), col, mask)
        elif mask is not None:
            columns[name] = pa.array(col, mask=mask)
        elif col.dtype == object:
            columns[name] = pa.array(col, type=pa.string(), from_pandas=True)
        elif col.dtype == np.float64:
            columns[name] = _masked_array(pa.float64(), col, np.isnan(col))
        else:
            columns[name] = pa.array(col, from_pandas=True)
    codes = result.codes
    if codes is not None and (not len(codes) or int(codes.min()) >= 0):
        columns["gnomad_status"] = pa.array(STATUSES, type=pa.string()).take(
            pa.array(codes))
    else:
        columns["gnomad_status"] = pa.array(result.status, type=pa.string())
    columns["gnomad_release"] = pa.repeat(pa.scalar(release), len(frame))
    return pa.table(columns)


def _masked_array(kind: Any, values: np.ndarray, mask: np.ndarray) -> Any:
    """An Arrow array of a numpy array of fixed-width numbers, null where ``mask``, made
    from the numpy buffer and a validity bitmap (``pa.array(values, mask=mask)`` is the
    same array, built much more slowly)."""
    import pyarrow as pa

    values = np.ascontiguousarray(values)
    nulls = int(np.count_nonzero(mask))
    validity = (pa.py_buffer(np.packbits(~mask, bitorder="little")) if nulls else None)
    return pa.Array.from_buffers(kind, len(values), [validity, pa.py_buffer(values)],
                                 null_count=nulls)


@dataclass
class _Written:
    """What writing one batch counted."""

    absent_indels: int = 0
    filtered: int = 0
    unassessed: int = 0


class _Writer:
    """Builds and writes each annotated batch in a thread while the next one is looked up;
    one batch at a time, in order. Errors surface at the next :meth:`put` or at the end.

    A CSV/TSV output with nothing to add but the gnomAD columns is written as an Arrow table
    built straight from the result's arrays; everything else (VCF, Parquet, the ACMG
    ``transform``, filter thresholds) goes through the annotated data frame."""

    def __init__(self, annotator: AnyAnnotator, out: Any, *, where: str,
                 transform: Callable[[pd.DataFrame], pd.DataFrame] | None,
                 thresholds: FilterThresholds | None, keep_passing: bool,
                 by_record: bool, prefixes: tuple[str, ...] = DERIVED_PREFIXES) -> None:
        self.annotator, self.out, self.where = annotator, out, where
        self.transform, self.thresholds = transform, thresholds
        self.prefixes = prefixes
        self.logged = False  # the earlier annotation's columns dropped are logged once
        self.keep_passing, self.by_record = keep_passing, by_record
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="varidex-write")
        self.pending: Future[_Written] | None = None
        self.total = _Written()

    def _fast(self, frame: pd.DataFrame, result: LookupResult) -> bool:
        out = self.out
        if self.transform is not None or self.thresholds is not None or not isinstance(
                out, formats.delimited.DelimitedWriter):
            return False
        table = _arrow_table(frame, result, self.annotator.release_key)
        return table is not None and out.write_arrow(table)

    def _write(self, batch: InputBatch, result: LookupResult) -> _Written:
        frame = batch.frame
        done = _Written(absent_indels=_absent_indels(frame, result))
        if self._fast(frame, result):
            return done
        annotated = with_results(self.annotator, frame, result, where=self.where,
                                 prefixes=self.prefixes, log=not self.logged,
                                 derived_again=self.transform is not None)
        self.logged = True
        if self.transform is not None:
            annotated = self.transform(annotated)
        keep = None
        if self.thresholds is not None:
            annotated[PASS_COLUMN] = verdict = pass_filter(annotated, self.thresholds)
            if self.keep_passing:
                keep = verdict.fillna(False).to_numpy(dtype=bool)
                done.unassessed = _unassessed(verdict, annotated, by_record=self.by_record)
                if not self.by_record:
                    done.filtered = int((~keep).sum())
        self.out.write(annotated, batch, keep=keep)
        return done

    def put(self, batch: InputBatch, result: LookupResult) -> None:
        self.wait()
        self.pending = self.pool.submit(self._write, batch, result)

    def wait(self) -> None:
        if self.pending is not None:
            pending, self.pending = self.pending, None
            done = pending.result()
            self.total.absent_indels += done.absent_indels
            self.total.filtered += done.filtered
            self.total.unassessed += done.unassessed

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def annotate_file(annotator: AnyAnnotator, input_path: str, output_path: str, *,
                  input_format: str | None = None, output_format_: str | None = None,
                  show_progress: bool = False, batch_rows: int = BATCH_ROWS,
                  command: str | None = None, thresholds: FilterThresholds | None = None,
                  keep_passing: bool = False,
                  genotype_build: str | None = None, strict: bool = False,
                  transform: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
                  transform_prefix: str | None = None,
                  reads_also: dict[str, str] | None = None) -> RunSummary:
    """Annotate ``input_path`` into ``output_path`` (``-`` for stdin/stdout), in batches.

    Formats come from ``input_format``/``output_format_`` or the names (see
    :mod:`varidex.gnomad.formats`); consumer genotype files are told from their header and
    annotated per observed allele (:mod:`varidex.gnomad.genotypes`). ``thresholds`` add a
    ``gnomad_pass_filter`` column; ``keep_passing`` writes only the rows (VCF: records with
    an ALT) that pass. ``command`` goes into the output's provenance. Records with a
    non-DNA allele or an unknown contig get a status and (the first few) a warning; with
    ``strict`` the first one is an error and nothing is written. ``transform``, if given,
    is applied to each annotated batch before it is written (for example the ACMG evidence
    step, which adds columns); ``transform_prefix`` names the prefix of the columns it adds
    (``acmg_``).

    Re-annotation: the input's ``gnomad_*`` columns (and ``transform_prefix`` ones) of an
    earlier annotation are dropped, and for VCF output its ``gnomad_*`` INFO fields, their
    ``##INFO`` lines and its ``##varidex=`` line; this run's replace them.
    """
    started = time.perf_counter()
    if input_path != "-" and Path(input_path).is_dir():
        msg = "is a directory, not a variants file"
        raise InputFormatError(msg, path=input_path)
    check_output_target(output_path, input_path, annotator, reads_also)
    in_kind = formats.input_format(input_path, input_format)
    out_kind = formats.output_format(output_path, output_format_)
    if keep_passing and thresholds is None:
        msg = "--filter needs filter thresholds (max_af, min_ac) in the --config file"
        raise ConfigError(msg)
    if thresholds is not None:
        thresholds.check_groups(_groups(annotator), annotator.release_key)
        stored = getattr(annotator, "columns", None)  # a store's (it may hold fewer)
        lacking = [f for f in thresholds.fields() if stored is not None and f not in stored]
        if lacking:
            msg = (f"the filter thresholds read the gnomAD fields {', '.join(lacking)}, which "
                   "this store was built without (--fields); rebuild it with them, or "
                   "annotate from the gnomAD files")
            raise ConfigError(msg)
    provenance = Provenance.of(annotator, command)
    if in_kind in GENOTYPE_FORMATS:
        if transform is not None:
            msg = (f"the ACMG evidence (--acmg) is given for variants (VCF, CSV, TSV, "
                   f"Parquet), not for a {in_kind} genotype file; annotate without --acmg, "
                   "or list the alleles of interest as variants")
            raise ConfigError(msg)
        return _annotate_genotype_file(
            annotator, input_path, output_path, in_kind, out_kind, provenance=provenance,
            show_progress=show_progress, batch_rows=batch_rows, thresholds=thresholds,
            keep_passing=keep_passing, genotype_build=genotype_build, started=started)
    counts: Counter[str] = Counter()
    rows = 0
    problems = RecordProblems(input_path, strict=strict)
    header = None
    source: VcfSource | None = None
    batches: Iterator[InputBatch]
    if out_kind == "vcf":
        if in_kind != "vcf":
            msg = (f"VCF output needs VCF input (each record is written back with gnomAD "
                   f"INFO fields), and this input is {in_kind}; write .tsv, .csv or .parquet")
            raise InputFormatError(msg, path=input_path)
        source = VcfSource(input_path, batch_rows=batch_rows)
        header = source.header
        batches = source.batches()
    else:
        batches = (InputBatch(f) for f in formats.iter_variants(input_path, in_kind,
                                                                batch_rows=batch_rows))
    try:
        with formats.open_writer(out_kind, output_path, provenance=provenance,
                                 vcf_header=header) as out, tqdm(
                unit=" variants", unit_scale=True, disable=None if show_progress else True,
                delay=0.5, dynamic_ncols=True, desc="gnomAD lookup") as bar:
            prefixes = tuple(dict.fromkeys((*DERIVED_PREFIXES, *(
                (transform_prefix,) if transform is not None and transform_prefix else ()))))
            writer = _Writer(annotator, out, where=input_path, transform=transform,
                             thresholds=thresholds, keep_passing=keep_passing,
                             by_record=source is not None, prefixes=prefixes)
            inputs = prefetched(_planned(annotator, batches, input_path))
            try:
                for batch, planned in inputs:
                    if planned is None:
                        result = lookup_frame(annotator, batch.frame, show_progress=False,
                                              where=input_path, progress=bar)
                    else:
                        assert isinstance(annotator, Annotator)
                        with _named(input_path):
                            result = annotator.run(planned, progress=bar)
                    problems.check(batch.frame, result.status, rows_before=rows)
                    writer.put(batch, result)
                    rows += len(batch.frame)
                    counts.update(result.counts())
                writer.wait()
            finally:
                inputs.close()  # waits for a batch being read
                writer.close()  # before the output is renamed, or removed on an error
    finally:
        if source is not None:
            source.close()
    problems.finish()
    filtered, unassessed = writer.total.filtered, writer.total.unassessed
    if keep_passing and isinstance(out, VcfWriter):
        filtered = out.records_read - out.records_written
    _warn_at_end(annotator, writer.total.absent_indels)
    return RunSummary(rows, dict(counts), time.perf_counter() - started,
                      annotator.release_key,
                      "stdout" if output_path == "-" else str(Path(output_path)),
                      filtered=filtered, unassessed=unassessed)


def _unassessed(verdict: pd.Series, annotated: pd.DataFrame, *, by_record: bool) -> int:
    """Rows without a verdict; for VCF output, records none of whose ALTs has one."""
    missing = verdict.isna()
    if not by_record:
        return int(missing.sum())
    return int(missing.groupby(annotated["vcf_record"].to_numpy()).all().sum())


def _groups(annotator: AnyAnnotator) -> tuple[str, ...]:
    parts = getattr(annotator, "parts", {"": annotator})
    return tuple(dict.fromkeys(g for a in parts.values() for g in a.files.release.groups))


def _warn_at_end(annotator: AnyAnnotator, absent_indels: int) -> None:
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


def _annotate_genotype_file(annotator: AnyAnnotator, input_path: str, output_path: str,
                            in_kind: str, out_kind: str, *, provenance: Provenance,
                            show_progress: bool, batch_rows: int,
                            thresholds: FilterThresholds | None, keep_passing: bool,
                            genotype_build: str | None, started: float) -> RunSummary:
    if out_kind == "vcf":
        msg = (f"a {in_kind} genotype file gives no VCF records to write back; write .tsv, "
               ".csv or .parquet")
        raise InputFormatError(msg, path=input_path)
    # Twelve lookups per genotyped position: batches of genotypes 12 times smaller keep
    # the lookups of one batch, and the memory they take, at batch_rows.
    header, batches = iter_genotypes(input_path, in_kind,
                                     batch_rows=max(1, batch_rows // len(PAIRS)))
    build = check_build(header, annotator.files.release.build, annotator.release_key,
                        genotype_build=genotype_build, where=input_path)
    counts: Counter[str] = Counter()
    genotypes = filtered = unassessed = 0
    with formats.open_writer(out_kind, output_path, provenance=provenance) as out, tqdm(
            unit=" lookups", unit_scale=True, disable=None if show_progress else True,
            delay=0.5, dynamic_ncols=True, desc="gnomAD lookup") as bar:
        for frame in batches:
            rows, found = annotate_genotypes(annotator, frame, where=input_path, progress=bar)
            keep = None
            if thresholds is not None:
                rows[PASS_COLUMN] = pass_filter(rows, thresholds)
                if keep_passing:
                    keep = rows[PASS_COLUMN].fillna(False).to_numpy(dtype=bool)
                    filtered += int((~keep).sum())
                    unassessed += int(rows[PASS_COLUMN].isna().sum())
            out.write(rows, keep=keep)
            counts.update(found)
            genotypes += len(frame)
    if counts["conflicting_ref"]:
        logger.warning("%d genotyped positions have gnomAD SNV records with different REF "
                       "bases; they are reported as unknown_ref", counts["conflicting_ref"])
    return RunSummary(genotypes, dict(counts), time.perf_counter() - started,
                      annotator.release_key,
                      "stdout" if output_path == "-" else str(Path(output_path)),
                      unit="genotypes", source=f"{header.label}, {build}",
                      filtered=filtered, unassessed=unassessed)


def lookup_ids(annotator: AnyAnnotator, ids: list[str], *,
               show_progress: bool = False) -> tuple[pd.DataFrame, LookupResult]:
    """Look up gnomAD variant IDs (``1-55505647-G-T``, ``chr1:55516888:G:GA``): the frame
    of :func:`varidex.gnomad.variant_ids.parse_ids` with the ``gnomad_*`` columns."""
    from .variant_ids import parse_ids

    return annotate_frame(annotator, parse_ids(ids), show_progress=show_progress,
                          where="variant ID")
