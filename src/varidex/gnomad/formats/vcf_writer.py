"""VCF in, VCF out: every input record kept, in order, with gnomAD values as INFO fields.

Each ALT allele is looked up on its own; the values are joined back per record in ALT
order (``Number=A``: ``gnomad_af=0.01,.`` for a record whose second ALT has no value). A
key whose alleles all lack a value is left out of the record. String values are
percent-encoded as VCF 4.3 asks (``AC0;RF`` becomes ``AC0%3BRF``).

The header keeps the input's lines, declares what the input used without declaring
(contigs, FILTER, INFO and FORMAT keys, so that readers such as bcftools need not guess and
warn), adds one ``##INFO`` line per gnomAD field and a ``##varidex=`` provenance line.
Re-annotation: every ``gnomad_*`` INFO field of an earlier annotation is dropped from the
records, with its ``##INFO`` line and the earlier ``##varidex=`` line (the provenance of
values no longer there), also those this run does not give; this run's replace them. The
body is buffered in a temporary file until the end, because those declarations are only
known once every record has been read. Records of an input with fewer than eight columns get
``.`` for QUAL and FILTER and the INFO column, and its ``#CHROM`` line gets the same columns
(:func:`chrom_line`), as the VCF specification asks.
"""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import numpy as np
import pandas as pd

from ..annotate import replaced_text
from ..errors import InputFormatError
from ..provenance import Provenance
from .base import InputBatch
from .bgzf import BgzfWriter
from .delimited import AtomicOutput
from .vcf_source import VcfHeader

#: Characters with a meaning in INFO values, and their VCF 4.3 percent-encoding (a space
#: is encoded too: VCF 4.2 allows no white space in INFO).
INFO_ESCAPES: Final = {"%": "%25", ";": "%3B", "=": "%3D", ",": "%2C", ":": "%3A",
                       " ": "%20", "\t": "%09", "\n": "%0A", "\r": "%0D"}
_ESCAPE: Final = str.maketrans(INFO_ESCAPES)
logger = logging.getLogger(__name__)
#: INFO keys with these prefixes are varidex's (gnomAD values, ACMG evidence): an earlier
#: annotation's are dropped.
PREFIXES: Final = ("gnomad_", "acmg_")
_ID: Final = re.compile(r"^##(INFO|FORMAT|FILTER|contig)=<ID=([^,>]+)")
_INFO_KEYS: Final = re.compile(r"(?:^|;)([^;=]+)")
#: Records whose output text is built and written at a time (bounds the memory it takes).
WRITE_SLICE: Final = 20_000
#: The eight fixed columns every VCF record has.
FIXED_COLUMNS: Final = ("#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO")
_NOT_DECLARED: Final = ("Used in the input but not declared in its header; declared by "
                        "varidex as the VCF specification assumes")


def escape_info(text: str) -> str:
    """Percent-encode the characters INFO values may not hold.

    >>> escape_info("AC0;RF"), escape_info("a=b, c%")
    ('AC0%3BRF', 'a%3Db%2C%20c%25')
    """
    return text.translate(_ESCAPE)


def chrom_line(columns: str) -> str:
    r"""The output's ``#CHROM`` line for the input's: the records are written with at least
    the eight fixed columns (an input VCF may stop after ALT), so the line names them all.

    >>> chrom_line("#CHROM\tPOS\tID\tREF\tALT").split("\t")
    ['#CHROM', 'POS', 'ID', 'REF', 'ALT', 'QUAL', 'FILTER', 'INFO']
    >>> chrom_line("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1").count("\t")
    9
    """
    names = columns.split("\t")
    if len(names) >= len(FIXED_COLUMNS):
        return columns
    return "\t".join([*names, *FIXED_COLUMNS[len(names):]])


_BASES: Final = {
    "af": "allele frequency (a fraction)",
    "ac": "allele count",
    "an": "allele number (called alleles)",
    "nhomalt": "number of homozygous individuals",
    "nhemi": "number of hemizygous (XY or male) individuals, outside the pseudo-autosomal "
             "regions of X and Y only",
    "popmax": "genetic-ancestry group with the highest allele frequency (popmax/grpmax)",
    "grpmax": "genetic-ancestry group with the highest allele frequency (popmax/grpmax)",
    "af_popmax": "allele frequency of the popmax/grpmax group",
    "af_grpmax": "allele frequency of the popmax/grpmax group",
    "faf95_max": "maximum over groups of the filtering allele frequency (95% confidence)",
    "faf95_max_group": "group of the maximum filtering allele frequency (95%)",
    "faf99_max": "maximum over groups of the filtering allele frequency (99% confidence)",
    "filters": "FILTER of the matched gnomAD record (PASS or the failed filters)",
    "af_het": "heteroplasmic allele frequency (mitochondrial release)",
    "ac_het": "heteroplasmic allele count (mitochondrial release)",
    "max_hl": "maximum heteroplasmy level (mitochondrial release)",
    "status": "varidex match status: found, found_non_pass (FILTER not PASS), absent "
              "(the chromosome's file was searched, no such allele), no_data (no gnomAD file "
              "or contig for the chromosome: not evidence of absence), skipped_star, "
              "skipped_symbolic, invalid_allele",
    "pass_filter": "true when the allele passes the configured frequency filter (max_af, "
                   "min_ac, populations), false when it fails, missing when it cannot be "
                   "assessed",
}


