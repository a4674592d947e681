"""What a folder of gnomAD files holds: releases, build, chromosomes, indexes and fields.

:func:`describe_folder` only reads headers and indexes; it never writes (``varidex index``
builds what is missing). Files that are not gnomAD short-variant sites files of a known
release are listed with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .blocks import index_path, load_block_index
from .contigs import contig_rank, normalize_chrom
from .discovery import find_index, index_contigs, index_min_shift, read_header
from .errors import GnomADError, VaridexError
from .releases import detect_release
from .remote import is_remote


@dataclass
class FileInfo:
    """One ``.vcf.bgz``/``.vcf.gz`` file of the folder."""

    name: str
    size: int
    release: str | None = None      # e.g. r2.1.1/exomes; None if not a known gnomAD file
    problem: str | None = None      # why it is not usable, if so
    index: str | None = None        # ".tbi" or ".csi", None if missing
    bin_size: int | None = None     # bp per index bin (1024 for varidex's CSI)
    index_stale: bool = False       # older than the data file
    block_index: str = "missing"    # fresh, stale or missing (FILE.vdx)
    contigs: list[str] = field(default_factory=list)  # from the index
    info_fields: int = 0            # INFO fields declared in the header


@dataclass
class ReleaseInfo:
    """The files of one release and dataset in the folder."""

    release: str
    build: str
    files: list[FileInfo]
    chromosomes: list[str]
    fields: dict[str, str]          # canonical name -> raw INFO field, as declared
    missing_fields: list[str]       # promised raw fields the headers lack
    groups: tuple[str, ...]


@dataclass
class FolderInfo:
    """Everything :func:`describe_folder` found."""

    directory: str
    releases: list[ReleaseInfo]
    other_files: list[FileInfo]

    @property
    def missing_indexes(self) -> list[str]:
        """Files ``varidex index`` would index (no fine CSI, stale index, no block index)."""
        out = []
        for rel in self.releases:
            for f in rel.files:
                if (f.index != ".csi" or f.index_stale or (f.bin_size or 0) > 1024
                        or f.block_index != "fresh"):
                    out.append(f.name)
        return out

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["missing_indexes"] = self.missing_indexes
        return out


def describe_folder(directory: str | Path) -> FolderInfo:
    """Describe the gnomAD files of ``directory`` (see the module docstring)."""
    if is_remote(directory):
        msg = (f"{directory}: varidex info lists a local folder; remote files are found by "
               "their release's names, not listed: `varidex annotate --gnomad-dir "
               f"{directory} --version ...` checks each one it reads")
        raise GnomADError(msg)
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        msg = f"gnomAD folder {folder} does not exist or is not a directory"
        raise GnomADError(msg)
    paths = sorted(p for p in folder.iterdir()
                   if p.is_file() and p.name.endswith((".vcf.bgz", ".vcf.gz")))
    if not paths:
        msg = f"no .vcf.bgz or .vcf.gz files in {folder}"
        raise GnomADError(msg)
    groups: dict[str, list[tuple[FileInfo, dict[str, str]]]] = {}
    others: list[FileInfo] = []
    for path in paths:
        info, declared = _describe_file(path)
        if info.release is None:
            others.append(info)
        else:
            groups.setdefault(info.release, []).append((info, declared))
    releases = [_release_info(key, items) for key, items in sorted(groups.items())]
    return FolderInfo(str(folder), releases, others)


def _describe_file(path: Path) -> tuple[FileInfo, dict[str, str]]:
    info = FileInfo(path.name, path.stat().st_size)
    try:
        header = read_header(path)
    except VaridexError as exc:
        info.problem = str(exc)
        return info, {}
    info.info_fields = len(header.info_number)
    try:
        release = detect_release(header.info_number, file_name=path.name)
        release.validate_header(header.info_number, path.name)
    except VaridexError as exc:
        info.problem = str(exc)
        return info, {}
    info.release = release.key
    index = find_index(path)
    if index is not None:
        info.index = index.suffix
        info.index_stale = index.stat().st_mtime < path.stat().st_mtime - 1
        try:
            info.bin_size = 1 << index_min_shift(index)
            info.contigs = index_contigs(path, index)
        except VaridexError as exc:
            info.problem = str(exc)
    if index_path(path).exists():
        info.block_index = "fresh" if load_block_index(path) is not None else "stale"
    return info, {k: v for k, v in header.info_number.items()}


def _release_info(key: str, items: list[tuple[FileInfo, dict[str, str]]]) -> ReleaseInfo:
    from .releases import RELEASES

    release = RELEASES[key]
    declared: set[str] = set()
    for _, d in items:
        declared |= set(d)
    fields = {canon: raw for canon, raw in release.fields.items() if raw in declared}
    missing = [raw for canon, raw in release.fields.items()
               if raw not in declared and canon not in release.optional]
    chroms = sorted({normalize_chrom(c) for f, _ in items for c in f.contigs}, key=contig_rank)
    return ReleaseInfo(key, release.build, [f for f, _ in items], chroms, fields, missing,
                       release.groups)


def render_folder(info: FolderInfo) -> str:
    """A readable description of :func:`describe_folder`'s findings."""
    lines = [f"gnomAD folder {info.directory}"]
    if not info.releases:
        lines.append("  no gnomAD sites files of a known release")
    for rel in info.releases:
        lines.append("")
        lines.append(f"release {rel.release} ({rel.build}): {len(rel.files)} file(s), "
                     f"chromosomes {_chrom_list(rel.chromosomes) or 'unknown (no index)'}")
        width = max(len(f.name) for f in rel.files)
        for f in rel.files:
            index = "no index" if f.index is None else (
                f"{f.index} ({_bins(f.bin_size)} bins{', STALE' if f.index_stale else ''})")
            contigs = _chrom_list([normalize_chrom(c) for c in f.contigs]) or "-"
            lines.append(f"  {f.name:<{width}}  {_size(f.size):>9}  {index:<22}  "
                         f"block index {f.block_index:<7}  contigs {contigs}")
            if f.problem:
                lines.append(f"    problem: {f.problem}")
        promised = len(rel.fields) + len(rel.missing_fields)
        lines.append(f"  fields: {len(rel.fields)} of the release's {promised} mapped fields "
                     f"declared ({max(f.info_fields for f in rel.files)} INFO fields in the "
                     "header)")
        per_group = {f"{k}_{g}" for g in rel.groups for k in ("af", "ac", "an", "nhomalt")}
        lines.append("    " + ", ".join(f"{c} ({r})" for c, r in rel.fields.items()
                                         if c not in per_group))
        shown = sorted(per_group & set(rel.fields))
        if shown:
            example = "af_nfe" if "af_nfe" in rel.fields else shown[0]
            lines.append(f"    and af, ac, an, nhomalt per group (e.g. {example} from "
                         f"{rel.fields[example]})")
        if rel.missing_fields:
            lines.append(f"    missing: {', '.join(rel.missing_fields)}")
        if rel.groups:
            lines.append(f"  genetic-ancestry groups: {', '.join(rel.groups)}")
    for f in info.other_files:
        problem = (f.problem or "").removeprefix(f"{Path(info.directory) / f.name}: ")
        lines.append("")
        lines.append(f"not used: {f.name}: {problem.removeprefix(f'{f.name}: ')}")
    missing = info.missing_indexes
    lines.append("")
    if missing:
        lines.append(f"{len(missing)} file(s) lack varidex's fine CSI or block index; build "
                     f"them with `varidex index {info.directory}`")
    else:
        lines.append("every file has a fresh fine CSI index and block index")
    return "\n".join(lines)


def _chrom_list(chroms: list[str]) -> str:
    ordered = sorted(dict.fromkeys(chroms), key=contig_rank)
    return ", ".join(ordered)


def _bins(size: int | None) -> str:
    if size is None:
        return "?"
    return f"{size // 1024} kb" if size >= 1024 else f"{size} bp"


def _size(n: int) -> str:
    """
    >>> _size(512), _size(3_010), _size(920_855)
    ('512 B', '2.9 KB', '899.3 KB')
    """
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
