"""Exact, collision-free integer codes for allele pairs, vectorized.

A normalized allele pair (REF, ALT) whose bases are A, C, G, T or N and that together hold
at most :data:`MAX_PACKED_BASES` bases is packed into one non-negative int64::

    bits 60..56  len(REF)      (5 bits)
    bits 55..51  len(ALT)      (5 bits)
    bits 50..0   REF then ALT, 3 bits a base (A=1 C=2 G=3 T=4 N=5), first base highest,
                 unused slots 0

The lengths and the bases determine the code and the code determines them, so two
different pairs never share a code. Longer pairs get :data:`LONG` here; a store numbers
them itself (``LONG_BASE + k``, per chromosome) and keeps their text to match them exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pyarrow as pa

#: Most bases (REF and ALT together) a packed code holds.
MAX_PACKED_BASES: Final = 17
#: Code of a pair that cannot be packed (too long, or a base other than A, C, G, T, N).
LONG: Final = -1
#: First code a store gives its long pairs; every packed code is below it.
LONG_BASE: Final = 1 << 62

_SLOT_BITS: Final = 3
_BASE_CODE: Final = {"A": 1, "C": 2, "G": 3, "T": 4, "N": 5}
_LUT: Final = np.zeros(256, dtype=np.int64)
for _base, _code in _BASE_CODE.items():
    _LUT[ord(_base)] = _code


def pack_one(ref: str, alt: str) -> int:
    """The code of one allele pair, or :data:`LONG`.

    >>> pack_one("A", "G") == (1 << 56) | (1 << 51) | (1 << 48) | (3 << 45)
    True
    >>> pack_one("G", "GA") != pack_one("GA", "A")
    True
    >>> pack_one("A" * 9, "C" * 9), pack_one("A", "X")
    (-1, -1)
    """
    bases = ref + alt
    if len(bases) > MAX_PACKED_BASES or not ref or not alt or any(
            b not in _BASE_CODE for b in bases):
        return LONG
    code = 0
    for b in bases:
        code = (code << _SLOT_BITS) | _BASE_CODE[b]
    code <<= _SLOT_BITS * (MAX_PACKED_BASES - len(bases))
    return (len(ref) << 56) | (len(alt) << 51) | code


def pack(ref: Sequence[str] | np.ndarray | pa.Array,
         alt: Sequence[str] | np.ndarray | pa.Array) -> np.ndarray:
    """Codes of parallel sequences of upper-case alleles (int64; :data:`LONG` where a pair
    cannot be packed). The same values as :func:`pack_one`, computed column-wise.

    >>> pack(["A", "G", "ACGT" * 5], ["G", "GA", "A"]).tolist() == [
    ...     pack_one("A", "G"), pack_one("G", "GA"), -1]
    True
    """
    n = len(ref)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    acc = np.zeros(n, dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    lengths = []
    for alleles in (ref, alt):
        offsets, data = _buffers(_strings(alleles))
        length = offsets[1:] - offsets[:-1]
        lengths.append(length)
        bad |= (length == 0) | (length > MAX_PACKED_BASES)
        starts = offsets[:-1]
        usable = np.where(bad, 1, np.minimum(length, MAX_PACKED_BASES))
        shortest, longest = int(usable.min()), int(usable.max())
        for j in range(shortest):  # every allele has a base j: whole columns
            slot = _LUT[data[starts + j]]
            bad |= slot == 0
            acc = (acc << _SLOT_BITS) | slot
        rows = np.flatnonzero(usable > shortest)
        for j in range(shortest, longest):  # only the alleles longer than j bases
            rows = rows[usable[rows] > j]
            slot = _LUT[data[starts[rows] + j]]
            bad[rows[slot == 0]] = True
            acc[rows] = (acc[rows] << _SLOT_BITS) | slot
    rlen, alen = lengths
    total = rlen + alen
    bad |= total > MAX_PACKED_BASES
    free = np.where(bad, 0, MAX_PACKED_BASES - total)
    code = (rlen << 56) | (alen << 51) | (acc << (_SLOT_BITS * free))
    code[bad] = LONG
    out: np.ndarray = code
    return out


def first_bytes(strings: Sequence[str] | np.ndarray | pa.Array) -> np.ndarray:
    """The first byte of each non-empty ASCII string (uint8).

    >>> first_bytes(["G", "TA"]).tolist() == [ord("G"), ord("T")]
    True
    """
    offsets, data = _buffers(_strings(strings))
    if len(offsets) < 2:
        return np.zeros(0, dtype=np.uint8)
    out: np.ndarray = data[np.minimum(offsets[:-1], max(len(data) - 1, 0))]
    return out


def _strings(values: Sequence[str] | np.ndarray | pa.Array) -> pa.Array:
    if isinstance(values, pa.Array) and values.type == pa.string():
        return values
    return pa.array(values, type=pa.string())


def _buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (n + 1, int64) and bytes of a string array without nulls."""
    if arr.null_count:
        msg = "alleles must not be missing"
        raise ValueError(msg)
    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int32)[arr.offset:arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(
        0, np.uint8)
    return offsets.astype(np.int64), data
