"""Left-alignment of indels against a reference FASTA (pysam.FastaFile).

gnomAD's records are left-aligned; a user's indel written further right inside a repeat
(``CAA>CA`` where ``CA>C`` is the leftmost spelling) matches only after the same shift.
"""

from __future__ import annotations

from pathlib import Path

import pysam

from .contigs import normalize_chrom
from .errors import VaridexError

_WINDOW = 256


class Reference:
    """A FASTA whose contigs are addressed by canonical chromosome names."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).expanduser().absolute()  # workers open it too
        try:
            self._fasta = pysam.FastaFile(str(self.path))
        except (OSError, ValueError) as exc:
            msg = (f"{self.path}: cannot open as an indexed FASTA ({exc}); index it with "
                   f"`samtools faidx {self.path}`")
            raise VaridexError(msg) from exc
        self._names = {normalize_chrom(n): n for n in self._fasta.references}
        self._lengths = dict(zip(self._fasta.references, self._fasta.lengths, strict=True))

    def close(self) -> None:
        self._fasta.close()

    def has(self, chrom: str) -> bool:
        return chrom in self._names

    def seq(self, chrom: str, start: int, end: int) -> str:
        """Bases ``start..end`` (1-based, inclusive), upper-case; clipped at the contig ends."""
        name = self._names[chrom]
        start0 = max(start - 1, 0)
        end = min(end, self._lengths[name])
        if end <= start0:
            return ""
        return str(self._fasta.fetch(name, start0, end)).upper()

    def matches(self, chrom: str, pos: int, ref: str) -> bool:
        return self.seq(chrom, pos, pos + len(ref) - 1) == ref

    def left_align(self, chrom: str, pos: int, ref: str, alt: str) -> tuple[int, str, str]:
        """Shift a trimmed indel to its leftmost equivalent position.

        Only indels (REF and ALT of different lengths) move; the result is minimal with one
        anchor base, as gnomAD writes it.
        """
        if len(ref) == len(alt):
            return pos, ref, alt
        window_start = pos
        window = ""
        while True:
            if ref and alt and ref[-1] == alt[-1]:
                ref, alt = ref[:-1], alt[:-1]
            elif not ref or not alt:
                if pos <= 1:
                    break
                if pos - 1 < window_start or not window:
                    window_start = max(1, pos - _WINDOW)
                    window = self.seq(chrom, window_start, pos - 1)
                base = window[pos - 1 - window_start]
                window = window[: pos - 1 - window_start]
                ref, alt, pos = base + ref, base + alt, pos - 1
            else:
                break
        if not ref or not alt:  # reached the contig start; restore an anchor after it
            nxt = self.seq(chrom, pos, pos)
            ref, alt = ref + nxt, alt + nxt
        while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
            ref, alt, pos = ref[1:], alt[1:], pos + 1
        return pos, ref, alt
