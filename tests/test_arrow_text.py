"""The C row writer (formats/_text.c) writes exactly what pyarrow's CSV writer writes.

pyarrow itself is the oracle: every value is formatted both ways and compared, so a
difference in float formatting (digits, notation, exponent) fails here, not in a user's
output."""

from __future__ import annotations

import datetime
import io
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pytest

from varidex.gnomad.formats._text import format_double
from varidex.gnomad.formats.arrow_text import table_text


def arrow_csv(table: pa.Table, sep: str) -> bytes:
    sink = io.BytesIO()
    pcsv.write_csv(table, sink, write_options=pcsv.WriteOptions(
        include_header=False, delimiter=sep, quoting_style="none"))
    return sink.getvalue()


def arrow_texts(values: np.ndarray) -> list[str]:
    return [str(v) for v in pc.cast(pa.array(values), pa.string()).to_pylist()]


@pytest.mark.parametrize(("value", "text"), [
    (7.9e-06, "0.0000079"),  # a gnomAD AF as pyarrow (and varidex's TSV) writes it
    (1e-06, "0.000001"), (9.99e-07, "9.99e-7"), (1e-08, "1e-8"), (0.00198224, "0.00198224"),
    (1.0, "1"), (123456.0, "123456"), (1e9, "1000000000"), (1e10, "1e+10"),
    (1.5e10, "1.5e+10"), (0.30000000000000004, "0.30000000000000004"), (5e-324, "5e-324"),
    (-0.0, "-0"), (0.0, "0"), (math.inf, "inf"), (-math.inf, "-inf"), (math.nan, "nan"),
])
def test_named_doubles(value: float, text: str) -> None:
    assert format_double(value) == text
    assert arrow_texts(np.array([value])) == [text]


def test_doubles_equal_arrow_cast() -> None:
    rng = np.random.default_rng(20261204)
    gnomad_like = np.array([float(f"{v:.5e}") for v in
                            rng.random(20000) * 10.0 ** rng.integers(-9, 1, 20000)])
    every_digits = np.array([float(f"{rng.random():.{p}g}") * 10.0 ** rng.integers(-10, 12)
                             for p in range(1, 18) for _ in range(500)])
    random_bits = np.frombuffer(rng.integers(0, 2**64 - 1, 200000, dtype=np.uint64).tobytes(),
                                dtype=np.float64)
    powers_of_ten = 10.0 ** np.arange(-30, 30)
    values = np.concatenate([
        gnomad_like, every_digits, random_bits, rng.random(20000),
        np.round(rng.random(20000) * 1e-3, 8),  # FAF on Hail's 1e-8 grid
        rng.integers(0, 1000, 20000) / rng.integers(1, 300000, 20000),  # AC/AN
        rng.random(20000) * 1e-12,
        2.0 ** np.arange(-1074, 1024),  # the gap below a power of two is half
        powers_of_ten, np.nextafter(powers_of_ten, 0), np.nextafter(powers_of_ten, np.inf),
    ])
    values = np.concatenate([values, -values])
    ours = [format_double(v) for v in values.tolist()]
    theirs = arrow_texts(values)
    wrong = [(v, o, t) for v, o, t in zip(values.tolist(), ours, theirs, strict=True) if o != t]
    assert wrong == []


