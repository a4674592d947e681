"""Build a store from a release's sites VCFs, one chromosome per worker process.

Each worker reads its chromosome's file once, front to back, through varidex's BGZF block
reader (libdeflate), checking every block's CRC32 and checksumming the compressed bytes in
the same pass (a whole-genome file is read per contig through tabix instead). Records are
keyed by :func:`~varidex.gnomad.keys.normalize_variant` (the rules the C record scanner of
the VCF path follows, tested against it) and their values converted by the VCF path's own
:func:`~varidex.gnomad.fields.build_columns`, fed by :func:`~varidex.gnomad.fields.raw_hits`
as the scanner feeds it, so a store answers exactly what the files answer (the tests
compare both paths value for value). Rows go out sorted by (position, allele code) in
Parquet row groups as soon as no later record can precede them, so memory does not grow
with the chromosome. Everything is
written into a temporary folder beside the target, which is renamed into place when
complete.
"""

from __future__ import annotations

import hashlib
import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import deflate
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pysam
from tqdm import tqdm

from varidex import __version__

from ..blocks import iter_blocks
from ..contigs import contig_rank
from ..discovery import ReleaseFiles, discover
from ..errors import GnomADFileError, StoreError, VaridexError
from ..fields import BadValue, FieldSpec, build_columns, column_kind, extract, raw_hits
from ..keys import normalize_variant
from ..parallel import resolve_workers
from ..remote import is_remote
from .codes import LONG, LONG_BASE, pack
from .layout import (
    FILE_META_KEY,
    META_NAME,
    ChromEntry,
    SourceFile,
    StoreMeta,
    chrom_file,
    select_fields,
    starts_file,
    write_meta,
)

logger = logging.getLogger(__name__)

#: Records converted at a time (the values of a chunk are typed column by column).
CHUNK_RECORDS = 20_000
#: Rows per Parquet row group: the unit a lookup reads and decompresses. Measured on the
#: generated r2.1.1 exomes of `make bench` (43 fields): a 16,384-row group reads in about
#: 5 ms, a quarter of a 65,536-row group, so reading a whole chromosome costs the same
#: while a few queries read 4 times less; the file is 13% larger. 8,192 rows read slower.
ROW_GROUP_ROWS = 16_384
#: zstd level of the chromosome files (higher: smaller files, slower builds; reading
#: speed barely changes).
ZSTD_LEVEL = 9
_REPORT_BYTES = 4 << 20


@dataclass(frozen=True)
class ChromTask:
    """One chromosome to convert: plain, picklable data for a worker process."""

    path: str
    index: str
    contig: str
    chrom: str
    whole_genome: bool
    folder: str
    spec: FieldSpec
    columns: tuple[str, ...]
    file_meta: bytes


@dataclass
class ChromBuilt:
    chrom: str
    variants: int
    records: int
    duplicates: int
    md5: str | None


