"""The C record scanner (varidex.gnomad._scan) against plain Python on real gnomAD records.

The reference here is deliberately naive: every line split on tabs, every ALT normalized with
``normalize_variant``, INFO split into a dict, values read with ``float()``. The scanner must
give the same matches, values and counts, however its input is cut into pieces.
"""

from __future__ import annotations

import gzip
import math
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from varidex.gnomad._scan import Scanner, parse_number
from varidex.gnomad.annotate import Annotator
from varidex.gnomad.fields import FieldSpec
from varidex.gnomad.keys import normalize_variant

GNOMAD = Path(__file__).parent / "data" / "gnomad"
GENERATED = Path(__file__).parent / "data" / "generated"

PACKAGE_DATA = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data"

# (folder, version, dataset, file): real excerpts of each release, and generated files
FILES = [
    (PACKAGE_DATA, "r2.1.1", "exomes", "gnomad.exomes.r2.1.1.sites.1.vcf.bgz"),
    (GNOMAD / "r2.0.1-exomes", "r2.0.1", "exomes", "gnomad.exomes.r2.0.1.sites.vcf.gz"),
    (GNOMAD / "r2.0.1-genomes", "r2.0.1", "genomes", "gnomad.genomes.r2.0.1.sites.1.vcf.gz"),
    (GNOMAD / "v3.1.2-genomes", "v3.1.2", "genomes", "gnomad.genomes.v3.1.2.sites.chr1.vcf.gz"),
    (GNOMAD / "v3.1-chrM", "v3.1-chrM", "genomes", "gnomad.genomes.v3.1.sites.chrM.vcf.gz"),
    (GNOMAD / "v4.0-exomes", "v4.0", "exomes", "gnomad.exomes.v4.0.sites.chr1.vcf.bgz"),
    (GNOMAD / "v4.0-genomes", "v4.0", "genomes", "gnomad.genomes.v4.0.sites.chr1.vcf.bgz"),
    (GENERATED / "r2.1.1-exomes", "r2.1.1", "exomes", "gnomad.exomes.r2.1.1.sites.21.vcf.bgz"),
    (GENERATED / "v4.1-genomes", "v4.1", "genomes", "gnomad.genomes.v4.1.sites.chr21.vcf.bgz"),
]
_MISSING = (".", "", "NA", "nan", "NaN")


def _spec(folder: Path, version: str, dataset: str) -> FieldSpec:
    a = Annotator.open(folder, version=version, dataset=dataset, max_workers=1)
    spec = a.spec
    a.close()
    return spec


def _records(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.splitlines() if line and line[0] != "#"]


def _queries(records: list[list[str]]) -> tuple[str, list[tuple[int, str, str]]]:
    """Every allele of every record of the first contig, minimal, plus an absent allele
    at each position and some repeated queries."""
    contig = records[0][0]
    queries = set()
    for cols in records:
        if cols[0] != contig:
            continue
        for alt in cols[4].split(","):
            p, r, a, skip = normalize_variant(int(cols[1]), cols[3], alt)
            if skip is None:
                queries.add((p, r, a))
                other = next(b for b in "ACGT" if b not in (r[0], a[0]))
                queries.add((p, r[0], other))
    ordered = sorted(queries)
    return contig, sorted(ordered + ordered[::5])


