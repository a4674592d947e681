"""Turn the raw INFO text of one gnomAD record into canonical values.

Only the fields a release maps are read; a real gnomAD row holds 500-900 INFO fields and
most of its 10-25 KB is a VEP string nobody asked for. Missing values (``.``, an absent
key, AN=0 records without AF) stay ``None``, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from .discovery import ReleaseFiles
from .releases import COUNT_FIELDS, PAR, TEXT_FIELDS

_GROUP_NAMES = frozenset({"grpmax", "faf95_max_group"})


@dataclass(frozen=True)
class FieldSpec:
    """Plain, picklable description of what to read from each matched record."""

    names: tuple[str, ...]        # canonical names read directly
    raw: tuple[str, ...]          # their raw INFO keys, same order
    kinds: tuple[str, ...]        # "int", "float" or "str"
    per_allele: frozenset[str]    # raw keys declared Number=A (split on multi-allelic rows)
    faf_groups: tuple[str, ...]   # groups to maximise faf95/faf99 over, if no max field
    build: str

    @classmethod
    def from_files(cls, files: ReleaseFiles) -> FieldSpec:
        rel = files.release
        names = tuple(rel.fields)
        kinds = tuple(_kind(n) for n in names)
        raw = tuple(rel.fields[n] for n in names)
        faf = {f"faf{p}_{g}" for g in rel.faf_groups for p in ("95", "99")}
        # Only the wanted keys' Number=A flags: the spec travels with every work unit.
        per_allele = files.per_allele & (set(raw) | faf)
        return cls(names, raw, kinds, frozenset(per_allele), rel.faf_groups, rel.build)

    @cached_property
    def wanted(self) -> tuple[str, ...]:
        """Every raw INFO key read: the mapped fields and the per-group FAF fields."""
        faf = tuple(f"faf{p}_{g}" for g in self.faf_groups for p in ("95", "99"))
        return self.raw + faf

    @property
    def columns(self) -> tuple[str, ...]:
        """Every canonical column a lookup yields, in output order."""
        out = list(self.names)
        if self.faf_groups:
            out += [n for n in ("faf95_max", "faf95_max_group", "faf99_max") if n not in out]
        elif "faf95_max" in out and "faf95_max_group" not in out:
            out.append("faf95_max_group")
        return (*out, "filters")

    @cached_property
    def column_kinds(self) -> tuple[str, ...]:
        """``int``, ``float`` or ``str`` for each of :attr:`columns`."""
        return tuple(column_kind(c) for c in self.columns)


def column_kind(canonical: str) -> str:
    """Value type of a canonical column, also under a ``exomes_``/``genomes_`` prefix.

    >>> column_kind("genomes_ac_nfe"), column_kind("af"), column_kind("exomes_filters")
    ('int', 'float', 'str')
    """
    for prefix in ("exomes_", "genomes_", "joint_"):
        if canonical.startswith(prefix):
            canonical = canonical[len(prefix):]
    if canonical in ("filters", "faf95_max_group", "grpmax", "status"):
        return "str"
    return _kind(canonical)


def new_column(kind: str, n: int) -> tuple[np.ndarray, np.ndarray | None]:
    """An all-missing column: float NaN; int 0 with a True (missing) mask; str None."""
    if kind == "float":
        return np.full(n, np.nan), None
    if kind == "int":
        return np.zeros(n, dtype=np.int64), np.ones(n, dtype=bool)
    return np.full(n, None, dtype=object), None


def _kind(name: str) -> str:
    """Value type of a canonical field.

    >>> _kind("ac_nfe"), _kind("af_nfe"), _kind("grpmax"), _kind("nhemi")
    ('int', 'float', 'str', 'int')
    """
    base = name.split("_")[0]
    if name in COUNT_FIELDS or base in ("ac", "an", "nhomalt"):
        return "int"
    if name in TEXT_FIELDS:
        return "str"
    return "float"


_ORDER: dict[tuple[str, ...], tuple[tuple[str, str], ...]] = {}


def pick_info(info: str, keys: tuple[str, ...]) -> dict[str, str]:
    """The raw text of ``keys`` in an INFO column, found in place.

    A real gnomAD INFO holds hundreds of fields, written in the same order on every row of
    a file; the wanted keys are searched in that order (learnt from the first row), each
    search starting where the previous one matched, so a row is scanned about once. A key
    out of that order is still found by a search from the start.

    >>> pick_info("AC=2;AN=10;AF_nfe=0.5;AF=0.2;lcr", ("AF", "AN", "AF_afr", "lcr"))
    {'AN': '10', 'AF': '0.2'}
    """
    text = ";" + info + ";"
    order = _ORDER.get(keys)
    if order is None:
        found = sorted((text.find(f";{k}="), k) for k in keys)
        order = _ORDER[keys] = tuple((k, f";{k}=") for _, k in found)
    out: dict[str, str] = {}
    start = 0
    for key, needle in order:
        i = text.find(needle, start)
        if i < 0:
            i = text.find(needle)
            if i < 0:
                continue
        else:
            start = i
        i += len(needle)
        out[key] = text[i:text.find(";", i)]
    return out


class BadValue(ValueError):
    """A value in a gnomAD record that is not what its field declares."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.pos = pos


_MISSING = (".", "", "NA", "nan", "NaN")


def extract(info: str, keys: tuple[str, ...]) -> tuple[str | None, ...]:
    """The raw text of ``keys`` in an INFO column, None where absent (see
    :func:`pick_info`).

    >>> extract("AC=2;AN=10;AF=0.2", ("AF", "AC", "nhomalt"))
    ('0.2', '2', None)
    """
    found = pick_info(info, keys)
    return tuple(found.get(k) for k in keys)


