"""Parquet in and out (pyarrow), with the run's provenance in the file's metadata.

Input columns keep their Parquet types; the variant columns are found under the same
aliases as in CSV/TSV (or taken from a ``variant_id`` column). Output columns are typed:
AF as float64, counts as int64 with nulls, text as strings; the ``varidex`` key of the
schema metadata holds the provenance as JSON (see :func:`read_provenance`).
"""

from __future__ import annotations

import io
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from ..errors import InputFormatError, OutputError
from ..provenance import Provenance
from ..variant_ids import expand_ids
from .base import InputBatch
from .delimited import AtomicOutput, adds_locations, prepare_variants, variant_columns_or_ids
from .stdin import stdin_bytes

METADATA_KEY = b"varidex"


def iter_parquet(path: str, *, batch_rows: int = 250_000) -> Iterator[pd.DataFrame]:
    """A Parquet file of variants in batches of ``batch_rows`` rows (``-`` = stdin, read
    into memory: Parquet needs random access)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if path != "-" and not Path(path).exists():
        msg = "no such file"
        raise InputFormatError(msg, path=path)
    source: Any = io.BytesIO(stdin_bytes().read()) if path == "-" else path
    try:
        parquet = pq.ParquetFile(source)
        before = 0
        names: dict[str, str] | None = None
        ids: str | None = None
        locate: bool | None = None
        for record_batch in parquet.iter_batches(batch_size=batch_rows):
            frame = record_batch.to_pandas()
            for i, array in enumerate(record_batch.columns):
                if array.null_count and pa.types.is_integer(array.type):
                    frame.isetitem(i, array.to_pandas(types_mapper=_nullable_integers))
            if names is None:
                names, ids = variant_columns_or_ids([str(c) for c in frame.columns],
                                                    where=str(path))
            if ids is not None:
                frame = expand_ids(frame, ids, where=str(path))
            had = list(frame.columns)  # prepare_variants may insert input_row
            prepared = prepare_variants(frame, names, before, path, first_line=1, unit="row",
                                        locate=locate)
            if locate is None:
                locate = adds_locations(had, prepared)
            yield prepared
            before += len(frame)
        if names is None:  # no rows: still check the columns
            empty = parquet.schema_arrow.empty_table().to_pandas()
            names, ids = variant_columns_or_ids([str(c) for c in empty.columns],
                                                where=str(path))
            yield empty
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError) as exc:
        msg = f"cannot read as Parquet ({exc}); is the file complete?"
        raise InputFormatError(msg, path=path) from exc


def _nullable_integers(dtype: Any) -> Any:
    """An integer column with nulls as pandas' nullable integers: to_pandas makes it
    float64, and 9007199254740993 came back as 9007199254740992."""
    import pyarrow as pa

    if pa.types.is_integer(dtype):
        return pd.api.types.pandas_dtype(str(dtype).replace("u", "U").replace("i", "I", 1))
    return None


def read_provenance(path: str | Path) -> dict[str, Any] | None:
    """The provenance varidex wrote into a Parquet file's metadata, or None."""
    import pyarrow.parquet as pq

    meta = pq.read_schema(path).metadata or {}
    raw = meta.get(METADATA_KEY)
    if raw is None:
        return None
    out: dict[str, Any] = json.loads(raw)
    return out


class ParquetWriter:
    """Annotated batches as one Parquet file, written atomically (``-`` = stdout, buffered
    in a temporary file first: Parquet's footer comes last)."""

    def __init__(self, path: str, provenance: Provenance) -> None:
        if path.endswith((".gz", ".bgz")):
            msg = "Parquet output is compressed inside the file; drop the .gz from the name"
            raise OutputError(msg, path=path)
        self.path = path
        self.provenance = provenance
        self._out = AtomicOutput(path) if path != "-" else None
        self._spool: Any = None
        self._writer: Any = None
        self._schema: Any = None

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._writer is None and exc_type is None:
                msg = "nothing to write"
                raise OutputError(msg, path=self.path)
            if self._writer is not None:
                self._writer.close()
            if self._out is None and self._spool is not None and exc_type is None:
                self._spool.seek(0)
                sys.stdout.flush()
                shutil.copyfileobj(self._spool, sys.stdout.buffer, 1 << 22)
                sys.stdout.buffer.flush()
        except BaseException as err:
            if self._out is not None:
                self._out.__exit__(type(err), err, err.__traceback__)
            raise
        finally:
            if self._spool is not None:
                self._spool.close()
        if self._out is not None:
            self._out.__exit__(exc_type, exc, tb)

    def write(self, frame: pd.DataFrame, batch: InputBatch | None = None, *,
              keep: np.ndarray | None = None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if keep is not None:
            frame = frame[keep]
        frame = frame.reset_index(drop=True)
        if self._schema is None:
            table = pa.Table.from_pandas(frame, preserve_index=False)
            fields = [pa.field(f.name, pa.string()) if pa.types.is_null(f.type) else f
                      for f in table.schema]
            meta = dict(table.schema.metadata or {})
            meta[METADATA_KEY] = self.provenance.to_json().encode()
            self._schema = pa.schema(fields, metadata=meta)
            sink: Any
            if self._out is None:
                import tempfile

                # Closed in __exit__: it lives across write() calls.
                self._spool = tempfile.TemporaryFile(  # noqa: SIM115 - see above
                    prefix=".varidex-parquet-")
                sink = self._spool
            else:
                sink = self._out.handle
            self._writer = pq.ParquetWriter(sink, self._schema)
        try:
            table = pa.Table.from_pandas(frame, schema=self._schema, preserve_index=False)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            msg = (f"a column changed type between batches ({exc}); give that column one "
                   "type throughout, or write CSV/TSV")
            raise OutputError(msg, path=self.path) from exc
        self._writer.write_table(table)
