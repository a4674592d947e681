"""The YAML configuration: datasets, filter thresholds, gnomad_pass_filter and --filter."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.cli import main
from varidex.gnomad.config import load_config
from varidex.gnomad.errors import ConfigError
from varidex.gnomad.filtering import FilterThresholds

INPUTS = Path(__file__).parent / "data" / "inputs"

PANEL = ("chrom,pos,ref,alt\n"
         "1,55505647,G,T\n"      # found: AF 0.0119305, AF_afr 0.00242215, AC 2341
         "1,55516888,G,GA\n"     # found: AF 0.000943617, AF_afr 0.0159487, AC 121
         "1,55516781,G,T\n"      # absent
         "2,45895,A,G\n"         # no_data
         "1,55505621,C,T\n")     # found_non_pass (AC0;RF): AF 0, AC 0


def _write(tmp_path: Path, text: str, name: str = "varidex.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_config_dir_may_be_a_url(tmp_path: Path) -> None:
    # Found by a tester: a URL was joined to the config file's folder as a relative path.
    cfg = load_config(_write(tmp_path, """
gnomad:
  exomes:
    dir: "https://storage.googleapis.com/gcp-public-data--gnomad/release/2.1.1/vcf/exomes"
    version: r2.1.1
  genomes: {dir: "s3://gnomad-public-us-east-1/release/2.1.1/vcf/genomes", version: r2.1.1}
"""))
    assert cfg.datasets["exomes"].dir == ("https://storage.googleapis.com/gcp-public-data--"
                                          "gnomad/release/2.1.1/vcf/exomes")
    assert cfg.datasets["genomes"].dir == "s3://gnomad-public-us-east-1/release/2.1.1/vcf/genomes"


def test_load_config_resolves_relative_dirs(tmp_path: Path) -> None:
    cfg = load_config(_write(tmp_path, """
gnomad:
  exomes: {dir: data/exomes, version: r2.1.1}
  genomes:
    dir: /abs/genomes
    version: 2.1.1
    enabled: false
filter:
  max_af: 0.01
  min_ac: 1
  populations: [AFR, nfe]
acmg: {ba1: 0.05}
"""))
    assert cfg.datasets["exomes"].dir == tmp_path / "data" / "exomes"
    assert cfg.datasets["exomes"].enabled is True
    assert cfg.datasets["genomes"].dir == Path("/abs/genomes")
    assert cfg.datasets["genomes"].version == "2.1.1"
    assert [d.name for d in cfg.enabled()] == ["exomes"]
    assert cfg.filter == FilterThresholds(0.01, 1, ("afr", "nfe"))


@pytest.mark.parametrize(("text", "message"), [
    ("gnomad:\n  exome: {dir: x}\n", "unknown dataset 'exome'"),
    ("gnomad:\n  exomes: {dir: x, versoin: r2.1.1}\n", "gnomad.exomes: unknown key(s) versoin"),
    ("gnomad:\n  exomes: {version: r2.1.1}\n", "gnomad.exomes.dir: the folder"),
    ("gnomad:\n  exomes: {dir: x, enabled: 'yes'}\n", "enabled: must be true or false"),
    ("filter: {max_aff: 0.01}\n", "filter: unknown key(s) max_aff"),
    ("filter: {max_af: 5}\n", "filter.max_af: an allele frequency from 0 to 1"),
    ("filter: {max_af: '0.01'}\n", "filter.max_af"),
    ("filter: {min_ac: -1}\n", "filter.min_ac: a whole number"),
    ("filter: {min_ac: 1.5}\n", "filter.min_ac"),
    ("filter: {populations: [afr]}\n", "give max_af and/or min_ac"),
    ("filter: {max_af: 0.1, populations: {afr: 1}}\n", "filter.populations: a list"),
    ("- exomes\n- genomes\n", "must be a mapping"),
    ("gnomad:\n  exomes: {dir: x\n", "not valid YAML at line"),
    ("gnomad: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)


def test_annotate_with_config_equals_gnomad_dir(gnomad_root: Path, tmp_path: Path) -> None:
    cfg = _write(tmp_path, f"gnomad:\n  exomes:\n    dir: {gnomad_root / 'r2.1.1-exomes'}\n"
                           "    version: r2.1.1\n")
    src = _write(tmp_path, PANEL, "panel.csv")
    a, b = tmp_path / "a.tsv", tmp_path / "b.tsv"
    assert main(["annotate", str(src), "--config", str(cfg), "-o", str(a), "-q"]) == 0
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(b), "-q"]) == 0
    assert a.read_text() == b.read_text()


def test_config_with_exomes_and_genomes_combines(gnomad_root: Path, tmp_path: Path) -> None:
    cfg = _write(tmp_path, f"""
