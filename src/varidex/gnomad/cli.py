"""Command line: ``varidex annotate``, ``lookup``, ``info``, ``index``, ``store``,
``demo``. A thin shell over the library.

Exit codes: 0 success, 1 a varidex error (one line on stderr, no traceback unless
``--debug``), 2 a usage error.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from varidex import __version__
from varidex.acmg.ba1_exceptions import Ba1ExceptionList, load_ba1_exceptions
from varidex.acmg.evidence import evaluate_frequency_evidence, missing_fields
from varidex.acmg.thresholds import INHERITANCE, FrequencyThresholds

from .annotate import output_name
from .combine import AnyAnnotator, open_annotator
from .engine import DEFAULT_CHUNK_SIZE
from .errors import StoreError, VaridexError
from .pipeline import annotate_file
from .signals import on_output_complete

if TYPE_CHECKING:
    from .config import Config

logger = logging.getLogger("varidex")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        msg = f"{text!r} is not a whole number"
        raise argparse.ArgumentTypeError(msg) from None
    if value < 1:
        msg = f"must be 1 or more, not {value}"
        raise argparse.ArgumentTypeError(msg)
    return value


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except empty ones and where the help already says it."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "default" in text:
            return text
        return super()._get_help_string(action)


def _dataset(text: str) -> str:
    from .combine import parse_datasets

    parts = parse_datasets(text)
    if not set(parts) <= {"exomes", "genomes", "joint"} or (len(parts) > 1 and "joint" in parts):
        msg = f"{text!r}: use exomes, genomes, joint, or exomes,genomes"
        raise argparse.ArgumentTypeError(msg)
    return ",".join(parts)


def _add_engine_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--workers", type=_positive, default=None,
                   help="worker processes (default: all CPUs; 1 = in this process)")
    p.add_argument("--max-gap", type=_positive, default=None,
                   help="without a block index: start a new fetch when queries are more than "
                        "this many bp apart (default: one index bin: 1024 with varidex's CSI "
                        "index, 16384 with a .tbi); given, it also replaces block-based "
                        "chunking")
    p.add_argument("--chunk-size", type=_positive, default=DEFAULT_CHUNK_SIZE,
                   help="most queries in one chunk (one read of the file)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress bar (the summary line is always printed)")
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="show tracebacks and debug logs")


#: ACMG options that take a value: each sets the FrequencyThresholds field of its name.
_ACMG_VALUES = ("inheritance", "prevalence", "allelic_heterogeneity", "genetic_heterogeneity",
                "penetrance", "max_credible_af", "ba1_exceptions")


def _add_acmg_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "ACMG/AMP population evidence",
        "BA1, BS1, PM2_Supporting and BS2 per variant, each with its value, group, threshold "
        "and reason (acmg_* columns). Any of these options implies --acmg.")
    g.add_argument("--acmg", action="store_true",
                   help="add the acmg_* evidence columns (ClinGen SVI defaults)")
    g.add_argument("--inheritance", choices=INHERITANCE, default=None,
                   help="mode of inheritance of the disorder (BS2, PM2 threshold, BS1 from "
                        "prevalence); default: unknown")
    g.add_argument("--prevalence", default=None, metavar="P",
                   help="disorder prevalence, e.g. 1/500: BS1's maximum credible AF "
                        "(Whiffin et al. 2017) with the allelic and genetic heterogeneity, "
                        "penetrance and inheritance")
    g.add_argument("--allelic-heterogeneity", default=None, metavar="A",
                   help="largest share of cases one variant explains (0-1)")
    g.add_argument("--genetic-heterogeneity", default=None, metavar="G",
                   help="largest share of cases the gene explains (0-1; default "
                        f"{FrequencyThresholds.genetic_heterogeneity:g})")
    g.add_argument("--penetrance", default=None, metavar="F", help="penetrance (0-1)")
    g.add_argument("--max-credible-af", default=None, metavar="AF",
                   help="BS1 threshold given directly instead of from --prevalence")
    g.add_argument("--ba1-exceptions", default=None, metavar="FILE",
                   help="TSV replacing the shipped ClinGen BA1 exception list (same columns)")
    g.add_argument("--acmg-set", action="append", default=None, metavar="KEY=VALUE",
                   help="any other setting, e.g. pm2_max_af_recessive=0.0007 or "
                        "bs2_min_homozygotes=3 (repeatable; see the README)")


def _acmg_settings(args: argparse.Namespace) -> tuple[FrequencyThresholds,
                                                     Ba1ExceptionList] | None:
    """The settings of the --acmg options (None without them), checked before any lookup."""
    config = _config(args)
    from_config = dict(config.acmg) if config is not None and config.acmg is not None else {}
    values = {**from_config,
              **{key: getattr(args, key) for key in _ACMG_VALUES
                 if getattr(args, key) is not None}}
    for item in args.acmg_set or ():
        key, sep, value = item.partition("=")
        if not sep:
            msg = f"--acmg-set {item!r}: write KEY=VALUE, e.g. pm2_max_af_recessive=0.0007"
            raise VaridexError(msg)
        values[key.strip()] = value.strip()
    if not (args.acmg or values or (config is not None and config.acmg is not None)):
        return None
    try:
        thresholds = FrequencyThresholds.from_dict(values)
    except VaridexError as exc:
        if not from_config:
            raise
        msg = f"{exc} (settings from --config {config.path if config else ''} and options)"
        raise VaridexError(msg) from None
    exceptions = load_ba1_exceptions(thresholds.ba1_exceptions)
    logger.info("ACMG evidence: %s; BA1 exception list %s (%d entries)",
                thresholds.describe(), exceptions.version, len(exceptions.entries))
    return thresholds, exceptions


def build_parser() -> argparse.ArgumentParser:
    fmt = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="varidex", formatter_class=fmt,
        description="Annotate variants with gnomAD population allele frequencies.")
    parser.add_argument("--version", action="version", version=f"varidex {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ann = sub.add_parser("annotate", formatter_class=fmt,
                         help="add gnomAD frequencies to a VCF, CSV, TSV or Parquet of "
                              "variants, or to a 23andMe/AncestryDNA/FTDNA genotype file",
                         description="Add gnomad_* columns to every row of INPUT (VCF, "
                                     "VCF.gz, CSV, TSV, Parquet, or a consumer genotype "
                                     "file; '-' = stdin, format told from its first bytes, "
                                     "gzip allowed). VCF output keeps every input record "
                                     "and adds gnomad_* INFO fields.")
    ann.add_argument("input", help="variants (.vcf, .vcf.gz, .csv, .tsv/.txt, .parquet) or "
                                   "a 23andMe/AncestryDNA/FTDNA raw data file; - for stdin")
    _add_gnomad_options(ann)
    ann.add_argument("--store", default=None,
                     help="a store built by `varidex store build`, instead of --gnomad-dir "
                          "(lookups then run in this process; --workers does not apply). "
                          "A store of another release or dataset than --version/--dataset "
                          "is refused")
    ann.add_argument("-o", "--output", default="-",
                     help="output .tsv, .csv, .vcf or .parquet (by suffix; .gz after .tsv, "
                          ".csv or .vcf = bgzip, and a tabix index for .vcf.gz); - = stdout "
                          "(TSV unless --output-format). Written to a temporary file and "
                          "renamed when complete; a file the run reads is refused")
    _add_format_options(ann)
    ann.add_argument("--no-auto-index", action="store_true",
                     help="fail on a missing index instead of writing one beside the file")
    ann.add_argument("--reference", default=None,
                     help="indexed FASTA of the input's build: left-align indels before "
                          "matching (gnomAD's indels are left-aligned)")
    ann.add_argument("--strict", action="store_true",
                     help="stop with an error at the first record with a non-DNA allele or an "
                          "unknown contig (default: give it a status, warn about the first "
                          "10 and count them all)")
    ann.add_argument("--allow-ref-mismatch", action="store_true",
                     help="go on when the input's REF alleles or contig lengths say it is on "
                          "another build than the gnomAD release")
    ann.add_argument("--scheduler", default=None, metavar="ADDRESS",
                     help="run on a Dask cluster: its scheduler's address, e.g. "
                          "tcp://host:8786 (needs pip install 'varidex[dask]'; --workers is "
                          "then not used)")
    _add_acmg_options(ann)
    _add_engine_options(ann)
    ann.set_defaults(func=_run_annotate)

    _add_lookup_parser(sub, fmt)
    _add_info_parser(sub, fmt)

    idx = sub.add_parser("index", formatter_class=fmt,
                         help="write fine CSI and block indexes beside gnomAD files",
                         description="Write a CSI index with 1 kb bins (like `tabix --csi -m "
                                     "10 -p vcf FILE`) beside every .vcf.bgz/.vcf.gz in DIR "
                                     "that lacks one, and varidex's block index (FILE.vdx), "
                                     "which lets lookups read only the BGZF blocks they need. "
                                     "Data files are not modified.")
    idx.add_argument("directory", help="folder of gnomAD sites files")
    idx.add_argument("--force", action="store_true", help="rebuild existing CSI indexes too")
    idx.set_defaults(func=_run_index)

    _add_store_parser(sub, fmt)

    demo = sub.add_parser("demo", formatter_class=fmt,
                          help="annotate bundled real variants against a bundled real "
                               "gnomAD r2.1.1 exome excerpt (PCSK9)")
    demo.add_argument("-o", "--output", default=None,
                      help="also write the full annotated table here (.tsv or .csv)")
    _add_engine_options(demo)
    demo.set_defaults(func=_run_demo)
    return parser


def _add_gnomad_options(p: argparse.ArgumentParser) -> None:
    """Where the gnomAD files are: --gnomad-dir (with --version, --dataset) or --config."""
    p.add_argument("--gnomad-dir", default=None,
                   help="folder with the gnomAD sites VCFs (.vcf.bgz + .tbi/.csi), or an "
                        "https://, s3:// or gs:// prefix holding them (read with range "
                        "requests; indexes cached in ~/.cache/varidex/indexes); required "
                        "unless --config names the folders")
    p.add_argument("--dataset", default=None, type=_dataset,
                   help="gnomAD dataset: exomes, genomes, joint, or exomes,genomes (both: "
                        "each and the combined frequencies) (default: exomes; with --config "
                        "and no --gnomad-dir, the config's enabled datasets)")
    p.add_argument("--version", dest="gnomad_version", default=None,
                   help="gnomAD release, e.g. r2.1.1, v3.1.2, v4.1 (default: detect "
                        "from the files' header)")
    p.add_argument("--config", default=None,
                   help="YAML settings: per dataset dir/version/enabled, and filter "
                        "thresholds max_af/min_ac/populations (see README)")


def _add_format_options(p: argparse.ArgumentParser) -> None:
    from .formats import INPUT_FORMATS, OUTPUT_FORMATS

    p.add_argument("--input-format", choices=INPUT_FORMATS, default=None,
                   help="input format (default: from the file name, and for genotype files "
                        "and stdin from the first lines)")
    p.add_argument("--output-format", choices=OUTPUT_FORMATS, default=None,
                   help="output format (default: from the output name; TSV on stdout)")
    p.add_argument("--filter", dest="keep_passing", action="store_true",
                   help="write only rows that pass the --config filter thresholds (VCF: "
                        "records with a passing ALT)")
    p.add_argument("--genotype-build", choices=("GRCh37", "GRCh38"), default=None,
                   help="genome build of a genotype file whose header does not state it "
                        "(FTDNA); overrides the header")


def _annotator(args: argparse.Namespace, gnomad_dir: str | None, version: str | None,
               dataset: str | None, auto_index: bool) -> AnyAnnotator:
    options = {"auto_index": auto_index, "max_workers": args.workers,
               "max_gap": args.max_gap, "chunk_size": args.chunk_size,
               "reference": getattr(args, "reference", None),
               "scheduler": getattr(args, "scheduler", None),
               "allow_ref_mismatch": getattr(args, "allow_ref_mismatch", False)}
    store = getattr(args, "store", None)
    if store is not None:
        if gnomad_dir is not None:
            msg = "give --gnomad-dir or --store, not both"
            raise UsageError(msg)
        from .store import StoreAnnotator

        return StoreAnnotator.open_store(
            store, version=version, dataset=_store_dataset(dataset),
            max_workers=args.workers, reference=options["reference"],
            allow_ref_mismatch=options["allow_ref_mismatch"])
    config = _config(args)
    if gnomad_dir is None:
        if config is None or not config.datasets:
            where = "--gnomad-dir, --store," if hasattr(args, "store") else "--gnomad-dir,"
            msg = f"give {where} or a --config whose gnomad section names the folders"
            raise UsageError(msg)
        from .config import open_configured

        only = tuple(dataset.split(",")) if dataset else None
        if version is not None:
            logger.warning("--version %s is ignored with the config's datasets; set "
                           "version in the config", version)
        annotator: AnyAnnotator = open_configured(config, datasets=only, **options)
        return annotator
    return open_annotator(gnomad_dir, version=version, dataset=dataset or "exomes", **options)


def _config(args: argparse.Namespace) -> Config | None:
    path = getattr(args, "config", None)
    if path is None:
        return None
    cached: Config | None = getattr(args, "_config", None)
    if cached is None:
        from .config import load_config

        cached = load_config(path)
        args._config = cached
    return cached


class UsageError(Exception):
    """A command line that misses something argparse cannot check on its own (exit 2)."""


def progress_wanted(quiet: bool, stream: TextIO) -> bool:
    """Show a progress bar only on a terminal, and never with --quiet."""
    return not quiet and stream.isatty()


def _add_store_parser(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    from .store.build import ZSTD_LEVEL

    store = sub.add_parser("store", formatter_class=fmt,
                           help="build or describe a prebuilt store of a gnomAD release",
                           description="A store holds the chosen fields of a gnomAD release "
                                       "in one compressed Parquet file per chromosome, "
                                       "sorted by variant: built once, it annotates far "
                                       "faster than the VCFs (`varidex annotate --store`).")
    what = store.add_subparsers(dest="store_command", required=True, metavar="ACTION")
    build = what.add_parser("build", formatter_class=fmt,
                            help="convert a folder of gnomAD sites VCFs into a store",
                            description="Convert a release's sites VCFs into a store, one "
                                        "chromosome per worker process, with a progress bar "
                                        "on stderr. The store is written into a temporary "
                                        "folder beside -o and renamed when complete. Parquet "
                                        f"files, zstd level {ZSTD_LEVEL}.")
    build.add_argument("--gnomad-dir", required=True,
                       help="folder with the gnomAD sites VCFs (.vcf.bgz + .tbi/.csi)")
    build.add_argument("--version", dest="gnomad_version", default=None,
                       help="gnomAD release, e.g. r2.1.1, v3.1.2, v4.1 (default: detect "
                            "from the files' header)")
    build.add_argument("--dataset", default="exomes", choices=("exomes", "genomes", "joint"),
                       help="gnomAD dataset")
    build.add_argument("--fields", default=None,
                       help="comma list of canonical fields to store, e.g. "
                            "af,ac,an,nhomalt,grpmax,af_grpmax,faf95_max (default: every "
                            "field of the release, the columns the VCF path gives; filters "
                            "is always stored)")
    build.add_argument("--chromosomes", default=None,
                       help="comma list of chromosomes to convert (default: every one found)")
    build.add_argument("-o", "--output", required=True, help="the store folder to write")
    build.add_argument("--force", action="store_true",
                       help="replace an existing store (only a store: never a folder "
                            "without store.json, nor the gnomAD folder)")
    build.add_argument("--no-auto-index", action="store_true",
                       help="fail on a missing index instead of writing one beside the file")
    build.add_argument("--workers", type=_positive, default=None,
                       help="worker processes, one chromosome each (default: all CPUs)")
    build.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    build.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks and debug logs")
    build.set_defaults(func=_run_store_build)
    info = what.add_parser("info", formatter_class=fmt,
                           help="print a store's release, fields, chromosomes and sources")
    info.add_argument("store", help="the store folder")
    info.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                      help="show tracebacks and debug logs")
    info.set_defaults(func=_run_store_info)


def _run_store_build(args: argparse.Namespace) -> int:
    import time

    from .store import build_store
    from .store.layout import summary

    started = time.perf_counter()
    chroms = args.chromosomes.split(",") if args.chromosomes else None
    meta = build_store(args.gnomad_dir, args.output, version=args.gnomad_version,
                       dataset=args.dataset, fields=args.fields, chromosomes=chroms,
                       max_workers=args.workers, show_progress=_show_progress(args),
                       force=args.force, auto_index=not args.no_auto_index)
    print(summary(meta, args.output, time.perf_counter() - started), file=sys.stderr)
    return 0


def _run_store_info(args: argparse.Namespace) -> int:
    from .store import describe
    from .store.layout import read_meta

    print(describe(read_meta(Path(args.store)), args.store))
    return 0


def _store_dataset(dataset: str | None) -> str | None:
    if dataset is not None and "," in dataset:
        msg = (f"--dataset {dataset} with --store: a store holds one dataset; annotate "
               "exomes and genomes together from their VCFs with --gnomad-dir")
        raise StoreError(msg)
    return dataset


def _show_progress(args: argparse.Namespace) -> bool:
    return progress_wanted(args.quiet, sys.stderr)


def _run_files(args: argparse.Namespace,
               acmg: tuple[FrequencyThresholds, Ba1ExceptionList] | None) -> dict[str, str]:
    """Files the run reads besides the input and gnomAD's (an -o naming one is refused)."""
    files = {}
    if getattr(args, "config", None):
        files[str(args.config)] = "the --config file"
    if acmg is not None and acmg[0].ba1_exceptions:
        files[str(acmg[0].ba1_exceptions)] = "the BA1 exception list"
    return files


