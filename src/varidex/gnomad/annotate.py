"""Annotate many variants at once: normalize, plan chunks, run them, place results by row.

Results are placed by the caller's row number, never by a merge on coordinates, so
duplicate input rows stay duplicates and input order is kept.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from tqdm import tqdm

from .cluster import DaskExecutor
from .contigs import REFSEQ_BUILD, contig_rank, normalize_chrom
from .discovery import ReleaseFiles, discover
from .engine import (
    DEFAULT_CHUNK_SIZE,
    ChunkResult,
    ChunkTask,
    gap_for_index,
    plan_block_chunks,
    plan_chunks,
    remember_block_index,
)
from .errors import BuildMismatchError
from .fields import FieldSpec, column_kind, new_column
from .keys import NO_DATA, STATUS_CODE, STATUSES
from .normalize import LOOKED_UP, Batch, Column, normalize_batch
from .parallel import Executor, ProcessExecutor, SerialExecutor, resolve_workers
from .reference import Reference
from .variant_ids import ID_COLUMNS

logger = logging.getLogger(__name__)

#: Batches smaller than this run in this process, whatever ``max_workers`` says.
PARALLEL_THRESHOLD = 100

#: Build guard: stop when more than this share of at least MIN_COLOCATED input variants
#: that sit where a gnomAD record starts disagree with gnomAD's REF base.
MAX_REF_MISMATCH_SHARE = 0.05
MIN_COLOCATED = 20


@dataclass
class LookupResult:
    """Canonical values for each query row, in input order.

    ``data`` holds typed columns (float64 with NaN, int64, or object for text) and
    ``missing`` the mask of int columns; :attr:`values` gives the same as object arrays with
    None for missing values. ``codes``, when given, are the statuses as int8 indices into
    :data:`~varidex.gnomad.keys.STATUSES` (``status`` is their text).
    """

    columns: tuple[str, ...]
    status: np.ndarray
    data: dict[str, np.ndarray]
    missing: dict[str, np.ndarray | None]
    seconds: float = 0.0
    codes: np.ndarray | None = None

    @classmethod
    def from_codes(cls, columns: tuple[str, ...], codes: np.ndarray,
                   data: dict[str, np.ndarray], missing: dict[str, np.ndarray | None],
                   seconds: float = 0.0) -> LookupResult:
        """A result whose statuses are given as int8 indices into ``STATUSES``."""
        return cls(columns, STATUS_TEXT[codes], data, missing, seconds, codes)

    def status_codes(self) -> np.ndarray:
        """The statuses as int8 indices into ``STATUSES`` (-1 for a text not among them)."""
        if self.codes is not None:
            return self.codes
        out = np.full(len(self.status), -1, dtype=np.int8)
        for code, text in enumerate(STATUSES):
            out[self.status == text] = code
        return out

    @classmethod
    def from_objects(cls, columns: tuple[str, ...], status: np.ndarray,
                     values: dict[str, np.ndarray], seconds: float = 0.0) -> LookupResult:
        data: dict[str, np.ndarray] = {}
        missing: dict[str, np.ndarray | None] = {}
        for name in columns:
            col = values[name]
            none = np.array([v is None for v in col], dtype=bool)
            kind = column_kind(name)
            if kind == "str":
                data[name], missing[name] = col, None
            elif kind == "int":
                data[name] = np.where(none, 0, col).astype(np.int64)
                missing[name] = none
            else:
                data[name] = np.where(none, np.nan, col).astype(np.float64)
                missing[name] = None
        return cls(columns, status, data, missing, seconds)

    @cached_property
    def values(self) -> dict[str, np.ndarray]:
        """Object arrays, None where gnomAD gives no value."""
        out: dict[str, np.ndarray] = {}
        for name in self.columns:
            col = self.data[name].astype(object)
            mask = self.missing[name]
            if mask is not None:
                col[mask] = None
            elif col.dtype == object and self.data[name].dtype.kind == "f":
                col[np.isnan(self.data[name])] = None
            out[name] = col
        return out

    def counts(self) -> dict[str, int]:
        if self.codes is None:
            c = Counter(self.status.tolist())
            return {s: c.get(s, 0) for s in STATUSES}
        n = np.bincount(self.codes[self.codes >= 0], minlength=len(STATUSES))
        return {s: int(n[i]) for i, s in enumerate(STATUSES)}


#: The text of each status code; None for -1 (a row given no status).
STATUS_TEXT = np.array([*STATUSES, None], dtype=object)


def place_results(columns: tuple[str, ...], kinds: tuple[str, ...], codes: np.ndarray,
                  results: list[ChunkResult]
                  ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """The typed columns of a batch from its chunk results (in any order), and their
    status codes set in ``codes``: the results are put in row order and each column is
    placed with one numpy step (none at all when the results cover every row in order)."""
    n = len(codes)
    results = sorted((r for r in results if len(r.rows)), key=lambda r: int(r.rows[0]))
    data: dict[str, np.ndarray] = {}
    missing: dict[str, np.ndarray | None] = {}
    if not results:
        for name, kind in zip(columns, kinds, strict=True):
            data[name], missing[name] = new_column(kind, n)
        return data, missing
    rows = np.concatenate([r.rows for r in results])
    codes[rows] = np.concatenate([r.status for r in results])
    every = len(rows) == n and int(rows[0]) == 0 and bool(np.all(np.diff(rows) == 1))
    for c, (name, kind) in enumerate(zip(columns, kinds, strict=True)):
        values = np.concatenate([r.data[c] for r in results])
        mask = None if kind != "int" else np.concatenate(
            [np.zeros(len(r.rows), dtype=bool) if r.missing[c] is None else r.missing[c]
             for r in results])
        if every:
            blank, _ = new_column(kind, 0)
            data[name], missing[name] = values.astype(blank.dtype, copy=False), mask
            continue
        data[name], missing[name] = new_column(kind, n)
        data[name][rows] = values
        target = missing[name]
        if target is not None and mask is not None:
            target[rows] = mask
    return data, missing


@dataclass
class Planned:
    """Variants normalized and cut into chunk tasks (see :meth:`Annotator.plan`)."""

    codes: np.ndarray  # int8: the skip or no_data status of each row, -1 if looked up
    tasks: list[ChunkTask]
    started: float


@dataclass
class Annotator:
    """Looks variants up in one release's files. Keep one per release and reuse it."""

    files: ReleaseFiles
    max_workers: int | None = None
    max_gap: int | None = None  # None: one index bin (1 kb for varidex's CSI, 16 kb for .tbi)
    chunk_size: int = DEFAULT_CHUNK_SIZE
    start_method: str | None = None
    reference: Reference | None = None
    allow_ref_mismatch: bool = False
    #: a Dask scheduler address (tcp://host:8786) or a dask.distributed.Client: chunks run
    #: on that cluster instead of the local process pool (max_workers is then not used)
    scheduler: Any = None
    totals: Counter[str] = field(default_factory=Counter)
    _pool: ProcessExecutor | None = None
    _dask: DaskExecutor | None = None
    #: :meth:`plan` and :meth:`run` split :meth:`lookup` (a subclass that looks up in
    #: another way sets this False, and pipelines call its :meth:`lookup`)
    plans_apart: ClassVar[bool] = True

    @classmethod
    def open(cls, gnomad_dir: str | Path, *, version: str | None = "r2.1.1",
             dataset: str = "exomes", auto_index: bool = True,
             max_workers: int | None = None, reference: str | Path | None = None,
             **options: Any) -> Annotator:
        files = discover(gnomad_dir, version=version, dataset=dataset, auto_index=auto_index)
        resolve_workers(max_workers)
        ref = Reference(reference) if reference is not None else None
        annotator = cls(files, max_workers, reference=ref, **options)
        if annotator.scheduler is not None:
            annotator._cluster()  # connect now: a wrong address fails before any work
        return annotator

    @property
    def release_key(self) -> str:
        return self.files.release.key

    @cached_property
    def spec(self) -> FieldSpec:
        return FieldSpec.from_files(self.files)

    @property
    def workers(self) -> int:
        if self.scheduler is not None:
            return self._cluster().workers
        return resolve_workers(self.max_workers)

    def _cluster(self) -> DaskExecutor:
        if self._dask is None:
            self._dask = DaskExecutor(self.scheduler)
        return self._dask

    def _executor(self, n: int) -> Executor:
        if n < PARALLEL_THRESHOLD:
            return SerialExecutor()
        if self.scheduler is not None:
            return self._cluster()
        if self.workers == 1:
            return SerialExecutor()
        if self._pool is None or self._pool.workers != self.workers:
            self._pool = ProcessExecutor(self.workers, start_method=self.start_method)
        return self._pool

    def abort(self) -> None:
        """After an interruption: stop the worker processes without waiting, then close."""
        if self._pool is not None:
            self._pool.abort()
            self._pool = None
        self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._dask is not None:
            self._dask.close()
            self._dask = None
        if self.reference is not None:
            self.reference.close()
            self.reference = None
        SerialExecutor().close()

    def lookup(self, chrom: Column, pos: Column, ref: Column, alt: Column, *,
               show_progress: bool = False, no_data_chroms: frozenset[str] = frozenset(),
               progress: Any = None) -> LookupResult:
        """Look up parallel sequences of variants (1-based positions).

        ``no_data_chroms`` are canonical chromosomes to report as ``no_data`` whatever the
        release holds (an input's hg19 chrM, which is not gnomAD's rCRS sequence).
        ``progress``: a tqdm bar to advance instead of showing one of this call's own.
        """
        planned = self.plan(chrom, pos, ref, alt, no_data_chroms=no_data_chroms)
        return self.run(planned, show_progress=show_progress, progress=progress)

    def plan(self, chrom: Column, pos: Column, ref: Column,
             alt: Column, *,
             no_data_chroms: frozenset[str] = frozenset()) -> Planned:
        """The first half of :meth:`lookup`: normalize the variants and cut them into chunk
        tasks. Reads no gnomAD record, so it can run (in a thread) while :meth:`run` works
        on an earlier batch."""
        started = time.perf_counter()
        codes = np.full(len(chrom), LOOKED_UP, dtype=np.int8)
        tasks = self._plan(chrom, pos, ref, alt, codes, self.spec, no_data_chroms)
        return Planned(codes, tasks, started)

    def run(self, planned: Planned, *, show_progress: bool = False,
            progress: Any = None) -> LookupResult:
        """The second half of :meth:`lookup`: run the chunk tasks, place their results."""
        n = len(planned.codes)
        spec = self.spec
        codes, tasks = planned.codes, planned.tasks
        colocated = mismatched = 0
        total = sum(len(t.pos) for t in tasks)
        executor = self._executor(n)
        workers = 1 if isinstance(executor, SerialExecutor) else self.workers
        unit = max(200, min(20_000, total // (8 * workers) or 1))
        hide = None if show_progress and progress is None else True
        results: list[ChunkResult] = []
        with tqdm(total=total, unit=" variants", unit_scale=True, disable=hide, delay=0.5,
                  dynamic_ncols=True, desc="gnomAD lookup") as own:
            bar = own if progress is None else progress
            for res in executor.run(tasks, unit_queries=unit):
                results.append(res)
                self.totals["records_read"] += res.records_read
                self.totals["duplicate_gnomad_keys"] += res.duplicates
                colocated += res.colocated
                mismatched += res.ref_mismatch
                bar.update(len(res.rows))
        self._check_build(colocated, mismatched)
        data, missing = place_results(spec.columns, spec.column_kinds, codes, results)
        result = LookupResult.from_codes(spec.columns, codes, data, missing,
                                         time.perf_counter() - planned.started)
        for s, k in result.counts().items():
            self.totals[s] += k
        self.totals["looked_up"] += n
        return result

    def _check_build(self, colocated: int, mismatched: int) -> None:
        self.totals["ref_colocated"] += colocated
        self.totals["ref_mismatch"] += mismatched
        if self.allow_ref_mismatch or colocated < MIN_COLOCATED:
            return
        if mismatched > MAX_REF_MISMATCH_SHARE * colocated:
            rel = self.files.release
            msg = (f"{mismatched} of {colocated} input variants at positions where gnomAD "
                   f"{rel.key} ({rel.build}) has records disagree with gnomAD's REF base: the "
                   f"input is probably not on {rel.build}. Use the gnomAD release of the "
                   "input's build (r2.1.1 for GRCh37, v3/v4 for GRCh38), lift the input "
                   "over, or pass --allow-ref-mismatch / allow_ref_mismatch=True to go on")
            raise BuildMismatchError(msg)

    def _plan(self, chrom: Column, pos: Column, ref: Column, alt: Column,
              codes: np.ndarray, spec: FieldSpec,
              no_data_chroms: frozenset[str]) -> list[ChunkTask]:
        batch, groups = self._prepare(chrom, pos, ref, alt, codes, no_data_chroms)
        tasks: list[ChunkTask] = []
        for canon, rows in groups:
            tasks.extend(self._chunk_tasks(canon, rows, batch, spec))
        return tasks

    def _prepare(self, chrom: Column, pos: Column, ref: Column, alt: Column,
                 codes: np.ndarray, no_data_chroms: frozenset[str]
                 ) -> tuple[Batch, list[tuple[str, np.ndarray]]]:
        """Normalize the queries, set skip and ``no_data`` status codes (int8 indices into
        ``STATUSES``, -1 where looked up), left-align indels (with a reference); return the
        batch and the rows to look up per chromosome."""
        build = self.files.release.build
        batch = normalize_batch(chrom, pos, ref, alt, lambda c: self._chrom(c, build))
        codes[:] = batch.codes
        looked_up = batch.codes == LOOKED_UP
        # Rows by canonical chromosome: one stable sort of the chromosome codes.
        names, index = np.unique(batch.chrom_names, return_inverse=True)
        of_row = index[batch.chrom_codes]
        rows_up = np.flatnonzero(looked_up)
        order = rows_up[np.argsort(of_row[rows_up], kind="stable")]
        bounds = np.flatnonzero(np.diff(of_row[order])) + 1
        by_canon = {str(names[of_row[part[0]]]): part
                    for part in np.split(order, bounds) if len(part)}
        groups: list[tuple[str, np.ndarray]] = []
        for canon in sorted(by_canon, key=contig_rank):
            rows = by_canon[canon]
            if canon not in self.files.paths or canon in no_data_chroms:
                codes[rows] = STATUS_CODE[NO_DATA]
                continue
            if self.reference is not None:
                for i in rows:
                    if len(batch.ref[i]) != len(batch.alt[i]):
                        batch.pos[i], batch.ref[i], batch.alt[i] = self._left_align(
                            canon, int(batch.pos[i]), batch.ref[i], batch.alt[i])
            groups.append((canon, rows))
        return batch, groups

    def _chrom(self, name: object, build: str) -> str:
        """Canonical chromosome; a RefSeq accession of another build maps to nothing."""
        text = str(name).strip()
        acc = REFSEQ_BUILD.get(text)
        if acc is not None and acc[1] not in ("any", build):
            if not self.allow_ref_mismatch:
                msg = (f"chromosome {text} is a {acc[1]} RefSeq accession, but gnomAD "
                       f"{self.release_key} is {build}; use a gnomAD release of the input's "
                       "build, or pass --allow-ref-mismatch to report such rows as no_data")
                raise BuildMismatchError(msg)
            return f"{text} ({acc[1]})"  # matches no file: no_data
        return normalize_chrom(text)

    def _left_align(self, canon: str, pos: int, ref: str, alt: str) -> tuple[int, str, str]:
        assert self.reference is not None
        if not self.reference.has(canon):
            self.totals["reference_missing_contig"] += 1
            return pos, ref, alt
        if not self.reference.matches(canon, pos, ref):
            self.totals["reference_mismatch"] += 1
            return pos, ref, alt
        return self.reference.left_align(canon, pos, ref, alt)

    def _chunk_tasks(self, canon: str, rows: np.ndarray, batch: Batch,
                     spec: FieldSpec) -> Iterator[ChunkTask]:
        rows = rows[np.argsort(batch.pos[rows], kind="stable")]
        positions = batch.pos[rows]
        path = self.files.paths[canon]
        contig = self.files.contigs[canon]
        blocks = self.files.block_indexes.get(path)
        if blocks is not None:
            remember_block_index(str(path), blocks)  # not loaded again here, nor in forks
        if blocks is not None and self.max_gap is None and contig in blocks.contigs:
            cb = blocks.contigs[contig]
            cuts = plan_block_chunks(positions, cb.reach, cb.first_pos,
                                     chunk_size=self.chunk_size)
        else:
            gap = self.max_gap or gap_for_index(self.files.min_shift[path])
            cuts = plan_chunks(positions, max_gap=gap, chunk_size=self.chunk_size)
        for cut in cuts:
            part = rows[cut]
            yield ChunkTask(
                path=str(path), index=str(self.files.indexes[path]), chrom=canon,
                contig=contig, start0=int(positions[cut.start]) - 1,
                end=int(positions[cut.stop - 1]), rows=part,
                pos=tuple(positions[cut].tolist()), ref=tuple(batch.ref[part].tolist()),
                alt=tuple(batch.alt[part].tolist()), spec=spec, blocks=blocks is not None)


def result_columns(result: LookupResult, prefix: str = "gnomad_") -> list[tuple[str, str]]:
    """(output name, canonical name) of each value column of a lookup, in output order
    (before ``status`` and ``release``)."""
    out = {output_name(name, prefix): name for name in result.columns}
    for name in result.columns:
        if name.endswith("grpmax"):  # also under v4's own name: gnomad_grpmax, gnomad_af_grpmax
            out[prefix + name] = name
    return list(out.items())


def result_frame(result: LookupResult, *, prefix: str = "gnomad_",
                 release: str | None = None, index: pd.Index | None = None) -> pd.DataFrame:
    """The ``gnomad_*`` columns of a lookup, typed: counts as nullable Int64, AF as float."""
    data: dict[str, object] = {}
    for name, canonical in result_columns(result, prefix):
        col = result.data[canonical]
        mask = result.missing[canonical]
        if mask is not None:
            data[name] = pd.arrays.IntegerArray(col, mask.copy())
        else:
            data[name] = col
    data[f"{prefix}status"] = result.status
    if release is not None:
        data[f"{prefix}release"] = np.full(len(result.status), release, dtype=object)
    frame: pd.DataFrame = pd.DataFrame(data, index=index)
    return frame


#: Names of an annotation's columns: the gnomAD values, and the ACMG evidence computed
#: from them (stale once the values are replaced).
DERIVED_PREFIXES: tuple[str, ...] = ("gnomad_", "acmg_")


def earlier_columns(columns: Iterable[object],
                    prefixes: tuple[str, ...] = DERIVED_PREFIXES) -> list[str]:
    """The columns of an earlier annotation, which a new one drops: every column whose name
    starts with one of ``prefixes``, except the variant-ID columns a table may be read
    through (``gnomad_id``, ``gnomad_variant_id``).

    >>> earlier_columns(["chrom", "gnomad_af", "gnomad_id", "acmg_ba1", "gnomad_af_sas"])
    ['gnomad_af', 'acmg_ba1', 'gnomad_af_sas']
    >>> earlier_columns(["gnomad_af", "acmg_ba1"], ("gnomad_",))
    ['gnomad_af']
    """
    return [str(c) for c in columns if str(c).startswith(prefixes)
            and str(c).strip().lower() not in ID_COLUMNS]


def replaced_text(earlier: Iterable[str], added: Iterable[str]) -> str:
    """How a new annotation replaced an earlier one's names, for the log.

    >>> replaced_text(["gnomad_af", "gnomad_af_sas"], ["gnomad_af", "gnomad_status"])
    "1 replaced by this run's; 1 not given by this run, dropped: gnomad_af_sas"
    """
    new = set(added)
    earlier = list(earlier)
    gone = [c for c in earlier if c not in new]
    text = f"{len(earlier) - len(gone)} replaced by this run's"
    if gone:
        text += f"; {len(gone)} not given by this run, dropped: {', '.join(gone)}"
    return text


_COMPAT_NAMES = {"grpmax": "popmax", "af_grpmax": "af_popmax"}
_DATASET_PREFIXES = ("exomes_", "genomes_", "joint_")


def _split_dataset(canonical: str) -> tuple[str, str]:
    for p in _DATASET_PREFIXES:
        if canonical.startswith(p):
            return p, canonical[len(p):]
    return "", canonical


def output_name(canonical: str, prefix: str = "gnomad_") -> str:
    """Column name of a canonical field (``grpmax`` keeps its compatible ``popmax`` name).

    >>> output_name("af_nfe"), output_name("grpmax"), output_name("genomes_af_grpmax")
    ('gnomad_af_nfe', 'gnomad_popmax', 'gnomad_genomes_af_popmax')
    """
    ds, base = _split_dataset(canonical)
    return prefix + ds + _COMPAT_NAMES.get(base, base)
