"""The BGZF writer (formats/bgzf.py): htslib, bgzip and gzip read what it writes."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pysam
import pytest

from varidex.gnomad._scan import bgzf_blocks
from varidex.gnomad.formats.bgzf import BLOCK_DATA, EOF_BLOCK, BgzfWriter

DATA = Path(__file__).parent / "data"
REAL = DATA / "gnomad" / "v4.0-exomes" / "gnomad.exomes.v4.0.sites.chr1.vcf.bgz"  # 101 records


def blocks_of(path: Path) -> np.ndarray:
    """(start, end, uncompressed size) of each block, by varidex's own BGZF reader."""
    return np.frombuffer(bgzf_blocks(path.read_bytes()), dtype=np.int64).reshape(-1, 3)


def write(path: Path, data: bytes, *, piece: int = 100_000, threads: int = 2) -> None:
    with BgzfWriter(path.open("wb"), threads=threads) as out:
        for i in range(0, len(data), piece):
            out.write(data[i:i + piece])


def test_real_vcf_round_trip_and_tabix(tmp_path: Path) -> None:
    text = gzip.decompress(REAL.read_bytes())
    out = tmp_path / "x.vcf.gz"
    write(out, text)
    assert gzip.decompress(out.read_bytes()) == text
    assert out.read_bytes().endswith(EOF_BLOCK)
    blocks = blocks_of(out)
    assert (blocks[:, 1] - blocks[:, 0] <= 1 << 16).all()
    assert (blocks[:-2, 2] == BLOCK_DATA).all()  # full blocks but the last, then EOF
    assert blocks[-1, 2] == 0
    assert blocks[:, 2].sum() == len(text)
    pysam.tabix_index(str(out), preset="vcf", keep_original=True, force=True)
    with pysam.TabixFile(str(REAL)) as theirs, pysam.TabixFile(str(out)) as ours:
        first = next(iter(theirs.fetch("chr1")))
        pos = int(first.split("\t")[1])
        assert list(ours.fetch("chr1", pos - 1, pos + 5_000)) == list(
            theirs.fetch("chr1", pos - 1, pos + 5_000))
        assert len(list(ours.fetch("chr1"))) == len(list(theirs.fetch("chr1"))) == 101


@pytest.mark.skipif(shutil.which("bgzip") is None, reason="bgzip (tabix package) missing")
def test_bgzip_checks_and_reads_it(tmp_path: Path) -> None:
    text = gzip.decompress(REAL.read_bytes())
    out = tmp_path / "x.vcf.gz"
    write(out, text, threads=1)
    subprocess.run(["bgzip", "-t", str(out)], check=True)
    assert subprocess.run(["bgzip", "-dc", str(out)], check=True,
                          capture_output=True).stdout == text


def test_incompressible_data_fits_its_blocks(tmp_path: Path) -> None:
    data = os.urandom(3 * BLOCK_DATA + 123)
    out = tmp_path / "random.gz"
    write(out, data, piece=7777)
    assert gzip.decompress(out.read_bytes()) == data
    blocks = blocks_of(out)
    assert blocks[:, 2].tolist() == [BLOCK_DATA] * 3 + [123, 0]
    assert (blocks[:, 1] - blocks[:, 0] <= 1 << 16).all()


def test_empty_output_is_the_eof_block(tmp_path: Path) -> None:
    out = tmp_path / "empty.gz"
    write(out, b"")
    assert out.read_bytes() == EOF_BLOCK
    assert gzip.decompress(out.read_bytes()) == b""


def test_blocks_compressed_apart_are_appended(tmp_path: Path) -> None:
    """The VCF writer's way: the body compressed to a part file, the header written last."""
    part = tmp_path / "body.part"
    with part.open("w+b") as raw:
        body = BgzfWriter(raw)
        body.write(b"19\t100\t.\tA\tG\t.\t.\t.\n" * 10_000)
        body.close(eof=False, close_raw=False)
        raw.seek(0)
        compressed = raw.read()
    assert not compressed.endswith(EOF_BLOCK)
    out = tmp_path / "x.vcf.gz"
    with BgzfWriter(out.open("wb")) as whole:
        whole.write(b"##fileformat=VCFv4.2\n")
        whole.write_blocks(compressed)
    assert gzip.decompress(out.read_bytes()) == (
        b"##fileformat=VCFv4.2\n" + b"19\t100\t.\tA\tG\t.\t.\t.\n" * 10_000)
    assert blocks_of(out)[0, 2] == len(b"##fileformat=VCFv4.2\n")  # a block of its own
