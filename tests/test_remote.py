"""gnomAD files read over HTTP: a real server on 127.0.0.1 with range requests (conftest's
RangeServer) serves the generated releases; varidex must give what it gives from the local
folder, fetch each index once, and turn every dropped connection into an error naming the
file, never into "absent".

Not tested here (no network): the real s3:// and gs:// endpoints. The s3:// and gs:// code
path is tested against the local server through VARIDEX_S3_ENDPOINT / VARIDEX_GS_ENDPOINT;
the default endpoint mapping is checked as text (doctests of remote.https_url).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from varidex.gnomad import remote
from varidex.gnomad.annotate import Annotator, LookupResult
from varidex.gnomad.cli import main
from varidex.gnomad.discovery import discover
from varidex.gnomad.errors import GnomADError, RemoteFileError
from varidex.gnomad.pipeline import read_variants
from varidex.gnomad.remote import https_url, is_remote
from varidex.io.loaders.gnomad import GnomADLoader

GENERATED = Path(__file__).parent / "data" / "generated"
SETS = [("r2.1.1-exomes", "queries-r2.1.1.1000", "r2.1.1", "exomes", "21"),
        ("v4.1-genomes", "queries-v4.1.300", "v4.1", "genomes", "chr21")]
R211_21 = "gnomad.exomes.r2.1.1.sites.21.vcf.bgz"


def _queries(name: str) -> list[list[object]]:
    frame = read_variants(str(GENERATED / f"{name}.csv"))
    return [frame[c].tolist() for c in ("chromosome", "position", "ref_allele", "alt_allele")]


def _lookup(where: str | Path, version: str, dataset: str, queries: str,
            **options: object) -> LookupResult:
    annotator = Annotator.open(where, version=version, dataset=dataset, **options)
    try:
        return annotator.lookup(*_queries(queries))
    finally:
        annotator.close()


def _same(a: LookupResult, b: LookupResult) -> None:
    assert b.status.tolist() == a.status.tolist()
    for name in a.columns:
        assert pd.Series(b.values[name]).equals(pd.Series(a.values[name])), name


def _first_record(path: Path) -> tuple[str, int, str, str, float]:
    """The first record of a bgzipped VCF and its AF, read as text (not through varidex)."""
    import gzip

    with gzip.open(path, "rt") as handle:
        for line in handle:
            if not line.startswith("#"):
                cols = line.split("\t")
                info = dict(kv.split("=", 1) for kv in cols[7].split(";") if "=" in kv)
                return cols[0], int(cols[1]), cols[3], cols[4].split(",")[0], float(info["AF"])
    raise AssertionError(path)


@pytest.mark.parametrize(("folder", "queries", "version", "dataset", "contig"), SETS)
def test_url_gives_what_the_local_folder_gives(range_server, index_cache: Path,  # type: ignore[no-untyped-def]
                                               folder: str, queries: str, version: str,
                                               dataset: str, contig: str) -> None:
    url = f"{range_server.url}/{folder}/"
    local = _lookup(GENERATED / folder, version, dataset, queries, max_workers=1)
    remote = _lookup(url, version, dataset, queries, max_workers=1)
    _same(local, remote)
    assert sum(s == "found" for s in remote.status) > 100
    # htslib seeks with range requests (its first GET of a file has no Range: the header).
    assert [r for r in range_server.requests("GET", ".vcf.bgz") if r[2] and r[3] == 206]
    # A named variant: the first record of the file, its AF as the file states it.
    chrom, pos, ref, alt, af = _first_record(sorted((GENERATED / folder).glob("*.vcf.bgz"))[0])
    a = Annotator.open(url, version=version, dataset=dataset, max_workers=1)
    try:
        one = a.lookup([chrom], [pos], [ref], [alt])
    finally:
        a.close()
    assert chrom == contig
    assert one.status[0] in ("found", "found_non_pass")
    assert one.values["af"][0] == pytest.approx(af, rel=1e-9)


def test_process_pool_reads_the_url_like_the_local_folder(range_server,  # type: ignore[no-untyped-def]
                                                         index_cache: Path) -> None:
    """Spawned workers open their own handles on the URL and find the index in the cache."""
    url = f"{range_server.url}/r2.1.1-exomes/"
    local = _lookup(GENERATED / "r2.1.1-exomes", "r2.1.1", "exomes", "queries-r2.1.1.1000",
                    max_workers=1)
    remote = _lookup(url, "r2.1.1", "exomes", "queries-r2.1.1.1000", max_workers=2,
                     chunk_size=25, start_method="spawn")
    _same(local, remote)
    # Each index crossed the network once, whatever the number of processes.
    for chrom in ("21", "22"):
        assert len(range_server.requests("GET", f".sites.{chrom}.vcf.bgz.tbi")) == 1
    cached = sorted(p.name.split("-", 1)[1] for p in index_cache.iterdir())
    assert cached == [f"gnomad.exomes.r2.1.1.sites.{c}.vcf.bgz.tbi" for c in ("21", "22")]


def test_index_cache_is_reused_and_keyed_by_the_index_version(range_server,  # type: ignore[no-untyped-def]
                                                              index_cache: Path) -> None:
    url = f"{range_server.url}/r2.1.1-exomes/"
    discover(url, version="r2.1.1", dataset="exomes")
    assert len(range_server.requests("GET", ".tbi")) == 2
    discover(url, version="r2.1.1", dataset="exomes")
    assert len(range_server.requests("GET", ".tbi")) == 2  # cached
    # A new index on the server (another size/ETag) is fetched again, beside the old one.
    tbi = range_server.root / "r2.1.1-exomes" / f"{R211_21}.tbi"
    os.utime(tbi, ns=(tbi.stat().st_atime_ns, tbi.stat().st_mtime_ns + 10**9))  # a new ETag
    remote._LOCAL.clear()  # as in a new process, which asks the server again
    discover(url, version="r2.1.1", dataset="exomes")
    assert len(range_server.requests("GET", f"{R211_21}.tbi")) == 2
    assert len([p for p in index_cache.iterdir() if p.name.endswith(f"{R211_21}.tbi")]) == 2


@pytest.mark.parametrize("scheme", ["s3", "gs"])
def test_bucket_schemes_read_through_their_endpoint(range_server, index_cache: Path,  # type: ignore[no-untyped-def]
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    scheme: str) -> None:
    bucket = range_server.root / "my-bucket" / "release"
    shutil.copytree(range_server.root / "v4.1-genomes", bucket)
    monkeypatch.setenv(f"VARIDEX_{scheme.upper()}_ENDPOINT", range_server.url)
    location = f"{scheme}://my-bucket/release/"
    assert is_remote(location)
    assert https_url(location) == f"{range_server.url}/my-bucket/release/"
    local = _lookup(GENERATED / "v4.1-genomes", "v4.1", "genomes", "queries-v4.1.300",
                    max_workers=1)
    _same(local, _lookup(location, "v4.1", "genomes", "queries-v4.1.300", max_workers=1))


def test_release_detected_from_names_and_header(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    files = discover(f"{range_server.url}/v4.1-genomes", version=None, dataset="genomes")
    assert files.release.key == "v4.1/genomes"
    assert files.paths == {"21": f"{range_server.url}/v4.1-genomes/"
                                 "gnomad.genomes.v4.1.sites.chr21.vcf.bgz"}
    assert files.block_indexes == {}  # remote files are read through tabix


def test_dataset_subfolders_of_a_release_prefix(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    """gnomAD's buckets keep exomes/ and genomes/ apart: the release's prefix is enough."""
    vcf = range_server.root / "release" / "2.1.1" / "vcf"
    shutil.copytree(range_server.root / "r2.1.1-exomes", vcf / "exomes")
    files = discover(f"{range_server.url}/release/2.1.1/vcf", version=None, dataset="exomes")
    assert files.release.key == "r2.1.1/exomes"
    assert files.paths["22"] == (f"{range_server.url}/release/2.1.1/vcf/exomes/"
                                 "gnomad.exomes.r2.1.1.sites.22.vcf.bgz")


def test_missing_chromosome_file_is_no_data_not_absent(range_server,  # type: ignore[no-untyped-def]
                                                      index_cache: Path) -> None:
    (range_server.root / "r2.1.1-exomes" / "gnomad.exomes.r2.1.1.sites.22.vcf.bgz").unlink()
    a = Annotator.open(f"{range_server.url}/r2.1.1-exomes", version="r2.1.1", max_workers=1)
    try:
        res = a.lookup(["22", "21"], [16018867, 14322512], ["A", "G"], ["G", "C"])
    finally:
        a.close()
    assert res.status.tolist() == ["no_data", "found"]


def test_cli_annotates_from_a_url_byte_for_byte_as_from_the_folder(  # type: ignore[no-untyped-def]
        range_server, index_cache: Path, tmp_path: Path) -> None:
    query = str(GENERATED / "queries-r2.1.1.1000.vcf.gz")
    local, remote = tmp_path / "local.tsv", tmp_path / "remote.tsv"
    # One worker: the pool's default fork is unsafe beside the server's threads.
    assert main(["annotate", query, "--gnomad-dir", str(GENERATED / "r2.1.1-exomes"),
                 "--version", "r2.1.1", "-o", str(local), "--workers", "1"]) == 0
    assert main(["annotate", query, "--gnomad-dir", f"{range_server.url}/r2.1.1-exomes/",
                 "--version", "r2.1.1", "-o", str(remote), "--workers", "1"]) == 0
    assert remote.read_bytes() == local.read_bytes()
    assert len(local.read_text().splitlines()) > 1000


def test_facade_accepts_a_url(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    url = f"{range_server.url}/r2.1.1-exomes"
    chrom, pos, ref, alt, af = _first_record(GENERATED / "r2.1.1-exomes" / R211_21)
    with GnomADLoader(url, dataset="exomes", version="r2.1.1", max_workers=1) as loader:
        freq = loader.lookup_variant(chrom, pos, ref, alt)
        stats = loader.get_statistics()
    assert freq is not None
    assert freq.af == pytest.approx(af, rel=1e-9)
    assert stats["gnomad_dir"] == url
    assert stats["files"][0] == f"{url}/{R211_21}"


# --- Failures: each an error naming the file; never "absent" ---------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_connection_dropped_mid_lookup_is_an_error_naming_the_file(  # type: ignore[no-untyped-def]
        range_server, index_cache: Path, workers: int) -> None:
    url = f"{range_server.url}/r2.1.1-exomes/"
    a = Annotator.open(url, version="r2.1.1", max_workers=workers, chunk_size=25,
                       start_method="spawn")
    name = f"r2.1.1-exomes/{R211_21}"
    # From now on the server sends 20 kB more of the file, cuts the connection, and then
    # refuses every request for it (htslib's retries fail too).
    range_server.drop_after[name] = range_server.sent.get(name, 0) + 20_000
    try:
        with pytest.raises(RemoteFileError) as caught:
            a.lookup(*_queries("queries-r2.1.1.1000"))
    finally:
        a.close()
    text = str(caught.value)
    assert f"{range_server.url}/{name}" in text
    assert "dropped" in text
    assert "absent" in text  # "... nothing was reported as absent"
    assert name in range_server.dead


def test_cli_dropped_connection_exit_1_and_no_output(range_server, index_cache: Path,  # type: ignore[no-untyped-def]
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    name = f"r2.1.1-exomes/{R211_21}"
    # Enough for the checks at discovery (first and last bytes, header), not for the lookups.
    range_server.drop_after[name] = 60_000
    out = tmp_path / "out.tsv"
    code = main(["annotate", str(GENERATED / "queries-r2.1.1.1000.vcf.gz"), "--gnomad-dir",
                 f"{range_server.url}/r2.1.1-exomes", "--version", "r2.1.1", "-o", str(out),
                 "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 1
    error = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(error) == 1
    assert f"{range_server.url}/{name}" in error[0]
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "cache"]  # no partial output either


def test_index_download_dropped_is_an_error_naming_the_index(range_server,  # type: ignore[no-untyped-def]
                                                            index_cache: Path) -> None:
    name = f"r2.1.1-exomes/{R211_21}.tbi"
    range_server.drop_after[name] = 1000  # of 2848 bytes
    with pytest.raises(RemoteFileError, match=f"{range_server.url}/{name}.*dropped"):
        discover(f"{range_server.url}/r2.1.1-exomes", version="r2.1.1", dataset="exomes")
    assert not index_cache.exists() or not [p for p in index_cache.iterdir()
                                            if p.name.endswith(f"{R211_21}.tbi")]


def test_truncated_remote_file_is_refused(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    data = range_server.root / "r2.1.1-exomes" / R211_21
    data.write_bytes(data.read_bytes()[:-28])  # no bgzip end-of-file block
    with pytest.raises(RemoteFileError, match=f"{R211_21}: truncated"):
        discover(f"{range_server.url}/r2.1.1-exomes", version="r2.1.1", dataset="exomes")


def test_server_without_range_requests_is_refused(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    range_server.ranges = False
    with pytest.raises(RemoteFileError, match="ignored a range request"):
        discover(f"{range_server.url}/r2.1.1-exomes", version="r2.1.1", dataset="exomes")


def test_missing_remote_index_says_what_to_do(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    (range_server.root / "r2.1.1-exomes" / f"{R211_21}.tbi").unlink()
    with pytest.raises(RemoteFileError, match=f"{R211_21}: no index on the server"):
        discover(f"{range_server.url}/r2.1.1-exomes", version="r2.1.1", dataset="exomes")


def test_nothing_under_the_prefix(range_server, index_cache: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(GnomADError, match="no gnomAD r2.1.1/exomes files under"):
        discover(f"{range_server.url}/nothing-here/", version="r2.1.1", dataset="exomes")
    with pytest.raises(GnomADError, match="cannot list a remote folder"):
        discover(f"{range_server.url}/nothing-here/", version=None, dataset="exomes")


def test_unreachable_server_is_an_error(index_cache: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RemoteFileError, match=f"127.0.0.1:{port}.*refused, dropped or timed"):
        discover(f"http://127.0.0.1:{port}/gnomad/", version="r2.1.1", dataset="exomes")


def test_varidex_index_refuses_a_url() -> None:
    from varidex.gnomad.discovery import index_folder

    with pytest.raises(GnomADError, match="needs a local folder"):
        index_folder("https://example.org/gnomad/")
