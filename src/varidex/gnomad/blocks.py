"""varidex's own block index and reader for bgzipped gnomAD files.

A BGZF file is a series of independently deflated blocks of at most 64 KB. gnomAD rows are
5-25 KB, so a block holds a handful of rows, and a tabix window of 16 kb of the genome can
hold hundreds. The block index (``FILE.vdx``, written by ``varidex index``) records, for
each block where a record starts, the block's file offset, where in the block the first
record starts, and that record's contig and position. A lookup then reads exactly the
blocks whose records can match, in one sequential read, and inflates each block once with
libdeflate (the library htslib itself uses for speed).
"""

from __future__ import annotations

import bisect
import logging
import os
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import deflate
import numpy as np

from ._scan import bgzf_blocks
from .errors import GnomADFileError

logger = logging.getLogger(__name__)

INDEX_SUFFIX = ".vdx"
_FORMAT_VERSION = 3
_HEADER = struct.Struct("<4BI2BH")  # ID1 ID2 CM FLG MTIME XFL OS XLEN
_BLOCK_READ = 8 << 20  # bytes read at a time when scanning a whole file


@dataclass(frozen=True)
class ContigBlocks:
    """Blocks where records of one contig start, in file order."""

    offsets: np.ndarray      # compressed offset of the block
    starts: np.ndarray       # offset in the inflated block of its first record of this contig
    first_pos: np.ndarray    # POS of that record
    reach: np.ndarray        # last base covered by any record starting in this or an earlier
                             # block (POS + len(REF) - 1, running maximum)
    end: int = -1            # block where the next contig starts (-1: the contig ends the file)


@dataclass(frozen=True)
class BlockIndex:
    path: str
    file_size: int
    mtime_ns: int
    contigs: dict[str, ContigBlocks]

    def reads(self, contig: str, start: int, end: int) -> tuple[int, int, int, bool] | None:
        """What to read for the records of ``contig`` that overlap ``start..end`` (1-based):
        ``(first, stop, skip, at_eof)``. The blocks in ``[first, stop)`` hold the start of
        each such record (reading starts ``skip`` bytes into the first, inflated). Unless
        ``at_eof``, the last record starting before ``stop`` ends in the block at ``stop``,
        to be read only when that record can matter. None when the contig has no records."""
        blocks = self.contigs.get(contig)
        if blocks is None:
            return None
        # The first block holding a record that reaches start: every record starting in an
        # earlier block ends before it.
        i = min(bisect.bisect_left(blocks.reach, start), len(blocks.offsets) - 1)
        j = bisect.bisect_right(blocks.first_pos, end)
        if j <= i:
            j = i + 1
        # Block j is the first whose records all start after end; past the contig's last
        # block, it is the block where the next contig starts.
        stop = int(blocks.offsets[j]) if j < len(blocks.offsets) else blocks.end
        if stop < 0:
            return int(blocks.offsets[i]), self.file_size, int(blocks.starts[i]), True
        return int(blocks.offsets[i]), stop, int(blocks.starts[i]), False

    def span(self, contig: str, start: int, end: int) -> tuple[int, int, int] | None:
        """Compressed byte range ``[first, last)`` whose records include every record of
        ``contig`` that overlaps ``start..end`` (1-based), read through the block where the
        last of them ends, and the offset in the first inflated block where reading starts.
        None when the contig has no records."""
        found = self.reads(contig, start, end)
        if found is None:
            return None
        first, stop, skip, at_eof = found
        return first, stop if at_eof else _block_end(self.path, stop), skip


def _block_end(path: str, offset: int) -> int:
    with Path(path).open("rb") as handle:
        handle.seek(offset)
        head = handle.read(18)
    return offset + _bsize(head, path, offset) + 1


def _bsize(head: bytes, path: str, offset: int) -> int:
    if len(head) < 18 or head[:4] != b"\x1f\x8b\x08\x04" or head[12:14] != b"BC":
        msg = (f"{path}: no BGZF block at byte {offset}; the file changed since its block "
               "index was written, or is not bgzip: rebuild with `varidex index --force`")
        raise GnomADFileError(msg)
    return int.from_bytes(head[16:18], "little")