def build_store(gnomad_dir: str | Path, output: str | Path, *, version: str | None = None,
                dataset: str = "exomes", fields: str | None = None,
                chromosomes: list[str] | None = None, max_workers: int | None = None,
                show_progress: bool = False, force: bool = False, auto_index: bool = True,
                start_method: str | None = None) -> StoreMeta:
    """Convert the release in ``gnomad_dir`` into a store at ``output`` and return its
    metadata. ``fields``: a comma list of canonical fields (default: all of the
    release's); ``chromosomes``: canonical names (default: every one found)."""
    started = time.perf_counter()
    target = Path(output).expanduser()
    if target.is_symlink():  # rebuild the store the link points to; keep the link
        target = target.resolve()
    if is_remote(gnomad_dir):
        msg = (f"{gnomad_dir}: a store is built from local files (each is read whole); "
               "download the release first (e.g. `gsutil -m cp` or `aws s3 cp`)")
        raise StoreError(msg)
    _check_target(target, force, Path(gnomad_dir).expanduser())
    files = discover(gnomad_dir, version=version, dataset=dataset, auto_index=auto_index)
    paths = {c: Path(p) for c, p in files.paths.items()}
    release = files.release
    columns = select_fields(release, fields)
    chroms = _chromosomes(files, chromosomes)
    spec = FieldSpec.from_files(files)
    meta = StoreMeta(release.id, release.dataset, release.build, columns, {}, [],
                     __version__)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part",
                                dir=target.parent))
    done = False
    try:
        whole = {paths[c] for c in chroms
                 if sum(p == paths[c] for p in paths.values()) > 1}
        tasks = [ChromTask(str(paths[c]), str(files.indexes[paths[c]]),
                           files.contigs[c], c, paths[c] in whole, str(tmp), spec,
                           columns, meta.file_meta(c)) for c in chroms]
        sources = {p: p.stat() for p in dict.fromkeys(paths[c] for c in chroms)}
        built, md5s = _run(tasks, sorted(whole), max_workers, show_progress, start_method)
        for c in chroms:
            b = built[c]
            meta.chromosomes[c] = ChromEntry(files.contigs[c], paths[c].name,
                                             b.variants, b.records, b.duplicates)
        for path, stat in sources.items():
            now = path.stat()
            if (now.st_size, now.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns):
                msg = (f"{path} changed while the store was built from it; nothing was "
                       "written: build again once the file is complete")
                raise StoreError(msg)
            digest = md5s.get(str(path)) or built[next(
                c for c in chroms if paths[c] == path)].md5
            assert digest is not None
            meta.sources.append(SourceFile(path.name, stat.st_size, stat.st_mtime_ns, digest))
        meta.build_seconds = round(time.perf_counter() - started, 1)
        write_meta(tmp, meta)
        tmp.chmod(_folder_mode())  # mkdtemp made it private
        _move_into_place(tmp, target, force)
        done = True
    finally:
        if not done:
            shutil.rmtree(tmp, ignore_errors=True)
    return meta


def _check_target(target: Path, force: bool, source: Path) -> None:
    """Refuse an output folder that would hold or replace the source files, or that is
    not a store (``--force`` replaces only a store, or an empty folder)."""
    if target.resolve() == source.resolve() or target.resolve() in source.resolve().parents:
        msg = (f"{target}: the store would replace the folder holding the gnomAD files "
               f"({source}); choose an -o outside it, e.g. {source.resolve().parent}/store")
        raise StoreError(msg)
    if not target.parent.is_dir():
        msg = f"{target}: the folder {target.parent} does not exist; create it first"
        raise StoreError(msg)
    if not os.access(target.parent, os.W_OK):
        msg = f"{target}: cannot write into {target.parent}; choose a writable folder"
        raise StoreError(msg)
    if target.exists() and not force:
        msg = f"{target} already exists; remove it, choose another -o, or pass --force"
        raise StoreError(msg)
    if target.exists() and not target.is_dir():
        msg = f"{target} exists and is not a folder; choose another -o"
        raise StoreError(msg)
    if target.is_dir() and any(target.iterdir()) and not (target / META_NAME).exists():
        msg = (f"{target} is a folder that is not a varidex store (it has no {META_NAME}); "
               "--force replaces only a store: choose another -o, or empty or remove the "
               "folder yourself")
        raise StoreError(msg)


def _chromosomes(files: ReleaseFiles, wanted: list[str] | None) -> list[str]:
    from ..contigs import normalize_chrom

    have = sorted(files.paths, key=contig_rank)
    if not wanted:
        return have
    chosen = list(dict.fromkeys(normalize_chrom(c) for c in wanted))
    missing = [c for c in chosen if c not in files.paths]
    if missing:
        msg = (f"no gnomAD {files.release.key} file for chromosome(s) "
               f"{', '.join(missing)} in {files.directory}; found: {', '.join(have)}")
        raise StoreError(msg)
    return sorted(chosen, key=contig_rank)


def _folder_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask


