#!/usr/bin/env python3
"""varidex against bcftools annotate and vcfanno, same machine, same run.

Generates (once, cached outside the repo) r2.1.1-like exome files for chromosomes 19-22 with
../shared/tools/make_gnomad_like.py and query sets with ../shared/tools/make_queries.py, then
times each tool several times per query size and writes benchmarks/RESULTS.md.

    python benchmarks/bench.py            # 1k, 10k, 100k, 1M queries (10M: the store and
                                          # varidex with 2 workers only)
    python benchmarks/bench.py --quick    # 1k and 10k only
    python benchmarks/bench.py --sizes 1000000,10000000 --tools varidex-store --out x.md

The store (`varidex-store`): `varidex store build` converts the four files once (its time
and size against the source VCFs are reported), then `varidex annotate --store` is timed on
every query set, 10M included; its output must equal the VCF path's byte for byte.

Peers: `bcftools annotate -c INFO/AF` (on the four files concatenated once; that preparation
is timed apart), `vcfanno -p 2` (one [[annotation]] per chromosome file) and the scan limit
`bgzip -dc` of each file into `wc -l` (decompressing every byte once). Missing Debian packages
(bcftools, tabix, vcfanno) are installed with apt-get when running as root.
"""

from __future__ import annotations

import argparse
import csv
import filecmp
import gzip
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_TOOLS = REPO.parent / "shared" / "tools"
CHROMS = ("19", "20", "21", "22")
ROWS = (1270000, 470000, 200000, 420000)
SIZES = (1000, 10000, 100000, 1000000, 10000000)
QUICK_SIZES = (1000, 10000)
#: Above this many queries only the store and the VCF path with 2 workers are timed (its
#: peak RSS at 10M against 1M is a target); the others take minutes to hours.
SLOW_MAX = 1000000


@dataclass
class Timing:
    tool: str
    size: int
    walls: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def rss_mb(self) -> float:
        return max(self.rss_kb) / 1024


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def run_timed(cmd: list[str] | str, *, stdout: Path | None = None) -> tuple[float, int]:
    """Run a command; return wall seconds and peak RSS (KB) of it and its children."""
    out = stdout.open("wb") if stdout else subprocess.DEVNULL  # noqa: SIM115 - closed below
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, shell=isinstance(cmd, str), stdout=out,
                            stderr=subprocess.PIPE, executable="/bin/bash" if isinstance(
                                cmd, str) else None)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if stdout:
        out.close()  # type: ignore[union-attr]
    if os.waitstatus_to_exitcode(status) != 0:
        msg = f"command failed ({status}): {cmd}\n{err[-2000:]}"
        raise SystemExit(msg)
    return wall, usage.ru_maxrss


def ensure_peers() -> dict[str, bool]:
    need = {"bcftools": "bcftools", "tabix": "tabix", "bgzip": "tabix", "vcfanno": "vcfanno"}
    missing = sorted({pkg for exe, pkg in need.items() if shutil.which(exe) is None})
    if missing and os.geteuid() == 0:
        log(f"installing {' '.join(missing)} with apt-get")
        subprocess.run(["apt-get", "update", "-qq"], check=False)
        subprocess.run(["apt-get", "install", "-y", "-qq", *missing], check=False)
    return {exe: shutil.which(exe) is not None for exe in need}


def ensure_data(cache: Path, sizes: tuple[int, ...]) -> tuple[Path, Path]:
    gdir, qdir = cache / "gnomad", cache / "queries"
    py = sys.executable
    files = [gdir / f"gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz" for c in CHROMS]
    if not all(f.exists() and Path(str(f) + ".tbi").exists() for f in files):
        log(f"generating r2.1.1-like exomes for chromosomes {','.join(CHROMS)} in {gdir} "
            "(a few minutes)")
        subprocess.run([py, str(SHARED_TOOLS / "make_gnomad_like.py"), "--release", "r2.1.1",
                        "--dataset", "exomes", "--chroms", ",".join(CHROMS),
                        "--records-per-chrom", ",".join(map(str, ROWS)), "--seed", "42",
                        "--out", str(gdir), "--profile", "standard", "--jobs", "2"],
                       check=True)
    todo = [n for n in sizes if not (qdir / f"q.{n}.vcf.gz").exists()]
    if todo:
        log(f"generating query sets {todo} in {qdir}")
        qdir.mkdir(parents=True, exist_ok=True)
        subprocess.run([py, str(SHARED_TOOLS / "make_queries.py"), "--gnomad-dir", str(gdir),
                        "--sizes", ",".join(map(str, todo)), "--seed", "7", "--out-prefix",
                        str(qdir / "q")], check=True)
    return gdir, qdir


