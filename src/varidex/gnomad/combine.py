"""Exomes and genomes together: each dataset's values and their combination.

The combination follows the gnomAD browser: allele counts and numbers are summed per group
over the datasets that have the variant, AF is recomputed from the sums, and grpmax (popmax)
is the continental group with the highest combined AF. Filtering allele frequencies are not
combined (they need the per-group counts of both datasets and a Poisson bound; each
dataset's own ``faf95_max`` stays in its ``exomes_``/``genomes_`` columns).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np

from .annotate import Annotator, LookupResult
from .discovery import ReleaseFiles
from .keys import ABSENT, FOUND, FOUND_NON_PASS, NO_DATA

#: Groups eligible for grpmax/popmax in every release (bottlenecked and mixed groups are not).
CONTINENTAL: Final = ("afr", "amr", "eas", "nfe", "sas")
DATASETS: Final = ("exomes", "genomes")


def parse_datasets(text: str) -> tuple[str, ...]:
    """``exomes``, ``genomes``, ``joint``, or both as ``both``/``exomes,genomes``.

    >>> parse_datasets("both"), parse_datasets("genomes, exomes"), parse_datasets("exomes")
    (('exomes', 'genomes'), ('exomes', 'genomes'), ('exomes',))
    """
    low = text.strip().lower()
    if low == "both":
        return DATASETS
    parts = tuple(sorted({p.strip() for p in low.split(",") if p.strip()}))
    return parts or ("exomes",)


@dataclass
class CombinedAnnotator:
    """Looks variants up in the exomes and the genomes of one release."""

    parts: dict[str, Annotator]
    totals: Counter[str] = field(default_factory=Counter)

    @classmethod
    def open(cls, gnomad_dir: str | Path, *, version: str | None, **options: Any
             ) -> CombinedAnnotator:
        parts = {d: Annotator.open(gnomad_dir, version=version, dataset=d, **options)
                 for d in DATASETS}
        return cls(parts)

    @property
    def files(self) -> ReleaseFiles:
        return self.parts["exomes"].files

    @property
    def release_key(self) -> str:
        return f"{self.files.release.id}/exomes+genomes"

    @property
    def allow_ref_mismatch(self) -> bool:
        return all(p.allow_ref_mismatch for p in self.parts.values())

    @allow_ref_mismatch.setter
    def allow_ref_mismatch(self, value: bool) -> None:
        for p in self.parts.values():
            p.allow_ref_mismatch = value

    @property
    def workers(self) -> int:
        return self.parts["exomes"].workers

    def close(self) -> None:
        for p in self.parts.values():
            p.close()

    def abort(self) -> None:
        for p in self.parts.values():
            p.abort()

    def lookup(self, chrom: Any, pos: Any, ref: Any, alt: Any, *, show_progress: bool = False,
               no_data_chroms: frozenset[str] = frozenset(), progress: Any = None) -> LookupResult:
        # A shared bar advances with the first dataset only, so it counts each variant once.
        results = {d: a.lookup(chrom, pos, ref, alt, show_progress=show_progress and k == 0,
                               no_data_chroms=no_data_chroms,
                               progress=progress if k == 0 else None)
                   for k, (d, a) in enumerate(self.parts.items())}
        combined = combine_results(results)
        for s, k in combined.counts().items():
            self.totals[s] += k
        self.totals["looked_up"] += len(combined.status)
        return combined


def combine_results(results: dict[str, LookupResult]) -> LookupResult:
    """Combined columns first, then each dataset's own columns prefixed with its name."""
    n = len(next(iter(results.values())).status)
    found = {d: np.isin(r.status, [FOUND, FOUND_NON_PASS]) for d, r in results.items()}
    groups = sorted({c[3:] for r in results.values() for c in r.columns if c.startswith("af_")}
                    - {"grpmax", "het"})
    values: dict[str, np.ndarray] = {}
    for name in ["ac", "an", "nhomalt", "nhemi"] + [f"{k}_{g}" for g in groups
                                                     for k in ("ac", "an", "nhomalt")]:
        values[name] = _sum(results, found, name, n)
    values["af"] = _ratio(values["ac"], values["an"])
    for g in groups:
        values[f"af_{g}"] = _ratio(values[f"ac_{g}"], values[f"an_{g}"])
    values["grpmax"], values["af_grpmax"] = _grpmax(values, n)
    values["filters"] = _filters(results, found, n)
    columns = ["af", "ac", "an", "nhomalt", "nhemi"]
    columns += [f"{k}_{g}" for g in groups for k in ("af", "ac", "an", "nhomalt")]
    columns += ["grpmax", "af_grpmax", "filters"]
    status = _status(results, values["filters"], n)
    for d, r in results.items():
        for c in r.columns:
            values[f"{d}_{c}"] = r.values[c]
            columns.append(f"{d}_{c}")
        values[f"{d}_status"] = r.status
        columns.append(f"{d}_status")
    seconds = sum(r.seconds for r in results.values())
    return LookupResult.from_objects(tuple(columns), status, values, seconds)


