"""Find a release's per-chromosome (or whole-genome) files in a folder, with their indexes.

Discovery reports what it found; building a missing index is a separate, opt-in step
(:func:`build_index`), because it writes into the user's data folder.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pysam

from .blocks import BlockIndex, build_block_index, load_block_index
from .contigs import normalize_chrom
from .errors import GnomADError, GnomADFileError, MissingIndexError, RemoteFileError
from .releases import RELEASES, GnomADRelease, detect_release, get_release
from .remote import RemoteObject, https_url, is_remote, local_index, read_hint, read_range, stat

logger = logging.getLogger(__name__)

_INFO_RE = re.compile(r"^##INFO=<ID=([^,>]+),Number=([^,>]+)")
_CONTIG_RE = re.compile(r"^##contig=<ID=([^,>]+)(?:,length=(\d+))?")

#: A gnomAD file: a local path, or the https URL of a remote one (see :mod:`.remote`).
FileRef = Path | str


@dataclass(frozen=True)
class HeaderInfo:
    """What varidex needs from a VCF header: INFO ids with their Number, contig lengths."""

    info_number: dict[str, str]
    contig_lengths: dict[str, int]


@dataclass
class ReleaseFiles:
    """The files of one release found in a folder (or under a URL prefix).

    ``paths`` maps a canonical chromosome to its file, ``contigs`` to the contig name
    used inside that file, ``per_allele`` lists raw INFO fields declared Number=A. Remote
    files and their indexes are URLs (str).
    """

    release: GnomADRelease
    directory: FileRef
    paths: dict[str, FileRef] = field(default_factory=dict)
    contigs: dict[str, str] = field(default_factory=dict)
    indexes: dict[FileRef, FileRef] = field(default_factory=dict)
    min_shift: dict[FileRef, int] = field(default_factory=dict)
    block_indexes: dict[FileRef, BlockIndex] = field(default_factory=dict)

    @property
    def block_indexed(self) -> set[FileRef]:
        return set(self.block_indexes)
    per_allele: frozenset[str] = frozenset()
    indexes_built: list[Path] = field(default_factory=list)

    @property
    def chromosomes(self) -> list[str]:
        return list(self.paths)


def read_header(path: Path) -> HeaderInfo:
    """Read the INFO and contig declarations of a bgzipped VCF."""
    if path.stat().st_size == 0:
        msg = f"{path}: empty file (0 bytes); re-download it"
        raise GnomADFileError(msg)
    with path.open("rb") as probe:
        head = probe.read(18)
    if head[:2] != b"\x1f\x8b":
        msg = (f"{path}: not bgzip-compressed (plain text, or an error page saved in place of "
               "the file?); download it again, or compress a plain VCF with `bgzip`")
        raise GnomADFileError(msg)
    if not (head[3] & 4 and head[12:14] == b"BC"):
        msg = (f"{path}: gzip-compressed but not bgzip (block gzip), so it cannot be indexed "
               f"or searched; recompress it: `zcat {path} | bgzip > NEW && mv NEW {path}`")
        raise GnomADFileError(msg)
    _check_complete(path)
    try:
        with pysam.BGZFile(str(path), "rb", None) as handle:
            return _parse_header((raw.decode("utf-8", "replace") for raw in handle), path)
    except (OSError, ValueError, EOFError) as exc:
        msg = (f"{path}: cannot read the VCF header ({exc}); is the file complete and "
               "bgzip-compressed? Re-download it, or recompress with `bgzip`")
        raise GnomADFileError(msg) from exc


def _parse_header(lines: Iterable[str], where: FileRef) -> HeaderInfo:
    """The INFO and contig declarations among a VCF's header lines (up to ``#CHROM``)."""
    info: dict[str, str] = {}
    contigs: dict[str, int] = {}
    for line in lines:
        if not line.startswith("##"):
            if not line.startswith("#CHROM"):
                msg = (f"{where}: no #CHROM header line before the first record; this is "
                       "not a VCF file")
                raise GnomADFileError(msg)
            break
        m = _INFO_RE.match(line)
        if m:
            info[m.group(1)] = m.group(2)
            continue
        c = _CONTIG_RE.match(line)
        if c:
            contigs[c.group(1)] = int(c.group(2) or 0)
    return HeaderInfo(info, contigs)


