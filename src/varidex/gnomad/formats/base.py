"""What readers hand to writers: a batch of variants, and for VCF output its raw records."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

import numpy as np
import pandas as pd


@dataclass
class InputBatch:
    """One batch of input rows.

    ``frame`` holds the canonical variant columns (one row per ALT allele). ``records`` is
    set only when the input is a VCF read for VCF output: each raw record split as
    ``line.split("\\t", 8)`` (the first eight columns, then FORMAT and samples as one
    string), in input order; ``first_record`` is the 1-based number of the first one.
    """

    frame: pd.DataFrame
    records: list[list[str]] | None = None
    first_record: int = 1
    extra: dict[str, object] = field(default_factory=dict)


class TableWriter(Protocol):
    """An output that receives annotated batches and is complete when its context exits
    without an error (see :class:`varidex.gnomad.formats.delimited.AtomicOutput`)."""

    def __enter__(self) -> TableWriter: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...

    def write(self, frame: pd.DataFrame, batch: InputBatch | None = None, *,
              keep: np.ndarray | None = None) -> None:
        """Append ``frame`` (the annotated rows of ``batch``); ``keep`` marks the rows to
        write (all when None)."""
