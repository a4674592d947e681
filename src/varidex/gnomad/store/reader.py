"""Look queries up in a store: vectorized, one chromosome at a time.

Queries (already normalized) are packed into allele codes (:mod:`.codes`) and matched to
the store's sorted keys with ``numpy.searchsorted`` on position, then a comparison of
allele codes among the few alleles at that position. Values are read only from the
Parquet row groups that hold a match; a row group is read once and kept (as Arrow) in a
bounded cache, so a pipeline's batches reuse it, and only the matched rows are taken from it
and converted to numpy.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ..discovery import ReleaseFiles
from ..errors import StoreError
from ..fields import column_kind
from ..keys import ABSENT, FOUND, FOUND_NON_PASS, STATUS_CODE
from ..releases import GnomADRelease
from .codes import LONG, LONG_BASE, first_bytes, pack
from .layout import (
    FILE_META_KEY,
    StoreMeta,
    check_request,
    chrom_file,
    read_meta,
    starts_file,
)

#: Row groups (as read, in Arrow form) kept in memory for later batches, in bytes (about
#: 5 MB per row group of a full r2.1.1 exomes store).
DEFAULT_CACHE_BYTES = 1 << 28  # 256 MiB

#: Chromosomes whose key columns (12 bytes a row) stay loaded.
KEY_CACHE_CHROMOSOMES = 4

_NOT_IN_STORE = -2  # code of a long query allele the store does not hold


@dataclass
class ChromAnswer:
    """What a store says about one chromosome's queries: a status for each, and the rows
    of those found (``found``: their indices among the queries), as read (see
    :meth:`Store.decode`)."""

    status: np.ndarray                 # int8 codes into keys.STATUSES, one per query
    found: np.ndarray                  # indices of the queries found
    table: pa.Table | None             # the store rows of the found, in ``found`` order
    duplicates: int
    colocated: int
    ref_mismatch: int


#: A row group holding fewer than 1/SPARSE_SHARE matched rows is not cached: a few
#: queries spread over a genome then keep little memory.
SPARSE_SHARE = 16


@dataclass
class _Keys:
    pos: np.ndarray          # int32, sorted
    allele: np.ndarray       # int64, sorted within a position
    group_starts: np.ndarray  # first row of each row group, and the row count at the end
    starts_pos: np.ndarray   # int32: positions where gnomAD records start
    starts_base: np.ndarray  # uint8: their REF base
    longs: dict[tuple[int, str, str], int] | None = None


@dataclass
class Store:
    """An opened store (see :func:`open_store`)."""

    path: Path
    meta: StoreMeta
    release: GnomADRelease
    cache_bytes: int = DEFAULT_CACHE_BYTES
    _files: dict[str, pq.ParquetFile] = field(default_factory=dict)
    _keys: OrderedDict[str, _Keys] = field(default_factory=OrderedDict)
    _groups: OrderedDict[tuple[str, int], pa.Table] = field(default_factory=OrderedDict)
    _cached: int = 0

    @property
    def columns(self) -> tuple[str, ...]:
        return self.meta.fields

    def release_files(self) -> ReleaseFiles:
        """The store described as the files of a release: one per chromosome."""
        files = ReleaseFiles(self.release, self.path)
        for chrom, entry in self.meta.chromosomes.items():
            files.paths[chrom] = self.path / chrom_file(chrom)
            files.contigs[chrom] = entry.contig
        return files

    def lookup(self, chrom: str, pos: np.ndarray, ref: np.ndarray,
               alt: np.ndarray) -> ChromAnswer:
        """Normalized queries of one chromosome (1-based positions, minimal upper-case
        alleles) against the store."""
        keys = self._chrom_keys(chrom)
        n = len(pos)
        qpos = np.asarray(pos, dtype=np.int64).astype(np.int32)
        ref_text = pa.array(ref, type=pa.string())
        code = pack(ref_text, pa.array(alt, type=pa.string()))
        longs = np.flatnonzero(code == LONG)
        if len(longs):
            table = self._longs(chrom, keys)
            code[longs] = [table.get((int(pos[i]), ref[i], alt[i]), _NOT_IN_STORE)
                           for i in longs.tolist()]
        hit = _match(keys.pos, keys.allele, qpos, code)
        # Build guard: gnomAD's REF base where a record starts at the query's position.
        colocated = mismatch = np.zeros(n, dtype=bool)
        if n and len(keys.starts_pos):
            j = np.searchsorted(keys.starts_pos, qpos)
            j_ok = np.minimum(j, len(keys.starts_pos) - 1)
            colocated = (j < len(keys.starts_pos)) & (keys.starts_pos[j_ok] == qpos)
            mismatch = colocated & (keys.starts_base[j_ok] != first_bytes(ref_text))
        found = np.flatnonzero(hit >= 0)
        found = found[np.argsort(hit[found], kind="stable")]  # in store order
        rows = hit[found]
        status = np.full(n, STATUS_CODE[ABSENT], dtype=np.int8)
        taken, duplicates = None, 0
        if len(rows):
            taken = self._take(chrom, keys, rows)
            dups = _numpy(taken.column("duplicates"))
            distinct = np.ones(len(rows), dtype=bool)  # a store row found by several queries
            distinct[1:] = rows[1:] != rows[:-1]      # counts its duplicates once
            duplicates = int(dups[distinct].sum())
            passed = _numpy(pc.is_in(pc.cast(taken.column("filters"), pa.string()),
                                     value_set=pa.array(["PASS", "."])))
            status[found] = np.where(passed, STATUS_CODE[FOUND], STATUS_CODE[FOUND_NON_PASS])
        return ChromAnswer(status, found, taken, duplicates, int(colocated.sum()),
                           int(mismatch.sum()))

    def decode(self, table: pa.Table) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """The value columns of rows taken from the store (:attr:`ChromAnswer.table`, or
        several of them concatenated) typed as the VCF path types them: float64 with NaN,
        int64 with a missing mask, or objects (str or None)."""
        data: list[np.ndarray] = []
        masks: list[np.ndarray | None] = []
        for name in self.columns:
            values, mask = _decode(table.column(name), column_kind(name))
            data.append(values)
            masks.append(mask)
        return data, masks

    def close(self) -> None:
        self._files.clear()
        self._keys.clear()
        self._groups.clear()
        self._cached = 0

    # --- reading ------------------------------------------------------------------------

    def _file(self, chrom: str) -> pq.ParquetFile:
        pf = self._files.get(chrom)
        if pf is None:
            path = self.path / chrom_file(chrom)
            strings = [c for c in self.columns if column_kind(c) == "str"]
            pf = self._open(path, chrom, read_dictionary=strings)
            self._files[chrom] = pf
        return pf

    def _open(self, path: Path, chrom: str, **options: object) -> pq.ParquetFile:
        try:
            pf = pq.ParquetFile(str(path), page_checksum_verification=True, **options)
        except (OSError, pa.ArrowException) as exc:
            msg = (f"{path}: cannot read this store file ({exc}); the store is damaged: "
                   "rebuild it with `varidex store build`")
            raise StoreError(msg) from exc
        own = (pf.schema_arrow.metadata or {}).get(FILE_META_KEY)
        try:
            says = json.loads(own) if own else None
        except ValueError:
            says = None
        if says != json.loads(self.meta.file_meta(chrom)):
            msg = (f"{path}: this file does not belong to the store {self.path} (gnomAD "
                   f"{self.meta.key}, chromosome {chrom}, these fields); it says {says}. "
                   "Rebuild the store with `varidex store build`")
            raise StoreError(msg)
        return pf

    def _chrom_keys(self, chrom: str) -> _Keys:
        keys = self._keys.get(chrom)
        if keys is not None:
            self._keys.move_to_end(chrom)
            return keys
        pf = self._file(chrom)
        try:
            table = pf.read(columns=["pos", "allele"])
            starts = self._open(self.path / starts_file(chrom), chrom).read()
        except (OSError, pa.ArrowException) as exc:
            msg = (f"{self.path}: cannot read chromosome {chrom} ({exc}); the store is "
                   "damaged: rebuild it with `varidex store build`")
            raise StoreError(msg) from exc
        sizes = [pf.metadata.row_group(g).num_rows for g in range(pf.num_row_groups)]
        keys = _Keys(_numpy(table.column("pos")), _numpy(table.column("allele")),
                     np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]),
                     _numpy(starts.column("pos")), _numpy(starts.column("base")))
        self._keys[chrom] = keys
        while len(self._keys) > KEY_CACHE_CHROMOSOMES:
            self._keys.popitem(last=False)
        return keys

    def _longs(self, chrom: str, keys: _Keys) -> dict[tuple[int, str, str], int]:
        """The alleles too long to pack, by (position, REF, ALT)."""
        if keys.longs is None:
            table = self._file(chrom).read(columns=["pos", "allele", "ref", "alt"])
            chosen = table.filter(pc.greater_equal(table.column("allele"),
                                                   pa.scalar(LONG_BASE, pa.int64())))
            keys.longs = dict(zip(zip(chosen.column("pos").to_pylist(),
                                      chosen.column("ref").to_pylist(),
                                      chosen.column("alt").to_pylist(), strict=True),
                                  chosen.column("allele").to_pylist(), strict=True))
        return keys.longs

    def _take(self, chrom: str, keys: _Keys, rows: np.ndarray) -> pa.Table:
        """Sorted store rows (at least one; a row may repeat), as read: one take per row
        group, the pieces concatenated without copying (decoded later, once per batch)."""
        group = np.searchsorted(keys.group_starts, rows, side="right") - 1
        bounds = np.flatnonzero(np.diff(group)) + 1
        names = [*self.columns, "duplicates"]
        pieces: list[list[pa.Array]] = []
        for start, end in zip([0, *bounds.tolist()], [*bounds.tolist(), len(rows)],
                              strict=True):
            g = int(group[start])
            local = rows[start:end] - keys.group_starts[g]
            size = int(keys.group_starts[g + 1] - keys.group_starts[g])
            if (chrom, g) not in self._groups and (end - start) * SPARSE_SHARE < size:
                table = self._read_group(chrom, g)  # a few rows of it: keep nothing
            else:
                table = self._row_group(chrom, g)
            index = pa.array(local)
            pieces.append([_array(table.column(name)).take(index) for name in names])
        return pa.Table.from_arrays(
            [pa.chunked_array([piece[c] for piece in pieces]) for c in range(len(names))],
            names=names)

    def _row_group(self, chrom: str, g: int) -> pa.Table:
        """Row group ``g`` as read (not yet decoded), from the cache or into it."""
        key = (chrom, g)
        hit = self._groups.get(key)
        if hit is not None:
            self._groups.move_to_end(key)
            return hit
        table = self._read_group(chrom, g)
        self._groups[key] = table
        self._cached += table.nbytes
        while self._cached > self.cache_bytes and len(self._groups) > 1:
            _, old = self._groups.popitem(last=False)
            self._cached -= old.nbytes
        return table

    def _read_group(self, chrom: str, g: int) -> pa.Table:
        try:
            return self._file(chrom).read_row_group(g, columns=[*self.columns, "duplicates"])
        except (OSError, pa.ArrowException) as exc:
            msg = (f"{self.path / chrom_file(chrom)}: cannot read row group {g} ({exc}); "
                   "the store is damaged: rebuild it with `varidex store build`")
            raise StoreError(msg) from exc

def _array(col: pa.ChunkedArray) -> pa.Array:
    """One array of a column (taking rows from an array is much faster than from a chunked
    array, above all for dictionary-encoded text)."""
    return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()


def _numpy(col: pa.ChunkedArray) -> np.ndarray:
    out: np.ndarray = col.combine_chunks().to_numpy(zero_copy_only=False)
    return out


def _decode(col: pa.ChunkedArray, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    """A stored column as the VCF path types it: float64 with NaN, int64 with a missing
    mask, or objects (str or None)."""
    arr = col.combine_chunks()
    if kind == "str":
        if isinstance(arr, pa.DictionaryArray):
            words = np.empty(len(arr.dictionary) + 1, dtype=object)  # the last: missing
            words[:-1] = arr.dictionary.to_numpy(zero_copy_only=False)
            index = pc.fill_null(arr.indices, -1).to_numpy(zero_copy_only=False)
            return words[index], None
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object), None
    if kind == "int":
        mask = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        values = np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False),
                            dtype=np.int64)
        return values, mask
    out: np.ndarray = np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.float64)
    return out, None


def _match(store_pos: np.ndarray, store_allele: np.ndarray, qpos: np.ndarray,
           code: np.ndarray) -> np.ndarray:
    """Row of each query in the store, or -1: positions by binary search, then the allele
    codes among the rows at that position (a handful at most)."""
    hit = np.full(len(qpos), -1, dtype=np.int64)
    lo = np.searchsorted(store_pos, qpos, side="left")
    hi = np.searchsorted(store_pos, qpos, side="right")
    active = np.flatnonzero(hi > lo)
    k = 0
    while len(active):
        at = lo[active] + k
        inside = at < hi[active]
        active, at = active[inside], at[inside]
        same = store_allele[at] == code[active]
        hit[active[same]] = at[same]
        active = active[~same]
        k += 1
    return hit


def open_store(path: str | Path, *, version: str | None = None,
               dataset: str | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES) -> Store:
    """Open the store at ``path``; refuse it when its release or dataset is not the one
    asked for (``None``: accept the store's)."""
    folder = Path(path).expanduser()
    meta = read_meta(folder)
    release = check_request(meta, folder, version=version, dataset=dataset)
    return Store(folder, meta, release, cache_bytes)
