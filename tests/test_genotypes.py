"""Consumer genotype files (23andMe, AncestryDNA, FTDNA): format and build from the file,
gnomAD frequencies per observed allele that differs from gnomAD's REF, statuses for the
rest. Real openSNP files, and case rows under the real AncestryDNA and FTDNA headers."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pysam
import pytest

from varidex.gnomad.cli import main
from varidex.gnomad.formats import input_format
from varidex.gnomad.formats.consumer import iter_genotypes

DATA = Path(__file__).parent / "data"
INPUTS = DATA / "inputs"
ANCESTRY_HEADER = "".join((INPUTS / "ancestry_test.csv").read_text().splitlines(True)[:17])

# (rsid, chromosome, position, allele1, allele2) -> expected output rows:
# (ref_allele, alt_allele, alt_copies, status, gnomad_af)
CASES = [
    (("rs11591147", "1", 55505647, "G", "G"), [("G", "", "", "reference", "")]),
    (("rs11591147", "1", 55505647, "G", "T"), [("G", "T", "1", "found", "0.0119305")]),
    (("rs11591147", "1", 55505647, "T", "T"), [("G", "T", "2", "found", "0.0119305")]),
    (("rs11591147", "1", 55505647, "C", "C"), [("G", "C", "2", "absent", "")]),
    (("case5", "1", 55505668, "T", "G"), [("C", "T", "1", "found", "0.114012"),
                                          ("C", "G", "1", "found", "0.0000155988")]),
    (("case6", "1", 55505621, "C", "T"), [("C", "T", "1", "found_non_pass", "0")]),
    (("case7", "1", 55505603, "G", "G"), [("", "", "", "unknown_ref", "")]),  # indel record only
    (("case8", "1", 55505600, "A", "A"), [("", "", "", "unknown_ref", "")]),  # no record
    (("case9", "1", 55505647, "0", "0"), [("", "", "", "no_call", "")]),
    (("case10", "1", 55505647, "I", "D"), [("", "", "", "indel_code", "")]),
    (("case11", "2", 45895, "A", "G"), [("", "", "", "no_data", "")]),
    (("case12", "1", 55505647, "G", "X"), [("", "", "", "invalid_genotype", "")]),
    (("case13", "23", 69902557, "T", "T"), [("G", "T", "2", "found", "0.00000557659")]),
]


def _ancestry_cases(path: Path) -> Path:
    rows = [f"{r}\t{c}\t{p}\t{a1}\t{a2}\n" for (r, c, p, a1, a2), _ in CASES]
    path.write_text(ANCESTRY_HEADER + "".join(rows))
    return path


def test_real_files_detected_with_their_build() -> None:
    header, batches = iter_genotypes(str(INPUTS / "ancestry_test.csv"))
    rows = pd.concat(list(batches))
    assert (header.format, header.build) == ("ancestry", "GRCh37")
    assert "build 37.1" in header.build_line
    assert rows["rsid"].tolist()[:2] == ["rs4477212", "rs3131972"]
    assert rows["position"].tolist()[:2] == [82154, 752721]
    assert rows["genotype"].tolist()[0] == "CC"
    header, batches = iter_genotypes(str(INPUTS / "23andMe_test.txt"))
    rows = pd.concat(list(batches))
    assert (header.format, header.build) == ("23andme", "NCBI36")
    assert rows[["rsid", "position", "allele1", "allele2"]].values.tolist()[3] == [
        "rs12124819", 766409, "A", "G"]
    header, batches = iter_genotypes(str(INPUTS / "ftdna-illumina_sample.csv"))
    rows = pd.concat(list(batches))
    assert (header.format, header.build) == ("ftdna", None)
    assert rows["genotype"].tolist() == ["AA", "GG", "GG", "AA", "AG"]
    for name, kind in (("ancestry_test.csv", "ancestry"), ("23andMe_test.txt", "23andme"),
                       ("ftdna-illumina_sample.csv", "ftdna")):
        assert input_format(str(INPUTS / name)) == kind


def test_real_ancestry_file_positions_without_gnomad_records(gnomad_root: Path, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    out = tmp_path / "ancestry.tsv"
    assert main(["annotate", str(INPUTS / "ancestry_test.csv"), "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "-o", str(out)]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert table["rsid"].tolist() == ["rs4477212", "rs3131972", "rs12562034", "rs11240777",
                                      "rs6681049"]
    # The excerpt holds PCSK9 only: no record at these positions, so gnomAD's REF is
    # unknown and nothing is called absent.
    assert set(table["gnomad_status"]) == {"unknown_ref"}
    assert set(table["gnomad_af"]) == {""}
    assert set(table["alt_allele"]) == {""}
    err = capsys.readouterr().err
    assert "varidex: 5 genotypes (AncestryDNA, GRCh37)" in err
    assert "5 unknown REF" in err


def test_case_genotypes_against_real_gnomad(gnomad_root: Path, tmp_path: Path) -> None:
    src = _ancestry_cases(tmp_path / "cases.txt")
    out = tmp_path / "cases.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    expected = [(str(i + 1), *row) for i, (_, rows) in enumerate(CASES) for row in rows]
    got = table[["input_row", "ref_allele", "alt_allele", "alt_copies", "gnomad_status",
                 "gnomad_af"]].values.tolist()
    assert [tuple(r) for r in got] == expected
    assert table.loc[table["gnomad_status"] == "found_non_pass", "gnomad_filters"].tolist() == [
        "AC0;RF"]
    assert table.columns[:8].tolist() == ["input_row", "rsid", "chromosome", "position",
                                          "genotype", "ref_allele", "alt_allele", "alt_copies"]


def test_genotypes_from_stdin_and_to_parquet(gnomad_root: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    src = _ancestry_cases(tmp_path / "cases.txt")
    monkeypatch.setattr(sys, "stdin", io.StringIO(src.read_text()))
    out = tmp_path / "cases.parquet"
    assert main(["annotate", "-", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 0
    back = pd.read_parquet(out)
    assert back.loc[back["gnomad_status"] == "found", "gnomad_ac"].tolist() == [
        2341, 2341, 21927, 3, 1]
    assert back["alt_copies"].dtype == "Int64"


def test_filter_on_genotypes(gnomad_root: Path, tmp_path: Path) -> None:
    src = _ancestry_cases(tmp_path / "cases.txt")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("filter: {max_af: 0.01}\n")
    out = tmp_path / "rare.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--config", str(cfg), "--filter", "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    # rare alleles only: C>G at 55505668, the AC0 record, X:69902557 and the absent C
    assert table["alt_allele"].tolist() == ["C", "G", "T", "T"]
    assert table["gnomad_status"].tolist() == ["absent", "found", "found_non_pass", "found"]


def test_23andme_build_36_is_refused(gnomad_root: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "x.tsv"
    assert main(["annotate", str(INPUTS / "23andMe_test.txt"), "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert "23andMe_test.txt: the 23andMe file is on NCBI36 (hg18)" in err
    assert "reference human assembly build 36" in err
    assert not out.exists()


def test_build_must_match_the_release(gnomad_root: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["annotate", str(INPUTS / "ancestry_test.csv"), "--gnomad-dir",
                 str(gnomad_root / "v4.0-exomes"), "-o", str(tmp_path / "x.tsv")]) == 1
    err = capsys.readouterr().err
    assert "is on GRCh37 but gnomAD v4.0/exomes is on GRCh38" in err


def test_ftdna_needs_a_build(gnomad_root: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    src = str(INPUTS / "ftdna-illumina_sample.csv")
    assert main(["annotate", src, "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "x.tsv")]) == 1
    assert "does not state its genome build" in capsys.readouterr().err
    out = tmp_path / "ftdna.tsv"
    assert main(["annotate", src, "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--genotype-build", "GRCh37", "-o", str(out)]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert table["genotype"].tolist() == ["AA", "GG", "GG", "AA", "AG"]
    assert "FamilyTreeDNA, GRCh37" in capsys.readouterr().err


def test_no_coverage_when_gnomads_record_has_an_0(generated: Path, tmp_path: Path) -> None:
    # SYNTHETIC gnomAD-like v4.1 genomes: chr21:23037734 A>G is an AC0 record with AN=0.
    src = tmp_path / "ftdna.csv"
    src.write_text((INPUTS / "ftdna-illumina_sample.csv").read_text().splitlines(True)[0]
                   + '"c1","21","23037734","AC"\n"c2","21","23037734","GG"\n')
    out = tmp_path / "out.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(generated / "v4.1-genomes"),
                 "--dataset", "genomes", "--genotype-build", "GRCh38", "-o", str(out),
                 "-q"]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert table[["alt_allele", "gnomad_status", "gnomad_an"]].values.tolist() == [
        ["C", "no_coverage", ""], ["G", "found_non_pass", "0"]]


def test_alleles_foreign_to_gnomad_stop_the_run(gnomad_root: Path, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    # At 25 real gnomAD SNV sites, a homozygous base that is neither REF nor any ALT there:
    # what a file on another build (or strand) looks like.
    path = gnomad_root / "r2.1.1-exomes" / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz"
    seen: dict[int, set[str]] = {}
    with pysam.TabixFile(str(path)) as tbx:
        for line in tbx.fetch("1"):
            cols = line.split("\t", 5)
            if len(cols[3]) == len(cols[4]) == 1:
                seen.setdefault(int(cols[1]), {cols[3]}).add(cols[4])
    rows = []
    for pos, bases in list(seen.items())[:25]:
        other = next(b for b in "ACGT" if b not in bases)
        rows.append(f"rs{pos}\t1\t{pos}\t{other}\t{other}\n")
    src = tmp_path / "other-build.txt"
    src.write_text(ANCESTRY_HEADER + "".join(rows))
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "x.tsv")]) == 1
    assert "25 of 25 genotyped positions" in capsys.readouterr().err
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--allow-ref-mismatch", "-o", str(tmp_path / "y.tsv"), "-q"]) == 0
    table = pd.read_csv(tmp_path / "y.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert set(table["gnomad_status"]) == {"absent"}


def test_malformed_genotype_row_names_the_line(gnomad_root: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.txt"
    src.write_text(ANCESTRY_HEADER + "rs1\t1\t55505647\tG\tG\nrs2\t1\tpos\tA\tA\n")
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "x.tsv")]) == 1
    err = capsys.readouterr().err
    assert "bad.txt, line 19: position 'pos' is not a 1-based position" in err
    assert not (tmp_path / "x.tsv").exists()


def test_genotype_files_give_no_vcf(gnomad_root: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["annotate", str(INPUTS / "ancestry_test.csv"), "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "-o", str(tmp_path / "x.vcf")]) == 1
    assert "genotype file gives no VCF records" in capsys.readouterr().err


def test_genotypes_need_an_so_a_store_without_it_is_refused(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a tester: with a store built with --fields af, an allele gnomAD lacks was
    # reported no_coverage (missing AN taken as AN 0) where the VCF path says absent.
    store = tmp_path / "store"
    assert main(["store", "build", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(store), "--fields", "af", "-q", "--workers", "1"]) == 0
    src = _ancestry_cases(tmp_path / "cases.txt")
    out = tmp_path / "cases.tsv"
    assert main(["annotate", str(src), "--store", str(store), "-o", str(out), "-q"]) == 1
    assert "has no AN field (a store built with --fields without an)" in (
        capsys.readouterr().err)
    assert not out.exists()
    with_an = tmp_path / "store_an"
    assert main(["store", "build", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(with_an), "--fields", "af,an", "-q", "--workers", "1"]) == 0
    assert main(["annotate", str(src), "--store", str(with_an), "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    expected = [(str(i + 1), *row) for i, (_, rows) in enumerate(CASES) for row in rows]
    got = table[["input_row", "ref_allele", "alt_allele", "alt_copies", "gnomad_status",
                 "gnomad_af"]].values.tolist()
    assert [tuple(r) for r in got] == expected  # absent stays absent (rs11591147 C/C)
