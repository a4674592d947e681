"""The Dask backend on a real LocalCluster: two worker processes on 127.0.0.1, nothing
mocked. Results must be identical to the local process pool's; a dying worker is retried,
or the run ends with an error naming the chunks."""

from __future__ import annotations

import functools
import gzip
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tqdm import tqdm

from varidex.gnomad.annotate import Annotator, LookupResult
from varidex.gnomad.cli import main
from varidex.gnomad.cluster import DaskExecutor, distributed_module
from varidex.gnomad.engine import ChunkResult, ChunkTask
from varidex.gnomad.errors import (
    ClusterError,
    GnomADFileError,
    MissingDependencyError,
    VaridexError,
    WorkerError,
)
from varidex.gnomad.parallel import run_unit
from varidex.io.loaders.gnomad import GnomADLoader

distributed = distributed_module()  # the dev extra installs it: a missing one fails here

GENERATED = Path(__file__).parent / "data" / "generated"
RELEASE = GENERATED / "r2.1.1-exomes"


@pytest.fixture(scope="module")
def worker_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The workers' VARIDEX_CACHE_DIR (this process uses another one: see index_cache)."""
    return tmp_path_factory.mktemp("worker-cache")


@pytest.fixture(scope="module")
def client(worker_cache: Path) -> Iterator[object]:
    """A LocalCluster of two single-threaded worker processes with 1 GiB each. A worker
    that dies takes its task with it; the task is retried once (allowed-failures=1)."""
    import dask

    cache = worker_cache
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, memory_limit="1GiB",
            host="127.0.0.1", dashboard_address="127.0.0.1:0",
            env={"VARIDEX_CACHE_DIR": str(cache), "HTS_RETRY_DELAY": "10"})
        c = distributed.Client(cluster, set_as_default=False)
        try:
            yield c
        finally:
            c.close()
            cluster.close()


@pytest.fixture
def ready(client: object) -> object:
    """The client, once both workers are up (after a test that killed some)."""
    client.wait_for_workers(2, timeout=60)  # type: ignore[attr-defined]
    return client


def _records() -> pd.DataFrame:
    """Every record of the generated release, read as text."""
    rows = []
    for path in sorted(RELEASE.glob("*.vcf.bgz")):
        with gzip.open(path, "rt") as handle:
            for line in handle:
                if not line.startswith("#"):
                    cols = line.split("\t", 8)
                    info = dict(kv.split("=", 1) for kv in cols[7].split(";") if "=" in kv)
                    rows.append((cols[0], int(cols[1]), cols[3], cols[4],
                                 float(info["AF"]) if info.get("AF", ".") != "." else None))
    return pd.DataFrame(rows, columns=["chromosome", "position", "ref_allele", "alt_allele",
                                       "af"])


def generated_queries(n: int, seed: int) -> pd.DataFrame:
    """``n`` queries against the generated release: gnomAD's own alleles (hits), other ALTs
    at its positions, random SNVs across its span, hits spelled chr21/lower-case, and
    chromosomes the release has no file for."""
    rec = _records()
    rng = np.random.default_rng(seed)
    kind = rng.choice(5, size=n, p=[0.4, 0.15, 0.25, 0.1, 0.1])
    pick = rec.iloc[rng.integers(0, len(rec), n)].reset_index(drop=True)
    chrom = pick["chromosome"].to_numpy(dtype=object)
    pos = pick["position"].to_numpy().copy()
    ref = pick["ref_allele"].to_numpy(dtype=object)
    alt = pick["alt_allele"].to_numpy(dtype=object)
    bases = np.array(list("ACGT"), dtype=object)
    other = kind == 1
    alt[other] = [next(b for b in "TGCA" if b not in (r[0], a[0]))
                  for r, a in zip(ref[other], alt[other], strict=True)]
    rand = kind == 2
    pos[rand] = rng.integers(14_000_000, 47_000_000, rand.sum())
    ref[rand] = bases[rng.integers(0, 4, rand.sum())]
    alt[rand] = [next(b for b in "ACGT" if b != r) for r in ref[rand]]
    spelled = kind == 3
    chrom[spelled] = ["chr" + c for c in chrom[spelled]]
    ref[spelled] = [r.lower() for r in ref[spelled]]
    alt[spelled] = [a.lower() for a in alt[spelled]]
    chrom[kind == 4] = rng.choice(np.array(["1", "X", "MT"], dtype=object), (kind == 4).sum())
    return pd.DataFrame({"chromosome": chrom, "position": pos, "ref_allele": ref,
                         "alt_allele": alt})


