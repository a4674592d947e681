"""VCF in, VCF out on real inputs: every record kept in order, gnomAD INFO fields per ALT,
readable by bcftools without warnings, and the same values as the TSV output."""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pysam
import pytest

from varidex import __version__
from varidex.gnomad.cli import main

DATA = Path(__file__).parent / "data"
INPUTS = DATA / "inputs"
BCFTOOLS = shutil.which("bcftools")
needs_bcftools = pytest.mark.skipif(BCFTOOLS is None,
                                    reason="bcftools is not installed (apt-get install bcftools)")

# (input, what it is, gnomAD folder, version, dataset)
REAL_INPUTS = [
    ("ashk-trio.pcsk9.vcf", "GIAB Ashkenazi trio", "r2.1.1-exomes", "r2.1.1", "exomes"),
    ("PG_NA12878_hg38-chr21.head.vcf", "Platinum Genomes NA12878", "v4.0-genomes", "v4.0",
     "genomes"),
    ("clinvar_20191007.vcf.gz", "ClinVar", "r2.1.1-exomes", "r2.1.1", "exomes"),
    ("test.vcf", "1000 Genomes HG00096", "v4.0-genomes", "v4.0", "genomes"),
    ("1000G-phase3.multiple-alts.vcf.gz", "1000 Genomes phase 3 sites", "r2.1.1-exomes",
     "r2.1.1", "exomes"),
    ("../gnomad/r2.0.1-genomes/gnomad.genomes.r2.0.1.sites.1.vcf.gz", "gnomAD r2.0.1 genomes",
     "r2.0.1-exomes", "r2.0.1", "exomes"),
]


def _lines(path: Path) -> list[str]:
    opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
    with opener(path, "rt") as handle:  # type: ignore[operator]
        return [ln.rstrip("\n") for ln in handle]


def _records(path: Path) -> list[list[str]]:
    return [ln.split("\t") for ln in _lines(path) if ln and not ln.startswith("#")]


def _annotate(src: Path, out: Path, root: Path, folder: str, version: str, dataset: str,
              *extra: str) -> None:
    code = main(["annotate", str(src), "--gnomad-dir", str(root / folder), "--version",
                 version, "--dataset", dataset, "-o", str(out), "--workers", "1", "-q",
                 *extra])
    assert code == 0


@pytest.mark.parametrize(("name", "what", "folder", "version", "dataset"), REAL_INPUTS,
                         ids=[r[1] for r in REAL_INPUTS])
def test_real_vcf_round_trip_keeps_every_record(name: str, what: str, folder: str,
                                                version: str, dataset: str,
                                                gnomad_root: Path, tmp_path: Path) -> None:
    src = INPUTS / name
    out = tmp_path / "out.vcf.gz"
    _annotate(src, out, gnomad_root, folder, version, dataset)
    before, after = _records(src), _records(out)
    assert len(after) == len(before) > 0
    for b, a in zip(before, after, strict=True):
        assert a[:7] == b[:7]              # CHROM POS ID REF ALT QUAL FILTER, in order
        assert a[8:] == b[8:]              # FORMAT and samples untouched
        old = [] if b[7] == "." else b[7].split(";")
        new = a[7].split(";")
        assert new[:len(old)] == old       # the input's INFO first, unchanged
        assert all(i.startswith("gnomad_") for i in new[len(old):])
        assert any(i.startswith("gnomad_status=") for i in new[len(old):])
    assert Path(f"{out}.tbi").exists()
    with pysam.VariantFile(str(out)) as vcf:  # htslib reads it, index included
        assert len(list(vcf.fetch(before[0][0], int(before[0][1]) - 1, int(before[0][1])))) >= 1


@needs_bcftools
@pytest.mark.parametrize(("name", "what", "folder", "version", "dataset"), REAL_INPUTS,
                         ids=[r[1] for r in REAL_INPUTS])
