"""The VCF reader (Arrow's CSV reader for files): batches, column checks, damaged files."""

from __future__ import annotations

import gzip
import re
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


HEADER8 = ("##fileformat=VCFv4.2\n##contig=<ID=1,length=249250621>\n"
           "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
RECORDS = ("1\t10\trs1\tG\tT\t50\tPASS\t.\n"
           "1\t20\trs2\tC\tA,G,T\t.\tq10\tDP=3\n"
           "1\t0000000030\trs3\tAT\tA,\t.\t.\t.\n"
           "1\t2147483647\trs4\tA\tC\t.\t.\t.\n")


def _expected(ids: list[str]) -> pd.DataFrame:
    """The frame of RECORDS (ids may be replaced, e.g. after a non-UTF-8 byte)."""
    text = {"chromosome": ["1"] * 7,
            "id": [ids[0], ids[1], ids[1], ids[1], ids[2], ids[2], ids[3]],
            "ref_allele": ["G", "C", "C", "C", "AT", "AT", "A"],
            "alt_allele": ["T", "A", "G", "T", "A", "", "C"],
            "qual": ["50", ".", ".", ".", ".", ".", "."],
            "filter": ["PASS", "q10", "q10", "q10", ".", ".", "."]}
    frame = pd.DataFrame({k: pd.array(v, dtype="str") for k, v in text.items()})
    frame.insert(1, "position", pd.array([10, 20, 20, 20, 30, 30, 2147483647], dtype="int64"))
    frame["vcf_record"] = pd.array([1, 2, 2, 2, 3, 3, 4], dtype="int64")
    frame["alt_index"] = pd.array([0, 0, 1, 2, 0, 1, 0], dtype="int64")
    return frame


def _read(path: Path, batch_rows: int = 1000) -> list[pd.DataFrame]:
    return list(iter_vcf(str(path), batch_rows=batch_rows))


@pytest.mark.parametrize("line_end", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize("compress", [False, True])
def test_records_split_per_alt_with_any_line_end(tmp_path: Path, line_end: str,
                                                 compress: bool) -> None:
    text = (HEADER8 + RECORDS).replace("\n", line_end).encode()
    src = tmp_path / ("in.vcf.gz" if compress else "in.vcf")
    src.write_bytes(gzip.compress(text) if compress else text)
    (frame,) = _read(src)
    pd.testing.assert_frame_equal(frame, _expected(["rs1", "rs2", "rs3", "rs4"]),
                                  check_exact=True)
    assert frame.attrs == {"contig_lengths": {"1": 249250621}}
    assert isinstance(frame.index, pd.RangeIndex)


def test_batches_count_records_not_alt_rows(tmp_path: Path) -> None:
    src = tmp_path / "in.vcf"
    src.write_text(HEADER8 + RECORDS)
    parts = _read(src, batch_rows=2)
    assert [len(p) for p in parts] == [4, 3]
    assert [p.index.tolist() for p in parts] == [[0, 1, 2, 3], [0, 1, 2]]
    whole = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(whole, _expected(["rs1", "rs2", "rs3", "rs4"]),
                                  check_exact=True)


def test_bytes_not_utf8_are_replaced(tmp_path: Path) -> None:
    src = tmp_path / "in.vcf"
    src.write_bytes((HEADER8 + RECORDS).replace("rs3", "rs\udcff").encode(
        "utf-8", "surrogateescape"))
    for batch_rows in (1000, 2):  # the batch with the bad byte, and the others
        whole = pd.concat(_read(src, batch_rows), ignore_index=True)
        pd.testing.assert_frame_equal(whole, _expected(["rs1", "rs2", "rs\ufffd", "rs4"]),
                                      check_exact=True)


@pytest.mark.parametrize("columns", [5, 6, 7])
def test_records_with_5_to_7_columns(tmp_path: Path, columns: int) -> None:
    header = "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER"][:columns])
    body = "".join("\t".join(line.split("\t")[:columns]) + "\n"
                   for line in RECORDS.splitlines())
    src = tmp_path / "in.vcf"
    src.write_text("##fileformat=VCFv4.2\n" + header + "\n" + body)
    (frame,) = _read(src)
    expected = _expected(["rs1", "rs2", "rs3", "rs4"])
    for name, first in (("qual", 6), ("filter", 7)):
        if columns < first:
            expected[name] = pd.array([""] * len(expected), dtype="str")
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


@pytest.mark.parametrize("pos", ["0", "12345678901", "2147483648", "9999999999", "12a",
                                 "+12", "-12", " 12", ".", "1\udcff"])
def test_bad_pos_names_the_line(tmp_path: Path, pos: str) -> None:
    src = tmp_path / "in.vcf"
    src.write_bytes((HEADER8 + RECORDS + f"1\t{pos}\trs5\tG\tT\t.\t.\t.\n" + RECORDS).encode(
        "utf-8", "surrogateescape"))
    shown = repr(pos.replace("\udcff", "\ufffd"))
    for batch_rows in (1000, 3):
        with pytest.raises(InputFormatError, match=(
                r"in.vcf, line 8: POS is not a 1-based position \(a whole number from 1 to "
                r"2,147,483,647\): " + re.escape(shown) + "$")):
            _read(src, batch_rows)


@pytest.mark.parametrize("record", ["1\t50\trs5\tG\t\t.\t.\t.\n", "1\t50\trs5\t\tT\t.\t.\t.\n"])
def test_empty_ref_or_alt_names_the_line(tmp_path: Path, record: str) -> None:
    src = tmp_path / "in.vcf"
    src.write_text(HEADER8 + RECORDS + RECORDS + record + RECORDS)
    with pytest.raises(InputFormatError, match=(
            r"in.vcf, line 12: a VCF record needs at least 5 tab-separated columns "
            r"\(CHROM POS ID REF ALT\)$")):
        _read(src)
