"""The corpus of bad inputs: every case through the CLI, with its exit code, the error (or
warning) naming the problem, and no output file left behind when it fails.

Every file is made at test time from the real excerpts in tests/data (cut, recompressed,
re-indexed with htslib, or written as the plain text a user would have)."""

from __future__ import annotations

import gzip
import logging
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pysam
import pytest

from varidex.gnomad.cli import main

DATA = Path(__file__).parent / "data"
PCSK9 = "gnomad.exomes.r2.1.1.sites.1.vcf.bgz"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RS11591147 = "1\t55505647\trs11591147\tG\tT\t.\tPASS\t.\n"
RS_OTHER = "1\t55505651\t.\tC\tT\t.\tPASS\t.\n"


def _run(args: list[str]) -> int:
    return main(["annotate", *args, "--workers", "1", "-q"])


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith((".out", "out")))


def _half_gzip() -> bytes:
    body = "".join(f"1\t{55505599 + i}\t.\tG\tT\t.\t.\t.\n" for i in range(20_000))
    whole = gzip.compress((HEADER + body).encode())
    return whole[: len(whole) // 2]


# --- inputs that are errors: exit 1, one line naming file + line + problem, no output ------

BAD_INPUTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "empty file": (lambda p: p.write_bytes(b""), r"in\.vcf: empty file, or not a VCF"),
    "non-VCF text": (lambda p: p.write_text("Dear colleague,\nplease find the variants\n"),
                     r"in\.vcf: empty file, or not a VCF \(no #CHROM header line\)"),
    "binary junk": (lambda p: p.write_bytes(bytes(range(256)) * 40),
                    r"in\.vcf: .*not a VCF"),
    "missing columns": (lambda p: p.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\n"
                                               "1\t55505647\trs11591147\tG\n"),
                        r"in\.vcf, line 3: a VCF record needs at least 5 tab-separated "
                        r"columns .*found 4"),
    "non-numeric POS": (lambda p: p.write_text(HEADER + "1\t55,505,647\t.\tG\tT\t.\t.\t.\n"),
                        r"in\.vcf, line 3: POS is not a 1-based position .*'55,505,647'"),
    "negative POS": (lambda p: p.write_text(HEADER + RS11591147 + "1\t-7\t.\tG\tT\t.\t.\t.\n"),
                     r"in\.vcf, line 4: POS is not a 1-based position .*'-7'"),
    "truncated gzip": (lambda p: p.write_bytes(_half_gzip()),
                       r"in\.vcf: cannot read .*is the file complete\?"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_file(case: str, gnomad_root: Path, tmp_path: Path,
                        capsys: pytest.CaptureFixture[str]) -> None:
    make, message = BAD_INPUTS[case]
    src = tmp_path / "in.vcf"
    make(src)
    before = src.read_bytes()
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert re.search(message, err[0]), err[0]
    assert _leftovers(tmp_path) == []
    assert src.read_bytes() == before  # inputs are never modified


def test_csv_without_required_columns(gnomad_root: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text("gene,hgvs_c\nPCSK9,c.137G>T\n")
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.csv")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "in.csv: missing required column(s): chromosome" in err
    assert "Columns found: gene, hgvs_c" in err
    assert _leftovers(tmp_path) == []


# A 23andMe download (the real openSNP file of tests/data/inputs, its header on build 37 as
# current downloads are) with one junk line after a good row: line 17 of the file.
_23ANDME_HEAD = "".join((DATA / "inputs" / "23andMe_test.txt").read_text().replace(
    "build 36", "build 37").splitlines(True)[:15]) + "rs11591147\t1\t55505647\tGT\r\n"
JUNK_LINES = {
    "html error page": ("<html><body>Rate limit exceeded</body></html>\r\n", "1 tab-separated"),
    "row cut short": ("rs2\t1\t55505651\r\n", "3 tab-separated"),
    "binary bytes": ("\x00\x01\x02\x7fgarbage\r\n", "1 tab-separated"),
    "extra column": ("rs3\t1\t55505651\tCT\tnote\r\n", "5 tab-separated"),
}


@pytest.mark.parametrize("case", sorted(JUNK_LINES))
def test_23andme_file_with_a_junk_line(case: str, gnomad_root: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    junk, fields = JUNK_LINES[case]
    src = tmp_path / "genome.txt"
    src.write_text(_23ANDME_HEAD + junk + "rs3\t1\t55505651\tCT\r\n", newline="")
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert "genome.txt, line 17: " + fields in err[0]
    assert "23andMe rows have 4 (rsid, chromosome, position, genotype)" in err[0]
    assert "repair or delete the line" in err[0]
    assert _leftovers(tmp_path) == []


def test_23andme_blank_lines_are_skipped_and_line_numbers_kept(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "genome.txt"
    src.write_text(_23ANDME_HEAD + "\r\n\r\nrs3\t1\t55505651\tCT\r\nrs4\t1\tx\tAA\r\n",
                   newline="")
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")])
    assert code == 1
    assert "genome.txt, line 20: position 'x'" in capsys.readouterr().err
    src.write_text(_23ANDME_HEAD + "\r\n\r\nrs3\t1\t55505651\tCT\r\n", newline="")
    assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")]) == 0
    table = pd.read_csv(tmp_path / "out.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert table["gnomad_af"].tolist() == ["0.0119305", "0.0100399"]  # rs11591147, rs3


# --- inputs that are odd but fine: right values ----------------------------------------------

def _af(path: Path) -> list[str]:
    frame = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return frame["gnomad_af"].tolist()


def test_crlf_line_ends(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.vcf"
    src.write_bytes((HEADER + RS11591147 + RS_OTHER).replace("\n", "\r\n").encode())
    assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")]) == 0
    assert _af(tmp_path / "out.tsv") == ["0.0119305", "0.0100399"]


def test_unsorted_input_keeps_its_order(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.vcf"
    src.write_text(HEADER + RS_OTHER + "2\t45895\t.\tA\tG\t.\t.\t.\n" + RS11591147)
    assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")]) == 0
    assert _af(tmp_path / "out.tsv") == ["0.0100399", "", "0.0119305"]


def test_one_megabyte_info_value_in_the_input(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.vcf"
    src.write_text(HEADER + RS11591147.replace("PASS\t.", "PASS\tNOTE=" + "x" * 1_000_000)
                   + RS_OTHER)
    assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")]) == 0
    assert _af(tmp_path / "out.tsv") == ["0.0119305", "0.0100399"]


@pytest.mark.parametrize("indexed", [False, True], ids=["tabix", "blocks"])
def test_one_megabyte_info_value_in_gnomad(tmp_path: Path, indexed: bool) -> None:
    """A gnomAD record longer than many BGZF blocks (64 kB each) is read whole."""
    from varidex.gnomad.discovery import index_folder

    folder = tmp_path / "gnomad"
    folder.mkdir()
    with pysam.BGZFile(str(DATA.parent.parent / "src/varidex/gnomad/data" / PCSK9), "rb",
                       None) as handle:
        text = handle.read().decode()
    big = text.replace("\tAC=2341;", "\tAC=2341;vep=" + "A|" * 500_000 + ";", 1)
    assert big != text
    plain = folder / "plain.vcf"
    plain.write_text(big)
    pysam.tabix_compress(str(plain), str(folder / PCSK9))
    plain.unlink()
    pysam.tabix_index(str(folder / PCSK9), preset="vcf")
    if indexed:
        index_folder(folder)
        assert (folder / (PCSK9 + ".vdx")).exists()
    src = tmp_path / "in.vcf"
    src.write_text(HEADER + RS11591147 + RS_OTHER)
    assert _run([str(src), "--gnomad-dir", str(folder), "-o", str(tmp_path / "out.tsv")]) == 0
    assert _af(tmp_path / "out.tsv") == ["0.0119305", "0.0100399"]


def test_header_only_input_gives_a_header_only_output(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.vcf"
    src.write_text(HEADER)
    assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")]) == 0
    frame = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert len(frame) == 0
    assert "gnomad_af" in frame.columns


def test_header_only_23andme_file_gives_a_header_only_output(gnomad_root: Path,
                                                              tmp_path: Path) -> None:
    # Found by a tester: a 23andMe file with its header only wrote a 0-byte output.
    src = tmp_path / "genome.txt"
    src.write_text(_23ANDME_HEAD.rsplit("rs11591147", 1)[0], newline="")
    assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")]) == 0
    frame = pd.read_csv(tmp_path / "out.tsv", sep="\t")
    assert len(frame) == 0
    assert frame.columns[:8].tolist() == ["input_row", "rsid", "chromosome", "position",
                                          "genotype", "ref_allele", "alt_allele", "alt_copies"]
    assert "gnomad_af" in frame.columns


def _zip(path: Path) -> None:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("genome_Full_20240101.txt", _23ANDME_HEAD)


# Inputs named neither .vcf nor .parquet, told apart by their first bytes (found by a
# tester: a zipped 23andMe download gave "Error tokenizing data", an empty file "No
# columns to parse from file").
CONTAINERS = {
    "zipped download": (_zip, r"genome\.zip: is a ZIP archive .*unzip it"),
    "empty file": (lambda p: p.write_bytes(b""), r"genome\.zip: is empty: nothing to annotate"),
    "empty gzip": (lambda p: p.write_bytes(gzip.compress(b"")),
                   r"genome\.zip: is empty: nothing to annotate"),
    "blank lines": (lambda p: p.write_bytes(b"\n\r\n  \n"),
                    r"genome\.zip: is empty: nothing to annotate"),
    "bzip2": (lambda p: p.write_bytes(__import__("bz2").compress(_23ANDME_HEAD.encode())),
              r"genome\.zip: is bzip2-compressed, not a variants file: decompress it"),
}


@pytest.mark.parametrize("case", sorted(CONTAINERS))
def test_archives_and_empty_files(case: str, gnomad_root: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    make, message = CONTAINERS[case]
    src = tmp_path / "genome.zip"
    make(src)
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert re.search(message, err[0]), err[0]
    assert _leftovers(tmp_path) == []


# --- per-record problems: a status and capped warnings, or with --strict an error -----------

def _odd_records(path: Path, n: int) -> None:
    body = "".join(f"chrUn_gl000220\t{100 + i}\t.\tC\tT\t.\t.\t.\n" for i in range(n))
    path.write_text(HEADER + RS11591147 + "1\t55505651\t.\tC\tZ\t.\t.\t.\n" + body)


def test_per_record_problems_warn_capped_and_count(gnomad_root: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    src = tmp_path / "in.vcf"
    _odd_records(src, 20)
    with caplog.at_level(logging.WARNING, logger="varidex"):
        assert _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                     "-o", str(tmp_path / "out.tsv")]) == 0
    frame = pd.read_csv(tmp_path / "out.tsv", sep="\t", dtype=str)
    assert frame["gnomad_status"].tolist()[:3] == ["found", "invalid_allele", "no_data"]
    assert (frame["gnomad_status"][2:] == "no_data").all()
    lines = [r.getMessage() for r in caplog.records]
    assert "in.vcf, record 2 (1:55505651): REF 'C' / ALT 'Z' is not a DNA allele" in lines[0]
    assert "record 3 (chrUn_gl000220:100): contig 'chrUn_gl000220' is not a chromosome" \
        in lines[1]
    assert sum("is not a" in ln for ln in lines) == 10
    assert any("21 records had problems (first 10 shown above)" in ln for ln in lines)


def test_strict_turns_record_problems_into_errors(gnomad_root: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.vcf"
    _odd_records(src, 3)
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv"), "--strict"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == ["error: " + str(src) + ": record 2 (1:55505651): REF 'C' / ALT 'Z' is not a "
                   "DNA allele (A, C, G, T, N; or * and <...> symbolic alleles); correct or "
                   "remove the record (without --strict such records get a status and a "
                   "warning)"]
    assert _leftovers(tmp_path) == []


def test_csv_record_problems_name_the_row(gnomad_root: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.csv"
    src.write_text("chrom,pos,ref,alt\n1,55505647,G,T\nfoo,5,A,G\n")
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.csv"), "--strict"])
    assert code == 1
    assert "in.csv: row 2 (foo:5): contig 'foo' is not a chromosome gnomAD covers" \
        in capsys.readouterr().err
    assert _leftovers(tmp_path) == []


# --- broken gnomAD folders: exit 1, naming the gnomAD file and the fix, no output -----------

def _truncate(folder: Path) -> None:
    f = folder / PCSK9
    data = f.read_bytes()
    f.write_bytes(data[: len(data) // 2])
    os.utime(folder / (PCSK9 + ".tbi"))


def _plain_gzip(folder: Path) -> None:
    f = folder / PCSK9
    with pysam.BGZFile(str(f), "rb", None) as handle:
        text = handle.read()
    f.write_bytes(gzip.compress(text))
    os.utime(folder / (PCSK9 + ".tbi"))


def _stale(folder: Path) -> None:
    os.utime(folder / (PCSK9 + ".tbi"), (1_000_000_000, 1_000_000_000))


def _foreign_index(folder: Path) -> None:
    other = DATA / "gnomad" / "r2.1.1-genomes" / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz.tbi"
    shutil.copy(other, folder / (PCSK9 + ".tbi"))


def _empty(folder: Path) -> None:
    (folder / PCSK9).write_bytes(b"")
    os.utime(folder / (PCSK9 + ".tbi"))


BAD_GNOMAD: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated bgzip": (_truncate, r"sites\.1\.vcf\.bgz: truncated: .*download it again"),
    "gzip, not bgzip": (_plain_gzip, r"sites\.1\.vcf\.bgz: .*not bgzip"),
    "stale index": (_stale, r"older than its data file"),
    "index of another file": (_foreign_index, r"lists contig\(s\) X, not chromosome 1"),
    "empty gnomAD file": (_empty, r"sites\.1\.vcf\.bgz: empty file"),
}


@pytest.mark.parametrize("case", sorted(BAD_GNOMAD))
def test_bad_gnomad_file(case: str, fresh_release, tmp_path: Path,  # type: ignore[no-untyped-def]
                         capsys: pytest.CaptureFixture[str]) -> None:
    folder: Path = fresh_release("r2.1.1-exomes")
    for f in folder.iterdir():
        if not f.name.startswith(PCSK9):
            f.unlink()
    spoil, message = BAD_GNOMAD[case]
    spoil(folder)
    src = tmp_path / "in.vcf"
    src.write_text(HEADER + RS11591147)
    out = tmp_path / "out.tsv"
    code = _run([str(src), "--gnomad-dir", str(folder), "-o", str(out), "--no-auto-index"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 1, err
    assert re.search(message, err[0]), err[0]
    assert _leftovers(tmp_path) == []


def test_parquet_with_a_missing_nullable_position(gnomad_root: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a tester: a nullable Int64 position holding <NA> gave a raw traceback.
    src = tmp_path / "in.parquet"
    pd.DataFrame({"chrom": ["1", "1"], "pos": pd.array([55505647, None], dtype="Int64"),
                  "ref": ["G", "G"], "alt": ["T", "T"]}).to_parquet(src)
    code = _run([str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "out.tsv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err == ["error: " + str(src) + ": row 2: position <NA> (column 'pos') is not a "
                   "1-based position: a whole number from 1 to 2,147,483,647"]
    assert _leftovers(tmp_path) == []


def test_index_reports_bad_files_indexes_the_rest_and_writes_nothing_else(
        fresh_release, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    # Found by a tester: `varidex index` on a folder with a junk .vcf.bgz wrote a stray
    # FILE.vcf.bgz.gz (htslib compressing it) and stopped before the good files.
    folder = fresh_release("r2.1.1-exomes")
    for index in [*folder.glob("*.csi"), *folder.glob("*.tbi"), *folder.glob("*.vdx")]:
        index.unlink()
    junk = folder / "gnomad.exomes.r2.1.1.sites.21.vcf.bgz"
    junk.write_text("<html>404</html>\n")
    before = sorted(p.name for p in folder.iterdir())
    assert main(["index", str(folder)]) == 1
    err = capsys.readouterr().err
    good = sorted(p.name for p in folder.glob("*.vcf.bgz") if p != junk)
    assert len(good) >= 2
    assert f"1 of {len(good) + 1} file(s) in" in err
    assert "sites.21.vcf.bgz: not bgzip-compressed (plain text, or an error page" in err
    after = sorted(p.name for p in folder.iterdir())
    assert sorted(set(after) - set(before)) == sorted(
        f"{name}{suffix}" for name in good for suffix in (".csi", ".vdx"))
