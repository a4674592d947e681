"""Attach the right frequency to the right allele: one row per case (issue 3)."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.errors import BuildMismatchError
from varidex.gnomad.pipeline import annotate_frame, read_variants

INPUTS = Path(__file__).parent / "data" / "inputs"

# (folder, version, dataset, chrom, pos, ref, alt, status, ac) against real excerpts
CASES = [
    # a multi-allelic gnomAD record (r2.0.1) against split queries
    ("r2.0.1-genomes", "r2.0.1", "genomes", "1", 905892, "C", "G", "found", 4),
    ("r2.0.1-genomes", "r2.0.1", "genomes", "1", 905892, "C", "T", "found", 1),
    ("r2.0.1-genomes", "r2.0.1", "genomes", "1", 905892, "C", "A", "absent", None),
    # GA>GAA against G>GA (non-minimal spelling of the same insertion)
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "GA", "GAA", "found", 121),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "G", "GA", "found", 121),
    # same position, different alts: never each other's frequency
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "G", "A", "found", 8),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "G", "C", "absent", None),
    # an MNP is not the SNV at its first base
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "GC", "TA", "absent", None),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "GC", "TC", "found", 2341),
    # chr / no chr, MT aliases, lower case
    ("v4.0-exomes", "v4.0", "exomes", "1", 55039931, "G", "A", "found", 205),
    ("v4.0-exomes", "v4.0", "exomes", "CHR1", 55039931, "g", "a", "found", 205),
    ("v4.0-exomes", "v4.0", "exomes", "NC_000001.11", 55039931, "G", "A", "found", 205),
    ("v3.1-chrM", "v3.1-chrM", "genomes", "26", 3, "T", "C", "found", 19),
    # '*' and symbolic alleles, invalid alleles
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "*", "skipped_star", None),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "<DEL>", "skipped_symbolic", None),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "G]2:100]", "skipped_symbolic",
     None),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "G", "invalid_allele", None),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "T,C", "invalid_allele", None),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "Z", "invalid_allele", None),
    # non-PASS rows keep their values; a missing chromosome file is no_data
    ("r2.1.1-genomes", "r2.1.1", "genomes", "X", 69902634, "C", "T", "found_non_pass", 1),
    ("r2.1.1-genomes", "r2.1.1", "genomes", "Y", 4967199, "G", "T", "no_data", None),
]


@pytest.mark.parametrize(("folder", "version", "dataset", "chrom", "pos", "ref", "alt",
                          "status", "ac"), CASES,
                         ids=[f"{c[3]}:{c[4]}:{c[5]}>{c[6]}:{c[7]}" for c in CASES])
def test_case(gnomad_root: Path, folder: str, version: str, dataset: str, chrom: str,
              pos: int, ref: str, alt: str, status: str, ac: int | None) -> None:
    a = Annotator.open(gnomad_root / folder, version=version, dataset=dataset, max_workers=1)
    res = a.lookup([chrom], [pos], [ref], [alt])
    a.close()
    assert res.status[0] == status
    assert res.values["ac"][0] == ac


def test_grch38_vcf_against_r211_stops_with_build_error(gnomad_root: Path) -> None:
    a = Annotator.open(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1)
    frame = read_variants(str(INPUTS / "PG_NA12878_hg38-chr21.head.vcf"))
    with pytest.raises(BuildMismatchError, match=r"length 248956422, which is GRCh38"):
        annotate_frame(a, frame, show_progress=False, where="PG_NA12878")
    a.allow_ref_mismatch = True
    out, _ = annotate_frame(a, frame, show_progress=False)
    a.close()
    assert len(out) == len(frame)


def test_ref_bases_of_another_build_stop_the_run(gnomad_root: Path) -> None:
    """User REFs that disagree with gnomAD's REF where gnomAD has records: wrong build."""
    src = gnomad_root / "r2.1.1-exomes" / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz"
    import pysam

    with pysam.TabixFile(str(src)) as tbx:
        rows = [line.split("\t")[:5] for line in tbx.fetch("1")][:60]
    swap = {"A": "C", "C": "G", "G": "T", "T": "A"}
    good = [(c, int(p), r[0], "N") for c, p, _i, r, _a in rows]
    bad = [(c, int(p), swap[r[0]], swap[swap[r[0]]]) for c, p, _i, r, _a in rows]
    a = Annotator.open(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1)
    try:
        a.lookup(*zip(*good, strict=True))  # correct REF bases: no error
        with pytest.raises(BuildMismatchError, match=r"60 of 60 input variants"):
            a.lookup(*zip(*bad, strict=True))
        a.allow_ref_mismatch = True
        res = a.lookup(*zip(*bad, strict=True))
    finally:
        a.close()
    assert set(res.status) <= {"absent", "found"}