def table_of_every_kind() -> pa.Table:
    n = 1000
    rng = np.random.default_rng(7)
    valid = rng.random(n) > 0.3
    return pa.table({
        "int64": pa.array(rng.integers(-2**63, 2**63 - 1, n, dtype=np.int64), mask=~valid),
        "int32": pa.array(rng.integers(-2**31, 2**31 - 1, n).astype(np.int32)),
        "uint8": pa.array(rng.integers(0, 255, n).astype(np.uint8), mask=~valid),
        "uint64": pa.array(rng.integers(0, 2**64 - 1, n, dtype=np.uint64)),
        "double": pa.array(rng.random(n) * 1e-4, mask=~valid),
        "float32": pa.array(rng.random(n).astype(np.float32)),
        "string": pa.array([f"rs{i}" if v else None for i, v in enumerate(valid)]),
        "large": pa.array(["é,ü" if i % 3 else "" for i in range(n)], pa.large_string()),
        "dict": pa.array(["PASS", "AC0", None, "RF"] * (n // 4)).dictionary_encode(),
        "bool": pa.array([bool(i % 2) if v else None for i, v in enumerate(valid)]),
        "null": pa.nulls(n),
        "date": pa.array([datetime.date(2020, 1, 1 + i % 28) for i in range(n)]),
    })


@pytest.mark.parametrize("sep", ["\t", ";"])
def test_table_equals_arrow_writer(sep: str) -> None:
    table = table_of_every_kind()
    assert table_text(table, sep) == arrow_csv(table, sep)
    fast = table.drop_columns(["date"])  # every column by the C writer
    assert table_text(fast, sep) == arrow_csv(fast, sep)


def test_slices_and_chunks() -> None:
    """Arrays with an offset into their buffers (slices) and tables of several chunks."""
    table = table_of_every_kind().drop_columns(["date"])
    sliced = table.slice(37, 500)
    assert table_text(sliced, "\t") == arrow_csv(sliced, "\t")
    chunked = pa.concat_tables([table.slice(0, 10), table.slice(999), table.slice(3, 300)])
    assert chunked.column("double").num_chunks == 3
    assert table_text(chunked, "\t") == arrow_csv(chunked, "\t")
    empty = table.slice(0, 0)
    assert table_text(empty, "\t") == b""


@pytest.mark.parametrize("value", ["a\tb", 'a"b', "a\nb", "a\rb"])
def test_values_needing_quotes_are_quoted(value: str) -> None:
    """Arrow's writer refuses these without quoting; they are quoted as RFC 4180 says, and
    Python's csv module reads the same values back (CR too, which pandas left bare)."""
    import csv

    table = pa.table({"id": ["rs1", value], "n": [1, 2]})
    with pytest.raises(pa.ArrowInvalid):
        arrow_csv(table, "\t")
    text = table_text(table, "\t")
    assert text is not None
    assert text == b"rs1\t1\n" + b'"' + value.replace('"', '""').encode() + b'"\t2\n'
    rows = list(csv.reader(io.StringIO(text.decode(), newline=""), delimiter="\t"))
    assert rows == [["rs1", "1"], [value, "2"]]


def test_separator_is_only_structural_in_its_own_format() -> None:
    table = pa.table({"id": ["a,b"], "n": [1]})
    assert table_text(table, "\t") == b"a,b\t1\n"
    assert table_text(table, ",") == b'"a,b",1\n'


def test_numbers_read_the_same_in_a_batch_with_quoted_values() -> None:
    """Regression: a batch with a value that needed quoting went to pandas, which wrote
    4.09611e-06 and 0.0 where every other batch had 0.00000409611 and 0."""
    from varidex.gnomad.formats.delimited import _arrow_csv

    afs = [4.09611e-06, 0.0, None, 0.0119305]
    plain = _arrow_csv(pd.DataFrame({"id": ["a", "b", "c", "d"], "af": afs}),
                       sep="\t", header=False)
    quoted = _arrow_csv(pd.DataFrame({"id": ["a", "b\tx", "c", "d"], "af": afs}),
                        sep="\t", header=False)
    assert plain == b"a\t0.00000409611\nb\t0\nc\t\nd\t0.0119305\n"
    assert quoted == b'a\t0.00000409611\n"b\tx"\t0\nc\t\nd\t0.0119305\n'


def test_column_names_with_cr_are_quoted() -> None:
    """Regression: a column name holding CR was written bare into the header line."""
    from varidex.gnomad.formats.delimited import _arrow_csv

    frame = pd.DataFrame({"a\rb": [1], "c": ["x"]})
    assert _arrow_csv(frame, sep=",", header=True) == b'"a\rb",c\n1,x\n'
