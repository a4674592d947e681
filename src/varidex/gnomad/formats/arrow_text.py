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
        text = format_rows(columns, batch.num_rows, sep)  # type: ignore[arg-type]
        if text is not None:
            return text
        return _quoted_text(batch, sep)
    # A type the C module does not format (dates, times, decimals, ...): Arrow's writer.
    sink = pa.BufferOutputStream()
    try:
        pcsv.write_csv(batch, sink, write_options=pcsv.WriteOptions(
            include_header=False, delimiter=sep, quoting_style="none"))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _quoted_text(batch, sep)
    return bytes(sink.getvalue())


def quote_names(names: list[str], sep: str) -> list[str]:
    """Column names quoted as :func:`table_text` quotes values."""
    return [_quote(n) if _needs_quotes(n, sep) else n for n in names]


def _needs_quotes(value: str, sep: str) -> bool:
    return any(c in value for c in (sep, '"', "\r", "\n"))


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def _quoted_text(batch: Any, sep: str) -> bytes | None:
    """A batch with values that need quoting: each value as Arrow casts it to text (so a
    number reads the same as in any other batch), and a value holding ``sep``, a double
    quote, CR or LF in double quotes, its quotes doubled (RFC 4180). None for a type Arrow
    cannot cast to text."""
    import re

    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if batch.num_columns == 0 or batch.num_rows == 0:
        return None
    special = "[" + re.escape(sep) + '"\r\n]'
    texts = []
    for array in batch.columns:
        if pa.types.is_dictionary(array.type):
            array = array.dictionary_decode()
        if not pa.types.is_string(array.type):
            try:
                array = pc.cast(array, pa.string())
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                return None
        need = pc.fill_null(pc.match_substring_regex(array, special), False)
        if pc.any(need).as_py():
            quoted = pc.binary_join_element_wise(
                '"', pc.replace_substring(array, '"', '""'), '"', "")
            array = pc.if_else(need, quoted, array)
        texts.append(pc.fill_null(array, ""))
    lines = pc.binary_join_element_wise(*texts, sep) if len(texts) > 1 else texts[0]
    lines = pc.cast(pc.binary_join_element_wise(lines, "", "\n"), pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[
        lines.offset:lines.offset + len(lines) + 1]
    text: bytes = lines.buffers()[2].to_pybytes()[offsets[0]:offsets[-1]]
    return text


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
