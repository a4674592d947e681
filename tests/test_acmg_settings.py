"""FrequencyThresholds (defaults, validation, from a plain mapping) and the BA1 exception list
(shipped data, user files, errors naming the file and line)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import varidex.acmg as acmg
from varidex.acmg import (
    FrequencyThresholds,
    ThresholdError,
    load_ba1_exceptions,
    max_credible_af,
)
from varidex.gnomad.errors import InputFormatError, VaridexError


def test_defaults_follow_clingen_svi() -> None:
    t = FrequencyThresholds()
    assert (t.ba1_af, t.ba1_min_an, t.ba1_faf) == (0.05, 2000, 0.05)
    assert t.inheritance is None
    assert t.bs1_threshold() is None  # no disease-specific maximum credible AF
    assert t.pm2_max_af == 0.0  # absent (or AC 0) only, unless recessive


def test_max_credible_af_whiffin_2017() -> None:
    # PCSK9-like dominant disorder of the issue: 1/500 x 0.1 x 1 x 0.5 / 0.5
    t = FrequencyThresholds(inheritance="dominant", prevalence=1 / 500,
                            allelic_heterogeneity=0.1, penetrance=0.5)
    value, how = t.bs1_threshold()  # type: ignore[misc]
    assert value == pytest.approx(0.0002)
    assert how == ("maximum credible AF 0.0002 (dominant: prevalence 0.002 x allelic het. 0.1 "
                   "x genetic het. 1 x 0.5 / penetrance 0.5)")
    # recessive: sqrt(1/10000) x 0.5 x sqrt(0.5) / sqrt(0.8)
    assert max_credible_af(1e-4, 0.5, 0.5, 0.8, "recessive") == pytest.approx(
        0.01 * 0.5 * 0.5**0.5 / 0.8**0.5)
    assert FrequencyThresholds(max_credible_af=0.001).bs1_threshold() == (
        0.001, "maximum credible AF 0.001 (given)")


def test_from_dict_reads_a_config_section() -> None:
    t = FrequencyThresholds.from_dict({
        "inheritance": "Recessive", "prevalence": "1/10000", "allelic-heterogeneity": 0.5,
        "penetrance": 1, "pm2_max_af_recessive": "7e-4", "bs2_min_homozygotes": "3"})
    assert t.inheritance == "recessive"
    assert t.prevalence == 0.0001
    assert t.pm2_max_af == 0.0007
    assert t.bs2_min_homozygotes == 3
    assert FrequencyThresholds.from_dict(t.to_dict()) == t


@pytest.mark.parametrize(("settings", "message"), [
    ({"ba1_af": 5}, "ba1_af must be a fraction between 0 and 1"),
    ({"inheritance": "mitochondrial"}, "inheritance 'mitochondrial' is not one of"),
    ({"prevalence": "1/500"}, "prevalence given without allelic_heterogeneity= "
                              "(--allelic-heterogeneity) and penetrance= (--penetrance)"),
    ({"prevalence": "1/500", "allelic_heterogeneity": 0.1, "penetrance": 0.5},
     "computed for dominant or recessive inheritance, not unknown"),
    ({"inheritance": "x-linked", "prevalence": 0.001, "allelic_heterogeneity": 1,
      "penetrance": 1}, "not x-linked"),
    ({"max_credible_af": 0.001, "prevalence": 0.002, "inheritance": "dominant",
      "allelic_heterogeneity": 1, "penetrance": 1}, "either max_credible_af or prevalence"),
    ({"penetrance": 0}, "penetrance must be above 0"),
    ({"prevalence": 0, "allelic_heterogeneity": 0.1, "penetrance": 0.5,
      "inheritance": "dominant"}, "prevalence must be above 0"),  # BS1 met by any FAF > 0
    ({"prevalence": "1/500", "allelic_heterogeneity": 0, "penetrance": 0.5,
      "inheritance": "dominant"}, "allelic_heterogeneity must be above 0"),
    ({"prevalence": "1/500", "allelic_heterogeneity": 0.1, "penetrance": 0.5,
      "genetic_heterogeneity": 0, "inheritance": "dominant"},
     "genetic_heterogeneity must be above 0"),
    ({"penetrance": 0.5}, "given without prevalence"),
    ({"bs2_min_homozygotes": -1}, "whole number, 0 or more"),
    ({"bs2_min_homozygotes": 1.5}, "bs2_min_homozygotes: 1.5 is not a whole number"),
    ({"ba1_af": [0.05]}, "ba1_af: [0.05] is not a number"),
    ({"ba1_af": None}, "ba1_af must be a fraction between 0 and 1, not unset (None)"),
    ({"prevalence": "one in 500"}, "cannot read 'one in 500' as a number"),
    # Fraction() reads these as 1/500 and 0.5: not ASCII digits, refused like POS
    ({"prevalence": "\u0661/\u0665\u0660\u0660"}, "cannot read '\u0661/\u0665\u0660\u0660'"),
    ({"penetrance": "\uff10.\uff15", "prevalence": "1/500"}, "cannot read '\uff10.\uff15'"),
    ({"bs2_min_homozygotes": "\u0665"}, "bs2_min_homozygotes"),
    ({"pm2_threshold": 0.1}, "unknown ACMG setting 'pm2_threshold'; known settings: "),
])
def test_bad_settings_are_named(settings: dict[str, object], message: str) -> None:
    with pytest.raises(ThresholdError, match=re.escape(message)):
        FrequencyThresholds.from_dict(settings)
    assert issubclass(ThresholdError, VaridexError)


SHIPPED_GRCH37 = {
    ("ACAD9", "3", 128598490, "C", "CTAAG"), ("GJB2", "13", 20763612, "C", "T"),
    ("HFE", "6", 26091179, "C", "G"), ("HFE", "6", 26093141, "G", "A"),
    ("MEFV", "16", 3299586, "G", "A"), ("MEFV", "16", 3299468, "C", "T"),
    ("PIBF1", "13", 73409497, "G", "A"), ("ACADS", "12", 121175678, "C", "T"),
    ("BTD", "3", 15686693, "G", "C")}
SHIPPED_GRCH38 = {
    ("ACAD9", "3", 128879647, "C", "CTAAG"), ("GJB2", "13", 20189473, "C", "T"),
    ("HFE", "6", 26090951, "C", "G"), ("HFE", "6", 26092913, "G", "A"),
    ("MEFV", "16", 3249586, "G", "A"), ("MEFV", "16", 3249468, "C", "T"),
    ("PIBF1", "13", 72835359, "G", "A"), ("ACADS", "12", 120737875, "C", "T"),
    ("BTD", "3", 15645186, "G", "C")}


def test_shipped_list_is_the_nine_clingen_variants_in_both_builds() -> None:
    shipped = load_ba1_exceptions()
    assert shipped.version.startswith("ClinGen SVI 2018-07-30")
    assert len(shipped.entries) == 9
    assert {(e.gene, *e.grch37) for e in shipped.entries if e.grch37} == SHIPPED_GRCH37
    assert {(e.gene, *e.grch38) for e in shipped.entries if e.grch38} == SHIPPED_GRCH38
    labels = {e.label for e in shipped.entries}
    assert "HFE NM_000410.3:c.845G>A (p.Cys282Tyr), ClinVar 9" in labels
    assert "GJB2 NM_004004.5:c.109G>A (p.Val37Ile), ClinVar 17023" in labels


@pytest.mark.parametrize(("build", "chrom", "pos", "ref", "alt", "gene"), [
    ("GRCh37", "chr6", 26093141, "g", "a", "HFE"),
    ("GRCh37", "6", 26093141, "GT", "AT", "HFE"),        # non-minimal spelling
    ("GRCh38", "NC_000003.12", 128879647, "C", "CTAAG", "ACAD9"),
    ("GRCh37", "3", 128598490, "CT", "CTAAGT", "ACAD9"),  # shared trailing base
    ("GRCh38", "16", 3249468, "C", "T", "MEFV"),
])
def test_exception_lookup_normalizes(build: str, chrom: str, pos: int, ref: str, alt: str,
                                     gene: str) -> None:
    found = load_ba1_exceptions().find(build, chrom, pos, ref, alt)
    assert found is not None
    assert found.gene == gene


def test_exception_lookup_is_per_build_and_allele() -> None:
    shipped = load_ba1_exceptions()
    assert shipped.find("GRCh38", "6", 26093141, "G", "A") is None  # the GRCh37 position
    assert shipped.find("GRCh37", "6", 26093141, "G", "C") is None  # another allele
    with pytest.raises(ValueError, match="unknown genome build 'hg19'"):
        shipped.find("hg19", "6", 26093141, "G", "A")


def test_user_list_replaces_the_shipped_one(tmp_path: Path) -> None:
    own = tmp_path / "ba1.tsv"
    own.write_text("# version: lab list 3\n"
                   "gene\thgvs_c\thgvs_p\tclinvar_id\tgrch37\tgrch38\n"
                   "PCSK9\tc.137G>T\tp.Arg46Leu\t.\t1-55505647-G-T\t.\n")
    lst = load_ba1_exceptions(own)
    assert lst.version == "lab list 3"
    assert lst.find("GRCh37", "1", 55505647, "G", "T") is not None
    assert lst.find("GRCh37", "6", 26093141, "G", "A") is None  # replaced, not extended


@pytest.mark.parametrize(("text", "message"), [
    ("gene\thgvs_c\tgrch37\n", "line 1: header lacks column(s) hgvs_p, clinvar_id, grch38"),
    ("gene\thgvs_c\thgvs_p\tclinvar_id\tgrch37\tgrch38\nHFE\tc.1\t.\t9\t6:26093141\t.\n",
     "line 2: column grch37: cannot read '6:26093141' as a variant"),
    ("gene\thgvs_c\thgvs_p\tclinvar_id\tgrch37\tgrch38\nHFE\tc.1\t.\t9\t.\t.\n",
     "line 2: neither a grch37 nor a grch38 coordinate"),
    ("gene\thgvs_c\thgvs_p\tclinvar_id\tgrch37\tgrch38\nHFE c.1 . 9 6-1-G-A .\n",
     "line 2: 1 tab-separated cells, the header has 6"),
    ("gene\thgvs_c\thgvs_p\tclinvar_id\tgrch37\tgrch38\nHFE\tc.1\t.\t9\t6-1-G-G\t.\n",
     "line 2: column grch37: '6-1-G-G' does not have A/C/G/T alleles that differ"),
    ("# only comments\n", "empty BA1 exception list"),
])
def test_bad_exception_files_name_file_and_line(tmp_path: Path, text: str,
                                                message: str) -> None:
    bad = tmp_path / "bad.tsv"
    bad.write_text(text)
    with pytest.raises(InputFormatError, match=re.escape(message)
                       ) as info:
        load_ba1_exceptions(bad)
    assert str(info.value).startswith(str(bad))


def test_missing_exception_file(tmp_path: Path) -> None:
    with pytest.raises(InputFormatError, match="cannot read the BA1 exception list"):
        load_ba1_exceptions(tmp_path / "nope.tsv")


def test_public_names_sorted_and_importable() -> None:
    assert acmg.__all__ == sorted(acmg.__all__, key=lambda n: (not n.isupper(), n))
    for name in acmg.__all__:
        assert hasattr(acmg, name), name


def test_readme_states_the_code_defaults() -> None:
    readme = " ".join((Path(__file__).parents[1] / "README.md").read_text().split())
    t = FrequencyThresholds()
    for phrase in (f"AF above {t.ba1_af:g} in a general continental group",
                   f"AN of at least {t.ba1_min_an:,}", f"grpmax FAF95 above {t.ba1_faf:g}",
                   f"at or below {t.pm2_max_af_dominant:g} (dominant, x-linked or unknown",
                   f"or {t.pm2_max_af_recessive:g} (recessive)",
                   f"AN below {t.pm2_min_an:,}",
                   f"at least {t.bs2_min_homozygotes} homozygotes (recessive), "
                   f"{t.bs2_min_hemizygotes} hemizygotes (x-linked",
                   f"or {t.bs2_min_heterozygotes} heterozygotes (dominant",
                   f"`--genetic-heterogeneity` (default {t.genetic_heterogeneity:g})"):
        assert phrase in readme, phrase
