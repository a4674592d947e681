"""Executors that run chunk tasks: in this process, or in a local process pool.

Both yield results as chunks complete (order is restored by row index later), keep a
bounded number of chunks in flight, and turn a worker's death or exception into a
:class:`~varidex.gnomad.errors.WorkerError` naming the chunk.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from .engine import ChunkResult, ChunkTask, close_handles, run_chunks
from .errors import VaridexError, WorkerError


def run_unit(tasks: list[ChunkTask]) -> list[ChunkResult]:
    """Run several chunks in one worker call; their columns travel back as one result."""
    return [run_chunks(tasks)]


def _units(tasks: Iterable[ChunkTask], unit_queries: int) -> Iterator[list[ChunkTask]]:
    unit: list[ChunkTask] = []
    size = 0
    for task in tasks:
        unit.append(task)
        size += len(task.pos)
        if size >= unit_queries:
            yield unit
            unit, size = [], 0
    if unit:
        yield unit


class Executor(Protocol):
    """Runs chunk tasks and yields their results as they complete."""

    def run(self, tasks: Iterable[ChunkTask], *,
            unit_queries: int = 1) -> Iterator[ChunkResult]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs every chunk in this process, one after another."""

    def run(self, tasks: Iterable[ChunkTask], *,
            unit_queries: int = 1) -> Iterator[ChunkResult]:
        for unit in _units(tasks, unit_queries):
            yield run_chunks(unit)

    def close(self) -> None:
        close_handles()


def resolve_workers(max_workers: int | None) -> int:
    """``None`` means every CPU; values below 1 are refused."""
    if max_workers is None:
        return os.cpu_count() or 1
    if max_workers < 1:
        msg = f"max_workers must be 1 or more (or None for all CPUs), not {max_workers}"
        raise ValueError(msg)
    return max_workers


class ProcessExecutor:
    """A local process pool; each worker keeps its own tabix handles."""

    def __init__(self, workers: int, *, start_method: str | None = None,
                 in_flight: int | None = None,
                 fn: Callable[[list[ChunkTask]], list[ChunkResult]] | None = None) -> None:
        self.workers = workers
        self.start_method = start_method
        self.in_flight = in_flight or 3 * workers
        self._fn = fn or run_unit
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def run(self, tasks: Iterable[ChunkTask], *,
            unit_queries: int = 1) -> Iterator[ChunkResult]:
        """Send chunks in work units of about ``unit_queries`` queries (fewer, larger
        messages between processes), at most ``in_flight`` units at a time."""
        pool = self._get_pool()
        pending: dict[Future[list[ChunkResult]], list[ChunkTask]] = {}
        units = _units(tasks, unit_queries)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.in_flight:
                    unit = next(units, None)
                    if unit is None:
                        exhausted = True
                        break
                    pending[pool.submit(self._fn, unit)] = unit
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = pending.pop(future)
                    yield from self._result(future, unit)
        finally:
            for future in pending:
                future.cancel()

    def _result(self, future: Future[list[ChunkResult]],
                unit: list[ChunkTask]) -> list[ChunkResult]:
        where = unit[0].describe() if len(unit) == 1 else (
            f"{len(unit)} chunks from {unit[0].describe()} to {unit[-1].describe()}")
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._discard_pool()
            msg = (f"a worker process died while annotating {where} (killed, or out of "
                   "memory?); no output was written. Retry with fewer workers")
            raise WorkerError(msg) from exc
        except VaridexError:
            raise
        except Exception as exc:
            msg = f"a worker failed on {where}: {type(exc).__name__}: {exc}"
            raise WorkerError(msg) from exc

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        close_handles()
