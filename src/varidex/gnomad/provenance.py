"""Where an output came from: varidex version, command, gnomAD release and files, date.

Written as a ``##varidex=`` line in VCF headers and as the ``varidex`` key of Parquet
schema metadata (JSON).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from varidex import __version__


@dataclass(frozen=True)
class Provenance:
    """Version, command, release and gnomAD files of one run."""

    version: str
    command: str
    release: str
    gnomad_files: tuple[str, ...]
    date: str

    @classmethod
    def of(cls, annotator: Any, command: str | None = None) -> Provenance:
        """The provenance of a run with ``annotator`` (an Annotator or CombinedAnnotator).

        ``command`` is the command line as the user typed it; library callers may leave it
        out.
        """
        return cls(__version__, command or "python: varidex.gnomad", annotator.release_key,
                   tuple(str(p) for p in gnomad_files(annotator)),
                   datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def vcf_line(self) -> str:
        """One unstructured VCF header line (the command last: it may hold anything).

        >>> Provenance("0.2.0", "varidex annotate a.vcf", "r2.1.1/exomes", ("/g/x.bgz",),
        ...            "2026-01-01T00:00:00Z").vcf_line()
        '##varidex=version=0.2.0; release=r2.1.1/exomes; gnomad_files=/g/x.bgz; date=2026-01-01T00:00:00Z; command=varidex annotate a.vcf'
        """  # noqa: E501 - a doctest output line cannot be wrapped
        command = " ".join(self.command.split())  # no newline or tab inside a header line
        return (f"##varidex=version={self.version}; release={self.release}; "
                f"gnomad_files={','.join(self.gnomad_files)}; date={self.date}; "
                f"command={command}")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["gnomad_files"] = list(self.gnomad_files)
        return out

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), sort_keys=True)


def gnomad_files(annotator: Any) -> list[Path]:
    """The gnomAD data files an annotator reads, each once, in chromosome order."""
    parts = getattr(annotator, "parts", None)
    annotators = list(parts.values()) if parts else [annotator]
    out: dict[Path, None] = {}
    for a in annotators:
        for path in a.files.paths.values():
            out[path] = None
    return list(out)
