"""gnomAD variant IDs as input: ``1-55516888-G-GA`` or ``chr1:55516888:G:GA``.

On the command line (``varidex lookup``) and as a column of a CSV, TSV or Parquet file
(``variant_id``, ``variant``, ``gnomad_id`` or ``gnomad_variant_id``), used when the file
has no chromosome/position/ref/alt columns. Positions are 1-based, as in VCF and in the
gnomAD browser's IDs. The parts may be separated by ``-``, ``:``, ``/``, ``_``, ``>`` or
white space (``1:55505647:G>T`` works too); a chromosome name therefore cannot hold those
characters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from .errors import InputFormatError
from .frames import CANONICAL_COLUMNS, find_columns
from .keys import MAX_POSITION
from .releases import RELEASES

#: Column names (case-insensitive) that hold variant IDs in a table.
ID_COLUMNS: Final = ("variant_id", "variant", "gnomad_id", "gnomad_variant_id")

_SEP: Final = r"[-:_/>\s]+"
_ID: Final = re.compile(rf"^\s*([^-:_/>\s]+){_SEP}(\d+){_SEP}([^-:_/>\s]+){_SEP}([^-:_/>\s]+)\s*$")
_FORMS: Final = ("write it as CHROM-POS-REF-ALT (for example 1-55505647-G-T) or "
                 "CHROM:POS:REF:ALT (chr1:55516888:G:GA)")


def split_ids(ids: Sequence[object] | pd.Series, *, where: str = "input",
              first_line: int | None = None) -> pd.DataFrame:
    """The chromosome, position, ref_allele and alt_allele of each ID, in order.

    ``first_line`` is the file line of the first ID, for error messages.

    >>> split_ids(["1-55516888-G-GA", "chr1:55505647:G:T"]).values.tolist()
    [['1', 55516888, 'G', 'GA'], ['chr1', 55505647, 'G', 'T']]
    """
    text = pd.Series(list(ids), dtype=object).astype(str)
    parts = text.str.extract(_ID)
    bad = parts[0].isna().to_numpy().copy()
    if not bad.all():
        pos = pd.to_numeric(parts[1], errors="coerce").to_numpy(dtype=float)
        bad |= ~((pos >= 1) & (pos <= MAX_POSITION))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        msg = f"cannot read {text.iloc[i]!r} as a variant ID; {_FORMS}"
        line = None if first_line is None else first_line + i
        raise InputFormatError(msg, path=where, line=line)
    out: pd.DataFrame = pd.DataFrame({"chromosome": parts[0].to_numpy(dtype=object),
                                      "position": parts[1].astype("int64").to_numpy(),
                                      "ref_allele": parts[2].to_numpy(dtype=object),
                                      "alt_allele": parts[3].to_numpy(dtype=object)})
    return out


def id_column(columns: Sequence[object]) -> str | None:
    """The variant-ID column of a table that lacks the four variant columns, if any.

    >>> id_column(["sample", "Variant_ID"]), id_column(["chrom", "pos", "ref", "alt"])
    ('Variant_ID', None)
    """
    lower = {str(c).strip().lower(): str(c) for c in columns}
    try:
        find_columns([str(c) for c in columns])
    except InputFormatError:
        return next((lower[n] for n in ID_COLUMNS if n in lower), None)
    return None


def expand_ids(frame: pd.DataFrame, column: str, *, where: str,
               first_line: int | None = None) -> pd.DataFrame:
    """``frame`` with the four variant columns inserted after its ID column."""
    parts = split_ids(frame[column], where=where, first_line=first_line)
    parts.index = frame.index
    at = list(frame.columns).index(column) + 1
    out: pd.DataFrame = frame.copy()
    for k, name in enumerate(CANONICAL_COLUMNS):
        if name in out.columns:
            out = out.drop(columns=name)
        out.insert(min(at + k, len(out.columns)), name, parts[name])
    return out


def parse_ids(ids: Sequence[str]) -> pd.DataFrame:
    """A frame of variants from IDs typed by a user: ``variant_id`` and the four columns."""
    frame = pd.DataFrame({"variant_id": list(ids)})
    return expand_ids(frame, "variant_id", where="variant ID")


#: Every genetic-ancestry group name of every release.
KNOWN_GROUPS: Final = frozenset(g for r in RELEASES.values() for g in r.groups)


def groups_in(frame: pd.DataFrame, prefix: str = "gnomad_") -> list[str]:
    """The groups that have an ``<prefix>af_<group>`` column, in column order."""
    out = []
    for c in frame.columns:
        name = str(c)
        if name.startswith(prefix + "af_") and name[len(prefix) + 3:] in KNOWN_GROUPS:
            out.append(name[len(prefix) + 3:])
    return out


def group_table(row: pd.Series, groups: Sequence[str], prefix: str = "gnomad_") -> pd.DataFrame:
    """Frequencies of one annotated variant by group: a row for the whole cohort (``all``)
    then one per group; columns AF, AC, AN and homozygotes (and hemizygotes where given).
    Missing values (not given by gnomAD) are NaN/<NA>."""
    rows = []
    for label, suffix in [("all", ""), *[(g, f"_{g}") for g in groups]]:
        rows.append({"group": label,
                     "AF": row.get(f"{prefix}af{suffix}"),
                     "AC": row.get(f"{prefix}ac{suffix}"),
                     "AN": row.get(f"{prefix}an{suffix}"),
                     "homozygotes": row.get(f"{prefix}nhomalt{suffix}")})
    table: pd.DataFrame = pd.DataFrame(rows)
    if f"{prefix}nhemi" in row.index and not pd.isna(row[f"{prefix}nhemi"]):
        table["hemizygotes"] = [row[f"{prefix}nhemi"]] + [pd.NA] * len(groups)
    return table


STATUS_TEXT: Final = {
    "found": "found",
    "found_non_pass": "found, but the gnomAD record did not pass gnomAD's filters",
    "absent": "absent: the chromosome's gnomAD file was searched and holds no such allele",
    "no_data": "no data: this gnomAD release has no file or contig for the chromosome "
               "(not evidence of absence)",
    "skipped_star": "skipped: '*' (a deletion spanning the site) is not looked up",
    "skipped_symbolic": "skipped: symbolic alleles are not looked up",
    "invalid_allele": "invalid allele: only A, C, G, T and N, with REF different from ALT",
}


def _cell(value: object, *, fraction: bool = False) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "-"
    if fraction and isinstance(value, (int, float, np.number)):
        return f"{float(value):.6g}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render_lookup(annotated: pd.DataFrame, release: str) -> str:
    """Readable text for annotated variant IDs: per variant its status, then its
    frequencies by group, popmax/grpmax and filtering allele frequencies."""
    blocks = []
    groups = groups_in(annotated)
    datasets = [d for d in ("exomes", "genomes") if f"gnomad_{d}_status" in annotated]
    for _, row in annotated.iterrows():
        status = str(row["gnomad_status"])
        head = (f"{row['variant_id']}  ({row['chromosome']}:{row['position']} "
                f"{row['ref_allele']}>{row['alt_allele']})  gnomAD {release}: "
                f"{STATUS_TEXT.get(status, status)}")
        lines = [head]
        if status in ("found", "found_non_pass"):
            lines.append(f"  FILTER {row.get('gnomad_filters')}")
            table = group_table(row, groups)
            view = pd.DataFrame({c: [_cell(v, fraction=c == "AF") for v in table[c]]
                                 for c in table.columns})
            lines += ["  " + ln for ln in view.to_string(index=False).splitlines()]
            extra = []
            if "gnomad_popmax" in row.index and _cell(row["gnomad_popmax"]) != "-":
                extra.append(f"popmax/grpmax {row['gnomad_popmax']} (AF "
                             f"{_cell(row['gnomad_af_popmax'], fraction=True)})")
            if "gnomad_faf95_max" in row.index:
                extra.append(f"faf95 max {_cell(row['gnomad_faf95_max'], fraction=True)}"
                             f" ({_cell(row.get('gnomad_faf95_max_group'))})")
            if "gnomad_faf99_max" in row.index:
                extra.append(f"faf99 max {_cell(row['gnomad_faf99_max'], fraction=True)}")
            for name in ("af_het", "ac_het", "max_hl"):
                if f"gnomad_{name}" in row.index:
                    extra.append(f"{name} {_cell(row[f'gnomad_{name}'], fraction=True)}")
            if extra:
                lines.append("  " + "; ".join(extra))
        for d in datasets:
            lines.append(f"  {d}: {row[f'gnomad_{d}_status']}, AF "
                         f"{_cell(row.get(f'gnomad_{d}_af'), fraction=True)}, AC "
                         f"{_cell(row.get(f'gnomad_{d}_ac'))}, AN "
                         f"{_cell(row.get(f'gnomad_{d}_an'))}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
