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

import numpy as np
import pysam

from .blocks import BlockIndex, load_block_index, scan_lines
from .errors import GnomADFileError, RemoteFileError
from .fields import BadValue, FieldSpec, build_columns, extract, new_column
from .keys import ABSENT, FOUND, FOUND_NON_PASS, STATUS_CODE, normalize_variant
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
    """Close this process's cached tabix handles."""
    pid = os.getpid()
    for key in [k for k in _HANDLES if k[0] == pid]:
        _HANDLES.pop(key).close()


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
    cuts: list[slice] = []
    start = 0
    last_block = after_block[0]
    for i in range(1, n):
        if pos[i] != pos[i - 1] and (first_block[i] > last_block or i - start >= chunk_size):
            cuts.append(slice(start, i))
            start = i
            last_block = after_block[i]
        else:
            last_block = max(last_block, after_block[i])
    cuts.append(slice(start, n))
    return cuts


@dataclass
class ChunkHits:
    """What one chunk found: the matched records' raw INFO values, and which of the chunk's
    queries each answers (``scatter``: (query index, hit index) pairs)."""

    task: ChunkTask
    positions: list[int]
    raws: list[tuple[str | None, ...]]
    alt_index: list[int]
    n_alts: list[int]
    filters: list[str]
    scatter: list[tuple[int, int]]
    records_read: int
    duplicates: int
    colocated: int
    ref_mismatch: int


def run_chunk(task: ChunkTask) -> ChunkResult:
    """One chunk on its own (see :func:`run_chunks`)."""
    return run_chunks([task])


def find_hits(task: ChunkTask) -> ChunkHits:
    """Read the chunk's records once and join them with the chunk's queries."""
    wanted: dict[tuple[int, str, str], list[int]] = {}
    for i, key in enumerate(zip(task.pos, task.ref, task.alt, strict=True)):
        wanted.setdefault(key, []).append(i)
    wanted_pos = set(task.pos)
    hits: dict[tuple[int, str, str], tuple[str, str, int, int]] = {}
    first_base: dict[int, str] = {}  # gnomAD's REF base at positions where a record starts
    duplicates = 0
    line = ""
    counter = [0]
    try:
        for line in _candidates(task, wanted_pos, counter):
            cols = line.split("\t", 8)
            raw_pos = int(cols[1])
            ref = cols[3]
            first_base.setdefault(raw_pos, ref[:1].upper())
            alts = cols[4].split(",")
            for alt_index, alt in enumerate(alts):
                if len(ref) == 1 and len(alt) == 1 and ref.isupper() and alt.isupper():
                    key = (raw_pos, ref, alt)  # an SNV is already minimal ('*' fails isupper)
                else:
                    p, r, a, skip = normalize_variant(raw_pos, ref, alt)
                    if skip is not None:
                        continue
                    key = (p, r, a)
                if key not in wanted:
                    continue
                if key in hits:
                    duplicates += 1
                    continue
                hits[key] = (cols[6], cols[7], alt_index, len(alts))
    except (ValueError, IndexError) as exc:
        raise _bad_record(task, line, exc) from exc
    except (OSError, NotImplementedError) as exc:
        msg = f"error reading {task.describe()}: {exc}; {read_hint(task.path)}"
        raise (RemoteFileError if is_remote(task.path) else GnomADFileError)(msg) from exc
    colocated = mismatch = 0
    for p, r in zip(task.pos, task.ref, strict=True):
        base = first_base.get(p)
        if base is not None:
            colocated += 1
            mismatch += base != r[0]
    keys = task.spec.wanted
    found = ChunkHits(task, [], [], [], [], [], [], counter[0], duplicates, colocated, mismatch)
    for h, (key, (filt, info, alt_index, n_alts)) in enumerate(hits.items()):
        found.positions.append(key[0])
        found.raws.append(extract(info, keys))
        found.alt_index.append(alt_index)
        found.n_alts.append(n_alts)
        found.filters.append(filt)
        found.scatter.extend((i, h) for i in wanted[key])
    return found


