"""normalize_batch reads pandas Series of text (Arrow-backed) without making Python objects
first; the result is the same as from lists of the same values."""

from __future__ import annotations

import numpy as np
import pandas as pd

from varidex.gnomad.contigs import normalize_chrom
from varidex.gnomad.normalize import normalize_batch

VALUES = [("1", 10, "A", "G"), ("chr1", 11, "ac", "a"), ("X", "12", " g ", "GA"),
          ("MT", 13, "A", "*"), ("2", 14, "A", "<DEL>"), ("2", 15, "A", "A]2:5]"),
          ("2", 16, "A", "X"), ("2", 17, "A", "A"), ("2", 18, "A", "."), ("2", 19, "", "G"),
          (None, 20, None, "G"), ("Y", 21, "A", None), ("3", 22, "NA", "G"),
          ("chrUn_gl000220", 23, "CTT", "CT"), ("NC_000001.10", 24, "GA", "GAA")]


def test_series_and_lists_give_the_same_batch() -> None:
    frame = pd.DataFrame(VALUES * 50, columns=["chrom", "pos", "ref", "alt"])
    text = frame.astype({"chrom": "str", "ref": "str", "alt": "str"})
    assert isinstance(text["ref"].dtype, pd.StringDtype)
    lists = normalize_batch(*(frame[c].tolist() for c in frame.columns), normalize_chrom)
    series = normalize_batch(*(text[c] for c in text.columns), normalize_chrom)
    for name in ("chrom", "pos", "ref", "alt", "status"):
        a, b = getattr(lists, name), getattr(series, name)
        looked_up = lists.status == None  # noqa: E711 - elementwise on an object array
        if name in ("ref", "alt"):  # the text of rows not looked up does not matter
            a, b = a[looked_up], b[looked_up]
        assert pd.Series(a).equals(pd.Series(b)), name
    assert lists.status[:15].tolist() == [
        None, None, None, "skipped_star", "skipped_symbolic", "skipped_symbolic",
        "invalid_allele", "invalid_allele", "invalid_allele", "invalid_allele",
        "invalid_allele", "invalid_allele", "invalid_allele", None, None]
    assert (lists.pos[13], lists.ref[13], lists.alt[13]) == (23, "CT", "C")
    assert np.array_equal(series.pos[:3], [10, 11, 12])
