"""The vectorized steps between reading a batch and writing it give the values the plain
Python versions give: status codes and their counts, chunk results placed by row, DNA
checks on Arrow buffers, Arrow columns built from numpy buffers, absent indels."""

from __future__ import annotations

import random
import re
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from varidex.gnomad.annotate import STATUS_TEXT, LookupResult, place_results
from varidex.gnomad.engine import ChunkResult
from varidex.gnomad.fields import new_column
from varidex.gnomad.keys import STATUSES
from varidex.gnomad.normalize import _dna
from varidex.gnomad.pipeline import _absent_indels, _masked_array


def test_counts_from_codes_equal_counts_of_the_text() -> None:
    rng = np.random.default_rng(1)
    codes = rng.integers(0, len(STATUSES), 1000).astype(np.int8)
    by_codes = LookupResult.from_codes((), codes, {}, {})
    by_text = LookupResult((), STATUS_TEXT[codes], {}, {})
    assert by_codes.status.tolist() == [STATUSES[c] for c in codes]
    assert by_codes.counts() == by_text.counts() == {
        s: int(np.count_nonzero(codes == i)) for i, s in enumerate(STATUSES)}
    assert by_text.status_codes().tolist() == codes.tolist()


def test_a_row_without_status_is_none_and_not_counted() -> None:
    codes = np.array([0, -1, 2], dtype=np.int8)
    result = LookupResult.from_codes((), codes, {}, {})
    assert result.status.tolist() == [STATUSES[0], None, STATUSES[2]]
    assert sum(result.counts().values()) == 2


def _chunk(rows: list[int], seed: int) -> ChunkResult:
    rng = np.random.default_rng(seed)
    k = len(rows)
    ints = rng.integers(0, 99, k)
    return ChunkResult(np.array(rows, dtype=np.int64), rng.integers(0, 3, k).astype(np.int8),
                       [rng.random(k), ints, np.array([f"t{v}" for v in ints], dtype=object)],
                       [None, rng.random(k) < 0.5, None], 0, 0)


@pytest.mark.parametrize("rows", [
    [[4, 5, 6], [0, 1, 2, 3], [7]],       # every row, arriving out of order
    [[5, 9], [0, 2], [3, 7, 8]],          # some rows not looked up
    [[], [3, 1], [0, 2]],                 # an empty result, rows not sorted in a result
])
def test_placed_results_equal_placing_one_result_at_a_time(rows: list[list[int]]) -> None:
    columns, kinds = ("af", "ac", "filters"), ("float", "int", "str")
    n = 2 + max(i for r in rows for i in r)  # the last row never looked up
    results = [_chunk(r, i) for i, r in enumerate(rows)]
    codes = np.full(n, -1, dtype=np.int8)
    data, missing = place_results(columns, kinds, codes, results)
    want_codes = np.full(n, -1, dtype=np.int8)
    for c, (name, kind) in enumerate(zip(columns, kinds, strict=True)):
        want, want_mask = new_column(kind, n)
        for res in results:
            want_codes[res.rows] = res.status
            want[res.rows] = res.data[c]
            if want_mask is not None:
                want_mask[res.rows] = res.missing[c]
        assert data[name].dtype == want.dtype
        assert pd.Series(data[name]).equals(pd.Series(want)), name
        got_mask = missing[name]
        assert (got_mask is None) == (want_mask is None)
        if want_mask is not None and got_mask is not None:
            assert got_mask.tolist() == want_mask.tolist()
    assert codes.tolist() == want_codes.tolist()


def test_no_results_leave_every_value_missing() -> None:
    codes = np.full(3, -1, dtype=np.int8)
    data, missing = place_results(("af", "ac"), ("float", "int"), codes, [])
    assert np.isnan(data["af"]).all()
    mask = missing["ac"]
    assert mask is not None
    assert mask.all()


def test_dna_check_on_arrow_buffers_equals_the_regular_expression() -> None:
    rng = random.Random(3)
    letters = "ACGTNacgx*<é ."
    texts = ["", "A", "N", "ACGTN", "AC GT", "é", "AÉ", "acgt"]
    texts += ["".join(rng.choice(letters) for _ in range(rng.randrange(0, 6)))
              for _ in range(2000)]
    arrow = pa.array(texts, type=pa.string())
    want = [re.fullmatch("[ACGTN]+", t) is not None for t in texts]
    assert _dna(arrow).tolist() == want
    assert _dna(arrow.slice(7, 100)).tolist() == want[7:107]  # an offset into the buffers


@pytest.mark.parametrize("nulls", [0.0, 0.3, 1.0])
def test_arrow_columns_from_numpy_buffers_equal_pa_array(nulls: float) -> None:
    rng = np.random.default_rng(5)
    ints = rng.integers(-5, 10**12, 1003)
    mask = rng.random(1003) < nulls
    assert _masked_array(pa.int64(), ints, mask).equals(pa.array(ints, mask=mask))
    floats = rng.random(1003)
    floats[mask] = np.nan
    assert _masked_array(pa.float64(), floats, np.isnan(floats)).equals(
        pa.array(floats, from_pandas=True))


@pytest.mark.parametrize("dtype", ["str", object])
def test_absent_indels_counts_length_changes_as_written(dtype: object) -> None:
    frame = pd.DataFrame({
        "chromosome": ["1"] * 6, "position": [10, 11, 12, 13, 14, 15],
        "ref_allele": ["A", "AT", "a ", "GAA", "C", "CT"],
        "alt_allele": ["G", "A", "T", "GA", "CCC", "CTT"]}).astype(
            {"ref_allele": dtype, "alt_allele": dtype})
    codes = np.array([2, 2, 2, 2, 0, 2], dtype=np.int8)  # 2: absent, 0: found
    result = LookupResult.from_codes((), codes, {}, {})
    # absent: A>G (SNV), AT>A (indel), "a ">T (written lengths 2 and 1: counted, as
    # before), GAA>GA (indel), CT>CTT (indel); C>CCC is found
    assert _absent_indels(frame, result) == 4
    assert _absent_indels(frame, LookupResult((), result.status, {}, {})) == 4
    assert Counter(result.status.tolist())["absent"] == 5
