"""The numbers behind the population criteria, as one validated, documented configuration.

Defaults follow the ClinGen Sequence Variant Interpretation (SVI) working group where it
gives a number, and are marked as varidex's own where it does not:

- BA1 (Ghosh et al. 2018, Hum Mutat 39:1525, PMID 30311383): allele frequency above 0.05
  in any general continental group (afr, amr, eas, nfe, sas) with at least 2,000 observed
  alleles; varidex also reports (and applies) the grpmax filtering AF (FAF95) against the
  same 0.05.
- BS1 (Whiffin et al. 2017, Genet Med 19:1151, PMID 28518168): grpmax FAF95 above the
  disease's maximum credible allele frequency, given directly or computed from
  prevalence, allelic and genetic heterogeneity, penetrance and inheritance.
- PM2_Supporting (ClinGen SVI recommendation for PM2, v1.0, 2020): absent from gnomAD.
  The SVI gives no general frequency for "extremely low" in recessive disorders; varidex's
  default (0.0001) is a placeholder to be set per disease.
- BS2: the SVI gives no general counts; varidex's defaults (2 homozygotes, 2 hemizygotes,
  3 heterozygotes) are placeholders to be set per disease, and a met BS2 is always flagged
  for review (gnomAD individuals are not screened for the disorder).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from fractions import Fraction
from typing import Any, Final

from varidex.gnomad.errors import VaridexError

DOMINANT: Final = "dominant"
RECESSIVE: Final = "recessive"
X_LINKED: Final = "x-linked"
INHERITANCE: Final = (DOMINANT, RECESSIVE, X_LINKED)

#: General continental groups: BA1 looks at these only (not the founder or mixed groups
#: asj, fin, oth/remaining, ami, mid).
CONTINENTAL: Final = ("afr", "amr", "eas", "nfe", "sas")


class ThresholdError(VaridexError):
    """A population-criteria setting that is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class FrequencyThresholds:
    """Settings of the ACMG/AMP population criteria (BA1, BS1, PM2_Supporting, BS2).

    Frequencies are fractions (0.05, not 5%). Build one from keywords or from a plain
    mapping with :meth:`from_dict` (a configuration file section)::

        FrequencyThresholds(inheritance="dominant", prevalence=1 / 500,
                            allelic_heterogeneity=0.1, penetrance=0.5)
        FrequencyThresholds.from_dict({"inheritance": "recessive", "prevalence": "1/10000",
                                       "allelic_heterogeneity": 0.5, "penetrance": 1})
    """

    #: Mode of inheritance of the disorder: "dominant", "recessive", "x-linked" or None
    #: (unknown: BS2 is not applicable and PM2 uses the dominant threshold).
    inheritance: str | None = None
    #: BA1: allele frequency above this in any continental group ...
    ba1_af: float = 0.05
    #: ... whose allele number is at least this.
    ba1_min_an: int = 2000
    #: BA1: grpmax FAF95 above this.
    ba1_faf: float = 0.05
    #: BS1: the disorder's maximum credible allele frequency, given directly ...
    max_credible_af: float | None = None
    #: ... or computed (Whiffin et al. 2017) from the prevalence (a fraction: 1/500) ...
    prevalence: float | None = None
    #: ... the largest share of cases one variant explains ...
    allelic_heterogeneity: float | None = None
    #: ... the largest share of cases this gene explains ...
    genetic_heterogeneity: float = 1.0
    #: ... and the penetrance.
    penetrance: float | None = None
    #: PM2_Supporting: grpmax AF at or below this for dominant, x-linked or unknown
    #: inheritance (0: absent, or present with AC 0, only) ...
    pm2_max_af_dominant: float = 0.0
    #: ... and for recessive inheritance.
    pm2_max_af_recessive: float = 0.0001
    #: PM2_Supporting: an allele number below this is reported as low coverage.
    pm2_min_an: int = 2000
    #: BS2: at least this many homozygotes (recessive) ...
    bs2_min_homozygotes: int = 2
    #: ... hemizygotes (x-linked) ...
    bs2_min_hemizygotes: int = 2
    #: ... or heterozygotes (dominant).
    bs2_min_heterozygotes: int = 3
    #: A file replacing the shipped ClinGen BA1 exception list (same columns); None: the
    #: shipped list.
    ba1_exceptions: str | None = None

    def __post_init__(self) -> None:
        if self.inheritance is not None and self.inheritance not in INHERITANCE:
            msg = (f"inheritance {self.inheritance!r} is not one of "
                   f"{', '.join(INHERITANCE)} (or leave it unset)")
            raise ThresholdError(msg)
        for name in ("ba1_af", "ba1_faf", "pm2_max_af_dominant", "pm2_max_af_recessive",
                     "genetic_heterogeneity"):
            if getattr(self, name) is None:
                msg = f"{name} must be a fraction between 0 and 1, not unset (None)"
                raise ThresholdError(msg)
        for name in ("ba1_af", "ba1_faf", "pm2_max_af_dominant", "pm2_max_af_recessive",
                     "max_credible_af", "prevalence", "allelic_heterogeneity",
                     "genetic_heterogeneity"):
            _fraction(name, getattr(self, name))
        for name in ("penetrance", "prevalence", "allelic_heterogeneity",
                     "genetic_heterogeneity"):
            value = getattr(self, name)  # 0 would make every observed allele "too common"
            if value is not None and not 0.0 < value <= 1.0:
                msg = f"{name} must be above 0 and at most 1, not {value}"
                raise ThresholdError(msg)
        for name in ("ba1_min_an", "pm2_min_an", "bs2_min_homozygotes", "bs2_min_hemizygotes",
                     "bs2_min_heterozygotes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                msg = f"{name} must be a whole number, 0 or more, not {value!r}"
                raise ThresholdError(msg)
        self._check_bs1()

    def _check_bs1(self) -> None:
        parts = {"allelic_heterogeneity": self.allelic_heterogeneity,
                 "penetrance": self.penetrance}
        if self.max_credible_af is not None and self.prevalence is not None:
            msg = ("give either max_credible_af or prevalence (with allelic_heterogeneity, "
                   "penetrance and inheritance), not both")
            raise ThresholdError(msg)
        if self.prevalence is None:
            given = [k for k, v in parts.items() if v is not None]
            if given and self.max_credible_af is None:
                msg = (f"{', '.join(given)} given without prevalence: the maximum credible AF "
                       "needs the prevalence too")
                raise ThresholdError(msg)
            return
        missing = [k for k, v in parts.items() if v is None]
        if missing:
            flags = " and ".join(f"{m}= (--{m.replace('_', '-')})" for m in missing)
            msg = (f"prevalence given without {flags}: the maximum credible AF (Whiffin et "
                   "al. 2017) needs prevalence, allelic heterogeneity, penetrance and "
                   "inheritance (genetic heterogeneity defaults to 1)")
            raise ThresholdError(msg)
        if self.inheritance not in (DOMINANT, RECESSIVE):
            msg = (f"the maximum credible AF is computed for dominant or recessive "
                   f"inheritance, not {self.inheritance or 'unknown'}; set inheritance, or "
                   "give max_credible_af directly")
            raise ThresholdError(msg)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> FrequencyThresholds:
        """Settings from a plain mapping (a configuration section): keys are the field
        names (``-`` may replace ``_``); fractions may be written ``"1/500"``.

        >>> FrequencyThresholds.from_dict({"max-credible-af": "1/5000"}).max_credible_af
        0.0002
        """
        known = {f.name: f for f in fields(cls)}
        kwargs: dict[str, Any] = {}
        for raw_key, value in values.items():
            key = str(raw_key).strip().replace("-", "_")
            if key not in known:
                msg = (f"unknown ACMG setting {raw_key!r}; known settings: "
                       f"{', '.join(sorted(known))}")
                raise ThresholdError(msg)
            kwargs[key] = _convert(key, value, str(known[key].type))
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The settings as a plain mapping (:meth:`from_dict` reads it back)."""
        return asdict(self)

    @property
    def pm2_max_af(self) -> float:
        """The PM2_Supporting threshold for this inheritance."""
        if self.inheritance == RECESSIVE:
            return self.pm2_max_af_recessive
        return self.pm2_max_af_dominant

    def bs1_threshold(self) -> tuple[float, str] | None:
        """The maximum credible AF and how it was obtained, or None when not set."""
        if self.max_credible_af is not None:
            return self.max_credible_af, f"maximum credible AF {_g(self.max_credible_af)} (given)"
        if self.prevalence is None:
            return None
        assert self.allelic_heterogeneity is not None  # checked in __post_init__
        assert self.penetrance is not None
        assert self.inheritance is not None
        value = max_credible_af(self.prevalence, self.allelic_heterogeneity,
                                self.genetic_heterogeneity, self.penetrance, self.inheritance)
        p, a, g, pen = (_g(x) for x in (self.prevalence, self.allelic_heterogeneity,
                                        self.genetic_heterogeneity, self.penetrance))
        if self.inheritance == DOMINANT:
            how = (f"prevalence {p} x allelic het. {a} x genetic het. {g} x 0.5 / "
                   f"penetrance {pen}")
        else:
            how = (f"sqrt(prevalence {p}) x allelic het. {a} x sqrt(genetic het. {g}) / "
                   f"sqrt(penetrance {pen})")
        return value, f"maximum credible AF {_g(value)} ({self.inheritance}: {how})"

    def describe(self) -> str:
        """The settings that decide the criteria, on one line (for logs and reports)."""
        bound = self.bs1_threshold()
        bs1 = bound[1] if bound else "BS1 not set (no maximum credible AF)"
        return (f"inheritance {self.inheritance or 'unknown'}; BA1 AF > {_g(self.ba1_af)} "
                f"(continental AN >= {self.ba1_min_an}) or FAF95 > {_g(self.ba1_faf)}; "
                f"BS1 {bs1}; PM2_Supporting grpmax AF <= {_g(self.pm2_max_af)}; BS2 >= "
                f"{self.bs2_min_homozygotes} hom / {self.bs2_min_hemizygotes} hemi / "
                f"{self.bs2_min_heterozygotes} het")


def max_credible_af(prevalence: float, allelic_heterogeneity: float,
                    genetic_heterogeneity: float, penetrance: float, inheritance: str) -> float:
    """The maximum credible population allele frequency of a disorder (Whiffin et al. 2017).

    Dominant: ``prevalence x allelic x genetic x 0.5 / penetrance``; recessive:
    ``sqrt(prevalence) x allelic x sqrt(genetic) / sqrt(penetrance)``.

    >>> max_credible_af(1 / 500, 0.1, 1.0, 0.5, "dominant")
    0.0002
    >>> round(max_credible_af(1 / 10_000, 0.5, 1.0, 1.0, "recessive"), 10)
    0.005
    """
    if inheritance == DOMINANT:
        return prevalence * allelic_heterogeneity * genetic_heterogeneity * 0.5 / penetrance
    if inheritance == RECESSIVE:
        return (math.sqrt(prevalence) * allelic_heterogeneity * math.sqrt(genetic_heterogeneity)
                / math.sqrt(penetrance))
    msg = f"no maximum credible AF formula for {inheritance!r} inheritance"
    raise ThresholdError(msg)


def _g(x: float) -> str:
    return f"{x:.6g}"


def _fraction(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        msg = f"{name} must be a fraction between 0 and 1 (0.05, not 5), not {value!r}"
        raise ThresholdError(msg)


def parse_fraction(text: str, *, name: str = "value") -> float:
    """A number written as ``0.002``, ``2e-3`` or ``1/500``.

    >>> parse_fraction("1/500"), parse_fraction("0.05")
    (0.002, 0.05)
    """
    try:
        if not text.isascii():  # Fraction() reads Arabic-Indic and fullwidth digits too
            raise ValueError(text)
        return float(Fraction(text.strip().replace(" ", "")))
    except (ValueError, ZeroDivisionError):
        msg = f"{name}: cannot read {text!r} as a number; write 0.002, 2e-3 or 1/500"
        raise ThresholdError(msg) from None


def _convert(key: str, value: Any, kind: str) -> Any:
    if value is None:
        return None
    if "float" in kind:
        if isinstance(value, str):
            return parse_fraction(value, name=key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    elif "int" in kind:
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
    elif isinstance(value, str):
        return value.strip().lower() if key == "inheritance" else value
    wanted = ("a number (0.002, 2e-3 or 1/500)" if "float" in kind
              else "a whole number" if "int" in kind else "text")
    msg = f"ACMG setting {key}: {value!r} is not {wanted}"
    raise ThresholdError(msg)
