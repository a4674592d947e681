"""The prebuilt store: built from the committed releases, it answers exactly what the VCFs
answer (every status and value), through the API, the pipeline and the CLI; and it refuses
what it should."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pysam
import pytest

from varidex.gnomad.annotate import Annotator, LookupResult
from varidex.gnomad.cli import main
from varidex.gnomad.contigs import normalize_chrom
from varidex.gnomad.errors import (
    BuildMismatchError,
    ConfigError,
    GnomADFileError,
    ReleaseSchemaError,
    StoreError,
)
from varidex.gnomad.store import StoreAnnotator, build_store, open_store
from varidex.gnomad.store.codes import LONG, MAX_PACKED_BASES, pack, pack_one
from varidex.io.loaders.gnomad import GnomADLoader, load_gnomad_frequencies

DATA = Path(__file__).parent / "data"
GENERATED = DATA / "generated"
GNOMAD = DATA / "gnomad"

SETS = {"r2.1.1-exomes": ("r2.1.1", "exomes"), "v4.1-genomes": ("v4.1", "genomes")}


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A store of each committed generated release (two workers: a real process pool)."""
    root = tmp_path_factory.mktemp("stores")
    out = {}
    for name, (version, dataset) in SETS.items():
        out[name] = root / f"{name}.store"
        build_store(GENERATED / name, out[name], version=version, dataset=dataset,
                    max_workers=2)
    return out


def _records(folder: Path) -> list[tuple[str, int, str, list[str]]]:
    """(contig, POS, REF, ALTs) of every record of a release folder."""
    out = []
    for path in sorted(folder.glob("*.vcf.*gz")):
        with pysam.TabixFile(str(path)) as tbx:
            for contig in tbx.contigs:
                for line in tbx.fetch(contig):
                    c = line.split("\t", 5)
                    out.append((c[0], int(c[1]), c[3], c[4].split(",")))
    return out


def make_queries(folder: Path, n: int, seed: int) -> pd.DataFrame:
    """``n`` user-like queries against the records of ``folder``: hits as written, in
    lower case, under the other contig spelling and padded non-minimally; absent SNVs
    (new positions and new ALTs at gnomAD positions) and indels; skip cases; chromosomes
    the release lacks; duplicates (drawn with replacement); shuffled."""
    rng = np.random.default_rng(seed)
    records = _records(folder)
    alleles = [(c, p, r, a) for c, p, r, alts in records for a in alts]
    by_pos = {(normalize_chrom(c), p): (r, set(alts)) for c, p, r, alts in records}
    rows: list[tuple[object, object, object, object]] = []
    kinds = rng.choice(9, size=n, p=[.38, .05, .05, .06, .2, .12, .06, .04, .04])
    bases = "ACGT"
    for kind in kinds.tolist():
        c, p, r, a = alleles[int(rng.integers(len(alleles)))]
        if kind == 0:
            rows.append((c, p, r, a))
        elif kind == 1:
            rows.append((c, p, r.lower(), a.lower()))
        elif kind == 2:
            rows.append((c[3:] if c.startswith("chr") else f"chr{c}", p, r, a))
        elif kind == 3:  # the same allele with a shared trailing base
            pad = bases[int(rng.integers(4))]
            rows.append((c, p, r + pad, a + pad))
        elif kind == 4:  # absent: near a gnomAD record, where no record starts
            q = p + int(rng.integers(-5000, 5000))
            if (normalize_chrom(c), q) in by_pos or q < 1:
                q = p + 1_000_003
            rows.append((c, q, bases[q % 4], bases[(q + 1) % 4]))
        elif kind == 5:  # absent: a new ALT at a gnomAD position (gnomAD's REF)
            ref, alts = by_pos[(normalize_chrom(c), p)]
            new = [b for b in bases if b != ref[0] and b not in alts]
            rows.append((c, p, ref[0], new[0] if new else ref[0] + "TTT"))
        elif kind == 6:  # absent indels
            ins = "".join(bases[int(i)] for i in rng.integers(4, size=int(rng.integers(1, 25))))
            rows.append((c, p, r[0], r[0] + ins))
        elif kind == 7:  # cannot be looked up
            rows.append([(c, p, r, "*"), (c, p, r, "<DEL>"), (c, p, r, "A]2:5]"),
                         (c, p, r, "X"), (c, p, r, r), (c, p, r, "."), (c, p, "", a),
                         (c, p, None, a)][int(rng.integers(8))])
        else:  # chromosomes the release has no file for
            rows.append((("1", "chr1", "MT", "Y", "chrUn_gl000220")[int(rng.integers(5))],
                         p, r, a))
    frame = pd.DataFrame(rows, columns=["chromosome", "position", "ref_allele", "alt_allele"])
    return frame.iloc[rng.permutation(n)].reset_index(drop=True)


