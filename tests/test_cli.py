"""The CLI in-process through main(), plus subprocess smoke tests of the installed script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.cli import main

INPUTS = Path(__file__).parent / "data" / "inputs"


def test_annotate_vcf_to_tsv(gnomad_root: Path, tmp_path: Path,
                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "trio.tsv"
    code = main(["annotate", str(INPUTS / "ashk-trio.pcsk9.vcf"), "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "--version", "r2.1.1", "-o", str(out),
                 "--workers", "1"])
    assert code == 0
    table = pd.read_csv(out, sep="\t", dtype={"chromosome": str})
    assert len(table) == 18  # every record of the input, in order
    records = [ln.split("\t") for ln in (INPUTS / "ashk-trio.pcsk9.vcf").read_text().splitlines()
               if not ln.startswith("#")]
    assert table["position"].tolist() == [int(r[1]) for r in records]
    row = table[(table["position"] == 55505651) & (table["alt_allele"] == "T")].iloc[0]
    assert row["gnomad_af"] == 0.0100399
    assert row["gnomad_ac"] == 1973
    assert set(table.loc[table["chromosome"] == "2", "gnomad_status"]) == {"no_data"}
    err = capsys.readouterr().err
    assert "varidex: 18 variants" in err
    assert "variants/s" in err


def test_annotate_csv_to_csv_keeps_rows_and_columns(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "panel.csv"
    src.write_text("sample,CHROM,POS,REF,ALT\n"
                   "s1,1,55505647,G,T\n"
                   "s2,chr1,55505647,g,t\n"
                   "s1,1,55505647,G,T\n"
                   "s3,7,117559590,A,G\n"
                   "s4,1,55516888,G,\"GA,A\"\n")
    out = tmp_path / "panel.out.csv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert table["sample"].tolist() == ["s1", "s2", "s1", "s3", "s4", "s4"]
    assert table["gnomad_ac"].tolist() == ["2341", "2341", "2341", "", "121", "8"]
    assert table["gnomad_status"].tolist()[3] == "no_data"
    assert table["alt_index"].tolist()[-2:] == ["0", "1"]


def test_annotate_stdin_to_stdout(gnomad_root: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO("chrom\tpos\tref\talt\n1\t55505647\tG\tT\n"))
    assert main(["annotate", "-", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2
    header, row = out[0].split("\t"), out[1].split("\t")
    assert row[header.index("gnomad_af")] == "0.0119305"


def test_varidex_error_exit_1_one_line(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "never.tsv"
    code = main(["annotate", str(INPUTS / "ashk-trio.pcsk9.vcf"), "--gnomad-dir",
                 str(tmp_path), "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error: no gnomAD r2.1.1/exomes files in") or "no gnomAD" in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_bad_input_exit_1_and_no_output(gnomad_root: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "bad.csv"
    src.write_text("chrom,pos,ref,alt\n1,55505647,G,T\n1,fifty,G,T\n")
    out = tmp_path / "bad.out.tsv"
    code = main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert "bad.csv, line 3" in err
    assert "'fifty'" in err
    assert not out.exists()
    assert list(tmp_path.glob("*.part")) == []


def test_usage_error_exit_2() -> None:
    with pytest.raises(SystemExit) as info:
        main(["annotate", "x.vcf"])  # --gnomad-dir missing
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["annotate", "x.vcf", "--gnomad-dir", ".", "--workers", "0"])
    assert info.value.code == 2


def test_demo_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if "rs11591147" in x).split()
    assert line[5:11] == ["found", "0.0119305", "2341", "196220", "29", "0.0150899"]


@pytest.mark.skipif(shutil.which("varidex") is None and not
                    (Path(sys.executable).parent / "varidex").exists(),
                    reason="the varidex script is not installed")
def test_installed_script_smoke(tmp_path: Path) -> None:
    exe = str(Path(sys.executable).parent / "varidex")
    done = subprocess.run([exe, "demo", "-o", str(tmp_path / "demo.tsv")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "rs11591147" in done.stdout
    assert len(pd.read_csv(tmp_path / "demo.tsv", sep="\t")) == 6
    bad = subprocess.run([exe, "annotate", "nope.vcf", "--gnomad-dir", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: ")


def test_csv_output_quotes_cells_that_need_it(gnomad_root: Path, tmp_path: Path) -> None:
    src = tmp_path / "v.tsv"
    src.write_text('chrom\tpos\tref\talt\tnote\n1\t55505647\tG\tT\tPCSK9, "gain" of function\n')
    out = tmp_path / "v.csv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out)
    assert table["note"].tolist() == ['PCSK9, "gain" of function']
    assert table["gnomad_ac"].tolist() == [2341]


def test_stdin_gzipped_vcf_and_csv_are_recognised(gnomad_root: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    import gzip
    import io

    vcf = gzip.compress((INPUTS / "ashk-trio.pcsk9.vcf").read_bytes())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(vcf)))
    assert main(["annotate", "-", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-q"]) == 0
    out = capsys.readouterr()
    rows = [r.split("\t") for r in out.out.splitlines()]
    assert rows[0][:5] == ["chromosome", "position", "id", "ref_allele", "alt_allele"]
    assert len(rows) == 19
    assert "18 variants, 2 found (2 PASS, 0 non-PASS)" in out.err
    monkeypatch.setattr(sys, "stdin", io.StringIO("chrom,pos,ref,alt\n1,55505647,G,T\n"))
    assert main(["annotate", "-", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-q"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split("\t")[4:6] == ["0.0119305", "2341"]