#: Descriptions of the ACMG evidence fields (``--acmg``), by suffix.
_ACMG_PARTS: Final = {
    "": "met, not_met or not_applicable",
    "_value": "the value the criterion used",
    "_group": "the genetic-ancestry group of that value",
    "_threshold": "the threshold it was compared with",
    "_reason": "one-line reason (percent-encoded)",
}
_ACMG_OTHERS: Final = {
    "acmg_faf95": "grpmax filtering allele frequency (95% confidence) used",
    "acmg_faf95_group": "its genetic-ancestry group",
    "acmg_faf99": "grpmax filtering allele frequency (99% confidence)",
    "acmg_faf_source": "gnomAD (from the release) or computed (from AC and AN)",
    "acmg_review": "criteria a person should review (semicolon-separated, percent-encoded)",
}


def _describe_acmg(column: str) -> str:
    """The ``Description`` of an ACMG evidence INFO field.

    >>> _describe_acmg("acmg_pm2_supporting_reason")
    'ACMG/AMP PM2_Supporting (ClinGen SVI): one-line reason (percent-encoded)'
    """
    if column in _ACMG_OTHERS:
        return f"ACMG/AMP population evidence: {_ACMG_OTHERS[column]}"
    for suffix in ("_value", "_group", "_threshold", "_reason", ""):
        for name in ("ba1", "bs1", "bs2", "pm2_supporting"):
            if column == f"acmg_{name}{suffix}":
                label = "PM2_Supporting" if name == "pm2_supporting" else name.upper()
                return f"ACMG/AMP {label} (ClinGen SVI): {_ACMG_PARTS[suffix]}"
    return f"ACMG/AMP population evidence: {column.removeprefix('acmg_')}"


def describe(column: str, release: str) -> str:
    """The ``Description`` of a gnomAD INFO field (or an ACMG evidence field).

    >>> describe("gnomad_af_nfe", "r2.1.1/exomes")
    'gnomAD r2.1.1/exomes: allele frequency (a fraction), genetic-ancestry group nfe'
    >>> describe("gnomad_genomes_ac", "r2.1.1/exomes+genomes")
    'gnomAD r2.1.1 genomes: allele count'
    """
    if column.startswith("acmg_"):
        return _describe_acmg(column)
    name = column.removeprefix("gnomad_")
    source = f"gnomAD {release}"
    for ds in ("exomes", "genomes", "joint"):
        if name.startswith(ds + "_"):
            name = name[len(ds) + 1:]
            source = f"gnomAD {release.split('/')[0]} {ds}"
    if name in _BASES:
        return f"{source}: {_BASES[name]}"
    for base in ("af", "ac", "an", "nhomalt"):
        if name.startswith(base + "_"):
            return f"{source}: {_BASES[base]}, genetic-ancestry group {name[len(base) + 1:]}"
    return f"{source}: {name}"


def _vcf_type(series: pd.Series) -> str:
    kind = series.dtype.kind
    if kind == "f":
        return "Float"
    if kind in "iu":
        return "Integer"
    return "String"


def value_strings(series: pd.Series) -> list[str | None]:
    """Each value as VCF text, None where missing: numbers as the TSV writer writes them
    (Arrow's shortest round-trip form), booleans as ``true``/``false``, text escaped.

    >>> value_strings(pd.Series([0.0119305, float("nan")]))
    ['0.0119305', None]
    >>> value_strings(pd.Series(["AC0;RF", None], dtype=object))
    ['AC0%3BRF', None]
    >>> value_strings(pd.Series([True, None, False], dtype="boolean"))
    ['true', None, 'false']
    """
    out: list[str | None] = _value_array(series).to_pylist()
    return out


