"""``varidex annotate --acmg`` and friends, in-process through main()."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pandas as pd
import pytest

from varidex.acmg import COLUMNS
from varidex.gnomad.cli import main

DEMO = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data" / "demo_variants.vcf"


def run(gnomad_root: Path, out: Path, *options: str) -> int:
    return main(["annotate", str(DEMO), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--version", "r2.1.1", "-o", str(out), "-q", "--workers", "1", *options])


def test_annotate_with_acmg_evidence(gnomad_root: Path, tmp_path: Path,
                                     caplog: pytest.LogCaptureFixture) -> None:
    out = tmp_path / "demo.tsv"
    with caplog.at_level(logging.INFO, logger="varidex"):
        assert run(gnomad_root, out, "--acmg", "--inheritance", "dominant", "--prevalence",
                   "1/500", "--allelic-heterogeneity", "0.1", "--penetrance", "0.5") == 0
    table = pd.read_csv(out, sep="\t", dtype={"chromosome": str})
    assert list(table.columns[-len(COLUMNS):]) == list(COLUMNS)
    rs = table[table["id"] == "rs11591147"].iloc[0]
    assert (rs["acmg_ba1"], rs["acmg_bs1"], rs["acmg_bs1_value"]) == ("not_met", "met",
                                                                      0.0144002)
    assert rs["acmg_bs1_threshold"] == 0.0002
    assert table.loc[table["chromosome"] == "2", "acmg_pm2_supporting"].tolist() == [
        "not_applicable"]
    err = caplog.text
    assert ("ACMG evidence: inheritance dominant; BA1 AF > 0.05 (continental AN >= 2000) or "
            "FAF95 > 0.05; BS1 maximum credible AF 0.0002") in err
    assert "BA1 exception list ClinGen SVI 2018-07-30" in err


def test_acmg_options_imply_acmg_and_acmg_set(gnomad_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.tsv"
    assert run(gnomad_root, out, "--inheritance", "recessive", "--acmg-set",
               "pm2_max_af_recessive=0.0007", "--acmg-set", "bs2-min-homozygotes=30") == 0
    table = pd.read_csv(out, sep="\t")
    assert set(table["acmg_pm2_supporting_threshold"]) == {0.0007}
    rs = table[table["id"] == "rs11591147"].iloc[0]
    assert (rs["acmg_bs2"], rs["acmg_bs2_value"]) == ("not_met", 29)  # 29 < 30 homozygotes


def test_no_acmg_columns_unless_asked(gnomad_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "demo.tsv"
    assert run(gnomad_root, out) == 0
    assert not [c for c in pd.read_csv(out, sep="\t").columns if c.startswith("acmg_")]


@pytest.mark.parametrize(("options", "message"), [
    (["--prevalence", "1/500"], "error: prevalence given without allelic_heterogeneity="),
    (["--acmg-set", "pm2=0.1"], "error: unknown ACMG setting 'pm2'"),
    (["--acmg-set", "pm2_max_af_recessive"], "error: --acmg-set 'pm2_max_af_recessive': "
                                             "write KEY=VALUE"),
    (["--acmg", "--max-credible-af", "2%"], "error: max_credible_af: cannot read '2%'"),
    (["--acmg", "--ba1-exceptions", "missing.tsv"], "error: missing.tsv: cannot read the BA1 "
                                                    "exception list"),
])
def test_bad_acmg_settings_exit_1_and_write_nothing(gnomad_root: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str],
                                                    options: list[str], message: str) -> None:
    out = tmp_path / "never.tsv"
    assert run(gnomad_root, out, *options) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(message)
    assert len(err.splitlines()) == 1
    assert not out.exists()


def test_help_lists_the_acmg_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["annotate", "--help"])
    text = capsys.readouterr().out
    for option in ("--acmg", "--inheritance", "--prevalence", "--allelic-heterogeneity",
                   "--genetic-heterogeneity", "--penetrance", "--max-credible-af",
                   "--ba1-exceptions", "--acmg-set"):
        assert option in text
    assert "ACMG/AMP population evidence" in text


def test_readme_worked_example_is_a_real_run(gnomad_root: Path, tmp_path: Path) -> None:
    """The README's --acmg table is what the command it shows writes."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## ACMG/AMP population evidence"):]
    block = re.search(r"\n```\n(position .*?)\n```", section, re.DOTALL)
    assert block is not None
    shown = block.group(1)
    out = tmp_path / "demo.acmg.tsv"
    assert run(gnomad_root, out, "--acmg", "--inheritance", "dominant", "--prevalence",
               "1/500", "--allelic-heterogeneity", "0.1", "--penetrance", "0.5") == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    cols = ["position", "alt_allele", "gnomad_status", "acmg_ba1", "acmg_bs1",
            "acmg_bs1_value", "acmg_pm2_supporting", "acmg_bs2", "acmg_review"]
    view = table[cols].set_axis([c.removeprefix("acmg_").removeprefix("gnomad_")
                                 for c in cols], axis=1)
    lines = [ln.rstrip() for ln in view.to_string(index=False).splitlines()]
    assert lines == [ln.rstrip() for ln in shown.splitlines()]
    rs = table[table["id"] == "rs11591147"].iloc[0]
    for name in ("ba1", "bs1", "pm2_supporting", "bs2"):
        assert f"| {rs[f'acmg_{name}_reason']} |" in section