def _columns(frame: pd.DataFrame) -> list[list[object]]:
    return [frame[c].tolist() for c in ("chromosome", "position", "ref_allele", "alt_allele")]


def assert_same(a: LookupResult, b: LookupResult) -> None:
    """Every status and every value (type, missingness) identical."""
    assert a.columns == b.columns
    assert a.status.tolist() == b.status.tolist()
    for name in a.columns:
        assert a.data[name].dtype == b.data[name].dtype, name
        assert pd.Series(a.values[name]).equals(pd.Series(b.values[name])), name


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SETS))
def test_store_equals_vcf_path_on_100k_queries(stores: dict[str, Path], name: str) -> None:
    version, dataset = SETS[name]
    frame = make_queries(GENERATED / name, 100_000, seed=7)
    vcf = Annotator.open(GENERATED / name, version=version, dataset=dataset, max_workers=1)
    store = StoreAnnotator.open_store(stores[name], version=version, dataset=dataset)
    try:
        expected, got = vcf.lookup(*_columns(frame)), store.lookup(*_columns(frame))
    finally:
        vcf.close()
        store.close()
    assert_same(expected, got)
    counts = got.counts()
    # The set holds every outcome, in quantity.
    assert counts["found"] > 30_000
    assert counts["found_non_pass"] > 3_000
    assert counts["absent"] > 30_000
    assert min(counts[s] for s in ("no_data", "skipped_star", "skipped_symbolic",
                                   "invalid_allele")) > 300
    for key in ("ref_colocated", "ref_mismatch", "duplicate_gnomad_keys", "looked_up"):
        assert store.totals[key] == vcf.totals[key], key


def test_store_gives_the_generated_truth(stores: dict[str, Path]) -> None:
    """Named variants with the AF, AC and AN the generator wrote (see the truth tables)."""
    with GnomADLoader(store=stores["r2.1.1-exomes"], version="r2.1.1") as loader:
        freq = loader.lookup_variant("21", 23703789, "C", "T")
        assert freq is not None
        assert (freq.af, freq.ac, freq.an) == (4.37254e-06, 1, 228700)
        assert loader.lookup_variant("chr22", 23693637, "T", "C").af == 0.0  # type: ignore[union-attr]
        assert loader.lookup_variant("21", 36928931, "A", "T") is None  # absent
        stats = loader.get_statistics()
        assert stats["store"] == str(stores["r2.1.1-exomes"])
        assert stats["available_chromosomes"] == ["21", "22"]
    with GnomADLoader(store=stores["v4.1-genomes"], dataset="genomes", version=None) as loader:
        freq = loader.lookup_variant("chr21", 43882421, "A", "G")
        assert freq is not None
        assert (freq.af, freq.ac, freq.an) == (0.337741, 49527, 146642)
        assert loader.version == "v4.1"


