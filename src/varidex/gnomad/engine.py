"""The sweep engine: sorted queries cut into chunks, one tabix fetch per chunk.

A :class:`ChunkTask` is plain, picklable data (file, region, the chunk's queries and the
field spec), so it runs the same in this process, in a process pool or on a Dask worker.
Each process opens and keeps its own tabix handles (:func:`_handle`); handles are never
pickled or shared across a fork.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pysam

from ._scan import Scanner
from .blocks import BlockIndex, close_files, feed_blocks, load_block_index
from .errors import GnomADFileError, RemoteFileError
from .fields import BadValue, FieldSpec, RawHits, build_columns, new_column
from .keys import ABSENT, FOUND, FOUND_NON_PASS, STATUS_CODE
from .remote import is_remote, local_index, read_hint

DEFAULT_MAX_GAP = 20_000  # used by plan_chunks when no index-derived gap is given


def gap_for_index(min_shift: int) -> int:
    """Default gap between queries that still share one fetch: one index bin.

    Beyond a bin, a new fetch starts closer to the next query than reading on would.

    >>> gap_for_index(10), gap_for_index(14)
    (1024, 16384)
    """
    return 1 << min_shift
DEFAULT_CHUNK_SIZE = 5_000


@dataclass(frozen=True)
class ChunkTask:
    """One fetch: ``contig:start0-end`` (0-based, half-open) of ``path`` and its queries.

    ``rows`` are the callers' row numbers; ``pos``/``ref``/``alt`` the normalized queries,
    sorted by position.
    """

    path: str
    index: str
    chrom: str
    contig: str
    start0: int
    end: int
    rows: np.ndarray
    pos: tuple[int, ...]
    ref: tuple[str, ...]
    alt: tuple[str, ...]
    spec: FieldSpec
    blocks: bool = False  # read through varidex's block index (FILE.vdx) instead of tabix

    def describe(self) -> str:
        return f"{self.path} {self.contig}:{self.start0 + 1}-{self.end} ({len(self.pos)} variants)"


@dataclass
class ChunkResult:
    """Typed columns for one chunk (or several), aligned with ``rows``: numpy arrays pickle
    as raw buffers, so results cross process boundaries cheaply."""

    rows: np.ndarray
    status: np.ndarray             # int8 codes into keys.STATUSES
    data: list[np.ndarray]         # one per spec.columns: float64 (NaN = missing), int64, object
    missing: list[np.ndarray | None]  # for int columns, True where missing
    records_read: int
    duplicates: int
    colocated: int = 0       # queries at a position where a gnomAD record starts
    ref_mismatch: int = 0    # ... whose first REF base differs from that record's


_HANDLES: dict[tuple[int, int, str], pysam.TabixFile] = {}


def _handle(path: str, index: str) -> pysam.TabixFile:
    # One handle per thread too: a Dask worker runs several tasks at once in threads.
    key = (os.getpid(), threading.get_ident(), path)
    tbx = _HANDLES.get(key)
    if tbx is None:
        try:
            tbx = pysam.TabixFile(path, index=local_index(index))  # a remote index: cached
        except (OSError, ValueError, NotImplementedError) as exc:
            if is_remote(path):
                msg = f"{path}: cannot open ({exc}); {read_hint(path)}"
                raise RemoteFileError(msg) from exc
            msg = f"{path}: cannot open ({exc}); re-download the file or rebuild its index"
            raise GnomADFileError(msg) from exc
        _HANDLES[key] = tbx
    return tbx


def close_handles() -> None:
    """Close this process's cached tabix handles and data file descriptors."""
    pid = os.getpid()
    for key in [k for k in _HANDLES if k[0] == pid]:
        _HANDLES.pop(key).close()
    close_files()


