"""Chromosome names: every alias varidex accepts, in one place.

Canonical names are ``1``..``22``, ``X``, ``Y`` and ``MT`` (the rCRS mitochondrion).
Each gnomAD release writes them in its own style (``1`` for r2, ``chr1`` for v3 and v4);
:func:`release_contig` turns a canonical name into that style.
"""

from __future__ import annotations

from typing import Final

CANONICAL: Final = tuple([str(i) for i in range(1, 23)] + ["X", "Y", "MT"])
_ORDER: Final = {name: i for i, name in enumerate(CANONICAL)}

# RefSeq accessions of the GRCh37 and GRCh38 primary assemblies (chromosome -> version).
_REFSEQ_GRCH37: Final = dict(zip(CANONICAL[:24], (
    10, 11, 11, 11, 9, 11, 13, 10, 11, 10, 9, 11, 10, 8, 9, 9, 10, 9, 9, 10, 8, 10, 10, 9),
    strict=True))
_REFSEQ_GRCH38: Final = {chrom: v + 1 for chrom, v in _REFSEQ_GRCH37.items()}


def _accession(chrom: str, version: int) -> str:
    number = {"X": 23, "Y": 24}.get(chrom) or int(chrom)
    return f"NC_{number:06d}.{version}"


REFSEQ_BUILD: Final[dict[str, tuple[str, str]]] = {
    **{_accession(c, v): (c, "GRCh37") for c, v in _REFSEQ_GRCH37.items()},
    **{_accession(c, v): (c, "GRCh38") for c, v in _REFSEQ_GRCH38.items()},
    "NC_012920.1": ("MT", "any"),
}

_ALIASES: Final = {
    "23": "X", "24": "Y", "26": "MT", "25": "X",  # plink numbering (25 = X pseudo-autosomal)
    "M": "MT", "MT": "MT", "CHRM": "MT", "CHRMT": "MT",
}

# Length of hg19's UCSC chrM (NC_001807), which is not the rCRS sequence gnomAD uses.
HG19_CHRM_LENGTH: Final = 16571
RCRS_LENGTH: Final = 16569

#: Length of each chromosome of the GRCh37 and GRCh38 primary assemblies (GRC; the same as
#: the ``##contig`` lines of gnomAD r2.1.1 (GRCh37) and v3/v4 (GRCh38) headers). MT is the
#: rCRS in both; hg19's chrM (:data:`HG19_CHRM_LENGTH`) is not in the table.
CONTIG_LENGTHS: Final[dict[str, dict[str, int]]] = {
    "GRCh37": dict(zip(CANONICAL, (
        249250621, 243199373, 198022430, 191154276, 180915260, 171115067, 159138663,
        146364022, 141213431, 135534747, 135006516, 133851895, 115169878, 107349540,
        102531392, 90354753, 81195210, 78077248, 59128983, 63025520, 48129895, 51304566,
        155270560, 59373566, RCRS_LENGTH), strict=True)),
    "GRCh38": dict(zip(CANONICAL, (
        248956422, 242193529, 198295559, 190214555, 181538259, 170805979, 159345973,
        145138636, 138394717, 133797422, 135086622, 133275309, 114364328, 107043718,
        101991189, 90338345, 83257441, 80373285, 58617616, 64444167, 46709983, 50818468,
        156040895, 57227415, RCRS_LENGTH), strict=True)),
}


def build_of_length(canonical: str, length: int) -> str | None:
    """The build whose chromosome ``canonical`` has this length, if only one has; None for
    a length of neither (a patched assembly, a test contig) or of both (MT).

    >>> build_of_length("21", 46709983), build_of_length("1", 249250621)
    ('GRCh38', 'GRCh37')
    >>> build_of_length("MT", 16569), build_of_length("22", 20001), build_of_length("Un", 5)
    (None, None, None)
    """
    builds = [b for b, lengths in CONTIG_LENGTHS.items() if lengths.get(canonical) == length]
    return builds[0] if len(builds) == 1 else None


def normalize_chrom(name: str) -> str:
    """Return the canonical name of a chromosome, or the name stripped of ``chr`` if unknown.

    >>> [normalize_chrom(n) for n in ("1", "chr1", "CHR1", "chrX", "23", "M", "chrM", "MT")]
    ['1', '1', '1', 'X', 'X', 'MT', 'MT', 'MT']
    >>> normalize_chrom("NC_000017.10"), normalize_chrom("NC_000017.11")
    ('17', '17')
    >>> normalize_chrom("chrUn_gl000220")
    'UN_GL000220'
    """
    raw = str(name).strip()
    if raw in REFSEQ_BUILD:
        return REFSEQ_BUILD[raw][0]
    upper = raw.upper()
    if upper in _ALIASES:
        return _ALIASES[upper]
    if upper.startswith("CHR"):
        upper = upper[3:]
    if upper in _ALIASES:
        return _ALIASES[upper]
    if upper.isascii() and upper.isdigit():
        upper = str(int(upper))  # "01" -> "1"
        return _ALIASES.get(upper, upper)
    return upper


def contig_rank(canonical: str) -> int:
    """Sort rank of a canonical chromosome: 1..22, X, Y, MT, then anything else.

    >>> sorted(["X", "10", "2", "MT", "1"], key=contig_rank)
    ['1', '2', '10', 'X', 'MT']
    """
    return _ORDER.get(canonical, len(_ORDER))


def release_contig(canonical: str, style: str) -> str:
    """The contig name a release writes for a canonical chromosome.

    ``style`` is ``"plain"`` (``1``, ``X``, ``MT``) or ``"chr"`` (``chr1``, ``chrX``, ``chrM``).

    >>> release_contig("MT", "chr"), release_contig("1", "chr"), release_contig("MT", "plain")
    ('chrM', 'chr1', 'MT')
    """
    if style == "plain":
        return canonical
    return "chrM" if canonical == "MT" else f"chr{canonical}"
