"""gnomAD frequencies for consumer genotypes (23andMe, AncestryDNA, FTDNA).

A genotype such as ``AG`` names the alleles a person carries, not which is the reference:
varidex never invents an ALT. For each genotyped position it asks gnomAD which single-base
records start there (all twelve REF>ALT pairs of A, C, G, T are looked up), learns gnomAD's
REF base from them, and reports, for each observed allele that differs from that REF, the
gnomAD frequency of that allele. The rule, one output row per case:

``found`` / ``found_non_pass``
    gnomAD has the record REF>allele; its values are given (``alt_allele`` = the allele).
``absent``
    gnomAD has SNV records at the position, so the site was genotyped there (the largest
    AN of those records is above 0), but none with this allele. Only then is a missing
    allele called absent.
``no_coverage``
    gnomAD's records at the position all have AN 0 or no AN: nobody was genotyped there;
    the allele's absence means nothing.
``reference``
    every observed allele equals gnomAD's REF (one row, no values).
``unknown_ref``
    gnomAD has no single-base record at the position (or records with different REF
    bases), so its reference base is unknown and the genotype cannot be told apart from
    the reference. Not evidence of absence: gnomAD sites files hold variant sites only and
    say nothing of coverage elsewhere.
``no_data``
    the release has no file for the chromosome.
``no_call``, ``indel_code``, ``invalid_genotype``
    ``--``/``00`` calls, the arrays' I/D insertion-deletion codes (they name no sequence),
    and anything other than A, C, G, T: not looked up.

Each row carries ``input_row``, ``rsid``, ``chromosome``, ``position`` (1-based),
``genotype`` as written, ``ref_allele`` (gnomAD's REF where known), ``alt_allele`` (the
observed allele reported on that row) and ``alt_copies`` (1 or 2: how many of the
genotype's alleles it is), then the ``gnomad_*`` columns of :func:`result_frame`.
"""

from __future__ import annotations

import logging
from collections import Counter
from itertools import permutations
from typing import Any, Final

import numpy as np
import pandas as pd

from .annotate import result_frame
from .errors import BuildMismatchError, ConfigError, InputFormatError
from .formats.consumer import GenotypeHeader
from .keys import ABSENT, FOUND, FOUND_NON_PASS, NO_DATA

logger = logging.getLogger(__name__)

REFERENCE: Final = "reference"
UNKNOWN_REF: Final = "unknown_ref"
NO_COVERAGE: Final = "no_coverage"
NO_CALL: Final = "no_call"
INDEL_CODE: Final = "indel_code"
INVALID_GENOTYPE: Final = "invalid_genotype"
GENOTYPE_STATUSES: Final = (FOUND, FOUND_NON_PASS, ABSENT, NO_COVERAGE, REFERENCE,
                            UNKNOWN_REF, NO_DATA, NO_CALL, INDEL_CODE, INVALID_GENOTYPE)

#: The twelve single-base REF>ALT pairs looked up at each genotyped position.
PAIRS: Final = tuple(permutations("ACGT", 2))
_PAIR_INDEX: Final = {p: i for i, p in enumerate(PAIRS)}
_NO_CALL_CODES: Final = frozenset({"-", "0", "N"})

#: Build guard: stop when more than this share of at least MIN_SITES genotyped positions
#: where gnomAD's REF is known carry an allele that is neither that REF nor a gnomAD ALT.
MAX_FOREIGN_SHARE: Final = 0.05
MIN_SITES: Final = 20