def _move_into_place(tmp: Path, target: Path, force: bool) -> None:
    old: Path | None = None
    if target.exists():
        if not force:
            msg = f"{target} appeared while building; remove it or pass --force"
            raise StoreError(msg)
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old",
                                    dir=target.parent))
        target.replace(old / target.name)
    tmp.replace(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- running the tasks ------------------------------------------------------------------

_QUEUE: Any = None


def _init_worker(progress: Any) -> None:
    global _QUEUE
    _QUEUE = progress


def _pool_task(task: ChromTask) -> ChromBuilt:
    return build_chromosome(task, _QUEUE.put if _QUEUE is not None else None)


def _pool_md5(path: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with Path(path).open("rb") as handle:
        while chunk := handle.read(8 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _run(tasks: list[ChromTask], whole: list[Path], max_workers: int | None,
         show_progress: bool, start_method: str | None
         ) -> tuple[dict[str, ChromBuilt], dict[str, str]]:
    total = sum(Path(t.path).stat().st_size for t in tasks if not t.whole_genome) + sum(
        p.stat().st_size for p in whole)
    workers = min(resolve_workers(max_workers), max(1, len(tasks)))
    built: dict[str, ChromBuilt] = {}
    md5s: dict[str, str] = {}
    with tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, delay=0.5,
              disable=None if show_progress else True, dynamic_ncols=True,
              desc="store build") as bar:
        if workers == 1:
            for task in tasks:
                built[task.chrom] = build_chromosome(task, bar.update)
            for p in whole:
                md5s[str(p)] = _pool_md5(str(p))
                bar.update(p.stat().st_size)
            return built, md5s
        ctx = multiprocessing.get_context(start_method)
        progress = ctx.Queue()
        with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker,
                                 initargs=(progress,)) as pool:
            futures: dict[Future[Any], ChromTask | Path] = {
                pool.submit(_pool_task, t): t for t in tasks}
            futures.update({pool.submit(_pool_md5, str(p)): p for p in whole})
            try:
                while futures:
                    finished, _ = wait(futures, timeout=0.25, return_when=FIRST_COMPLETED)
                    _drain(progress, bar)
                    for future in finished:
                        item = futures.pop(future)
                        result = _result(future, item)
                        if isinstance(item, Path):
                            md5s[str(item)] = str(result)
                            bar.update(item.stat().st_size)
                        else:
                            built[item.chrom] = result
            finally:
                for future in futures:
                    future.cancel()
            _drain(progress, bar)
    return built, md5s


def _drain(progress: Any, bar: tqdm[Any]) -> None:
    while True:
        try:
            bar.update(progress.get_nowait())
        except queue.Empty:
            return


def _result(future: Future[Any], item: ChromTask | Path) -> Any:
    where = str(item) if isinstance(item, Path) else f"chromosome {item.chrom} ({item.path})"
    try:
        return future.result()
    except BrokenProcessPool as exc:
        msg = (f"a worker process died while converting {where} (killed, or out of "
               "memory?); nothing was written. Retry with fewer --workers")
        raise StoreError(msg) from exc
    except VaridexError:
        raise
    except Exception as exc:
        msg = f"converting {where} failed: {type(exc).__name__}: {exc}"
        raise StoreError(msg) from exc


# --- one chromosome ---------------------------------------------------------------------

def build_chromosome(task: ChromTask,
                     progress: Callable[[int], object] | None = None) -> ChromBuilt:
    """Convert one chromosome into ``task.folder``; ``progress`` is told the compressed
    bytes read."""
    digest = None if task.whole_genome else hashlib.md5(usedforsecurity=False)
    builder = _ChromBuilder(task)
    lines = _tabix_lines(task) if task.whole_genome else _file_lines(
        Path(task.path), digest, progress)
    line: bytes | bytearray = b""
    try:
        for line in lines:
            builder.add(line)
        builder.finish()
    except (ValueError, IndexError, UnicodeDecodeError) as exc:
        if isinstance(exc, BadValue):
            line = f"{task.contig}\t{exc.pos}".encode()
        raise _bad_record(task, line, exc) from exc
    except (OSError, deflate.DeflateError) as exc:
        msg = (f"{task.path}: read error ({type(exc).__name__}: {exc}); the file may be "
               "damaged, truncated or not bgzip-compressed: re-download it")
        raise GnomADFileError(msg) from exc
    finally:
        builder.close()
    return ChromBuilt(task.chrom, builder.variants, builder.records, builder.duplicates,
                      digest.hexdigest() if digest is not None else None)


def _file_lines(path: Path, digest: Any, progress: Callable[[int], object] | None
                ) -> Iterator[bytes | bytearray]:
    """Every record line of a bgzipped file (header lines skipped)."""
    carry: bytes | bytearray = b""
    reported = 0
    for offset, block in iter_blocks(path, on_read=digest.update if digest else None,
                                     check_crc=True):
        data = carry + block if carry else block
        lines = data.split(b"\n")
        carry = lines.pop()
        for line in lines:
            if line and line[:1] != b"#":
                yield line
        if progress is not None and offset - reported >= _REPORT_BYTES:
            progress(offset - reported)
            reported = offset
    if carry and carry[:1] != b"#":
        yield carry
    if progress is not None:
        progress(path.stat().st_size - reported)


def _tabix_lines(task: ChromTask) -> Iterator[bytes]:
    """The records of one contig of a whole-genome file, through its index."""
    try:
        with pysam.TabixFile(task.path, index=task.index) as tbx:
            for line in tbx.fetch(task.contig):
                yield line.encode()
    except (OSError, ValueError, NotImplementedError) as exc:
        msg = f"{task.path}: cannot read contig {task.contig} ({exc}); re-download the file"
        raise GnomADFileError(msg) from exc


def _bad_record(task: ChromTask, line: bytes | bytearray, exc: Exception) -> GnomADFileError:
    cols = bytes(line[:200]).decode("utf-8", "replace").split("\t", 3)
    where = f"{cols[0]}:{cols[1]}" if len(cols) > 1 else "a record"
    msg = (f"{task.path}: malformed record at {where} ({type(exc).__name__}: {exc}); a sites "
           "VCF record needs 8 tab-separated columns, sorted by position, with numeric POS "
           "and INFO values. Re-download the file")
    return GnomADFileError(msg)


@dataclass
class _Rows:
    """Rows in the making: keys and typed values, as numpy arrays."""

    pos: np.ndarray
    code: np.ndarray
    seq: np.ndarray
    ref: np.ndarray
    alt: np.ndarray
    values: list[np.ndarray]

    def take(self, index: np.ndarray | slice) -> _Rows:
        return _Rows(self.pos[index], self.code[index], self.seq[index], self.ref[index],
                     self.alt[index], [v[index] for v in self.values])

    @classmethod
    def join(cls, parts: list[_Rows]) -> _Rows:
        if len(parts) == 1:
            return parts[0]
        return cls(np.concatenate([p.pos for p in parts]),
                   np.concatenate([p.code for p in parts]),
                   np.concatenate([p.seq for p in parts]),
                   np.concatenate([p.ref for p in parts]),
                   np.concatenate([p.alt for p in parts]),
                   [np.concatenate([p.values[k] for p in parts])
                    for k in range(len(parts[0].values))])


@dataclass
class _ChromBuilder:
    task: ChromTask
    records: int = 0
    variants: int = 0
    duplicates: int = 0
    _last_pos: int = 0
    _seq: int = 0
    _next_long: int = 0
    _contig: bytes = b""
    _keys: tuple[str, ...] = ()
    _chunk: list[tuple[int, str, str, int, int, str, tuple[str | None, ...]]] = field(
        default_factory=list)
    _held: _Rows | None = None
    _out: list[_Rows] = field(default_factory=list)
    _out_rows: int = 0
    _starts_pos: array[int] = field(default_factory=lambda: array("i"))
    _starts_base: array[int] = field(default_factory=lambda: array("B"))
    _writer: pq.ParquetWriter | None = None
    _schema: pa.Schema | None = None
    _kinds: tuple[str, ...] = ()
    _picked: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        spec = self.task.spec
        self._contig = self.task.contig.encode()
        self._keys = spec.wanted
        self._kinds = tuple(column_kind(c) for c in self.task.columns)
        self._picked = tuple(spec.columns.index(c) for c in self.task.columns)
        self._schema = _schema(self.task)

    def add(self, line: bytes | bytearray) -> None:
        """One record line: keyed per ALT as the VCF path keys it."""
        cols = line.split(b"\t", 8)
        if len(cols) < 8:
            msg = f"{len(cols)} tab-separated columns, not 8 or more"
            raise ValueError(msg)
        if cols[0] != self._contig:
            return  # another contig's record: the VCF path never reads it either
        raw_pos = int(cols[1])
        if raw_pos < self._last_pos:
            msg = f"POS {raw_pos} after {self._last_pos}: the file is not sorted"
            raise ValueError(msg)
        ref = cols[3].decode("utf-8", "replace")
        self.records += 1
        if raw_pos != self._last_pos or not self._starts_pos:
            # gnomAD's REF base where records start: the build guard compares queries to it.
            first = ref[:1].upper()
            self._starts_pos.append(raw_pos)
            self._starts_base.append(ord(first) if first and first.isascii() else 0)
        self._last_pos = raw_pos
        alts = cols[4].decode("utf-8", "replace").split(",")
        raws: tuple[str | None, ...] | None = None
        for alt_index, alt in enumerate(alts):
            if len(ref) == 1 and len(alt) == 1 and ref.isupper() and alt.isupper():
                key = (raw_pos, ref, alt)
            else:
                p, r, a, skip = normalize_variant(raw_pos, ref, alt)
                if skip is not None:
                    continue
                key = (p, r, a)
            if raws is None:
                raws = extract(cols[7].decode("utf-8", "replace"), self._keys)
            self._chunk.append((*key, alt_index, len(alts), cols[6].decode(
                "utf-8", "replace"), raws))
        if len(self._chunk) >= CHUNK_RECORDS:
            self._convert()

    def _convert(self) -> None:
        """Type the chunk's values, then emit every row no later record can precede."""
        chunk, self._chunk = self._chunk, []
        if chunk:
            n = len(chunk)
            pos = np.fromiter((c[0] for c in chunk), dtype=np.int64, count=n)
            ref = np.array([c[1] for c in chunk], dtype=object)
            alt = np.array([c[2] for c in chunk], dtype=object)
            built = build_columns(self.task.spec, raw_hits(
                self.task.spec, np.full(n, self.task.chrom, dtype=object), pos,
                [c[6] for c in chunk], [c[3] for c in chunk], [c[4] for c in chunk],
                [c[5] for c in chunk]))
            rows = _Rows(pos, pack(ref, alt), np.arange(self._seq, self._seq + n), ref, alt,
                         [built[k] for k in self._picked])
            self._seq += n
            self._held = rows if self._held is None else _Rows.join([self._held, rows])
        if self._held is None:
            return
        # Every later record starts at or after _last_pos, and so do its minimal alleles.
        ready = self._held.pos < self._last_pos
        if ready.any():
            self._emit(self._held.take(np.flatnonzero(ready)))
            self._held = self._held.take(np.flatnonzero(~ready))

    def finish(self) -> None:
        self._convert()
        if self._held is not None and len(self._held.pos):
            self._emit(self._held)
            self._held = None
        self._flush(final=True)
        if self._writer is None:  # no allele at all: an empty file still says so
            assert self._schema is not None
            self._writer = _writer(self.task, self._schema)
        _write_starts(self.task, self._starts_pos, self._starts_base)

    def _emit(self, rows: _Rows) -> None:
        """Sort rows by (position, allele code), number long alleles, drop duplicates."""
        code = np.where(rows.code == LONG, LONG_BASE, rows.code)
        rows = rows.take(np.lexsort((rows.seq, code, rows.pos)))
        code = np.where(rows.code == LONG, LONG_BASE, rows.code)
        longs = np.flatnonzero(code == LONG_BASE)
        if len(longs):
            ids: dict[tuple[int, str, str], int] = {}
            for i in longs.tolist():
                key = (int(rows.pos[i]), rows.ref[i], rows.alt[i])
                if key not in ids:
                    ids[key] = LONG_BASE + self._next_long
                    self._next_long += 1
                code[i] = ids[key]
            rows.code = code
            rows = rows.take(np.lexsort((rows.seq, rows.code, rows.pos)))
        # Equal keys are now adjacent, earliest record first: keep the first, as the VCF
        # path does, and count the others.
        same = np.zeros(len(rows.pos), dtype=bool)
        same[1:] = (rows.pos[1:] == rows.pos[:-1]) & (rows.code[1:] == rows.code[:-1])
        run = np.cumsum(~same) - 1
        keep = np.flatnonzero(~same)
        extra = np.bincount(run, minlength=len(keep)) - 1
        rows = rows.take(keep)
        rows.seq = extra  # from here on: how many later records repeated the key
        self.duplicates += int(extra.sum())
        self._out.append(rows)
        self._out_rows += len(keep)
        self._flush()

    def _flush(self, *, final: bool = False) -> None:
        if not self._out or (self._out_rows < ROW_GROUP_ROWS and not final):
            return
        rows = _Rows.join(self._out)
        stop = len(rows.pos) if final else len(rows.pos) - len(rows.pos) % ROW_GROUP_ROWS
        for start in range(0, stop, ROW_GROUP_ROWS):
            self._write(rows.take(slice(start, min(start + ROW_GROUP_ROWS, stop))))
        rest = rows.take(slice(stop, None))
        self._out = [rest] if len(rest.pos) else []
        self._out_rows = len(rest.pos)

    def _write(self, rows: _Rows) -> None:
        assert self._schema is not None
        arrays = [pa.array(rows.pos, pa.int32()), pa.array(rows.code, pa.int64()),
                  pa.array(rows.ref, pa.string()), pa.array(rows.alt, pa.string()),
                  pa.array(rows.seq, pa.int32())]
        for values, kind in zip(rows.values, self._kinds, strict=True):
            arrays.append(_arrow(values, kind))
        table = pa.Table.from_arrays(arrays, schema=self._schema)
        if self._writer is None:
            self._writer = _writer(self.task, self._schema)
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.variants += len(rows.pos)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _arrow(values: np.ndarray, kind: str) -> pa.Array:
    if kind == "str":
        return pa.array(values, pa.string())
    missing = np.isnan(values)
    if kind == "int":
        return pa.array(np.where(missing, 0, values).astype(np.int64), pa.int64(),
                        mask=missing)
    return pa.array(values, pa.float64(), mask=missing)


def _schema(task: ChromTask) -> pa.Schema:
    types = {"str": pa.string(), "int": pa.int64(), "float": pa.float64()}
    fields = [pa.field("pos", pa.int32(), nullable=False),
              pa.field("allele", pa.int64(), nullable=False),
              pa.field("ref", pa.string(), nullable=False),
              pa.field("alt", pa.string(), nullable=False),
              pa.field("duplicates", pa.int32(), nullable=False)]
    fields += [pa.field(c, types[column_kind(c)]) for c in task.columns]
    return pa.schema(fields, metadata={FILE_META_KEY: task.file_meta})


def _writer(task: ChromTask, schema: pa.Schema) -> pq.ParquetWriter:
    # Dictionary pages for every column but the positions (Parquet falls back to plain
    # pages where a dictionary grows too large), delta-encoded positions, zstd. Measured on
    # the benchmark release: smaller and faster to read than byte-stream-split floats.
    return pq.ParquetWriter(
        str(Path(task.folder) / chrom_file(task.chrom)), schema, compression="zstd",
        compression_level=ZSTD_LEVEL,
        use_dictionary=[n for n in schema.names if n != "pos"],
        column_encoding={"pos": "DELTA_BINARY_PACKED"},
        sorting_columns=[pq.SortingColumn(0), pq.SortingColumn(1)],
        write_statistics=["pos"], write_page_checksum=True)


def _write_starts(task: ChromTask, positions: array[int], bases: array[int]) -> None:
    table = pa.table({"pos": pa.array(np.frombuffer(positions, dtype=np.int32)),
                      "base": pa.array(np.frombuffer(bases, dtype=np.uint8))},
                     metadata={FILE_META_KEY: task.file_meta})
    pq.write_table(table, str(Path(task.folder) / starts_file(task.chrom)),
                   compression="zstd", compression_level=ZSTD_LEVEL, use_dictionary=["base"],
                   column_encoding={"pos": "DELTA_BINARY_PACKED"}, write_page_checksum=True)