def _value_array(series: pd.Series) -> Any:
    """:func:`value_strings` as an Arrow string array (null where missing)."""
    import pyarrow as pa

    kind = series.dtype.kind
    if kind == "b" or str(series.dtype) == "boolean":
        return pa.array([None if v is None or v is pd.NA else ("true" if v else "false")
                         for v in series.tolist()], type=pa.string())
    if kind in "fiu" or str(series.dtype) in ("Int64", "Float64"):
        return pa.Array.from_pandas(series).cast(pa.string())
    values = series.astype(object)
    escaped = {v: (None if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                   else escape_info(str(v))) for v in pd.unique(values)}
    return pa.array([escaped[v] for v in values.tolist()], type=pa.string())


class VcfWriter:
    """The annotated VCF: the input's records with gnomAD INFO fields, atomically written;
    bgzipped and tabix-indexed when the name ends in ``.gz`` (``-`` = stdout)."""

    def __init__(self, path: str, header: VcfHeader, provenance: Provenance) -> None:
        self.path = path
        self.header = header
        self.provenance = provenance
        self._out = AtomicOutput(path, index_vcf=True)
        folder = None if path == "-" else Path(path).parent
        # Closed in __exit__: it lives across write() calls. The header comes first but is
        # known only at the end (contigs, filters and INFO keys to declare), so the records
        # wait in a temporary file: for a .gz output already as BGZF blocks, compressed
        # while the next batches are looked up, and appended after the header's blocks.
        self._body_file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115 - see above
            dir=folder, prefix=".varidex-body-")
        self._body: IO[bytes] | BgzfWriter = (
            BgzfWriter(self._body_file) if self._out.bgzipped else self._body_file)
        self._columns: list[str] | None = None
        self._types: dict[str, str] = {}
        self._seen: dict[str, set[str]] = {"contig": set(), "FILTER": set(), "INFO": set(),
                                           "FORMAT": set()}
        self.records_read = 0
        self.records_written = 0
        self._dropped: set[str] = set()  # INFO keys of an earlier annotation

    def __enter__(self) -> VcfWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if isinstance(self._body, BgzfWriter):
                self._body.close(eof=False, close_raw=False)
            if exc_type is None:
                self._out.write_bytes(("\n".join(self._header_lines()) + "\n").encode())
                self._body_file.seek(0)
                append = (self._out.write_blocks if isinstance(self._body, BgzfWriter)
                          else self._out.write_bytes)
                while chunk := self._body_file.read(1 << 22):
                    append(chunk)
        except BaseException as err:
            self._body_file.close()
            self._out.__exit__(type(err), err, err.__traceback__)
            raise
        self._body_file.close()
        self._out.__exit__(exc_type, exc, tb)

    def write(self, frame: pd.DataFrame, batch: InputBatch | None = None, *,
              keep: np.ndarray | None = None) -> None:
        if batch is None or batch.records is None:
            msg = "VCF output needs VCF input (its records are written back with INFO added)"
            raise InputFormatError(msg, path=self.path)
        records = batch.records
        if self._columns is None:
            self._columns = [c for c in frame.columns
                             if str(c).startswith(PREFIXES) and c != "gnomad_release"]
            self._types = {c: _vcf_type(frame[c]) for c in self._columns}
        self._note_undeclared(frame, records)
        n = len(records)
        rec = frame["vcf_record"].to_numpy(dtype=np.int64) - batch.first_record
        counts = np.bincount(rec, minlength=n)  # rows (ALTs) per record, in record order
        ends = np.cumsum(counts)
        keep_record = None
        if keep is not None:
            keep_record = np.bincount(rec, weights=np.asarray(keep, dtype=float),
                                      minlength=n) > 0
        # Records in slices: the text built for a slice is written before the next one.
        for k0 in range(0, n, WRITE_SLICE):
            k1 = min(n, k0 + WRITE_SLICE)
            r0 = int(ends[k0 - 1]) if k0 else 0
            additions = self._additions(frame.iloc[r0:int(ends[k1 - 1])], counts[k0:k1])
            lines = self._lines(records[k0:k1], additions,
                                None if keep_record is None else keep_record[k0:k1])
            if lines:
                self._body.write(("\n".join(lines) + "\n").encode())
            self.records_written += len(lines)
        self.records_read += n

    def _lines(self, records: list[list[str]], additions: list[str],
               keep: np.ndarray | None) -> list[str]:
        lines: list[str] = []
        dropped = self._dropped
        for k, cols in enumerate(records):
            if keep is not None and not keep[k]:
                continue
            info = cols[7]
            if "gnomad_" in info or "acmg_" in info:  # annotated before: its fields go
                kept = []
                for item in info.split(";"):
                    key = item.split("=", 1)[0]
                    if key.startswith(PREFIXES):
                        dropped.add(key)
                    else:
                        kept.append(item)
                info = ";".join(kept)
            if info in ("", "."):
                info = additions[k][1:] or "."
            else:
                info += additions[k]
            lines.append("\t".join([*cols[:7], info, *cols[8:]]))
        return lines

    def _additions(self, rows: pd.DataFrame, counts: np.ndarray) -> list[str]:
        """``;key=value...`` to append to each record's INFO, values joined in ALT order;
        ``rows`` are the records' ALT rows, ``counts`` how many each record has."""
        import pyarrow as pa
        import pyarrow.compute as pc

        n = len(counts)
        if not self._columns or n == 0:
            return [""] * n
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        arrays = {c: _value_array(rows[c]) for c in self._columns}
        # Records with one ALT (nearly all): ";key=value" pieces joined in Arrow.
        pieces = [pc.fill_null(pc.binary_join_element_wise(pa.scalar(f";{c}="), a, ""), "")
                  for c, a in arrays.items()]
        joined = pc.binary_join_element_wise(*pieces, "")
        out: list[str] = joined.take(pa.array(starts)).to_pylist()
        multi = np.flatnonzero(counts > 1)
        if len(multi):
            lists = {c: a.to_pylist() for c, a in arrays.items()}
            for k in multi.tolist():
                s, m = int(starts[k]), int(counts[k])
                parts: list[str] = []
                for c, col in lists.items():
                    vals = col[s:s + m]
                    if any(v is not None for v in vals):
                        parts.append(f";{c}=" + ",".join("." if v is None else v for v in vals))
                out[k] = "".join(parts)
        return out

    def _note_undeclared(self, frame: pd.DataFrame, records: list[list[str]]) -> None:
        seen = self._seen
        seen["contig"].update(str(c) for c in pd.unique(frame["chromosome"]))
        for value in pd.unique(frame["filter"]):
            seen["FILTER"].update(f for f in str(value).split(";") if f not in ("", ".", "PASS"))
        infos = ";".join(cols[7] for cols in records)
        seen["INFO"].update(k for k in _INFO_KEYS.findall(infos) if k != ".")
        formats = {cols[8].split("\t", 1)[0] for cols in records if len(cols) > 8}
        for f in formats:
            seen["FORMAT"].update(k for k in f.split(":") if k and k != ".")

    def _header_lines(self) -> list[str]:
        columns = self._columns or []
        ours = set(columns)
        meta = list(self.header.meta)
        declared: dict[str, set[str]] = {k: set() for k in self._seen}
        for line in meta:
            m = _ID.match(line)
            if m:
                declared[m.group(1)].add(m.group(2))
        out: list[str] = []
        if not meta or not meta[0].startswith("##fileformat="):
            out.append("##fileformat=VCFv4.2")
        dropped = self._dropped
        for line in meta:
            m = _ID.match(line)
            if m and m.group(1) == "INFO" and m.group(2).startswith(PREFIXES):
                dropped.add(m.group(2))
                continue  # an earlier annotation's: this run's definitions are below
            if line.startswith("##varidex="):
                continue  # the earlier annotation's provenance: replaced below
            out.append(line)
        if dropped:
            logger.info("%s: re-annotation: dropped the %d gnomad_*/acmg_* INFO fields of an "
                        "earlier annotation: %s", self.header.path or "input", len(dropped),
                        replaced_text(sorted(dropped), ours))
        seen = self._seen
        seen["INFO"] = {k for k in seen["INFO"] if not k.startswith(PREFIXES)}
        for name in sorted(seen["FILTER"] - declared["FILTER"]):
            out.append(f'##FILTER=<ID={name},Description="{_NOT_DECLARED}">')
        for name in sorted(seen["INFO"] - declared["INFO"]):
            out.append(f'##INFO=<ID={name},Number=.,Type=String,Description="{_NOT_DECLARED}">')
        for name in sorted(seen["FORMAT"] - declared["FORMAT"]):
            out.append(f'##FORMAT=<ID={name},Number=.,Type=String,'
                       f'Description="{_NOT_DECLARED}">')
        for name in sorted(seen["contig"] - declared["contig"]):
            out.append(f"##contig=<ID={name}>")
        release = self.provenance.release
        for c in columns:
            out.append(f'##INFO=<ID={c},Number=A,Type={self._types[c]},'
                       f'Description="{describe(c, release)}">')
        out.append(self.provenance.vcf_line())
        out.append(chrom_line(self.header.columns))
        return out
