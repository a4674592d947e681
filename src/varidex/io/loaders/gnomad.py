"""The compatible gnomAD loader API; every method delegates to :mod:`varidex.gnomad`.

Usage::

    from pathlib import Path
    from varidex.io.loaders.gnomad import GnomADLoader

    with GnomADLoader(gnomad_dir=Path("gnomad"), dataset="exomes", version="r2.1.1") as loader:
        freq = loader.lookup_variant("1", 55505647, "G", "T")   # GnomADFrequency or None
        annotated = loader.annotate_dataframe(df)                # adds gnomad_* columns

    # the same answers from a store built once with `varidex store build`
    with GnomADLoader(store="gnomad.r2.1.1.store", version="r2.1.1") as loader:
        annotated = loader.annotate_dataframe(df)

Positions are 1-based (VCF). AF values are fractions. ``None`` from :meth:`lookup_variant`
means "not found"; the ``gnomad_status`` column of :meth:`annotate_dataframe` says why
(``absent`` from a searched file, or ``no_data`` where the release has no file).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd

from varidex.gnomad.annotate import LookupResult, earlier_columns, result_frame
from varidex.gnomad.combine import AnyAnnotator, open_annotator
from varidex.gnomad.errors import ConfigError
from varidex.gnomad.frames import variant_columns
from varidex.gnomad.keys import FOUND, FOUND_NON_PASS
from varidex.gnomad.remote import is_remote
from varidex.gnomad.store import StoreAnnotator


@dataclass
class GnomADFrequency:
    """gnomAD frequencies of one variant (AF as a fraction; None = not given by gnomAD)."""

    chromosome: str
    position: int
    ref_allele: str
    alt_allele: str
    af: float | None = None
    ac: int | None = None
    an: int | None = None
    nhomalt: int | None = None
    af_afr: float | None = None
    af_amr: float | None = None
    af_asj: float | None = None
    af_eas: float | None = None
    af_fin: float | None = None
    af_nfe: float | None = None
    af_sas: float | None = None
    filters: str | None = None
    popmax: str | None = None
    af_popmax: float | None = None
    status: str = FOUND
    release: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """All fields as a flat dict (release-specific ones from ``extra`` included)."""
        out = asdict(self)
        out.update(out.pop("extra"))
        return out

    @property
    def is_pass(self) -> bool:
        return self.filters in ("PASS", ".")


_DIRECT = {"af", "ac", "an", "nhomalt", "af_afr", "af_amr", "af_asj", "af_eas", "af_fin",
           "af_nfe", "af_sas", "filters"}


class GnomADLoader:
    """Look variants up in a folder of gnomAD sites VCFs (one per chromosome, or one file),
    or in a store built from them (``store=``, see ``varidex store build``).

    ``max_workers=None`` uses every CPU, ``1`` runs in this process; batches under 100
    variants always run in this process. ``auto_index=True`` writes a missing ``.tbi``
    beside a file (and logs it); with ``False`` a missing index is an error.
    ``gnomad_dir`` may also be an https://, s3:// or gs:// prefix, and
    ``scheduler="tcp://host:8786"`` (or a ``dask.distributed.Client``) runs the lookups on
    a Dask cluster (``pip install 'varidex[dask]'``).
    A store (``store=``, see ``varidex store build``) of another release or dataset than
    ``version``/``dataset`` is refused (``version=None`` accepts the store's release).
    """

    def __init__(self, gnomad_dir: str | Path | None = None, dataset: str = "exomes",
                 version: str | None = "r2.1.1", auto_index: bool = True,
                 max_workers: int | None = None, *, store: str | Path | None = None,
                 **options: Any) -> None:
        if (gnomad_dir is None) == (store is None):
            msg = ("give exactly one of gnomad_dir (a folder of gnomAD VCFs) and store (a "
                   "varidex store)")
            raise ConfigError(msg)
        self.gnomad_dir: str | Path | None = (
            None if gnomad_dir is None else gnomad_dir if is_remote(gnomad_dir)
            else Path(gnomad_dir))
        self.store = Path(store) if store is not None else None
        self.dataset = dataset
        self._annotator: AnyAnnotator
        if store is not None:
            self._annotator = StoreAnnotator.open_store(
                store, version=version, dataset=dataset, max_workers=max_workers, **options)
        else:
            assert gnomad_dir is not None
            self._annotator = open_annotator(gnomad_dir, version=version, dataset=dataset,
                                             auto_index=auto_index, max_workers=max_workers,
                                             **options)
        self.version = self._annotator.files.release.id
        self.max_workers = max_workers

    @property
    def release(self) -> str:
        return self._annotator.release_key

    def __enter__(self) -> GnomADLoader:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close file handles and worker processes."""
        self._annotator.close()

    def lookup_variant(self, chromosome: str, position: int, ref: str,
                       alt: str) -> GnomADFrequency | None:
        """One variant; None when gnomAD has no such allele (or no data for the chromosome)."""
        return self.lookup_variants_batch([(chromosome, position, ref, alt)],
                                          show_progress=False)[0]

    def lookup_variants_batch(self, variants: Iterable[Sequence[Any] | dict[str, Any]],
                              show_progress: bool = True) -> list[GnomADFrequency | None]:
        """Many variants as (chromosome, position, ref, alt) tuples or dicts; input order."""
        rows = [_as_tuple(v) for v in variants]
        if not rows:
            return []
        chrom, pos, ref, alt = (list(x) for x in zip(*rows, strict=True))
        result = self._annotator.lookup(chrom, pos, ref, alt, show_progress=show_progress)
        return [self._frequency(result, i, rows[i]) for i in range(len(rows))]

    def annotate_dataframe(self, df: pd.DataFrame, show_progress: bool = True) -> pd.DataFrame:
        """A copy of ``df`` with ``gnomad_*`` columns; every row kept, in order. The
        ``gnomad_*`` columns of an earlier annotation are dropped first."""
        chrom, pos, ref, alt = variant_columns(df)
        result = self._annotator.lookup(chrom, pos, ref, alt, show_progress=show_progress)
        added = result_frame(result, release=self.release, index=df.index)
        out: pd.DataFrame = df.drop(columns=earlier_columns(df.columns))
        for col in added.columns:
            out[col] = added[col]
        return out

    def get_statistics(self) -> dict[str, Any]:
        """What this loader holds and has done so far."""
        files = self._annotator.files
        parts = getattr(self._annotator, "parts", {self.dataset: self._annotator})
        totals = self._annotator.totals
        workers = self._annotator.workers
        return {
            "dataset": self.dataset,
            "version": self.version,
            "release": self.release,
            "build": files.release.build,
            "gnomad_dir": str(self.gnomad_dir) if self.gnomad_dir is not None else None,
            "store": str(self.store) if self.store is not None else None,
            "available_chromosomes": files.chromosomes,
            "files": sorted({str(p) for a in parts.values() for p in a.files.paths.values()}),
            "indexes_built": [str(p) for a in parts.values() for p in a.files.indexes_built],
            "max_workers": workers,
            "parallel_enabled": workers > 1,
            "variants_looked_up": totals["looked_up"],
            "variants_found": totals[FOUND] + totals[FOUND_NON_PASS],
            "status_counts": {k: v for k, v in totals.items()
                              if k not in ("looked_up", "records_read",
                                           "duplicate_gnomad_keys")},
            "gnomad_records_read": sum(a.totals["records_read"] for a in parts.values()),
            "duplicate_gnomad_keys": sum(a.totals["duplicate_gnomad_keys"]
                                         for a in parts.values()),
        }

    def _frequency(self, result: LookupResult, i: int,
                   query: tuple[Any, Any, Any, Any]) -> GnomADFrequency | None:
        status = result.status[i]
        if status not in (FOUND, FOUND_NON_PASS):
            return None
        direct: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for name in result.columns:
            value = _plain(result.values[name][i])
            if name in _DIRECT:
                direct[name] = value
            elif name == "grpmax":
                direct["popmax"] = value
            elif name == "af_grpmax":
                direct["af_popmax"] = value
            else:
                extra[name] = value
        return GnomADFrequency(chromosome=str(query[0]), position=int(query[1]),
                               ref_allele=str(query[2]), alt_allele=str(query[3]),
                               status=status, release=self.release, extra=extra, **direct)


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _as_tuple(v: Sequence[Any] | dict[str, Any]) -> tuple[Any, Any, Any, Any]:
    if isinstance(v, dict):
        frame = pd.DataFrame([v])
        c, p, r, a = variant_columns(frame)
        return c[0], p[0], r[0], a[0]
    if len(v) != 4:
        msg = f"a variant must be (chromosome, position, ref, alt), got {v!r}"
        raise ValueError(msg)
    return v[0], v[1], v[2], v[3]


def load_gnomad_frequencies(variants_df: pd.DataFrame, gnomad_dir: str | Path | None = None,
                            dataset: str = "exomes", version: str | None = "r2.1.1",
                            max_workers: int | None = None, *,
                            store: str | Path | None = None) -> pd.DataFrame:
    """Annotate a frame in one call: open, annotate, close."""
    with GnomADLoader(gnomad_dir, dataset=dataset, version=version,
                      max_workers=max_workers, store=store) as loader:
        annotated: pd.DataFrame = loader.annotate_dataframe(variants_df)
    return annotated


__all__ = ["GnomADFrequency", "GnomADLoader", "load_gnomad_frequencies"]
