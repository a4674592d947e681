"""The varidex exception tree.

Every error raised on purpose derives from :class:`VaridexError`; the CLI maps it to exit
code 1 and prints its message as one line. Messages say what is wrong, where (file, line or
record, ``chrom:pos``) and how to fix it::

    VaridexError
    ├── InputFormatError          user input that cannot be read as variants
    ├── ConfigError               a --config file that cannot be used
    ├── OutputError               an output that cannot be written
    ├── MissingDependencyError    an optional extra is not installed (also an ImportError)
    ├── ClusterError              the Dask scheduler cannot be reached, or has no workers
    └── GnomADError               anything about the gnomAD files
        ├── ReleaseSchemaError    unknown release, or header lacking promised fields
        ├── MissingIndexError     no .tbi/.csi beside a file and auto_index is off
        ├── GnomADFileError       a gnomAD file that cannot be opened or read
        │   └── RemoteFileError   a remote file: not found, refused, dropped or timed out
        ├── BuildMismatchError    input REF alleles disagree with gnomAD's: another build?
        ├── StoreError            a prebuilt store that cannot be built, opened or used
        └── WorkerError           a worker process died or raised while annotating
"""

from __future__ import annotations

from pathlib import Path


class VaridexError(Exception):
    """Root of every error varidex raises on purpose."""


class InputFormatError(VaridexError):
    """User input (a variants file or frame) that cannot be read."""

    def __init__(self, message: str, *, path: str | Path | None = None,
                 line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        super().__init__(where + message)
        self.path = path
        self.line = line


class ConfigError(VaridexError):
    """A configuration file (``--config``) that cannot be read or holds invalid settings."""

    def __init__(self, message: str, *, path: str | Path | None = None) -> None:
        super().__init__(f"{path}: {message}" if path is not None else message)
        self.path = path


class OutputError(VaridexError):
    """An output file that cannot be written (missing folder, read-only, disk full)."""

    def __init__(self, message: str, *, path: str | Path) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


class MissingDependencyError(VaridexError, ImportError):
    """An optional dependency is missing; the message gives the ``pip install`` to run."""


class ClusterError(VaridexError):
    """The Dask scheduler cannot be reached, has no workers, or runs another varidex."""


class GnomADError(VaridexError):
    """A problem with the gnomAD release files."""


class ReleaseSchemaError(GnomADError):
    """An unknown release, or a file whose header lacks fields the release promises."""


class MissingIndexError(GnomADError):
    """A gnomAD file without a tabix or CSI index while auto_index is off."""

    def __init__(self, path: Path) -> None:
        super().__init__(
            f"{path}: no index (.tbi or .csi) beside this file; build one with "
            f"`varidex index {path.parent}` (or `tabix -p vcf {path}`), or let varidex "
            "write one (drop --no-auto-index; auto_index=True in Python)"
        )
        self.path = path


class GnomADFileError(GnomADError):
    """A gnomAD file that cannot be opened or read (truncated, not bgzip, bad index)."""


class RemoteFileError(GnomADFileError):
    """A remote gnomAD file or index that cannot be found or read: refused, dropped or timed
    out (after retries). Never a reason to report a variant as absent."""


class BuildMismatchError(GnomADError):
    """The input looks like another genome build than the gnomAD release."""


class StoreError(GnomADError):
    """A prebuilt store (``varidex store build``) that cannot be built, opened or used."""


class WorkerError(GnomADError):
    """A worker process died or raised while annotating a chunk."""