def _columns(frame: pd.DataFrame) -> list[list[object]]:
    return [frame[c].tolist() for c in ("chromosome", "position", "ref_allele", "alt_allele")]


def _same(a: LookupResult, b: LookupResult) -> None:
    assert b.status.tolist() == a.status.tolist()
    assert b.columns == a.columns
    for name in a.columns:
        assert pd.Series(b.values[name]).equals(pd.Series(a.values[name])), name


def test_local_cluster_equals_process_pool_on_100k_queries(ready: object) -> None:
    queries = generated_queries(100_000, seed=8)
    # spawn: this process runs the Dask client's threads, and fork with threads is unsafe
    pool = Annotator.open(RELEASE, version="r2.1.1", max_workers=2, start_method="spawn")
    dask = Annotator.open(RELEASE, version="r2.1.1", scheduler=ready)
    try:
        expected = pool.lookup(*_columns(queries))
        got = dask.lookup(*_columns(queries))
    finally:
        pool.close()
        dask.close()
    _same(expected, got)
    counts = got.counts()
    assert counts["found"] + counts["found_non_pass"] > 40_000
    assert counts["absent"] > 20_000
    assert counts["no_data"] > 9_000
    # Real values: the first hit's AF is the AF its gnomAD record states.
    rec = _records()
    hit = queries.merge(rec, on=["chromosome", "position", "ref_allele", "alt_allele"],
                        how="left")
    i = int(np.flatnonzero(hit["af"].notna().to_numpy())[0])
    assert got.values["af"][i] == pytest.approx(hit["af"].iloc[i], rel=1e-9)
    assert dask.totals["looked_up"] == 100_000


def test_scheduler_address_and_progress_following_completed_units(ready: object) -> None:
    """An address string opens (and later closes) a client of its own; the progress bar
    advances once per completed work unit, up to every query sent to the cluster."""
    queries = generated_queries(20_000, seed=9)
    address = ready.scheduler.address  # type: ignore[attr-defined]
    steps: list[int] = []

    class Recording(tqdm):  # type: ignore[type-arg]
        def update(self, n: float | None = 1) -> bool | None:
            steps.append(int(n or 0))
            return super().update(n)

    annotator = Annotator.open(RELEASE, version="r2.1.1", scheduler=address, chunk_size=50)
    serial = Annotator.open(RELEASE, version="r2.1.1", max_workers=1)
    try:
        assert annotator.workers == 2
        with Path(os.devnull).open("w") as sink, Recording(total=0, file=sink) as bar:
            got = annotator.lookup(*_columns(queries), progress=bar)
        expected = serial.lookup(*_columns(queries))
        own_client = annotator._dask.client  # type: ignore[union-attr]
    finally:
        annotator.close()
        serial.close()
    _same(expected, got)
    sent = int(np.isin(got.status, ["found", "found_non_pass", "absent"]).sum())
    assert len(steps) > 4  # several units, each reported when it completed
    assert sum(steps) == sent
    assert own_client.status == "closed"


