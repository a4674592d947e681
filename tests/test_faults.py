"""Faults during a run: a worker process killed, an exception in a worker, Ctrl-C. Each ends
the run with a clear error and leaves no output file, never missing rows or a hang.

Real processes and real signals: the workers of a real process pool are killed with SIGKILL,
and the CLI, run as a child process, gets SIGINT as a terminal's Ctrl-C would send it."""

from __future__ import annotations

import gzip
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pysam
import pytest

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.errors import GnomADFileError, WorkerError

GENERATED = Path(__file__).parent / "data" / "generated"
RELEASE = GENERATED / "r2.1.1-exomes"
QUERIES = GENERATED / "queries-r2.1.1.1000.vcf.gz"
CLI = "from varidex.gnomad.cli import entry_point; entry_point()"


def _queries() -> tuple[list[str], list[int], list[str], list[str]]:
    chrom, pos, ref, alt = [], [], [], []
    with gzip.open(QUERIES, "rt") as handle:
        for line in handle:
            if line.startswith("#"):
                continue
            f = line.split("\t")
            for a in f[4].split(","):
                chrom.append(f[0])
                pos.append(int(f[1]))
                ref.append(f[3])
                alt.append(a)
    return chrom, pos, ref, alt


def _big_input(path: Path, copies: int) -> None:
    """The 1000 generated queries repeated: a long run against a small release."""
    with gzip.open(QUERIES, "rt") as handle:
        lines = handle.read().splitlines(keepends=True)
    header = [ln for ln in lines if ln.startswith("#")]
    body = [ln for ln in lines if not ln.startswith("#")]
    path.write_text("".join(header) + "".join(body) * copies)


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(t) for t in text]
    return found


def test_worker_killed_between_lookups_is_an_error(tmp_path: Path) -> None:
    annotator = Annotator.open(RELEASE, version="r2.1.1", max_workers=2)
    chrom, pos, ref, alt = _queries()
    try:
        first = annotator.lookup(chrom, pos, ref, alt)
        assert (first.status == "found").sum() > 300
        workers = multiprocessing.active_children()
        assert workers, "the lookup ran in worker processes"
        os.kill(workers[0].pid, signal.SIGKILL)  # type: ignore[arg-type]
        workers[0].join(5)
        time.sleep(0.2)  # the pool's manager thread notices the death
        with pytest.raises(WorkerError, match=r"worker process was killed by SIGKILL .*chunk"):
            annotator.lookup(chrom, pos, ref, alt)
        again = annotator.lookup(chrom, pos, ref, alt)  # a new pool serves the next lookup
        assert again.status.tolist() == first.status.tolist()
    finally:
        annotator.close()


def test_exception_in_a_worker_surfaces_with_its_cause(tmp_path: Path) -> None:
    folder = tmp_path / "gnomad"
    folder.mkdir()
    for f in RELEASE.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    annotator = Annotator.open(folder, version="r2.1.1", max_workers=2)
    chrom, pos, ref, alt = _queries()
    (folder / "gnomad.exomes.r2.1.1.sites.22.vcf.bgz").unlink()  # gone after the open
    try:
        with pytest.raises((WorkerError, GnomADFileError),
                           match=r"sites\.22\.vcf\.bgz: cannot open .*not found"):
            annotator.lookup(chrom, pos, ref, alt)
    finally:
        annotator.close()


def _start_cli(tmp_path: Path, copies: int, workers: int) -> tuple[subprocess.Popen[str], Path]:
    src = tmp_path / "in.vcf"
    _big_input(src, copies)
    out = tmp_path / "out.tsv"
    proc = subprocess.Popen(
        [sys.executable, "-c", CLI, "annotate", str(src), "--gnomad-dir", str(RELEASE),
         "-o", str(out), "--workers", str(workers), "-q"],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
        start_new_session=True)
    return proc, out