def prepare_bcftools(cache: Path, gdir: Path) -> tuple[Path, float]:
    merged = cache / "gnomad.all.vcf.gz"
    t0 = time.perf_counter()
    if not Path(str(merged) + ".tbi").exists():
        log("concatenating the chromosome files once for bcftools annotate")
        files = [str(gdir / f"gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz") for c in CHROMS]
        subprocess.run(["bcftools", "concat", "--naive", "-o", str(merged), *files], check=True)
        subprocess.run(["tabix", "-p", "vcf", str(merged)], check=True)
    return merged, time.perf_counter() - t0


def vcfanno_config(cache: Path, gdir: Path) -> Path:
    conf = cache / "vcfanno.toml"
    blocks = [f'[[annotation]]\nfile="{gdir}/gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz"\n'
              'fields=["AF"]\nops=["self"]\nnames=["gnomad_af"]\n' for c in CHROMS]
    conf.write_text("\n".join(blocks))
    return conf


def read_vcf_af(path: Path, key: str) -> dict[tuple[str, str], float]:
    """(query id, ALT) -> AF from a VCF annotated with INFO/<key>."""
    out: dict[tuple[str, str], float] = {}
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as handle:  # type: ignore[operator]
        for line in handle:
            if line.startswith("#"):
                continue
            cols = line.rstrip("\n").split("\t", 8)
            for item in cols[7].split(";"):
                if item.startswith(key + "="):
                    values = item.split("=", 1)[1].split(",")
                    for alt, v in zip(cols[4].split(","), values, strict=False):
                        if v not in (".", ""):
                            out[(cols[2], alt.upper())] = float(v)
    return out


def read_varidex_af(path: Path) -> tuple[dict[tuple[str, str], float], set[tuple[str, str]]]:
    """varidex's AF per (query id, ALT), and the keys whose gnomAD record has AN=0 (AF=.)."""
    out: dict[tuple[str, str], float] = {}
    an_zero: set[tuple[str, str]] = set()
    with path.open() as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            key = (row["id"], row["alt_allele"].upper())
            if row["gnomad_af"]:
                out[key] = float(row["gnomad_af"])
            elif row["gnomad_an"] == "0":
                an_zero.add(key)
    return out, an_zero


def compare(name: str, ours: tuple[dict[tuple[str, str], float], set[tuple[str, str]]],
            theirs: dict[tuple[str, str], float], rel: float, absolute: float = 0.0) -> str:
    values, an_zero = ours
    both = values.keys() & theirs.keys()
    differ = [k for k in both
              if abs(values[k] - theirs[k]) > max(rel * abs(theirs[k]), absolute)]
    peer_only = theirs.keys() - values.keys()
    zero = peer_only & an_zero
    tolerance = f"{rel:g} relative" + (f" or {absolute:g}" if absolute else "")
    example = f" (e.g. {sorted(differ)[:3]})" if differ else ""
    return (f"{name}: {len(both)} variants found by both, {len(differ)} with a different AF"
            f"{example} (tolerance {tolerance}); found by varidex only: "
            f"{len(values.keys() - theirs.keys())}; "
            f"given an AF by {name} only: {len(peer_only)}, of which {len(zero)} are gnomAD "
            "records with AN=0 and AF=. (varidex leaves AF missing there)")


def prepare_store(cache: Path, gdir: Path, varidex: str) -> tuple[Path, str]:
    """Build the store once (again when a source file changed); say what it cost."""
    store = cache / "gnomad.exomes.r2.1.1.store"
    meta = store / "store.json"
    files = [gdir / f"gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz" for c in CHROMS]
    source = sum(f.stat().st_size for f in files)
    if meta.exists():
        import json

        data = json.loads(meta.read_text())
        recorded = {s["name"]: (s["size"], s["mtime_ns"]) for s in data["sources"]}
        if recorded == {f.name: (f.stat().st_size, f.stat().st_mtime_ns) for f in files}:
            size = sum(p.stat().st_size for p in store.iterdir())
            return store, (f"varidex store (`varidex store build --workers 2`, once): "
                           f"{data['build_seconds']:.1f} s (built by an earlier run); "
                           f"{size / 2**20:,.1f} MiB, {size / source:.1%} of the "
                           f"{source / 2**20:,.1f} MiB of source VCFs")
    log("varidex store build: converting the four chromosome files once")
    wall, rss = run_timed([varidex, "store", "build", "--gnomad-dir", str(gdir), "--version",
                           "r2.1.1", "-o", str(store), "--force", "-q", "--workers", "2"])
    size = sum(p.stat().st_size for p in store.iterdir())
    return store, (f"varidex store (`varidex store build --workers 2`, once): {wall:.1f} s, "
                   f"peak RSS {rss / 1024:,.0f} MB; {size / 2**20:,.1f} MiB, "
                   f"{size / source:.1%} of the {source / 2**20:,.1f} MiB of source VCFs")


