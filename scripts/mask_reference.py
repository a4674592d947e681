#!/usr/bin/env python3
"""Shrink a generated reference FASTA for the tests: keep the bases within --flank bp of each
query position of a make_queries.py CSV, write N everywhere else, and bgzip + faidx it.

The result has the same contigs, lengths and coordinates as the generator's reference (so
left-alignment near the queries is unchanged) but compresses to a few hundred KB.

    python scripts/mask_reference.py REF.fa QUERIES.csv OUT.fa.gz [--flank 500]
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from pathlib import Path

import pysam


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reference")
    ap.add_argument("queries")
    ap.add_argument("out")
    ap.add_argument("--flank", type=int, default=500)
    a = ap.parse_args()
    fasta = pysam.FastaFile(a.reference)
    names = {n.removeprefix("chr"): n for n in fasta.references}
    keep: dict[str, list[tuple[int, int]]] = defaultdict(list)
    with Path(a.queries).open() as handle:
        for row in csv.DictReader(handle):
            name = names[row["chromosome"].removeprefix("chr")]
            pos = int(row["position"])
            keep[name].append((max(0, pos - 1 - a.flank), pos + a.flank))
    plain = a.out.removesuffix(".gz")
    with Path(plain).open("w") as out:
        for name, length in zip(fasta.references, fasta.lengths, strict=True):
            seq = bytearray(b"N" * length)
            for start0, end in keep.get(name, []):
                end = min(end, length)
                seq[start0:end] = fasta.fetch(name, start0, end).encode()
            out.write(f">{name}\n")
            for i in range(0, length, 60):
                out.write(seq[i:i + 60].decode() + "\n")
    pysam.tabix_compress(plain, a.out, force=True)
    pysam.faidx(a.out)
    Path(plain).unlink()


if __name__ == "__main__":
    main()
