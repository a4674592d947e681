"""Executors that run chunk tasks: in this process, or in a local process pool.

Both yield results as chunks complete (order is restored by row index later), keep a
bounded number of chunks in flight, and turn a worker's death or exception into a
:class:`~varidex.gnomad.errors.WorkerError` naming the chunk.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from .engine import ChunkResult, ChunkTask, close_handles, run_chunks
from .errors import VaridexError, WorkerError
from .signals import held


def run_unit(tasks: list[ChunkTask]) -> list[ChunkResult]:
    """Run several chunks in one worker call; their columns travel back as one result."""
    return [run_chunks(tasks)]


logger = logging.getLogger(__name__)


def _worker_signals() -> None:
    """Workers leave Ctrl-C to the main process (which stops the pool and removes its
    temporary output) and die quietly on SIGTERM, whatever handlers the parent had."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _where(unit: list[ChunkTask]) -> str:
    if len(unit) == 1:
        return f"chunk {unit[0].describe()}"
    first, last = unit[0], unit[-1]
    if first.path == last.path:
        return (f"{len(unit)} chunks of {first.path} ({first.contig}:{first.start0 + 1} to "
                f"{last.contig}:{last.end}, {sum(len(t.pos) for t in unit)} variants)")
    return f"{len(unit)} chunks from {first.describe()} to {last.describe()}"


#: The smallest work unit the end of a run is cut into (queries).
MIN_UNIT = 200


def _units(tasks: Iterable[ChunkTask], unit_queries: int,
           workers: int = 0) -> Iterator[list[ChunkTask]]:
    """The tasks in work units of about ``unit_queries`` queries.

    For ``workers`` > 0 and a list of tasks, the units shrink toward the end, each at most
    the queries left over twice the workers: the workers then finish together, instead of
    one running the last large unit while the others wait (at 100k queries on 2 workers,
    the last 0.6 s ran on one core)."""
    left = sum(len(t.pos) for t in tasks) if workers and isinstance(tasks, list) else None
    unit: list[ChunkTask] = []
    size = 0
    for task in tasks:
        unit.append(task)
        size += len(task.pos)
        limit = unit_queries if left is None else max(
            MIN_UNIT, min(unit_queries, left // (2 * workers)))
        if size >= limit:
            yield unit
            if left is not None:
                left -= size
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


#: Most worker processes per CPU: lookups are CPU-bound, more only cost memory.
WORKERS_PER_CPU = 4


def resolve_workers(max_workers: int | None) -> int:
    """``None`` means every CPU; values below 1 are refused; more than
    :data:`WORKERS_PER_CPU` per CPU are cut down, with a warning (each worker is a process
    with its own memory: thousands would exhaust the machine)."""
    cpus = os.cpu_count() or 1
    if max_workers is None:
        return cpus
    if max_workers < 1:
        msg = f"max_workers must be 1 or more (or None for all CPUs), not {max_workers}"
        raise ValueError(msg)
    if max_workers > WORKERS_PER_CPU * cpus:
        logger.warning("%d workers asked for on %d CPUs; using %d (lookups are CPU-bound: "
                       "more processes only use memory)", max_workers, cpus,
                       WORKERS_PER_CPU * cpus)
        return WORKERS_PER_CPU * cpus
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
        self._seen: dict[int, multiprocessing.process.BaseProcess] = {}

    def _get_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx,
                                             initializer=_worker_signals)
            self._seen = {}
        return self._pool

    def run(self, tasks: Iterable[ChunkTask], *,
            unit_queries: int = 1) -> Iterator[ChunkResult]:
        """Send chunks in work units of about ``unit_queries`` queries (fewer, larger
        messages between processes), at most ``in_flight`` units at a time."""
        pool = self._get_pool()
        pending: dict[Future[list[ChunkResult]], list[ChunkTask]] = {}
        units = _units(tasks, unit_queries, self.workers)
        exhausted = False
        interrupted = False
        try:
            while True:
                while not exhausted and len(pending) < self.in_flight:
                    unit = next(units, None)
                    if unit is None:
                        exhausted = True
                        break
                    try:
                        # Ctrl-C during the fork raised KeyboardInterrupt inside logging's fork
                        # hooks, where Python prints and drops it: held until the fork is done
                        with held():
                            future = pool.submit(self._fn, unit)
                        pending[future] = unit
                        self._seen.update(getattr(pool, "_processes", None) or {})
                    except BrokenProcessPool as exc:  # died while idle (between batches)
                        raise self._died(unit, len(pending), when="before sending") from exc
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = pending.pop(future)
                    yield from self._result(future, unit, len(pending))
        except BaseException as exc:
            # KeyboardInterrupt, or the CLI's exception for SIGTERM
            interrupted = not isinstance(exc, (Exception, GeneratorExit))
            raise
        finally:
            # Not after Ctrl-C or SIGTERM: the workers may be dying from the same signal,
            # and Python 3.10-3.11's pool then sets an error on every pending future, and
            # fails (a traceback in its thread) on one cancelled just before.
            if not interrupted:
                for future in pending:
                    future.cancel()

    def _result(self, future: Future[list[ChunkResult]], unit: list[ChunkTask],
                others: int) -> list[ChunkResult]:
        try:
            return future.result()
        except BrokenProcessPool as exc:
            raise self._died(unit, others, when="while annotating") from exc
        except VaridexError:
            raise
        except Exception as exc:
            msg = f"a worker failed on {_where(unit)}: {type(exc).__name__}: {exc}"
            raise WorkerError(msg) from exc

    def _died(self, unit: list[ChunkTask], others: int, *, when: str) -> WorkerError:
        """The error for a pool whose worker died; the pool is discarded."""
        how = "died"
        for process in self._seen.values():
            process.join(1)  # reap it, so its exit code is known
        codes = [p.exitcode for p in self._seen.values() if p.exitcode not in (None, 0)]
        # the pool ends the surviving workers with SIGTERM: name the first death's cause
        codes.sort(key=lambda code: code == -signal.SIGTERM)
        if codes and codes[0] < 0:
            try:
                how = f"was killed by {signal.Signals(-codes[0]).name}"
            except ValueError:
                how = f"was killed by signal {-codes[0]}"
        elif codes:
            how = f"exited with code {codes[0]}"
        self._discard_pool()
        also = f" (and {others} other work unit(s) in flight)" if others else ""
        msg = (f"a worker process {how} {when} {_where(unit)}{also}; killed, or out of "
               "memory? The lookup was stopped with no partial result; run again, with fewer "
               "--workers if memory is short")
        return WorkerError(msg)

    def _discard_pool(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        close_handles()

    def abort(self) -> None:
        """Stop the workers without waiting for them (the run was interrupted): a worker
        killed while it sent a result leaves the pool's reader waiting forever for the
        rest of the message, so the pool cannot be shut down in order."""
        if self._pool is not None:
            # also those forked just now, before the interruption let them be noted
            known = {**self._seen, **(getattr(self._pool, "_processes", None) or {})}
            for process in known.values():
                if process.exitcode is None:
                    process.kill()
            self._pool.shutdown(wait=False, cancel_futures=False)  # see run()
            self._pool = None
        close_handles()