def agreement(work: Path, sizes: list[int]) -> list[str]:
    checks = []
    for n in sizes:
        store_out = work / f"varidex-store.{n}.tsv"
        vcf_path = next((p for p in (work / f"varidex{w}.{n}.tsv" for w in (1, 2))
                         if p.exists()), None)
        if store_out.exists() and vcf_path is not None:
            same = filecmp.cmp(store_out, vcf_path, shallow=False)
            checks.append(f"{n}: varidex --store output identical to the VCF path's "
                          f"({vcf_path.name.split('.')[0]}): {same}")
        ours_path = work / f"varidex1.{n}.tsv"
        if not ours_path.exists():
            continue
        ours = read_varidex_af(ours_path)
        if (work / f"bcftools.{n}.vcf.gz").exists():
            checks.append(f"{n}: " + compare("bcftools", ours, read_vcf_af(
                work / f"bcftools.{n}.vcf.gz", "AF"), 1e-9))
        if (work / f"vcfanno.{n}.vcf").exists():
            # vcfanno rounds what it prints (1.6779e-05 for 1.67794e-05, 0.1478 for 0.147817)
            checks.append(f"{n}: " + compare("vcfanno", ours, read_vcf_af(
                work / f"vcfanno.{n}.vcf", "gnomad_af"), 1e-4, 5.001e-5))
        two = work / f"varidex2.{n}.tsv"
        if two.exists():
            same = two.read_bytes() == ours_path.read_bytes()
            checks.append(f"{n}: varidex 2 workers output identical to 1 worker: {same}")
    return checks


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1k and 10k queries only")
    ap.add_argument("--sizes", default=None, help="comma list of query set sizes")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cache", default=os.environ.get(
        "VARIDEX_BENCH_CACHE", str(Path.home() / ".cache" / "varidex-bench")))
    ap.add_argument("--tools", default="varidex1,varidex2,varidex-store,bcftools,vcfanno,scan")
    ap.add_argument("--slow-max", type=int, default=SLOW_MAX,
                    help="largest query set for tools other than varidex-store")
    ap.add_argument("--out", default=str(REPO / "benchmarks" / "RESULTS.md"))
    ap.add_argument("--recheck", action="store_true",
                    help="only redo the agreement section of --out from the cached outputs")
    a = ap.parse_args()
    if a.recheck:
        recheck(Path(a.out), Path(a.cache) / "out")
        return
    sizes = tuple(int(s) for s in a.sizes.split(",")) if a.sizes else (
        QUICK_SIZES if a.quick else SIZES)
    tools = a.tools.split(",")
    cache = Path(a.cache)
    cache.mkdir(parents=True, exist_ok=True)
    have = ensure_peers()
    gdir, qdir = ensure_data(cache, sizes)
    varidex = str(Path(sys.executable).parent / "varidex")
    work = cache / "out"
    work.mkdir(exist_ok=True)
    notes = []
    fresh = all(Path(f"{gdir}/gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz.{s}").exists()
                for c in CHROMS for s in ("csi", "vdx"))
    log("varidex index: CSI and block indexes (writes only what is missing or stale)")
    wall, _ = run_timed([varidex, "index", str(gdir)])
    notes.append("varidex preparation (`varidex index`: fine CSI and block indexes, once): "
                 + ("already built" if fresh else f"{wall:.1f} s"))
    if "bcftools" in tools and have["bcftools"]:
        cached = Path(f"{cache}/gnomad.all.vcf.gz.tbi").exists()
        merged, prep = prepare_bcftools(cache, gdir)
        notes.append("bcftools preparation (concat + tabix, once): " + (
            "cached from an earlier run" if cached else f"{prep:.1f} s"))
    if "varidex-store" in tools:
        store, note = prepare_store(cache, gdir, varidex)
        notes.append(note)
    conf = vcfanno_config(cache, gdir)
    files = " ".join(str(gdir / f"gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz") for c in CHROMS)
    timings: list[Timing] = []
    for n in sizes:
        q = qdir / f"q.{n}.vcf.gz"
        commands: dict[str, tuple[list[str] | str, Path | None]] = {}
        if "varidex-store" in tools:
            commands["varidex --store"] = (
                [varidex, "annotate", str(q), "--store", str(store), "--version", "r2.1.1",
                 "-o", str(work / f"varidex-store.{n}.tsv"), "-q"], None)
        slow = n <= a.slow_max
        for w in (1, 2):
            if f"varidex{w}" in tools and (slow or w == 2):
                commands[f"varidex {w} worker{'s' if w > 1 else ''}"] = (
                    [varidex, "annotate", str(q), "--gnomad-dir", str(gdir), "--version",
                     "r2.1.1", "-o", str(work / f"varidex{w}.{n}.tsv"), "--workers", str(w),
                     "-q"], None)
        if "bcftools" in tools and have["bcftools"] and slow:
            commands["bcftools annotate"] = (
                ["bcftools", "annotate", "-a", str(merged), "-c", "INFO/AF", "-Oz", "-o",
                 str(work / f"bcftools.{n}.vcf.gz"), str(q)], None)
        if "vcfanno" in tools and have["vcfanno"] and slow:
            commands["vcfanno -p 2"] = (["vcfanno", "-p", "2", str(conf), str(q)],
                                        work / f"vcfanno.{n}.vcf")
        if "scan" in tools and have["bgzip"] and slow:
            # One bgzip per file: `bgzip -dc A B` decompresses A only (htslib 1.16).
            commands["scan limit (bgzip -dc | wc -l)"] = (
                f"for f in {files}; do bgzip -dc \"$f\"; done | wc -l", None)
        for name, (cmd, stdout) in commands.items():
            t = Timing(name, n)
            for run in range(a.runs):
                wall, rss = run_timed(cmd, stdout=stdout)
                t.walls.append(wall)
                t.rss_kb.append(rss)
                log(f"{n:>8} {name:<32} run {run + 1}: {wall:7.2f} s  {rss / 1024:7.0f} MB")
            timings.append(t)
    checks = agreement(work, list(sizes))
    write_results(Path(a.out), timings, checks, notes, a.runs)