def test_bcftools_reads_output_without_warnings_and_agrees_with_tsv(
        name: str, what: str, folder: str, version: str, dataset: str, gnomad_root: Path,
        tmp_path: Path) -> None:
    src = INPUTS / name
    vcf, tsv = tmp_path / "out.vcf.gz", tmp_path / "out.tsv"
    _annotate(src, vcf, gnomad_root, folder, version, dataset)
    _annotate(src, tsv, gnomad_root, folder, version, dataset)
    view = subprocess.run([BCFTOOLS, "view", str(vcf)], capture_output=True, text=True,
                          check=False)
    assert view.returncode == 0
    assert view.stderr == ""
    query = subprocess.run(
        [BCFTOOLS, "query", "-f", "%INFO/gnomad_af\t%INFO/gnomad_ac\t%INFO/gnomad_status\n",
         str(vcf)], capture_output=True, text=True, check=True)
    assert query.stderr == ""
    per_alt: list[tuple[str, str, str]] = []
    for line in query.stdout.splitlines():
        af, ac, status = line.split("\t")
        statuses = status.split(",")
        afs = af.split(",") if af != "." else ["."] * len(statuses)
        acs = ac.split(",") if ac != "." else ["."] * len(statuses)
        per_alt += list(zip(afs, acs, statuses, strict=True))
    table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    assert len(per_alt) == len(table)
    for (af, ac, status), (_, row) in zip(per_alt, table.iterrows(), strict=True):
        assert status == row["gnomad_status"]
        assert (ac == ".") == (row["gnomad_ac"] == "")
        if ac != ".":
            assert int(ac) == int(row["gnomad_ac"])
        assert (af == ".") == (row["gnomad_af"] == "")
        if af != ".":  # bcftools prints Floats with 6 significant digits
            assert float(af) == float(f"{float(row['gnomad_af']):.6g}")


def _case_vcf(path: Path) -> Path:
    """Case records, written by pysam under the real GIAB trio header: a non-PASS gnomAD
    record, multi-allelic records with both, one, or no ALT in gnomAD, an INFO that already
    holds gnomad_af (annotated before), and a chromosome gnomAD r2.1.1 exomes lacks."""
    with pysam.VariantFile(str(INPUTS / "ashk-trio.pcsk9.vcf")) as template:
        header = template.header.copy()
    header.add_line('##INFO=<ID=gnomad_af,Number=A,Type=Float,Description="old">')
    cases = [("1", 55505621, ("C", "T"), {}),
             ("1", 55505647, ("G", "T", "C"), {"gnomad_af": (0.5, 0.5)}),
             ("1", 55505668, ("C", "G", "T"), {}),
             ("1", 55516888, ("G", "GA", "A"), {}),
             ("2", 45895, ("A", "G"), {})]
    with pysam.VariantFile(str(path), "w", header=header) as out:
        for chrom, pos, alleles, info in cases:
            rec = out.new_record(contig=chrom, start=pos - 1, alleles=alleles, filter="PASS",
                                 info=info)
            out.write(rec)
    return path


