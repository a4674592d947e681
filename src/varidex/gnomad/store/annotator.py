"""An :class:`~varidex.gnomad.annotate.Annotator` that answers from a store.

Queries are normalized, checked and left-aligned by the same code as the VCF path
(:meth:`Annotator._prepare`); only the lookup differs. The result is the same
:class:`~varidex.gnomad.annotate.LookupResult`, so the pipeline, the facade and the
combined columns take it unchanged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from ..annotate import Annotator, LookupResult
from ..errors import StoreError
from ..fields import column_kind, new_column
from ..normalize import LOOKED_UP, Column
from ..parallel import resolve_workers
from ..reference import Reference
from .reader import DEFAULT_CACHE_BYTES, Store, open_store


@dataclass
class StoreAnnotator(Annotator):
    """Looks variants up in a store (``varidex store build``). Lookups run in this
    process: they are a few numpy operations per chromosome (``max_workers`` is kept
    for the statistics only)."""

    store: Store | None = None
    plans_apart: ClassVar[bool] = False  # lookup() is the store's own

    @classmethod
    def open_store(cls, store: str | Path, *, version: str | None = None,
                   dataset: str | None = None, max_workers: int | None = None,
                   reference: str | Path | None = None,
                   cache_bytes: int = DEFAULT_CACHE_BYTES, **options: Any) -> StoreAnnotator:
        opened = open_store(store, version=version, dataset=dataset, cache_bytes=cache_bytes)
        resolve_workers(max_workers)
        ref = Reference(reference) if reference is not None else None
        return cls(opened.release_files(), max_workers, reference=ref, store=opened,
                   **options)

    @property
    def columns(self) -> tuple[str, ...]:
        return self._store.columns

    @property
    def _store(self) -> Store:
        if self.store is None:
            msg = "this store annotator is closed"
            raise StoreError(msg)
        return self.store

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        super().close()

    def lookup(self, chrom: Column, pos: Column, ref: Column, alt: Column, *,
               show_progress: bool = False, no_data_chroms: frozenset[str] = frozenset(),
               progress: Any = None) -> LookupResult:
        """Look up parallel sequences of variants (1-based positions); the same result
        as :meth:`Annotator.lookup` on the files the store was built from."""
        started = time.perf_counter()
        store = self._store
        n = len(chrom)
        columns = store.columns
        codes = np.full(n, LOOKED_UP, dtype=np.int8)
        batch, groups = self._prepare(chrom, pos, ref, alt, codes, no_data_chroms)
        colocated = mismatched = 0
        found: list[np.ndarray] = []  # input rows of the store rows in tables
        tables: list[pa.Table] = []
        hide = None if show_progress and progress is None else True
        with tqdm(total=sum(len(r) for _, r in groups), unit=" variants", unit_scale=True,
                  disable=hide, delay=0.5, dynamic_ncols=True, desc="gnomAD lookup") as own:
            bar = own if progress is None else progress
            for canon, rows in groups:
                answer = store.lookup(canon, batch.pos[rows], batch.ref[rows], batch.alt[rows])
                codes[rows] = answer.status
                if answer.table is not None:
                    found.append(rows[answer.found])
                    tables.append(answer.table)
                self.totals["duplicate_gnomad_keys"] += answer.duplicates
                colocated += answer.colocated
                mismatched += answer.ref_mismatch
                bar.update(len(rows))
        self._check_build(colocated, mismatched)
        # Every chromosome's values decoded at once, and placed with one step per column.
        data: dict[str, np.ndarray] = {}
        missing: dict[str, np.ndarray | None] = {}
        for name in columns:
            data[name], missing[name] = new_column(column_kind(name), n)
        if tables:
            at = np.concatenate(found)
            values, masks = store.decode(pa.concat_tables(tables, promote_options="none"))
            for name, col, col_mask in zip(columns, values, masks, strict=True):
                data[name][at] = col
                mask = missing[name]
                if mask is not None and col_mask is not None:
                    mask[at] = col_mask
        result = LookupResult.from_codes(columns, codes, data, missing,
                                         time.perf_counter() - started)
        for s, k in result.counts().items():
            self.totals[s] += k
        self.totals["looked_up"] += n
        return result
