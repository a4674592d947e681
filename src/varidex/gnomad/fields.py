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

    @cached_property
    def scan_kinds(self) -> bytes:
        """For the record scanner: ``t`` (text) or ``n`` (number) for each :attr:`wanted`
        key."""
        return b"".join(b"t" if k == "str" else b"n" for k in self.kinds) + b"n" * (
            len(self.wanted) - len(self.raw))

    @cached_property
    def scan_per_allele(self) -> bytes:
        """For the record scanner: 1 for each :attr:`wanted` key that holds one value per
        ALT (split on multi-allelic records), else 0."""
        return bytes(int(k in self.per_allele or k.startswith("faf9")) for k in self.wanted)

    @cached_property
    def scan_slots(self) -> tuple[int, ...]:
        """Column of each :attr:`wanted` key among the scanner's numbers or texts."""
        count = {"t": 0, "n": 0}
        slots = []
        for kind in self.scan_kinds.decode():
            slots.append(count[kind])
            count[kind] += 1
        return tuple(slots)

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


@dataclass
class RawHits:
    """What the record scanner (``_scan.Scanner``) read for matched records, one row per
    record: ``numbers`` (records x numeric keys, NaN where absent or a missing marker),
    ``texts`` (records x text keys, str or None), and ``fallbacks``: (record, numeric key,
    text) for values that are not plain decimals, judged here by :func:`_typed`."""

    chrom: np.ndarray     # canonical chromosome of each record (object)
    pos: np.ndarray       # int64: the matched allele's minimal position
    numbers: np.ndarray   # float64, shape (records, numeric keys)
    texts: np.ndarray     # object, shape (records, text keys)
    fallbacks: list[tuple[int, int, str]]
    filters: np.ndarray   # object


def extract(info: str, keys: tuple[str, ...]) -> tuple[str | None, ...]:
    """The raw text of ``keys`` in an INFO column, None where absent (see
    :func:`pick_info`).

    >>> extract("AC=2;AN=10;AF=0.2", ("AF", "AC", "nhomalt"))
    ('0.2', '2', None)
    """
    found = pick_info(info, keys)
    return tuple(found.get(k) for k in keys)

def raw_hits(spec: FieldSpec, chrom: np.ndarray, pos: np.ndarray,
             raws: list[tuple[str | None, ...]], alt_index: list[int], n_alts: list[int],
             filters: list[str]) -> RawHits:
    """:class:`RawHits` from INFO text read in Python (:func:`extract`, one tuple of
    :attr:`FieldSpec.wanted` values per record), for readers that take every record (the
    store build) rather than the scanner's matches: per-ALT values of multi-allelic records
    picked as the scanner picks them, and numbers read as Python's ``float()`` reads them
    (numpy's object-to-float conversion calls it), so :func:`build_columns` gives both
    paths the same values and the same errors."""
    n = len(raws)
    keys = spec.wanted
    cols: list[list[str | None]] = [list(c) for c in zip(*raws, strict=True)] if n else [
        [] for _ in keys]
    multi = [i for i in range(n) if n_alts[i] > 1]
    per_allele = spec.scan_per_allele
    for j in range(len(keys)):
        if multi and per_allele[j]:  # r2.0.1: Number=A values, one per ALT
            split = cols[j]
            for i in multi:
                text = split[i]
                if text is not None:
                    parts = text.split(",")
                    split[i] = parts[alt_index[i]] if alt_index[i] < len(parts) else None
    kinds = spec.scan_kinds.decode()
    slots = spec.scan_slots
    numbers = np.full((n, kinds.count("n")), np.nan)
    texts = np.full((n, kinds.count("t")), None, dtype=object)
    fallbacks: list[tuple[int, int, str]] = []
    for j, kind in enumerate(kinds):
        col = cols[j]
        if kind == "t":
            texts[:, slots[j]] = col
            continue
        present = [i for i, v in enumerate(col) if v is not None and v not in _MISSING]
        if not present:
            continue
        given = [str(col[i]) for i in present]
        try:
            values = np.array(given, dtype=object).astype(np.float64)
        except ValueError:
            fallbacks.extend((i, slots[j], t) for i, t in zip(present, given, strict=True))
            continue
        odd = np.isnan(values) | np.fromiter(("_" in t for t in given), dtype=np.bool_,
                                              count=len(given))
        numbers[present, slots[j]] = values
        for k in np.flatnonzero(odd):  # judged, and reported, as the scanner's fallbacks
            fallbacks.append((present[k], slots[j], given[k]))
    return RawHits(chrom, pos, numbers, texts, fallbacks, np.array(filters, dtype=object))


