"""Turn the raw INFO text of one gnomAD record into canonical values.

Only the fields a release maps are read; a real gnomAD row holds 500-900 INFO fields and
most of its 10-25 KB is a VEP string nobody asked for. Missing values (``.``, an absent
key, AN=0 records without AF) stay ``None``, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .discovery import ReleaseFiles
from .releases import COUNT_FIELDS, TEXT_FIELDS, in_par

Value = int | float | str | None
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
        return cls(names, tuple(rel.fields[n] for n in names), kinds, files.per_allele,
                   rel.faf_groups, rel.build)

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


def _convert(text: str | None, kind: str) -> Value:
    if text is None or text in (".", ""):
        return None
    if kind == "str":
        return text
    try:
        if kind == "int":
            return int(text)
        value = float(text)
    except ValueError:
        return None if text.lower() == "nan" else _bad(text)
    return None if value != value else value  # NaN stays missing


def _bad(text: str) -> Value:
    # Non-numeric text in a numeric field: float("1e-3") handled above; "NA"/"nan" -> missing.
    if text.upper() in ("NA", "NAN", "NULL"):
        return None
    msg = f"non-numeric value {text!r}"
    raise ValueError(msg)


def parse_info(info: str) -> dict[str, str]:
    """Split an INFO column into key -> raw text (flags map to an empty string).

    >>> parse_info("AC=2;AN=10;AF=0.2;lcr")
    {'AC': '2', 'AN': '10', 'AF': '0.2', 'lcr': ''}
    """
    out: dict[str, str] = {}
    for item in info.split(";"):
        key, _, value = item.partition("=")
        out[key] = value
    return out


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


def record_values(spec: FieldSpec, chrom: str, pos: int, info: str, alt_index: int,
                  n_alts: int) -> list[Value]:
    """Canonical values of one ALT of one record, in :attr:`FieldSpec.columns` order
    (without ``filters``)."""
    kv = pick_info(info, spec.wanted)
    out: list[Value] = []
    for name, raw, kind in zip(spec.names, spec.raw, spec.kinds, strict=True):
        text = kv.get(raw)
        if text is not None and n_alts > 1 and raw in spec.per_allele:
            parts = text.split(",")
            text = parts[alt_index] if alt_index < len(parts) else None
        if name == "nhemi" and (chrom not in ("X", "Y") or in_par(spec.build, chrom, pos)):
            text = None
        value = _convert(text, kind)
        if name in _GROUP_NAMES and isinstance(value, str):
            value = value.lower()  # r2.0.1 writes AFR, later releases afr
        out.append(value)
    if spec.faf_groups:
        out.extend(_faf_max(spec, kv, alt_index, n_alts, out))
    elif "faf95_max" in spec.names and "faf95_max_group" not in spec.names:
        out.append(None)
    return out


def _faf_max(spec: FieldSpec, kv: dict[str, str], alt_index: int, n_alts: int,
             direct: list[Value]) -> list[Value]:
    best: dict[str, tuple[float, str] | None] = {"95": None, "99": None}
    for p in ("95", "99"):
        for g in spec.faf_groups:
            text = kv.get(f"faf{p}_{g}")
            if text is not None and n_alts > 1:
                text = text.split(",")[alt_index]
            value = _convert(text, "float")
            if isinstance(value, float) and (best[p] is None or value > best[p][0]):  # type: ignore[index]
                best[p] = (value, g)
    b95, b99 = best["95"], best["99"]
    extra: list[Value] = []
    if "faf95_max" not in spec.names:
        extra.append(b95[0] if b95 else None)
    extra.append(b95[1] if b95 and b95[0] > 0 else None)
    if "faf99_max" not in spec.names:
        extra.append(b99[0] if b99 else None)
    return extra
