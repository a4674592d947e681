#!/usr/bin/env python3
"""Recompute every filtering allele frequency (faf95/faf99 field, each group, XX/XY, subset)
of gnomAD sites VCFs from their AC and AN with varidex, and count agreements.

    python scripts/check_faf.py DIR_OR_FILE [...]

A value agrees when varidex's, printed as gnomAD prints it (Java's %.6g), is within a
relative 1e-6 of the file's. r2.1.1 files are computed with ``stop_confidence=0.95`` (the
Hail of 2018); their singleton fields hold either 0 or the 2018 singleton value, both
counted as agreeing. Prints one line per file and the disagreements (at most 10 per file).
"""

from __future__ import annotations

import argparse
import gzip
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from varidex.acmg.faf import filtering_af

FAF_KEY = re.compile(r"^(?P<prefix>.*?)faf(?P<ci>95|99)(?P<suffix>.*)$")


def printed(x: float) -> float:
    if x == 0:
        return 0.0
    d = Decimal(repr(x))
    return float(d.quantize(Decimal(1).scaleb(d.adjusted() - 5), rounding=ROUND_HALF_UP))


def agrees(computed: float, text: str) -> bool:
    value = float(text)
    return abs(printed(computed) - value) <= 1e-6 * abs(value) if value else computed == 0


def check(path: Path) -> tuple[int, int, list[str]]:
    r211 = "r2.1.1" in path.name
    fields = ok = 0
    bad: list[str] = []
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t")
            if "," in cols[4]:
                continue  # multi-allelic records (r2.0.1) carry no FAF
            info = dict(kv.split("=", 1) for kv in cols[7].split(";") if "=" in kv)
            for key, text in info.items():
                m = FAF_KEY.match(key)
                if m is None or key.startswith(("fafmax_", "faf95_popmax")) or text == ".":
                    continue
                ac_key, an_key = f"{m['prefix']}AC{m['suffix']}", f"{m['prefix']}AN{m['suffix']}"
                if ac_key not in info or an_key not in info:
                    continue
                ac, an, ci = int(info[ac_key]), int(info[an_key]), int(m["ci"]) / 100
                stop = 0.95 if r211 else None
                fields += 1
                ours = filtering_af(ac, an, ci, stop_confidence=stop)
                legacy = r211 and ac == 1 and agrees(
                    filtering_af(ac, an, ci, stop_confidence=stop, singletons=True), text)
                if agrees(ours, text) or legacy:
                    ok += 1
                else:
                    bad.append(f"{cols[0]}:{cols[1]}:{cols[3]}:{cols[4]} {key} AC={ac} AN={an}"
                               f" gnomAD {text} varidex {printed(ours):.6g}")
    return fields, ok, bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    args = ap.parse_args()
    files = sorted({f for p in args.paths for f in ([p] if p.is_file() else p.rglob("*"))
                    if re.search(r"gnomad.*\.vcf\.b?gz$", f.name, re.IGNORECASE)})
    total = total_ok = 0
    for f in files:
        fields, ok, bad = check(f)
        if not fields:
            continue
        total, total_ok = total + fields, total_ok + ok
        print(f"{f}: {ok}/{fields} FAF fields agree")
        for line in bad[:10]:
            print(f"    {line}")
    print(f"all files: {total_ok}/{total} FAF fields agree")


if __name__ == "__main__":
    main()
