"""Finding files and indexes: per chromosome, whole genome, missing index, missing files."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.discovery import discover
from varidex.gnomad.errors import GnomADError, MissingIndexError, ReleaseSchemaError
from varidex.io.loaders.gnomad import GnomADLoader


def test_missing_index_without_auto_index_names_the_fix(fresh_release) -> None:  # type: ignore[no-untyped-def]
    folder: Path = fresh_release("r2.1.1-genomes")
    (folder / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz.tbi").unlink()
    with pytest.raises(MissingIndexError, match=r"tabix -p vcf .*sites\.X\.vcf\.bgz"):
        GnomADLoader(folder, dataset="genomes", version="r2.1.1", auto_index=False)
    assert not (folder / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz.tbi").exists()


def test_auto_index_builds_logs_and_leaves_data_untouched(fresh_release,  # type: ignore[no-untyped-def]
                                                          caplog: pytest.LogCaptureFixture) -> None:
    folder: Path = fresh_release("r2.1.1-genomes")
    data = folder / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz"
    (folder / (data.name + ".tbi")).unlink()
    before = data.read_bytes()
    with caplog.at_level(logging.INFO, logger="varidex"), GnomADLoader(
            folder, dataset="genomes", version="r2.1.1", auto_index=True) as loader:
        freq = loader.lookup_variant("X", 69902634, "C", "T")
        stats = loader.get_statistics()
    assert freq is not None
    assert freq.an == 21857
    assert (folder / (data.name + ".csi")).exists()
    assert data.read_bytes() == before
    assert stats["indexes_built"] == [str(folder / (data.name + ".csi"))]
    assert any("wrote index" in r.getMessage() for r in caplog.records)


def test_missing_chromosome_file_is_no_data_not_absent(gnomad_root: Path) -> None:
    a = Annotator.open(gnomad_root / "r2.1.1-genomes", version="r2.1.1", dataset="genomes",
                       auto_index=False)
    assert a.files.chromosomes == ["1", "X"]
    res = a.lookup(["1", "Y", "22"], [55505599, 4967199, 100], ["C", "G", "A"],
                   ["G", "T", "G"])
    assert res.status.tolist() == ["found", "no_data", "no_data"]


def test_whole_genome_file(gnomad_root: Path) -> None:
    files = discover(gnomad_root / "r2.0.1-exomes", version="r2.0.1", dataset="exomes")
    assert files.chromosomes == ["1"]
    assert files.paths["1"].name == "gnomad.exomes.r2.0.1.sites.vcf.gz"


def test_empty_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GnomADError, match=r"gnomad\.exomes\.r2\.1\.1\.sites\.1\.vcf\.bgz"):
        discover(tmp_path, version="r2.1.1", dataset="exomes")


def test_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(GnomADError, match="does not exist"):
        discover(tmp_path / "nope", version="r2.1.1", dataset="exomes")


def test_wrong_release_for_files_fails_naming_fields(fresh_release) -> None:  # type: ignore[no-untyped-def]
    folder: Path = fresh_release("v4.0-exomes")
    # v4.0 files renamed as if they were v4.1 joint files lack the *_joint group fields?
    # No: they carry joint fields; rename them as r2.1.1 instead, which they do not match.
    src = folder / "gnomad.exomes.v4.0.sites.chr1.vcf.bgz"
    src.rename(folder / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz")
    (folder / (src.name + ".tbi")).rename(folder / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz.tbi")
    with pytest.raises(ReleaseSchemaError, match=r"AF_popmax"):
        discover(folder, version="r2.1.1", dataset="exomes")


def test_unknown_release() -> None:
    from varidex.gnomad.releases import get_release

    with pytest.raises(ReleaseSchemaError, match="known: "):
        get_release("v9.9", "exomes")


@pytest.mark.parametrize("header", sorted(
    (Path(__file__).parent / "data" / "headers").glob("gnomad.*.header.txt.gz")),
    ids=lambda p: p.name)
def test_every_real_header_maps_to_a_release(header: Path) -> None:
    import gzip
    import re

    from varidex.gnomad.releases import detect_release

    with gzip.open(header, "rt") as handle:
        text = handle.read()
    if "_sv." in header.name:
        ids = re.findall(r"^##INFO=<ID=([^,]+)", text, flags=re.M)
        with pytest.raises(ReleaseSchemaError):
            detect_release(ids, file_name=header.name)
        return
    ids = re.findall(r"^##INFO=<ID=([^,]+)", text, flags=re.M)
    release = detect_release(ids, file_name=header.name)
    release.validate_header(ids, header)  # raises naming any missing field
    assert release.dataset in header.name or release.id == "v3.1-chrM"


def test_index_command_writes_fine_csi(fresh_release, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from varidex.gnomad.cli import main
    from varidex.gnomad.discovery import index_min_shift

    folder: Path = fresh_release("r2.1.1-exomes")
    assert main(["index", str(folder)]) == 0
    for chrom in ("1", "X", "Y"):
        csi = folder / f"gnomad.exomes.r2.1.1.sites.{chrom}.vcf.bgz.csi"
        assert index_min_shift(csi) == 10
        assert (folder / f"gnomad.exomes.r2.1.1.sites.{chrom}.vcf.bgz.vdx").exists()
    assert "wrote 6 index file(s)" in capsys.readouterr().err  # a CSI and a block index each
    assert main(["index", str(folder)]) == 0  # nothing left to do
    assert "wrote 0 index file(s)" in capsys.readouterr().err
    with GnomADLoader(folder, version="r2.1.1", max_workers=1) as loader:
        freq = loader.lookup_variant("1", 55505647, "G", "T")
    assert freq is not None
    assert freq.ac == 2341
