"""Readers and writers of variant tables, chosen by explicit format or file suffix."""

from __future__ import annotations

from .delimited import read_delimited, write_table
from .vcf import read_vcf

FORMATS = ("vcf", "csv", "tsv")


def guess_format(path: str) -> str:
    """Format of a file from its name.

    >>> guess_format("calls.vcf.gz"), guess_format("x.CSV"), guess_format("panel.txt")
    ('vcf', 'csv', 'tsv')
    """
    name = path.lower()
    for suffix in (".gz", ".bgz"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(".vcf"):
        return "vcf"
    if name.endswith(".csv"):
        return "csv"
    return "tsv"


__all__ = ["FORMATS", "guess_format", "read_delimited", "read_vcf", "write_table"]
