"""Normalize a batch of user variants at once (vectorized with pandas string methods).

The same rules as :func:`varidex.gnomad.keys.normalize_variant`, applied column-wise: upper
case, skip statuses for ``*``, symbolic and invalid alleles, and the shared-suffix-then-
prefix trim, which only rows with two alleles longer than one base can need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .errors import InputFormatError
from .keys import INVALID_ALLELE, MAX_POSITION, SKIPPED_STAR, SKIPPED_SYMBOLIC, trim_alleles

_MISSING_TEXT = ("", "NA", "NAN", "NONE", "NULL", "<NA>")


@dataclass
class Batch:
    """Normalized queries, one entry per input row; ``status`` is None where looked up."""

    chrom: np.ndarray   # canonical chromosome (object)
    pos: np.ndarray     # int64, 1-based
    ref: np.ndarray     # object
    alt: np.ndarray     # object
    status: np.ndarray  # object: a skip status, or None


#: A column of variants: a sequence, a numpy array, or a pandas Series (a Series of text is
#: read without converting it to Python objects first).
Column = Sequence[object] | np.ndarray | pd.Series


def normalize_batch(chrom: Column, pos: Column, ref: Column, alt: Column,
                    canonical: Callable[[object], str]) -> Batch:
    """Normalize parallel sequences of variants; ``canonical`` maps a chromosome name."""
    n = len(chrom)
    codes, names = pd.factorize(_series(chrom), use_na_sentinel=False)
    canon = np.array([canonical(u) for u in names], dtype=object)[codes]
    positions = _positions(pos)
    r_missing, r = _text(ref)
    a_missing, a = _text(alt)
    missing = r_missing | a_missing
    missing |= (r.isin(_MISSING_TEXT) | a.isin(_MISSING_TEXT)).to_numpy()
    star = (a == "*").to_numpy()
    alen = a.str.len()
    symbolic = (a.str.startswith("<") | a.str.contains("[", regex=False)
                | a.str.contains("]", regex=False)
                | ((alen > 1) & (a.str.startswith(".") | a.str.endswith(".")))).to_numpy()
    bases = (r.str.fullmatch("[ACGTN]+") & a.str.fullmatch("[ACGTN]+") & (r != a)).to_numpy(
        dtype=bool)
    status = np.full(n, None, dtype=object)
    status[~bases] = INVALID_ALLELE
    status[symbolic] = SKIPPED_SYMBOLIC
    status[star] = SKIPPED_STAR
    status[missing] = INVALID_ALLELE
    refs = r.to_numpy(dtype=object).copy()  # writable: trimmed rows are changed in place
    alts = a.to_numpy(dtype=object).copy()
    rlen = r.str.len().to_numpy()
    trim = np.flatnonzero(bases & ~missing & (rlen > 1) & (alen.to_numpy() > 1))
    for i in trim:
        positions[i], refs[i], alts[i] = trim_alleles(int(positions[i]), refs[i], alts[i])
    return Batch(canon, positions, refs, alts, status)


def _series(values: Column) -> pd.Series:
    if isinstance(values, pd.Series):
        out: pd.Series = values.reset_index(drop=True)
        return out
    made: pd.Series = pd.Series(list(values), dtype=object)
    return made


def _text(values: Column) -> tuple[np.ndarray, pd.Series]:
    """The missing mask and the stripped, upper-cased text of an allele column."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        text = values.reset_index(drop=True)
        missing = text.isna().to_numpy(dtype=bool)
        return missing, text.fillna("").str.strip().str.upper()
    raw = pd.Series(list(values), dtype=object)
    missing = raw.isna().to_numpy().copy()
    return missing, raw.astype(str).str.strip().str.upper()


def _positions(pos: Column) -> np.ndarray:
    series = pd.Series(pos)
    if series.dtype.kind in "iu" and not series.hasnans:  # nullable Int64 may hold <NA>
        values = series.to_numpy(dtype=np.int64).copy()
        bad = (values < 1) | (values > MAX_POSITION)
    else:
        text = series.astype(str).str.strip()
        number = pd.to_numeric(text, errors="coerce")
        ok = number.notna() & (number == number.round())
        values = np.where(ok, number.fillna(0), 0).astype(np.int64)
        bad = (~ok).to_numpy() | (values < 1) | (values > MAX_POSITION)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        msg = (f"position {series.iloc[row]!r} in row {row + 1} is not a 1-based chromosome "
               f"position (a whole number from 1 to {MAX_POSITION:,})")
        raise InputFormatError(msg)
    out: np.ndarray = values
    return out
