"""The compatible API, exactly as users' code calls it."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from varidex.io.loaders.gnomad import GnomADFrequency, GnomADLoader, load_gnomad_frequencies


@pytest.fixture(scope="module")
def loader(gnomad_root: Path):  # type: ignore[no-untyped-def]
    with GnomADLoader(gnomad_dir=gnomad_root / "r2.1.1-exomes", dataset="exomes",
                      version="r2.1.1", auto_index=True, max_workers=None) as ld:
        yield ld


def test_lookup_variant_returns_real_frequency(loader: GnomADLoader) -> None:
    freq = loader.lookup_variant("1", 55505647, "G", "T")
    assert isinstance(freq, GnomADFrequency)
    assert (freq.af, freq.ac, freq.an, freq.nhomalt) == (0.0119305, 2341, 196220, 29)
    assert freq.af_nfe == 0.0150899
    assert (freq.af_sas, freq.af_amr, freq.af_eas, freq.af_fin, freq.af_asj) == (
        0.00115842, 0.00643952, 0.0, 0.0417152, 0.00464499)
    assert freq.filters == "PASS"
    d = freq.to_dict()
    assert d["chromosome"] == "1"
    assert d["position"] == 55505647
    assert d["af_oth"] == 0.0128355
    assert d["faf95_max"] == 0.0144002
    assert d["status"] == "found"
    assert d["release"] == "r2.1.1/exomes"


def test_lookup_variant_none_when_absent_or_no_data(loader: GnomADLoader) -> None:
    assert loader.lookup_variant("1", 55516781, "G", "T") is None
    assert loader.lookup_variant("2", 100000, "A", "G") is None


def test_batch_keeps_input_order(loader: GnomADLoader) -> None:
    variants = [("1", 55516888, "G", "A"), ("2", 5, "A", "G"), ("1", 55505647, "G", "T"),
                ("1", 55516888, "G", "GA"), ("1", 55505647, "G", "T")]
    got = loader.lookup_variants_batch(variants, show_progress=False)
    assert [None if f is None else f.ac for f in got] == [8, None, 2341, 121, 2341]
    assert [f.position for f in got if f is not None] == [55516888, 55505647, 55516888,
                                                         55505647]


def test_batch_accepts_dicts(loader: GnomADLoader) -> None:
    got = loader.lookup_variants_batch(
        [{"chromosome": "1", "position": 55505647, "ref_allele": "G", "alt_allele": "T"}])
    assert got[0] is not None
    assert got[0].ac == 2341


@pytest.mark.parametrize("names", [
    ("chromosome", "position", "ref_allele", "alt_allele"),
    ("chrom", "pos", "ref", "alt"),
    ("CHROM", "POS", "REF", "ALT"),
    ("#CHROM", "POS", "REF", "ALT"),
])
def test_annotate_dataframe_aliases_order_and_duplicates(loader: GnomADLoader,
                                                          names: tuple[str, ...]) -> None:
    rows = [("1", 55505647, "G", "T"), ("1", 55505647, "G", "T"), ("2", 45895, "A", "G"),
            ("chr1", 55516888, "G", "GA"), ("1", 55505621, "C", "T")]
    df = pd.DataFrame(rows, columns=list(names))
    df["sample"] = ["a", "b", "c", "d", "e"]
    out = loader.annotate_dataframe(df, show_progress=False)
    assert len(out) == 5
    assert out["sample"].tolist() == ["a", "b", "c", "d", "e"]
    assert out["gnomad_ac"].tolist()[:2] == [2341, 2341]
    assert pd.isna(out["gnomad_ac"].iloc[2])
    assert out["gnomad_status"].tolist() == ["found", "found", "no_data", "found",
                                             "found_non_pass"]
    assert out["gnomad_af"].iloc[3] == 0.000943617
    assert out["gnomad_popmax"].iloc[3] == "afr"
    assert out["gnomad_af_popmax"].iloc[3] == 0.0159487
    assert out["gnomad_filters"].iloc[4] == "AC0;RF"
    assert out["gnomad_af_nfe"].dtype == "float64"
    assert str(out["gnomad_ac"].dtype) == "Int64"
    for group in ("afr", "amr", "asj", "eas", "fin", "nfe", "oth", "sas"):
        assert f"gnomad_af_{group}" in out.columns


def test_annotate_dataframe_keeps_index(loader: GnomADLoader) -> None:
    df = pd.DataFrame({"chromosome": ["1", "1"], "position": [55505647, 55516888],
                       "ref_allele": ["G", "G"], "alt_allele": ["T", "A"]}, index=[10, 3])
    out = loader.annotate_dataframe(df, show_progress=False)
    assert out.index.tolist() == [10, 3]
    assert out.loc[3, "gnomad_ac"] == 8


def test_missing_values_stay_missing(loader: GnomADLoader) -> None:
    df = pd.DataFrame({"chromosome": ["1"], "position": [55505621], "ref_allele": ["C"],
                       "alt_allele": ["T"]})
    out = loader.annotate_dataframe(df, show_progress=False)
    assert out["gnomad_ac"].iloc[0] == 0  # a real zero
    assert math.isnan(out["gnomad_af_popmax"].iloc[0])  # no popmax for AC0: missing, not 0


def test_statistics(loader: GnomADLoader) -> None:
    loader.lookup_variant("1", 55505647, "G", "T")
    stats = loader.get_statistics()
    for key in ("dataset", "version", "available_chromosomes", "max_workers",
                "parallel_enabled"):
        assert key in stats
    assert stats["dataset"] == "exomes"
    assert stats["version"] == "r2.1.1"
    assert stats["available_chromosomes"] == ["1", "X", "Y"]
    assert stats["variants_looked_up"] >= 1
    assert stats["variants_found"] >= 1


def test_load_gnomad_frequencies(gnomad_root: Path) -> None:
    df = pd.DataFrame({"CHROM": ["1"], "POS": [55505647], "REF": ["G"], "ALT": ["T"]})
    out = load_gnomad_frequencies(df, gnomad_root / "r2.1.1-exomes", dataset="exomes",
                                  version="r2.1.1", max_workers=1)
    assert out["gnomad_af"].iloc[0] == 0.0119305


def test_missing_columns_error_names_them(loader: GnomADLoader) -> None:
    from varidex.gnomad.errors import InputFormatError

    with pytest.raises(InputFormatError, match="position"):
        loader.annotate_dataframe(pd.DataFrame({"chrom": ["1"], "ref": ["A"], "alt": ["G"]}))


def test_bad_position_is_an_error_not_absent(loader: GnomADLoader) -> None:
    from varidex.gnomad.errors import InputFormatError

    with pytest.raises(InputFormatError, match="row 2"):
        loader.lookup_variants_batch([("1", 5, "A", "G"), ("1", "abc", "A", "G")])
    with pytest.raises(InputFormatError, match="1-based"):
        loader.lookup_variant("1", 0, "A", "G")


def test_issue_annotate_dataframe_again_drops_the_earlier_gnomad_columns(
        loader: GnomADLoader, gnomad_root: Path) -> None:
    """An exomes-annotated frame annotated with a genomes loader (r2.1.1 genomes has no sas
    group): no exomes value may stay; the user's gnomad_id column is theirs and stays."""
    df = pd.DataFrame({"gnomad_id": ["1-55505647-G-T"], "chromosome": ["1"],
                       "position": [55505647], "ref_allele": ["G"], "alt_allele": ["T"]})
    exomes = loader.annotate_dataframe(df, show_progress=False)
    assert exomes["gnomad_af_sas"].tolist() == [0.00115842]
    with GnomADLoader(gnomad_root / "r2.1.1-genomes", dataset="genomes", version="r2.1.1",
                      max_workers=1) as genomes:
        again = genomes.annotate_dataframe(exomes, show_progress=False)
        fresh = genomes.annotate_dataframe(df, show_progress=False)
    assert "gnomad_af_sas" not in again.columns
    assert again["gnomad_status"].tolist() == ["absent"]
    assert again["gnomad_id"].tolist() == ["1-55505647-G-T"]
    pd.testing.assert_frame_equal(again, fresh)
