"""Normalize a batch of user variants at once (vectorized with Arrow compute and numpy).

The same rules as :func:`varidex.gnomad.keys.normalize_variant`, applied column-wise: upper
case, skip statuses for ``*``, symbolic and invalid alleles, and the shared-suffix-then-
prefix trim, which only rows with two alleles longer than one base can need.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from .errors import InputFormatError
from .keys import (
    INVALID_ALLELE,
    MAX_POSITION,
    SKIPPED_STAR,
    SKIPPED_SYMBOLIC,
    STATUS_CODE,
    STATUSES,
    trim_alleles,
)

_MISSING_TEXT = ("", "NA", "NAN", "NONE", "NULL", "<NA>")


@dataclass
class Batch:
    """Normalized queries, one entry per input row; ``codes`` is -1 where looked up."""

    chrom: np.ndarray   # canonical chromosome (object)
    pos: np.ndarray     # int64, 1-based
    ref: np.ndarray     # object
    alt: np.ndarray     # object
    codes: np.ndarray   # int8: the skip status (an index into keys.STATUSES), or -1
    chrom_codes: np.ndarray  # int: each row's index into chrom_names
    chrom_names: np.ndarray  # object: the canonical name of each distinct input name

    @property
    def status(self) -> np.ndarray:
        """The skip status of each row (object), None where looked up."""
        out: np.ndarray = _STATUS_OR_NONE[self.codes]
        return out


#: Status of each code, and None for the last, -1.
_STATUS_OR_NONE = np.array([*STATUSES, None], dtype=object)
LOOKED_UP = -1

#: A column of variants: a sequence, a numpy array, or a pandas Series (a Series of text is
#: read without converting it to Python objects first).
Column = Sequence[object] | np.ndarray | pd.Series

_BASE_BYTE = np.zeros(256, dtype=bool)
_BASE_BYTE[np.frombuffer(b"ACGTN", dtype=np.uint8)] = True


def normalize_batch(chrom: Column, pos: Column, ref: Column, alt: Column,
                    canonical: Callable[[object], str]) -> Batch:
    """Normalize parallel sequences of variants; ``canonical`` maps a chromosome name."""
    n = len(chrom)
    codes, names = pd.factorize(_series(chrom), use_na_sentinel=False)
    canon_names = np.array([canonical(u) for u in names], dtype=object)
    canon = canon_names[codes]
    positions = _positions(pos)
    r_missing, r = _text(ref)
    a_missing, a = _text(alt)
    missing = r_missing | a_missing
    blanks = pa.array(_MISSING_TEXT, type=pa.string())
    missing |= _bools(pc.or_(pc.is_in(r, value_set=blanks), pc.is_in(a, value_set=blanks)))
    star = _bools(pc.equal(a, "*"))
    alen = _numpy_ints(pc.utf8_length(a))
    dotted = pc.or_(pc.starts_with(a, "."), pc.ends_with(a, "."))
    symbolic = (_bools(pc.or_(pc.starts_with(a, "<"), pc.or_(
        pc.match_substring(a, "["), pc.match_substring(a, "]"))))
        | ((alen > 1) & _bools(dotted)))
    bases = _dna(r) & _dna(a) & ~_bools(pc.equal(r, a))
    status = np.full(n, LOOKED_UP, dtype=np.int8)
    status[~bases] = STATUS_CODE[INVALID_ALLELE]
    status[symbolic] = STATUS_CODE[SKIPPED_SYMBOLIC]
    status[star] = STATUS_CODE[SKIPPED_STAR]
    status[missing] = STATUS_CODE[INVALID_ALLELE]
    refs = _objects(r)  # writable: trimmed rows are changed in place
    alts = _objects(a)
    rlen = _numpy_ints(pc.utf8_length(r))
    trim = np.flatnonzero(bases & ~missing & (rlen > 1) & (alen > 1))
    for i in trim.tolist():
        positions[i], refs[i], alts[i] = trim_alleles(int(positions[i]), refs[i], alts[i])
    return Batch(canon, positions, refs, alts, status, codes, canon_names)


def _series(values: Column) -> pd.Series:
    if isinstance(values, pd.Series):
        out: pd.Series = values.reset_index(drop=True)
        return out
    made: pd.Series = pd.Series(list(values), dtype=object)
    return made


def _text(values: Column) -> tuple[np.ndarray, pa.Array]:
    """The missing mask and the stripped, upper-cased text of an allele column (missing
    values as empty text)."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        text = values
        missing = text.isna().to_numpy(dtype=bool)
    else:
        text = pd.Series(list(values), dtype=object)
        missing = text.isna().to_numpy(dtype=bool)
        text = text.astype(str)
    if not isinstance(text.array, pd.arrays.ArrowStringArray):
        # Python-backed text: Python's strip and upper, as before
        text = text.fillna("").str.strip().str.upper().astype(pd.StringDtype("pyarrow"))
    array = text.array
    assert isinstance(array, pd.arrays.ArrowStringArray)
    arrow = array.__arrow_array__()
    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.combine_chunks()
    arrow = arrow.cast(pa.string())
    if arrow.null_count:
        arrow = pc.fill_null(arrow, "")
    return missing, pc.utf8_upper(pc.utf8_trim_whitespace(arrow))


def _bools(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow array as numpy, null as False."""
    if values.null_count:
        values = pc.fill_null(values, False)
    out: np.ndarray = np.asarray(values.to_numpy(zero_copy_only=False), dtype=bool)
    return out


def _numpy_ints(values: pa.Array) -> np.ndarray:
    out: np.ndarray = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
    return out


def _objects(values: pa.Array) -> np.ndarray:
    out: np.ndarray = np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)
    if not out.flags.writeable:
        out = out.copy()
    return out


def _dna(values: pa.Array) -> np.ndarray:
    """Whether each text is one or more of the bases A, C, G, T, N (the regular expression
    ``[ACGTN]+``, matched byte by byte on the Arrow buffers)."""
    offsets = np.frombuffer(values.buffers()[1], dtype=np.int32)[
        values.offset:values.offset + len(values) + 1]
    data_buffer = values.buffers()[2]
    data = (np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None
            else np.zeros(0, dtype=np.uint8))
    used = data[offsets[0]:offsets[-1]]
    bad = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(~_BASE_BYTE[used], out=bad[1:])
    rel = offsets - offsets[0]
    nonbase = bad[rel[1:]] - bad[rel[:-1]]
    out: np.ndarray = (nonbase == 0) & (rel[1:] > rel[:-1])
    return out


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