def _check_acmg_fields(annotator: AnyAnnotator, store: str | None) -> None:
    """--acmg with a store built with fewer fields than the criteria read is an error (the
    evidence would change silently)."""
    columns = getattr(annotator, "columns", None)
    if store is None or columns is None:
        return
    missing = missing_fields(annotator.release_key, [output_name(c) for c in columns])
    if missing:
        msg = (f"--acmg: the store {store} was built without fields the evidence reads: "
               f"{', '.join(missing[:8])}{' ...' if len(missing) > 8 else ''}; rebuild it "
               "with the default fields (no --fields), or annotate from --gnomad-dir")
        raise StoreError(msg)


def _run_annotate(args: argparse.Namespace) -> int:
    config = _config(args)
    acmg = _acmg_settings(args)
    annotator = _annotator(args, args.gnomad_dir, args.gnomad_version, args.dataset,
                           not args.no_auto_index)
    try:
        transform = None
        if acmg is not None:
            _check_acmg_fields(annotator, args.store)
            transform = partial(evaluate_frequency_evidence, thresholds=acmg[0],
                                build=annotator.files.release.build, exceptions=acmg[1])
        summary = annotate_file(annotator, args.input, args.output,
                                input_format=args.input_format,
                                output_format_=args.output_format,
                                show_progress=_show_progress(args),
                                command=args.command_line,
                                thresholds=config.filter if config else None,
                                keep_passing=args.keep_passing,
                                genotype_build=args.genotype_build, strict=args.strict,
                                transform=transform,
                                transform_prefix="acmg_", reads_also=_run_files(args, acmg))
        annotator.close()  # here too: a signal while the workers stop aborts them
    except (KeyboardInterrupt, _Terminated):
        annotator.abort()  # the workers are not waited for
        raise
    finally:
        annotator.close()
    print(summary.line(), file=sys.stderr)
    return 0


