"""Exomes and genomes together (dataset="both" / --dataset exomes,genomes)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.cli import main
from varidex.io.loaders.gnomad import GnomADLoader


@pytest.fixture
def both(gnomad_root: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "r2.1.1"
    folder.mkdir()
    for d in ("r2.1.1-exomes", "r2.1.1-genomes"):
        for f in (gnomad_root / d).iterdir():
            shutil.copy2(f, folder / f.name)
    return folder


def test_both_sums_counts_and_recomputes_af(both: Path) -> None:
    df = pd.DataFrame({"chrom": ["1", "1", "X", "2"],
                       "pos": [55505599, 55505647, 69902634, 10],
                       "ref": ["C", "G", "C", "A"], "alt": ["G", "T", "T", "G"]})
    with GnomADLoader(both, dataset="both", version="r2.1.1", max_workers=1) as loader:
        out = loader.annotate_dataframe(df, show_progress=False)
        stats = loader.get_statistics()
    first = out.iloc[0]
    # 1:55505599 C>G: exomes AC 2 / AN 179298, genomes AC 1 / AN 31392
    assert (first["gnomad_ac"], first["gnomad_an"]) == (3, 210690)
    assert first["gnomad_af"] == pytest.approx(3 / 210690, rel=1e-12)
    assert first["gnomad_ac_nfe"] == 3
    assert first["gnomad_an_nfe"] == 74572 + 15428
    assert first["gnomad_popmax"] == "nfe"
    assert first["gnomad_af_popmax"] == pytest.approx(3 / 90000, rel=1e-12)
    assert first["gnomad_exomes_af"] == 1.11546e-05
    assert first["gnomad_genomes_af"] == 3.18552e-05
    assert first["gnomad_status"] == "found"
    # exomes only: combined equals the exome values; genomes searched (file exists): absent
    second = out.iloc[1]
    assert (second["gnomad_ac"], second["gnomad_an"]) == (2341, 196220)
    assert second["gnomad_genomes_status"] == "absent"
    # genomes only, RF-filtered there; exomes have no X record at that position
    third = out.iloc[2]
    assert third["gnomad_status"] == "found_non_pass"
    assert third["gnomad_filters"] == "RF"
    assert third["gnomad_ac"] == 1
    assert out.iloc[3]["gnomad_status"] == "no_data"
    assert stats["release"] == "r2.1.1/exomes+genomes"
    assert len(stats["files"]) == 5


def test_cli_dataset_exomes_genomes(both: Path, tmp_path: Path) -> None:
    src = tmp_path / "v.tsv"
    src.write_text("chrom\tpos\tref\talt\n1\t55505599\tC\tG\n")
    out = tmp_path / "v.out.tsv"
    assert main(["annotate", str(src), "--gnomad-dir", str(both), "--dataset",
                 "exomes,genomes", "-o", str(out), "-q"]) == 0
    table = pd.read_csv(out, sep="\t")
    assert table["gnomad_ac"].tolist() == [3]
    assert table["gnomad_release"].tolist() == ["r2.1.1/exomes+genomes"]


def test_filter_dot_counts_as_pass_when_combined(tmp_path: Path) -> None:
    """FILTER '.' (no filter applied) is PASS for one dataset, and so in the combination."""
    import pysam

    data = Path(__file__).parent / "data" / "gnomad"
    folder = tmp_path / "both"
    shutil.copytree(data / "r2.1.1-genomes", folder)
    src = data / "r2.1.1-exomes" / "gnomad.exomes.r2.1.1.sites.X.vcf.bgz"
    with pysam.BGZFile(str(src), "rb", None) as handle:
        text = handle.read().decode()
    lines = text.split("\n")
    i = next(k for k, ln in enumerate(lines) if ln and not ln.startswith("#"))
    cols = lines[i].split("\t")
    cols[6] = "."
    lines[i] = "\t".join(cols)
    plain = folder / "x.vcf"
    plain.write_text("\n".join(lines))
    target = folder / src.name
    pysam.tabix_compress(str(plain), str(target))
    plain.unlink()
    pysam.tabix_index(str(target), preset="vcf", keep_original=True)
    with GnomADLoader(folder, dataset="both", version="r2.1.1", max_workers=1) as loader:
        freq = loader.lookup_variant("X", int(cols[1]), cols[3], cols[4])
    assert freq is not None
    assert freq.status == "found"
    assert freq.filters == "PASS"
