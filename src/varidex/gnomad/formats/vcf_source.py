"""A VCF read for VCF output: its header lines, then its records in batches, kept as read.

The records go back out unchanged (:mod:`varidex.gnomad.formats.vcf_writer`); each batch
also carries the canonical frame (one row per ALT allele, as :func:`iter_vcf` gives) that is
looked up.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

import pandas as pd

from ..errors import InputFormatError
from .base import InputBatch
from .vcf import VCF_COLUMNS, _check_records, _frame, _open_text, contig_length


@dataclass
class VcfHeader:
    """The header of an input VCF: its ``##`` lines and its ``#CHROM`` line."""

    meta: list[str]
    columns: str
    contig_lengths: dict[str, int] = field(default_factory=dict)
    path: str = ""


class VcfSource:
    """A VCF read for VCF output: the header, then the records in batches, each record
    kept as read (split into its first eight columns and the rest).

    Usage::

        source = VcfSource("calls.vcf.gz", batch_rows=250_000)
        for batch in source.batches():   # InputBatch: frame (one row per ALT) + records
            ...
    """

    def __init__(self, path: str, *, batch_rows: int) -> None:
        self.path = path
        self.batch_rows = batch_rows
        self._handle = _open_text(path)
        meta: list[str] = []
        columns = ""
        lengths: dict[str, int] = {}
        try:
            for line in self._handle:
                if line.startswith("##"):
                    meta.append(line.rstrip("\r\n"))
                    declared = contig_length(line)
                    if declared is not None:
                        lengths[declared[0]] = declared[1]
                    continue
                if line.startswith("#CHROM"):
                    columns = line.rstrip("\r\n")
                break
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            self.close()
            msg = f"cannot read ({exc}); is the file complete?"
            raise InputFormatError(msg, path=path) from exc
        if not columns:
            self.close()
            msg = ("empty file, or not a VCF (no #CHROM header line)" if not meta
                   else "no #CHROM header line; is this a VCF?")
            raise InputFormatError(msg, path=path)
        self.header = VcfHeader(meta, columns, lengths, path)

    def close(self) -> None:
        if self.path != "-":
            self._handle.close()

    def batches(self) -> Iterator[InputBatch]:
        """Batches of about ``batch_rows`` records, blank lines skipped."""
        lines_before = len(self.header.meta) + 1
        before = 0
        try:
            while True:
                raw = list(itertools.islice(self._handle, self.batch_rows))
                if not raw:
                    break
                records: list[list[str]] = []
                numbers: list[int] = []
                for i, line in enumerate(raw):
                    text = line.rstrip("\r\n")
                    if text.strip():
                        records.append(text.split("\t", 8))
                        numbers.append(lines_before + i + 1)
                lines_before += len(raw)
                if records:
                    yield InputBatch(self._frame(records, numbers, before), records,
                                     before + 1)
                    before += len(records)
        except (OSError, EOFError, UnicodeDecodeError) as exc:
            msg = f"cannot read ({exc}); is the file complete?"
            raise InputFormatError(msg, path=self.path) from exc
        finally:
            self.close()
        if before == 0:
            yield InputBatch(_frame([], 0, self.header.contig_lengths), [], 1)

    def _frame(self, records: list[list[str]], numbers: list[int],
               before: int) -> pd.DataFrame:
        for cols, number in zip(records, numbers, strict=True):
            if len(cols) < 5:
                msg = (f"a VCF record needs at least 5 tab-separated columns (CHROM POS ID "
                       f"REF ALT), found {len(cols)}")
                raise InputFormatError(msg, path=self.path, line=number)
            if len(cols) < 8:
                cols.extend(["."] * (8 - len(cols)))
        part = pd.DataFrame([c[:7] for c in records], columns=list(VCF_COLUMNS), dtype=object)
        try:
            _check_records(part, self.path, 0)  # counts lines from 1 within this batch
        except InputFormatError as exc:
            if exc.line is None:
                raise
            message = str(exc).removeprefix(f"{self.path}, line {exc.line}: ")
            raise InputFormatError(message, path=self.path,
                                   line=numbers[exc.line - 1]) from None
        return _frame(part, before, self.header.contig_lengths)