def build_columns(spec: FieldSpec, chrom: np.ndarray, pos: np.ndarray,
                  raws: list[tuple[str | None, ...]], alt_index: list[int],
                  n_alts: list[int], filters: list[str]) -> list[np.ndarray]:
    """Typed columns (:attr:`FieldSpec.columns` order) for matched records, converted
    column by column: floats with NaN, ints as float64 here (exact below 2**53), text as
    objects. ``raws`` holds :func:`extract` output, one tuple per record."""
    n = len(raws)
    keys = spec.wanted
    cols: list[list[str | None]] = [list(c) for c in zip(*raws, strict=True)] if n else [
        [] for _ in keys]
    multi = [i for i in range(n) if n_alts[i] > 1]
    if multi:  # r2.0.1: Number=A values of multi-allelic records, one per ALT
        for j, key in enumerate(keys):
            if key in spec.per_allele or key.startswith("faf9"):
                col = cols[j]
                for i in multi:
                    text = col[i]
                    if text is not None:
                        values = text.split(",")
                        col[i] = values[alt_index[i]] if alt_index[i] < len(values) else None
    at = {k: j for j, k in enumerate(keys)}
    out: list[np.ndarray] = []
    for name, raw, kind in zip(spec.names, spec.raw, spec.kinds, strict=True):
        col = cols[at[raw]]
        if name == "nhemi":
            col = _hemizygous_only(col, spec.build, chrom, pos)
        out.append(_typed(col, kind, raw, pos, lower=name in _GROUP_NAMES))
    if spec.faf_groups:
        out.extend(_faf_columns(spec, cols, at, pos))
    elif "faf95_max" in spec.names and "faf95_max_group" not in spec.names:
        out.append(np.full(n, None, dtype=object))
    out.append(np.array(filters, dtype=object))
    return out


def _hemizygous_only(col: list[str | None], build: str, chrom: np.ndarray,
                     pos: np.ndarray) -> list[str | None]:
    """Hemizygote counts exist on X and Y outside their pseudo-autosomal regions only."""
    keep = np.zeros(len(pos), dtype=bool)
    for sex_chrom in ("X", "Y"):
        on = chrom == sex_chrom
        par = np.zeros(len(pos), dtype=bool)
        for start, end in PAR.get(build, {}).get(sex_chrom, ()):
            par |= (pos >= start) & (pos <= end)
        keep |= on & ~par
    return [v if k else None for v, k in zip(col, keep.tolist(), strict=True)]


_PANDAS_FROM = 256  # below this many values a list comprehension beats pandas' overhead


def _typed(col: list[str | None], kind: str, key: str, pos: np.ndarray, *,
           lower: bool = False) -> np.ndarray:
    if kind == "str":
        return np.array([None if v is None or v in _MISSING else (v.lower() if lower else v)
                         for v in col], dtype=object)
    if len(col) < _PANDAS_FROM:
        try:
            values = np.array([np.nan if v is None or v in _MISSING else float(v)
                               for v in col], dtype=np.float64)
        except ValueError:
            values = _numeric(col, key, pos)
        else:
            _check_nan(values, col, key, pos)  # float() also reads "-nan", "NAN", "1_0"
            for i, v in enumerate(col):
                if v is not None and "_" in v:
                    msg = f"non-numeric {key}={v!r}"
                    raise BadValue(msg, int(pos[i]))
    else:
        values = _numeric(col, key, pos)
    if kind == "int":
        finite = np.isnan(values) | ((np.abs(values) <= _EXACT) & (values == np.floor(values)))
        if not finite.all():
            i = int(np.flatnonzero(~finite)[0])
            msg = f"{key}={col[i]!r} is not a whole number below 2**53"
            raise BadValue(msg, int(pos[i]))
    return values


_EXACT = float(2**53)  # integers above this are not exact as float64


def _check_nan(values: np.ndarray, col: list[str | None], key: str, pos: np.ndarray) -> None:
    """Only missing-value markers may become NaN."""
    for i in np.flatnonzero(np.isnan(values)):
        text = col[i]
        if text is not None and text not in _MISSING:
            msg = f"non-numeric {key}={text!r}"
            raise BadValue(msg, int(pos[i]))


def _numeric(col: list[str | None], key: str, pos: np.ndarray) -> np.ndarray:
    number = pd.to_numeric(pd.Series(col, dtype=object), errors="coerce")
    values: np.ndarray = number.to_numpy(dtype=np.float64, na_value=np.nan)
    _check_nan(values, col, key, pos)
    return values


def _faf_columns(spec: FieldSpec, cols: list[list[str | None]], at: dict[str, int],
                 pos: np.ndarray) -> list[np.ndarray]:
    n = len(pos)
    best: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for p in ("95", "99"):
        stack = np.vstack([_typed(cols[at[f"faf{p}_{g}"]], "float", f"faf{p}_{g}", pos)
                           for g in spec.faf_groups]) if n else np.zeros((1, 0))
        top = np.fmax.reduce(stack, axis=0) if n else np.zeros(0)
        which = np.argmax(np.where(np.isnan(stack), -np.inf, stack), axis=0) if n else \
            np.zeros(0, dtype=np.int64)
        best[p] = (top, which)
    top95, which95 = best["95"]
    groups = np.array(spec.faf_groups, dtype=object)
    group = np.full(n, None, dtype=object)
    positive = top95 > 0  # a group only where some group's FAF is above 0
    group[positive] = groups[which95[positive]]
    extra: list[np.ndarray] = []
    if "faf95_max" not in spec.names:
        extra.append(top95)
    extra.append(group)
    if "faf99_max" not in spec.names:
        extra.append(best["99"][0])
    return extra