gnomad:
  exomes: {{dir: {gnomad_root / 'r2.1.1-exomes'}, version: r2.1.1}}
  genomes: {{dir: {gnomad_root / 'r2.1.1-genomes'}, enabled: true}}
""")
    src = _write(tmp_path, "chrom,pos,ref,alt\n1,55505599,C,G\n", "one.csv")
    out = tmp_path / "one.tsv"
    assert main(["annotate", str(src), "--config", str(cfg), "-o", str(out), "-q"]) == 0
    row = pd.read_csv(out, sep="\t").iloc[0]
    assert row["gnomad_release"] == "r2.1.1/exomes+genomes"
    assert row["gnomad_genomes_ac"] == 1
    assert row["gnomad_genomes_an"] == 31392
    assert row["gnomad_ac"] == row["gnomad_exomes_ac"] + 1
    assert row["gnomad_an"] == row["gnomad_exomes_an"] + 31392
    only = tmp_path / "genomes.tsv"  # --dataset picks among the config's datasets
    assert main(["annotate", str(src), "--config", str(cfg), "--dataset", "genomes", "-o",
                 str(only), "-q"]) == 0
    assert pd.read_csv(only, sep="\t").iloc[0]["gnomad_release"] == "r2.1.1/genomes"


def test_config_mixing_releases_is_refused(gnomad_root: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, f"""
gnomad:
  exomes: {{dir: {gnomad_root / 'r2.1.1-exomes'}}}
  genomes: {{dir: {gnomad_root / 'v3.1.2-genomes'}}}