def test_multiallelic_values_joined_in_alt_order_and_escaped(gnomad_root: Path,
                                                             tmp_path: Path) -> None:
    src = _case_vcf(tmp_path / "cases.vcf")
    out = tmp_path / "cases.out.vcf"
    _annotate(src, out, gnomad_root, "r2.1.1-exomes", "r2.1.1", "exomes")
    info = {int(r[1]): dict(i.split("=", 1) for i in r[7].split(";")) for r in _records(out)}
    assert info[55505621]["gnomad_status"] == "found_non_pass"
    assert info[55505621]["gnomad_filters"] == "AC0%3BRF"         # ';' percent-encoded
    assert info[55505647]["gnomad_af"] == "0.0119305,."             # the old 0.5,0.5 replaced
    assert info[55505647]["gnomad_status"] == "found,absent"
    assert info[55505668]["gnomad_ac"] == "3,21927"                 # C>G then C>T, ALT order
    assert info[55516888]["gnomad_ac"] == "121,8"
    assert info[55516888]["gnomad_popmax"] == "afr,sas"
    assert info[45895] == {"gnomad_status": "no_data"}              # no value: key left out
    header = [ln for ln in _lines(out) if ln.startswith("##")]
    assert sum(ln.startswith("##INFO=<ID=gnomad_af,") for ln in header) == 1
    assert ('##INFO=<ID=gnomad_af,Number=A,Type=Float,Description="gnomAD r2.1.1/exomes: '
            'allele frequency (a fraction)">') in header
    assert any(ln.startswith("##INFO=<ID=gnomad_ac,Number=A,Type=Integer,") for ln in header)
    assert any(ln.startswith("##INFO=<ID=gnomad_filters,Number=A,Type=String,") for ln in header)
    prov = next(ln for ln in header if ln.startswith("##varidex="))
    assert f"version={__version__};" in prov
    assert "release=r2.1.1/exomes;" in prov
    assert "gnomad.exomes.r2.1.1.sites.1.vcf.bgz" in prov
    assert prov.endswith(f"command=varidex annotate {src} --gnomad-dir "
                         f"{gnomad_root / 'r2.1.1-exomes'} --version r2.1.1 --dataset exomes "
                         f"-o {out} --workers 1 -q")


@needs_bcftools
def test_bcftools_decodes_the_case_records(gnomad_root: Path, tmp_path: Path) -> None:
    src = _case_vcf(tmp_path / "cases.vcf")
    out = tmp_path / "cases.out.vcf.gz"
    _annotate(src, out, gnomad_root, "r2.1.1-exomes", "r2.1.1", "exomes")
    done = subprocess.run([BCFTOOLS, "query", "-r", "1:55505668", "-f",
                           "%ALT\t%INFO/gnomad_af\t%INFO/gnomad_filters\n", str(out)],
                          capture_output=True, text=True, check=True)
    assert done.stdout == "G,T\t1.55988e-05,0.114012\tPASS,PASS\n"
    assert done.stderr == ""


def test_vcf_on_stdin_to_vcf_on_stdout(gnomad_root: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    import io
    import sys

    text = (INPUTS / "ashk-trio.pcsk9.vcf").read_text()
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))
    assert main(["annotate", "-", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--output-format", "vcf", "-q"]) == 0
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert out[0] == text.splitlines()[0] == "##fileformat=VCFv4.1"  # the input's, kept
    body = [ln.split("\t") for ln in out if not ln.startswith("#")]
    assert [r[1] for r in body] == [ln.split("\t")[1] for ln in text.splitlines()
                                    if not ln.startswith("#")]
    assert "gnomad_af=0.0100399" in body[0][7]
    assert "output stdout" in captured.err


def test_unsorted_input_cannot_be_indexed_and_leaves_no_output(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (INPUTS / "ashk-trio.pcsk9.vcf").read_text().splitlines()
    head = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    src = tmp_path / "unsorted.vcf"
    src.write_text("\n".join(head + body[::-1]) + "\n")
    out = tmp_path / "unsorted.out.vcf.gz"
    code = main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"])
    err = capsys.readouterr().err
    assert code == 1
    assert "not sorted" in err or "sorted by" in err
    assert "bcftools sort" in err
    assert not out.exists()
    assert not Path(f"{out}.tbi").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["unsorted.vcf"]
    plain = tmp_path / "unsorted.out.vcf"  # uncompressed output keeps the input's order
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(plain), "-q"]) == 0
    assert [r[1] for r in _records(plain)] == [b.split("\t")[1] for b in body[::-1]]


def test_vcf_writerput_needs_vcf_input(gnomad_root: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "v.csv"
    src.write_text("chrom,pos,ref,alt\n1,55505647,G,T\n")
    code = main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "v.vcf")])
    assert code == 1
    assert "VCF output needs VCF input" in capsys.readouterr().err
    assert not (tmp_path / "v.vcf").exists()