def test_cli_store_output_is_byte_identical(stores: dict[str, Path], tmp_path: Path) -> None:
    for query, (name, version) in {"queries-r2.1.1.1000.vcf.gz": ("r2.1.1-exomes", "r2.1.1"),
                                   "queries-r2.1.1.1000.csv": ("r2.1.1-exomes", "2.1.1"),
                                   "queries-v4.1.300.vcf.gz": ("v4.1-genomes", "v4.1")}.items():
        dataset = SETS[name][1]
        a, b = tmp_path / f"{query}.vcf-path.tsv", tmp_path / f"{query}.store.tsv"
        assert main(["annotate", str(GENERATED / query), "--gnomad-dir", str(GENERATED / name),
                     "--dataset", dataset, "--workers", "1", "-o", str(a), "-q"]) == 0
        assert main(["annotate", str(GENERATED / query), "--store", str(stores[name]),
                     "--version", version, "--dataset", dataset, "-o", str(b), "-q"]) == 0
        assert a.read_bytes() == b.read_bytes(), query
    table = pd.read_csv(b, sep="\t", dtype=str, keep_default_na=False)
    assert (table["gnomad_release"] == "v4.1/genomes").all()
    row = table[(table["position"] == "43882421") & (table["alt_allele"] == "G")].iloc[0]
    assert (row["gnomad_af"], row["gnomad_ac"], row["gnomad_status"]) == (
        "0.337741", "49527", "found")


def test_pipeline_batches_and_dataframe_api_agree(stores: dict[str, Path]) -> None:
    """annotate_dataframe from a store equals the VCF path's, duplicates and order kept."""
    frame = make_queries(GENERATED / "r2.1.1-exomes", 3000, seed=3)
    frame = frame[frame["ref_allele"].notna()].reset_index(drop=True)
    by_vcf = load_gnomad_frequencies(frame, GENERATED / "r2.1.1-exomes", max_workers=1)
    by_store = load_gnomad_frequencies(frame, store=stores["r2.1.1-exomes"])
    pd.testing.assert_frame_equal(by_vcf, by_store)


def test_fields_subset(tmp_path: Path) -> None:
    out = tmp_path / "small.store"
    assert main(["store", "build", "--gnomad-dir", str(GENERATED / "r2.1.1-exomes"),
                 "--fields", "af,gnomad_ac,AN,af_nfe,popmax", "--chromosomes", "chr21",
                 "-o", str(out), "-q", "--workers", "1"]) == 0
    store = open_store(out)
    assert store.columns == ("af", "ac", "an", "af_nfe", "grpmax", "filters")
    assert list(store.meta.chromosomes) == ["21"]
    frame = make_queries(GENERATED / "r2.1.1-exomes", 2000, seed=5)
    vcf = Annotator.open(GENERATED / "r2.1.1-exomes", max_workers=1)
    sub = StoreAnnotator.open_store(out)
    try:
        full, part = vcf.lookup(*_columns(frame)), sub.lookup(*_columns(frame))
    finally:
        vcf.close()
        sub.close()
    on21 = np.array([normalize_chrom(str(c)) == "21" for c in frame["chromosome"]])
    # Chromosome 22 was left out: no_data from this store, whatever the files say.
    assert set(part.status[~on21 & (full.status != "no_data")]) <= {
        "no_data", "skipped_star", "skipped_symbolic", "invalid_allele"}
    assert part.status[on21].tolist() == full.status[on21].tolist()
    for name in store.columns:
        assert pd.Series(part.values[name][on21]).equals(
            pd.Series(full.values[name][on21])), name


