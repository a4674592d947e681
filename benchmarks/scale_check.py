#!/usr/bin/env python3
"""Scale check: annotate_dataframe on a generated query set against a generated release.

Uses the data `make bench` caches (generated with ../shared/tools; see bench.py). Checks that
every input row comes back, in input order, and that each allele's AF equals the generator's
truth table wherever the truth needs no left-alignment (those need --reference).

    python benchmarks/scale_check.py [--size 10000] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import pandas as pd

from varidex.gnomad.keys import trim_alleles
from varidex.io.loaders.gnomad import GnomADLoader


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--cache", default=os.environ.get(
        "VARIDEX_BENCH_CACHE", str(Path.home() / ".cache" / "varidex-bench")))
    a = ap.parse_args()
    cache = Path(a.cache)
    df = pd.read_csv(cache / "queries" / f"q.{a.size}.csv", dtype=str, keep_default_na=False)
    started = time.perf_counter()
    with GnomADLoader(cache / "gnomad", dataset="exomes", version="r2.1.1",
                      max_workers=a.workers) as loader:
        out = loader.annotate_dataframe(df)
    seconds = time.perf_counter() - started
    assert len(out) == len(df), (len(out), len(df))
    for col in df.columns:
        assert out[col].tolist() == df[col].tolist(), f"column {col} out of order"
    agree = shifted = multi = 0
    with (cache / "queries" / f"q.{a.size}.truth.tsv").open() as handle:
        truth = {int(r["csv_row"]): r for r in csv.DictReader(handle, delimiter="\t")}
    for i, row in enumerate(out.itertuples(index=False)):
        t = truth[i + 1]
        if "," in row.alt_allele:
            multi += 1  # one cell, several ALTs: invalid_allele in a frame (files split them)
            assert row.gnomad_status == "invalid_allele"
            continue
        p, r, al = trim_alleles(int(row.position), row.ref_allele.upper(),
                                row.alt_allele.upper())
        if f"{p}:{r}:{al}" != t["norm_keys"].split(":", 1)[1]:
            shifted += 1
            assert row.gnomad_status == "absent"
            continue
        if t["expected_present"] == "1":
            assert row.gnomad_status in ("found", "found_non_pass")
            if t["expected_AF"] != ".":
                assert abs(row.gnomad_af - float(t["expected_AF"])) <= 1e-9 * float(
                    t["expected_AF"]) or row.gnomad_af == float(t["expected_AF"])
        else:
            assert row.gnomad_status == "absent"
        agree += 1
    print(f"{len(df)} rows in, {len(out)} rows out, in input order; {agree} agree with the "
          f"truth table, {shifted} need left-alignment (absent without --reference), {multi} "
          f"multi-ALT cells (invalid_allele in a frame); {seconds:.1f} s with "
          f"{a.workers} worker(s)")


if __name__ == "__main__":
    main()