def test_settings_are_checked_before_the_gnomad_folder(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """A bad setting stops the run before any gnomAD file is opened or indexed."""
    empty = tmp_path / "gnomad"
    empty.mkdir()
    code = main(["annotate", str(DEMO), "--gnomad-dir", str(empty), "--penetrance", "2"])
    assert code == 1
    assert capsys.readouterr().err.startswith(
        "error: penetrance must be above 0 and at most 1, not 2.0")
    assert list(empty.iterdir()) == []


def test_acmg_settings_from_the_config_file(gnomad_root: Path, tmp_path: Path) -> None:
    config = tmp_path / "varidex.yaml"
    config.write_text("acmg:\n  inheritance: dominant\n  prevalence: 1/500\n"
                      "  allelic_heterogeneity: 0.1\n  penetrance: 0.5\n")
    out = tmp_path / "demo.tsv"
    assert run(gnomad_root, out, "--config", str(config)) == 0
    table = pd.read_csv(out, sep="\t")
    rs = table[table["id"] == "rs11591147"].iloc[0]
    assert (rs["acmg_ba1"], rs["acmg_bs1"], rs["acmg_bs1_threshold"]) == ("not_met", "met",
                                                                          0.0002)
    # an option overrides the file: penetrance 0.05 raises the maximum credible AF tenfold
    assert run(gnomad_root, out, "--config", str(config), "--penetrance", "0.05") == 0
    table = pd.read_csv(out, sep="\t")
    assert set(table["acmg_bs1_threshold"]) == {0.002}


def test_bad_acmg_section_in_the_config(gnomad_root: Path, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "varidex.yaml"
    config.write_text("acmg:\n  inheritence: dominant\n")
    assert run(gnomad_root, tmp_path / "o.tsv", "--config", str(config)) == 1
    err = capsys.readouterr().err
    assert "unknown ACMG setting 'inheritence'" in err
    assert "varidex.yaml" in err
    assert not (tmp_path / "o.tsv").exists()


def test_acmg_from_a_store_without_the_fields_it_reads_is_refused(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a tester: a store built with --fields af,ac,grpmax turned BA1 `met` into
    # `not_applicable` (no AN, no group AFs) with exit 0.
    store = tmp_path / "store"
    assert main(["store", "build", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(store), "--fields", "af,ac,grpmax", "-q", "--workers", "1"]) == 0
    out = tmp_path / "demo.tsv"
    code = main(["annotate", str(DEMO), "--store", str(store), "-o", str(out), "-q",
                 "--acmg", "--inheritance", "dominant"])
    assert code == 1
    err = capsys.readouterr().err
    assert re.search(r"--acmg: the store .*store was built without fields the evidence "
                     r"reads: gnomad_an, gnomad_nhomalt, .*rebuild it with the default fields",
                     err), err
    assert not out.exists()
    # The same store without --acmg annotates (AF only), and a default store gives the
    # evidence of the VCF path.
    assert main(["annotate", str(DEMO), "--store", str(store), "-o", str(out), "-q"]) == 0
    full = tmp_path / "full"
    assert main(["store", "build", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(full), "-q", "--workers", "1"]) == 0
    assert main(["annotate", str(DEMO), "--store", str(full), "-o", str(out), "-q",
                 "--acmg", "--inheritance", "dominant"]) == 0
    vcf_out = tmp_path / "vcf.tsv"
    assert run(gnomad_root, vcf_out, "--acmg", "--inheritance", "dominant") == 0
    assert out.read_text() == vcf_out.read_text()


def test_evidence_from_a_frame_lacking_fields_warns(gnomad_root: Path,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    from varidex.acmg import evaluate_frequency_evidence
    from varidex.io.loaders.gnomad import GnomADLoader

    with GnomADLoader(gnomad_dir=gnomad_root / "r2.1.1-exomes", version="r2.1.1",
                      max_workers=1) as loader:
        frame = loader.annotate_dataframe(pd.DataFrame(
            {"chromosome": ["1"], "position": [55505647], "ref_allele": ["G"],
             "alt_allele": ["T"]}), show_progress=False)
    with caplog.at_level(logging.WARNING, logger="varidex"):
        full = evaluate_frequency_evidence(frame)
    assert "lacks" not in caplog.text
    trimmed = frame.drop(columns=[c for c in frame.columns if c.startswith("gnomad_an")])
    with caplog.at_level(logging.WARNING, logger="varidex"):
        evaluate_frequency_evidence(trimmed)
    assert re.search(r"the ACMG evidence reads the gnomAD r2.1.1/exomes fields gnomad_an, "
                     r"gnomad_an_afr, .* which this frame lacks", caplog.text), caplog.text
    assert full["acmg_ba1"].tolist() == ["not_met"]


def test_acmg_with_a_genotype_file_is_refused(gnomad_root: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a tester: the evidence was silently left out for a genotype file (exit 0).
    src = tmp_path / "genome.txt"
    src.write_text("# This data file generated by 23andMe ... build 37 ...\n"
                   "# rsid\tchromosome\tposition\tgenotype\nrs11591147\t1\t55505647\tGT\n")
    out = tmp_path / "out.tsv"
    code = main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(out), "-q", "--acmg"])
    assert code == 1
    assert "the ACMG evidence (--acmg) is given for variants" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.skipif(shutil.which("bcftools") is None, reason="bcftools is not installed")
def test_acmg_evidence_in_vcf_output_equals_the_tsv(gnomad_root: Path, tmp_path: Path) -> None:
    # Found by a tester: VCF output silently left the evidence out (exit 0). The acmg_*
    # columns are Number=A INFO fields, declared, escaped, and equal to the TSV's.
    options = ["--acmg", "--inheritance", "dominant", "--prevalence", "1/500",
               "--allelic-heterogeneity", "0.1", "--penetrance", "0.5"]
    vcf, tsv = tmp_path / "demo.vcf.gz", tmp_path / "demo.tsv"
    assert run(gnomad_root, vcf, *options) == 0
    assert run(gnomad_root, tsv, *options) == 0
    fields = ["acmg_ba1", "acmg_bs1", "acmg_bs1_value", "acmg_pm2_supporting", "acmg_review",
              "acmg_bs1_reason"]
    query = subprocess.run(["bcftools", "query", "-f",
                            "%ID\t" + "\t".join(f"%INFO/{f}" for f in fields) + "\n",
                            str(vcf)], capture_output=True, text=True, check=True)
    assert query.stderr == ""
    got = [line.split("\t") for line in query.stdout.splitlines()]
    table = pd.read_csv(tsv, sep="\t", dtype=str, keep_default_na=False)
    expected = table[fields].replace("", ".").to_numpy().tolist()
    assert [g[1:-1] for g in got] == [e[:-1] for e in expected]
    assert [urllib.parse.unquote(g[-1]) for g in got] == [e[-1] for e in expected]
    rs = got[0]
    assert rs[:4] == ["rs11591147", "not_met", "met", "0.0144002"]
    header = subprocess.run(["bcftools", "view", "-h", str(vcf)], capture_output=True,
                            text=True, check=True)
    assert header.stderr == ""
    assert ('##INFO=<ID=acmg_bs1,Number=A,Type=String,Description="ACMG/AMP BS1 (ClinGen '
            'SVI): met, not_met or not_applicable">') in header.stdout
    assert "##INFO=<ID=acmg_bs1_value,Number=A,Type=Float," in header.stdout
    again = tmp_path / "again.vcf"  # re-annotated without --acmg: no evidence is left
    assert main(["annotate", str(vcf), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(again), "-q", "--workers", "1"]) == 0
    assert not re.search(r"ID=acmg_|[\t;]acmg_\w*=", again.read_text())


def test_computed_faf_prints_without_float_noise(gnomad_root: Path, tmp_path: Path) -> None:
    # Found by a tester: r2.0.1 has no FAF field, and the computed one printed as
    # 0.001982240000000003 (Hail's 1e-6 steps added in binary floating point).
    src = tmp_path / "in.vcf"
    src.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "1\t905606\t.\tG\tC\t.\t.\t.\n")
    out = tmp_path / "out.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.0.1-exomes"),
                 "-o", str(out), "-q", "--workers", "1", "--acmg"]) == 0
    row = pd.read_csv(out, sep="\t", dtype=str).iloc[0]
    assert (row["acmg_faf95"], row["acmg_faf99"], row["acmg_faf95_group"],
            row["acmg_faf_source"]) == ("0.00198224", "0.00176566", "eas", "computed")
