"""ACMG/AMP population-frequency evidence from gnomAD values."""

from __future__ import annotations

from .faf import exact_filtering_af, filtering_af

__all__ = ["exact_filtering_af", "filtering_af"]
