"""Arrow tables as CSV/TSV text, the same bytes as pyarrow's CSV writer, written faster.

``pyarrow.csv.write_csv`` casts every column to strings before it joins them, which made
writing the annotated rows the slowest stage of a run (2 s per million rows of 56 columns).
:func:`table_text` hands the columns' buffers to the C module ``_text``, which formats the
rows in one pass; columns of other types (dates, decimals, ...) are first cast to strings
by Arrow, which is what its CSV writer does with them.
"""

from __future__ import annotations

from typing import Any

from ._text import format_rows

# Kinds the C module formats from the buffers (see _text.c).
_NULL, _INT64, _DOUBLE, _UTF8, _LARGE_UTF8, _BOOL = range(6)


def table_text(table: Any, sep: str) -> bytes | None:
    """The rows of an Arrow table as ``sep``-separated lines (no header), as
    ``pyarrow.csv.write_csv(quoting_style="none")`` writes them; None when a value would need
    quoting (it holds ``sep``, a double quote, CR or LF)."""
    parts = []
    for batch in table.to_batches():
        text = _batch_text(batch, sep)
        if text is None:
            return None
        parts.append(text)
    return b"".join(parts)


def _batch_text(batch: Any, sep: str) -> bytes | None:
    import pyarrow as pa
    import pyarrow.csv as pcsv

    columns = [_column(array) for array in batch.columns]
    if all(c is not None for c in columns):
        return format_rows(columns, batch.num_rows, sep)  # type: ignore[arg-type]
    # A type the C module does not format (dates, times, decimals, ...): Arrow's writer.
    sink = pa.BufferOutputStream()
    try:
        pcsv.write_csv(batch, sink, write_options=pcsv.WriteOptions(
            include_header=False, delimiter=sep, quoting_style="none"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None
    return bytes(sink.getvalue())


def _column(array: Any) -> tuple[int, Any, Any, Any, int] | None:
    """What the C module needs to format ``array``: kind, validity bitmap (None when
    nothing is missing), data and offsets buffers, offset; None for other types."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dtype = array.type
    if pa.types.is_dictionary(dtype) and (pa.types.is_string(dtype.value_type)
                                          or pa.types.is_large_string(dtype.value_type)):
        array = array.dictionary_decode()
    elif pa.types.is_integer(dtype) and not pa.types.is_int64(dtype) and not (
            pa.types.is_uint64(dtype)):
        array = pc.cast(array, pa.int64())  # every value fits
    kind = _KINDS.get(str(array.type))
    if kind is None:
        return None
    if kind == _NULL:
        return (kind, None, None, None, 0)
    buffers = array.buffers()
    validity = buffers[0] if array.null_count else None
    if kind in (_UTF8, _LARGE_UTF8):
        data = buffers[2] if buffers[2] is not None else b""
        return (kind, validity, data, buffers[1], array.offset)
    return (kind, validity, buffers[1], None, array.offset)


_KINDS = {"null": _NULL, "int64": _INT64, "double": _DOUBLE, "string": _UTF8,
          "large_string": _LARGE_UTF8, "bool": _BOOL}
