"""Generated gnomAD-like releases against the generator's truth table, and serial against
parallel (fork and spawn) on the same queries."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.keys import trim_alleles
from varidex.gnomad.pipeline import read_variants

SETS = [("r2.1.1-exomes", "queries-r2.1.1.1000", "r2.1.1", "exomes"),
        ("v4.1-genomes", "queries-v4.1.300", "v4.1", "genomes")]


def _truth(path: Path) -> dict[tuple[int, int], dict[str, str]]:
    """(csv_row, alt_index) -> the truth of that ALT allele."""
    out = {}
    with path.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            keys = row["norm_keys"].split(",")
            for i, key in enumerate(keys):
                out[(int(row["csv_row"]), i)] = {
                    "category": row["category"], "key": key,
                    "present": row["expected_present"].split(",")[i],
                    "af": row["expected_AF"].split(",")[i]}
    return out


@pytest.mark.parametrize(("folder", "queries", "version", "dataset"), SETS)
def test_agrees_with_truth_table(generated: Path, folder: str, queries: str, version: str,
                                 dataset: str) -> None:
    frame = read_variants(str(generated / f"{queries}.csv"))
    if "input_row" not in frame.columns:
        frame["input_row"] = range(1, len(frame) + 1)
        frame["alt_index"] = 0
    truth = _truth(generated / f"{queries}.truth.tsv")
    a = Annotator.open(generated / folder, version=version, dataset=dataset, max_workers=1)
    res = a.lookup(frame["chromosome"].tolist(), frame["position"].tolist(),
                   frame["ref_allele"].tolist(), frame["alt_allele"].tolist())
    a.close()
    needs_left_align = agree = 0
    for i, (row, alt_i) in enumerate(zip(frame["input_row"], frame["alt_index"], strict=True)):
        t = truth[(int(row), int(alt_i))]
        chrom, pos, ref, alt = t["key"].split(":")
        p, r, al = trim_alleles(int(frame["position"].iloc[i]),
                                frame["ref_allele"].iloc[i].upper(),
                                frame["alt_allele"].iloc[i].upper())
        status = res.status[i]
        if (p, r, al) != (int(pos), ref, alt):
            # Shifted right inside a repeat: found only after left-alignment against the
            # reference, which this test has not got. It must never match something else.
            assert t["category"] == "nonminimal"
            assert status == "absent"
            needs_left_align += 1
            continue
        if t["present"] == "1":
            assert status in ("found", "found_non_pass"), (row, t)
            assert res.values["af"][i] == pytest.approx(float(t["af"]), rel=1e-9) if t[
                "af"] != "." else res.values["af"][i] is None
        else:
            assert status == "absent", (row, t)
        agree += 1
    assert agree + needs_left_align == len(frame)
    assert needs_left_align <= len(frame) * 0.02


@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_parallel_equals_serial(generated: Path, start_method: str) -> None:
    frame = pd.read_csv(generated / "queries-r2.1.1.1000.csv", dtype=str)
    frame = pd.concat([frame, frame.iloc[::7]], ignore_index=True)  # duplicates too
    cols = [frame[c].tolist() for c in ("chromosome", "position", "ref_allele", "alt_allele")]
    serial = Annotator.open(generated / "r2.1.1-exomes", max_workers=1)
    # Small chunks so that many chunks spread over both workers.
    par = Annotator.open(generated / "r2.1.1-exomes", max_workers=2, chunk_size=25,
                         start_method=start_method)
    try:
        a = serial.lookup(*cols)
        b = par.lookup(*cols)
    finally:
        serial.close()
        par.close()
    assert b.status.tolist() == a.status.tolist()
    assert sum(s == "found" for s in a.status) > 400
    for name in a.columns:
        assert pd.Series(b.values[name]).equals(pd.Series(a.values[name])), name
    assert par.totals["looked_up"] == len(frame)
    assert np.count_nonzero(a.status == "found") == np.count_nonzero(b.status == "found")


def _annotate_truth_csv(generated: Path, reference: Path | None) -> tuple[pd.DataFrame, object]:
    frame = read_variants(str(generated / "queries-r2.1.1.1000.csv"))
    a = Annotator.open(generated / "r2.1.1-exomes", version="r2.1.1", max_workers=1,
                       reference=reference)
    try:
        res = a.lookup(frame["chromosome"].tolist(), frame["position"].tolist(),
                       frame["ref_allele"].tolist(), frame["alt_allele"].tolist())
    finally:
        a.close()
    return frame, res


def test_with_reference_every_allele_agrees_with_truth(generated: Path) -> None:
    frame, res = _annotate_truth_csv(generated, generated / "r2.1.1-exomes.masked-ref.fa.gz")
    truth = _truth(generated / "queries-r2.1.1.1000.truth.tsv")
    shifted = 0
    for i, (row, alt_i) in enumerate(zip(frame["input_row"], frame["alt_index"], strict=True)):
        t = truth[(int(row), int(alt_i))]
        status = res.status[i]  # type: ignore[attr-defined]
        if t["present"] == "1":
            assert status in ("found", "found_non_pass"), (row, t)
            assert res.values["af"][i] == pytest.approx(float(t["af"]), rel=1e-9)  # type: ignore[attr-defined]
        else:
            assert status == "absent", (row, t)
        p, r, a = trim_alleles(int(frame["position"].iloc[i]), frame["ref_allele"].iloc[i].upper(),
                               frame["alt_allele"].iloc[i].upper())
        shifted += f"{p}:{r}:{a}" != t["key"].split(":", 1)[1]
    assert shifted >= 1  # the set does hold indels found only after left-alignment


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="needs bcftools (make test "
                    "installs it as root: apt-get install bcftools tabix)")
def test_agrees_with_bcftools_norm_and_annotate(generated: Path, tmp_path: Path) -> None:
    """Every AF bcftools gives equals varidex's; every difference is explained."""
    ref = generated / "r2.1.1-exomes.masked-ref.fa.gz"
    gdir = generated / "r2.1.1-exomes"
    gn, q, norm = tmp_path / "gnomad.vcf.gz", tmp_path / "q.vcf.gz", tmp_path / "norm.vcf.gz"

    def run(*args: str) -> str:
        return subprocess.run(args, check=True, capture_output=True, text=True).stdout

    run("bcftools", "concat", "-Oz", "-o", str(gn),
        *(str(gdir / f"gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz") for c in (21, 22)))
    run("tabix", "-p", "vcf", str(gn))
    # bcftools norm stops on contigs missing from the reference (chr21 vs 21): keep 21, 22.
    run("bcftools", "view", "-t", "21,22", "-Oz", "-o", str(q),
        str(generated / "queries-r2.1.1.1000.vcf.gz"))
    run("bcftools", "norm", "-m-", "-f", str(ref), "-c", "w", "-Oz", "-o", str(norm), str(q))
    run("tabix", "-p", "vcf", str(norm))
    out = run("bash", "-c", f"bcftools annotate -a {gn} -c INFO/AF {norm} | bcftools query "
              "-f '%ID\\t%CHROM:%POS:%REF:%ALT\\t%ALT\\t%INFO/AF\\n'")
    bcf: dict[tuple[str, str], str] = {}
    seen: dict[str, int] = {}
    repeated: set[str] = set()  # ids of records whose normalized key came earlier in the file
    for line in out.splitlines():
        qid, key, alt, af = line.split("\t")
        bcf[(qid, alt.upper())] = af
        seen[key.upper()] = seen.get(key.upper(), 0) + 1
        if seen[key.upper()] > 1:
            repeated.add(qid)

    vcf = read_variants(str(generated / "queries-r2.1.1.1000.vcf.gz"))
    a = Annotator.open(gdir, version="r2.1.1", max_workers=1, reference=ref)
    try:
        res = a.lookup(vcf["chromosome"].tolist(), vcf["position"].tolist(),
                       vcf["ref_allele"].tolist(), vcf["alt_allele"].tolist())
    finally:
        a.close()
    truth = {}
    with (generated / "queries-r2.1.1.1000.truth.tsv").open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            truth[row["query_id"]] = row["category"]
    explained: dict[str, int] = {}
    compared = 0
    for i in range(len(vcf)):
        qid = vcf["id"].iloc[i]
        ours = res.values["af"][i]
        theirs = _bcftools_af(bcf, qid, vcf, i, ref)
        if theirs is None and ours is None:
            continue
        if theirs is not None and ours is not None:
            assert ours == pytest.approx(theirs, rel=1e-9), qid
            compared += 1
            continue
        # One found it, the other did not: only these reasons are allowed.
        category = "repeated" if qid in repeated else truth[qid]
        reason = {"repeated": "the same variant earlier in the input: bcftools annotate "
                              "gives an annotation record to the first one only",
                  "chr_mismatch": "contig spelled chr21/21: varidex maps contig aliases",
                  "lowercase": "lower-case alleles: varidex upper-cases them"}.get(category)
        assert reason is not None, (qid, category, ours, theirs)
        assert theirs is None  # varidex found what bcftools missed, never the other way
        assert res.status[i] in ("found", "found_non_pass")
        explained[category] = explained.get(category, 0) + 1
    assert compared > 400
    assert set(explained) <= {"chr_mismatch", "lowercase", "repeated"}


