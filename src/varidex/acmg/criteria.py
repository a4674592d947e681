"""BA1, BS1, PM2_Supporting and BS2 as pure functions of one variant's gnomAD values.

Each returns a :class:`CriterionResult`: met, not met or not applicable, the value and
group it used, the threshold, a one-line reason and whether a person should review it.
Nothing here reads files or frames.

A variant whose chromosome has no gnomAD data (``no_data``) is never "absent": every
criterion is then not applicable. gnomAD's FILTER is never silently trusted or dropped: a
non-PASS record's values are used and the reason says so, with a review flag.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from varidex.gnomad.keys import ABSENT, FOUND, FOUND_NON_PASS, NO_DATA, SKIPPED_STAR
from varidex.gnomad.releases import PAR

from .ba1_exceptions import Ba1Exception
from .thresholds import CONTINENTAL, DOMINANT, RECESSIVE, X_LINKED, FrequencyThresholds

MET: Final = "met"
NOT_MET: Final = "not_met"
NOT_APPLICABLE: Final = "not_applicable"

#: FAF95 values read from the release, or computed here from per-group AC and AN.
FROM_GNOMAD: Final = "gnomAD"
COMPUTED: Final = "computed"


@dataclass(frozen=True)
class GroupCounts:
    """One genetic-ancestry group's values (None: not given)."""

    af: float | None
    ac: int | None
    an: int | None


@dataclass(frozen=True)
class VariantFrequencies:
    """The canonical gnomAD values of one variant, as the annotation gives them.

    ``status`` is the ``gnomad_status`` value; ``chrom`` a canonical chromosome (``1``,
    ``X``, ``MT``), ``pos`` 1-based; frequencies are fractions; None means gnomAD gives no
    value. ``faf95``/``faf99`` are the grpmax filtering AFs and ``faf_source`` says whether
    they come from the release or were computed from per-group AC and AN.
    """

    status: str
    release: str
    build: str
    chrom: str
    pos: int | None
    af: float | None = None
    ac: int | None = None
    an: int | None = None
    nhomalt: int | None = None
    nhemi: int | None = None
    groups: Mapping[str, GroupCounts] = field(default_factory=dict)
    grpmax: str | None = None
    af_grpmax: float | None = None
    faf95: float | None = None
    faf95_group: str | None = None
    faf99: float | None = None
    faf_source: str | None = None
    filters: str | None = None

    @property
    def outside_par(self) -> bool:
        """On X or Y outside the pseudo-autosomal regions of the build."""
        if self.chrom not in ("X", "Y") or self.pos is None:
            return False
        regions = PAR.get(self.build, {}).get(self.chrom, ())
        return not any(start <= self.pos <= end for start, end in regions)


@dataclass(frozen=True)
class CriterionResult:
    """The outcome of one criterion for one variant."""

    criterion: str
    status: str
    value: float | None
    group: str | None
    threshold: float | None
    reason: str
    review: bool = False


def _g(x: float | None) -> str:
    return "NA" if x is None else f"{x:.6g}"


_SKIPPED: Final = {
    SKIPPED_STAR: "'*' allele (a deletion overlapping this site): not looked up in gnomAD",
    "skipped_symbolic": "symbolic or breakend allele: not looked up in gnomAD",
    "invalid_allele": "alleles not A/C/G/T/N, or REF equal to ALT: not looked up in gnomAD",
}


def _not_evaluable(v: VariantFrequencies) -> str | None:
    """Why no criterion can be evaluated for ``v``, or None when they can."""
    if v.status == NO_DATA:
        return (f"no gnomAD {v.release} data for chromosome {v.chrom}: not evidence of "
                "absence")
    if v.status in _SKIPPED:
        return _SKIPPED[v.status]
    if v.status not in (FOUND, FOUND_NON_PASS, ABSENT):
        return f"gnomAD lookup status {v.status!r}"
    if v.chrom == "MT":
        return ("mitochondrial variant: the nuclear ACMG/AMP frequency criteria do not apply "
                "(see ClinGen's mitochondrial specifications)")
    return None


def _filter_note(v: VariantFrequencies) -> str:
    if v.status != FOUND_NON_PASS:
        return ""
    return f"; gnomAD FILTER {v.filters or '?'} (non-PASS record): review"


def _faf_text(v: VariantFrequencies) -> str:
    if v.faf95 is None:
        return "grpmax FAF95 not available"
    group = f" ({v.faf95_group})" if v.faf95_group else ""
    how = ", computed from AC/AN" if v.faf_source == COMPUTED else ""
    return f"grpmax FAF95 {_g(v.faf95)}{group}{how}"


