"""Population evidence for every row of an annotated frame: the ``acmg_*`` columns.

A separate step after the gnomAD annotation: it reads the canonical ``gnomad_*`` columns,
fills in the filtering AF where the release has no max-FAF field (r2.0.1, exomes and
genomes combined) and applies :mod:`varidex.acmg.criteria` row by row, keeping every row
and the index.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from varidex.gnomad.annotate import output_name
from varidex.gnomad.contigs import normalize_chrom
from varidex.gnomad.errors import InputFormatError
from varidex.gnomad.frames import variant_columns
from varidex.gnomad.keys import FOUND, FOUND_NON_PASS
from varidex.gnomad.releases import RELEASES
from varidex.gnomad.store.layout import release_columns

from .ba1_exceptions import Ba1ExceptionList, load_ba1_exceptions
from .criteria import (
    COMPUTED,
    FROM_GNOMAD,
    CriterionResult,
    GroupCounts,
    VariantFrequencies,
    ba1,
    bs1,
    bs2,
    pm2_supporting,
)
from .faf import filtering_af
from .thresholds import CONTINENTAL, FrequencyThresholds

logger = logging.getLogger(__name__)

#: Every genetic-ancestry group name a release uses.
GROUPS: Final = ("afr", "ami", "amr", "asj", "eas", "fin", "mid", "nfe", "oth", "remaining",
                 "sas")
CRITERIA: Final = (("ba1", "BA1"), ("bs1", "BS1"), ("pm2_supporting", "PM2_Supporting"),
                   ("bs2", "BS2"))
#: Columns added, in order.
COLUMNS: Final = tuple(
    [f"acmg_{c}{s}" for c, _ in CRITERIA for s in ("", "_value", "_group", "_threshold",
                                                     "_reason")]
    + ["acmg_faf95", "acmg_faf95_group", "acmg_faf99", "acmg_faf_source", "acmg_review"])


def evaluate_frequency_evidence(df: pd.DataFrame, thresholds: FrequencyThresholds | None = None,
                                *, build: str | None = None,
                                exceptions: Ba1ExceptionList | None = None,
                                prefix: str = "gnomad_") -> pd.DataFrame:
    """``df`` with the ``acmg_*`` evidence columns added (same rows, same index).

    ``df`` is an annotated frame: the variant columns (``chromosome, position, ref_allele,
    alt_allele`` or their usual aliases) and the ``gnomad_*`` columns of
    :func:`varidex.gnomad.result_frame` (``GnomADLoader.annotate_dataframe``, ``varidex
    annotate``). ``build`` (GRCh37 or GRCh38) places the BA1 exception list and the
    pseudo-autosomal regions; by default it is read from ``gnomad_release``. For each of
    BA1, BS1, PM2_Supporting and BS2 the columns are ``acmg_<c>`` (``met``, ``not_met`` or
    ``not_applicable``), ``_value``, ``_group``, ``_threshold`` and ``_reason``; then the
    grpmax FAF used (``acmg_faf95``, ``_group``, ``acmg_faf99``, ``acmg_faf_source``:
    ``gnomAD`` or ``computed``) and ``acmg_review`` (criteria a person should check).
    Every ``acmg_*`` column ``df`` already has (an earlier evaluation) is dropped first.

    Usage::

        annotated = loader.annotate_dataframe(df)
        evidence = evaluate_frequency_evidence(
            annotated, FrequencyThresholds(inheritance="dominant", prevalence=1 / 500,
                                           allelic_heterogeneity=0.1, penetrance=0.5))
    """
    t = thresholds if thresholds is not None else FrequencyThresholds()
    status_col = f"{prefix}status"
    if status_col not in df.columns:
        msg = (f"no {status_col} column: the evidence is computed from an annotated frame; "
               "annotate it with gnomAD first (GnomADLoader.annotate_dataframe, varidex "
               "annotate)")
        raise InputFormatError(msg)
    n = len(df)
    releases = _column(df, f"{prefix}release", n)
    genome = build or _build_of(releases)
    _warn_missing(df, releases, prefix)
    if exceptions is None:
        exceptions = load_ba1_exceptions(t.ba1_exceptions)
    chrom, pos, ref, alt = variant_columns(df)
    get = _Columns(df, prefix, n)
    groups = [g for g in GROUPS if f"{prefix}af_{g}" in df.columns
              or f"{prefix}an_{g}" in df.columns]
    faf95, faf95_group, faf99, faf_source = _faf(get, groups, n)
    found_statuses = (FOUND, FOUND_NON_PASS)
    status = get("status")
    af, ac, an, nhomalt, nhemi = (get(c) for c in ("af", "ac", "an", "nhomalt", "nhemi"))
    grpmax, af_grpmax, filters = get("popmax"), get("af_popmax"), get("filters")
    per_group = [(g, get(f"af_{g}"), get(f"ac_{g}"), get(f"an_{g}")) for g in groups]
    canonical: dict[object, str] = {}
    out: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    cache: dict[tuple[str, str, str], list[CriterionResult]] = {}
    for i in range(n):
        row_chrom = canonical.get(chrom[i])
        if row_chrom is None:
            row_chrom = canonical[chrom[i]] = normalize_chrom(str(chrom[i]))
        row_status = str(status[i])
        release = str(releases[i]) if releases[i] is not None else "gnomAD"
        if row_status not in found_statuses:
            # absent, no_data and skipped rows do not depend on values: evaluate once each
            cached = cache.get((row_status, release, row_chrom))
            if cached is not None:
                _append(out, cached, (None, None, None, None))
                continue
        v = VariantFrequencies(
            status=row_status, release=release, build=genome, chrom=row_chrom,
            pos=_int(pos[i]), af=af[i], ac=ac[i], an=an[i], nhomalt=nhomalt[i],
            nhemi=nhemi[i],
            groups={g: GroupCounts(g_af[i], g_ac[i], g_an[i]) for g, g_af, g_ac, g_an in per_group},
            grpmax=grpmax[i], af_grpmax=af_grpmax[i], faf95=faf95[i],
            faf95_group=faf95_group[i], faf99=faf99[i], faf_source=faf_source[i],
            filters=filters[i])
        exception = None
        if v.pos is not None and row_status in found_statuses:
            exception = exceptions.find(genome, row_chrom, v.pos, str(ref[i]), str(alt[i]))
        results = [ba1(v, t, exception), bs1(v, t), pm2_supporting(v, t), bs2(v, t)]
        if row_status not in found_statuses:
            cache[(row_status, release, row_chrom)] = results
        _append(out, results, (faf95[i], faf95_group[i], faf99[i], faf_source[i]))
    earlier = [c for c in df.columns if str(c).startswith("acmg_")]
    result: pd.DataFrame = pd.concat([df.drop(columns=earlier), _frame(out, df.index)], axis=1)
    return result


def _append(out: dict[str, list[Any]], results: Sequence[CriterionResult],
            faf: tuple[Any, Any, Any, Any]) -> None:
    review = []
    for (name, _), r in zip(CRITERIA, results, strict=True):
        out[f"acmg_{name}"].append(r.status)
        out[f"acmg_{name}_value"].append(r.value)
        out[f"acmg_{name}_group"].append(r.group)
        out[f"acmg_{name}_threshold"].append(r.threshold)
        out[f"acmg_{name}_reason"].append(r.reason)
        if r.review:
            review.append(r.criterion)
    out["acmg_faf95"].append(faf[0])
    out["acmg_faf95_group"].append(faf[1])
    out["acmg_faf99"].append(faf[2])
    out["acmg_faf_source"].append(faf[3])
    out["acmg_review"].append(";".join(review) or None)


def _frame(out: dict[str, list[Any]], index: pd.Index) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for name, values in out.items():
        if name.endswith(("_value", "_threshold")) or name in ("acmg_faf95", "acmg_faf99"):
            data[name] = np.array([np.nan if v is None else float(v) for v in values],
                                  dtype=np.float64)
        else:
            data[name] = np.array(values, dtype=object)
    frame: pd.DataFrame = pd.DataFrame(data, index=index)
    return frame


class _Columns:
    """A ``gnomad_*`` column as a list of Python values, None where missing (cached)."""

    def __init__(self, df: pd.DataFrame, prefix: str, n: int) -> None:
        self._df, self._prefix, self._n = df, prefix, n
        self._cache: dict[str, list[Any]] = {}

    def __call__(self, name: str) -> list[Any]:
        values = self._cache.get(name)
        if values is None:
            values = self._cache[name] = _column(self._df, self._prefix + name, self._n)
        return values


def _column(df: pd.DataFrame, name: str, n: int) -> list[Any]:
    if name not in df.columns:
        return [None] * n
    series = df[name]
    values: list[Any] = series.astype(object).where(series.notna(), None).tolist()
    return values


def _int(value: object) -> int | None:
    if value is None:
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


#: Canonical fields the criteria read (and the per-group AF, AC and AN).
_READS: Final = frozenset({"af", "ac", "an", "nhomalt", "nhemi", "grpmax", "af_grpmax",
                           "faf95_max", "faf95_max_group", "faf99_max", "filters"})


def _reads(canonical: str) -> bool:
    kind, _, group = canonical.partition("_")
    return canonical in _READS or (kind in ("af", "ac", "an") and group in GROUPS)


def missing_fields(release_key: str, have: Sequence[str], prefix: str = "gnomad_"
                   ) -> list[str]:
    """Columns (named with ``prefix``) of the gnomAD release ``release_key`` (e.g.
    ``r2.1.1/exomes``) that the criteria read and ``have`` lacks: a store built with
    ``--fields``, or a trimmed table. Without them the evidence changes silently (no AN: no
    BA1 by group AN; no group AFs: BA1 from the overall AF only). Combined datasets and
    unknown releases: none."""
    release = RELEASES.get(release_key)
    if release is None or "+" in release_key:
        return []
    present = set(have)
    return [name for name in (output_name(c, prefix) for c in release_columns(release)
                              if _reads(c)) if name not in present]


def _warn_missing(df: pd.DataFrame, releases: list[Any], prefix: str) -> None:
    for key in sorted({str(r) for r in releases if r is not None}):
        missing = missing_fields(key, [str(c) for c in df.columns], prefix)
        if missing:
            logger.warning(
                "the ACMG evidence reads the gnomAD %s fields %s, which this frame lacks: "
                "criteria that need them are not applied or use fewer groups; annotate "
                "with every field (the default) for complete evidence", key,
                ", ".join(missing[:8]) + (f" and {len(missing) - 8} more"
                                          if len(missing) > 8 else ""))


def _build_of(releases: list[Any]) -> str:
    builds = set()
    for key in {r for r in releases if r is not None}:
        version, _, datasets = str(key).partition("/")
        release = RELEASES.get(f"{version}/{datasets.split('+')[0]}")
        if release is None:
            msg = (f"gnomad_release {key!r} is not a known release; pass build='GRCh37' or "
                   "'GRCh38'")
            raise InputFormatError(msg)
        builds.add(release.build)
    if len(builds) != 1:
        msg = ("cannot tell the genome build: " + ("no gnomad_release column or value"
               if not builds else f"rows of several builds ({', '.join(sorted(builds))})")
               + "; pass build='GRCh37' or 'GRCh38'")
        raise InputFormatError(msg)
    return builds.pop()


def _faf(get: _Columns, groups: Sequence[str], n: int
         ) -> tuple[list[float | None], list[str | None], list[float | None], list[str | None]]:
    """The grpmax FAF95/FAF99 per row: the release's where it has them, else computed
    from the continental groups' AC and AN (Hail's procedure, as gnomAD v3/v4)."""
    faf95 = list(get("faf95_max"))
    group = list(get("faf95_max_group"))
    faf99 = list(get("faf99_max"))
    source: list[str | None] = [FROM_GNOMAD if v is not None else None for v in faf95]
    status = get("status")
    eligible = [g for g in CONTINENTAL if g in groups]
    for i in range(n):
        if faf95[i] is not None or status[i] not in (FOUND, FOUND_NON_PASS):
            continue
        best95: float | None = None
        best99: float | None = None
        best_group: str | None = None
        for g in eligible:
            ac, an = get(f"ac_{g}")[i], get(f"an_{g}")[i]
            if ac is None or an is None:
                continue
            try:
                f95 = filtering_af(int(ac), int(an), 0.95)
                f99 = filtering_af(int(ac), int(an), 0.99)
            except ValueError as exc:
                msg = f"row {i + 1}, group {g}: cannot compute the filtering AF: {exc}"
                raise InputFormatError(msg) from None
            if best95 is None or f95 > best95:
                best95 = f95
                best_group = g if f95 > 0 else best_group
            best99 = f99 if best99 is None else max(best99, f99)
        if best95 is not None:
            # Hail's steps lie on a 1e-8 grid; rounding to it drops only float noise
            # (0.001982240000000003 -> 0.00198224), so values print as gnomAD's do.
            best95 = round(best95, 8)
            best99 = None if best99 is None else round(best99, 8)
            faf95[i], faf99[i], source[i] = best95, best99, COMPUTED
            group[i] = best_group if best95 > 0 else None
    return faf95, group, faf99, source