def _add_lookup_parser(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    look = sub.add_parser("lookup", formatter_class=fmt,
                          help="print the gnomAD frequencies of variant IDs by group",
                          description="Look up gnomAD variant IDs such as 1-55505647-G-T or "
                                      "chr1:55516888:G:GA (1-based positions) and print "
                                      "their frequencies by genetic-ancestry group.")
    look.add_argument("variants", nargs="+", metavar="VARIANT",
                      help="variant IDs (CHROM-POS-REF-ALT or CHROM:POS:REF:ALT); - reads "
                           "them from stdin, one per line")
    _add_gnomad_options(look)
    look.add_argument("--no-auto-index", action="store_true",
                      help="fail on a missing index instead of writing one beside the file")
    _add_engine_options(look)
    look.set_defaults(func=_run_lookup)


def _run_lookup(args: argparse.Namespace) -> int:
    from .pipeline import RunSummary, lookup_ids
    from .variant_ids import render_lookup

    ids = list(args.variants)
    if ids == ["-"]:
        ids = [w for line in sys.stdin for w in line.split("#", 1)[0].split()]
        if not ids:
            msg = "no variant IDs on stdin"
            raise UsageError(msg)
    annotator = _annotator(args, args.gnomad_dir, args.gnomad_version, args.dataset,
                           not args.no_auto_index)
    try:
        frame, result = lookup_ids(annotator, ids, show_progress=_show_progress(args))
        release = annotator.release_key
    finally:
        annotator.close()
    print(render_lookup(frame, release))
    print(RunSummary(len(frame), result.counts(), result.seconds, release, "stdout").line(),
          file=sys.stderr)
    return 0


def _add_info_parser(sub: Any, fmt: type[argparse.HelpFormatter]) -> None:
    info = sub.add_parser("info", formatter_class=fmt,
                          help="describe the gnomAD files of a folder",
                          description="Tell which gnomAD release(s), build, chromosomes, "
                                      "indexes and fields a folder holds. Reads headers and "
                                      "indexes only; `varidex index DIR` builds missing "
                                      "indexes.")
    info.add_argument("directory", help="folder of gnomAD sites files")
    info.add_argument("--json", action="store_true", help="print JSON instead of text")
    info.set_defaults(func=_run_info)


def _run_info(args: argparse.Namespace) -> int:
    import json

    from .folder_info import describe_folder, render_folder

    found = describe_folder(args.directory)
    if args.json:
        print(json.dumps(found.as_dict(), indent=2))
    else:
        print(render_folder(found))
    return 0


def _run_index(args: argparse.Namespace) -> int:
    from .discovery import index_folder

    written = index_folder(args.directory, force=args.force)
    print(f"varidex: wrote {len(written)} index file(s) in {args.directory}", file=sys.stderr)
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import DATA_DIR, DEMO_VARIANTS, demo_table
    from .pipeline import annotate_frame, read_variants

    annotator = _annotator(args, str(DATA_DIR), "r2.1.1", "exomes", False)
    try:
        frame = read_variants(str(DEMO_VARIANTS))
        out, result = annotate_frame(annotator, frame, show_progress=_show_progress(args))
    finally:
        annotator.close()
    print("varidex demo: real variants against the real gnomAD r2.1.1 exomes excerpt of "
          "PCSK9 (1:55505599-55516888) bundled with varidex")
    print(demo_table(out))
    if args.output:
        from .formats import write_table
        from .pipeline import output_format

        write_table(out, args.output, sep="," if output_format(args.output, None) == "csv"
                    else "\t")
        print(f"full table ({len(out.columns)} columns) written to {args.output}")
    counts = result.counts()
    print(f"varidex: {len(out)} variants, {counts['found'] + counts['found_non_pass']} found, "
          f"{counts['absent']} absent, {counts['no_data']} no data "
          f"({result.seconds:.2f} s)", file=sys.stderr)
    return 0


def _arrow_memory_pool() -> None:
    """Arrow's default allocator here (mimalloc) hands pages back to the system and faults
    them in again for every batch: 3.7 s of system time annotating 1M variants from a
    store, against 1.7 s with jemalloc (or the system allocator). A process setting; an
    explicit ARROW_DEFAULT_MEMORY_POOL wins."""
    import os

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    import pyarrow as pa

    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc
        pa.set_memory_pool(pa.system_memory_pool())


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    run = _Run()
    unraisable, sys.unraisablehook = sys.unraisablehook, run.unraisable
    parser = build_parser()
    args: argparse.Namespace | None = None
    try:
        with on_output_complete(run.completed):
            words = list(sys.argv[1:] if argv is None else argv)
            args = parser.parse_args(words)
            args.command_line = shlex.join(["varidex", *words])
            logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO,
                                format="varidex: %(message)s", stream=sys.stderr)
            _arrow_memory_pool()
            code = int(args.func(args))
        if run.swallowed:  # a signal Python reported as ignored in a clean-up (__del__)
            said = "interrupted" if run.swallowed[0] == 130 else "terminated (SIGTERM)"
            print(f"error: {said}; {run.left(args)}", file=sys.stderr)
            return run.swallowed[0]
        return code
    except _Terminated:
        print(f"error: terminated (SIGTERM); {run.left(args)}", file=sys.stderr)
        return 143
    except UsageError as exc:
        parser.error(str(exc))  # exit 2, as argparse's own usage errors
    except VaridexError as exc:
        if args is not None and args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"error: interrupted; {run.left(args)}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (| head): stop quietly, as other tools do.
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    finally:
        signal.signal(signal.SIGTERM, previous)
        sys.unraisablehook = unraisable