def ba1(v: VariantFrequencies, t: FrequencyThresholds,
        exception: Ba1Exception | None = None) -> CriterionResult:
    """BA1: AF above ``t.ba1_af`` in a continental group with AN >= ``t.ba1_min_an``, or
    grpmax FAF95 above ``t.ba1_faf``; not applied to an exception-list variant."""
    why = _not_evaluable(v)
    if why:
        return CriterionResult("BA1", NOT_APPLICABLE, None, None, t.ba1_af, why)
    if v.status == ABSENT:
        return CriterionResult("BA1", NOT_MET, None, None, t.ba1_af,
                               f"absent from gnomAD {v.release}")
    af, group, an = _continental_af(v, t.ba1_min_an)
    af_text = (f"AF_{group} {_g(af)} (AN {an})" if group is not None
               else f"no continental group with AN >= {t.ba1_min_an}")
    uncounted = _uncounted(v, t)
    if exception is not None:
        reason = (f"on the ClinGen SVI BA1 exception list ({exception.label}): BA1 not "
                  f"applied whatever the frequency; {af_text}; {_faf_text(v)}")
        return CriterionResult("BA1", NOT_APPLICABLE, af, group, t.ba1_af, reason)
    if af is None and v.faf95 is None:
        reason = f"{af_text} and {_faf_text(v)}{uncounted}{_filter_note(v)}"
        return CriterionResult("BA1", NOT_APPLICABLE, None, None, t.ba1_af, reason,
                               review=bool(uncounted))
    by_af = af is not None and af > t.ba1_af
    by_faf = v.faf95 is not None and v.faf95 > t.ba1_faf
    af_part = af_text if af is None else f"{af_text} {'>' if by_af else '<='} {_g(t.ba1_af)}"
    faf_part = (_faf_text(v) if v.faf95 is None
                else f"{_faf_text(v)} {'>' if by_faf else '<='} {_g(t.ba1_faf)}")
    status = MET if by_af or by_faf else NOT_MET
    return CriterionResult("BA1", status, af, group, t.ba1_af,
                           f"{af_part}; {faf_part}{uncounted}{_filter_note(v)}",
                           review=v.status == FOUND_NON_PASS)


def _continental_af(v: VariantFrequencies, min_an: int
                    ) -> tuple[float | None, str | None, int | None]:
    best: tuple[float | None, str | None, int | None] = (None, None, None)
    for g in CONTINENTAL:
        c = v.groups.get(g)
        if c is None or c.af is None or c.an is None or c.an < min_an:
            continue
        if best[0] is None or c.af > best[0]:
            best = (c.af, g, c.an)
    return best


def _uncounted(v: VariantFrequencies, t: FrequencyThresholds) -> str:
    """Groups above the BA1 AF that BA1 does not count, named so nobody counts them by hand."""
    notes = []
    for g, c in v.groups.items():
        if c.af is None or c.af <= t.ba1_af:
            continue
        if g not in CONTINENTAL:
            notes.append(f"AF_{g} {_g(c.af)} (not a general continental group)")
        elif c.an is None or c.an < t.ba1_min_an:
            notes.append(f"AF_{g} {_g(c.af)} (AN {c.an if c.an is not None else 'NA'} < "
                         f"{t.ba1_min_an})")
    return f"; not counted: {', '.join(notes)}" if notes else ""


def bs1(v: VariantFrequencies, t: FrequencyThresholds) -> CriterionResult:
    """BS1: grpmax FAF95 above the disorder's maximum credible allele frequency."""
    bound = t.bs1_threshold()
    limit = None if bound is None else bound[0]
    why = _not_evaluable(v)
    if why:
        return CriterionResult("BS1", NOT_APPLICABLE, None, None, limit, why)
    if bound is None:
        return CriterionResult(
            "BS1", NOT_APPLICABLE, v.faf95, v.faf95_group, None,
            "no disease-specific maximum credible AF: set max_credible_af, or prevalence with "
            "allelic heterogeneity, penetrance and inheritance")
    limit, how = bound
    if v.status == ABSENT:
        return CriterionResult("BS1", NOT_MET, 0.0, None, limit,
                               f"absent from gnomAD {v.release} (FAF95 0) <= {how}")
    if v.faf95 is None:
        return CriterionResult("BS1", NOT_APPLICABLE, None, None, limit,
                               f"{_faf_text(v)} (no per-group AC/AN){_filter_note(v)}")
    met = v.faf95 > limit
    reason = f"{_faf_text(v)} {'>' if met else '<='} {how}{_filter_note(v)}"
    return CriterionResult("BS1", MET if met else NOT_MET, v.faf95, v.faf95_group, limit,
                           reason, review=v.status == FOUND_NON_PASS)


