"""gnomAD's filtering allele frequencies recomputed from AC and AN, for every FAF field of
every record of the real gnomAD excerpts in tests/data (r2.1.1, v3.1.1, v3.1.2, v4.0).

gnomAD prints FAFs with six significant digits (Java's %.6g); a computed value is compared
after the same rounding, then to a relative difference of 1e-6.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from varidex.acmg.faf import (
    exact_filtering_af,
    filtering_af,
    hail_poisson_quantile,
    poisson_quantile,
)

DATA = Path(__file__).parent / "data"
PACKAGE_DATA = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data"
FAF_KEY = re.compile(r"^(?P<prefix>.*?)faf(?P<ci>95|99)(?P<suffix>.*)$")
#: v3/v4 maximum-FAF fields and the per-group fields they maximise (continental groups)
MAX_FIELDS = {"faf95_popmax": "faf95", "fafmax_faf95_max": "faf95",
              "fafmax_faf99_max": "faf99"}
CONTINENTAL = ("afr", "amr", "eas", "nfe", "sas")
NONZERO_V3_V4 = 524
MAX_FIELDS_CHECKED = 84

V3_V4 = {
    "v3.1.1-genomes/gnomad.genomes.v3.1.1.sites.chr1.vcf.gz": (3, 36),
    "v3.1.1-genomes/gnomad.genomes.v3.1.1.sites.chr2.vcf.gz": (3, 36),
    "v3.1.2-genomes/gnomad.genomes.v3.1.2.sites.chr1.vcf.gz": (6, 72),
    "v4.0-exomes/gnomad.exomes.v4.0.sites.chr1.vcf.bgz": (101, 3636),
    "v4.0-genomes/gnomad.genomes.v4.0.sites.chr1.vcf.bgz": (22, 528),
}
R211 = {
    PACKAGE_DATA / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz": (293, 17580),
    DATA / "gnomad/r2.1.1-exomes/gnomad.exomes.r2.1.1.sites.X.vcf.bgz": (1, 24),
    DATA / "gnomad/r2.1.1-exomes/gnomad.exomes.r2.1.1.sites.Y.vcf.bgz": (1, 24),
    DATA / "gnomad/r2.1.1-genomes/gnomad.genomes.r2.1.1.sites.1.vcf.bgz": (1, 40),
    DATA / "gnomad/r2.1.1-genomes/gnomad.genomes.r2.1.1.sites.X.vcf.bgz": (1, 20),
    DATA / "gnomad/r2.1.1-liftover/gnomad.exomes.r2.1.1.sites.1.liftover_grch38.vcf.gz":
        (3, 180),
    DATA / "faf/gnomad-exomes.r2.1.1.grch37.example.vcf.gz": (6, 288),
    DATA / "faf/gnomad-genomes.r2.1.1.grch37.example.vcf.gz": (3, 100),
}


@dataclass(frozen=True)
class FafField:
    """One FAF value of a record with the AC and AN it was computed from."""

    file: str
    record: str  # CHROM:POS:REF:ALT
    key: str
    ci: float
    ac: int
    an: int
    text: str  # the value as the VCF prints it

    @property
    def value(self) -> float:
        return float(self.text)


def records(path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    with gzip.open(path, "rt") as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            chrom, pos, _, ref, alt, _, _, info = line.rstrip("\n").split("\t")[:8]
            assert "," not in alt, "the excerpts tested here are bi-allelic"
            fields = dict(kv.split("=", 1) for kv in info.split(";") if "=" in kv)
            yield f"{chrom}:{pos}:{ref}:{alt}", fields


def faf_fields(path: Path) -> Iterator[FafField]:
    """Every ``[prefix]faf95|99[suffix]`` field with its ``[prefix]AC[suffix]`` and
    ``[prefix]AN[suffix]`` (``faf95_afr_XX`` with ``AC_afr_XX``, ``controls_faf95_nfe``
    with ``controls_AC_nfe``, ``faf95_joint_sas`` with ``AC_joint_sas``)."""
    for record, info in records(path):
        for key, text in info.items():
            m = FAF_KEY.match(key)
            if m is None or key.startswith(("fafmax_", "faf95_popmax")) or text == ".":
                continue  # maxima over groups: test_max_faf_fields_*
            ac_key = f"{m['prefix']}AC{m['suffix']}"
            an_key = f"{m['prefix']}AN{m['suffix']}"
            assert ac_key in info, f"{path.name} {record}: {key} has no {ac_key}"
            assert an_key in info, f"{path.name} {record}: {key} has no {an_key}"
            yield FafField(path.name, record, key, 0.95 if m["ci"] == "95" else 0.99,
                           int(info[ac_key]), int(info[an_key]), text)


def printed(x: float) -> float:
    """``x`` as gnomAD's VCF prints it: Java's %.6g, half-up on the shortest digits."""
    if x == 0:
        return 0.0
    d = Decimal(repr(x))
    return float(d.quantize(Decimal(1).scaleb(d.adjusted() - 5), rounding=ROUND_HALF_UP))


def relative_difference(computed: float, expected: float) -> float:
    if expected == 0:
        return abs(computed)
    return abs(printed(computed) - expected) / abs(expected)


@pytest.mark.parametrize("name", sorted(V3_V4))
def test_every_v3_v4_faf_is_reproduced(name: str) -> None:
    """v3.1.1, v3.1.2 and v4.0: every FAF field of every record (each group, XX/XY,
    joint, non_ukb), 95% and 99%, to a relative difference <= 1e-6 of the printed value."""
    path = DATA / "gnomad" / name
    n_records, n_fields = V3_V4[name]
    fields = list(faf_fields(path))
    assert len({f.record for f in fields}) == n_records == sum(1 for _ in records(path))
    assert len(fields) == n_fields
    for f in fields:
        assert relative_difference(filtering_af(f.ac, f.an, f.ci), f.value) <= 1e-6, f


def test_v3_v4_fields_include_real_values() -> None:
    """The check above is not only about zeros: how many fields have AC >= 2 and FAF > 0."""
    fields = [f for name in V3_V4 for f in faf_fields(DATA / "gnomad" / name)]
    assert sum(f.ac >= 2 for f in fields) == NONZERO_V3_V4
    assert sum(f.value > 0 for f in fields) == NONZERO_V3_V4


def test_max_faf_fields_are_the_continental_maximum() -> None:
    """faf95_popmax (v3) and fafmax_faf95_max/faf99_max (v4): the largest computed FAF of
    the continental groups afr, amr, eas, nfe, sas (v4 also names the group)."""
    checked = 0
    for name in V3_V4:
        for record, info in records(DATA / "gnomad" / name):
            for key, per_group in MAX_FIELDS.items():
                if key not in info or info[key] == ".":
                    continue
                ci = 0.95 if per_group == "faf95" else 0.99
                fafs = {g: filtering_af(int(info[f"AC_{g}"]), int(info[f"AN_{g}"]), ci)
                        for g in CONTINENTAL if f"AN_{g}" in info}
                best = max(fafs, key=lambda g: fafs[g])
                assert relative_difference(fafs[best], float(info[key])) <= 1e-6, (record, key)
                group_key = f"{key}_gen_anc"
                if fafs[best] > 0 and group_key in info:
                    assert info[group_key] == best, (record, key)
                checked += 1
    assert checked == MAX_FIELDS_CHECKED


def test_known_v4_value() -> None:
    # v4.0 exomes chr1:55039894 G>C: AC_afr 5, AN_afr 32576 -> faf95_afr 5.98000e-05,
    # faf99_afr 3.84500e-05 (the closed-form bound would be 6.04786e-05)
    assert printed(filtering_af(5, 32576, 0.95)) == 5.98e-05
    assert printed(filtering_af(5, 32576, 0.99)) == 3.845e-05
    assert printed(exact_filtering_af(5, 32576)) == 6.04786e-05


def test_every_r211_faf_is_reproduced() -> None:
    """r2.1.1: every FAF field of every record, to a relative difference <= 1e-6 of the
    printed value. gnomAD computed these with Hail versions of 2018 whose last step used the
    95% quantile for faf99 too (``stop_confidence=0.95``) and which, in some fields, did not
    zero singletons (46 singleton fields hold that value, the other 2,764 hold 0)."""
    singletons_legacy = singletons_zero = total = 0
    for path, (n_records, n_fields) in R211.items():
        fields = list(faf_fields(path))
        assert len({f.record for f in fields}) == n_records == sum(1 for _ in records(path))
        assert len(fields) == n_fields, path.name
        for f in fields:
            total += 1
            if f.ac == 1 and f.value != 0:
                legacy = filtering_af(f.ac, f.an, f.ci, stop_confidence=0.95, singletons=True)
                assert relative_difference(legacy, f.value) <= 1e-6, f
                singletons_legacy += 1
                continue
            singletons_zero += f.ac == 1
            ours = filtering_af(f.ac, f.an, f.ci, stop_confidence=0.95)
            assert relative_difference(ours, f.value) <= 1e-6, f
    assert total == sum(n for _, n in R211.values()) == 18256
    assert (singletons_legacy, singletons_zero) == (46, 2764)


@pytest.mark.parametrize(("ac", "an", "ci", "faf"), [
    # r2.1.1 exomes 1:55505647 G>T (PCSK9 rs11591147), faf95_nfe / faf99_nfe
    (1270, 84162, 0.95, 1.44002e-02), (1270, 84162, 0.99, 1.44000e-02),
    # r2.1.1 exomes 1:55505732 A>G, faf95 / faf99 (AN * AF near 146,600: above 1e5)
    (147203, 158652, 0.95, 9.23855e-01), (147203, 158652, 0.99, 9.23854e-01),
    # r2.1.1 exomes 1:55516888 G>GA, controls_faf95 / controls_faf99
    (63, 52738, 0.95, 9.57320e-04), (63, 52738, 0.99, 9.58240e-04),
    # r2.1.1 exomes 1:55509692 C>T, non_neuro_faf95_nfe
    (11, 89490, 0.95, 6.87700e-05),
])
def test_r211_values_that_need_hails_quantile_search(ac: int, an: int, ci: float,
                                                     faf: float) -> None:
    """Values that come out a grid or quantile step elsewhere if the Poisson quantile is the
    exact one: Hail's root search starts with the quantile at AN * 2 (above 1e5 here), where
    Hail's quantile search can end one above the exact quantile."""
    assert printed(filtering_af(ac, an, ci, stop_confidence=0.95)) == faf


