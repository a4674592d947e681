"""gnomAD variant IDs: parsing, as a column of files, and `varidex lookup`."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.cli import main
from varidex.gnomad.errors import InputFormatError
from varidex.gnomad.variant_ids import split_ids


@pytest.mark.parametrize(("text", "expected"), [
    ("1-55516888-G-GA", ["1", 55516888, "G", "GA"]),
    ("chr1:55516888:G:GA", ["chr1", 55516888, "G", "GA"]),
    ("X-69902557-G-T", ["X", 69902557, "G", "T"]),
    ("1:55505647:G>T", ["1", 55505647, "G", "T"]),
    (" MT-3-T-C ", ["MT", 3, "T", "C"]),
])
def test_split_ids(text: str, expected: list[object]) -> None:
    assert split_ids([text]).iloc[0].tolist() == expected


@pytest.mark.parametrize("text", ["1-55505647-G", "1-abc-G-T", "rs11591147", "1-0-G-T",
                                  "1-55505647-G-T-A", "", "1-\u0665\u0665-G-T"])
def test_bad_ids_name_the_id_and_the_forms(text: str) -> None:
    with pytest.raises(InputFormatError, match="CHROM-POS-REF-ALT") as info:
        split_ids([text], where="ids.csv", first_line=2)
    assert f"{text!r}" in str(info.value)
    assert "ids.csv, line 2" in str(info.value)


def test_variant_id_column_in_csv(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "ids.csv"
    src.write_text("patient,variant_id\n"
                   "p1,1-55505647-G-T\n"
                   "p2,chr1:55516888:G:GA\n"
                   "p3,1-55516888-G-A\n"
                   "p1,1-55505647-G-T\n"
                   "p4,2-45895-A-G\n")
    out = tmp_path / "ids.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert table.columns[:6].tolist() == ["patient", "variant_id", "chromosome", "position",
                                          "ref_allele", "alt_allele"]
    assert table["patient"].tolist() == ["p1", "p2", "p3", "p1", "p4"]  # order, duplicates
    assert table["gnomad_af"].tolist() == ["0.0119305", "0.000943617", "0.0000623879",
                                           "0.0119305", ""]
    assert table["gnomad_status"].tolist()[-1] == "no_data"


def test_bad_id_in_file_names_the_line(gnomad_root: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "ids.tsv"
    src.write_text("variant\n1-55505647-G-T\n1-55505647\n")
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(tmp_path / "o.tsv")]) == 1
    err = capsys.readouterr().err
    assert "ids.tsv, line 3: cannot read '1-55505647' as a variant ID" in err


def test_lookup_prints_groups(gnomad_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "1-55505647-G-T", "chr1:55516888:G:GA", "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes")]) == 0
    out, err = capsys.readouterr()
    blocks = out.split("\n\n")
    assert blocks[0].startswith("1-55505647-G-T  (1:55505647 G>T)  gnomAD r2.1.1/exomes: found")
    rows = {ln.split()[0]: ln.split() for ln in blocks[0].splitlines()[3:12]}
    assert rows["all"] == ["all", "0.0119305", "2341", "196220", "29"]
    assert rows["nfe"] == ["nfe", "0.0150899", "1270", "84162", "9"]
    assert rows["afr"][1:3] == ["0.00242215", "28"]
    assert "popmax/grpmax nfe (AF 0.0150899); faf95 max 0.0144002 (nfe)" in blocks[0]
    assert "afr (AF 0.0159487)" in blocks[1]
    assert "varidex: 2 variants, 2 found" in err


def test_lookup_absent_no_data_and_non_pass(gnomad_root: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "1-55516781-G-T", "2-45895-A-G", "1-55505621-C-T",
                 "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes")]) == 0
    blocks = capsys.readouterr().out.split("\n\n")
    assert "absent: the chromosome's gnomAD file was searched" in blocks[0]
    assert "no data" in blocks[1]
    assert "not evidence of absence" in blocks[1]
    assert "did not pass gnomAD's filters" in blocks[2]
    assert "FILTER AC0;RF" in blocks[2]


def test_lookup_exomes_and_genomes(gnomad_root: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    both = tmp_path / "both"
    both.mkdir()
    for d in ("r2.1.1-exomes", "r2.1.1-genomes"):
        for f in (gnomad_root / d).iterdir():
            (both / f.name).symlink_to(f)
    assert main(["lookup", "1-55505599-C-G", "--gnomad-dir", str(both), "--dataset",
                 "exomes,genomes"]) == 0
    out = capsys.readouterr().out
    assert "gnomAD r2.1.1/exomes+genomes: found" in out
    assert "genomes: found, AF 3.18552e-05, AC 1, AN 31392" in out


def test_lookup_ids_from_stdin(gnomad_root: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("# my list\n1-55505647-G-T\n\nX-69902557-G-T\n"))
    assert main(["lookup", "-", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes")]) == 0
    out, err = capsys.readouterr()
    assert out.count("gnomAD r2.1.1/exomes: found") == 2
    assert "hemizygotes" in out  # X outside the PARs
    assert "2 variants" in err


def test_lookup_exit_codes(gnomad_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookup", "1-x-G-T", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: variant ID: cannot read '1-x-G-T'")
    with pytest.raises(SystemExit) as info:  # neither --gnomad-dir nor --config
        main(["lookup", "1-55505647-G-T"])
    assert info.value.code == 2
    assert "give --gnomad-dir, or a --config" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["lookup"])
    assert info.value.code == 2


def test_parse_variant_id_takes_ascii_digits_only() -> None:
    from varidex.gnomad.keys import parse_variant_id

    assert parse_variant_id("1-55516888-G-GA") == ("1", 55516888, "G", "GA")
    with pytest.raises(InputFormatError, match="CHROM-POS-REF-ALT"):
        parse_variant_id("1-\u0665\u0665\u0665-G-T")  # Arabic-Indic digits: not a position


def test_unicode_digits_are_not_a_chromosome_number() -> None:
    """Regression: 'chr' and an Arabic-Indic one was read as chromosome 1."""
    from varidex.gnomad.contigs import normalize_chrom

    assert normalize_chrom("chr01") == "1"
    assert normalize_chrom("chr\u0661") != "1"