#: The empty BGZF block every complete bgzip file ends with (SAM/BAM spec, section 4.1.2).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


def _check_complete(path: Path) -> None:
    """A bgzip file without its end-of-file block was cut short (a half-finished download):
    records past the cut would silently read as absent."""
    with path.open("rb") as probe:
        probe.seek(max(0, path.stat().st_size - len(BGZF_EOF)))
        tail = probe.read()
    if tail != BGZF_EOF:
        msg = (f"{path}: truncated: the file does not end with bgzip's end-of-file block, so "
               "it was cut short (an interrupted download?) and variants past the cut would "
               "wrongly read as absent; download it again and compare its size or checksum "
               "with the source")
        raise GnomADFileError(msg)


def find_index(path: Path) -> Path | None:
    """The CSI or tabix index beside ``path`` (CSI preferred), or None."""
    for suffix in (".csi", ".tbi"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            return candidate
    return None


#: Bin size of the CSI indexes varidex writes: 2**10 = 1 kb, against tabix's fixed 16 kb.
#: A real gnomAD exome row is 5-25 KB, so a 16 kb window can hold megabytes to decompress
#: and skip before the first wanted record; a 1 kb bin holds a few rows.
FINE_MIN_SHIFT = 10
TBI_MIN_SHIFT = 14


def build_index(path: Path, *, min_shift: int = FINE_MIN_SHIFT) -> Path:
    """Write a CSI index with ``2**min_shift`` bp bins beside ``path``; the data file is not
    modified (``tabix --csi -m 10 -p vcf FILE`` writes the same)."""
    if not os.access(path.parent, os.W_OK):
        msg = (f"{path}: no index, and the folder {path.parent} is not writable, so varidex "
               "cannot write one; index a writable copy, or ask the folder's owner to run "
               f"`varidex index {path.parent}`")
        raise GnomADFileError(msg)
    try:
        out = pysam.tabix_index(str(path), preset="vcf", keep_original=True, force=True,
                                csi=True, min_shift=min_shift)
    except (OSError, ValueError) as exc:
        msg = (f"{path}: cannot build an index ({exc}); the file must be bgzip-compressed "
               "and sorted: `bgzip -dc FILE | bgzip > FILE.new && tabix -p vcf FILE.new`")
        raise GnomADFileError(msg) from exc
    index = Path(str(path) + ".csi")
    logger.info("wrote index %s (beside %s)", index, out)
    return index


def index_min_shift(index: Path) -> int:
    """Bin size (as a power of two) of a CSI index; 14 for a tabix index."""
    if index.suffix != ".csi":
        return TBI_MIN_SHIFT
    try:
        with pysam.BGZFile(str(index), "rb", None) as handle:
            head = handle.read(8)
    except (OSError, ValueError) as exc:
        msg = f"{index}: cannot read the CSI index ({exc}); rebuild it with `varidex index`"
        raise GnomADFileError(msg) from exc
    if head[:4] != b"CSI\x01":
        msg = f"{index}: not a CSI index; delete it and rebuild with `varidex index`"
        raise GnomADFileError(msg)
    return int.from_bytes(head[4:8], "little")


def index_folder(directory: str | Path, *, force: bool = False) -> list[tuple[Path, Path]]:
    """Write varidex's fine CSI index beside every gnomAD sites file in ``directory`` that
    lacks one (or every file, with ``force``). Returns (data file, index) pairs written."""
    if is_remote(directory):
        msg = (f"{directory}: varidex index writes the indexes beside the files, so it needs "
               "a local folder; remote files are read through the .tbi/.csi on the server")
        raise GnomADError(msg)
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        msg = f"gnomAD folder {folder} does not exist or is not a directory"
        raise GnomADError(msg)
    data = sorted(p for p in folder.iterdir()
                  if p.name.endswith((".vcf.bgz", ".vcf.gz")) and p.is_file())
    if not data:
        msg = f"no .vcf.bgz or .vcf.gz files in {folder}"
        raise GnomADError(msg)
    written: list[tuple[Path, Path]] = []
    failed: list[str] = []
    for path in data:
        try:
            read_header(path)  # bgzip, complete, a VCF: checked before htslib touches it
            csi = Path(str(path) + ".csi")
            if force or not csi.exists() or index_min_shift(csi) > FINE_MIN_SHIFT:
                written.append((path, build_index(path)))
            if force or not _block_index_fresh(path):
                written.append((path, build_block_index(path)))
                logger.info("wrote block index %s.vdx", path)
        except GnomADFileError as exc:  # the next files are still indexed
            failed.append(str(exc))
    if failed:
        msg = (f"{len(failed)} of {len(data)} file(s) in {folder} could not be indexed (the "
               f"others were): " + " | ".join(failed))
        raise GnomADFileError(msg)
    return written


def _block_index_fresh(path: Path) -> bool:
    return load_block_index(path) is not None


def index_contigs(path: Path, index: Path) -> list[str]:
    """Contig names listed in a file's index."""
    try:
        with pysam.TabixFile(str(path), index=str(index)) as tbx:
            return list(tbx.contigs)
    except (OSError, ValueError, NotImplementedError) as exc:
        msg = (f"{path}: cannot open with index {index} ({exc}); rebuild the index with "
               f"`tabix -f -p vcf {path}`")
        raise GnomADFileError(msg) from exc


def discover(directory: str | Path, *, version: str | None, dataset: str,
             auto_index: bool = True) -> ReleaseFiles:
    """Find the files of ``version``/``dataset`` in ``directory`` and check their headers.

    With ``version=None`` the release is detected from the first file's header. An
    https://, s3:// or gs:// ``directory`` is read over the network (:func:`discover_remote`).
    """
    if is_remote(directory):
        return discover_remote(str(directory), version=version, dataset=dataset)
    # Absolute: workers (a Dask cluster's run elsewhere) must open these very files.
    folder = Path(directory).expanduser().absolute()
    if not folder.is_dir():
        msg = f"gnomAD folder {folder} does not exist or is not a directory"
        raise GnomADError(msg)
    release = get_release(version, dataset) if version else _detect(folder, dataset)
    found = ReleaseFiles(release, folder)
    per_chrom = {c: _first_existing(folder, release.file_names(c)) for c in release.chromosomes}
    files = {c: p for c, p in per_chrom.items() if p is not None}
    whole = _first_existing(folder, release.whole_genome_names())
    if not files and whole is None:
        example = (release.file_names("1") or release.file_names(release.chromosomes[0])
                   or release.whole_genome_names())[0]
        msg = (f"no gnomAD {release.key} files in {folder}: expected per-chromosome files "
               f"named like {example} (or a whole-genome file); check --gnomad-dir, "
               "--version and --dataset")
        raise GnomADError(msg)
    per_allele: set[str] = set()
    for path in dict.fromkeys([*files.values(), *([whole] if whole else [])]):
        header = read_header(path)
        release.validate_header(header.info_number, path)
        per_allele |= {k for k, n in header.info_number.items() if n == "A"}
        index = find_index(path)
        if index is None:
            if not auto_index:
                raise MissingIndexError(path)
            index = build_index(path)
            found.indexes_built.append(index)
        _check_not_stale(path, index)
        found.indexes[path] = index
        found.min_shift[path] = index_min_shift(index)
        blocks = load_block_index(path)  # None (with a warning) if missing or stale
        if blocks is not None:
            found.block_indexes[path] = blocks
        _assign_contigs(found, path, index_contigs(path, index), files, whole,
                        f"{path}: its index {index.name}",
                        f"Rebuild it with `varidex index {folder}`")
    found.per_allele = frozenset(per_allele)
    return found


def _assign_contigs(found: ReleaseFiles, path: FileRef, contigs: list[str],
                    files: Mapping[str, FileRef], whole: FileRef | None, index_name: str,
                    fix: str) -> None:
    """Map the chromosomes ``path``'s index lists to it: a per-chromosome file answers for
    its own chromosome only, a whole-genome file for those without a file of their own."""
    own = [c for c, p in files.items() if p == path]
    if path != whole and own and own[0] not in {normalize_chrom(c) for c in contigs}:
        if not contigs:
            logger.warning("%s holds no records (header only?); chromosome %s is "
                           "reported as no_data", path, own[0])
        else:
            msg = (f"{index_name} lists contig(s) {', '.join(contigs[:5])}, not chromosome "
                   f"{own[0]}: an index of another file? {fix}")
            raise GnomADFileError(msg)
    for contig in contigs:
        chrom = normalize_chrom(contig)
        if path == whole and chrom in files:
            continue  # a per-chromosome file wins over the whole-genome file
        if path != whole and files.get(chrom) != path:
            continue  # a per-chromosome file only answers for its own chromosome
        found.paths[chrom] = path
        found.contigs[chrom] = contig


def _check_not_stale(path: Path, index: Path) -> None:
    if index.stat().st_mtime < path.stat().st_mtime - 1:
        msg = (f"{index}: the index is older than its data file, so it may point into a "
               f"previous version of it; rebuild it with `varidex index --force "
               f"{path.parent}` (or `tabix -f -p vcf {path}`)")
        raise GnomADFileError(msg)


def _first_existing(folder: Path, names: list[str]) -> Path | None:
    existing = [folder / n for n in names if (folder / n).exists()]
    if len(existing) > 1:
        logger.warning("%s: several files for the same data (%s); using %s", folder,
                       ", ".join(p.name for p in existing), existing[0].name)
    return existing[0] if existing else None


def _detect(folder: Path, dataset: str) -> GnomADRelease:
    candidates = sorted(p for p in folder.iterdir()
                        if p.name.startswith("gnomad.") and p.name.endswith((".vcf.bgz", ".vcf.gz"))
                        and dataset in p.name)
    if not candidates:
        msg = (f"no gnomAD {dataset} sites files (gnomad.{dataset}.*.vcf.bgz) in {folder}; "
               "check --gnomad-dir and --dataset")
        raise GnomADError(msg)
    releases = {detect_release(read_header(p).info_number, file_name=p.name,
                               dataset=dataset).key: p.name for p in _one_per_version(candidates)}
    if len(releases) > 1:
        shown = "; ".join(f"{k} ({v})" for k, v in sorted(releases.items()))
        msg = (f"{folder} holds files of several gnomAD releases: {shown}; pass the one "
               "to use with --version / version=")
        raise GnomADError(msg)
    return get_release(*next(iter(releases)).split("/"))


def _one_per_version(candidates: list[Path]) -> list[Path]:
    """One file per distinct version token in the names (their headers tell the release)."""
    seen: dict[str, Path] = {}
    for p in candidates:
        token = re.search(r"\.([rv]\d+(?:\.\d+)*)\.", p.name)
        seen.setdefault(token.group(1) if token else p.name, p)
    return list(seen.values())


#: Requests at once while looking remote files up.
REMOTE_THREADS = 8


def discover_remote(prefix: str, *, version: str | None, dataset: str) -> ReleaseFiles:
    """Find a release's files under an https://, s3:// or gs:// prefix.

    Files are looked up by the names the release gives them (nothing is listed); each data
    file is checked (range requests, bgzip, the end-of-file block, the header) and its
    index (``.csi`` or ``.tbi`` beside it on the server) is fetched once into the local
    cache (:func:`~varidex.gnomad.remote.index_cache_dir`). Remote files are read through
    tabix: varidex's block index needs a full pass over a file to build, the download a
    remote read avoids.
    """
    base = https_url(prefix)
    base += "" if base.endswith("/") else "/"
    release = get_release(version, dataset) if version else _detect_remote(base, dataset)
    found = ReleaseFiles(release, base)
    with ThreadPoolExecutor(REMOTE_THREADS) as pool:
        located = list(pool.map(
            lambda c: _first_remote(base, release.file_names(c), release.dataset),
            release.chromosomes))
        files = {c: obj.url for c, obj in zip(release.chromosomes, located, strict=True)
                 if obj is not None}
        whole_obj = _first_remote(base, release.whole_genome_names(), release.dataset)
        whole = whole_obj.url if whole_obj is not None else None
        if not files and whole is None:
            example = (release.file_names("1") or release.file_names(release.chromosomes[0])
                       or release.whole_genome_names())[0]
            msg = (f"no gnomAD {release.key} files under {base}: expected per-chromosome "
                   f"files named like {base}{example} (or a whole-genome file); check "
                   "--gnomad-dir, --version and --dataset")
            raise GnomADError(msg)
        objects = {o.url: o for o in [*located, whole_obj] if o is not None}
        urls = list(dict.fromkeys([*files.values(), *([whole] if whole else [])]))
        opened = list(pool.map(lambda u: _open_remote(objects[u]), urls))
    per_allele: set[str] = set()
    for url, (header, index_url, local, contigs) in zip(urls, opened, strict=True):
        release.validate_header(header.info_number, url)
        per_allele |= {k for k, n in header.info_number.items() if n == "A"}
        found.indexes[url] = index_url
        found.min_shift[url] = index_min_shift(Path(local))
        _assign_contigs(found, url, contigs, files, whole, f"{index_url} (the index on the "
                        "server)", "Tell the server's maintainers, or download the files")
    found.per_allele = frozenset(per_allele)
    return found


def _first_remote(base: str, names: list[str], dataset: str = "") -> RemoteObject | None:
    """The first of ``names`` that exists under ``base``, or else in its ``dataset``
    subfolder (gnomAD's buckets keep each release's exomes/ and genomes/ apart)."""
    for name in names + [f"{dataset}/{n}" for n in names if dataset]:
        obj = stat(base + name)
        if obj is not None:
            return obj
    return None


def _open_remote(obj: RemoteObject) -> tuple[HeaderInfo, str, str, list[str]]:
    """Check a remote data file; its header, its index's URL and local copy, its contigs."""
    url = obj.url
    index = _first_remote("", [url + ".csi", url + ".tbi"])
    if index is None:
        msg = (f"{url}: no index on the server ({url}.tbi or .csi), and varidex cannot index "
               "a remote file; download the file and run `varidex index` on its folder")
        raise RemoteFileError(msg)
    if obj.size < len(BGZF_EOF):
        msg = f"{url}: {obj.size} bytes: too short for a bgzipped VCF; check the URL"
        raise RemoteFileError(msg)
    head = read_range(url, 0, 17)
    if not (head[:2] == b"\x1f\x8b" and head[3] & 4 and head[12:14] == b"BC"):
        msg = (f"{url}: not bgzip-compressed (block gzip), so it cannot be read in parts; "
               "check the URL")
        raise RemoteFileError(msg)
    if read_range(url, obj.size - len(BGZF_EOF), obj.size - 1) != BGZF_EOF:
        msg = (f"{url}: truncated: the file does not end with bgzip's end-of-file block, so "
               "variants past the cut would wrongly read as absent; tell the server's "
               "maintainers, or download a complete copy")
        raise RemoteFileError(msg)
    local = local_index(index.url)
    try:
        with pysam.TabixFile(url, index=local) as tbx:
            header = _parse_header(tbx.header, url)
            contigs = list(tbx.contigs)
    except (OSError, ValueError, NotImplementedError) as exc:
        msg = f"{url}: cannot read the VCF header ({exc}); {read_hint(url)}"
        raise RemoteFileError(msg) from exc
    return header, index.url, local, contigs


def _detect_remote(base: str, dataset: str) -> GnomADRelease:
    """The release under ``base``: the one whose file names exist there, confirmed by the
    file's header. Each release's first chromosome and whole-genome names are tried first,
    then (a partial mirror) its other chromosomes."""
    candidates = [r for r in RELEASES.values() if r.dataset == dataset]

    def look(r: GnomADRelease, rest: bool) -> RemoteObject | None:
        chromosomes = r.chromosomes[1:] if rest else r.chromosomes[:1]
        names = [n for c in chromosomes for n in r.file_names(c)]
        return _first_remote(base, names if rest else names + r.whole_genome_names(),
                             r.dataset)

    with ThreadPoolExecutor(REMOTE_THREADS) as pool:
        located = list(pool.map(lambda r: look(r, False), candidates))
        if not any(located):
            located = list(pool.map(lambda r: look(r, True), candidates))
    present = {r.key: obj for r, obj in zip(candidates, located, strict=True) if obj}
    if not present:
        msg = (f"no gnomAD {dataset} sites files under {base} named as any known release "
               "names them (varidex cannot list a remote folder); check --gnomad-dir and "
               "--dataset, and pass --version")
        raise GnomADError(msg)
    if len(present) > 1:
        shown = "; ".join(f"{k} ({o.url.rsplit('/', 1)[-1]})" for k, o in sorted(
            present.items()))
        msg = (f"{base} holds files of several gnomAD releases: {shown}; pass the one to use "
               "with --version / version=")
        raise GnomADError(msg)
    obj = next(iter(present.values()))
    header = _open_remote(obj)[0]
    name = obj.url.rsplit("/", 1)[-1]
    return detect_release(header.info_number, file_name=name, dataset=dataset)