def _bcftools_af(bcf: dict[tuple[str, str], str], qid: str, vcf: pd.DataFrame, i: int,
                 ref: Path) -> float | None:
    """bcftools' AF for row i, matched by query id and ALT (bcftools sorts split ALTs, and
    may respell a single-ALT indel, so a lone record of the id is taken as is)."""
    alts = [k for k in bcf if k[0] == qid]
    if not alts:
        return None
    key = (qid, str(vcf["alt_allele"].iloc[i]).upper())
    if key not in bcf:
        assert len(alts) == 1, (qid, alts)
        key = alts[0]
    value = bcf[key]
    return None if value == "." else float(value)


@pytest.mark.parametrize(("folder", "queries", "version", "dataset"), SETS)
def test_block_reader_equals_tabix(generated: Path, tmp_path: Path, folder: str, queries: str,
                                   version: str, dataset: str) -> None:
    from varidex.gnomad.discovery import index_folder

    shutil.copytree(generated / folder, tmp_path / folder)
    index_folder(tmp_path / folder)
    frame = read_variants(str(generated / f"{queries}.csv"))
    cols = [frame[c].tolist() for c in ("chromosome", "position", "ref_allele", "alt_allele")]
    plain = Annotator.open(generated / folder, version=version, dataset=dataset,
                           max_workers=1)
    fast = Annotator.open(tmp_path / folder, version=version, dataset=dataset,
                          max_workers=2, chunk_size=40)
    assert fast.files.block_indexed
    assert not plain.files.block_indexed
    try:
        a, b = plain.lookup(*cols), fast.lookup(*cols)
    finally:
        plain.close()
        fast.close()
    assert b.status.tolist() == a.status.tolist()
    for name in a.columns:
        assert pd.Series(b.values[name]).equals(pd.Series(a.values[name])), name