""")
    src = _write(tmp_path, PANEL, "panel.csv")
    assert main(["annotate", str(src), "--config", str(cfg), "-o", str(tmp_path / "x.tsv")]) == 1
    err = capsys.readouterr().err
    assert "different releases (r2.1.1, v3.1.2)" in err


@pytest.mark.parametrize(("filter_yaml", "expected"), [
    ("max_af: 0.01", ["False", "True", "True", "", "True"]),
    ("max_af: 0.01\n  populations: [afr]", ["True", "False", "True", "", "True"]),
    ("max_af: 0.01\n  min_ac: 5", ["False", "True", "False", "", "False"]),
    ("min_ac: 1000", ["True", "False", "False", "", "False"]),
])
def test_pass_filter_column(gnomad_root: Path, tmp_path: Path, filter_yaml: str,
                            expected: list[str]) -> None:
    cfg = _write(tmp_path, f"gnomad:\n  exomes: {{dir: {gnomad_root / 'r2.1.1-exomes'}}}\n"
                           f"filter:\n  {filter_yaml}\n")
    src = _write(tmp_path, PANEL, "panel.csv")
    out = tmp_path / "out.tsv"
    assert main(["annotate", str(src), "--config", str(cfg), "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert table["gnomad_status"].tolist() == ["found", "found", "absent", "no_data",
                                               "found_non_pass"]
    assert table["gnomad_pass_filter"].str.capitalize().tolist() == expected


def test_filter_keeps_passing_rows_and_says_what_it_left_out(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, f"gnomad:\n  exomes: {{dir: {gnomad_root / 'r2.1.1-exomes'}}}\n"
                           "filter: {max_af: 0.01}\n")
    src = _write(tmp_path, PANEL, "panel.csv")
    out = tmp_path / "out.csv"
    assert main(["annotate", str(src), "--config", str(cfg), "--filter", "-o", str(out)]) == 0
    table = pd.read_csv(out, dtype=str)
    assert table["pos"].tolist() == ["55516888", "55516781", "55505621"]
    err = capsys.readouterr().err
    assert "2 left out by --filter (1 could not be assessed)" in err


def test_filter_on_vcf_keeps_records_with_a_passing_alt(gnomad_root: Path,
                                                        tmp_path: Path) -> None:
    cfg = _write(tmp_path, f"gnomad:\n  exomes: {{dir: {gnomad_root / 'r2.1.1-exomes'}}}\n"
                           "filter: {max_af: 0.5}\n")
    out = tmp_path / "rare.vcf"
    assert main(["annotate", str(INPUTS / "ashk-trio.pcsk9.vcf"), "--config", str(cfg),
                 "--filter", "-o", str(out), "-q"]) == 0
    records = [ln.split("\t") for ln in out.read_text().splitlines() if not ln.startswith("#")]
    positions = [r[1] for r in records]
    assert "55505732" not in positions          # AF 0.927836: fails
    assert "55505651" in positions              # AF 0.0100399: passes
    assert all(r[0] == "1" for r in records)    # chromosome 2: no_data, no verdict
    assert all("gnomad_pass_filter=true" in r[7] for r in records)
    assert len(records) == 15


def test_filter_needs_thresholds_and_known_groups(gnomad_root: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path, PANEL, "panel.csv")
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--filter"]) == 1
    assert "--filter needs filter thresholds" in capsys.readouterr().err
    cfg = _write(tmp_path, "filter: {max_af: 0.01, populations: [afr, xyz]}\n")
    assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "filter populations xyz are not groups of gnomAD r2.1.1/exomes" in err
    assert "afr, amr, asj, eas, fin, nfe, oth, sas" in err


def test_missing_config_file_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["annotate", "x.vcf", "--config", str(tmp_path / "none.yaml")]) == 1
    assert "none.yaml: cannot read the config file" in capsys.readouterr().err


def test_filter_summary_counts_vcf_records(gnomad_root: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cfg = _write(tmp_path, "filter: {max_af: 0.5}\n")
    assert main(["annotate", str(INPUTS / "ashk-trio.pcsk9.vcf"), "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "--config", str(cfg), "--filter",
                 "-o", str(tmp_path / "rare.vcf")]) == 0
    err = capsys.readouterr().err
    # 18 records: 15 pass; 55505732 (AF 0.93) fails; the two chromosome-2 records (no_data)
    # have no verdict.
    assert "3 left out by --filter (2 could not be assessed)" in err


def test_filter_from_a_store_without_its_fields_is_refused(
        gnomad_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a tester: with a store built with --fields af,ac,grpmax, populations [afr]
    # left every found variant unassessed and --filter wrote a header only, exit 0.
    store = tmp_path / "store"
    assert main(["store", "build", "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(store), "--fields", "af,ac,grpmax", "-q", "--workers", "1"]) == 0
    cfg = _write(tmp_path, "filter:\n  max_af: 0.01\n  min_ac: 1\n  populations: [afr, nfe]\n")
    out = tmp_path / "out.tsv"
    src = tmp_path / "panel.csv"
    src.write_text(PANEL)
    code = main(["annotate", str(src), "--store", str(store), "--config", str(cfg),
                 "--filter", "-o", str(out), "-q"])
    assert code == 1
    assert ("the filter thresholds read the gnomAD fields af_afr, af_nfe, which this store was "
            "built without") in capsys.readouterr().err
    assert not out.exists()
