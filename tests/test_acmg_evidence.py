"""The acmg_* columns over frames annotated from the real gnomAD excerpts (r2.1.1 PCSK9
exomes, r2.0.1, exomes+genomes), and the acceptance points of issue 6."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from varidex.acmg import (
    COLUMNS,
    FrequencyThresholds,
    evaluate_frequency_evidence,
    filtering_af,
    load_ba1_exceptions,
)
from varidex.gnomad.combine import open_annotator
from varidex.gnomad.errors import InputFormatError
from varidex.gnomad.pipeline import annotate_frame, read_variants
from varidex.io.loaders.gnomad import GnomADLoader

DEMO = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data" / "demo_variants.vcf"
PCSK9_DOMINANT = FrequencyThresholds(inheritance="dominant", prevalence=1 / 500,
                                     allelic_heterogeneity=0.1, penetrance=0.5)


def annotate(root: Path, rows: list[tuple[str, int, str, str]], *, version: str = "r2.1.1",
             dataset: str = "exomes") -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["chromosome", "position", "ref_allele", "alt_allele"])
    with GnomADLoader(root, dataset=dataset, version=version, max_workers=1) as loader:
        return loader.annotate_dataframe(df, show_progress=False)


@pytest.fixture(scope="module")
def pcsk9(gnomad_root: Path) -> pd.DataFrame:
    """The bundled demo variants against the real r2.1.1 exomes (PCSK9 slice of chr1)."""
    with GnomADLoader(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1) as ld:
        return ld.annotate_dataframe(read_variants(str(DEMO)), show_progress=False)


def row(frame: pd.DataFrame, pos: int, alt: str) -> pd.Series:
    hits = frame[(frame["position"].astype(int) == pos) & (frame["alt_allele"] == alt)]
    assert len(hits) == 1
    return hits.iloc[0]


def test_rs11591147_meets_bs1_for_a_dominant_disorder_and_not_ba1(pcsk9: pd.DataFrame) -> None:
    """Acceptance: PCSK9 rs11591147 (AF_nfe 0.0150899 in the real r2.1.1 exome excerpt)
    meets BS1 for a dominant disorder with prevalence 1/500, A 0.1, penetrance 0.5, and
    not BA1."""
    ev = evaluate_frequency_evidence(pcsk9, PCSK9_DOMINANT)
    r = row(ev, 55505647, "T")
    assert r["id"] == "rs11591147"
    assert r["gnomad_af_nfe"] == 0.0150899
    assert (r["acmg_bs1"], r["acmg_bs1_value"], r["acmg_bs1_group"]) == ("met", 0.0144002, "nfe")
    assert r["acmg_bs1_threshold"] == pytest.approx(0.0002)
    assert r["acmg_bs1_reason"] == (
        "grpmax FAF95 0.0144002 (nfe) > maximum credible AF 0.0002 (dominant: prevalence "
        "0.002 x allelic het. 0.1 x genetic het. 1 x 0.5 / penetrance 0.5)")
    assert (r["acmg_ba1"], r["acmg_ba1_value"], r["acmg_ba1_group"]) == (
        "not_met", 0.0150899, "nfe")
    assert r["acmg_ba1_reason"] == ("AF_nfe 0.0150899 (AN 84162) <= 0.05; grpmax FAF95 "
                                    "0.0144002 (nfe) <= 0.05")
    assert (r["acmg_faf95"], r["acmg_faf95_group"], r["acmg_faf_source"]) == (
        0.0144002, "nfe", "gnomAD")
    assert r["acmg_pm2_supporting"] == "not_met"
    assert r["acmg_bs2"] == "met"  # 2341 - 2 x 29 heterozygotes
    assert r["acmg_bs2_value"] == 2283
    assert r["acmg_review"] == "BS2"


def test_bs1_not_met_below_the_maximum_credible_af(pcsk9: pd.DataFrame) -> None:
    ev = evaluate_frequency_evidence(pcsk9, FrequencyThresholds(max_credible_af=0.02))
    r = row(ev, 55505647, "T")
    assert r["acmg_bs1"] == "not_met"
    assert r["acmg_bs1_reason"] == ("grpmax FAF95 0.0144002 (nfe) <= maximum credible AF "
                                    "0.02 (given)")
    assert r["acmg_bs2"] == "not_applicable"  # inheritance not given


def test_ba1_met_by_a_continental_group(pcsk9: pd.DataFrame) -> None:
    r = row(evaluate_frequency_evidence(pcsk9), 55505732, "G")  # AF 0.93 in every group
    assert (r["acmg_ba1"], r["acmg_ba1_value"], r["acmg_ba1_group"]) == ("met", 0.970289, "sas")
    assert r["acmg_ba1_reason"].startswith(
        "AF_sas 0.970289 (AN 23022) > 0.05; grpmax FAF95 0.959635 (sas) > 0.05; not counted: "
        "AF_asj 0.927786 (not a general continental group)")


def test_exception_list_variant_never_gets_ba1(pcsk9: pd.DataFrame, tmp_path: Path) -> None:
    """Acceptance: an exception-list variant never gets BA1, whatever its AF. The real
    1:55505732 A>G (AF 0.97, BA1 met above) put on a user list: BA1 not applicable; the
    shipped list is replaced, not extended."""
    own = tmp_path / "ba1.tsv"
    own.write_text("# version: test list 1\ngene\thgvs_c\thgvs_p\tclinvar_id\tgrch37\tgrch38\n"
                   "PCSK9\tc.-\t.\t.\t1-55505732-A-G\t.\n")
    t = FrequencyThresholds(ba1_exceptions=str(own), ba1_af=0.0, ba1_faf=0.0)
    r = row(evaluate_frequency_evidence(pcsk9, t), 55505732, "G")
    assert r["acmg_ba1"] == "not_applicable"
    assert r["acmg_ba1_value"] == 0.970289
    assert r["acmg_ba1_reason"].startswith(
        "on the ClinGen SVI BA1 exception list (PCSK9 c.-): BA1 not applied whatever the "
        "frequency; AF_sas 0.970289 (AN 23022); grpmax FAF95 0.959635 (sas)")
    other = row(evaluate_frequency_evidence(pcsk9, t), 55505647, "T")
    assert other["acmg_ba1"] == "met"  # a threshold of 0: every other found variant


@pytest.mark.parametrize("entry", load_ba1_exceptions().entries, ids=lambda e: e.label)
@pytest.mark.parametrize("build", ["GRCh37", "GRCh38"])
def test_every_shipped_exception_is_exempt_at_any_frequency(entry: object, build: str) -> None:
    key = getattr(entry, build.lower())
    chrom, pos, ref, alt = key
    frame = pd.DataFrame({
        "chromosome": [f"chr{chrom}"], "position": [pos], "ref_allele": [ref],
        "alt_allele": [alt], "gnomad_status": ["found"],
        "gnomad_release": ["r2.1.1/exomes" if build == "GRCh37" else "v4.1/exomes"],
        "gnomad_af": [0.6], "gnomad_ac": [120_000], "gnomad_an": [200_000],
        "gnomad_af_nfe": [0.9], "gnomad_ac_nfe": [90_000], "gnomad_an_nfe": [100_000],
        "gnomad_faf95_max": [0.899], "gnomad_faf95_max_group": ["nfe"]})
    r = evaluate_frequency_evidence(frame).iloc[0]
    assert r["acmg_ba1"] == "not_applicable"
    assert "ClinGen SVI BA1 exception list" in r["acmg_ba1_reason"]
    assert r["acmg_bs1"] == "not_applicable"  # other criteria still evaluated normally


def test_chromosome_without_a_file_never_gets_pm2(pcsk9: pd.DataFrame) -> None:
    """Acceptance: a variant on a chromosome without a file (2:45895 against the chr1-only
    excerpt) never gets PM2_Supporting, even when every AF would qualify."""
    anything = FrequencyThresholds(pm2_max_af_dominant=1.0, pm2_max_af_recessive=1.0)
    for t in (FrequencyThresholds(), anything,
              FrequencyThresholds(inheritance="recessive", pm2_max_af_recessive=1.0)):
        r = row(evaluate_frequency_evidence(pcsk9, t), 45895, "G")
        assert r["gnomad_status"] == "no_data"
        assert r["acmg_pm2_supporting"] == "not_applicable"
        assert r["acmg_pm2_supporting_reason"] == (
            "no gnomAD r2.1.1/exomes data for chromosome 2: not evidence of absence")
        assert {r[f"acmg_{c}"] for c in ("ba1", "bs1", "bs2")} == {"not_applicable"}


def test_absent_allele_gets_pm2(pcsk9: pd.DataFrame) -> None:
    r = row(evaluate_frequency_evidence(pcsk9), 55516781, "T")
    assert r["gnomad_status"] == "absent"
    assert r["acmg_pm2_supporting"] == "met"
    assert r["acmg_pm2_supporting_reason"].startswith(
        "absent from gnomAD r2.1.1/exomes (its chromosome 1 file was searched")
    assert r["acmg_ba1"] == "not_met"


def test_non_pass_and_low_an_are_reported_not_decided_silently(gnomad_root: Path) -> None:
    """1:55505621 C>T is in gnomAD with AC 0 and FILTER AC0;RF: PM2 is decided on its AF
    (0) and the reason says FILTER, with a review flag; a low AN is flagged the same way."""
    frame = annotate(gnomad_root / "r2.1.1-exomes", [("1", 55505621, "C", "T"),
                                                     ("1", 55505647, "G", "T")])
    t = FrequencyThresholds(pm2_min_an=190_000, pm2_max_af_dominant=0.02)
    ev = evaluate_frequency_evidence(frame, t)
    ac0, common = ev.iloc[0], ev.iloc[1]
    assert ac0["gnomad_status"] == "found_non_pass"
    assert ac0["acmg_pm2_supporting"] == "met"
    assert ac0["acmg_pm2_supporting_reason"] == (
        "AF 0 <= 0.02 (unknown inheritance); AC 0, AN 187062; low AN 187062 (< 190000): "
        "poorly covered site, review; gnomAD FILTER AC0;RF (non-PASS record): review")
    assert ac0["acmg_review"] == "BA1;PM2_Supporting"  # BS1: no maximum credible AF set
    assert common["acmg_pm2_supporting"] == "met"  # grpmax AF 0.0150899 <= 0.02, AN 196220
    assert "low AN" not in common["acmg_pm2_supporting_reason"]


def test_bs2_by_inheritance(gnomad_root: Path) -> None:
    frame = annotate(gnomad_root / "r2.1.1-exomes", [("1", 55505647, "G", "T"),
                                                     ("X", 69902557, "G", "T"),
                                                     ("Y", 4967199, "G", "T")])
    recessive = evaluate_frequency_evidence(frame, FrequencyThresholds(inheritance="recessive"))
    assert recessive["acmg_bs2"].tolist()[0] == "met"
    assert recessive["acmg_bs2_value"].tolist()[0] == 29
    assert recessive["acmg_bs2_reason"].tolist()[0].startswith(
        "29 homozygotes (nhomalt) >= 2 (recessive inheritance); review: gnomAD individuals")
    x_linked = evaluate_frequency_evidence(frame, FrequencyThresholds(inheritance="x-linked"))
    assert x_linked["acmg_bs2"].tolist() == ["not_applicable", "not_met", "not_applicable"]
    assert x_linked["acmg_bs2_reason"].tolist()[1] == (
        "0 hemizygotes (XY/male AC outside the PARs) < 2 (x-linked inheritance)")
    dominant = evaluate_frequency_evidence(frame, FrequencyThresholds(inheritance="dominant"))
    assert dominant["acmg_bs2"].tolist() == ["met", "not_applicable", "not_applicable"]
    assert "outside the pseudo-autosomal regions" in dominant["acmg_bs2_reason"].tolist()[1]


def test_faf_is_computed_where_the_release_has_none(gnomad_root: Path) -> None:
    """r2.0.1 has no FAF fields: the grpmax FAF95 comes from the continental groups' AC/AN
    (real values of the multi-allelic record 1:905606)."""
    frame = annotate(gnomad_root / "r2.0.1-exomes", [("1", 905606, "G", "C")],
                     version="r2.0.1")
    r = evaluate_frequency_evidence(frame, FrequencyThresholds(max_credible_af=0.001)).iloc[0]
    assert r["acmg_faf_source"] == "computed"
    assert r["acmg_faf95_group"] == "eas"
    computed = filtering_af(int(r["gnomad_ac_eas"]), int(r["gnomad_an_eas"]))
    assert r["acmg_faf95"] == round(computed, 8)  # Hail's value less its float noise
    assert abs(r["acmg_faf95"] - computed) < 1e-15
    assert repr(float(r["acmg_faf95"])) == "0.00198224"
    assert r["acmg_bs1"] == "met"
    assert r["acmg_bs1_reason"] == ("grpmax FAF95 0.00198224 (eas), computed from AC/AN > "
                                    "maximum credible AF 0.001 (given)")


def test_faf_of_exomes_and_genomes_combined(gnomad_root: Path, tmp_path: Path) -> None:
    """The exomes+genomes combination has summed counts and no FAF: computed from them."""
    both = tmp_path / "both"
    both.mkdir()
    for folder in ("r2.1.1-exomes", "r2.1.1-genomes"):
        for f in (gnomad_root / folder).glob("*.1.vcf.bgz*"):
            shutil.copy2(f, both / f.name)
    annotator = open_annotator(both, version="r2.1.1", dataset="exomes,genomes",
                               max_workers=1)
    try:
        frame = pd.DataFrame({"chromosome": ["1"], "position": [55505599],
                              "ref_allele": ["C"], "alt_allele": ["G"]})
        annotated, _ = annotate_frame(annotator, frame, show_progress=False)
    finally:
        annotator.close()
    r = evaluate_frequency_evidence(annotated).iloc[0]
    assert (r["gnomad_ac_nfe"], r["gnomad_an_nfe"]) == (3, 74572 + 15428)  # 2 + 1
    assert r["acmg_faf_source"] == "computed"
    assert r["acmg_faf95"] == filtering_af(3, 90000) == pytest.approx(8.85e-06)
    assert r["acmg_faf95_group"] == "nfe"


def test_rows_index_and_columns_are_kept(pcsk9: pd.DataFrame) -> None:
    doubled = pd.concat([pcsk9, pcsk9.iloc[[0]]]).set_axis(list("abcdefg"))
    ev = evaluate_frequency_evidence(doubled, PCSK9_DOMINANT)
    assert list(ev.index) == list("abcdefg")
    assert list(ev.columns) == [*doubled.columns, *COLUMNS]
    assert ev.iloc[0]["acmg_bs1"] == ev.iloc[-1]["acmg_bs1"] == "met"
    assert ev["acmg_ba1_threshold"].tolist() == [0.05] * 7


def test_frame_without_gnomad_columns_is_an_error() -> None:
    frame = pd.DataFrame({"chromosome": ["1"], "position": [1], "ref_allele": ["A"],
                          "alt_allele": ["G"]})
    with pytest.raises(InputFormatError, match="no gnomad_status column"):
        evaluate_frequency_evidence(frame)
    frame["gnomad_status"] = ["found"]
    with pytest.raises(InputFormatError, match="cannot tell the genome build"):
        evaluate_frequency_evidence(frame)
    assert evaluate_frequency_evidence(frame, build="GRCh37").iloc[0]["acmg_ba1"] == (
        "not_applicable")


def test_evidence_evaluated_again_replaces_the_earlier_columns(pcsk9: pd.DataFrame) -> None:
    recessive = evaluate_frequency_evidence(pcsk9)
    again = evaluate_frequency_evidence(recessive, PCSK9_DOMINANT)
    assert list(again.columns) == list(recessive.columns)  # not doubled
    pd.testing.assert_frame_equal(again, evaluate_frequency_evidence(pcsk9, PCSK9_DOMINANT))
    assert row(again, 55505647, "T")["acmg_bs1"] == "met"