def _reference(records: list[list[str]], contig: str, queries: list[tuple[int, str, str]],
               spec: FieldSpec) -> tuple[dict[int, tuple[object, ...]], int]:
    """query index -> (pos, filter, values of spec.wanted) of the first matching record."""
    index: dict[tuple[int, str, str], list[int]] = {}
    for i, q in enumerate(queries):
        index.setdefault(q, []).append(i)
    found: dict[tuple[int, str, str], tuple[object, ...]] = {}
    duplicates = 0
    per_allele = spec.scan_per_allele
    for cols in records:
        if cols[0] != contig:
            continue
        alts = cols[4].split(",")
        for k, alt in enumerate(alts):
            p, r, a, skip = normalize_variant(int(cols[1]), cols[3], alt)
            if skip is not None or (p, r, a) not in index:
                continue
            if (p, r, a) in found:
                duplicates += 1
                continue
            info: dict[str, str] = {}
            for item in cols[7].split(";"):
                if "=" in item:
                    key, value = item.split("=", 1)
                    info.setdefault(key, value)
            values: list[object] = []
            for j, key in enumerate(spec.wanted):
                text = info.get(key)
                if text is not None and per_allele[j] and len(alts) > 1:
                    parts = text.split(",")
                    text = parts[k] if k < len(parts) else None
                if spec.scan_kinds[j:j + 1] == b"t":
                    values.append(text)
                else:
                    values.append(math.nan if text is None or text in _MISSING else float(text))
            found[(p, r, a)] = (p, cols[6], *values)
    out = {i: found[q] for q, rows in index.items() if q in found for i in rows}
    return out, duplicates


def _scan(text: bytes, contig: str, queries: list[tuple[int, str, str]], spec: FieldSpec,
          pieces: list[int]) -> tuple[dict[int, tuple[object, ...]], int]:
    scanner = Scanner(contig, np.array([q[0] for q in queries], dtype=np.int64),
                      [q[1] for q in queries], [q[2] for q in queries], spec.wanted,
                      spec.scan_kinds, spec.scan_per_allele)
    at = 0
    for size in pieces:
        scanner.feed(text[at:at + size])
        at += size
    scanner.feed(text[at:])
    res = scanner.finish(True)
    assert res["fallbacks"] == []  # real files hold only plain decimals
    hit_of = np.frombuffer(res["hit_of"], dtype=np.int64)
    pos = np.frombuffer(res["pos"], dtype=np.int64)
    n_text = spec.scan_kinds.count(b"t")
    numbers = np.frombuffer(res["numbers"], dtype=np.float64).reshape(len(pos), -1)
    out = {}
    for i, h in enumerate(hit_of.tolist()):
        if h < 0:
            continue
        values: list[object] = []
        for j, slot in enumerate(spec.scan_slots):
            if spec.scan_kinds[j:j + 1] == b"t":
                values.append(res["texts"][h * n_text + slot])
            else:
                values.append(float(numbers[h, slot]))
        out[i] = (int(pos[h]), res["filters"][h], *values)
    return out, res["duplicates"]


def _same(a: dict[int, tuple[object, ...]], b: dict[int, tuple[object, ...]]) -> None:
    assert a.keys() == b.keys()
    for i in a:
        for x, y in zip(a[i], b[i], strict=True):
            assert x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x)
                              and math.isnan(y)), (i, x, y)


@pytest.mark.parametrize(("folder", "version", "dataset", "name"), FILES,
                         ids=[f[3] for f in FILES])
def test_scanner_equals_plain_python(folder: Path, version: str, dataset: str,
                                     name: str) -> None:
    raw = gzip.decompress((folder / name).read_bytes())
    text = raw.decode()
    records = _records(text)
    contig, queries = _queries(records)
    spec = _spec(folder, version, dataset)
    expected, duplicates = _reference(records, contig, queries, spec)
    assert len(expected) >= len(records) // 2
    rng = random.Random(3)
    for pieces in ([], [1] * 300 + [7] * 50, [rng.randrange(1, 20000) for _ in range(80)]):
        got, dup = _scan(raw, contig, queries, spec, pieces)
        _same(got, expected)
        assert dup == duplicates


def test_scanner_values_of_a_named_variant() -> None:
    """1:55505647 G>T of the bundled r2.1.1 exomes excerpt (PCSK9 rs11591147)."""
    raw = gzip.decompress((PACKAGE_DATA / "gnomad.exomes.r2.1.1.sites.1.vcf.bgz").read_bytes())
    scanner = Scanner("1", np.array([55505647, 55505647], dtype=np.int64), ["G", "G"],
                      ["T", "C"], ("AF", "AC", "popmax", "nhomalt"), b"nntn", b"\0\0\0\0")
    scanner.feed(raw)
    res = scanner.finish(True)
    assert np.frombuffer(res["hit_of"], dtype=np.int64).tolist() == [0, -1]
    assert np.frombuffer(res["numbers"], dtype=np.float64).tolist() == [0.0119305, 2341, 29]
    assert res["texts"] == ["nfe"]
    assert res["filters"] == ["PASS"]
    assert (res["colocated"], res["mismatch"]) == (2, 0)


