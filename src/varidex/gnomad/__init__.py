"""The varidex gnomAD engine: releases as data, a chunked tabix sweep, results by row."""

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
    VaridexError,
    WorkerError,
)
from .keys import VariantKey, normalize_variant, trim_alleles
from .releases import RELEASES, GnomADRelease, detect_release, get_release

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
    "VariantKey",
    "VaridexError",
    "WorkerError",
    "build_index",
    "detect_release",
    "discover",
    "get_release",
    "normalize_chrom",
    "normalize_variant",
    "result_frame",
    "trim_alleles",
]