def test_unknown_field_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["store", "build", "--gnomad-dir", str(GENERATED / "r2.1.1-exomes"),
                 "--fields", "af,af_xyz", "-o", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 1
    assert "af_xyz is not a field of gnomAD r2.1.1/exomes; choose from: af, ac" in err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(("args", "message"), [
    (["--version", "v4.1"], "not of release v4.1 asked for"),
    (["--dataset", "genomes"], "not of the genomes dataset asked for"),
    (["--dataset", "exomes,genomes"], "a store holds one dataset"),
])
def test_store_of_another_release_is_refused(stores: dict[str, Path], tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             args: list[str], message: str) -> None:
    out = tmp_path / "never.tsv"
    code = main(["annotate", str(GENERATED / "queries-r2.1.1.1000.vcf.gz"), "--store",
                 str(stores["r2.1.1-exomes"]), "-o", str(out), *args])
    err = capsys.readouterr().err
    assert code == 1, err
    assert message in err
    assert err.startswith("error: ")
    assert not out.exists()


def test_facade_refuses_a_store_of_another_release(stores: dict[str, Path]) -> None:
    with pytest.raises(ReleaseSchemaError, match="store of gnomAD v4.1/genomes"):
        GnomADLoader(store=stores["v4.1-genomes"])  # the compatible defaults: r2.1.1 exomes
    with pytest.raises(ConfigError, match="exactly one of gnomad_dir"):
        GnomADLoader(GENERATED / "r2.1.1-exomes", store=stores["r2.1.1-exomes"])
    with pytest.raises(ConfigError, match="exactly one of gnomad_dir"):
        GnomADLoader()


def _copy(store: Path, tmp_path: Path) -> Path:
    target = tmp_path / store.name
    shutil.copytree(store, target)
    return target


def test_damaged_stores_are_refused(stores: dict[str, Path], tmp_path: Path) -> None:
    r2 = _copy(stores["r2.1.1-exomes"], tmp_path)
    meta = json.loads((r2 / "store.json").read_text())
    meta["build"] = "GRCh38"
    (r2 / "store.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="r2.1.1/exomes is on GRCh38, but it is on GRCh37"):
        open_store(r2)
    meta["build"] = "GRCh37"
    meta["format_version"] = 99
    (r2 / "store.json").write_text(json.dumps(meta))
    with pytest.raises(StoreError, match="store format 99"):
        open_store(r2)
    meta["format_version"] = 1
    (r2 / "store.json").write_text(json.dumps(meta))
    # A chromosome file of another store (same name, other release): refused on use.
    (r2 / "21.parquet").unlink()
    with pytest.raises(StoreError, match="21.parquet is missing"):
        open_store(r2)
    shutil.copy(stores["v4.1-genomes"] / "21.parquet", r2 / "21.parquet")
    a = StoreAnnotator.open_store(r2)
    with pytest.raises(StoreError, match="does not belong to the store"):
        a.lookup(["21"], [23703789], ["C"], ["T"])
    (r2 / "store.json").unlink()
    with pytest.raises(StoreError, match="no store.json, so not a complete varidex store"):
        open_store(r2)
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "nowhere")


def test_damaged_store_file_is_an_error_not_a_value(stores: dict[str, Path],
                                                   tmp_path: Path) -> None:
    """Every Parquet page carries a CRC32 that is checked when it is read."""
    store = _copy(stores["r2.1.1-exomes"], tmp_path)
    target = store / "22.parquet"
    raw = bytearray(target.read_bytes())
    middle = len(raw) // 2
    raw[middle] ^= 0xFF
    target.write_bytes(bytes(raw))
    a = StoreAnnotator.open_store(store)
    rows = [r for r in _records(GENERATED / "r2.1.1-exomes") if r[0] == "22"]
    cols = [[c for c, *_ in rows], [p for _, p, *_ in rows], [r for _, _, r, _ in rows],
            [alts[0] for *_, alts in rows]]
    with pytest.raises(StoreError, match=r"22.parquet: cannot read .*rebuild it"):
        a.lookup(*cols)


def test_build_refuses_to_overwrite_and_cleans_up(tmp_path: Path, stores: dict[str, Path],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = _copy(stores["r2.1.1-exomes"], tmp_path)
    before = (out / "store.json").read_text()
    code = main(["store", "build", "--gnomad-dir", str(GENERATED / "r2.1.1-exomes"),
                 "-o", str(out), "--chromosomes", "22"])
    assert code == 1
    assert "already exists; remove it, choose another -o, or pass --force" in (
        capsys.readouterr().err)
    assert (out / "store.json").read_text() == before
    assert main(["store", "build", "--gnomad-dir", str(GENERATED / "r2.1.1-exomes"),
                 "-o", str(out), "--chromosomes", "22", "--force", "-q"]) == 0
    assert list(open_store(out).meta.chromosomes) == ["22"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary folders


def test_store_info(stores: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["store", "info", str(stores["r2.1.1-exomes"])]) == 0
    out = capsys.readouterr().out
    assert "gnomAD r2.1.1/exomes (GRCh37)" in out
    assert "chromosome 21 (contig 21, gnomad.exomes.r2.1.1.sites.21.vcf.bgz): 600 alleles" in out
    # The MD5 is that of the source file's bytes (what gsutil hash -m reports).
    import hashlib

    src = GENERATED / "r2.1.1-exomes" / "gnomad.exomes.r2.1.1.sites.21.vcf.bgz"
    assert f"md5 {hashlib.md5(src.read_bytes(), usedforsecurity=False).hexdigest()}" in out


def _release_queries(folder: Path) -> pd.DataFrame:
    """Every allele of a real excerpt as written (multi-allelic records split by hand: the
    lookup API takes one ALT a row), plus an absent ALT beside each record."""
    rows = []
    for contig, pos, ref, alts in _records(folder):
        for alt in alts:
            rows.append((contig, pos, ref, alt))
        rows.append((contig, pos, ref[0], "ACGT"[("ACGT".find(ref[0]) + 2) % 4] * 19))
    return pd.DataFrame(rows, columns=["chromosome", "position", "ref_allele", "alt_allele"])


@pytest.mark.parametrize(("name", "version", "dataset"), [
    ("r2.0.1-exomes", "r2.0.1", "exomes"),      # one whole-genome file, multi-allelic rows
    ("r2.0.1-genomes", "r2.0.1", "genomes"),
    ("r2.1.1-exomes", "r2.1.1", "exomes"),      # X and Y: hemizygotes outside the PARs
    ("r2.1.1-liftover", "r2.1.1-liftover_grch38", "exomes"),
    ("v3.1.1-genomes", "v3.1.1", "genomes"),    # a 43-base deletion: a long allele
    ("v3.1-chrM", "v3.1-chrM", "genomes"),
    ("v4.0-exomes", "v4.0", "exomes"),
    ("v4.0-genomes", "v4.0", "genomes"),
])
def test_real_excerpts(gnomad_root: Path, tmp_path: Path, name: str, version: str,
                       dataset: str) -> None:
    folder = gnomad_root / name
    out = tmp_path / "store"
    build_store(folder, out, version=version, dataset=dataset, max_workers=1)
    frame = _release_queries(folder)
    vcf = Annotator.open(folder, version=version, dataset=dataset, max_workers=1)
    store = StoreAnnotator.open_store(out, version=version, dataset=dataset)
    try:
        assert_same(vcf.lookup(*_columns(frame)), store.lookup(*_columns(frame)))
    finally:
        vcf.close()
        store.close()


def test_real_values_from_a_store_of_the_pcsk9_excerpt(gnomad_root: Path,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "store"
    build_store(gnomad_root / "r2.1.1-exomes", out, version="r2.1.1", max_workers=1)
    with GnomADLoader(store=out) as loader:
        freq = loader.lookup_variant("1", 55505647, "G", "T")
        assert freq is not None
        assert (freq.af, freq.ac, freq.an, freq.nhomalt) == (0.0119305, 2341, 196220, 29)
        assert freq.to_dict()["faf95_max"] == 0.0144002
        assert loader.lookup_variant("1", 55516888, "GA", "GAA").ac == 121  # type: ignore[union-attr]
        assert loader.lookup_variant("2", 45895, "A", "G") is None  # no_data


def _rewrite(src: Path, dest: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    """A real bgzipped excerpt with its text edited, recompressed and indexed."""
    with pysam.BGZFile(str(src), "rb", None) as handle:
        text = handle.read().decode()
    plain = dest.with_suffix("")
    plain.write_text(edit(text))
    pysam.tabix_compress(str(plain), str(dest), force=True)
    plain.unlink()
    pysam.tabix_index(str(dest), preset="vcf", force=True, keep_original=True)
    return dest


def test_duplicate_and_long_alleles(tmp_path: Path) -> None:
    """A repeated record (first one wins, as in the VCF path), a second long deletion at
    the same position, and one that is also written non-minimally, all exact."""
    folder = tmp_path / "v3"
    folder.mkdir()
    name = "gnomad.genomes.v3.1.1.sites.chr2.vcf.gz"

    def edit(text: str) -> str:
        lines = text.splitlines()
        body = [ln for ln in lines if not ln.startswith("#")]
        long_del = next(ln for ln in body if len(ln.split("\t")[3]) > 20).split("\t")
        other = list(long_del)
        other[3] = long_del[3][:-1]  # one base shorter: another long allele, same position
        other[7] = other[7].replace("AC=0;", "AC=10;", 1)
        again = list(long_del)
        again[7] = again[7].replace("AF=0.00000", "AF=0.50000", 1)  # same key, other AF
        padded = list(long_del)
        padded[3], padded[4] = long_del[3] + "G", long_del[4] + "G"  # same minimal key
        padded[7] = padded[7].replace("AF=0.00000", "AF=0.25000", 1)
        extra = ["\t".join(x) for x in (other, again, padded)]
        at = lines.index("\t".join(long_del))
        return "\n".join(lines[:at + 1] + extra + lines[at + 1:]) + "\n"

    _rewrite(GNOMAD / "v3.1.1-genomes" / name, folder / name, edit)
    out = tmp_path / "store"
    meta = build_store(folder, out, version="v3.1.1", dataset="genomes", max_workers=1)
    assert meta.chromosomes["2"].duplicates == 2
    frame = _release_queries(folder)
    vcf = Annotator.open(folder, version="v3.1.1", dataset="genomes", max_workers=1)
    store = StoreAnnotator.open_store(out)
    try:
        a, b = vcf.lookup(*_columns(frame)), store.lookup(*_columns(frame))
        assert_same(a, b)
        assert store.totals["duplicate_gnomad_keys"] == vcf.totals["duplicate_gnomad_keys"] > 0
    finally:
        vcf.close()
        store.close()
    long_rows = [i for i, r in enumerate(frame["ref_allele"]) if len(r) > 20]
    assert len(long_rows) == 4
    assert sorted({b.values["ac"][i] for i in long_rows}) == [0, 10]  # two long alleles
    assert {b.values["af"][i] for i in long_rows if b.values["ac"][i] == 0} == {0.0}
    assert all(b.status[i] == "found_non_pass" for i in long_rows)


def test_whole_genome_file_of_two_contigs(tmp_path: Path) -> None:
    """A whole-genome file holding two chromosomes is read per contig through tabix."""
    folder = tmp_path / "r201"
    folder.mkdir()
    name = "gnomad.exomes.r2.0.1.sites.vcf.gz"

    def edit(text: str) -> str:
        body = [ln for ln in text.splitlines() if ln.startswith("1\t")]
        return text + "".join("2" + ln[1:] + "\n" for ln in body)

    _rewrite(GNOMAD / "r2.0.1-exomes" / name, folder / name, edit)
    out = tmp_path / "store"
    meta = build_store(folder, out, version="r2.0.1", max_workers=2)
    assert list(meta.chromosomes) == ["1", "2"]
    assert meta.chromosomes["1"].records == meta.chromosomes["2"].records == 50
    assert len(meta.sources) == 1
    frame = _release_queries(folder)
    vcf = Annotator.open(folder, version="r2.0.1", max_workers=1)
    store = StoreAnnotator.open_store(out, version="r2.0.1")
    try:
        a, b = vcf.lookup(*_columns(frame)), store.lookup(*_columns(frame))
    finally:
        vcf.close()
        store.close()
    assert_same(a, b)
    assert set(b.status[frame["chromosome"] == "2"]) == {"found", "found_non_pass", "absent"}


def test_chromosome_without_any_allele(tmp_path: Path) -> None:
    """Records whose ALTs are all '*': an empty chromosome file, and 'absent' as from the
    VCF (the file has records), never no_data."""
    folder = tmp_path / "chrm"
    folder.mkdir()
    name = "gnomad.genomes.v3.1.sites.chrM.vcf.gz"

    def edit(text: str) -> str:
        out = []
        for line in text.splitlines():
            cols = line.split("\t")
            if not line.startswith("#"):
                cols[4] = "*"
            out.append("\t".join(cols))
        return "\n".join(out) + "\n"

    _rewrite(GNOMAD / "v3.1-chrM" / name, folder / name, edit)
    out = tmp_path / "store"
    meta = build_store(folder, out, version="v3.1-chrM", dataset="genomes", max_workers=1)
    assert (meta.chromosomes["MT"].variants, meta.chromosomes["MT"].records) == (0, 3)
    recs = _records(GNOMAD / "v3.1-chrM")
    cols = [[c for c, *_ in recs], [p for _, p, *_ in recs], [r for _, _, r, _ in recs],
            [alts[0] for *_, alts in recs]]
    vcf = Annotator.open(folder, version="v3.1-chrM", dataset="genomes", max_workers=1)
    store = StoreAnnotator.open_store(out)
    try:
        a, b = vcf.lookup(*cols), store.lookup(*cols)
    finally:
        vcf.close()
        store.close()
    assert_same(a, b)
    assert b.status.tolist() == ["absent"] * 3


def test_malformed_record_fails_and_leaves_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    name = "gnomad.genomes.v3.1.2.sites.chr1.vcf.gz"

    def edit(text: str) -> str:
        return text.replace(";AN=", ";AN=12x", 1)

    _rewrite(GNOMAD / "v3.1.2-genomes" / name, folder / name, edit)
    with pytest.raises(GnomADFileError, match=rf"{name}: malformed record at chr1:\d+ .*AN="):
        build_store(folder, tmp_path / "store", version="v3.1.2", dataset="genomes",
                    max_workers=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad"]


def test_damaged_source_file_fails_with_the_file_named(tmp_path: Path) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(GENERATED / "r2.1.1-exomes", folder)
    data = folder / "gnomad.exomes.r2.1.1.sites.22.vcf.bgz"
    raw = bytearray(data.read_bytes())
    raw[len(raw) // 2:len(raw) // 2 + 64] = bytes(64)  # zeros in the middle of a block
    data.write_bytes(bytes(raw))
    (folder / (data.name + ".tbi")).touch()  # still not older than its data file
    with pytest.raises(GnomADFileError, match=rf"{data.name}: .*re-download"):
        build_store(folder, tmp_path / "store", version="r2.1.1", max_workers=1)
    assert not (tmp_path / "store").exists()
    assert not list(tmp_path.glob(".store.*"))  # no temporary folder left


def test_build_guard_with_a_store(stores: dict[str, Path]) -> None:
    """Queries whose REF disagrees with gnomAD's where records start: stopped as in the VCF
    path, or counted alike with allow_ref_mismatch."""
    recs = _records(GENERATED / "r2.1.1-exomes")[:40]
    other = {"A": "C", "C": "G", "G": "T", "T": "A"}
    cols = [[c for c, *_ in recs], [p for _, p, *_ in recs],
            [other[r[0]] for _, _, r, _ in recs], ["N" for _ in recs]]
    store = StoreAnnotator.open_store(stores["r2.1.1-exomes"])
    with pytest.raises(BuildMismatchError, match="40 of 40 input variants"):
        store.lookup(*cols)
    store.allow_ref_mismatch = True
    before = store.totals["ref_mismatch"]  # 40, counted before the stop
    vcf = Annotator.open(GENERATED / "r2.1.1-exomes", max_workers=1, allow_ref_mismatch=True)
    try:
        assert_same(vcf.lookup(*cols), store.lookup(*cols))
        assert store.totals["ref_mismatch"] - before == vcf.totals["ref_mismatch"] == 40
    finally:
        vcf.close()
        store.close()


def test_serial_and_spawned_builds_write_the_same_store(tmp_path: Path) -> None:
    a, b = tmp_path / "serial", tmp_path / "spawned"
    build_store(GENERATED / "r2.1.1-exomes", a, max_workers=1)
    from varidex.gnomad.store.build import build_store as build

    build(GENERATED / "r2.1.1-exomes", b, max_workers=2, start_method="spawn")
    for name in ("21.parquet", "22.parquet", "21.starts.parquet"):
        assert pq.read_table(a / name).equals(pq.read_table(b / name)), name
    table = pq.read_table(a / "21.parquet")
    keys = list(zip(table["pos"].to_pylist(), table["allele"].to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys) == 600


# --- allele codes -------------------------------------------------------------------------

def test_codes_vectorized_equal_scalar_and_never_collide() -> None:
    rng = np.random.default_rng(1)
    letters = np.array(list("ACGTN"))
    ref = ["".join(letters[rng.integers(5, size=int(rng.integers(1, 12)))]) for _ in range(20000)]
    alt = ["".join(letters[rng.integers(5, size=int(rng.integers(1, 12)))]) for _ in range(20000)]
    ref += ["A", "AC", "A" * 16, "A" * 17, "AX"]
    alt += ["AC", "A", "C", "C", "A"]
    codes = pack(ref, alt)
    assert codes.tolist() == [pack_one(r, a) for r, a in zip(ref, alt, strict=True)]
    packed = {(r, a): c for r, a, c in zip(ref, alt, codes.tolist(), strict=True) if c != LONG}
    assert len(set(packed.values())) == len(packed)  # one code, one pair
    assert all(len(r) + len(a) <= MAX_PACKED_BASES for r, a in packed)
    assert codes[-3:].tolist() == [pack_one("A" * 16, "C"), LONG, LONG]
    assert pack_one("A", "AC") != pack_one("AA", "C")


def test_sparse_and_whole_row_group_decoding_agree(stores: dict[str, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A few queries of a row group read it and cache nothing; many cache it (as read) for
    # later batches. Both must give the VCF path's answers.
    from varidex.gnomad.store import reader

    name = "r2.1.1-exomes"
    version, dataset = SETS[name]
    frame = make_queries(GENERATED / name, 40, seed=11)
    vcf = Annotator.open(GENERATED / name, version=version, dataset=dataset, max_workers=1)
    expected = vcf.lookup(*_columns(frame))
    vcf.close()
    got = {}
    whole: list[tuple[str, int]] = []
    decode_whole = reader.Store._row_group

    def counted(self: reader.Store, chrom: str, g: int) -> object:
        whole.append((chrom, g))
        return decode_whole(self, chrom, g)

    monkeypatch.setattr(reader.Store, "_row_group", counted)
    for share in (reader.SPARSE_SHARE, 10**9):  # 10**9: every group cached
        monkeypatch.setattr(reader, "SPARSE_SHARE", share)
        whole.clear()
        store = StoreAnnotator.open_store(stores[name], version=version, dataset=dataset)
        try:
            got[share] = store.lookup(*_columns(frame))
        finally:
            store.close()
        assert bool(whole) == (share == 10**9)
    assert int((expected.status == "found").sum()) >= 5
    for result in got.values():
        assert_same(expected, result)