def _record(pos: int, ref: str, alt: str, info: str, contig: str = "1") -> bytes:
    return f"{contig}\t{pos}\t.\t{ref}\t{alt}\t100\tPASS\t{info}\n".encode()


def _one(text: bytes, pos: int, ref: str, alt: str, keys: tuple[str, ...], kinds: bytes,
         per_allele: bytes) -> dict[str, object]:
    scanner = Scanner("1", np.array([pos], dtype=np.int64), [ref], [alt], keys, kinds,
                      per_allele)
    scanner.feed(text)
    return scanner.finish(True)


def test_multiallelic_record_values_per_allele() -> None:
    text = _record(100, "TGG", "T,TG,*", "AC=3,5;AN=10;AF=0.3,0.5;popmax=nfe,afr;DP=7")
    keys, kinds = ("AC", "AN", "AF", "popmax", "DP"), b"nnntn"
    per_allele = bytes([1, 0, 1, 1, 0])
    res = _one(text, 100, "TG", "T", keys, kinds, per_allele)  # TGG>TG: the second ALT
    assert np.frombuffer(res["numbers"], dtype=np.float64).tolist() == [5, 10, 0.5, 7]
    assert res["texts"] == ["afr"]
    res = _one(text, 100, "TGG", "T", keys, kinds, per_allele)
    assert np.frombuffer(res["numbers"], dtype=np.float64).tolist() == [3, 10, 0.3, 7]
    # the '*' allele is never matched, and a Number=A list too short leaves the value missing
    short = _record(100, "TGG", "T,TG", "AC=3;AN=10")
    res = _one(short, 100, "TG", "T", ("AC", "AN"), b"nn", b"\1\0")
    assert np.isnan(np.frombuffer(res["numbers"], dtype=np.float64)[0])


def test_record_cut_anywhere_and_last_line_without_newline() -> None:
    text = b"##header\n#CHROM\n" + _record(5, "A", "G", "AC=1") + _record(9, "c", "t", "AC=2")
    text = text[:-1]  # no final newline
    for cut in range(len(text)):
        scanner = Scanner("1", np.array([9], dtype=np.int64), ["C"], ["T"], ("AC",), b"n",
                          b"\0")
        scanner.feed(text[:cut])
        scanner.feed(text[cut:])
        res = scanner.finish(True)
        assert np.frombuffer(res["numbers"], dtype=np.float64).tolist() == [2.0], cut
        assert res["records"] == 2
    scanner = Scanner("1", np.array([9], dtype=np.int64), ["C"], ["T"], ("AC",), b"n", b"\0")
    scanner.feed(text)
    assert scanner.finish(False)["filters"] == []  # not the file's end: an unfinished record


def test_other_contigs_skipped_and_first_record_wins() -> None:
    text = (_record(7, "A", "G", "AC=1", contig="10") + _record(7, "A", "G", "AC=2")
            + _record(7, "AT", "GT", "AC=3"))  # AT>GT is A>G again: a duplicate
    res = _one(text, 7, "A", "G", ("AC",), b"n", b"\0")
    assert np.frombuffer(res["numbers"], dtype=np.float64).tolist() == [2.0]
    assert (res["records"], res["duplicates"]) == (3, 1)


