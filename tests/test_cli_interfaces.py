"""Progress on terminals only, the summary line always, and the installed script's new
subcommands end to end (exit codes, stdin and stdout)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from varidex.gnomad.cli import main, progress_wanted

INPUTS = Path(__file__).parent / "data" / "inputs"
EXE = Path(sys.executable).parent / "varidex"
needs_script = pytest.mark.skipif(not EXE.exists(), reason="the varidex script is not installed")


def test_progress_only_on_a_terminal_and_never_with_quiet() -> None:
    leader, follower = pty.openpty()
    read_end, write_end = os.pipe()
    try:
        with os.fdopen(os.dup(follower), "w") as tty, os.fdopen(os.dup(write_end), "w") as pipe:
            assert tty.isatty()
            assert progress_wanted(False, tty) is True
            assert progress_wanted(True, tty) is False
            assert progress_wanted(False, pipe) is False
    finally:
        for fd in (leader, follower, read_end, write_end):
            os.close(fd)


@pytest.mark.parametrize("quiet", [[], ["-q"]])
def test_summary_line_always_printed(gnomad_root: Path, tmp_path: Path, quiet: list[str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "o.vcf"
    assert main(["annotate", str(INPUTS / "ashk-trio.pcsk9.vcf"), "--gnomad-dir",
                 str(gnomad_root / "r2.1.1-exomes"), "-o", str(out), *quiet]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    summary = [ln for ln in err if ln.startswith("varidex: 18 variants")]
    assert len(summary) == 1
    assert "variants/s" in summary[0]
    assert f"output {out}" in summary[0]


@needs_script
def test_script_on_a_terminal_prints_the_summary(gnomad_root: Path, tmp_path: Path) -> None:
    leader, follower = pty.openpty()
    try:
        done = subprocess.run([str(EXE), "annotate", str(INPUTS / "ashk-trio.pcsk9.vcf"),
                               "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"), "-o",
                               str(tmp_path / "o.tsv")], stderr=follower,
                              stdout=subprocess.PIPE, check=False)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO once the writer is gone
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert done.returncode == 0
    assert b"varidex: 18 variants, 2 found" in b"".join(chunks)


@needs_script
def test_script_subcommands_and_exit_codes(gnomad_root: Path, tmp_path: Path) -> None:
    folder = str(gnomad_root / "r2.1.1-exomes")
    look = subprocess.run([str(EXE), "lookup", "-", "--gnomad-dir", folder],
                          input="1-55505647-G-T\n1-55516781-G-T\n", capture_output=True,
                          text=True, check=False)
    assert look.returncode == 0, look.stderr
    assert look.stdout.count("gnomAD r2.1.1/exomes:") == 2
    assert "varidex: 2 variants, 1 found" in look.stderr
    info = subprocess.run([str(EXE), "info", folder], capture_output=True, text=True,
                          check=False)
    assert info.returncode == 0
    assert "release r2.1.1/exomes (GRCh37)" in info.stdout
    vcf = subprocess.run([str(EXE), "annotate", "-", "--gnomad-dir", folder,
                          "--output-format", "vcf", "-q"],
                         input=(INPUTS / "ashk-trio.pcsk9.vcf").read_text(),
                         capture_output=True, text=True, check=False)
    assert vcf.returncode == 0, vcf.stderr
    records = [ln for ln in vcf.stdout.splitlines() if not ln.startswith("#")]
    assert len(records) == 18  # as many records out as in
    bad = subprocess.run([str(EXE), "lookup", "1-55505647-G", "--gnomad-dir", folder],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: variant ID: cannot read '1-55505647-G'")
    usage = subprocess.run([str(EXE), "annotate", "x.vcf", "--output-format", "xlsx"],
                           capture_output=True, text=True, check=False)
    assert usage.returncode == 2
    assert "invalid choice: 'xlsx'" in usage.stderr