def _wait_for(check, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    end = time.monotonic() + timeout
    while not check():
        if time.monotonic() > end:
            pytest.fail("the run did not reach the expected state in time")
        time.sleep(0.01)


def test_worker_killed_mid_run_ends_with_an_error_and_no_output(tmp_path: Path) -> None:
    proc, out = _start_cli(tmp_path, copies=600, workers=2)
    _wait_for(lambda: proc.poll() is not None or len(_children(proc.pid)) >= 2)
    assert proc.poll() is None, "the run ended before a worker could be killed"
    os.kill(_children(proc.pid)[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    # the pool notices the death while a chunk runs, or when the next one is sent
    assert re.match(r"error: a worker process was killed by SIGKILL (while annotating|before "
                    r"sending) ", lines[-1]), err
    assert "vcf.bgz" in lines[-1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_leaves_no_output(tmp_path: Path, workers: int) -> None:
    proc, out = _start_cli(tmp_path, copies=600, workers=workers)
    _wait_for(lambda: proc.poll() is not None or any(
        p.name.startswith(".out.tsv.") for p in tmp_path.iterdir()))
    assert proc.poll() is None, "the run ended before it could be stopped"
    os.kill(proc.pid, signal.SIGTERM)  # what `kill PID` or a batch scheduler sends
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "error: terminated (SIGTERM); no output was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]


@pytest.mark.parametrize("workers", [1, 2])
def test_ctrl_c_leaves_no_output(tmp_path: Path, workers: int) -> None:
    proc, out = _start_cli(tmp_path, copies=600, workers=workers)
    # wait until the output's temporary file exists: the run is under way
    _wait_for(lambda: proc.poll() is not None or any(
        p.name.startswith(".out.tsv.") for p in tmp_path.iterdir()))
    time.sleep(0.3)  # into the lookups
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole group
    _, err = proc.communicate(timeout=120)
    assert "Traceback" not in err, err
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1] == "error: interrupted; no output was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]


# A signal to the process group at the moment a worker is forked: the 'before' fork hook
# sends it, so it lands exactly there, every time.
SIGNAL_AT_FORK = """
import os, signal, sys
signum = int(sys.argv.pop(1))
sent = []
def before_fork():
    if not sent:
        sent.append(1)
        os.killpg(os.getpgrp(), signum)
os.register_at_fork(before=before_fork)
from varidex.gnomad.cli import entry_point
entry_point()
"""


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_while_workers_are_forked_is_not_lost(tmp_path: Path, signum: int, code: int,
                                                       said: str) -> None:
    """Regression: a Ctrl-C or SIGTERM while ``submit`` forked the workers raised its
    exception inside logging's fork hooks, where Python drops it: the run went on to the
    end and wrote its output (exit 0), or a worker printed a traceback."""
    src = tmp_path / "in.vcf"
    _big_input(src, 50)
    proc = subprocess.run(
        [sys.executable, "-c", SIGNAL_AT_FORK, str(int(signum)), "annotate", str(src),
         "--gnomad-dir", str(RELEASE), "-o", str(tmp_path / "out.tsv"), "--workers", "2", "-q"],
        capture_output=True, text=True, start_new_session=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == f"error: {said}; no output was written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.vcf"]


def test_absurd_worker_counts_are_cut_to_four_per_cpu(caplog: pytest.LogCaptureFixture) -> None:
    from varidex.gnomad.parallel import resolve_workers

    cpus = os.cpu_count() or 1
    with caplog.at_level("WARNING", logger="varidex"):
        assert resolve_workers(100_000) == 4 * cpus
    assert f"100000 workers asked for on {cpus} CPUs; using {4 * cpus}" in caplog.text
    assert resolve_workers(2) == 2
    assert resolve_workers(None) == cpus


def test_work_units_shrink_toward_the_end() -> None:
    """With a list of tasks, the last units are small, so the workers finish together."""
    from types import SimpleNamespace

    from varidex.gnomad.parallel import MIN_UNIT, _units

    tasks = [SimpleNamespace(pos=range(100)) for _ in range(400)]  # 40,000 queries
    sizes = [sum(len(t.pos) for t in unit) for unit in _units(tasks, 5_000, 2)]  # type: ignore[arg-type]
    assert sum(sizes) == 40_000
    assert sizes[:4] == [5_000] * 4  # full units while much is left
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-2] <= MIN_UNIT
    plain = [sum(len(t.pos) for t in unit) for unit in _units(iter(tasks), 5_000, 2)]  # type: ignore[arg-type]
    assert plain == [5_000] * 8  # an iterator: sizes not known ahead


def test_sigterm_to_the_process_group_does_not_hang(tmp_path: Path) -> None:
    """Regression: ``kill -TERM -PGID`` (a job scheduler stopping a job, ``timeout``)
    killed the workers too, one of them while it sent a result; the main process then
    waited forever in the pool's shutdown for the rest of that message."""
    for attempt in range(4):  # the worker must die mid-message: try a few moments
        work = tmp_path / str(attempt)
        work.mkdir()
        proc, out = _start_cli(work, copies=600, workers=2)
        _wait_for(lambda p=proc: p.poll() is not None or len(_children(p.pid)) >= 2)
        time.sleep(0.3 + 0.2 * attempt)
        assert proc.poll() is None, "the run ended before it could be stopped"
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"attempt {attempt}: still running 60 s after SIGTERM")
        assert "Traceback" not in err, err
        assert proc.returncode == 143, err
        assert sorted(p.name for p in work.iterdir()) == ["in.vcf"]


# A signal while the command loads its libraries: an import hook sends it as pandas loads.
SIGNAL_AT_IMPORT = """
import os, signal, sys
signum = int(sys.argv.pop(1))
class Hook:
    def find_spec(self, name, path=None, target=None):
        if name == "pandas":
            sys.meta_path.remove(self)
            os.kill(os.getpid(), signum)
        return None
sys.meta_path.insert(0, Hook())
from varidex._console import main
main()
"""


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_while_the_command_loads_is_one_line(signum: int, code: int,
                                                      said: str) -> None:
    """Regression: a Ctrl-C in the first half second printed a traceback from the imports;
    a SIGTERM killed the command without a word."""
    proc = subprocess.run([sys.executable, "-c", SIGNAL_AT_IMPORT, str(int(signum)),
                           "--version"], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == f"error: {said}\n"


# A signal to the process group as the run stops its workers, after the output is complete.
SIGNAL_AT_CLOSE = """
import os, signal, sys
signum = int(sys.argv.pop(1))
from varidex.gnomad import parallel
original = parallel.ProcessExecutor.close
def close(self):
    if self._pool is not None:
        os.killpg(os.getpgrp(), signum)
    original(self)
parallel.ProcessExecutor.close = close
from varidex.gnomad.cli import entry_point
entry_point()
"""


@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_after_the_output_is_complete(tmp_path: Path, signum: int, code: int,
                                               said: str) -> None:
    """Regression: a Ctrl-C or SIGTERM while the workers were stopped, after the output was
    renamed into place, said "no output was written" beside the complete output, and left
    the workers running forever (orphaned, blocked on the pool's pipe)."""
    src, out = tmp_path / "in.vcf", tmp_path / "out.tsv"
    _big_input(src, 50)
    proc = subprocess.Popen(
        [sys.executable, "-c", SIGNAL_AT_CLOSE, str(int(signum)), "annotate", str(src),
         "--gnomad-dir", str(RELEASE), "-o", str(out), "--workers", "2", "-q"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, err = proc.communicate(timeout=60)  # left workers would hold stderr open
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("still running (or its workers) 60 s after the signal")
    assert "Traceback" not in err, err
    assert proc.returncode == code, err
    assert err.strip().splitlines()[-1] == (
        f"error: {said}; the output {out} had been written in full and is kept")
    with gzip.open(QUERIES, "rt") as handle:  # one output row per ALT allele
        alts = sum(ln.split("\t")[4].count(",") + 1 for ln in handle if not ln.startswith("#"))
    rows = out.read_text().splitlines()
    assert len(rows) == 1 + 50 * alts
    assert rows[-1].endswith("\tr2.1.1/exomes")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # nothing of the run is left in its process group
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("worker processes were left running")


# A signal at chosen moments of the end of a run: while the output is put in place (PATCH
# names the step), or inside a __del__ after it, where Python reports and drops it.
SIGNAL_AT_END = """
import os, signal, sys, time
signum, where = int(sys.argv.pop(1)), sys.argv.pop(1)
from varidex.gnomad import pipeline
from varidex.gnomad.formats import delimited
def send():
    os.killpg(os.getpgrp(), signum)
if where == "index":  # between the file's rename and its index's
    move = delimited.shutil.move
    def moved(*a, **k):
        send()
        return move(*a, **k)
    delimited.shutil.move = moved
elif where == "parse":  # before the CLI knows what to do
    import argparse
    parse = argparse.ArgumentParser.parse_args
    def parsed(self, *a, **k):
        if self.prog == "varidex":
            send()
        return parse(self, *a, **k)
    argparse.ArgumentParser.parse_args = parsed
else:  # a clean-up after the output is complete
    class Late:
        def __del__(self):
            send()
            time.sleep(0.2)
    annotate = pipeline.annotate_file
    def annotated(*a, **k):
        summary = annotate(*a, **k)
        Late()
        return summary
    import varidex.gnomad.cli as cli
    cli.annotate_file = annotated
from varidex._console import main
main()
"""


@pytest.mark.parametrize("where", ["index", "del", "parse"])
@pytest.mark.parametrize(("signum", "code", "said"), [
    (signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_a_signal_at_the_end_says_what_is_left(tmp_path: Path, signum: int, code: int,
                                               said: str, where: str) -> None:
    """Regressions: a signal between a .vcf.gz's rename and its index's left the old index
    beside the new file and said "no output was written"; one inside a __del__ after the
    output was complete printed "Exception ignored ... KeyboardInterrupt" and exited 0;
    one while the arguments were parsed gave a traceback or a silent death."""
    src, out = tmp_path / "in.vcf", tmp_path / "out.vcf.gz"
    _big_input(src, 1)  # sorted, as tabix needs
    old = tmp_path / "old.vcf"
    old.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "21\t1\t.\tA\tG\t.\t.\t.\n")
    pysam.tabix_compress(str(old), str(out))
    pysam.tabix_index(str(out), preset="vcf")  # an old output and its index
    proc = subprocess.run(
        [sys.executable, "-c", SIGNAL_AT_END, str(int(signum)), where, "annotate", str(src),
         "--gnomad-dir", str(RELEASE), "-o", str(out), "--workers", "2", "-q"],
        capture_output=True, text=True, start_new_session=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Exception ignored" not in proc.stderr, proc.stderr
    assert proc.returncode == code, proc.stderr
    if where == "parse":
        assert proc.stderr.strip() == f"error: {said}; no output was written"
        return
    assert proc.stderr.strip().splitlines()[-1] == (
        f"error: {said}; the output {out} had been written in full and is kept")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "in.vcf", "old.vcf", "out.vcf.gz", "out.vcf.gz.tbi"]
    with pysam.TabixFile(str(out)) as tbx:  # the new file's index, not the old one's
        records = [r for contig in tbx.contigs for r in tbx.fetch(contig)]
    assert len(records) == 1000  # one per input record
    assert "21\t14324272\tq0000107\tG\tA\t.\t.\tgnomad_af=0.00000409732;gnomad_ac=1;" in (
        "\n".join(records))


def test_an_interrupted_run_to_stdout_says_it_is_incomplete() -> None:
    import argparse

    from varidex.gnomad.cli import _Run

    assert _Run().left(argparse.Namespace(output="-")) == (
        "what was written to standard output is incomplete")
    assert _Run().left(argparse.Namespace(output="o.tsv")) == "no output was written"
