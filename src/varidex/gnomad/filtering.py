"""Frequency thresholds that add a ``gnomad_pass_filter`` column (``--config``'s ``filter``).

For each row, the frequency checked against ``max_af`` is the whole-cohort AF
(``gnomad_af``), or, when ``populations`` are listed, the highest AF among those groups
(``gnomad_af_<group>``; groups without a value are ignored). ``min_ac`` asks for at least
that many alleles in gnomAD (``gnomad_ac``). A row passes when every threshold given holds:

* ``found``/``found_non_pass`` rows are judged on their values (gnomAD's FILTER is not
  looked at; ``gnomad_filters`` and the status say it);
* ``absent`` rows count as AF 0 and AC 0: the allele was searched for and not seen;
* every other row (``no_data``, skipped or invalid alleles, and the genotype statuses
  ``reference``, ``unknown_ref``, ``no_coverage``, ``no_call``...) and found rows without
  the value a threshold needs get no verdict (missing): they cannot be assessed, and
  ``--filter`` drops them with the failing rows, counting them apart in the summary.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import ConfigError
from .keys import ABSENT, FOUND, FOUND_NON_PASS

PASS_COLUMN = "gnomad_pass_filter"


@dataclass(frozen=True)
class FilterThresholds:
    """``max_af`` (a fraction, inclusive), ``min_ac`` (inclusive) and the ``populations``
    whose highest AF ``max_af`` applies to (all None/empty: no filter)."""

    max_af: float | None = None
    min_ac: int | None = None
    populations: tuple[str, ...] = ()

    def fields(self) -> tuple[str, ...]:
        """The canonical fields the thresholds read.

        >>> FilterThresholds(max_af=0.01, min_ac=1, populations=("afr",)).fields()
        ('af_afr', 'ac')
        """
        out: list[str] = []
        if self.max_af is not None:
            out += [f"af_{p}" for p in self.populations] if self.populations else ["af"]
        if self.min_ac is not None:
            out.append("ac")
        return tuple(out)

    def check_groups(self, available: Iterable[str], release: str) -> None:
        """Fail naming the groups the release does not have."""
        have = set(available)
        unknown = [p for p in self.populations if p not in have]
        if unknown:
            msg = (f"filter populations {', '.join(unknown)} are not groups of gnomAD "
                   f"{release}; its groups are: {', '.join(sorted(have)) or 'none'}")
            raise ConfigError(msg)


def pass_filter(frame: pd.DataFrame, thresholds: FilterThresholds) -> pd.Series:
    """The ``gnomad_pass_filter`` column for annotated rows: True, False or <NA>.

    >>> f = pd.DataFrame({"gnomad_status": ["found", "found", "absent", "no_data"],
    ...                   "gnomad_af": [0.02, 0.001, np.nan, np.nan],
    ...                   "gnomad_ac": pd.array([40, 2, None, None], dtype="Int64")})
    >>> pass_filter(f, FilterThresholds(max_af=0.01)).tolist()
    [False, True, True, <NA>]
    >>> pass_filter(f, FilterThresholds(max_af=0.01, min_ac=3)).tolist()
    [False, False, False, <NA>]
    """
    status = frame["gnomad_status"].astype(object).to_numpy()
    found = np.isin(status, [FOUND, FOUND_NON_PASS])
    absent = status == ABSENT
    ok = np.ones(len(frame), dtype=bool)
    known = found | absent
    if thresholds.max_af is not None:
        af = _max_af(frame, thresholds.populations)
        af = np.where(absent, 0.0, af)
        known &= ~np.isnan(af)
        ok &= np.nan_to_num(af, nan=np.inf) <= thresholds.max_af
    if thresholds.min_ac is not None:
        ac = frame["gnomad_ac"].to_numpy(dtype=float, na_value=np.nan) \
            if "gnomad_ac" in frame else np.full(len(frame), np.nan)
        ac = np.where(absent, 0.0, ac)
        known &= ~np.isnan(ac)
        ok &= np.nan_to_num(ac, nan=-np.inf) >= thresholds.min_ac
    verdict = pd.array(ok, dtype="boolean")
    verdict[~known] = pd.NA
    out: pd.Series = pd.Series(verdict, index=frame.index, name=PASS_COLUMN)
    return out


def _max_af(frame: pd.DataFrame, populations: Sequence[str]) -> np.ndarray:
    columns = [f"gnomad_af_{p}" for p in populations] if populations else ["gnomad_af"]
    present = [c for c in columns if c in frame]
    if not present:
        return np.full(len(frame), np.nan)
    values = np.vstack([frame[c].to_numpy(dtype=float, na_value=np.nan) for c in present])
    all_nan = np.isnan(values).all(axis=0)
    out: np.ndarray = np.where(all_nan, np.nan, np.nanmax(np.where(np.isnan(values), -np.inf,
                                                                   values), axis=0))
    return out
