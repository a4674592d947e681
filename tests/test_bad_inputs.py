"""Regression tests from a break-test: every failure is an error naming the problem, or a
status, never a silent wrong answer."""

from __future__ import annotations

import gzip
import logging
import os
import shutil
from pathlib import Path

import pandas as pd
import pysam
import pytest

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.cli import main
from varidex.gnomad.discovery import discover
from varidex.gnomad.errors import (
    BuildMismatchError,
    GnomADError,
    GnomADFileError,
    ReleaseSchemaError,
)

GNOMAD = Path(__file__).parent / "data" / "gnomad"


def _rewrite(src: Path, dest: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    """Copy a real bgzipped excerpt with its text edited, recompressed and indexed."""
    with pysam.BGZFile(str(src), "rb", None) as handle:
        text = handle.read().decode()
    plain = dest.with_suffix("")
    plain.write_text(edit(text))
    pysam.tabix_compress(str(plain), str(dest), force=True)
    plain.unlink()
    pysam.tabix_index(str(dest), preset="vcf", force=True, keep_original=True)
    return dest


@pytest.mark.parametrize(("chrom", "outcome"), [
    ("NC_000001.10", 2341),                # GRCh37 accession of chromosome 1: found
    ("NC_000001.11", BuildMismatchError),  # GRCh38 accession against GRCh37 r2.1.1
])
def test_refseq_accession_build_is_checked(gnomad_root: Path, chrom: str,
                                           outcome: object) -> None:
    a = Annotator.open(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1)
    try:
        if outcome is BuildMismatchError:
            with pytest.raises(BuildMismatchError, match="GRCh38 RefSeq accession"):
                a.lookup([chrom], [55505647], ["G"], ["T"])
            a.allow_ref_mismatch = True
            assert a.lookup([chrom], [55505647], ["G"], ["T"]).status[0] == "no_data"
        else:
            assert a.lookup([chrom], [55505647], ["G"], ["T"]).values["ac"][0] == outcome
    finally:
        a.close()


@pytest.mark.parametrize("missing", [None, float("nan"), pd.NA, "NA", "", " "])
def test_missing_alleles_are_invalid_not_absent(gnomad_root: Path, missing: object) -> None:
    a = Annotator.open(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1)
    res = a.lookup(["1", "1"], [55505647, 55505647], ["G", missing], [missing, "T"])
    a.close()
    assert res.status.tolist() == ["invalid_allele", "invalid_allele"]


def test_stale_index_is_an_error(fresh_release) -> None:  # type: ignore[no-untyped-def]
    folder: Path = fresh_release("r2.1.1-genomes")
    data = folder / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz"
    index = folder / (data.name + ".tbi")
    os.utime(index, (1_000_000_000, 1_000_000_000))  # index from 2001, data from now
    with pytest.raises(GnomADFileError, match="older than its data file"):
        discover(folder, version="r2.1.1", dataset="genomes")


def test_index_of_another_file_is_an_error(fresh_release) -> None:  # type: ignore[no-untyped-def]
    folder: Path = fresh_release("r2.1.1-genomes")
    shutil.copy2(folder / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz.tbi",
                 folder / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz.tbi")
    with pytest.raises(GnomADFileError, match=r"lists contig\(s\) X, not chromosome 1"):
        discover(folder, version="r2.1.1", dataset="genomes")


def test_genomes_file_named_as_exomes_is_refused(tmp_path: Path) -> None:
    src = GNOMAD / "v4.0-genomes" / "gnomad.genomes.v4.0.sites.chr1.vcf.bgz"
    shutil.copy2(src, tmp_path / "gnomad.exomes.v4.0.sites.chr1.vcf.bgz")
    shutil.copy2(str(src) + ".tbi", tmp_path / "gnomad.exomes.v4.0.sites.chr1.vcf.bgz.tbi")
    with pytest.raises(ReleaseSchemaError, match="AC_ami"):
        discover(tmp_path, version="v4.0", dataset="exomes")


def test_folder_with_two_releases_needs_a_version(tmp_path: Path) -> None:
    for d in ("r2.1.1-genomes", "v4.0-genomes"):
        for f in (GNOMAD / d).iterdir():
            shutil.copy2(f, tmp_path / f.name)
    with pytest.raises(GnomADError, match=r"several gnomAD releases: r2\.1\.1/genomes"):
        discover(tmp_path, version=None, dataset="genomes")
    assert discover(tmp_path, version="v4.0", dataset="genomes").chromosomes == ["1"]


def test_malformed_gnomad_value_names_the_record(tmp_path: Path) -> None:
    src = GNOMAD / "r2.1.1-genomes" / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz"
    _rewrite(src, tmp_path / src.name, lambda t: t.replace("\tAC=1;", "\tAC=abc;"))
    a = Annotator.open(tmp_path, version="r2.1.1", dataset="genomes", max_workers=1)
    with pytest.raises(GnomADFileError, match=r"malformed record at 1:55505599.*'abc'"):
        a.lookup(["1"], [55505599], ["C"], ["G"])
    a.close()


def test_gnomad_record_with_few_columns_names_the_record(tmp_path: Path) -> None:
    src = GNOMAD / "r2.1.1-genomes" / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz"

    def cut(text: str) -> str:
        lines = text.splitlines(keepends=True)
        return "".join(ln if ln.startswith("#") else "\t".join(ln.split("\t")[:4]) + "\n"
                       for ln in lines)

    _rewrite(src, tmp_path / src.name, cut)
    a = Annotator.open(tmp_path, version="r2.1.1", dataset="genomes", max_workers=1)
    with pytest.raises(GnomADFileError, match=r"malformed record at 1:55505599"):
        a.lookup(["1"], [55505599], ["C"], ["G"])
    a.close()


def test_plain_gzip_gnomad_file_is_an_error(tmp_path: Path) -> None:
    src = GNOMAD / "r2.1.1-genomes" / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz"
    target = tmp_path / src.name
    with pysam.BGZFile(str(src), "rb", None) as handle:
        target.write_bytes(gzip.compress(handle.read()))  # gzip, not bgzip
    shutil.copy(str(src) + ".tbi", str(target) + ".tbi")  # newer than the data
    with pytest.raises(GnomADError, match="not bgzip"):
        Annotator.open(tmp_path, version="r2.1.1", dataset="genomes", max_workers=1)


def test_header_only_gnomad_file_warns_and_gives_no_data(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = GNOMAD / "r2.1.1-genomes" / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz"
    _rewrite(src, tmp_path / src.name,
             lambda t: "".join(ln for ln in t.splitlines(keepends=True) if ln[0] == "#"))
    with caplog.at_level(logging.WARNING, logger="varidex"):
        a = Annotator.open(tmp_path, version="r2.1.1", dataset="genomes", max_workers=1)
    res = a.lookup(["X"], [69902634], ["C"], ["T"])
    a.close()
    assert res.status[0] == "no_data"
    assert "holds no records" in caplog.text


def test_empty_gnomad_file(tmp_path: Path) -> None:
    (tmp_path / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz").write_bytes(b"")
    with pytest.raises(GnomADFileError, match="empty file"):
        discover(tmp_path, version="r2.1.1", dataset="genomes")


@pytest.mark.parametrize(("args", "message"), [
    (["-o", "{tmp}/missing/out.tsv"], "does not exist; create it first"),
    (["-o", "{tmp}"], "is a directory"),
    (["-o", "{tmp}/out.xlsx"], ".xlsx output is not available"),
])
def test_output_errors_are_one_line(gnomad_root: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str], args: list[str],
                                    message: str) -> None:
    src = tmp_path / "v.tsv"
    src.write_text("chrom\tpos\tref\talt\n1\t55505647\tG\tT\n")
    argv = ["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes")]
    assert main(argv + [a.format(tmp=tmp_path) for a in args]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(("content", "message"), [
    ("chrom,pos,ref,alt\n1,99999999999999999999,G,T\n", "line 2"),
    ("chrom,pos,ref,alt\n1,0,G,T\n", "1-based position"),
    ("chrom,pos,ref,alt\n1,-5,G,T\n", "1-based position"),
    # Unicode digits (Arabic-Indic, fullwidth) are not a position: int() reads them
    ("chrom,pos,ref,alt\n1,\u0665\u0665\u0665\u0660\u0665\u0666\u0664\u0667,G,T\n",
     "line 2"),
    ("chrom,pos,ref,alt\n1,\uff15\uff15\uff15\uff10\uff15\uff16\uff14\uff17,G,T\n",
     "1-based position"),
])
def test_bad_positions_name_the_line(gnomad_root: Path, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str], content: str,
                                     message: str) -> None:
    src = tmp_path / "v.csv"
    src.write_text(content, encoding="utf-8")
    out = tmp_path / "o.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert message in err
    assert "v.csv" in err
    assert not out.exists()


def test_truncated_gzip_input(gnomad_root: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    data = gzip.compress(("chrom,pos,ref,alt\n" + "1,55505647,G,T\n" * 5000).encode())
    src = tmp_path / "v.csv.gz"
    src.write_bytes(data[: len(data) // 2])
    assert main(["annotate", str(src), "--input-format", "csv", "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "-o", str(tmp_path / "o.tsv")]) == 1
    assert "v.csv.gz" in capsys.readouterr().err
    assert not (tmp_path / "o.tsv").exists()


def test_output_permissions_follow_umask_and_gz_is_bgzip(gnomad_root: Path,
                                                         tmp_path: Path) -> None:
    src = tmp_path / "v.tsv"
    src.write_text("chrom\tpos\tref\talt\n1\t55505647\tG\tT\n")
    old = os.umask(0o022)
    try:
        assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                     "-o", str(tmp_path / "o.tsv.gz"), "-q"]) == 0
    finally:
        os.umask(old)
    out = tmp_path / "o.tsv.gz"
    assert out.stat().st_mode & 0o777 == 0o644
    with pysam.BGZFile(str(out), "rb", None) as handle:  # bgzip, so tabix-able
        text = handle.read().decode()
    assert "\t0.0119305\t2341\t" in text


HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\n"


@pytest.mark.parametrize(("body", "code", "message"), [
    ("1\t55505647\t.\tG\tT\n", 0, None),                          # a 5-column VCF
    ("1\t55505647\t.\tG\tT\r\n", 0, None),                        # CRLF line ends
    ("\ufeff", 0, None),                                          # a byte-order mark first
    ("1\t55505647\t.\tG\n", 1, "line 3: a VCF record needs at least 5"),
    ("1\t55505647\t.\tG\tT\n1\tabc\t.\tG\tT\n", 1, "line 4: POS is not a 1-based"),
    ("1\t\u0665\u0665\u0665\u0660\u0665\u0666\u0664\u0667\t.\tG\tT\n", 1,
     "line 3: POS is not a 1-based"),
])
def test_vcf_records(gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                     body: str, code: int, message: str | None) -> None:
    src = tmp_path / "in.vcf"
    text = "\ufeff" + HEADER + "1\t55505647\t.\tG\tT\n" if body == "\ufeff" else HEADER + body
    src.write_bytes(text.encode())
    out = tmp_path / "out.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == code
    if message is None:
        table = pd.read_csv(out, sep="\t")
        assert table["gnomad_ac"].tolist() == [2341]
        assert table["alt_allele"].tolist() == ["T"]
    else:
        assert message in capsys.readouterr().err
        assert not out.exists()


def _whole_genome(tmp_path: Path) -> Path:
    """The r2.0.1 exome records repeated as chromosomes 1-8 in one bgzipped file."""
    src = GNOMAD / "r2.0.1-exomes" / "gnomad.exomes.r2.0.1.sites.vcf.gz"
    lines = gzip.decompress(src.read_bytes()).split(b"\n")
    head = [ln for ln in lines if ln.startswith(b"#")]
    recs = [ln for ln in lines if ln and not ln.startswith(b"#")]
    body = [c + ln[ln.index(b"\t"):] for c in (b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8")
            for ln in recs]
    plain = tmp_path / "whole.vcf"
    plain.write_bytes(b"\n".join(head + body) + b"\n")
    target = tmp_path / "gnomad.exomes.r2.0.1.sites.vcf.gz"
    pysam.tabix_compress(str(plain), str(target), force=True)
    plain.unlink()
    return target


def test_block_span_stops_at_the_next_contig(tmp_path: Path) -> None:
    from varidex.gnomad.blocks import build_block_index, load_block_index

    data = _whole_genome(tmp_path)
    build_block_index(data)
    index = load_block_index(data)
    assert index is not None
    size = data.stat().st_size
    for contig in ("1", "2"):  # not the last contig: never read to the end of the file
        q = int(index.contigs[contig].first_pos[-1]) + 10
        first, last, _ = index.span(contig, q, q)
        assert last - first < size / 4
    # and the lookups through the block index equal tabix's
    pysam.tabix_index(str(data), preset="vcf", keep_original=True, force=True)
    with_blocks = Annotator.open(tmp_path, version="r2.0.1", max_workers=1)
    assert with_blocks.files.block_indexed
    res = with_blocks.lookup(["1", "2", "8"], [905610] * 3, ["TG"] * 3, ["T"] * 3)
    with_blocks.close()
    assert res.values["ac"].tolist() == [3, 3, 3]


def test_damaged_block_index_warns_and_falls_back(fresh_release,  # type: ignore[no-untyped-def]
                                                  caplog: pytest.LogCaptureFixture) -> None:
    from varidex.gnomad.discovery import index_folder

    folder: Path = fresh_release("r2.1.1-genomes")
    index_folder(folder)
    vdx = folder / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz.vdx"
    vdx.write_bytes(vdx.read_bytes()[:100])  # truncated
    with caplog.at_level(logging.WARNING, logger="varidex"):
        a = Annotator.open(folder, version="r2.1.1", dataset="genomes", max_workers=1)
    res = a.lookup(["1"], [55505599], ["C"], ["G"])
    a.close()
    assert res.values["ac"][0] == 1
    assert "reading through tabix instead" in caplog.text


@pytest.mark.parametrize(("value", "message"), [
    ("inf", "not a whole number below 2\\*\\*53"),
    ("99999999999999999999", "not a whole number below 2\\*\\*53"),
    ("-nan", "non-numeric AC='-nan'"),
    ("1_0", "non-numeric AC='1_0'"),
])
def test_bad_counts_are_errors(tmp_path: Path, value: str, message: str) -> None:
    src = GNOMAD / "r2.1.1-genomes" / "gnomad.genomes.r2.1.1.sites.1.vcf.bgz"
    _rewrite(src, tmp_path / src.name, lambda t: t.replace("\tAC=1;", f"\tAC={value};"))
    a = Annotator.open(tmp_path, version="r2.1.1", dataset="genomes", max_workers=1)
    with pytest.raises(GnomADFileError, match=message):
        a.lookup(["1"], [55505599], ["C"], ["G"])
    a.close()


def test_non_utf8_byte_in_input_vcf(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "latin1.vcf"
    src.write_bytes(b"##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                    b"1\t55505647\t.\tG\tT\t.\tPASS\tNOTE=caf\xe9\n")
    out = tmp_path / "o.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 0
    assert pd.read_csv(out, sep="\t")["gnomad_ac"].tolist() == [2341]


@pytest.mark.parametrize(("name", "content", "line"), [
    ("v.csv", "chrom,pos,ref,alt\n1,55505647,G,T\n\n\n1,abc,G,T\n", 5),
    ("v.tsv", "chrom\tpos\tref\talt\n\n  \n1\t55505647\tG\tT\n\n\n1\tabc\tG\tT\n", 7),
    ("v.vcf", HEADER + "1\t55505647\t.\tG\tT\n\n\n1\tabc\t.\tG\tT\n", 6),
    ("v.vcf.gz", HEADER + "1\t55505647\t.\tG\tT\r\n\r\n1\tabc\t.\tG\tT\r\n", 5),
    ("v.vcf", HEADER + "\n\n1\t55505647\t.\tG\n", 5),
    # a quoted value spanning lines (blank ones too) before the bad record
    ("v.csv", 'chrom,pos,ref,alt,note\n1,55516888,G,GA,"multi\nline\nnote"\n1,BAD,G,T,x\n', 5),
    ("v.csv", 'chrom,pos,ref,alt,note\n\n1,55516888,G,GA,"a\n\n\nb"\n1,BAD,G,T,x\n', 7),
])
def test_blank_lines_do_not_shift_line_numbers(gnomad_root: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str], name: str,
                                               content: str, line: int) -> None:
    """Regression: the readers skip blank lines, and errors named the record's row as its
    line (line 3 for the bad POS on line 5 of the CSV)."""
    src = tmp_path / name
    data = content.encode()
    src.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    out = tmp_path / "o.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 1
    assert f"{name}, line {line}: " in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("blank", ["\n", "  \n", "\r\n"])
def test_blank_line_in_the_vcf_header_is_named(gnomad_root: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str],
                                               blank: str) -> None:
    """Regression: a blank line among the ## lines gave "no #CHROM header line; is this a
    VCF?" although the #CHROM line was there."""
    src = tmp_path / "v.vcf"
    src.write_bytes(("##fileformat=VCFv4.2\n" + blank + "#CHROM\tPOS\tID\tREF\tALT\n"
                     "1\t55505647\t.\tG\tT\n").encode())
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "o.tsv"), "-q"]) == 1
    assert "v.vcf, line 2: a blank line in the header, before the #CHROM line" in (
        capsys.readouterr().err)
