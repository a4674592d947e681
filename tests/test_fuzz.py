"""Property-based tests and a short fuzz run of every reader and of the INFO parser: whatever
the bytes, only varidex's own errors come out (never a KeyError, IndexError, a pandas or
pysam exception, or a wrong value).

The examples are derandomized by default so CI is repeatable; ``HYPOTHESIS_PROFILE=fuzz``
runs many more, randomized (see tests/conftest.py)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pysam
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.errors import GnomADFileError, InputFormatError, VaridexError
from varidex.gnomad.keys import normalize_variant, parse_variant_id, trim_alleles
from varidex.gnomad.pipeline import iter_variants

PACKAGE_DATA = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data"
PCSK9 = "gnomad.exomes.r2.1.1.sites.1.vcf.bgz"
HEADER = "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                      HealthCheck.too_slow])

# VCF-ish text: mostly the characters a VCF is made of, so the parser gets deep
vcf_chars = st.sampled_from(list("\t\n,.;=:-#ACGTNacgt<>*0123456789 chrXYMTPASS\r\x00é"))
vcf_text = st.lists(vcf_chars, max_size=400).map("".join)


def _read_error(path: str, fmt: str | None) -> VaridexError | None:
    """Read every batch; the varidex error raised, if any (anything else escapes)."""
    try:
        for _ in iter_variants(path, fmt, batch_rows=7):
            pass
    except VaridexError as exc:
        return exc
    return None


def _named(err: VaridexError | None, name: str) -> bool:
    return err is None or (isinstance(err, InputFormatError) and name in str(err))


@SLOW
@given(body=vcf_text)
@example(body="1\t10\t.\tA\n")
@example(body="1\t10\t.\tA\tG,,T\n")
@example(body="1\t10\t.\t\tG\n")
@example(body="1\t99999999999\t.\tA\tG\n")
def test_vcf_reader_raises_only_varidex_errors(tmp_path: Path, body: str) -> None:
    path = tmp_path / "in.vcf"
    path.write_text(HEADER + body, encoding="utf-8", errors="surrogateescape")
    assert _named(_read_error(str(path), "vcf"), "in.vcf")


@SLOW
@given(data=st.binary(max_size=600))
def test_vcf_reader_on_binary_junk(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "in.vcf"
    path.write_bytes(data)
    assert _named(_read_error(str(path), "vcf"), "in.vcf")


@SLOW
@given(body=st.lists(st.sampled_from(list(',\n"ACGT0123456789 x\t')), max_size=300)
       .map("".join), sep=st.sampled_from(["csv", "tsv"]))
def test_table_reader_raises_only_varidex_errors(tmp_path: Path, body: str, sep: str) -> None:
    path = tmp_path / f"in.{sep}"
    head = "chrom,pos,ref,alt\n" if sep == "csv" else "chrom\tpos\tref\talt\n"
    path.write_text(head + body)
    assert _named(_read_error(str(path), sep), f"in.{sep}")


@given(text=st.text(max_size=60))
@example(text="1-55505647-G-T")
@example(text="chr1:55505647:G:GA")
@example(text="1-99999999999999999999-G-T")
def test_variant_id_parser(text: str) -> None:
    try:
        chrom, pos, ref, alt = parse_variant_id(text)
    except VaridexError:
        return
    assert pos >= 1
    assert chrom
    assert ref
    assert alt


alleles = st.text(alphabet="ACGTNacgtn*<>.-XZ ", max_size=12)


@given(pos=st.integers(min_value=1, max_value=2**31 - 1), ref=alleles, alt=alleles)
def test_normalize_never_raises_and_trims_to_minimal(pos: int, ref: str, alt: str) -> None:
    p, r, a, status = normalize_variant(pos, ref, alt)
    if status is None:
        assert r
        assert a
        assert r != a
        assert (p, r, a) == trim_alleles(p, r, a)  # already minimal
        assert r[-1] != a[-1] or min(len(r), len(a)) == 0
        assert p >= pos


# --- the INFO parser, on real records with fuzzed values --------------------------------

def _one_record_release(folder: Path, info_edit: str) -> None:
    """The real PCSK9 excerpt with rs11591147's AC value replaced by ``info_edit``."""
    with pysam.BGZFile(str(PACKAGE_DATA / PCSK9), "rb", None) as handle:
        text = handle.read().decode()
    edited = text.replace("\tAC=2341;", f"\tAC={info_edit};", 1)
    plain = folder / "plain.vcf"
    plain.write_text(edited, encoding="utf-8", errors="surrogateescape")
    pysam.tabix_compress(str(plain), str(folder / PCSK9), force=True)
    plain.unlink()
    pysam.tabix_index(str(folder / PCSK9), preset="vcf", force=True)


# NUL is left out: htslib's tabix reader ends a line at a NUL byte (C strings), so the rest
# of that record's INFO reads as missing; the block reader sees it (see the example below).
info_values = st.lists(st.sampled_from(list("0123456789.-+eE;=,|naNIf ")), max_size=20) \
    .map("".join).filter(lambda v: "\t" not in v and "\n" not in v)


@settings(deadline=None, max_examples=25,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(value=info_values)
@example(value="2341")
@example(value="")
@example(value="-1")
@example(value="1e400")
@example(value="2341;AC=5")
@pytest.mark.parametrize("blocks", [False, True], ids=["tabix", "blocks"])
def test_info_parser_raises_only_varidex_errors(tmp_path_factory: pytest.TempPathFactory,
                                                value: str, blocks: bool) -> None:
    from varidex.gnomad.discovery import index_folder

    folder = tmp_path_factory.mktemp("fuzz")
    _one_record_release(folder, value)
    if blocks:
        index_folder(folder)
    logging.getLogger("varidex").setLevel(logging.ERROR)
    annotator = Annotator.open(folder, version="r2.1.1", max_workers=1)
    error: GnomADFileError | None = None
    try:
        result = annotator.lookup(["1"], [55505647], ["G"], ["T"])
    except GnomADFileError as exc:
        error = exc
    finally:
        annotator.close()
        shutil.rmtree(folder)
    if error is not None:
        assert "1:55505647" in str(error)
        return
    if value in ("2341", "2341;AC=5"):
        assert result.values["ac"][0] == 2341
    assert result.values["an"][0] == 196220  # the other fields are untouched
    assert result.status[0] in ("found", "found_non_pass")


def test_nul_byte_in_a_gnomad_record_is_an_error_through_the_block_index(
        tmp_path: Path) -> None:
    from varidex.gnomad.discovery import index_folder

    _one_record_release(tmp_path, "23\x0041")
    index_folder(tmp_path)
    annotator = Annotator.open(tmp_path, version="r2.1.1", max_workers=1)
    try:
        with pytest.raises(GnomADFileError, match="1:55505647"):
            annotator.lookup(["1"], [55505647], ["G"], ["T"])
    finally:
        annotator.close()