class _Run:
    """What an interruption of the run leaves: the outputs complete when it came."""

    def __init__(self) -> None:
        self.complete: list[str] = []
        self.swallowed: list[int] = []

    def completed(self, path: str) -> None:
        self.complete.append(path)

    def unraisable(self, info: Any) -> None:
        """A Ctrl-C or SIGTERM raised inside a ``__del__`` or weakref callback: Python
        would print a traceback and drop it; it is noted and reported instead."""
        if isinstance(info.exc_value, KeyboardInterrupt | _Terminated):
            self.swallowed.append(143 if isinstance(info.exc_value, _Terminated) else 130)
            return
        sys.__unraisablehook__(info)

    def left(self, args: argparse.Namespace | None) -> str:
        if self.complete:
            return (f"the output {', '.join(self.complete)} had been written in full and "
                    "is kept")
        if args is not None and getattr(args, "output", None) == "-":
            return "what was written to standard output is incomplete"
        return "no output was written"


class _Terminated(BaseException):
    """SIGTERM, raised like Ctrl-C so temporary outputs are removed on the way out."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


#: Exit codes of a run stopped by Ctrl-C or SIGTERM.
STOPPED = (130, 143)


def entry_point() -> None:
    code = main()
    if code in STOPPED:
        # Its outputs are removed already. Leave at once: the interpreter's exit would wait
        # for the process pool's threads, which a worker killed mid-message (SIGTERM to
        # the whole process group) leaves waiting forever. Workers still alive (the signal
        # came while the pool was being shut down) are killed, never left behind.
        import multiprocessing

        for child in multiprocessing.active_children():
            child.kill()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    # The run is over (its output complete or its error reported): a late Ctrl-C or SIGTERM
    # must not turn it into a death by signal while the interpreter exits.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise SystemExit(code)