def _sum(results: dict[str, LookupResult], found: dict[str, np.ndarray], name: str,
         n: int) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    for d, r in results.items():
        if name not in r.values:
            continue
        col = r.values[name]
        for i in np.flatnonzero(found[d]):
            v = col[i]
            if v is not None:
                out[i] = v if out[i] is None else out[i] + v
    return out


def _ratio(ac: np.ndarray, an: np.ndarray) -> np.ndarray:
    out = np.full(len(ac), None, dtype=object)
    for i, (c, t) in enumerate(zip(ac, an, strict=True)):
        if c is not None and t:
            out[i] = c / t
    return out


def _grpmax(values: dict[str, np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    group = np.full(n, None, dtype=object)
    best = np.full(n, None, dtype=object)
    for g in CONTINENTAL:
        col = values.get(f"af_{g}")
        if col is None:
            continue
        for i, v in enumerate(col):
            if v is not None and v > 0 and (best[i] is None or v > best[i]):
                best[i], group[i] = v, g
    return group, best


def _filters(results: dict[str, LookupResult], found: dict[str, np.ndarray],
             n: int) -> np.ndarray:
    out = np.full(n, None, dtype=object)
    for i in range(n):
        names: list[str] = []
        for d, r in results.items():
            if found[d][i]:
                names += [f for f in str(r.values["filters"][i]).split(";")
                          if f not in ("PASS", ".")]
        if any(found[d][i] for d in results):
            out[i] = ";".join(dict.fromkeys(names)) or "PASS"
    return out


def _status(results: dict[str, LookupResult], filters: np.ndarray, n: int) -> np.ndarray:
    """found when every dataset that has the variant passes; absent when at least one
    searched and none has it; no_data when neither has data; else the shared skip status."""
    out = np.empty(n, dtype=object)
    statuses = [r.status for r in results.values()]
    for i in range(n):
        these = {s[i] for s in statuses}
        if filters[i] is not None:
            out[i] = FOUND if filters[i] == "PASS" else FOUND_NON_PASS
        elif ABSENT in these:
            out[i] = ABSENT
        else:
            out[i] = NO_DATA if NO_DATA in these else next(iter(these))
    return out


AnyAnnotator = Annotator | CombinedAnnotator


def open_annotator(gnomad_dir: str | Path, *, version: str | None, dataset: str,
                   **options: Any) -> AnyAnnotator:
    """One dataset's annotator, or the exomes+genomes one for ``both``/``exomes,genomes``."""
    datasets = parse_datasets(dataset)
    if datasets == DATASETS:
        return CombinedAnnotator.open(gnomad_dir, version=version, **options)
    if len(datasets) != 1:
        msg = f"dataset {dataset!r}: use exomes, genomes, joint, or exomes,genomes (both)"
        raise ValueError(msg)
    return Annotator.open(gnomad_dir, version=version, dataset=datasets[0], **options)
