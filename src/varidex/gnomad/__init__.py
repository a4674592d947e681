"""The varidex gnomAD engine: releases as data, a chunked tabix sweep, results by row, and
a prebuilt columnar store."""

from __future__ import annotations

from .annotate import Annotator, LookupResult, result_frame
from .contigs import normalize_chrom
from .discovery import ReleaseFiles, build_index, discover
from .errors import (
    ClusterError,
    ConfigError,
    GnomADError,
    GnomADFileError,
    InputFormatError,
    MissingDependencyError,
    MissingIndexError,
    ReleaseSchemaError,
    RemoteFileError,
    StoreError,
    VaridexError,
    WorkerError,
)
from .keys import VariantKey, normalize_variant, trim_alleles
from .releases import RELEASES, GnomADRelease, detect_release, get_release
from .store import StoreAnnotator, build_store, open_store

__all__ = [
    "RELEASES",
    "Annotator",
    "ClusterError",
    "ConfigError",
    "GnomADError",
    "GnomADFileError",
    "GnomADRelease",
    "InputFormatError",
    "LookupResult",
    "MissingDependencyError",
    "MissingIndexError",
    "ReleaseFiles",
    "ReleaseSchemaError",
    "RemoteFileError",
    "StoreAnnotator",
    "StoreError",
    "VariantKey",
    "VaridexError",
    "WorkerError",
    "build_index",
    "build_store",
    "detect_release",
    "discover",
    "get_release",
    "normalize_chrom",
    "normalize_variant",
    "open_store",
    "result_frame",
    "trim_alleles",
]