def test_hg19_chrm_is_refused_not_matched(gnomad_root: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    a = Annotator.open(gnomad_root / "v3.1-chrM", version="v3.1-chrM", dataset="genomes",
                       max_workers=1)
    frame = read_variants(str(INPUTS / "test_gt_bases.vcf.gz"))
    with caplog.at_level(logging.WARNING, logger="varidex"):
        out, _ = annotate_frame(a, frame, show_progress=False, where="test_gt_bases")
    a.close()
    chrm = out[out["chromosome"] == "chrM"]
    assert chrm["gnomad_status"].tolist() == ["no_data"]
    assert "hg19's chrM" in caplog.text


def test_duplicate_gnomad_rows_first_kept_and_counted(tmp_path: Path, gnomad_root: Path) -> None:
    """A gnomAD file holding the same allele twice (after normalization) gives the first."""
    import pysam

    src = gnomad_root / "r2.1.1-exomes" / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz"
    folder = tmp_path / "dup"
    folder.mkdir()
    plain = folder / "gnomad.exomes.r2.1.1.sites.1.vcf"
    with pysam.BGZFile(str(src), "rb", None) as handle:
        lines = handle.read().decode().splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    target = next(ln for ln in body if "\t55516888\t" in ln and "\tG\tGA\t" in ln)
    # the same insertion spelled non-minimally (GA>GAA) right after it, with AC changed
    respelled = target.replace("\tG\tGA\t", "\tGA\tGAA\t").replace(";AC=121;", ";AC=999;")
    body.insert(body.index(target) + 1, respelled)
    plain.write_text("".join(header + body))
    pysam.tabix_compress(str(plain), str(plain) + ".bgz")
    plain.unlink()
    a = Annotator.open(folder, version="r2.1.1", max_workers=1)
    res = a.lookup(["1"], [55516888], ["G"], ["GA"])
    a.close()
    assert res.values["ac"][0] == 121
    assert a.totals["duplicate_gnomad_keys"] == 1


def test_dataframe_multi_alt_cell_is_invalid_not_guessed(gnomad_root: Path) -> None:
    from varidex.io.loaders.gnomad import GnomADLoader

    df = pd.DataFrame({"chrom": ["1"], "pos": [55516888], "ref": ["G"], "alt": ["GA,A"]})
    with GnomADLoader(gnomad_root / "r2.1.1-exomes", max_workers=1) as loader:
        out = loader.annotate_dataframe(df, show_progress=False)
    assert out["gnomad_status"].tolist() == ["invalid_allele"]


def test_an_zero_record_keeps_values_missing(generated: Path) -> None:
    """chr21:23037734 A>G of the generated v4.1 set: AC=0, AN=0, AF=., grpmax=."""
    a = Annotator.open(generated / "v4.1-genomes", version="v4.1", dataset="genomes",
                       max_workers=1)
    res = a.lookup(["21"], [23037734], ["A"], ["G"])
    a.close()
    assert res.status[0] == "found_non_pass"
    assert (res.values["ac"][0], res.values["an"][0]) == (0, 0)
    for name in ("af", "grpmax", "faf95_max", "faf95_max_group"):
        assert res.values[name][0] is None, name


# --- Build guard on every declared chromosome length (issue: only chr1 was compared) -------

HEADERS = Path(__file__).parent / "data" / "headers"
# Real gnomAD headers that declare all of 1-22, X, Y and the mitochondrion (rCRS).
BUILD_HEADERS = {"GRCh37": "gnomad.exomes.r2.0.1.header.txt.gz",
                 "GRCh38": "gnomad.genomes.v3.1.1.header.txt.gz"}


def _declared(build: str) -> dict[str, int]:
    """The ##contig lengths of a real gnomAD header of ``build``."""
    import gzip
    import re

    text = gzip.decompress((HEADERS / BUILD_HEADERS[build]).read_bytes()).decode()
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^##contig=<ID=([^,>]+),length=(\d+)", text, re.M)}


@pytest.mark.parametrize("build", ["GRCh37", "GRCh38"])
def test_contig_length_table_is_the_real_headers(build: str) -> None:
    from varidex.gnomad.contigs import CONTIG_LENGTHS, normalize_chrom

    declared = {normalize_chrom(n): v for n, v in _declared(build).items()}
    assert {c: declared[c] for c in CONTIG_LENGTHS[build]} == CONTIG_LENGTHS[build]
    assert CONTIG_LENGTHS[build]["MT"] == 16569  # rCRS in both builds


def test_issue_grch38_chr21_header_against_grch37_stops_naming_the_contig(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ensembl VEP's test.vcf declares only GRCh38's chromosomes 21 and 22: no chr1 line,
    so the old check let it through and every variant came out absent or no_data."""
    from varidex.gnomad.cli import main

    out = tmp_path / "out.tsv"
    args = ["annotate", str(INPUTS / "test.vcf"), "--gnomad-dir",
            str(gnomad_root / "r2.1.1-exomes"), "-o", str(out), "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert ("the header declares contig 21 with length 46709983, which is GRCh38's "
            "chromosome 21 (GRCh37's is 48129895), but gnomAD r2.1.1/exomes is GRCh37 "
            "(other contigs of GRCh38 length: 22); use a gnomAD release of the input's "
            "build, lift the input over, or pass --allow-ref-mismatch") in err
    assert str(INPUTS / "test.vcf") in err
    assert not out.exists()
    assert main([*args, "--allow-ref-mismatch"]) == 0  # the user's override still works
    table = pd.read_csv(out, sep="\t", dtype=str)
    assert len(table) == 132
    assert set(table["gnomad_status"]) == {"no_data"}  # no 21/22 file in the excerpt


@pytest.mark.parametrize("release", [("r2.1.1-exomes", "r2.1.1", "exomes", "GRCh37"),
                                     ("v4.0-genomes", "v4.0", "genomes", "GRCh38")],
                         ids=["r2.1.1 (GRCh37)", "v4.0 (GRCh38)"])
def test_each_chromosome_of_the_other_build_stops_and_its_own_passes(
        release: tuple[str, str, str, str], gnomad_root: Path) -> None:
    from varidex.gnomad.contigs import CONTIG_LENGTHS, normalize_chrom
    from varidex.gnomad.pipeline import check_contigs

    folder, version, dataset, build = release
    other = "GRCh38" if build == "GRCh37" else "GRCh37"
    a = Annotator.open(gnomad_root / folder, version=version, dataset=dataset, max_workers=1)
    try:
        own = _declared(build)
        assert check_contigs(a, own, "own") == frozenset()  # every real length: no error
        for name, length in _declared(other).items():
            canon = normalize_chrom(name)
            if canon == "MT":  # the rCRS in both builds: nothing to tell
                assert check_contigs(a, {name: length}, "x") == frozenset()
                continue
            if canon not in CONTIG_LENGTHS[other]:
                continue
            with pytest.raises(BuildMismatchError) as err:
                check_contigs(a, {name: length}, "x")
            assert (f"contig {name} with length {length}, which is {other}'s chromosome "
                    f"{canon} ({build}'s is {CONTIG_LENGTHS[build][canon]}), but gnomAD "
                    f"{version}/{dataset} is {build};") in str(err.value)
        # a length of neither build (a test contig, a patched assembly) is left alone
        assert check_contigs(a, {"chr22": 20001, "21": 1}, "x") == frozenset()
        a.allow_ref_mismatch = True
        assert check_contigs(a, _declared(other), "x") == frozenset()
    finally:
        a.close()


def test_grch37_vcf_with_its_contig_lengths_is_annotated(gnomad_root: Path) -> None:
    """The GIAB trio VCF declares 86 b37 contigs (1-22, X, Y, MT, GL...): it passes."""
    a = Annotator.open(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1)
    frame = read_variants(str(INPUTS / "ashk-trio.pcsk9.vcf"))
    assert len(frame.attrs["contig_lengths"]) == 86
    out, _ = annotate_frame(a, frame, show_progress=False, where="ashk-trio")
    a.close()
    first = out.iloc[0]
    assert (first["position"], first["gnomad_status"], first["gnomad_af"]) == (
        55505651, "found", 0.0100399)


def test_contig_line_with_id_after_length_is_checked_too(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a tester: `##contig=<length=156040895,ID=X>` (GRCh38's X) passed the guard,
    # which read only lines starting `<ID=`.
    from varidex.gnomad.cli import main

    src = tmp_path / "in.vcf"
    src.write_text("##fileformat=VCFv4.2\n##contig=<length=156040895,ID=X>\n"
                   "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "X\t69902557\t.\tG\tT\t.\t.\t.\n")
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv"), "-q"]) == 1
    assert "the header declares contig X with length 156040895, which is GRCh38's" in (
        capsys.readouterr().err)
