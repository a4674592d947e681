"""The VCF reader (Arrow's CSV reader for files): batches, column checks, damaged files."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.errors import InputFormatError
from varidex.gnomad.formats.vcf import iter_vcf

GENERATED = Path(__file__).parent / "data" / "generated"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\n"


def test_batches_cut_anywhere_give_the_same_rows() -> None:
    path = str(GENERATED / "queries-r2.1.1.1000.vcf.gz")
    whole = pd.concat(list(iter_vcf(path, batch_rows=10**6)), ignore_index=True)
    parts = list(iter_vcf(path, batch_rows=7))
    assert [len(p) >= 7 for p in parts[:-1]] == [True] * (len(parts) - 1)
    cut = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(whole, cut)
    assert whole["vcf_record"].tolist()[-1] == 1000  # records, numbered from 1
    assert len(whole) == 1040  # one row per ALT
    row = whole[whole["id"] == "q0000541"]
    assert row["alt_allele"].tolist() == ["G", "T"]
    assert row["alt_index"].tolist() == [0, 1]
    assert whole["position"].dtype == "int64"


@pytest.mark.parametrize(("body", "line", "message"), [
    ("1\t5\t.\tG\tT\t.\n1\t6\t.\tG\tA\t.\tEXTRA\n", 4, "7 tab-separated columns where the "
                                                      "first record has 6"),
    ("1\t5\t.\tG\tT\t.\n1\t6\t.\tG\tA\n", 4, "5 tab-separated columns where the first "
                                               "record has 6"),
    ("1\t5\t.\tG\n", 3, "a VCF record needs at least 5 tab-separated columns"),
])
def test_records_with_other_columns_name_the_line(tmp_path: Path, body: str, line: int,
                                                  message: str) -> None:
    src = tmp_path / "in.vcf"
    src.write_text(HEADER + body)
    with pytest.raises(InputFormatError, match=rf"in.vcf, line {line}: {message}"):
        list(iter_vcf(str(src)))


def test_truncated_bgzip_vcf_is_an_error(tmp_path: Path) -> None:
    data = gzip.compress((HEADER + "1\t55505647\t.\tG\tT\t.\n" * 20000).encode())
    src = tmp_path / "cut.vcf.gz"
    src.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputFormatError, match="cut.vcf.gz: cannot read"):
        list(iter_vcf(str(src)))


def test_header_only_gives_no_rows(tmp_path: Path) -> None:
    src = tmp_path / "none.vcf"
    src.write_text(HEADER)
    frames = list(iter_vcf(str(src)))
    assert len(frames) == 1
    assert frames[0].empty
