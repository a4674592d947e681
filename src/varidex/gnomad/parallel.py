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

from .engine import ChunkResult, ChunkTask, close_handles, run_chunk
from .errors import VaridexError, WorkerError


class Executor(Protocol):
    """Runs chunk tasks and yields their results as they complete."""

    def run(self, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]: ...

    def close(self) -> None: ...


class SerialExecutor:
    """Runs every chunk in this process, one after another."""

    def run(self, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]:
        for task in tasks:
            yield run_chunk(task)

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
                 fn: Callable[[ChunkTask], ChunkResult] = run_chunk) -> None:
        self.workers = workers
        self.start_method = start_method
        self.in_flight = in_flight or 3 * workers
        self._fn = fn
        self._pool: ProcessPoolExecutor | None = None

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
        return self._pool

    def run(self, tasks: Iterable[ChunkTask]) -> Iterator[ChunkResult]:
        pool = self._get_pool()
        pending: dict[Future[ChunkResult], ChunkTask] = {}
        source = iter(tasks)
        exhausted = False
        try:
            while True:
                while not exhausted and len(pending) < self.in_flight:
                    task = next(source, None)
                    if task is None:
                        exhausted = True
                        break
                    pending[pool.submit(self._fn, task)] = task
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    task = pending.pop(future)
                    yield self._result(future, task)
        finally:
            for future in pending:
                future.cancel()

    def _result(self, future: Future[ChunkResult], task: ChunkTask) -> ChunkResult:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            self._discard_pool()
            msg = (f"a worker process died while annotating {task.describe()} (killed, or "
                   "out of memory?); no output was written. Retry with fewer workers")
            raise WorkerError(msg) from exc
        except VaridexError:
            raise
        except Exception as exc:
            msg = f"a worker failed on {task.describe()}: {type(exc).__name__}: {exc}"
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