def inflate_blocks(data: bytes, path: str, base: int) -> Iterator[bytes | bytearray]:
    """Inflate consecutive BGZF blocks held in ``data`` (read from ``base`` in ``path``)."""
    try:
        bounds = np.frombuffer(bgzf_blocks(data), dtype=np.int64).reshape(-1, 3).tolist()
    except ValueError as exc:
        problem, at = exc.args
        if problem == "truncated":
            msg = f"{path}: truncated BGZF block at byte {base + at}; re-download the file"
        else:
            msg = (f"{path}: no BGZF block at byte {base + at}; the file changed since its "
                   "block index was written, or is not bgzip: rebuild with `varidex index "
                   "--force`")
        raise GnomADFileError(msg) from None
    view = memoryview(data)
    for start, end, isize in bounds:
        if isize:
            try:
                yield deflate.deflate_decompress(view[start + 18:end - 8], isize)
            except deflate.DeflateError as exc:
                msg = f"{path}: corrupt BGZF block at byte {base + start} ({exc}); re-download"
                raise GnomADFileError(msg) from exc


class Feedable(Protocol):
    def feed(self, buffer: bytes | bytearray, skip: int = 0, /) -> None: ...

    def needs_more(self) -> bool: ...


# Data file descriptors, opened once per process. Reads use pread, which moves no file
# offset, so a descriptor inherited by a forked worker is as good as its own.
_FILES: dict[str, int] = {}
_MAX_BLOCK = 1 << 16  # a BGZF block is at most 64 KiB, compressed


def _fd(path: str) -> int:
    fd = _FILES.get(path)
    if fd is None:
        fd = _FILES[path] = os.open(path, os.O_RDONLY)
    return fd


def close_files() -> None:
    """Close this process's cached data file descriptors."""
    while _FILES:
        os.close(_FILES.popitem()[1])


def feed_blocks(path: str, reads: tuple[int, int, int, bool], scanner: Feedable) -> bool:
    """Feed the blocks of ``reads`` (see :meth:`BlockIndex.reads`) to ``scanner``, inflated,
    each once; the block at ``stop`` only if the record it completes may hold a query.
    Returns whether the text fed ends the file (a last line without newline is a record)."""
    first, stop, skip, at_eof = reads
    fd = _fd(path)
    data = os.pread(fd, stop - first, first)
    if len(data) < stop - first:
        msg = f"{path}: truncated at byte {first + len(data)}; re-download the file"
        raise GnomADFileError(msg)
    for k, block in enumerate(inflate_blocks(data, path, first)):
        scanner.feed(block, skip if k == 0 else 0)
    if not at_eof and scanner.needs_more():
        data = os.pread(fd, _MAX_BLOCK, stop)
        size = _bsize(data[:18], path, stop) + 1
        for block in inflate_blocks(data[:size], path, stop):
            scanner.feed(block)
    return at_eof


def index_path(data: Path) -> Path:
    return data.with_name(data.name + INDEX_SUFFIX)


def iter_blocks(data: Path, *, on_read: Callable[[bytes], object] | None = None,
                check_crc: bool = False) -> Iterator[tuple[int, bytes | bytearray]]:
    """Every block of a BGZF file, inflated, with its compressed offset. ``on_read`` sees
    every compressed byte once, in order (to checksum the file in the same pass);
    ``check_crc`` compares each block with its CRC32 (damaged deflate data can inflate
    without an error)."""
    offset = 0
    pending = b""
    with data.open("rb") as handle:
        while True:
            chunk = handle.read(_BLOCK_READ)
            if on_read is not None:
                on_read(chunk)
            buf = pending + chunk if pending else chunk
            pos = 0
            while pos + 18 <= len(buf):
                bsize = _bsize(buf[pos:pos + 18], str(data), offset + pos)
                end = pos + bsize + 1
                if end > len(buf):
                    break
                isize = int.from_bytes(buf[end - 4:end], "little")
                if isize:
                    block = deflate.deflate_decompress(buf[pos + 18:end - 8], isize)
                    if check_crc and deflate.crc32(block) != int.from_bytes(
                            buf[end - 8:end - 4], "little"):
                        msg = (f"{data}: the BGZF block at byte {offset + pos} fails its "
                               "CRC32 check: the file is damaged; re-download it")
                        raise GnomADFileError(msg)
                    yield offset + pos, block
                pos = end
            pending = buf[pos:]
            offset += pos
            if not chunk:
                if pending:
                    msg = f"{data}: truncated at byte {offset}; re-download the file"
                    raise GnomADFileError(msg)
                return


