"""Real values from real gnomAD excerpts of every release, one row per case."""

from __future__ import annotations

from pathlib import Path

import pytest

from varidex.gnomad.annotate import Annotator

NA = None
# (folder, version, dataset, chrom, pos, ref, alt, status, expected canonical values)
CASES = [
    # r2.1.1 exomes, GRCh37, contigs without "chr"
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "T", "found",
     {"af": 0.0119305, "ac": 2341, "an": 196220, "nhomalt": 29, "af_nfe": 0.0150899,
      "ac_nfe": 1270, "an_nfe": 84162, "nhomalt_nfe": 9, "af_afr": 0.00242215,
      "af_oth": 0.0128355, "grpmax": "nfe", "af_grpmax": 0.0150899, "faf95_max": 0.0144002,
      "faf95_max_group": "nfe", "faf99_max": 0.0144, "nhemi": NA, "filters": "PASS"}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "chr1", 55505647, "g", "t", "found",
     {"af": 0.0119305, "ac": 2341}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "G", "GA", "found",
     {"af": 0.000943617, "ac": 121, "an": 128230, "nhomalt": 2, "grpmax": "afr",
      "af_grpmax": 0.0159487, "faf95_max": 0.0133815, "faf95_max_group": "afr"}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "G", "A", "found",
     {"af": 6.23879e-05, "ac": 8, "an": 128230, "grpmax": "sas", "af_grpmax": 0.000357398}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516888, "GA", "GAA", "found",
     {"af": 0.000943617, "ac": 121}),  # non-minimal spelling of G>GA
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505621, "C", "T", "found_non_pass",
     {"af": 0.0, "ac": 0, "an": 187062, "grpmax": NA, "af_grpmax": NA, "faf95_max": 0.0,
      "faf95_max_group": NA, "filters": "AC0;RF"}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55512210, "C", "G", "found",
     {"af": 3.97627e-06, "ac": 1, "an": 251492, "grpmax": "eas", "af_grpmax": 5.43656e-05}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55516781, "G", "T", "absent", {"af": NA}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "1", 55505647, "G", "C", "absent", {"af": NA}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "2", 45895, "A", "G", "no_data", {"af": NA}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "MT", 3, "T", "C", "no_data", {"af": NA}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "X", 69902557, "G", "T", "found",
     {"af": 5.57659e-06, "ac": 1, "an": 179321, "nhemi": 0, "grpmax": "nfe",
      "af_grpmax": 1.23907e-05}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "23", 69902557, "G", "T", "found", {"ac": 1}),
    ("r2.1.1-exomes", "r2.1.1", "exomes", "chrY", 4967199, "G", "T", "found",
     {"af": 1.47567e-05, "ac": 1, "an": 67766, "nhemi": 1}),
    # r2.1.1 genomes: no sas group
    ("r2.1.1-genomes", "r2.1.1", "genomes", "1", 55505599, "C", "G", "found",
     {"af": 3.18552e-05, "ac": 1, "an": 31392, "grpmax": "nfe", "af_grpmax": 6.48172e-05,
      "ac_nfe": 1, "an_nfe": 15428, "an_oth": 1086}),
    ("r2.1.1-genomes", "r2.1.1", "genomes", "X", 69902634, "C", "T", "found_non_pass",
     {"af": 4.57519e-05, "ac": 1, "an": 21857, "af_afr": 0.000170039, "filters": "RF"}),
    # r2.1.1 exomes lifted over to GRCh38: chr-prefixed contigs, plain file names
    ("r2.1.1-liftover", "r2.1.1-liftover_grch38", "exomes", "1", 138653, "C", "G", "found",
     {"af": 7.28996e-05, "ac": 4, "an": 54870, "grpmax": "sas", "af_grpmax": 0.000657246,
      "faf95_max": 0.000223770}),
    ("r2.1.1-liftover", "r2.1.1-liftover_grch38", "exomes", "chr1", 138667, "G", "C",
     "found_non_pass", {"af": 1.79662e-05, "filters": "RF"}),
    # v3.1.2 genomes: chr-prefixed, popmax, faf95_popmax, ami/mid
    ("v3.1.2-genomes", "v3.1.2", "genomes", "chr1", 15973, "G", "A", "found",
     {"af": 1.81153e-05, "ac": 2, "an": 110404, "grpmax": "afr", "af_grpmax": 5.39549e-05,
      "faf95_max": 8.94e-06, "faf95_max_group": "afr", "af_ami": 0.0, "an_nfe": 46074}),
    ("v3.1.2-genomes", "v3.1.2", "genomes", "1", 15973, "G", "C", "found",
     {"af": 1.8115e-05, "ac": 2, "an": 110406, "grpmax": "amr", "af_grpmax": 0.000207771,
      "faf95_max": 3.622e-05, "faf95_max_group": "amr"}),
    ("v3.1.2-genomes", "v3.1.2", "genomes", "1", 15971, "G", "C", "found_non_pass",
     {"af": 9.08628e-06, "ac": 1, "an": 110056, "filters": "AS_VQSR"}),
    # v3.1.1 genomes
    ("v3.1.1-genomes", "v3.1.1", "genomes", "chr1", 10037, "T", "C", "found_non_pass",
     {"af": 2.60139e-05, "ac": 2, "an": 76882, "grpmax": "eas", "af_grpmax": 0.000407166,
      "filters": "AS_VQSR"}),
    ("v3.1.1-genomes", "v3.1.1", "genomes", "chr2", 10188, "C", "A", "found_non_pass",
     {"af": 0.0, "ac": 0, "an": 138, "an_oth": 0, "af_oth": NA, "filters": "AC0"}),
    # v3.1 mitochondria: homoplasmic AF as af
    ("v3.1-chrM", "v3.1-chrM", "genomes", "MT", 3, "T", "C", "found",
     {"af": 0.000336676, "ac": 19, "an": 56434, "af_het": 1.77198e-05, "ac_het": 1}),
    ("v3.1-chrM", "v3.1-chrM", "genomes", "M", 3, "T", "C", "found", {"ac": 19}),
    ("v3.1-chrM", "v3.1-chrM", "genomes", "chrM", 6, "C", "CCTCAA", "found_non_pass",
     {"af": 0.0, "ac": 0, "filters": "npg"}),
    # v4.0 exomes: grpmax, fafmax_faf95_max, remaining, no ami
    ("v4.0-exomes", "v4.0", "exomes", "1", 55039931, "G", "A", "found",
     {"af": 0.000144444, "ac": 205, "an": 1419238, "nhomalt": 3, "grpmax": "eas",
      "af_grpmax": 0.00537433, "faf95_max": 0.00476588, "faf95_max_group": "eas",
      "faf99_max": 0.00453179, "an_nfe": 1091596}),
    ("v4.0-exomes", "v4.0", "exomes", "chr1", 55039951, "C", "A", "found",
     {"af": 7.02511e-07, "ac": 1, "grpmax": "nfe", "af_grpmax": 9.14195e-07,
      "faf95_max": NA, "faf95_max_group": NA}),
    ("v4.0-exomes", "v4.0", "exomes", "chr1", 55039925, "G", "GCGCA", "found",
     {"af": 4.09016e-05, "ac": 58, "an": 1418038, "faf95_max": 4.171e-05,
      "faf95_max_group": "nfe"}),
    ("v4.0-exomes", "v4.0", "exomes", "chr1", 55039925, "G", "A", "found_non_pass",
     {"af": 0.0, "ac": 0, "grpmax": NA, "filters": "AC0"}),
    # v4.0 genomes
    ("v4.0-genomes", "v4.0", "genomes", "chr1", 55039931, "G", "A", "found",
     {"af": 6.56271e-05, "ac": 10, "an": 152376, "grpmax": "eas", "af_grpmax": 0.00192753,
      "faf95_max": 0.00104526, "af_ami": 0.0}),
    ("v4.0-genomes", "v4.0", "genomes", "chr1", 55039943, "G", "T", "found",
     {"af": 6.56685e-06, "ac": 1, "grpmax": "eas", "af_grpmax": 0.000192456,
      "faf95_max": NA}),
    ("v4.0-genomes", "v4.0", "genomes", "chr1", 55039930, "G", "GGAGGAC", "found",
     {"ac": 11, "grpmax": NA, "af_grpmax": NA}),
    # r2.0.1: multi-allelic records, upper-case groups
    ("r2.0.1-exomes", "r2.0.1", "exomes", "1", 905610, "TG", "T", "found",
     {"af": 1.29497e-05, "ac": 3, "an": 231666, "nhomalt": 0, "grpmax": "afr",
      "af_grpmax": 0.000139626}),
    ("r2.0.1-exomes", "r2.0.1", "exomes", "1", 905610, "T", "A", "found",
     {"af": 1.72662e-05, "ac": 4, "grpmax": "amr", "af_grpmax": 3.17319e-05}),
    ("r2.0.1-exomes", "r2.0.1", "exomes", "1", 905610, "TG", "TGGGGGGCCCAG", "found",
     {"af": 4.31656e-06, "ac": 1, "grpmax": "sas", "af_grpmax": 3.32712e-05}),
    ("r2.0.1-exomes", "r2.0.1", "exomes", "1", 905628, "C", "A", "found_non_pass",
     {"af": 0.0, "ac": 0, "an": 241048, "grpmax": NA, "af_grpmax": NA, "filters": "AC0;RF"}),
    ("r2.0.1-genomes", "r2.0.1", "genomes", "1", 905892, "C", "T", "found",
     {"af": 3.23729e-05, "ac": 1, "an": 30890, "grpmax": "nfe", "af_grpmax": 6.67913e-05}),
]