def check_build(header: GenotypeHeader, release_build: str, release: str, *,
                genotype_build: str | None, where: str) -> str:
    """The build to use for a genotype file, or an error when it is unknown or not the
    release's build."""
    build = genotype_build or header.build
    if build is None:
        msg = (f"the {header.label} file does not state its genome build in its header; "
               f"pass it with --genotype-build GRCh37 (genotype_build= in Python) after "
               "checking where the file came from")
        raise InputFormatError(msg, path=where)
    if build == "NCBI36":
        msg = (f"{where}: the {header.label} file is on NCBI36 (hg18) (its header: "
               f"{header.build_line.strip('# ')!r}); no gnomAD release is on that build. "
               "Download the file again (current downloads are on GRCh37) or lift it over "
               "to GRCh37 first")
        raise BuildMismatchError(msg)
    if build != release_build:
        msg = (f"{where}: the {header.label} file is on {build} but gnomAD {release} is on "
               f"{release_build}; use a gnomAD release of the file's build (r2.1.1 for "
               "GRCh37) or lift the file over")
        raise BuildMismatchError(msg)
    return build


def classify(frame: pd.DataFrame) -> np.ndarray:
    """A status for rows that are not looked up (None for the others).

    >>> f = pd.DataFrame({"allele1": ["A", "-", "0", "I", "A", "X"],
    ...                   "allele2": ["G", "-", "0", "D", "", "A"]})
    >>> classify(f).tolist()
    [None, 'no_call', 'no_call', 'indel_code', None, 'invalid_genotype']
    """
    a1 = frame["allele1"].astype(str).to_numpy(dtype=object)
    a2 = frame["allele2"].astype(str).to_numpy(dtype=object)
    status = np.full(len(frame), None, dtype=object)
    for i, (x, y) in enumerate(zip(a1, a2, strict=True)):
        alleles = (x, y) if y else (x,)
        if not x or any(a in _NO_CALL_CODES for a in alleles) or len(y) > 1:
            status[i] = NO_CALL if x and len(y) <= 1 else INVALID_GENOTYPE
        elif any(a in ("I", "D") for a in alleles):
            status[i] = INDEL_CODE
        elif any(a not in "ACGT" for a in alleles):
            status[i] = INVALID_GENOTYPE
    return status


