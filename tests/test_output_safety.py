"""Outputs never destroy what they should not: the run's own inputs, a device or named pipe,
a symbolic link, a source gnomAD folder (store build); and an index left beside a replaced
file is not left to describe the new one.

Regression tests for faults found by a tester: `-o /dev/null` (as root) replaced the device
with a regular file; `-o` naming the input replaced it; an old `.csi` beside `out.vcf.gz`
kept answering region queries for the old file; `store build --force -o GNOMAD_DIR` deleted
the gnomAD files."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pysam
import pytest

from varidex.gnomad.cli import main

HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
RS11591147 = "1\t55505647\trs11591147\tG\tT\t.\tPASS\t.\n"
RS_OTHER = "1\t55505651\t.\tC\tT\t.\tPASS\t.\n"


def _annotate(*args: str) -> int:
    return main(["annotate", *args, "--workers", "1", "-q"])


def _input(folder: Path) -> Path:
    src = folder / "in.vcf"
    src.write_text(HEADER + RS11591147 + RS_OTHER)
    return src


def test_output_to_a_named_pipe_is_written_into_it(gnomad_root: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    code = _annotate(str(_input(tmp_path)), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                     "-o", str(fifo))
    reader.join(timeout=30)
    assert code == 0
    assert fifo.is_fifo()  # still the pipe, not a regular file put in its place
    lines = received[0].decode().splitlines()
    assert lines[0].startswith("chromosome\tposition")
    af = lines[0].split("\t").index("gnomad_af")
    assert [line.split("\t")[af] for line in lines[1:]] == ["0.0119305", "0.0100399"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf", "pipe"]


def test_output_through_a_symlink_keeps_the_link(gnomad_root: Path, tmp_path: Path) -> None:
    real = tmp_path / "results" / "real.tsv"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "out.tsv"
    link.symlink_to(real)
    assert _annotate(str(_input(tmp_path)), "--gnomad-dir",
                     str(gnomad_root / "r2.1.1-exomes"), "-o", str(link)) == 0
    assert link.is_symlink()
    assert link.resolve() == real.resolve()
    assert "\t0.0119305\t" in real.read_text()


@pytest.mark.parametrize("target", ["input", "input index", "gnomad file", "gnomad index"])
def test_output_that_is_a_file_the_run_reads_is_refused(
        target: str, fresh_release, tmp_path: Path,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    gnomad = fresh_release("r2.1.1-exomes")
    src = tmp_path / "in.vcf.gz"
    pysam.tabix_compress(str(_input(tmp_path)), str(src))
    pysam.tabix_index(str(src), preset="vcf")
    bgz = next(gnomad.glob("*.vcf.bgz"))
    out = {"input": src, "input index": Path(f"{src}.tbi"), "gnomad file": bgz,
           "gnomad index": next(gnomad.glob("*.vcf.bgz.tbi"))}[target]
    before = out.read_bytes()
    code = _annotate(str(src), "--gnomad-dir", str(gnomad), "-o", str(out))
    err = capsys.readouterr().err
    assert code == 1
    what = {"input": "the input", "input index": "the input's index",
            "gnomad file": "a gnomAD file", "gnomad index": "the index of a gnomAD file"}
    assert re.search(rf"{re.escape(str(out))}: is {what[target]} .*choose another output",
                     err), err
    assert out.read_bytes() == before


def test_an_old_index_beside_a_replaced_vcf_gz_is_removed(gnomad_root: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "out.vcf.gz"
    old = tmp_path / "old.vcf"
    old.write_text(HEADER + "2\t45895\t.\tA\tG\t.\t.\t.\n")
    pysam.tabix_compress(str(old), str(out))
    pysam.tabix_index(str(out), preset="vcf", csi=True)  # out.vcf.gz.csi, of the old file
    assert Path(f"{out}.csi").exists()
    assert _annotate(str(_input(tmp_path)), "--gnomad-dir",
                     str(gnomad_root / "r2.1.1-exomes"), "-o", str(out)) == 0
    assert not Path(f"{out}.csi").exists()
    assert Path(f"{out}.tbi").exists()
    with pysam.TabixFile(str(out)) as tbx:  # htslib finds the .tbi of the new file
        got = list(tbx.fetch("1", 55505646, 55505647))
    assert len(got) == 1
    assert "gnomad_af=0.0119305" in got[0]


def test_a_replaced_tsv_loses_its_stale_index(gnomad_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.tsv"
    out.write_text("old\n")
    Path(f"{out}.tbi").write_bytes(b"stale")
    assert _annotate(str(_input(tmp_path)), "--gnomad-dir",
                     str(gnomad_root / "r2.1.1-exomes"), "-o", str(out)) == 0
    assert not Path(f"{out}.tbi").exists()
    assert "\t0.0100399\t" in out.read_text()


# --- store build -------------------------------------------------------------------------

def _build(gnomad: Path, out: Path) -> int:
    return main(["store", "build", "--gnomad-dir", str(gnomad), "-o", str(out), "--force",
                 "-q", "--workers", "1"])


@pytest.mark.parametrize("where", ["the gnomAD folder", "its parent"])
def test_store_build_never_replaces_the_gnomad_folder(
        where: str, fresh_release, capsys: pytest.CaptureFixture[str]  # type: ignore[no-untyped-def]
        ) -> None:
    gnomad = fresh_release("r2.1.1-exomes")
    before = sorted(p.name for p in gnomad.iterdir())
    out = gnomad if where == "the gnomAD folder" else gnomad.parent
    assert _build(gnomad, out) == 1
    assert "would replace the folder holding the gnomAD files" in capsys.readouterr().err
    assert sorted(p.name for p in gnomad.iterdir()) == before


def test_store_build_force_replaces_only_a_store(
        fresh_release, tmp_path: Path,  # type: ignore[no-untyped-def]
        capsys: pytest.CaptureFixture[str]) -> None:
    gnomad = fresh_release("r2.1.1-exomes")
    other = tmp_path / "notes"
    other.mkdir()
    (other / "notes.txt").write_text("keep me\n")
    assert _build(gnomad, other) == 1
    assert "is a folder that is not a varidex store" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "keep me\n"
    store = tmp_path / "store"
    assert _build(gnomad, store) == 0
    assert _build(gnomad, store) == 0  # a store is replaced with --force
    assert (store / "store.json").exists()


def test_every_file_a_run_reads_is_refused_as_output(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Found by a third tester: a store's starts file and store.json, the reference's .fai,
    # the --config file and the BA1 exception list could be overwritten by -o.
    import shutil

    generated = Path(__file__).parent / "data" / "generated"
    gnomad = tmp_path / "g"
    shutil.copytree(generated / "r2.1.1-exomes", gnomad)
    for name in ("r2.1.1-exomes.masked-ref.fa.gz", "r2.1.1-exomes.masked-ref.fa.gz.fai",
                 "r2.1.1-exomes.masked-ref.fa.gz.gzi"):
        shutil.copy(generated / name, tmp_path / name)
    queries = str(generated / "queries-r2.1.1.1000.csv")
    store = tmp_path / "store"
    assert main(["store", "build", "--gnomad-dir", str(gnomad), "-o", str(store), "-q",
                 "--workers", "1"]) == 0
    config = tmp_path / "c.yaml"
    config.write_text(f"gnomad:\n  exomes: {{dir: {gnomad}}}\n")
    exceptions = tmp_path / "b.tsv"
    shutil.copy(Path(__file__).parents[1] / "src" / "varidex" / "acmg" / "data"
                / "ba1_exceptions.tsv", exceptions)
    fasta = tmp_path / "r2.1.1-exomes.masked-ref.fa.gz"
    cases = [
        (["--store", str(store)], store / "store.json", "a file of the store"),
        (["--store", str(store)], next(store.glob("*.starts.parquet")), "a file of the store"),
        (["--gnomad-dir", str(gnomad), "--reference", str(fasta)], Path(f"{fasta}.fai"),
         "an index of the reference FASTA"),
        (["--config", str(config)], config, "the --config file"),
        (["--gnomad-dir", str(gnomad), "--acmg", "--ba1-exceptions", str(exceptions)],
         exceptions, "the BA1 exception list"),
    ]
    for options, target, what in cases:
        before = target.read_bytes()
        code = main(["annotate", queries, *options, "-o", str(target), "--output-format",
                     "tsv", "-q", "--workers", "1"])
        assert code == 1, target
        assert f"{target}: is {what} " in capsys.readouterr().err
        assert target.read_bytes() == before


def test_store_build_through_a_symlink_keeps_the_link(
        fresh_release, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    gnomad = fresh_release("r2.1.1-exomes")
    real = tmp_path / "real-store"
    assert _build(gnomad, real) == 0
    link = tmp_path / "store"
    link.symlink_to(real)
    (real / "store.json").write_text((real / "store.json").read_text().replace(
        '"build_seconds"', '"build_seconds_old"'))  # marks the old build
    assert _build(gnomad, link) == 0
    assert link.is_symlink()
    assert link.resolve() == real.resolve()
    assert '"build_seconds"' in (real / "store.json").read_text()  # rebuilt where it points


def test_a_linked_vcf_gz_gets_its_index_beside_the_link(gnomad_root: Path,
                                                         tmp_path: Path) -> None:
    """Regression: the .tbi went beside the link's target, where htslib, given the link's
    name, does not look: tabix and bcftools could not query the output."""
    real = tmp_path / "results" / "real.vcf.gz"
    real.parent.mkdir()
    link = tmp_path / "out.vcf.gz"
    link.symlink_to(real)
    assert _annotate(str(_input(tmp_path)), "--gnomad-dir",
                     str(gnomad_root / "r2.1.1-exomes"), "-o", str(link)) == 0
    assert link.is_symlink()
    assert real.exists()
    assert Path(f"{link}.tbi").exists()
    assert not Path(f"{real}.tbi").exists()
    with pysam.TabixFile(str(link)) as tbx:
        got = list(tbx.fetch("1", 55505646, 55505647))
    assert len(got) == 1
    assert "gnomad_af=0.0119305" in got[0]


def test_a_chain_of_links_loses_every_stale_index(gnomad_root: Path, tmp_path: Path) -> None:
    """Regression: writing through a/ll -> l -> ../b/t left a/l.vcf.gz.tbi, the index of
    the replaced file, beside the middle link (tabix on it read garbage)."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    real = tmp_path / "b" / "t.vcf.gz"
    middle, first = tmp_path / "a" / "l.vcf.gz", tmp_path / "a" / "ll.vcf.gz"
    middle.symlink_to("../b/t.vcf.gz")
    first.symlink_to("l.vcf.gz")
    args = [str(_input(tmp_path)), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes")]
    assert _annotate(*args, "-o", str(middle)) == 0
    assert Path(f"{middle}.tbi").exists()
    assert _annotate(*args, "-o", str(first)) == 0
    assert Path(f"{first}.tbi").exists()
    assert not Path(f"{middle}.tbi").exists()
    assert not Path(f"{real}.tbi").exists()
    with pysam.TabixFile(str(first)) as tbx:
        assert "gnomad_af=0.0119305" in next(tbx.fetch("1", 55505646, 55505647))
