"""Writing bgzip (BGZF) files with libdeflate, several blocks at a time in threads.

pysam's ``BGZFile`` compresses with zlib on the calling thread: 10 s of a 1M-variant
``.vcf.gz`` run went there. BGZF (SAM/BAM format specification, section 4.1) is a series of
independent gzip members of at most 64 KiB, each carrying its size in a ``BC`` extra
field, ended by a fixed empty member; so the blocks can be compressed apart, by libdeflate
(the ``deflate`` package, already used to read gnomAD's blocks), which releases the GIL.
htslib (tabix, bcftools, pysam) and gzip read the result.
"""

from __future__ import annotations

import os
import struct
import zlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

import deflate

#: Uncompressed bytes per block: what htslib puts in one, so that even incompressible data
#: fits a block's 64 KiB once stored.
BLOCK_DATA = 0xFF00
#: The empty block that ends every BGZF file.
EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
#: zlib's default, which bgzip and htslib use.
LEVEL = 6
#: Blocks compressed per round of the thread pool.
_ROUND = 64


def compress_block(data: bytes | memoryview) -> bytes:
    """One BGZF block holding ``data`` (at most :data:`BLOCK_DATA` bytes)."""
    raw: bytes | bytearray = deflate.deflate_compress(data, LEVEL)
    if len(raw) > 0x10000 - 26:  # incompressible: stored deflate blocks
        packer = zlib.compressobj(0, zlib.DEFLATED, -15)
        raw = packer.compress(data) + packer.flush()
    size = len(raw) + 25  # BSIZE: the block's total size minus 1
    header = struct.pack("<4BI2BH2BHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, 66, 67, 2, size)
    return header + raw + struct.pack("<II", deflate.crc32(data), len(data))


class BgzfWriter:
    """A binary file handle that writes BGZF to ``raw`` (an open binary file it closes).

    ``write`` buffers; full blocks are compressed :data:`_ROUND` at a time by ``threads``
    threads while the next ones are filled. ``write_blocks`` appends blocks compressed
    elsewhere (after the pending data has been put into a block of its own)."""

    def __init__(self, raw: IO[bytes], *, threads: int | None = None) -> None:
        self.raw = raw
        self._buffer = bytearray()
        workers = threads if threads is not None else min(4, os.cpu_count() or 1)
        self._pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="varidex-bgzf")
        self._pending: list[Future[bytes]] = []
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self._buffer += data
        if len(self._buffer) >= BLOCK_DATA * _ROUND:
            self._submit(full_only=True)
        return len(data)

    def _submit(self, *, full_only: bool) -> None:
        self._drain()  # one round in flight: memory stays at a few MB
        view = bytes(self._buffer)
        end = len(view) - len(view) % BLOCK_DATA if full_only else len(view)
        self._pending = [self._pool.submit(compress_block, view[i:i + BLOCK_DATA])
                         for i in range(0, end, BLOCK_DATA)]
        del self._buffer[:end]

    def _drain(self) -> None:
        pending, self._pending = self._pending, []
        for future in pending:
            self.raw.write(future.result())

    def flush_blocks(self) -> None:
        """Compress and write everything buffered, ending the current block."""
        self._submit(full_only=False)
        self._drain()

    def write_blocks(self, blocks: bytes) -> None:
        """Append whole BGZF blocks (without the end-of-file block)."""
        self.flush_blocks()
        self.raw.write(blocks)

    def close(self, *, eof: bool = True, close_raw: bool = True) -> None:
        """Write what is buffered and (unless ``eof`` is False: a part to be appended to
        another BGZF stream with :meth:`write_blocks`) the end-of-file block; close ``raw``
        unless ``close_raw`` is False."""
        if self.closed:
            return
        self.closed = True
        try:
            self.flush_blocks()
            if eof:
                self.raw.write(EOF_BLOCK)
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)
            if close_raw:
                self.raw.close()

    def __enter__(self) -> BgzfWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
