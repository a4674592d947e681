"""A two-worker Dask LocalCluster against the local process pool (two workers), one machine.

    python benchmarks/cluster_bench.py --gnomad-dir DIR --queries QUERIES.vcf.gz [--runs 3]

Each run is ``varidex annotate`` in a fresh process, as a user runs it, with ``--workers 2``
(the process pool) or ``--scheduler ADDRESS``. The LocalCluster (2 worker processes, one
thread each, on 127.0.0.1) is started once before its runs, as a cluster is before users
submit work; its start-up and the first run on fresh workers are reported apart. Runs
alternate between the two, and every output must be byte-identical to the first one.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _run(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gnomad-dir", required=True)
    parser.add_argument("--queries", required=True)
    parser.add_argument("--version", default="r2.1.1")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from distributed import Client, LocalCluster

    varidex = str(Path(sys.executable).with_name("varidex"))
    out = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    base = [varidex, "annotate", args.queries, "--gnomad-dir", args.gnomad_dir, "--version",
            args.version, "-q"]
    started = time.perf_counter()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address="127.0.0.1:0")
    client = Client(cluster, set_as_default=False)
    client.wait_for_workers(2)
    startup = time.perf_counter() - started
    address = str(cluster.scheduler_address)
    try:
        first = _run([*base, "-o", str(out / "first.tsv"), "--scheduler", address])
        times: dict[str, list[float]] = {"pool": [], "dask": []}
        for i in range(args.runs):
            times["pool"].append(_run([*base, "-o", str(out / f"pool{i}.tsv"), "--workers",
                                       "2"]))
            times["dask"].append(_run([*base, "-o", str(out / f"dask{i}.tsv"), "--scheduler",
                                       address]))
        reference = (out / "first.tsv").read_bytes()
        for f in out.glob("*.tsv"):
            if f.read_bytes() != reference:
                print(f"outputs differ: {f} and first.tsv", file=sys.stderr)
                return 1
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(out)
    rows = len(reference.splitlines()) - 1
    print(f"{rows:,} output rows; LocalCluster start-up {startup:.1f} s; first run on fresh "
          f"workers {first:.2f} s")
    print("| backend | runs (s) | median (s) | variants/s |")
    print("| --- | --- | ---: | ---: |")
    for name, label in (("pool", "process pool, --workers 2"),
                        ("dask", "Dask LocalCluster, 2 workers x 1 thread")):
        med = statistics.median(times[name])
        shown = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"| {label} | {shown} | {med:.2f} | {rows / med:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
