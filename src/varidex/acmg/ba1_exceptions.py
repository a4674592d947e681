"""The ClinGen BA1 exception list: shipped as versioned package data, replaceable by a file.

Entries are matched on the normalized variant (canonical chromosome, 1-based position,
minimal alleles) in the build of the gnomAD release, so ``chr6:26093141 G>A`` and
``6-26093141-G-A`` are the same entry on GRCh37.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Final

from varidex.gnomad.contigs import normalize_chrom
from varidex.gnomad.errors import InputFormatError
from varidex.gnomad.keys import normalize_variant, parse_variant_id

SHIPPED: Final = Path(__file__).parent / "data" / "ba1_exceptions.tsv"
COLUMNS: Final = ("gene", "hgvs_c", "hgvs_p", "clinvar_id", "grch37", "grch38")
BUILDS: Final = {"GRCh37": "grch37", "GRCh38": "grch38"}

Key = tuple[str, int, str, str]


@dataclass(frozen=True)
class Ba1Exception:
    """One exempted variant, with its coordinates in each build (None: not given)."""

    gene: str
    hgvs_c: str
    hgvs_p: str
    clinvar_id: str
    grch37: Key | None
    grch38: Key | None

    @property
    def label(self) -> str:
        protein = f" ({self.hgvs_p})" if self.hgvs_p not in ("", ".") else ""
        clinvar = f", ClinVar {self.clinvar_id}" if self.clinvar_id not in ("", ".") else ""
        return f"{self.gene} {self.hgvs_c}{protein}{clinvar}"


@dataclass(frozen=True)
class Ba1ExceptionList:
    """The list as loaded: its entries, where it came from and its version line."""

    entries: tuple[Ba1Exception, ...]
    source: str
    version: str

    def find(self, build: str, chrom: object, pos: int, ref: str, alt: str
             ) -> Ba1Exception | None:
        """The entry a variant is, in ``build`` (GRCh37 or GRCh38), or None.

        >>> shipped = load_ba1_exceptions()
        >>> shipped.find("GRCh37", "chr6", 26093141, "G", "A").gene
        'HFE'
        >>> shipped.find("GRCh38", "6", 26093141, "G", "A") is None
        True
        """
        index = self._indexes.get(build)
        if index is None:
            msg = f"unknown genome build {build!r}; use GRCh37 or GRCh38"
            raise ValueError(msg)
        canonical = normalize_chrom(str(chrom))
        if not any(k[0] == canonical for k in index):
            return None
        key = _key(canonical, pos, ref, alt)
        return None if key is None else index.get(key)

    @cached_property
    def _indexes(self) -> dict[str, dict[Key, Ba1Exception]]:
        out: dict[str, dict[Key, Ba1Exception]] = {}
        for build, column in BUILDS.items():
            out[build] = {getattr(e, column): e for e in self.entries
                          if getattr(e, column) is not None}
        return out


def _key(chrom: str, pos: int, ref: str, alt: str) -> Key | None:
    p, r, a, skip = normalize_variant(int(pos), ref, alt)
    if skip is not None:
        return None
    return normalize_chrom(chrom), p, r, a


def load_ba1_exceptions(path: str | Path | None = None) -> Ba1ExceptionList:
    """Read an exception list (TSV: gene, hgvs_c, hgvs_p, clinvar_id, grch37, grch38, with
    ``#`` comment lines; coordinates as ``CHROM-POS-REF-ALT`` or ``.``). None: the shipped
    ClinGen list."""
    file = SHIPPED if path is None else Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the BA1 exception list: {exc.strerror or exc}"
        raise InputFormatError(msg, path=file) from None
    version = ""
    rows: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("#"):
            if line[1:].strip().lower().startswith("version:"):
                version = line.split(":", 1)[1].strip()
            continue
        if line.strip():
            rows.append((number, line))
    if not rows:
        msg = "empty BA1 exception list: no header line and no entries"
        raise InputFormatError(msg, path=file)
    header_line, header = rows[0]
    names = [c.strip().lower() for c in header.split("\t")]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        msg = (f"header lacks column(s) {', '.join(missing)}; a BA1 exception list is "
               f"tab-separated with columns {', '.join(COLUMNS)} (see {SHIPPED.name})")
        raise InputFormatError(msg, path=file, line=header_line)
    entries: list[Ba1Exception] = []
    for number, line in rows[1:]:
        cells = next(csv.reader([line], delimiter="\t"))
        if len(cells) != len(names):
            msg = (f"{len(cells)} tab-separated cells, the header has {len(names)}; separate "
                   "columns with tabs")
            raise InputFormatError(msg, path=file, line=number)
        row = dict(zip(names, (c.strip() for c in cells), strict=True))
        coords = {b: _coordinate(row[b], file, number, b) for b in ("grch37", "grch38")}
        if coords["grch37"] is None and coords["grch38"] is None:
            msg = "neither a grch37 nor a grch38 coordinate: give at least one"
            raise InputFormatError(msg, path=file, line=number)
        entries.append(Ba1Exception(row["gene"], row["hgvs_c"], row["hgvs_p"],
                                    row["clinvar_id"], coords["grch37"], coords["grch38"]))
    return Ba1ExceptionList(tuple(entries), str(file), version or "unversioned")


def _coordinate(text: str, file: Path, line: int, column: str) -> Key | None:
    if text in ("", "."):
        return None
    try:
        chrom, pos, ref, alt = parse_variant_id(text)
    except (ValueError, InputFormatError) as exc:
        msg = f"column {column}: {exc}"
        raise InputFormatError(msg, path=file, line=line) from None
    key = _key(chrom, pos, ref, alt)
    if key is None:
        msg = (f"column {column}: {text!r} does not have A/C/G/T alleles that differ; write "
               "CHROM-POS-REF-ALT as in a VCF (for example 6-26093141-G-A)")
        raise InputFormatError(msg, path=file, line=line)
    return key