def test_facade_and_cli_take_a_scheduler(ready: object, tmp_path: Path) -> None:
    queries = generated_queries(2_000, seed=10)
    rows = list(queries.itertuples(index=False, name=None))
    with GnomADLoader(RELEASE, version="r2.1.1", scheduler=ready) as on_cluster, \
            GnomADLoader(RELEASE, version="r2.1.1", max_workers=1) as local:
        assert on_cluster.lookup_variants_batch(rows, show_progress=False) == \
            local.lookup_variants_batch(rows, show_progress=False)
    source = tmp_path / "q.csv"
    queries.to_csv(source, index=False)
    a, b = tmp_path / "cluster.tsv", tmp_path / "pool.tsv"
    address = ready.scheduler.address  # type: ignore[attr-defined]
    assert main(["annotate", str(source), "--gnomad-dir", str(RELEASE), "--version", "r2.1.1",
                 "-o", str(a), "--scheduler", address]) == 0
    assert main(["annotate", str(source), "--gnomad-dir", str(RELEASE), "--version", "r2.1.1",
                 "-o", str(b), "--workers", "1"]) == 0
    assert a.read_bytes() == b.read_bytes()


def test_a_relative_gnomad_dir_means_this_process_folder_on_the_workers(
        ready: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Found by a tester: a relative --gnomad-dir went to the workers as it was, and each
    # resolved it from its own working directory (another release there: wrong values,
    # exit 0). The workers of this cluster started in another folder than tmp_path.
    import shutil

    shutil.copytree(RELEASE, tmp_path / "gnomad")
    monkeypatch.chdir(tmp_path)
    queries = generated_queries(2_000, seed=12)
    rows = list(queries.itertuples(index=False, name=None))
    with GnomADLoader("gnomad", version="r2.1.1", scheduler=ready) as on_cluster, \
            GnomADLoader(RELEASE, version="r2.1.1", max_workers=1) as local:
        assert all(Path(p).is_absolute() for p in on_cluster._annotator.files.paths.values())
        got = on_cluster.lookup_variants_batch(rows, show_progress=False)
        assert got == local.lookup_variants_batch(rows, show_progress=False)
    assert sum(f is not None for f in got) > 500


def test_workers_read_remote_files_and_fetch_their_own_indexes(  # type: ignore[no-untyped-def]
        ready: object, worker_cache: Path, range_server, index_cache: Path) -> None:
    url = f"{range_server.url}/r2.1.1-exomes/"
    queries = generated_queries(5_000, seed=13)
    local = Annotator.open(RELEASE, version="r2.1.1", max_workers=1)
    remote = Annotator.open(url, version="r2.1.1", scheduler=ready, chunk_size=100)
    try:
        expected = local.lookup(*_columns(queries))
        got = remote.lookup(*_columns(queries))
    finally:
        local.close()
        remote.close()
    _same(expected, got)
    for chrom in ("21", "22"):
        name = f"gnomad.exomes.r2.1.1.sites.{chrom}.vcf.bgz.tbi"
        # This process's discovery fetched it once; the workers share a cache folder of
        # their own: one download, two if both asked at the same moment.
        assert 2 <= len(range_server.requests("GET", name)) <= 3
        assert [p for p in (worker_cache / "indexes").iterdir() if p.name.endswith(name)]


def test_worker_errors_come_back_as_they_are(ready: object, tmp_path: Path) -> None:
    """A file the workers cannot read is the worker's GnomADFileError, with a word on
    shared storage; never an absent variant."""
    moved = tmp_path / "r2.1.1-exomes"
    import shutil

    shutil.copytree(RELEASE, moved)
    annotator = Annotator.open(moved, version="r2.1.1", scheduler=ready)
    for f in moved.glob("*.vcf.bgz"):
        f.write_bytes(b"")  # gone bad after discovery: workers open it themselves
    try:
        with pytest.raises(GnomADFileError, match="shared storage"):
            annotator.lookup(*_columns(generated_queries(1_000, seed=11)))
    finally:
        annotator.close()


# --- Lost workers -------------------------------------------------------------------------


def _die_once(marker: str, unit: list[ChunkTask]) -> list[ChunkResult]:
    """Kill this worker process the first time any worker runs it."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return run_unit(unit)
    os.close(fd)
    os._exit(3)


def _die_always(unit: list[ChunkTask]) -> list[ChunkResult]:
    os._exit(3)


def _pickle_here() -> None:
    """Ship this module's functions to the workers by value (they cannot import tests)."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _tasks(n: int) -> tuple[Annotator, list[ChunkTask], pd.DataFrame]:
    queries = generated_queries(n, seed=12)
    annotator = Annotator.open(RELEASE, version="r2.1.1", max_workers=1, chunk_size=100)
    chrom, pos, ref, alt = _columns(queries)
    status = np.empty(n, dtype=object)
    tasks = annotator._plan(chrom, pos, ref, alt, status, annotator.spec, frozenset())
    return annotator, tasks, queries


def test_lost_worker_is_retried_and_results_are_complete(ready: object, tmp_path: Path) -> None:
    _pickle_here()
    annotator, tasks, _ = _tasks(3_000)
    marker = tmp_path / "died"
    executor = DaskExecutor(ready, fn=functools.partial(_die_once, str(marker)))
    try:
        results = list(executor.run(iter(tasks), unit_queries=500))
        expected = list(annotator._executor(1).run(iter(tasks), unit_queries=500))
    finally:
        executor.close()
        annotator.close()
    assert marker.exists()  # a worker did die
    rows = np.concatenate([r.rows for r in results])
    assert sorted(rows.tolist()) == sorted(np.concatenate([t.rows for t in tasks]).tolist())
    got = {int(r): int(s) for res in results for r, s in zip(res.rows, res.status, strict=True)}
    want = {int(r): int(s) for res in expected
            for r, s in zip(res.rows, res.status, strict=True)}
    assert got == want


def test_worker_dying_every_time_ends_with_an_error_naming_the_chunks(ready: object) -> None:
    _pickle_here()
    annotator, tasks, _ = _tasks(300)
    annotator.close()
    executor = DaskExecutor(ready, fn=_die_always)
    try:
        with pytest.raises(WorkerError) as caught:
            list(executor.run(iter(tasks), unit_queries=10**9))  # one unit
    finally:
        executor.close()
    text = str(caught.value)
    assert "died every time" in text
    assert tasks[0].describe() in text
    assert isinstance(caught.value.__cause__, distributed.KilledWorker)


# --- Set-up errors ------------------------------------------------------------------------


def test_unreachable_scheduler_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    from varidex.gnomad import cluster

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2.0)
    with pytest.raises(ClusterError, match=f"cannot reach the Dask scheduler at "
                                           f"tcp://127.0.0.1:{port}"):
        Annotator.open(RELEASE, version="r2.1.1", scheduler=f"tcp://127.0.0.1:{port}")