def annotate_genotypes(annotator: Any, frame: pd.DataFrame, *, where: str = "input",
                       show_progress: bool = False,
                       progress: Any = None) -> tuple[pd.DataFrame, Counter[str]]:
    """Look up a batch of genotypes (see the module docstring); returns the output rows and
    counts by status (with ``foreign_alleles``: alleles neither REF nor a gnomAD ALT)."""
    skip = classify(frame)
    todo = np.flatnonzero(skip == None)  # noqa: E711 - elementwise on an object array
    sites = frame.iloc[todo][["chromosome", "position"]].astype({"chromosome": str})
    keys = pd.MultiIndex.from_frame(sites)
    unique = keys.unique()
    site_of = unique.get_indexer(keys)
    n_sites = len(unique)
    chrom = np.repeat(unique.get_level_values(0).to_numpy(dtype=object), len(PAIRS))
    pos = np.repeat(unique.get_level_values(1).to_numpy(dtype=np.int64), len(PAIRS))
    refs = np.tile(np.array([p[0] for p in PAIRS], dtype=object), n_sites)
    alts = np.tile(np.array([p[1] for p in PAIRS], dtype=object), n_sites)
    allow = annotator.allow_ref_mismatch
    annotator.allow_ref_mismatch = True  # 11 of the 12 pairs disagree with gnomAD's REF
    try:
        result = annotator.lookup(list(chrom), list(pos), list(refs), list(alts),
                                  show_progress=show_progress, progress=progress)
    finally:
        annotator.allow_ref_mismatch = allow
    if "an" not in result.columns:
        # Without AN an allele gnomAD lacks cannot be told absent (covered) from no_coverage.
        msg = (f"gnomAD {annotator.release_key} as given here has no AN field (a store built "
               "with --fields without an): a genotype file needs it to tell an absent allele "
               "from a site gnomAD did not cover; rebuild the store with an among --fields "
               "(or the default fields), or annotate from the gnomAD files")
        raise ConfigError(msg)
    values = result_frame(result, release=annotator.release_key)
    status = result.status.reshape(n_sites, len(PAIRS)) if n_sites else np.empty((0, 12))
    found = np.isin(status, [FOUND, FOUND_NON_PASS])
    an = values["gnomad_an"].to_numpy(dtype=float, na_value=np.nan).reshape(status.shape)

    # One tuple per output row: frame row, REF, allele, copies, query row (-1: none), status.
    rows: list[tuple[int, str, str, int, int, str]] = []
    counts: Counter[str] = Counter()
    a1 = frame["allele1"].astype(str).to_numpy(dtype=object)
    a2 = frame["allele2"].astype(str).to_numpy(dtype=object)
    site_for_row = np.full(len(frame), -1)
    site_for_row[todo] = site_of
    colocated = foreign = 0
    for i in range(len(frame)):
        if skip[i] is not None:
            rows.append((i, "", "", 0, -1, skip[i]))
            continue
        s = site_for_row[i]
        if (status[s] == NO_DATA).all():
            rows.append((i, "", "", 0, -1, NO_DATA))
            continue
        ref_bases = {PAIRS[k][0] for k in np.flatnonzero(found[s])}
        if len(ref_bases) != 1:
            if len(ref_bases) > 1:
                counts["conflicting_ref"] += 1
            rows.append((i, "", "", 0, -1, UNKNOWN_REF))
            continue
        ref = ref_bases.pop()
        covered = bool((np.nan_to_num(np.where(found[s], an[s], 0.0)) > 0).any())
        alleles = [a1[i]] + ([a2[i]] if a2[i] else [])
        others = [a for a in dict.fromkeys(alleles) if a != ref]
        colocated += 1
        if not others:
            rows.append((i, ref, "", 0, -1, REFERENCE))
            continue
        site_foreign = False
        for allele in others:
            k = _PAIR_INDEX[(ref, allele)]
            copies = alleles.count(allele)
            if found[s, k]:
                rows.append((i, ref, allele, copies, s * len(PAIRS) + k, str(status[s, k])))
            else:
                site_foreign = True
                rows.append((i, ref, allele, copies, -1, ABSENT if covered else NO_COVERAGE))
        foreign += site_foreign
    counts["foreign_alleles"] += foreign
    counts["sites_with_ref"] += colocated
    _check_foreign(annotator, foreign, colocated)
    out = _assemble(frame, rows, values, annotator.release_key)
    counts.update(out["gnomad_status"].tolist())
    return out, counts


def _check_foreign(annotator: Any, foreign: int, sites: int) -> None:
    if annotator.allow_ref_mismatch or sites < MIN_SITES:
        return
    if foreign > MAX_FOREIGN_SHARE * sites:
        msg = (f"at {foreign} of {sites} genotyped positions where gnomAD "
               f"{annotator.release_key} has records, an observed allele is neither gnomAD's "
               "REF nor a gnomAD ALT: the file is probably on another build (or strand) than "
               "its header says. Check the file, or pass --allow-ref-mismatch to go on")
        raise BuildMismatchError(msg)


def _assemble(frame: pd.DataFrame, rows: list[tuple[int, str, str, int, int, str]],
              values: pd.DataFrame, release: str) -> pd.DataFrame:
    take = np.array([r[0] for r in rows], dtype=np.int64)
    base = frame.iloc[take][["input_row", "rsid", "chromosome", "position", "genotype"]]
    base = base.reset_index(drop=True)
    base["ref_allele"] = [r[1] for r in rows]
    base["alt_allele"] = [r[2] for r in rows]
    base["alt_copies"] = pd.array([r[3] or None for r in rows], dtype="Int64")
    query = np.array([r[4] for r in rows], dtype=np.int64)
    added = values.reindex(query).reset_index(drop=True)  # -1: no query, all values missing
    added["gnomad_status"] = [r[5] for r in rows]
    added["gnomad_release"] = release
    out: pd.DataFrame = pd.concat([base, added], axis=1)
    return out