@pytest.mark.parametrize(("ac", "an"), [(2, 74572), (3, 76200), (7, 113096), (40, 5000),
                                        (990, 66976), (5, 32576), (147203, 158652)])
def test_faf_is_the_closed_form_bound_on_a_1e6_grid(ac: int, an: int) -> None:
    """Hail's procedure stops on the first 1e-6 grid point at which AC is no longer within
    the bound and steps back: its value is at most 1e-6 below the exact bound, and where
    AN * AF is above 1e5 (Hail's quantile may be one too high there) at most one more
    quantile step (1 / AN) below."""
    for ci in (0.95, 0.99):
        ours, exact = filtering_af(ac, an, ci), exact_filtering_af(ac, an, ci)
        if an * exact < 1e5:
            assert exact - 1e-6 <= ours < exact
        else:
            assert exact - 1e-6 - 1 / an <= ours < exact


def test_singletons_and_empty_sites_are_zero() -> None:
    assert filtering_af(0, 0) == filtering_af(1, 5518) == filtering_af(0, 100) == 0.0
    # a 2018 Hail gave singletons a value (gnomAD r2.1.1 genomes controls_faf95_nfe)
    assert filtering_af(1, 5518, singletons=True) == pytest.approx(9e-06)


def test_bad_counts_are_errors() -> None:
    with pytest.raises(ValueError, match="above the allele number"):
        filtering_af(5, 4)
    with pytest.raises(ValueError, match="negative"):
        filtering_af(-1, 4)


@pytest.mark.parametrize(("p", "lam", "k"), [(0.95, 0.0513, 1), (0.95, 0.0512, 0),
                                             (0.95, 1211.96, 1270), (0.99, 146600.0, 147491)])
def test_poisson_quantile(p: float, lam: float, k: int) -> None:
    from scipy.stats import poisson

    assert poisson_quantile(p, lam) == k == int(poisson.ppf(p, lam))


@pytest.mark.parametrize(("p", "lam", "k", "exact"), [
    (0.95, 1211.96, 1270, 1270), (0.99, 99999.0, 100735, 100735),  # below 1e5: exact
    (0.99, 146600.0, 147492, 147491),  # from 1e5 on, a start that reaches p: start + 1
    (0.95, 168324.0, 169000, 168999),  # AN * 2 of faf95_nfe AC=1270 AN=84162 (r2.1.1)
    (0.99, 198975.0, 200013, 200013),  # a start below p: the exact quantile
])
def test_hail_poisson_quantile(p: float, lam: float, k: int, exact: int) -> None:
    from scipy.stats import poisson

    assert int(poisson.ppf(p, lam)) == poisson_quantile(p, lam) == exact
    assert hail_poisson_quantile(p, lam) == k