def test_workers_on_another_varidex_version_are_refused(ready: object,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from varidex.gnomad import cluster

    monkeypatch.setattr(cluster, "__version__", "0.0.1")  # this side: workers have the real one
    executor = DaskExecutor(ready)
    with pytest.raises(ClusterError, match=r"another varidex version than this one \(0.0.1\)"):
        _ = executor.workers
    executor.close()


def test_a_scheduler_without_workers_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from varidex.gnomad import cluster

    monkeypatch.setattr(cluster, "WORKER_TIMEOUT", 1.0)
    with distributed.LocalCluster(n_workers=0, processes=True, host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as empty:
        annotator = Annotator.open(RELEASE, version="r2.1.1",
                                   scheduler=empty.scheduler_address)
        try:
            with pytest.raises(ClusterError, match="no Dask worker joined the scheduler"):
                annotator.lookup(*_columns(generated_queries(500, seed=14)))
        finally:
            annotator.close()


def test_missing_distributed_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if it were not installed
    with pytest.raises(MissingDependencyError) as caught:
        Annotator.open(RELEASE, version="r2.1.1", scheduler="tcp://127.0.0.1:8786")
    assert "pip install 'varidex[dask]'" in str(caught.value)
    assert isinstance(caught.value, ImportError)
    assert isinstance(caught.value, VaridexError)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_cli_missing_distributed_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    code = main(["annotate", str(GENERATED / "queries-r2.1.1.1000.csv"), "--gnomad-dir",
                 str(RELEASE), "-o", str(tmp_path / "out.tsv"), "--scheduler",
                 "tcp://127.0.0.1:8786"])
    assert code == 1
    assert "pip install 'varidex[dask]'" in capsys.readouterr().err
    assert not (tmp_path / "out.tsv").exists()
