"""Find the variant columns of a user's table, under any of their usual names."""

from __future__ import annotations

from typing import Final

import pandas as pd

from .errors import InputFormatError

CANONICAL_COLUMNS: Final = ("chromosome", "position", "ref_allele", "alt_allele")

ALIASES: Final[dict[str, tuple[str, ...]]] = {
    "chromosome": ("chromosome", "chrom", "#chrom", "chr", "contig", "seqname", "chromosome_name"),
    "position": ("position", "pos", "start", "bp", "base_pair_location"),
    "ref_allele": ("ref_allele", "ref", "reference", "reference_allele"),
    "alt_allele": ("alt_allele", "alt", "alternate", "alternate_allele", "alt_alleles"),
}


def find_columns(columns: list[str], *, where: str = "input") -> dict[str, str]:
    """Map each canonical column to the input's column name (case-insensitive aliases).

    >>> find_columns(["#CHROM", "POS", "REF", "ALT", "QUAL"])
    {'chromosome': '#CHROM', 'position': 'POS', 'ref_allele': 'REF', 'alt_allele': 'ALT'}
    """
    lower = {str(c).strip().lower(): c for c in columns}
    found: dict[str, str] = {}
    for canon, names in ALIASES.items():
        for name in names:
            if name in lower:
                found[canon] = lower[name]
                break
    missing = [c for c in CANONICAL_COLUMNS if c not in found]
    if missing:
        shown = ", ".join(map(str, columns[:12]))
        hint = "; ".join(f"{c} (or {', '.join(ALIASES[c][1:4])})" for c in missing)
        msg = (f"{where}: missing required column(s): {hint}. Columns found: {shown}. Rename "
               "the columns, or give a VCF")
        if len(columns) == 1 and any(c in str(columns[0]) for c in ",\t;"):
            msg += ("; the one column name holds separators: is the format wrong? "
                    "Use --input-format csv or tsv")
        raise InputFormatError(msg)
    return found


def variant_columns(df: pd.DataFrame, *, where: str = "DataFrame") -> tuple[
        list[object], list[object], list[object], list[object]]:
    """The chromosome, position, ref and alt columns of ``df`` as lists, in row order."""
    names = find_columns(list(df.columns), where=where)
    return tuple(df[names[c]].tolist() for c in CANONICAL_COLUMNS)  # type: ignore[return-value]


def variant_series(df: pd.DataFrame, *, where: str = "DataFrame") -> tuple[
        pd.Series, pd.Series, pd.Series, pd.Series]:
    """The same columns as Series (no Python objects made for text held by Arrow)."""
    names = find_columns(list(df.columns), where=where)
    return tuple(df[names[c]] for c in CANONICAL_COLUMNS)  # type: ignore[return-value]