def plan_chunks(pos: np.ndarray, *, max_gap: int = DEFAULT_MAX_GAP,
                chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[slice]:
    """Cut sorted positions of one contig into chunks.

    A chunk ends where the next position is more than ``max_gap`` away, or when it holds
    ``chunk_size`` queries; it never ends between two queries at the same position.

    >>> plan_chunks(np.array([1, 5, 5, 100, 101]), max_gap=10, chunk_size=2)
    [slice(0, 3, None), slice(3, 5, None)]
    """
    n = len(pos)
    cuts: list[slice] = []
    start = 0
    for i in range(1, n + 1):
        if i == n:
            cuts.append(slice(start, n))
            break
        if pos[i] == pos[i - 1]:
            continue
        if pos[i] - pos[i - 1] > max_gap or i - start >= chunk_size:
            cuts.append(slice(start, i))
            start = i
    return cuts


def plan_block_chunks(pos: np.ndarray, reach: np.ndarray, first_pos: np.ndarray, *,
                      chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[slice]:
    """Cut sorted positions of one contig into chunks that share BGZF blocks.

    Each query needs the blocks from the first whose records reach it to the one after the
    last whose first record starts at or before it (see :meth:`BlockIndex.span`). A chunk
    ends where the next query needs no block of the current chunk, or at ``chunk_size``
    queries; never between two queries at the same position. Blocks no query needs are
    never read.

    >>> reach = np.array([10, 20, 30, 40]); first = np.array([1, 11, 21, 31])
    >>> plan_block_chunks(np.array([2, 5, 25, 35]), reach, first)
    [slice(0, 2, None), slice(2, 4, None)]
    """
    n = len(pos)
    if n == 0:
        return []
    first_block = np.searchsorted(reach, pos, side="left")
    after_block = np.searchsorted(first_pos, pos, side="right")  # read through this block
    # Positions are sorted, so the blocks a chunk reads through grow with each query: a
    # query starts a new chunk when its first block comes after the previous query's last.
    natural = np.flatnonzero((pos[1:] != pos[:-1]) & (first_block[1:] > after_block[:-1])) + 1
    cuts: list[slice] = []
    for start, end in zip([0, *natural.tolist()], [*natural.tolist(), n], strict=True):
        while end - start > chunk_size:  # at the first new position after chunk_size queries
            cut = int(np.searchsorted(pos, pos[start + chunk_size - 1], side="right"))
            if cut >= end:
                break
            cuts.append(slice(start, cut))
            start = cut
        cuts.append(slice(start, end))
    return cuts


def run_chunk(task: ChunkTask) -> ChunkResult:
    """One chunk on its own (see :func:`run_chunks`)."""
    return run_chunks([task])


_FEED_CHARS = 4 << 20


def scan_chunk(task: ChunkTask) -> dict[str, Any]:
    """Read the chunk's records once and join them with the chunk's queries, in C (see
    ``_scan.c``): the raw columns of the matched records and which query each answers."""
    spec = task.spec
    scanner = Scanner(task.contig, np.asarray(task.pos, dtype=np.int64), task.ref, task.alt,
                      spec.wanted, spec.scan_kinds, spec.scan_per_allele)
    try:
        if task.blocks:
            at_eof = False
            reads = _block_index(task.path).reads(task.contig, task.start0 + 1, task.end)
            if reads is not None:
                at_eof = feed_blocks(task.path, reads, scanner)
        else:
            at_eof = True
            # The one tabix call site: start0 is 0-based, end is exclusive.
            lines = _fetch(_handle(task.path, task.index), task)
            part: list[str] = []
            size = 0
            for line in lines:  # fed a few MB at a time
                part.append(line)
                size += len(line)
                if size > _FEED_CHARS:
                    scanner.feed(("\n".join(part) + "\n").encode())
                    part, size = [], 0
            if part:
                scanner.feed(("\n".join(part) + "\n").encode())
        return scanner.finish(at_eof)
    except ValueError as exc:
        line = exc.args[1] if len(exc.args) > 1 else ""
        raise _bad_record(task, line, exc.args[0]) from None
    except (OSError, NotImplementedError) as exc:
        msg = f"error reading {task.describe()}: {exc}; {read_hint(task.path)}"
        raise (RemoteFileError if is_remote(task.path) else GnomADFileError)(msg) from exc


def run_chunks(tasks: list[ChunkTask]) -> ChunkResult:
    """Run several chunks and convert all their matched records at once, column by column
    (per-column conversion has a fixed cost worth paying once per batch, not per chunk)."""
    found = [scan_chunk(t) for t in tasks]
    spec = tasks[0].spec
    kinds = spec.column_kinds
    nq = sum(len(t.pos) for t in tasks)
    columns = [new_column(k, nq) for k in kinds]
    status = np.full(nq, STATUS_CODE[ABSENT], dtype=np.int8)
    hit_of: list[np.ndarray] = []
    fallbacks: list[tuple[int, int, str]] = []
    chroms: list[np.ndarray] = []
    filters: list[str] = []
    h_base = 0
    for f, task in zip(found, tasks, strict=True):
        of = np.frombuffer(f["hit_of"], dtype=np.int64)
        hit_of.append(np.where(of >= 0, of + h_base, -1))
        n_hits = len(f["filters"])
        fallbacks += [(h_base + h, slot, text) for h, slot, text in f["fallbacks"]]
        chroms.append(np.full(n_hits, task.chrom, dtype=object))
        filters += f["filters"]
        h_base += n_hits
    if h_base:
        n_num = spec.scan_kinds.count(b"n")
        hits = RawHits(
            np.concatenate(chroms),
            np.concatenate([np.frombuffer(f["pos"], dtype=np.int64) for f in found]),
            np.concatenate([np.frombuffer(f["numbers"], dtype=np.float64).reshape(-1, n_num)
                            for f in found]),
            np.array([t for f in found for t in f["texts"]], dtype=object).reshape(
                h_base, -1),
            fallbacks, np.array(filters, dtype=object))
        try:
            built = build_columns(spec, hits)
        except BadValue as exc:
            task = next(t for t, f in zip(tasks, found, strict=True)
                        if exc.pos in np.frombuffer(f["pos"], dtype=np.int64))
            raise _bad_record(task, f"{task.contig}\t{exc.pos}", exc) from exc
        of = np.concatenate(hit_of)
        q = np.flatnonzero(of >= 0)
        src = of[q]
        passed = np.isin(hits.filters, ("PASS", "."))
        status[q] = np.where(passed[src], STATUS_CODE[FOUND], STATUS_CODE[FOUND_NON_PASS])
        for (arr, mask), col, kind in zip(columns, built, kinds, strict=True):
            values = col[src]
            if kind == "int":
                present = ~np.isnan(values)
                arr[q[present]] = values[present].astype(np.int64)
                assert mask is not None
                mask[q[present]] = False
            else:
                arr[q] = values
    return ChunkResult(
        np.concatenate([t.rows for t in tasks]), status, [c[0] for c in columns],
        [c[1] for c in columns], sum(f["records"] for f in found),
        sum(f["duplicates"] for f in found), sum(f["colocated"] for f in found),
        sum(f["mismatch"] for f in found))


def _fetch(tbx: pysam.TabixFile, task: ChunkTask) -> Iterator[str]:
    """The one tabix call site (start0 is 0-based, end exclusive). pysam reports a failed
    read (a dropped connection, a damaged block) as ValueError; it becomes OSError here, so
    that it is never taken for a malformed record."""
    try:
        yield from tbx.fetch(task.contig, task.start0, task.end)
    except ValueError as exc:
        raise OSError(str(exc)) from exc


# Block indexes are plain read-only arrays: one per file and process, inherited by forked
# workers (see remember_block_index), loaded on first use under spawn.
_BLOCK_INDEXES: dict[str, BlockIndex] = {}


def remember_block_index(path: str, index: BlockIndex) -> None:
    """Use ``index`` (already loaded, e.g. by discovery) for ``path`` in this process."""
    _BLOCK_INDEXES[path] = index


def _block_index(path: str) -> BlockIndex:
    index = _BLOCK_INDEXES.get(path)
    if index is None:
        index = load_block_index(Path(path))
        if index is None:
            msg = (f"{path}: its block index ({path}.vdx) disappeared or changed during the "
                   "run; run `varidex index --force` and start again")
            raise GnomADFileError(msg)
        _BLOCK_INDEXES[path] = index
    return index


def _bad_record(task: ChunkTask, line: str, exc: Exception | str) -> GnomADFileError:
    cols = line.split("\t", 3)
    where = f"{cols[0]}:{cols[1]}" if len(cols) > 1 else "a record"
    what = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    msg = (f"{task.path}: malformed record at {where} ({what}); a sites VCF record needs 8 "
           "tab-separated columns with numeric POS and INFO values. Re-download the file")
    return GnomADFileError(msg)
