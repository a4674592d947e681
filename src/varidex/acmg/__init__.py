"""ACMG/AMP population-frequency evidence (BA1, BS1, PM2_Supporting, BS2) from gnomAD values.

Pure criteria over canonical values (:mod:`.criteria`), their settings
(:class:`FrequencyThresholds`), the ClinGen BA1 exception list (:mod:`.ba1_exceptions`),
gnomAD's filtering allele frequency (:mod:`.faf`) and the frame step that adds the
``acmg_*`` columns (:func:`evaluate_frequency_evidence`).
"""

from __future__ import annotations

from .ba1_exceptions import Ba1Exception, Ba1ExceptionList, load_ba1_exceptions
from .criteria import (
    MET,
    NOT_APPLICABLE,
    NOT_MET,
    CriterionResult,
    GroupCounts,
    VariantFrequencies,
    ba1,
    bs1,
    bs2,
    pm2_supporting,
)
from .evidence import COLUMNS, evaluate_frequency_evidence
from .faf import exact_filtering_af, filtering_af
from .thresholds import FrequencyThresholds, ThresholdError, max_credible_af

__all__ = [
    "COLUMNS",
    "MET",
    "NOT_APPLICABLE",
    "NOT_MET",
    "Ba1Exception",
    "Ba1ExceptionList",
    "CriterionResult",
    "FrequencyThresholds",
    "GroupCounts",
    "ThresholdError",
    "VariantFrequencies",
    "ba1",
    "bs1",
    "bs2",
    "evaluate_frequency_evidence",
    "exact_filtering_af",
    "filtering_af",
    "load_ba1_exceptions",
    "max_credible_af",
    "pm2_supporting",
]