def test_malformed_record_names_the_file_line(gnomad_root: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    lines = (INPUTS / "ashk-trio.pcsk9.vcf").read_text().splitlines()
    n_head = sum(ln.startswith("#") for ln in lines)
    cols = lines[n_head + 2].split("\t")
    cols[1] = "55505x"
    lines[n_head + 2] = "\t".join(cols)
    src = tmp_path / "bad.vcf"
    src.write_text("\n".join(lines) + "\n")
    out = tmp_path / "bad.out.vcf"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert f"bad.vcf, line {n_head + 3}:" in err
    assert "'55505x'" in err
    assert not out.exists()


def test_output_identical_whatever_the_slice_and_batch_size(gnomad_root: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from varidex.gnomad.combine import open_annotator
    from varidex.gnomad.formats import vcf_writer
    from varidex.gnomad.pipeline import annotate_file

    src = str(INPUTS / "../gnomad/r2.0.1-genomes/gnomad.genomes.r2.0.1.sites.1.vcf.gz")
    whole = tmp_path / "whole.vcf"
    _annotate(Path(src), whole, gnomad_root, "r2.0.1-exomes", "r2.0.1", "exomes")
    monkeypatch.setattr(vcf_writer, "WRITE_SLICE", 3)  # slices end inside multi-ALT runs
    sliced = tmp_path / "sliced.vcf"
    _annotate(Path(src), sliced, gnomad_root, "r2.0.1-exomes", "r2.0.1", "exomes")
    small = tmp_path / "small.vcf"  # batches of 4 records
    annotator = open_annotator(gnomad_root / "r2.0.1-exomes", version="r2.0.1",
                               dataset="exomes", max_workers=1)
    try:
        annotate_file(annotator, src, str(small), batch_rows=4, command="x")
    finally:
        annotator.close()

    def body(p: Path) -> list[str]:
        return [ln for ln in _lines(p) if not ln.startswith("##varidex=")]

    assert body(sliced) == body(whole) == body(small)
    assert sum("gnomad_af=" in r[7] for r in _records(whole)) == 13


@needs_bcftools
@pytest.mark.parametrize("n_columns", [5, 7])
def test_issue_short_input_vcf_gets_eight_column_chrom_line(n_columns: int, gnomad_root: Path,
                                                            tmp_path: Path) -> None:
    """An input VCF of 5 (CHROM..ALT) or 7 (..FILTER) columns: the records gain QUAL, FILTER
    and INFO, and the #CHROM line must name the same eight columns, or bcftools cannot
    parse the header. The input is the real GIAB trio file cut to its first columns."""
    lines = _lines(INPUTS / "ashk-trio.pcsk9.vcf")
    src = tmp_path / f"short{n_columns}.vcf"
    src.write_text("\n".join(ln if ln.startswith("##") else
                             "\t".join(ln.split("\t")[:n_columns]) for ln in lines) + "\n")
    out, full = tmp_path / "short.out.vcf", tmp_path / "full.out.vcf"
    _annotate(src, out, gnomad_root, "r2.1.1-exomes", "r2.1.1", "exomes")
    _annotate(INPUTS / "ashk-trio.pcsk9.vcf", full, gnomad_root, "r2.1.1-exomes", "r2.1.1",
              "exomes")
    chrom = next(ln for ln in _lines(out) if ln.startswith("#CHROM"))
    assert chrom.split("\t") == ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO"]
    view = subprocess.run([BCFTOOLS, "view", str(out)], capture_output=True, text=True,
                          check=False)
    assert view.returncode == 0
    assert view.stderr == ""
    fmt = "%CHROM:%POS\t%QUAL\t%FILTER\t%INFO/gnomad_af\t%INFO/gnomad_status\n"
    query = subprocess.run([BCFTOOLS, "query", "-f", fmt, str(out)], capture_output=True,
                           text=True, check=True)
    assert query.stderr == ""
    rows = [ln.split("\t") for ln in query.stdout.splitlines()]
    assert len(rows) == len(_records(src)) == 18
    assert rows[0] == ["1:55505651", "1581.13" if n_columns == 7 else ".",
                       "PASS" if n_columns == 7 else ".", "0.0100399", "found"]
    # the gnomAD INFO fields are those of the whole 12-column file, record for record
    gnomad = [[i for i in r[7].split(";") if i.startswith("gnomad_")] for r in _records(out)]
    assert gnomad == [[i for i in r[7].split(";") if i.startswith("gnomad_")]
                      for r in _records(full)]


DEMO = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data" / "demo_variants.vcf"
GENOMES_V4 = DATA / "gnomad" / "v4.0-genomes" / "gnomad.genomes.v4.0.sites.chr1.vcf.bgz"


def _info(path: Path) -> dict[str, dict[str, str]]:
    """Each record's INFO by its ID."""
    return {r[2]: dict(i.split("=", 1) if "=" in i else (i, "") for i in r[7].split(";"))
            for r in _records(path) if r[2] != "."}


def _without_provenance(path: Path) -> list[str]:
    return [ln for ln in _lines(path) if not ln.startswith("##varidex=")]


# (input, first run, second run, group of the first run's release only)
REANNOTATED = [
    (DEMO, ("r2.1.1-exomes", "r2.1.1", "exomes"), ("r2.1.1-genomes", "r2.1.1", "genomes"),
     "sas"),
    (GENOMES_V4, ("v4.0-genomes", "v4.0", "genomes"), ("v4.0-exomes", "v4.0", "exomes"),
     "ami"),
]


@pytest.mark.parametrize(("src", "first", "second", "group"), REANNOTATED,
                         ids=["demo, r2.1.1 exomes then genomes",
                              "gnomAD v4.0 genomes excerpt, v4.0 genomes then exomes"])
def test_issue_reannotation_leaves_no_earlier_gnomad_field(
        src: Path, first: tuple[str, str, str], second: tuple[str, str, str], group: str,
        gnomad_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """r2.1.1 genomes has no sas group, v4.0 exomes no ami group: the first run's
    gnomad_*_<group> fields (with their ##INFO lines and the ##varidex= line) used to stay
    beside the second run's values. Annotated again, the file must be what the second run
    alone gives."""
    once, twice, alone = tmp_path / "once.vcf", tmp_path / "twice.vcf", tmp_path / "alone.vcf"
    _annotate(src, once, gnomad_root, *first)
    caplog.set_level("INFO", logger="varidex")
    _annotate(once, twice, gnomad_root, *second)
    _annotate(src, alone, gnomad_root, *second)
    before, after = _info(once), _info(twice)
    if group == "sas":  # PCSK9 p.Arg46Leu: in the exome excerpt, not the genome one
        assert before["rs11591147"]["gnomad_af_sas"] == "0.00115842"
        assert {k: v for k, v in after["rs11591147"].items() if k.startswith("gnomad_")} == {
            "gnomad_status": "absent"}
    else:  # in both: each run's own values
        b, a = before["rs776276715"], after["rs776276715"]
        assert (b["gnomad_ac"], b["gnomad_an"], b["gnomad_an_ami"]) == ("1", "152272", "912")
        assert (a["gnomad_status"], a["gnomad_ac"], a["gnomad_an"]) == ("found", "25",
                                                                       "1412920")
    assert not any(k.startswith(f"gnomad_af_{group}") for i in after.values() for k in i)
    assert _without_provenance(twice) == _without_provenance(alone)  # records and header
    header = [ln for ln in _lines(twice) if ln.startswith("##")]
    assert not any(ln.startswith(f"##INFO=<ID=gnomad_af_{group},") for ln in header)
    provenance = [ln for ln in header if ln.startswith("##varidex=")]
    assert len(provenance) == 1
    assert f"release={second[1]}/{second[2]};" in provenance[0]
    dropped = [r.getMessage() for r in caplog.records if "re-annotation" in r.getMessage()]
    assert len(dropped) == 1
    assert str(once) in dropped[0]
    assert f"gnomad_af_{group}" in dropped[0]
    if BCFTOOLS is not None:
        view = subprocess.run([BCFTOOLS, "view", str(twice)], capture_output=True, text=True,
                              check=False)
        assert (view.returncode, view.stderr) == (0, "")