def build_columns(spec: FieldSpec, hits: RawHits) -> list[np.ndarray]:
    """Typed columns (:attr:`FieldSpec.columns` order) for matched records, converted
    column by column: floats with NaN, ints as float64 here (exact below 2**53), text as
    objects."""
    n = len(hits.pos)
    slots = spec.scan_slots
    pending: dict[int, list[tuple[int, str]]] = {}
    for row, slot, text in hits.fallbacks:
        pending.setdefault(slot, []).append((row, text))

    def number(j: int, key: str, keep: np.ndarray | None = None) -> np.ndarray:
        values = hits.numbers[:, slots[j]].copy() if n else np.zeros(0)
        odd = pending.get(slots[j], [])
        if keep is not None:
            odd = [(r, t) for r, t in odd if keep[r]]
        if odd:
            rows = np.array([r for r, _ in odd], dtype=np.int64)
            values[rows] = _typed([t for _, t in odd], "float", key, hits.pos[rows])
        return values

    out: list[np.ndarray] = []
    for j, (name, raw, kind) in enumerate(zip(spec.names, spec.raw, spec.kinds, strict=True)):
        if kind == "str":
            lower = name in _GROUP_NAMES
            col = hits.texts[:, slots[j]] if n else np.zeros(0, dtype=object)
            out.append(np.array([None if v is None or v in _MISSING else (
                v.lower() if lower else v) for v in col], dtype=object))
            continue
        keep = _hemizygous(spec.build, hits.chrom, hits.pos) if name == "nhemi" else None
        values = number(j, raw, keep)
        if keep is not None:
            values[~keep] = np.nan
        if kind == "int":
            _check_whole(values, raw, hits, slots[j])
        out.append(values)
    if spec.faf_groups:
        at = {k: j for j, k in enumerate(spec.wanted) if j >= len(spec.raw)}
        out.extend(_faf_columns(spec, {k: number(j, k) for k, j in at.items()}, n))
    elif "faf95_max" in spec.names and "faf95_max_group" not in spec.names:
        out.append(np.full(n, None, dtype=object))
    out.append(hits.filters)
    return out


def _hemizygous(build: str, chrom: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Where hemizygote counts exist: on X and Y outside their pseudo-autosomal regions."""
    keep = np.zeros(len(pos), dtype=bool)
    for sex_chrom in ("X", "Y"):
        on = chrom == sex_chrom
        par = np.zeros(len(pos), dtype=bool)
        for start, end in PAR.get(build, {}).get(sex_chrom, ()):
            par |= (pos >= start) & (pos <= end)
        keep |= on & ~par
    return keep


def _check_whole(values: np.ndarray, key: str, hits: RawHits, slot: int) -> None:
    """Counts must be whole numbers that float64 holds exactly."""
    finite = np.isnan(values) | ((np.abs(values) <= _EXACT) & (values == np.floor(values)))
    if finite.all():
        return
    i = int(np.flatnonzero(~finite)[0])
    text = next((t for r, s, t in hits.fallbacks if r == i and s == slot), None)
    shown = repr(text) if text is not None else repr(float(values[i]))
    msg = f"{key}={shown} is not a whole number below 2**53"
    raise BadValue(msg, int(hits.pos[i]))


def _typed(texts: list[str], kind: str, key: str, pos: np.ndarray) -> np.ndarray:
    """Values the scanner did not take as plain decimals, read as Python's ``float()`` reads
    them (``inf``, ``1e400``, surrounding blanks); what ``float()`` cannot read, or reads
    although it is no number (``-nan``, ``NAN``, ``1_0``), is an error naming the value."""
    assert kind == "float"
    values = np.empty(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        try:
            value = float(text)
        except ValueError:
            value = np.nan
        if np.isnan(value) or "_" in text:
            msg = f"non-numeric {key}={text!r}"
            raise BadValue(msg, int(pos[i]))
        values[i] = value
    return values


_EXACT = float(2**53)  # integers above this are not exact as float64


def _faf_columns(spec: FieldSpec, numbers: dict[str, np.ndarray],
                 n: int) -> list[np.ndarray]:
    best: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for p in ("95", "99"):
        stack = np.vstack([numbers[f"faf{p}_{g}"] for g in spec.faf_groups]) if n else \
            np.zeros((1, 0))
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
