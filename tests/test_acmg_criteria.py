"""The criteria as pure functions: boundaries and the cases real excerpts do not hold
(founder groups above 5%, low-AN groups, pseudo-autosomal regions, mitochondria)."""

from __future__ import annotations

import pytest

from varidex.acmg import (
    FrequencyThresholds,
    GroupCounts,
    VariantFrequencies,
    ba1,
    bs1,
    bs2,
    pm2_supporting,
)


def variant(**values: object) -> VariantFrequencies:
    base: dict[str, object] = {"status": "found", "release": "r2.1.1/exomes", "build": "GRCh37",
                               "chrom": "1", "pos": 1000}
    base.update(values)
    return VariantFrequencies(**base)  # type: ignore[arg-type]


def groups(**counts: tuple[float, int, int]) -> dict[str, GroupCounts]:
    return {g: GroupCounts(*c) for g, c in counts.items()}


def test_ba1_ignores_founder_groups_and_low_an_groups() -> None:
    v = variant(groups=groups(fin=(0.2, 4000, 20000), asj=(0.09, 900, 10000),
                              sas=(0.08, 120, 1500), nfe=(0.01, 1000, 100000)),
                faf95=0.0095, faf95_group="nfe")
    r = ba1(v, FrequencyThresholds())
    assert (r.status, r.value, r.group) == ("not_met", 0.01, "nfe")
    assert r.reason == ("AF_nfe 0.01 (AN 100000) <= 0.05; grpmax FAF95 0.0095 (nfe) <= 0.05; "
                        "not counted: AF_fin 0.2 (not a general continental group), AF_asj "
                        "0.09 (not a general continental group), AF_sas 0.08 (AN 1500 < 2000)")


@pytest.mark.parametrize(("af", "an", "faf", "status"), [
    (0.05, 2000, 0.04, "not_met"),      # AF must be above 0.05
    (0.0501, 2000, 0.04, "met"),        # AN 2000 is enough
    (0.0501, 1999, 0.04, "not_met"),    # ... 1999 is not
    (0.04, 100000, 0.0501, "met"),      # grpmax FAF95 alone
])
def test_ba1_boundaries(af: float, an: int, faf: float, status: str) -> None:
    v = variant(groups=groups(afr=(af, round(af * an), an)), faf95=faf, faf95_group="afr")
    assert ba1(v, FrequencyThresholds()).status == status


def test_ba1_without_any_usable_value() -> None:
    v = variant(groups=groups(sas=(0.3, 30, 100)))
    r = ba1(v, FrequencyThresholds())
    assert r.status == "not_applicable"
    assert r.reason == ("no continental group with AN >= 2000 and grpmax FAF95 not available; "
                        "not counted: AF_sas 0.3 (AN 100 < 2000)")
    assert r.review


@pytest.mark.parametrize(("faf", "status"), [(0.0002, "not_met"), (0.00020001, "met")])
def test_bs1_boundary(faf: float, status: str) -> None:
    r = bs1(variant(faf95=faf, faf95_group="nfe"), FrequencyThresholds(max_credible_af=0.0002))
    assert r.status == status


@pytest.mark.parametrize(("inheritance", "af", "status", "limit"), [
    (None, 0.0, "met", 0.0), (None, 1e-6, "not_met", 0.0),
    ("dominant", 0.0, "met", 0.0), ("x-linked", 1e-6, "not_met", 0.0),
    ("recessive", 0.0001, "met", 0.0001), ("recessive", 0.00011, "not_met", 0.0001),
])
def test_pm2_threshold_by_inheritance(inheritance: str | None, af: float, status: str,
                                      limit: float) -> None:
    v = variant(af=af, ac=1, an=100000, af_grpmax=af, grpmax="nfe")
    r = pm2_supporting(v, FrequencyThresholds(inheritance=inheritance))
    assert (r.status, r.threshold) == (status, limit)


def test_pm2_present_without_af() -> None:
    r = pm2_supporting(variant(ac=0, an=0), FrequencyThresholds())
    assert r.status == "not_applicable"
    assert r.reason.startswith("gnomAD has the site but no AF (AN 0")


@pytest.mark.parametrize(("inheritance", "kwargs", "status", "value"), [
    ("recessive", {"nhomalt": 2, "ac": 10}, "met", 2.0),
    ("recessive", {"nhomalt": 1, "ac": 10}, "not_met", 1.0),
    ("dominant", {"nhomalt": 0, "ac": 3}, "met", 3.0),
    ("dominant", {"nhomalt": 1, "ac": 4}, "not_met", 2.0),
    ("x-linked", {"chrom": "X", "pos": 69902557, "nhemi": 2}, "met", 2.0),
    ("x-linked", {"chrom": "X", "pos": 100000, "nhemi": 5}, "not_applicable", None),  # PAR1
    ("x-linked", {"chrom": "7", "nhemi": 5}, "not_applicable", None),
    ("dominant", {"chrom": "X", "pos": 69902557, "ac": 9, "nhomalt": 0}, "not_applicable",
     None),
    ("dominant", {"chrom": "X", "pos": 100000, "ac": 9, "nhomalt": 0}, "met", 9.0),  # PAR1
])
def test_bs2_counts(inheritance: str, kwargs: dict[str, object], status: str,
                    value: float | None) -> None:
    r = bs2(variant(**kwargs), FrequencyThresholds(inheritance=inheritance))
    assert (r.status, r.value) == (status, value)
    assert r.review == (status == "met")


def test_par_depends_on_the_build() -> None:
    # X:2,700,000 is in PAR1 on GRCh38 (to 2,781,479) but not on GRCh37 (to 2,699,520)
    assert not variant(chrom="X", pos=2_700_000, build="GRCh38").outside_par
    assert variant(chrom="X", pos=2_700_000, build="GRCh37").outside_par


@pytest.mark.parametrize(("status", "chrom", "reason"), [
    ("found", "MT", "mitochondrial variant: the nuclear ACMG/AMP frequency criteria do not "
                    "apply"),
    ("skipped_star", "1", "'*' allele"),
    ("skipped_symbolic", "1", "symbolic or breakend allele"),
    ("invalid_allele", "1", "alleles not A/C/G/T/N"),
    ("no_data", "2", "no gnomAD r2.1.1/exomes data for chromosome 2: not evidence of absence"),
])
def test_nothing_is_decided_without_a_lookup(status: str, chrom: str, reason: str) -> None:
    t = FrequencyThresholds(inheritance="recessive", max_credible_af=0.001,
                            pm2_max_af_recessive=1.0)
    v = variant(status=status, chrom=chrom, af=0.0, ac=0, an=1000, af_grpmax=0.0)
    for criterion in (ba1(v, t), bs1(v, t), pm2_supporting(v, t), bs2(v, t)):
        assert criterion.status == "not_applicable"
        assert criterion.reason.startswith(reason)
