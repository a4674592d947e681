"""What a store is on disk: its folder, its files and its metadata, and the checks that
refuse a store that is not what the user asked for.

A store is a folder::

    STORE/
      store.json            metadata (written last: a folder without it is incomplete)
      19.parquet            chromosome 19: one row per gnomAD allele, sorted by key
      19.starts.parquet     chromosome 19: where gnomAD records start, and their REF base
      ...

Each chromosome's Parquet file holds the key columns ``pos`` (int32, 1-based, of the
minimal allele), ``allele`` (int64, :mod:`.codes`), ``ref`` and ``alt`` (the minimal
alleles as text), ``duplicates`` (later gnomAD records with the same key, which the VCF
path also skips) and the stored canonical fields: floats as float64, counts as int64,
text as dictionary-encoded strings, a missing value as a Parquet null. Its key-value
metadata repeats the release, build and chromosome, so a file moved between stores is
refused.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

from ..errors import ReleaseSchemaError, StoreError
from ..fields import FieldSpec, column_kind
from ..releases import RELEASES, GnomADRelease, canonical_version

FORMAT: Final = "varidex-store"
FORMAT_VERSION: Final = 1
META_NAME: Final = "store.json"
#: Columns every chromosome file has before the stored fields.
KEY_COLUMNS: Final = ("pos", "allele", "ref", "alt", "duplicates")
#: Parquet key-value metadata key holding a file's release, build and chromosome.
FILE_META_KEY: Final = b"varidex_store"


def chrom_file(chrom: str) -> str:
    return f"{chrom}.parquet"


def starts_file(chrom: str) -> str:
    return f"{chrom}.starts.parquet"


def release_columns(release: GnomADRelease) -> tuple[str, ...]:
    """Every canonical column a lookup in ``release`` yields, in output order."""
    names = tuple(release.fields)
    spec = FieldSpec(names, tuple(release.fields[n] for n in names),
                     tuple(column_kind(n) for n in names), frozenset(), release.faf_groups,
                     release.build)
    return spec.columns


def select_fields(release: GnomADRelease, fields: str | None) -> tuple[str, ...]:
    """The columns to store: all of the release's (``None``), or the comma list given, in
    the release's column order, ``filters`` always included (a status needs it).

    >>> from varidex.gnomad.releases import get_release
    >>> select_fields(get_release("r2.1.1", "exomes"), "gnomad_af_nfe, AC,af")
    ('af', 'ac', 'af_nfe', 'filters')
    """
    every = release_columns(release)
    if fields is None:
        return every
    wanted = []
    for item in fields.split(","):
        name = item.strip().lower()
        name = name.removeprefix("gnomad_")
        name = {"popmax": "grpmax", "af_popmax": "af_grpmax"}.get(name, name)
        if name:
            wanted.append(name)
    unknown = [n for n in wanted if n not in every]
    if unknown or not wanted:
        msg = (f"--fields: {', '.join(unknown) or '(none given)'} "
               f"{'is not a field' if len(unknown) == 1 else 'are not fields'} of gnomAD "
               f"{release.key}; choose from: {', '.join(every)}")
        raise StoreError(msg)
    chosen = set(wanted) | {"filters"}
    return tuple(c for c in every if c in chosen)


@dataclass
class SourceFile:
    """A gnomAD file a store was built from: size, modification time and MD5."""

    name: str
    size: int
    mtime_ns: int
    md5: str


@dataclass
class ChromEntry:
    """One chromosome of a store."""

    contig: str            # the contig name in the source file
    source: str            # the source file's name
    variants: int          # rows (distinct minimal alleles)
    records: int           # gnomAD records read
    duplicates: int        # alleles skipped because an earlier record had the same key


@dataclass
class StoreMeta:
    """The content of ``store.json``."""

    release: str
    dataset: str
    build: str
    fields: tuple[str, ...]
    chromosomes: dict[str, ChromEntry]
    sources: list[SourceFile]
    varidex_version: str
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                               time.gmtime()))
    build_seconds: float = 0.0
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    @property
    def key(self) -> str:
        return f"{self.release}/{self.dataset}"

    def to_json(self) -> str:
        data = asdict(self)
        data["fields"] = list(self.fields)
        return json.dumps(data, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, where: Path) -> StoreMeta:
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("format") != FORMAT:
                msg = "not a varidex store"
                raise ValueError(msg)
            if data.get("format_version") != FORMAT_VERSION:
                msg = (f"store format {data.get('format_version')}, this varidex reads "
                       f"format {FORMAT_VERSION}")
                raise ValueError(msg)
            chroms = {c: ChromEntry(**e) for c, e in data["chromosomes"].items()}
            sources = [SourceFile(**s) for s in data["sources"]]
            return cls(data["release"], data["dataset"], data["build"],
                       tuple(data["fields"]), chroms, sources, data["varidex_version"],
                       data["created"], float(data["build_seconds"]), data["format"],
                       data["format_version"])
        except (ValueError, KeyError, TypeError) as exc:
            msg = (f"{where}: cannot read the store's metadata ({exc}); rebuild the store "
                   "with `varidex store build`")
            raise StoreError(msg) from exc

    def file_meta(self, chrom: str) -> bytes:
        """What each chromosome file records about itself."""
        return json.dumps({"release": self.release, "dataset": self.dataset,
                           "build": self.build, "chromosome": chrom,
                           "fields": list(self.fields)}).encode()


def write_meta(folder: Path, meta: StoreMeta) -> None:
    tmp = folder / (META_NAME + ".part")
    tmp.write_text(meta.to_json())
    tmp.replace(folder / META_NAME)


def read_meta(folder: Path) -> StoreMeta:
    """The metadata of the store in ``folder``, checked against the release registry."""
    if not folder.is_dir():
        msg = (f"store {folder} does not exist or is not a folder; build one with "
               "`varidex store build --gnomad-dir DIR -o STORE`")
        raise StoreError(msg)
    path = folder / META_NAME
    if not path.is_file():
        msg = (f"{folder}: no {META_NAME}, so not a complete varidex store (an interrupted "
               "build?); rebuild it with `varidex store build`")
        raise StoreError(msg)
    meta = StoreMeta.from_json(path.read_text(), path)
    release = RELEASES.get(meta.key)
    if release is None:
        msg = (f"{folder}: built for gnomAD {meta.key}, which this varidex does not know; "
               "rebuild the store with this varidex")
        raise StoreError(msg)
    if release.build != meta.build:
        msg = (f"{folder}: says gnomAD {meta.key} is on {meta.build}, but it is on "
               f"{release.build}; the store is damaged or foreign: rebuild it")
        raise StoreError(msg)
    known = set(release_columns(release))
    odd = [f for f in meta.fields if f not in known]
    if odd or "filters" not in meta.fields:
        msg = (f"{folder}: fields {', '.join(odd) or '(no filters)'} are not what a "
               f"gnomAD {meta.key} store holds; rebuild the store")
        raise StoreError(msg)
    for chrom in meta.chromosomes:
        for name in (chrom_file(chrom), starts_file(chrom)):
            if not (folder / name).is_file():
                msg = (f"{folder}: {name} is missing; the store is incomplete: rebuild it "
                       "with `varidex store build`")
                raise StoreError(msg)
    return meta


def check_request(meta: StoreMeta, folder: Path, *, version: str | None,
                  dataset: str | None) -> GnomADRelease:
    """Refuse a store of another release or dataset than asked for; ``None`` accepts the
    store's own."""
    if dataset is not None and dataset.strip().lower() != meta.dataset:
        msg = (f"{folder} is a store of gnomAD {meta.key} ({meta.build}), not of the "
               f"{dataset.strip().lower()} dataset asked for; use a store of that dataset, "
               f"or ask for --dataset {meta.dataset}")
        raise ReleaseSchemaError(msg)
    if version is not None and canonical_version(version) != meta.release:
        msg = (f"{folder} is a store of gnomAD {meta.key} ({meta.build}), not of release "
               f"{canonical_version(version)} asked for; use a store built from that "
               f"release, or ask for --version {meta.release} (version=None in Python "
               "accepts the store's release)")
        raise ReleaseSchemaError(msg)
    return RELEASES[meta.key]


