"""A prebuilt, compact columnar store of a gnomAD release: build once, annotate fast.

``varidex store build`` converts a release's sites VCFs into one Parquet file per
chromosome holding, sorted by key, the minimal alleles and the chosen canonical fields
(:mod:`.layout`); :class:`StoreAnnotator` answers lookups from it with the same results as
the VCF path (:mod:`.reader`).
"""

from __future__ import annotations

from .annotator import StoreAnnotator
from .build import build_store
from .layout import StoreMeta, describe, select_fields
from .reader import Store, open_store

__all__ = ["Store", "StoreAnnotator", "StoreMeta", "build_store", "describe", "open_store",
           "select_fields"]
