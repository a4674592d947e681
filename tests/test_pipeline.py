"""The file pipeline: batches read, looked up and written in threads give the same output
as one batch written through a data frame, and errors of any batch still leave no output."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad.annotate import Annotator
from varidex.gnomad.errors import InputFormatError
from varidex.gnomad.formats.delimited import _arrow_csv
from varidex.gnomad.pipeline import annotate_file, annotate_frame, read_variants

GENERATED = Path(__file__).parent / "data" / "generated"
QUERIES = GENERATED / "queries-r2.1.1.1000.vcf.gz"


@pytest.fixture
def annotator() -> Annotator:
    return Annotator.open(GENERATED / "r2.1.1-exomes", version="r2.1.1", max_workers=1)


def test_batches_in_threads_equal_one_data_frame(annotator: Annotator, tmp_path: Path) -> None:
    frame = read_variants(str(QUERIES))
    whole, _ = annotate_frame(annotator, frame, show_progress=False)
    expected = _arrow_csv(whole, sep="\t", header=True)  # the data frame, written as before
    assert expected is not None
    out = tmp_path / "out.tsv"
    summary = annotate_file(annotator, str(QUERIES), str(out), batch_rows=37)
    annotator.close()
    assert summary.variants == len(frame)
    assert out.read_bytes() == expected
    got = pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)
    assert (got["gnomad_status"] == "found").sum() > 400
    # one named record of the generated file, with its values from the file itself
    row = got[got["id"] == got["id"].iloc[0]].iloc[0]
    assert row["gnomad_release"] == "r2.1.1/exomes"


def test_two_workers_write_the_same_file(tmp_path: Path) -> None:
    outs = []
    for workers in (1, 2):
        a = Annotator.open(GENERATED / "r2.1.1-exomes", version="r2.1.1", max_workers=workers,
                           chunk_size=20)
        out = tmp_path / f"out{workers}.tsv.gz"
        annotate_file(a, str(QUERIES), str(out), batch_rows=300)
        a.close()
        outs.append(gzip.decompress(out.read_bytes()))
    assert outs[0] == outs[1]
    assert outs[0].count(b"\tfound\t") > 400


def test_error_in_a_later_batch_leaves_no_output(annotator: Annotator, tmp_path: Path) -> None:
    lines = gzip.decompress(QUERIES.read_bytes()).decode().splitlines(keepends=True)
    first = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    bad = first + 500
    cols = lines[bad].split("\t")
    cols[1] = "12x"
    lines[bad] = "\t".join(cols)
    src = tmp_path / "bad.vcf"
    src.write_text("".join(lines))
    out = tmp_path / "out.tsv"
    with pytest.raises(InputFormatError, match=f"line {bad + 1}: POS .*'12x'"):
        annotate_file(annotator, str(src), str(out), batch_rows=50)
    annotator.close()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left either


def test_reannotating_an_annotated_file_replaces_the_earlier_columns(annotator: Annotator,
                                                                      tmp_path: Path) -> None:
    # As bcftools annotate overwrites an INFO field already there: one set of gnomad_*
    # columns, this run's, whatever path (Arrow table or data frame) wrote the batch.
    first, second = tmp_path / "a.tsv", tmp_path / "b.tsv"
    annotate_file(annotator, str(QUERIES), str(first))
    annotate_file(annotator, str(first), str(second))
    annotator.close()
    header = second.read_text().splitlines()[0].split("\t")
    assert header.count("gnomad_af") == 1
    assert second.read_text() == first.read_text()


DEMO = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data" / "demo_variants.vcf"


@pytest.mark.parametrize(("fmt", "acmg"), [("tsv", False), ("tsv", True), ("parquet", True)],
                         ids=["tsv (Arrow path)", "tsv --acmg", "parquet --acmg"])
def test_issue_reannotated_table_keeps_no_earlier_gnomad_or_acmg_column(
        fmt: str, acmg: bool, gnomad_root: Path, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """The demo variants annotated against r2.1.1 exomes, that table against r2.1.1 genomes
    (no sas group): no gnomad_*_sas column of the exomes run may stay; the table must be
    what one genomes run gives, acmg_* columns included when --acmg adds them again."""
    from varidex.gnomad.cli import main

    def run(src: Path, out: Path, folder: str, dataset: str) -> pd.DataFrame:
        extra = ["--acmg"] if acmg else []
        assert main(["annotate", str(src), "--gnomad-dir", str(gnomad_root / folder),
                     "--dataset", dataset, "-o", str(out), "-q", *extra]) == 0
        if fmt == "parquet":
            return pd.read_parquet(out)
        return pd.read_csv(out, sep="\t", dtype=str, keep_default_na=False)

    once, twice, alone = (tmp_path / f"{n}.{fmt}" for n in ("once", "twice", "alone"))
    first = run(DEMO, once, "r2.1.1-exomes", "exomes")
    caplog.set_level("INFO", logger="varidex")
    second = run(once, twice, "r2.1.1-genomes", "genomes")
    fresh = run(DEMO, alone, "r2.1.1-genomes", "genomes")
    rs = first["id"] == "rs11591147"
    assert first.loc[rs, "gnomad_af_sas"].astype(float).tolist() == [0.00115842]
    assert not [c for c in second.columns if c.endswith("_sas")]
    assert second.loc[second["id"] == "rs11591147", "gnomad_status"].tolist() == ["absent"]
    assert second.loc[second["id"] == "rs11591147", "gnomad_release"].tolist() == [
        "r2.1.1/genomes"]
    assert list(second.columns).count("gnomad_af") == 1
    assert (list(second.columns).count("acmg_ba1") == 1) is acmg
    pd.testing.assert_frame_equal(second, fresh)  # same columns, order and values
    dropped = [r.getMessage() for r in caplog.records if "re-annotation" in r.getMessage()]
    assert len(dropped) == 1
    assert "gnomad_af_sas" in dropped[0]


def test_reannotating_without_acmg_drops_the_earlier_evidence(
        gnomad_root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # acmg_* columns were computed from the earlier values: left beside the new ones they
    # would state evidence (rs11591147: BA1 not met, from the exomes) the new values do not
    # give.
    from varidex.gnomad.cli import main

    once, twice = tmp_path / "once.tsv", tmp_path / "twice.tsv"
    assert main(["annotate", str(DEMO), "--gnomad-dir", str(gnomad_root / "r2.1.1-exomes"),
                 "-o", str(once), "-q", "--acmg", "--inheritance", "dominant"]) == 0
    first = pd.read_csv(once, sep="\t", dtype=str, keep_default_na=False)
    assert first.loc[first["id"] == "rs11591147", "acmg_ba1"].tolist() == ["not_met"]
    caplog.set_level("INFO", logger="varidex")
    assert main(["annotate", str(once), "--gnomad-dir", str(gnomad_root / "r2.1.1-genomes"),
                 "--dataset", "genomes", "-o", str(twice), "-q"]) == 0
    second = pd.read_csv(twice, sep="\t", dtype=str, keep_default_na=False)
    assert not [c for c in second.columns if c.startswith("acmg_")]
    assert second.loc[second["id"] == "rs11591147", "gnomad_status"].tolist() == ["absent"]
    assert "not computed again (add --acmg for the evidence)" in caplog.text


def _table_with_a_multi_alt_row(at: int, rows: int = 12) -> pd.DataFrame:
    alts = ["T"] * rows
    alts[at] = "T,A"
    return pd.DataFrame({"rsid": [f"id{i}" for i in range(rows)], "chrom": ["1"] * rows,
                         "pos": [55505647] * rows, "ref": ["G"] * rows, "alt": alts})


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("at", [0, 7])
def test_every_batch_has_the_first_batchs_columns(gnomad_root: Path, tmp_path: Path, suffix: str,
                                                  at: int) -> None:
    """Regression: a multi-ALT cell first seen after the first batch added input_row and
    alt_index to that batch only: every later CSV row had two more fields than the header
    (the chromosome column read the row number), and Parquet output dropped them."""
    src, out = tmp_path / f"in{suffix}", tmp_path / f"out{suffix}"
    table = _table_with_a_multi_alt_row(at)
    if suffix == ".csv":
        table.to_csv(src, index=False)
    else:
        table.to_parquet(src, index=False)
    annotator = Annotator.open(gnomad_root / "r2.1.1-exomes", version="r2.1.1", max_workers=1)
    try:
        annotate_file(annotator, str(src), str(out), batch_rows=5)
    finally:
        annotator.close()
    got = pd.read_csv(out, dtype=str) if suffix == ".csv" else pd.read_parquet(out)
    assert len(got) == 13  # one row per ALT
    located = at == 0  # the first batch decides; later batches follow it
    assert ("input_row" in got.columns) is located
    assert ("alt_index" in got.columns) is located
    assert got["chrom"].astype(str).tolist() == ["1"] * 13
    split = got[got["rsid"] == f"id{at}"]
    assert split["alt"].tolist() == ["T", "A"]
    assert split["gnomad_af"].astype(float).tolist()[0] == 0.0119305
    if located:
        assert got["input_row"].astype(int).tolist() == [1, 1, *range(2, 13)]
        assert got["alt_index"].astype(int).tolist() == [0, 1] + [0] * 11