def store_size(folder: str | Path) -> int:
    """Bytes of a store's files."""
    return sum(p.stat().st_size for p in Path(folder).iterdir() if p.is_file())


def summary(meta: StoreMeta, folder: str | Path, seconds: float) -> str:
    """One line about a store just built."""
    size = store_size(folder)
    source = sum(s.size for s in meta.sources)
    share = f" ({size / source:.1%} of the sources)" if source else ""
    return (f"varidex: store {folder}: gnomAD {meta.key}, "
            f"{sum(c.variants for c in meta.chromosomes.values()):,} alleles on "
            f"{len(meta.chromosomes)} chromosome(s), {len(meta.fields)} fields, "
            f"{size / 2**20:,.1f} MiB{share}; {seconds:.1f} s")


def describe(meta: StoreMeta, folder: str | Path) -> str:
    """A few lines about a store, for ``varidex store info``."""
    size = store_size(folder)
    source = sum(s.size for s in meta.sources)
    lines = [f"store {folder}: gnomAD {meta.key} ({meta.build}), varidex store format "
             f"{meta.format_version}, built {meta.created} by varidex {meta.varidex_version} "
             f"in {meta.build_seconds:,.1f} s",
             f"size {size / 2**20:,.1f} MiB ({size / source:.1%} of the {source / 2**20:,.1f} "
             "MiB of source files)" if source else f"size {size / 2**20:,.1f} MiB",
             f"fields ({len(meta.fields)}): {', '.join(meta.fields)}"]
    for chrom, e in meta.chromosomes.items():
        lines.append(f"chromosome {chrom} (contig {e.contig}, {e.source}): {e.variants:,} "
                     f"alleles from {e.records:,} records, {e.duplicates:,} duplicates skipped")
    for s in meta.sources:
        lines.append(f"source {s.name}: {s.size:,} bytes, md5 {s.md5}, modified "
                     f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(s.mtime_ns / 1e9))} UTC")
    return "\n".join(lines)