def pm2_supporting(v: VariantFrequencies, t: FrequencyThresholds) -> CriterionResult:
    """PM2_Supporting: absent from gnomAD, or grpmax AF at or below the threshold of the
    inheritance. ``no_data`` is never absence; low AN and non-PASS records are flagged."""
    limit = t.pm2_max_af
    mode = f"{t.inheritance or 'unknown'} inheritance"
    why = _not_evaluable(v)
    if why:
        return CriterionResult("PM2_Supporting", NOT_APPLICABLE, None, None, limit, why)
    if v.status == ABSENT:
        return CriterionResult(
            "PM2_Supporting", MET, None, None, limit,
            f"absent from gnomAD {v.release} (its chromosome {v.chrom} file was searched; "
            "absence is evidence only where gnomAD covers the site)")
    if v.af_grpmax is not None:
        value, group, label = v.af_grpmax, v.grpmax, f"grpmax AF ({v.grpmax})"
    elif v.af is not None:
        value, group, label = v.af, None, "AF"
    else:
        return CriterionResult(
            "PM2_Supporting", NOT_APPLICABLE, None, None, limit,
            f"gnomAD has the site but no AF (AN {v.an if v.an is not None else 'NA'}: no "
            f"genotypes called){_filter_note(v)}", review=True)
    met = value <= limit
    notes = ""
    review = v.status == FOUND_NON_PASS
    if v.an is not None and v.an < t.pm2_min_an:
        notes += f"; low AN {v.an} (< {t.pm2_min_an}): poorly covered site, review"
        review = True
    reason = (f"{label} {_g(value)} {'<=' if met else '>'} {_g(limit)} ({mode}); "
              f"AC {v.ac if v.ac is not None else 'NA'}, AN {v.an if v.an is not None else 'NA'}"
              f"{notes}{_filter_note(v)}")
    return CriterionResult("PM2_Supporting", MET if met else NOT_MET, value, group, limit,
                           reason, review=review)


def bs2(v: VariantFrequencies, t: FrequencyThresholds) -> CriterionResult:
    """BS2: homozygotes (recessive), hemizygotes (x-linked) or heterozygotes (dominant) in
    gnomAD at or above the configured count. A met BS2 is always flagged for review."""
    why = _not_evaluable(v)
    if why:
        return CriterionResult("BS2", NOT_APPLICABLE, None, None, None, why)
    if t.inheritance is None:
        return CriterionResult(
            "BS2", NOT_APPLICABLE, None, None, None,
            "inheritance not given: BS2 counts homozygotes (recessive), hemizygotes "
            "(x-linked) or heterozygotes (dominant)")
    count: int | None
    if t.inheritance == RECESSIVE:
        limit, label, count = t.bs2_min_homozygotes, "homozygotes (nhomalt)", v.nhomalt
    elif t.inheritance == X_LINKED:
        limit, label = t.bs2_min_hemizygotes, "hemizygotes (XY/male AC outside the PARs)"
        if v.chrom != "X":
            return CriterionResult("BS2", NOT_APPLICABLE, None, None, limit,
                                   f"x-linked inheritance, but the variant is on chromosome "
                                   f"{v.chrom}")
        if not v.outside_par:
            return CriterionResult("BS2", NOT_APPLICABLE, None, None, limit,
                                   f"in a pseudo-autosomal region of X ({v.build}): no "
                                   "hemizygotes")
        count = v.nhemi
    else:
        assert t.inheritance == DOMINANT
        limit, label = t.bs2_min_heterozygotes, "heterozygotes (AC - 2 x nhomalt)"
        if v.outside_par:
            return CriterionResult("BS2", NOT_APPLICABLE, None, None, limit,
                                   f"chromosome {v.chrom} outside the pseudo-autosomal "
                                   "regions: heterozygotes cannot be told from hemizygotes; "
                                   "use x-linked inheritance for an X-linked disorder")
        count = None if v.ac is None or v.nhomalt is None else v.ac - 2 * v.nhomalt
    if v.status == ABSENT:
        return CriterionResult("BS2", NOT_MET, 0.0, None, limit,
                               f"absent from gnomAD {v.release}: no {label.split(' ')[0]}")
    if count is None:
        return CriterionResult("BS2", NOT_APPLICABLE, None, None, limit,
                               f"gnomAD {v.release} gives no {label}{_filter_note(v)}")
    met = count >= limit
    reason = (f"{count} {label} {'>=' if met else '<'} {limit} ({t.inheritance} inheritance)"
              f"{_filter_note(v)}")
    if met:
        reason += ("; review: gnomAD individuals are not screened for the disorder (age, "
                   "penetrance and phenotype unknown)")
    return CriterionResult("BS2", MET if met else NOT_MET, float(count), None, limit, reason,
                           review=met or v.status == FOUND_NON_PASS)