def recheck(results: Path, work: Path) -> None:
    text = results.read_text()
    head = text.split("\nAgreement")[0]
    sizes = sorted({int(p.name.split(".")[1]) for p in work.glob("varidex1.*.tsv")})
    lines = [head.rstrip("\n"), "", "Agreement (AF of every variant found by both):", ""]
    lines += [f"- {c}" for c in agreement(work, sizes)]
    results.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def write_results(path: Path, timings: list[Timing], checks: list[str], notes: list[str],
                  runs: int) -> None:
    bcftools = "no bcftools"
    if shutil.which("bcftools"):
        bcftools = subprocess.run(["bcftools", "--version"], capture_output=True,
                                  text=True).stdout.splitlines()[0]
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    machine = (f"{os.cpu_count()} CPUs ({cpu}), {memory:.0f} GiB, Linux "
               f"{platform.release()}, Python {platform.python_version()}, {bcftools}, "
               f"vcfanno {'present' if shutil.which('vcfanno') else 'absent'}")
    lines = ["# Benchmark results", "",
             f"Written by `make bench` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}). "
             f"Median of {runs} runs; peak RSS is the largest of the runs.", "",
             f"Machine: {machine}", "",
             "Data: generated r2.1.1-like exomes, chromosomes 19-22 (1270000, 470000, 200000, "
             "420000 rows, `standard` profile), queries from make_queries.py (seed 7).", ""]
    for note in notes:
        lines += [note, ""]
    lines += ["| queries | tool | median wall (s) | variants/s | peak RSS (MB) "
              "| against the fastest peer |",
              "| ---: | --- | ---: | ---: | ---: | ---: |"]
    for n in sorted({t.size for t in timings}):
        group = [t for t in timings if t.size == n]
        peers = [t for t in group if t.tool.startswith(("bcftools", "vcfanno"))]
        fastest = min((t.wall for t in peers), default=None)
        for t in group:
            ratio = ""
            if t.tool.startswith("varidex") and fastest:
                ratio = f"{fastest / t.wall:.1f}x faster" if t.wall < fastest else \
                    f"{t.wall / fastest:.1f}x slower"
            lines.append(f"| {n:,} | {t.tool} | {t.wall:.2f} | {n / t.wall:,.0f} | "
                         f"{t.rss_mb:,.0f} | {ratio} |")
    lines += ["", "Agreement (AF of every variant found by both):", ""]
    lines += [f"- {c}" for c in checks]
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
