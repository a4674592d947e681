"""Per-record problems of an input: each gets a status, the first few a warning, all a count.

A record with an allele that is not DNA (``invalid_allele``) or on a contig that is no human
chromosome gnomAD covers (``no_data``) is not a reason to stop a run of millions of rows,
but the user must hear about it. With ``strict=True`` the first one is an error instead.
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import pandas as pd

from .contigs import CANONICAL, normalize_chrom
from .errors import InputFormatError
from .frames import find_columns
from .keys import INVALID_ALLELE, NO_DATA

logger = logging.getLogger(__name__)

#: Warnings shown per run before only counting.
MAX_WARNINGS: Final = 10

_KNOWN: Final = frozenset(CANONICAL)


class RecordProblems:
    """Collects the per-record problems of one input, batch by batch."""

    def __init__(self, where: str, *, strict: bool = False, limit: int = MAX_WARNINGS) -> None:
        self.where = where
        self.strict = strict
        self.limit = limit
        self.count = 0

    def check(self, annotated: pd.DataFrame, status: np.ndarray, *, rows_before: int) -> None:
        """Look at one batch of input rows and their statuses; ``rows_before`` is the number
        of input rows in earlier batches, so rows are numbered across the whole input."""
        status = np.asarray(status)
        invalid = status == INVALID_ALLELE
        no_data = status == NO_DATA
        if not (invalid.any() or no_data.any()):
            return
        names = find_columns(list(annotated.columns), where=self.where)
        chrom = annotated[names["chromosome"]]
        odd = {c for c in pd.unique(chrom[no_data]) if normalize_chrom(str(c)) not in _KNOWN}
        unknown = no_data & chrom.isin(odd).to_numpy()
        flagged = np.flatnonzero(invalid | unknown)
        shown = max(0, self.limit - self.count) if not self.strict else 1
        self.count += len(flagged)
        for i in flagged[:shown]:
            row = annotated.iloc[i]
            if invalid[i]:
                what = (f"REF {row[names['ref_allele']]!r} / ALT {row[names['alt_allele']]!r} "
                        "is not a DNA allele (A, C, G, T, N; or * and <...> symbolic "
                        "alleles); correct or remove the record")
            else:
                what = (f"contig {row[names['chromosome']]!r} is not a chromosome gnomAD "
                        "covers (1-22, X, Y, MT, with or without chr, or a RefSeq NC_ "
                        "accession); rename it, or drop such records")
            where = (f"record {row['vcf_record']}" if "vcf_record" in annotated.columns
                     else f"row {rows_before + int(i) + 1}")
            where += f" ({row[names['chromosome']]}:{row[names['position']]})"
            if self.strict:
                msg = (f"{where}: {what} (without --strict such records get a status and a "
                       "warning)")
                raise InputFormatError(msg, path=self.where)
            logger.warning("%s, %s: %s", self.where, where, what)

    def finish(self) -> None:
        """The final count, when some warnings were not shown."""
        if self.count > self.limit:
            logger.warning("%s: %d records had problems (first %d shown above); they got the "
                           "status invalid_allele or no_data; --strict makes them errors",
                           self.where, self.count, self.limit)