@pytest.mark.parametrize(("text", "problem"), [
    (b"1\t7\t.\tA\n", "fewer than 5 tab-separated columns"),
    (b"1\t7x\t.\tA\tG\t.\tPASS\tAC=1\n", "POS is not a number"),
    (b"1\t7\t.\tA\tG\t.\n", "fewer than 8 tab-separated columns"),
])
def test_malformed_records_name_the_record(text: bytes, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as err:
        _one(text, 7, "A", "G", ("AC",), b"n", b"\0")
    assert err.value.args[1].startswith("1\t7")


def test_values_that_are_not_plain_decimals_go_back_as_text() -> None:
    text = _record(7, "A", "G", "AC=1_0;AF=inf;AN= 4;nhomalt=.;DP=NaN")
    res = _one(text, 7, "A", "G", ("AC", "AF", "AN", "nhomalt", "DP"), b"nnnnn", bytes(5))
    assert res["fallbacks"] == [(0, 0, "1_0"), (0, 1, "inf"), (0, 2, " 4")]
    values = np.frombuffer(res["numbers"], dtype=np.float64)
    assert np.isnan(values).all()


PLAIN = ["0", "-0", "+5", ".5", "5.", "0.0119305", "9.60804e-04", "1e22", "1e23", "1E-5",
         "123456789012345", "1234567890123456789", "123456789012345678901234567890",
         "9007199254740993", "0.30000000000000004", "4.9e-324", "2e-324", "1e-400",
         "1.7976931348623157e308", "1e309", "-1e309", "0.000000000000000000000000001",
         "00012.500", "3.14159265358979323846264338327950288"]


@pytest.mark.parametrize("text", PLAIN)
def test_numbers_round_as_python_float(text: str) -> None:
    got = parse_number(text)
    assert got is not None
    assert struct.pack("<d", got) == struct.pack("<d", float(text))  # bit for bit, -0.0 too


@pytest.mark.parametrize("text", ["inf", "-inf", "nan ", " 1", "1_0", "0x10", "1e", "e5",
                                  "--1", "1.2.3", "1,2", "-", "+", "-nan", "NAN", "1e+"])
def test_other_text_is_left_to_python(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize("text", [".", "", "NA", "nan", "NaN"])
def test_missing_markers(text: str) -> None:
    value = parse_number(text)
    assert value is not None
    assert math.isnan(value)


def test_random_decimals_round_as_python_float() -> None:
    rng = random.Random(11)
    for _ in range(50_000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randrange(1, 22)))
        point = rng.randrange(len(digits) + 1)
        text = digits[:point] + "." + digits[point:] if rng.random() < 0.7 else digits
        if rng.random() < 0.5:
            text += f"e{rng.randrange(-330, 330)}"
        if text.startswith(".e") or text == ".":
            continue
        got = parse_number(text)
        assert got is not None, text
        assert struct.pack("<d", got) == struct.pack("<d", float(text)), text


def test_each_record_alone_through_blocks_equals_tabix(tmp_path: Path) -> None:
    """One chunk per position: every record cut by a block boundary needs the next block,
    read only on demand; the values must equal tabix's for every record of the file."""
    import shutil

    from varidex.gnomad.blocks import load_block_index
    from varidex.gnomad.discovery import index_folder

    folder = tmp_path / "r2.1.1-exomes"
    shutil.copytree(GENERATED / "r2.1.1-exomes", folder)
    index_folder(folder)
    name = "gnomad.exomes.r2.1.1.sites.21.vcf.bgz"
    raw = gzip.decompress((folder / name).read_bytes()).decode()
    records = [c for c in _records(raw) if len(c[4].split(",")) == 1]
    index = load_block_index(folder / name)
    assert index is not None
    assert len(index.contigs["21"].offsets) > 20  # many blocks, so many records cut
    cols = [["21"] * len(records), [int(c[1]) for c in records], [c[3] for c in records],
            [c[4] for c in records]]
    plain = Annotator.open(GENERATED / "r2.1.1-exomes", max_workers=1)
    alone = Annotator.open(folder, max_workers=1, chunk_size=1)
    assert alone.files.block_indexed
    try:
        a, b = plain.lookup(*cols), alone.lookup(*cols)
    finally:
        plain.close()
        alone.close()
    assert (b.status == "found").sum() + (b.status == "found_non_pass").sum() == len(records)
    assert b.status.tolist() == a.status.tolist()
    for col in a.columns:
        assert list(map(str, b.values[col])) == list(map(str, a.values[col])), col
