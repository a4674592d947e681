"""Run the chunk work units on a Dask distributed cluster instead of the local process pool.

Optional: ``pip install 'varidex[dask]'`` (``distributed`` is imported only when a
scheduler is given). The work units are the local pool's (:func:`.parallel.run_unit`):
plain, picklable chunk tasks; each Dask worker opens and keeps its own file handles (one
per thread). Results come back as units complete, in any order, and are placed by row
number, so they are identical to a local run.

A worker that dies (killed, out of memory) takes its unit with it: the scheduler runs the
unit again on another worker, up to Dask's ``distributed.scheduler.allowed-failures``
times (3 by default), then the run stops with a :class:`~.errors.WorkerError` naming the
chunks. Workers must see the gnomAD files at the same path (shared storage), or the files
must be remote (https://, s3://, gs://): each worker then fetches the indexes once into its
own cache.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError
from types import ModuleType
from typing import Any

from varidex import __version__

from .engine import ChunkResult, ChunkTask
from .errors import (
    ClusterError,
    GnomADFileError,
    MissingDependencyError,
    VaridexError,
    WorkerError,
)
from .parallel import _units, run_unit
from .remote import is_remote

#: Seconds to wait for the scheduler to answer, and for a first worker to join it.
CONNECT_TIMEOUT = 30.0
WORKER_TIMEOUT = 60.0


def distributed_module() -> ModuleType:
    """``dask.distributed``, or an error that says how to install it."""
    try:
        import distributed
    except ImportError:
        msg = ("running on a Dask cluster (--scheduler, scheduler=) needs the optional "
               "dependency 'distributed': pip install 'varidex[dask]'")
        raise MissingDependencyError(msg) from None
    return distributed


def varidex_version() -> str:
    """Run on each worker: the varidex version it imports."""
    return __version__


class DaskExecutor:
    """Runs chunk work units on a Dask cluster.

    ``scheduler`` is an address (``tcp://host:8786``; a client is opened and closed here)
    or a ``distributed.Client`` (used as is, left open). ``fn`` replaces the work function
    (tests use it to kill a worker).
    """

    def __init__(self, scheduler: Any, *, in_flight: int | None = None,
                 fn: Callable[[list[ChunkTask]], list[ChunkResult]] | None = None) -> None:
        distributed = distributed_module()
        self._owned = isinstance(scheduler, str)
        if isinstance(scheduler, str):
            try:
                self.client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT,
                                                 set_as_default=False)
            except (OSError, TimeoutError) as exc:
                msg = (f"cannot reach the Dask scheduler at {scheduler} ({exc}); is "
                       "`dask scheduler` running there, and is the address right "
                       "(tcp://HOST:8786)?")
                raise ClusterError(msg) from exc
        elif isinstance(scheduler, distributed.Client):
            self.client = scheduler
        else:
            msg = (f"scheduler must be an address like 'tcp://host:8786' or a "
                   f"dask.distributed.Client, not {type(scheduler).__name__}")
            raise TypeError(msg)
        self.address = str(self.client.scheduler.address)
        self.in_flight = in_flight
        self._fn = fn or run_unit
        self._ready = False

    @property
    def workers(self) -> int:
        """Worker threads in the cluster now (at least 1)."""
        self._check_workers()
        return max(1, int(sum(self.client.nthreads().values())))

    def _check_workers(self) -> None:
        """At least one worker, and every worker on this varidex version."""
        if self._ready:
            return
        try:
            self.client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        except TimeoutError as exc:
            msg = (f"no Dask worker joined the scheduler at {self.address} within "
                   f"{WORKER_TIMEOUT:.0f} s; start some with `dask worker {self.address} "
                   "--nworkers N --nthreads 1`")
            raise ClusterError(msg) from exc
        try:
            versions = self.client.run(varidex_version)
        except ImportError as exc:
            msg = (f"a Dask worker of {self.address} cannot import varidex ({exc}); install "
                   f"varidex {__version__} in every worker's environment")
            raise ClusterError(msg) from exc
        other = {w: v for w, v in versions.items() if v != __version__}
        if other:
            shown = ", ".join(f"{w} has {v}" for w, v in sorted(other.items())[:3])
            msg = (f"Dask workers run another varidex version than this one ({__version__}): "
                   f"{shown}; results could differ, so install varidex {__version__} on "
                   "every worker")
            raise ClusterError(msg)
        self._ready = True

    def run(self, tasks: Iterable[ChunkTask], *,
            unit_queries: int = 1) -> Iterator[ChunkResult]:
        """Submit work units of about ``unit_queries`` queries, at most ``in_flight`` (3 per
        worker thread) at a time; yield each unit's results as it completes."""
        distributed = distributed_module()
        self._check_workers()
        in_flight = self.in_flight or 3 * self.workers
        units = _units(tasks, unit_queries, self.workers)
        pending: dict[Any, list[ChunkTask]] = {}
        done = distributed.as_completed(loop=self.client.loop)

        def submit() -> None:
            unit = next(units, None)
            if unit is not None:
                future = self.client.submit(self._fn, unit, pure=False)
                pending[future] = unit
                done.add(future)

        for _ in range(in_flight):
            submit()
        try:
            for future in done:
                unit = pending.pop(future)
                results = self._result(future, unit, distributed)
                future.release()
                submit()
                yield from results
        finally:
            if pending:
                self.client.cancel(list(pending))

    def _result(self, future: Any, unit: list[ChunkTask],
                distributed: ModuleType) -> list[ChunkResult]:
        where = unit[0].describe() if len(unit) == 1 else (
            f"{len(unit)} chunks from {unit[0].describe()} to {unit[-1].describe()}")
        try:
            results: list[ChunkResult] = future.result()
        except distributed.KilledWorker as exc:
            msg = (f"Dask workers died every time they ran {where} (killed, or out of "
                   "memory?); no output was written. Give the workers more memory, or use "
                   "a smaller --chunk-size")
            raise WorkerError(msg) from exc
        except GnomADFileError as exc:
            if type(exc) is GnomADFileError and not is_remote(unit[0].path):
                msg = (f"{exc} (on a Dask worker: every worker must see the gnomAD files at "
                       "the same path, on shared storage, or give an https://, s3:// or "
                       "gs:// location)")
                raise GnomADFileError(msg) from exc
            raise
        except VaridexError:
            raise
        except CancelledError as exc:
            msg = (f"the Dask scheduler at {self.address} dropped {where} (scheduler "
                   "restarted or connection lost); no output was written. Run again")
            raise ClusterError(msg) from exc
        except Exception as exc:
            msg = f"a Dask worker failed on {where}: {type(exc).__name__}: {exc}"
            raise WorkerError(msg) from exc
        return results

    def close(self) -> None:
        """Close the client if this executor opened it."""
        if self._owned:
            self.client.close()