@pytest.fixture
def annotators(any_root: Path):  # type: ignore[no-untyped-def]
    opened: dict[tuple[str, str, str], Annotator] = {}

    def get(folder: str, version: str, dataset: str) -> Annotator:
        key = (folder, version, dataset)
        if key not in opened:
            opened[key] = Annotator.open(any_root / folder, version=version,
                                         dataset=dataset, auto_index=False, max_workers=1)
            assert bool(opened[key].files.block_indexed) == ("blocks" in str(any_root))
        return opened[key]

    yield get
    for a in opened.values():
        a.close()


@pytest.mark.parametrize(("folder", "version", "dataset", "chrom", "pos", "ref", "alt",
                          "status", "expected"), CASES,
                         ids=[f"{c[0]}:{c[3]}:{c[4]}:{c[5]}>{c[6]}" for c in CASES])
def test_real_value(annotators, folder: str, version: str, dataset: str, chrom: str,  # type: ignore[no-untyped-def]
                    pos: int, ref: str, alt: str, status: str,
                    expected: dict[str, object]) -> None:
    result = annotators(folder, version, dataset).lookup([chrom], [pos], [ref], [alt])
    assert result.status[0] == status
    for name, want in expected.items():
        got = result.values[name][0]
        if isinstance(want, float):
            assert got == pytest.approx(want, rel=1e-9, abs=0.0), name
        else:
            assert got == want, name


