"""`varidex info DIR`: release, build, chromosomes, indexes and fields of a gnomAD folder."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from varidex.gnomad.cli import main

INPUTS = Path(__file__).parent / "data" / "inputs"


def test_info_text(fresh_release, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    folder = fresh_release("r2.1.1-exomes")
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "release r2.1.1/exomes (GRCh37): 3 file(s), chromosomes 1, X, Y" in out
    assert "gnomad.exomes.r2.1.1.sites.X.vcf.bgz" in out
    assert ".tbi (16 kb bins)" in out
    assert "block index missing" in out
    assert "af (AF), ac (AC), an (AN), nhomalt (nhomalt), nhemi (AC_male)" in out
    assert "869 INFO fields in the header" in out
    assert "genetic-ancestry groups: afr, amr, asj, eas, fin, nfe, oth, sas" in out
    assert f"build them with `varidex index {folder}`" in out


def test_info_after_index_and_json(fresh_release, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    folder = fresh_release("v4.0-exomes")
    before = sorted(p.name for p in folder.iterdir())
    assert main(["info", str(folder), "--json"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == before  # info writes nothing
    data = json.loads(capsys.readouterr().out)
    assert data["missing_indexes"] == ["gnomad.exomes.v4.0.sites.chr1.vcf.bgz"]
    assert main(["index", str(folder)]) == 0
    capsys.readouterr()
    assert main(["info", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (release,) = data["releases"]
    assert release["release"] == "v4.0/exomes"
    assert release["build"] == "GRCh38"
    assert release["chromosomes"] == ["1"]
    assert release["fields"]["faf95_max"] == "fafmax_faf95_max"
    assert release["missing_fields"] == []
    (f,) = release["files"]
    assert (f["index"], f["bin_size"], f["block_index"], f["contigs"]) == (
        ".csi", 1024, "fresh", ["chr1"])
    assert data["missing_indexes"] == []


def test_info_mixed_folder_and_stale_index(fresh_release, tmp_path: Path,  # type: ignore[no-untyped-def]
                                           capsys: pytest.CaptureFixture[str]) -> None:
    folder = fresh_release("r2.1.1-genomes")
    chrm = fresh_release("v3.1-chrM")
    for f in chrm.iterdir():
        shutil.copy2(f, folder / f.name)
    shutil.copy2(INPUTS / "clinvar_20191007.vcf.gz", folder / "clinvar_20191007.vcf.gz")
    data_file = folder / "gnomad.genomes.r2.1.1.sites.X.vcf.bgz"
    later = data_file.stat().st_mtime + 100
    os.utime(data_file, (later, later))
    assert main(["info", str(folder), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["release"] for r in data["releases"]] == ["r2.1.1/genomes", "v3.1-chrM/genomes"]
    assert data["releases"][0]["chromosomes"] == ["1", "X"]
    stale = {f["name"]: f["index_stale"] for f in data["releases"][0]["files"]}
    assert stale == {"gnomad.genomes.r2.1.1.sites.1.vcf.bgz": False,
                     "gnomad.genomes.r2.1.1.sites.X.vcf.bgz": True}
    (other,) = data["other_files"]
    assert other["name"] == "clinvar_20191007.vcf.gz"
    assert "not a gnomAD short-variant sites file" in other["problem"] or \
        "gzip-compressed but not bgzip" in other["problem"]
    assert main(["info", str(folder)]) == 0
    text = capsys.readouterr().out
    assert "STALE" in text
    assert "not used: clinvar_20191007.vcf.gz" in text


def test_info_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path)]) == 1
    assert "no .vcf.bgz or .vcf.gz files in" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "nowhere")]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["info"])
    assert info.value.code == 2
