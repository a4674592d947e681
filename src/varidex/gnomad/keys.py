"""Variant keys and allele normalization, for user variants and gnomAD records alike.

Positions are 1-based, as in VCF. A key is *minimal*: shared trailing bases are trimmed
first, then shared leading bases, keeping one anchor base for indels (so ``GA>GAA`` at 100
becomes ``G>GA`` at 100, and ``CTT>CT`` becomes ``CT>C``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .contigs import contig_rank
from .errors import InputFormatError

_BASES: Final = re.compile(r"^[ACGTN]+$")

#: Largest position accepted (2**31 - 1: htslib's limit for tabix-indexed VCFs).
MAX_POSITION: Final = 2**31 - 1

# Per-variant outcomes, also the values of the ``gnomad_status`` column.
FOUND: Final = "found"
FOUND_NON_PASS: Final = "found_non_pass"
ABSENT: Final = "absent"
NO_DATA: Final = "no_data"
SKIPPED_STAR: Final = "skipped_star"
SKIPPED_SYMBOLIC: Final = "skipped_symbolic"
INVALID_ALLELE: Final = "invalid_allele"
STATUSES: Final = (FOUND, FOUND_NON_PASS, ABSENT, NO_DATA, SKIPPED_STAR, SKIPPED_SYMBOLIC,
                   INVALID_ALLELE)
STATUS_CODE: Final = {s: i for i, s in enumerate(STATUSES)}


@dataclass(frozen=True, order=True)
class VariantKey:
    """A normalized variant: canonical chromosome, 1-based position, minimal REF and ALT."""

    chrom: str
    pos: int
    ref: str
    alt: str

    def sort_key(self) -> tuple[int, str, int, str, str]:
        """Order by chromosome rank (1..22, X, Y, MT), then position and alleles."""
        return (contig_rank(self.chrom), self.chrom, self.pos, self.ref, self.alt)


def trim_alleles(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim shared suffix, then shared prefix, keeping at least one base in each allele.

    >>> trim_alleles(100, "GA", "GAA")
    (100, 'G', 'GA')
    >>> trim_alleles(100, "CTT", "CT")
    (100, 'CT', 'C')
    >>> trim_alleles(100, "AGC", "ATC")
    (101, 'G', 'T')
    >>> trim_alleles(100, "ACGT", "AGGT")
    (101, 'C', 'G')
    >>> trim_alleles(100, "A", "A")
    (100, 'A', 'A')
    """
    end = 0
    max_suffix = min(len(ref), len(alt)) - 1
    while end < max_suffix and ref[-1 - end] == alt[-1 - end]:
        end += 1
    if end:
        ref, alt = ref[:-end], alt[:-end]
    start = 0
    max_prefix = min(len(ref), len(alt)) - 1
    while start < max_prefix and ref[start] == alt[start]:
        start += 1
    if start:
        ref, alt = ref[start:], alt[start:]
    return pos + start, ref, alt


def classify_alleles(ref: str, alt: str) -> str | None:
    """Return a skip status for alleles that cannot be looked up, or None if they can.

    Alleles must already be upper-case.

    >>> classify_alleles("A", "G") is None
    True
    >>> classify_alleles("A", "*"), classify_alleles("A", "<DEL>"), classify_alleles("A", "G]2:5]")
    ('skipped_star', 'skipped_symbolic', 'skipped_symbolic')
    >>> classify_alleles("A", "A"), classify_alleles("A", "."), classify_alleles("A", "X")
    ('invalid_allele', 'invalid_allele', 'invalid_allele')
    """
    if alt == "*":
        return SKIPPED_STAR
    if alt.startswith("<") or "[" in alt or "]" in alt or (
            len(alt) > 1 and (alt.startswith(".") or alt.endswith("."))):
        return SKIPPED_SYMBOLIC
    if not _BASES.match(ref) or not _BASES.match(alt) or ref == alt:
        return INVALID_ALLELE
    return None


def normalize_variant(pos: int, ref: str, alt: str) -> tuple[int, str, str, str | None]:
    """Upper-case and trim one allele pair; return (pos, ref, alt, skip_status).

    >>> normalize_variant(55505647, "g", "t")
    (55505647, 'G', 'T', None)
    >>> normalize_variant(10, "A", "<DUP>")
    (10, 'A', '<DUP>', 'skipped_symbolic')
    """
    ref, alt = ref.strip().upper(), alt.strip().upper()
    status = classify_alleles(ref, alt)
    if status is not None:
        return pos, ref, alt, status
    p, r, a = trim_alleles(pos, ref, alt)
    return p, r, a, None


def parse_variant_id(text: str) -> tuple[str, int, str, str]:
    """Parse a gnomAD-style variant id: ``1-55516888-G-GA`` or ``chr1:55516888:G:GA``.

    >>> parse_variant_id("1-55516888-G-GA")
    ('1', 55516888, 'G', 'GA')
    >>> parse_variant_id("chr1:55505647:G:T")
    ('chr1', 55505647, 'G', 'T')
    """
    parts = re.split(r"[-:_/>\s]+", text.strip())
    if len(parts) != 4 or not (parts[1].isascii() and parts[1].isdigit()):
        msg = (f"cannot read {text!r} as a variant; write it as CHROM-POS-REF-ALT "
               "(for example 1-55505647-G-T) or CHROM:POS:REF:ALT")
        raise InputFormatError(msg)
    pos = int(parts[1])
    if not 1 <= pos <= MAX_POSITION:
        msg = f"{text!r}: the position must be from 1 to {MAX_POSITION:,}"
        raise InputFormatError(msg)
    return parts[0], pos, parts[2], parts[3]