def build_block_index(data: Path) -> Path:
    """Scan ``data`` once and write its block index beside it (``FILE.vdx``)."""
    stat = data.stat()
    per_contig: dict[str, tuple[list[int], list[int], list[int], list[int]]] = {}
    ends: dict[str, int] = {}
    carry: bytes | bytearray = b""
    in_line = False
    carry_block = carry_start = 0
    try:
        for block_offset, block in iter_blocks(data):
            begin = 0
            if in_line:
                nl = block.find(b"\n")
                if nl < 0:
                    carry += block
                    continue
                _note(per_contig, ends, carry + block[:nl], carry_block, carry_start)
                carry, in_line, begin = b"", False, nl + 1
            while True:
                nl = block.find(b"\n", begin)
                if nl < 0:
                    if begin < len(block):
                        carry, in_line = block[begin:], True
                        carry_block, carry_start = block_offset, begin
                    break
                _note(per_contig, ends, block[begin:nl], block_offset, begin)
                begin = nl + 1
        if in_line:
            _note(per_contig, ends, carry, carry_block, carry_start)
    except (ValueError, UnicodeDecodeError, deflate.DeflateError) as exc:
        msg = f"{data}: cannot index ({exc}); is it a complete, sorted, bgzipped VCF?"
        raise GnomADFileError(msg) from exc
    arrays: dict[str, np.ndarray] = {
        "meta": np.array([_FORMAT_VERSION, stat.st_size, stat.st_mtime_ns], dtype=np.int64)}
    for k, (contig, (offs, starts, poss, reach)) in enumerate(per_contig.items()):
        arrays[f"c{k}_name"] = np.array([contig])
        arrays[f"c{k}_offsets"] = np.array(offs, dtype=np.int64)
        arrays[f"c{k}_starts"] = np.array(starts, dtype=np.int64)
        arrays[f"c{k}_first_pos"] = np.array(poss, dtype=np.int64)
        arrays[f"c{k}_reach"] = np.maximum.accumulate(np.array(reach, dtype=np.int64))
        arrays[f"c{k}_end"] = np.array([ends.get(contig, -1)], dtype=np.int64)
    out = index_path(data)
    tmp = out.with_name(out.name + ".part.npz")
    np.savez(tmp, **arrays)  # type: ignore[arg-type]
    tmp.replace(out)
    return out


def _note(per_contig: dict[str, tuple[list[int], list[int], list[int], list[int]]],
          ends: dict[str, int], line: bytes | bytearray, block_offset: int,
          start: int) -> None:
    """Record one line: the first line of each contig in each block is indexed, and the
    block where each contig's successor starts."""
    if not line or line[:1] == b"#":
        return
    cols = line.split(b"\t", 4)
    if len(cols) < 5:
        msg = f"malformed record (fewer than 5 columns): {bytes(line[:80])!r}"
        raise ValueError(msg)
    contig = cols[0].decode()
    entry = per_contig.get(contig)
    if entry is None:
        for previous in per_contig:
            ends.setdefault(previous, block_offset)
        entry = per_contig[contig] = ([], [], [], [])
    offs, starts, poss, reach = entry
    pos = int(cols[1])
    end = pos + len(cols[3]) - 1
    if not offs or offs[-1] != block_offset:
        offs.append(block_offset)
        starts.append(start)
        poss.append(pos)
        reach.append(end)
    elif end > reach[-1]:
        reach[-1] = end


def load_block_index(data: Path) -> BlockIndex | None:
    """The block index beside ``data``; None if there is none, or if it is unreadable or was
    written for another version of the file (then a warning says how to rebuild it, and
    lookups go through tabix)."""
    path = index_path(data)
    if not path.exists():
        return None
    problem = ""
    contigs: dict[str, ContigBlocks] = {}
    stat = data.stat()
    try:
        with path.open("rb") as handle, np.load(handle) as z:
            meta = z["meta"]
            if int(meta[0]) != _FORMAT_VERSION:
                problem = "written by another varidex version"
            elif int(meta[1]) != stat.st_size or int(meta[2]) != stat.st_mtime_ns:
                problem = f"written for another version of {data.name} (size or time differ)"
            k = 0
            while not problem and f"c{k}_name" in z:
                contigs[str(z[f"c{k}_name"][0])] = ContigBlocks(
                    z[f"c{k}_offsets"], z[f"c{k}_starts"], z[f"c{k}_first_pos"],
                    z[f"c{k}_reach"], int(z[f"c{k}_end"][0]))
                k += 1
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        problem = f"unreadable ({exc})"
    if problem:
        logger.warning("%s: block index %s; reading through tabix instead. Rebuild it with "
                       "`varidex index --force %s`", path, problem, data.parent)
        return None
    return BlockIndex(str(data), stat.st_size, stat.st_mtime_ns, contigs)