@pytest.mark.parametrize(("folder", "dataset", "release"), [
    ("r2.1.1-exomes", "exomes", "r2.1.1/exomes"),
    ("r2.1.1-genomes", "genomes", "r2.1.1/genomes"),
    ("r2.1.1-liftover", "exomes", "r2.1.1-liftover_grch38/exomes"),
    ("v3.1.2-genomes", "genomes", "v3.1.2/genomes"),
    ("v3.1.1-genomes", "genomes", "v3.1.1/genomes"),
    ("v3.1-chrM", "genomes", "v3.1-chrM/genomes"),
    ("v4.0-exomes", "exomes", "v4.0/exomes"),
    ("v4.0-genomes", "genomes", "v4.0/genomes"),
    ("r2.0.1-exomes", "exomes", "r2.0.1/exomes"),
    ("r2.0.1-genomes", "genomes", "r2.0.1/genomes"),
])
def test_release_detected_from_header(gnomad_root: Path, folder: str, dataset: str,
                                      release: str) -> None:
    annotator = Annotator.open(gnomad_root / folder, version=None, dataset=dataset,
                               auto_index=False)
    assert annotator.files.release.key == release


def test_v41_joint_fields_map(tmp_path: Path) -> None:
    """v4.1 joint: the *_joint fields, read from the real v4.0 exomes excerpt (which carries
    the joint exomes+genomes fields of v4.0) named as a joint file."""
    import shutil

    import pysam

    src = Path(__file__).parent / "data" / "gnomad" / "v4.0-exomes" / \
        "gnomad.exomes.v4.0.sites.chr1.vcf.bgz"
    for suffix in ("", ".tbi"):
        shutil.copy(str(src) + suffix, tmp_path / f"gnomad.joint.v4.1.sites.chr1.vcf.bgz{suffix}")
    with pysam.TabixFile(str(src)) as tbx:
        record = next(ln for ln in tbx.fetch("chr1")
                      if "\t55039931\t" in ln and "\tG\tA\t" in ln).split("\t")
    info = dict(kv.split("=", 1) for kv in record[7].split(";") if "=" in kv)
    a = Annotator.open(tmp_path, version="v4.1", dataset="joint", max_workers=1)
    res = a.lookup(["1"], [55039931], ["G"], ["A"])
    a.close()
    assert res.status[0] == "found"
    assert res.values["ac"][0] == int(info["AC_joint"])
    assert res.values["an"][0] == int(info["AN_joint"])
    assert (res.values["ac"][0], res.values["an"][0]) == (215, 1571614)  # not exomes' 205
    assert res.values["af"][0] == pytest.approx(float(info["AF_joint"]), rel=1e-9)
    assert res.values["grpmax"][0] == info["grpmax_joint"]
    assert res.values["faf95_max"][0] == pytest.approx(float(info["fafmax_faf95_max_joint"]))