def run_chunks(tasks: list[ChunkTask]) -> ChunkResult:
    """Run several chunks and convert all their matched records at once, column by column
    (per-column conversion has a fixed cost worth paying once per batch, not per chunk)."""
    found = [find_hits(t) for t in tasks]
    spec = tasks[0].spec
    kinds = spec.column_kinds
    nq = sum(len(t.pos) for t in tasks)
    columns = [new_column(k, nq) for k in kinds]
    status = np.full(nq, STATUS_CODE[ABSENT], dtype=np.int8)
    raws: list[tuple[str | None, ...]] = []
    positions: list[int] = []
    chroms: list[str] = []
    query_rows: list[int] = []
    hit_index: list[int] = []
    alt_index: list[int] = []
    n_alts: list[int] = []
    filters: list[str] = []
    q_base = 0
    for f in found:
        h_base = len(raws)
        raws += f.raws
        positions += f.positions
        chroms += [f.task.chrom] * len(f.raws)
        alt_index += f.alt_index
        n_alts += f.n_alts
        filters += f.filters
        for i, h in f.scatter:
            query_rows.append(q_base + i)
            hit_index.append(h_base + h)
        q_base += len(f.task.pos)
    if raws:
        pos = np.array(positions, dtype=np.int64)
        try:
            built = build_columns(spec, np.array(chroms, dtype=object), pos, raws, alt_index,
                                  n_alts, filters)
        except BadValue as exc:
            task = next(f.task for f in found if exc.pos in f.positions)
            raise _bad_record(task, f"{task.contig}\t{exc.pos}", exc) from exc
        q = np.array(query_rows, dtype=np.int64)
        src = np.array(hit_index, dtype=np.int64)
        passed = np.isin(np.array(filters, dtype=object), ("PASS", "."))
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
        [c[1] for c in columns], sum(f.records_read for f in found),
        sum(f.duplicates for f in found), sum(f.colocated for f in found),
        sum(f.ref_mismatch for f in found))


def _candidates(task: ChunkTask, wanted_pos: set[int], counter: list[int]) -> Iterator[str]:
    """Records of the chunk's region that may hold a wanted position: through varidex's
    block index when the file has one (``FILE.vdx``), else one tabix fetch."""
    if task.blocks:
        span = _block_index(task.path).span(task.contig, task.start0 + 1, task.end)
        if span is not None:
            yield from scan_lines(task.path, task.contig, span, wanted_pos, counter)
        return
    tbx = _handle(task.path, task.index)
    seen = 0
    for line in _fetch(tbx, task):
        seen += 1
        cols = line.split("\t", 5)
        if _may_match(int(cols[1]), len(cols[3]), wanted_pos):
            yield line
    counter[0] += seen


def _fetch(tbx: pysam.TabixFile, task: ChunkTask) -> Iterator[str]:
    """The one tabix call site (start0 is 0-based, end exclusive). pysam reports a failed
    read (a dropped connection, a damaged block) as ValueError; it becomes OSError here, so
    that it is never taken for a malformed record."""
    try:
        yield from tbx.fetch(task.contig, task.start0, task.end)
    except ValueError as exc:
        raise OSError(str(exc)) from exc


_BLOCK_INDEXES: dict[tuple[int, str], BlockIndex] = {}


def _block_index(path: str) -> BlockIndex:
    key = (os.getpid(), path)
    index = _BLOCK_INDEXES.get(key)
    if index is None:
        index = load_block_index(Path(path))
        if index is None:
            msg = (f"{path}: its block index ({path}.vdx) disappeared or changed during the "
                   "run; run `varidex index --force` and start again")
            raise GnomADFileError(msg)
        _BLOCK_INDEXES[key] = index
    return index


def _bad_record(task: ChunkTask, line: str, exc: Exception) -> GnomADFileError:
    cols = line.split("\t", 3)
    where = f"{cols[0]}:{cols[1]}" if len(cols) > 1 else "a record"
    msg = (f"{task.path}: malformed record at {where} ({type(exc).__name__}: {exc}); a sites "
           "VCF record needs 8 tab-separated columns with numeric POS and INFO values. "
           "Re-download the file")
    return GnomADFileError(msg)


def _may_match(raw_pos: int, ref_len: int, wanted_pos: set[int]) -> bool:
    if ref_len == 1:
        return raw_pos in wanted_pos
    return any(p in wanted_pos for p in range(raw_pos, raw_pos + ref_len))
