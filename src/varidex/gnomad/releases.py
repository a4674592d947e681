"""gnomAD releases described as data: build, contig style, file names and INFO field map.

Every release maps one canonical schema to its own raw INFO names. Canonical fields:

``af, ac, an, nhomalt``
    whole-cohort allele frequency (a fraction), allele count, allele number, homozygotes.
``nhemi``
    hemizygotes: XY (v3, v4) or male (r2) allele count, only outside the pseudo-autosomal
    regions of X and Y (see :data:`PAR`); missing elsewhere.
``af_<g>, ac_<g>, an_<g>, nhomalt_<g>``
    per genetic-ancestry group ``g`` (:attr:`GnomADRelease.groups`).
``grpmax, af_grpmax``
    the group with the highest AF and that AF (``popmax`` in r2 and v3).
``faf95_max, faf95_max_group, faf99_max``
    the maximum filtering allele frequency over groups (r2.1.1: the maximum over the
    ``faf95_<g>`` fields; v3: ``faf95_popmax``; v4: ``fafmax_faf95_max``).
``filters``
    the FILTER column (``PASS`` or the failed filters joined by ``;``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from .errors import ReleaseSchemaError

# Pseudo-autosomal regions (1-based, inclusive) per build; hemizygote counts exist only outside.
PAR: Final[dict[str, dict[str, tuple[tuple[int, int], ...]]]] = {
    "GRCh37": {"X": ((60001, 2699520), (154931044, 155260560)),
               "Y": ((10001, 2649520), (59034050, 59363566))},
    "GRCh38": {"X": ((10001, 2781479), (155701383, 156030895)),
               "Y": ((10001, 2781479), (56887903, 57217415))},
}

COUNT_FIELDS: Final = frozenset({"ac", "an", "nhomalt", "nhemi"})
TEXT_FIELDS: Final = frozenset({"grpmax", "faf95_max_group", "filters"})

_CHROMS: Final = tuple([str(i) for i in range(1, 23)] + ["X", "Y"])


@dataclass(frozen=True)
class GnomADRelease:
    """One gnomAD release and dataset, as data.

    ``fields`` maps canonical names to raw INFO names; ``faf_groups`` lists the groups whose
    ``faf95_<g>``/``faf99_<g>`` fields are maximised when the release has no max-FAF field.
    """

    id: str
    dataset: str
    build: str
    contig_style: str
    file_templates: tuple[str, ...]
    groups: tuple[str, ...]
    fields: Mapping[str, str]
    optional: frozenset[str] = frozenset()
    faf_groups: tuple[str, ...] = ()
    chromosomes: tuple[str, ...] = _CHROMS
    multiallelic: bool = False
    excluded: tuple[str, ...] = ()  # fields whose presence means another dataset's file
    file_chrom_style: str = ""  # how file *names* spell chromosomes, if not contig_style

    @property
    def key(self) -> str:
        return f"{self.id}/{self.dataset}"

    def file_names(self, chrom: str) -> list[str]:
        """Per-chromosome file names this release may use for a canonical chromosome."""
        contig = _file_chrom(chrom, self.file_chrom_style or self.contig_style)
        return [t.format(chrom=contig, dataset=self.dataset) for t in self.file_templates
                if "{chrom}" in t]

    def whole_genome_names(self) -> list[str]:
        return [t.format(dataset=self.dataset) for t in self.file_templates if "{chrom}" not in t]

    def validate_header(self, declared: Iterable[str], path: object) -> None:
        """Fail naming every promised INFO field the header does not declare."""
        have = set(declared)
        missing = [raw for canon, raw in self.fields.items()
                   if raw not in have and canon not in self.optional]
        missing += [f"faf95_{g}" for g in self.faf_groups if f"faf95_{g}" not in have]
        other = [f for f in self.excluded if f in have]
        if other:
            msg = (f"{path}: header declares {', '.join(other)}, which gnomAD {self.key} "
                   "files do not have: is this a file of another dataset (exomes/genomes)? "
                   "Check its name and --dataset")
            raise ReleaseSchemaError(msg)
        if missing:
            shown = ", ".join(missing[:12]) + (" ..." if len(missing) > 12 else "")
            msg = (f"{path}: header lacks {len(missing)} INFO field(s) that gnomAD {self.key} "
                   f"files declare: {shown}. Is this file from another release or dataset? "
                   "Pass the right version=/--version, or leave it out to detect it from "
                   "the header")
            raise ReleaseSchemaError(msg)


def _file_chrom(chrom: str, style: str) -> str:
    if style == "plain":
        return chrom
    return "chrM" if chrom == "MT" else f"chr{chrom}"


def _group_fields(groups: Iterable[str], *, upper: bool = False, hom: str = "nhomalt",
                  infix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for g in groups:
        raw_g = g.upper() if upper else g
        out[f"af_{g}"] = f"AF_{infix}{raw_g}"
        out[f"ac_{g}"] = f"AC_{infix}{raw_g}"
        out[f"an_{g}"] = f"AN_{infix}{raw_g}"
        out[f"nhomalt_{g}"] = f"{hom}_{infix}{raw_g}"
    return out


def _core(nhomalt: str = "nhomalt", nhemi: str = "AC_male") -> dict[str, str]:
    return {"af": "AF", "ac": "AC", "an": "AN", "nhomalt": nhomalt, "nhemi": nhemi}


_R2_EXOME_GROUPS: Final = ("afr", "amr", "asj", "eas", "fin", "nfe", "oth", "sas")
_R2_GENOME_GROUPS: Final = ("afr", "amr", "asj", "eas", "fin", "nfe", "oth")
_V3_GROUPS: Final = ("afr", "ami", "amr", "asj", "eas", "fin", "mid", "nfe", "oth", "sas")
_V4_EXOME_GROUPS: Final = ("afr", "amr", "asj", "eas", "fin", "mid", "nfe", "remaining", "sas")
_V4_GENOME_GROUPS: Final = ("afr", "ami", "amr", "asj", "eas", "fin", "mid", "nfe", "remaining",
                            "sas")


def _r201(dataset: str) -> GnomADRelease:
    groups = _R2_EXOME_GROUPS if dataset == "exomes" else _R2_GENOME_GROUPS
    fields = {**_core("Hom", "Hemi" if dataset == "exomes" else "AC_Male"),
              **_group_fields(groups, upper=True, hom="Hom"),
              "grpmax": "POPMAX", "af_grpmax": "AF_POPMAX"}
    return GnomADRelease(
        "r2.0.1", dataset, "GRCh37", "plain",
        (f"gnomad.{dataset}.r2.0.1.sites.{{chrom}}.vcf.gz",
         f"gnomad.{dataset}.r2.0.1.sites.{{chrom}}.vcf.bgz",
         f"gnomad.{dataset}.r2.0.1.sites.vcf.gz", f"gnomad.{dataset}.r2.0.1.sites.vcf.bgz"),
        tuple(g.lower() for g in groups), fields, multiallelic=True)


def _r211(dataset: str, liftover: bool = False) -> GnomADRelease:
    groups = _R2_EXOME_GROUPS if dataset == "exomes" else _R2_GENOME_GROUPS
    faf = ("afr", "amr", "eas", "nfe", "sas") if dataset == "exomes" else (
        "afr", "amr", "eas", "nfe")
    fields = {**_core(), **_group_fields(groups), "grpmax": "popmax", "af_grpmax": "AF_popmax"}
    if liftover:
        tmpl: tuple[str, ...] = (
            f"gnomad.{dataset}.r2.1.1.sites.{{chrom}}.liftover_grch38.vcf.bgz",
            f"gnomad.{dataset}.r2.1.1.sites.{{chrom}}.liftover_grch38.vcf.gz",
            f"gnomad.{dataset}.r2.1.1.sites.liftover_grch38.vcf.bgz",
            f"gnomad.{dataset}.r2.1.1.sites.liftover_grch38.vcf.gz")
        return GnomADRelease("r2.1.1-liftover_grch38", dataset, "GRCh38", "chr", tmpl,
                             groups, fields, faf_groups=faf, file_chrom_style="plain")
    tmpl = (f"gnomad.{dataset}.r2.1.1.sites.{{chrom}}.vcf.bgz",
            f"gnomad.{dataset}.r2.1.1.sites.{{chrom}}.vcf.gz",
            f"gnomad.{dataset}.r2.1.1.sites.vcf.bgz", f"gnomad.{dataset}.r2.1.1.sites.vcf.gz")
    return GnomADRelease("r2.1.1", dataset, "GRCh37", "plain", tmpl, groups, fields,
                         faf_groups=faf, excluded=("AC_sas",) if dataset == "genomes" else ())


def _v31(version: str) -> GnomADRelease:
    fields = {**_core(nhemi="AC_XY"), **_group_fields(_V3_GROUPS), "grpmax": "popmax",
              "af_grpmax": "AF_popmax", "faf95_max": "faf95_popmax"}
    tmpl = (f"gnomad.genomes.{version}.sites.{{chrom}}.vcf.bgz",
            f"gnomad.genomes.{version}.sites.{{chrom}}.vcf.gz",
            f"gnomad.genomes.{version}.sites.vcf.bgz")
    return GnomADRelease(version, "genomes", "GRCh38", "chr", tmpl, _V3_GROUPS, fields,
                         faf_groups=("afr", "amr", "eas", "nfe", "sas"))


def _v31_chrm() -> GnomADRelease:
    fields = {"af": "AF_hom", "ac": "AC_hom", "an": "AN", "af_het": "AF_het",
              "ac_het": "AC_het", "max_hl": "max_hl"}
    tmpl = ("gnomad.genomes.v3.1.sites.chrM.vcf.bgz", "gnomad.genomes.v3.1.sites.chrM.vcf.gz")
    return GnomADRelease("v3.1-chrM", "genomes", "GRCh38", "chr",
                         tuple(t.replace("chrM", "{chrom}") for t in tmpl), (), fields,
                         chromosomes=("MT",))


def _v4(version: str, dataset: str) -> GnomADRelease:
    joint = dataset == "joint"
    groups = _V4_GENOME_GROUPS if dataset != "exomes" else _V4_EXOME_GROUPS
    if joint:
        fields = {"af": "AF_joint", "ac": "AC_joint", "an": "AN_joint",
                  "nhomalt": "nhomalt_joint", "nhemi": "AC_joint_XY",
                  **_group_fields(groups, infix="joint_")}
        fields.update({"grpmax": "grpmax_joint", "af_grpmax": "AF_grpmax_joint",
                       "faf95_max": "fafmax_faf95_max_joint",
                       "faf95_max_group": "fafmax_faf95_max_gen_anc_joint",
                       "faf99_max": "fafmax_faf99_max_joint"})
    else:
        fields = {**_core(nhemi="AC_XY"), **_group_fields(groups), "grpmax": "grpmax",
                  "af_grpmax": "AF_grpmax", "faf95_max": "fafmax_faf95_max",
                  "faf95_max_group": "fafmax_faf95_max_gen_anc",
                  "faf99_max": "fafmax_faf99_max"}
    tmpl = (f"gnomad.{dataset}.{version}.sites.{{chrom}}.vcf.bgz",
            f"gnomad.{dataset}.{version}.sites.{{chrom}}.vcf.gz",
            f"gnomad.{dataset}.{version}.sites.vcf.bgz")
    # v4 exomes have no Amish (ami) group; v4 genomes have no non-UKB subset.
    excluded = {"exomes": ("AC_ami",), "genomes": ("AC_non_ukb",)}.get(dataset, ())
    return GnomADRelease(version, dataset, "GRCh38", "chr", tmpl, groups, fields,
                         excluded=excluded)


def _registry() -> dict[str, GnomADRelease]:
    items = [_r201("exomes"), _r201("genomes"), _r211("exomes"), _r211("genomes"),
             _r211("exomes", liftover=True), _r211("genomes", liftover=True),
             _v31("v3.1.1"), _v31("v3.1.2"), _v31_chrm()]
    items += [_v4(v, d) for v in ("v4.0", "v4.1") for d in ("exomes", "genomes")]
    items.append(_v4("v4.1", "joint"))
    return {r.key: r for r in items}


RELEASES: Final[dict[str, GnomADRelease]] = _registry()

_VERSION_ALIASES: Final = {
    "2.0.1": "r2.0.1", "2.1.1": "r2.1.1", "2.1": "r2.1.1", "r2.1": "r2.1.1",
    "3.1.1": "v3.1.1", "3.1.2": "v3.1.2", "3.1": "v3.1.2", "v3.1": "v3.1.2", "v3": "v3.1.2",
    "4.0": "v4.0", "4.1": "v4.1", "v4": "v4.1",
    "r2.1.1-liftover": "r2.1.1-liftover_grch38", "liftover_grch38": "r2.1.1-liftover_grch38",
    "chrm": "v3.1-chrM", "v3.1-chrm": "v3.1-chrM",
}


def canonical_version(version: str) -> str:
    """Normalize a user's version string.

    >>> canonical_version("2.1.1"), canonical_version("v2.1.1"), canonical_version("V4.1")
    ('r2.1.1', 'r2.1.1', 'v4.1')
    """
    v = version.strip()
    low = v.lower()
    if low in _VERSION_ALIASES:
        return _VERSION_ALIASES[low]
    if re.fullmatch(r"[rv]\d.*", low):
        bare = low[1:]
        if bare in _VERSION_ALIASES:
            return _VERSION_ALIASES[bare]
        major = bare.split(".")[0]
        return ("r" if major == "2" else "v") + bare
    return v


def get_release(version: str, dataset: str) -> GnomADRelease:
    """Look a release up by version and dataset; fail listing what exists."""
    ds = dataset.strip().lower()
    if ds not in ("exomes", "genomes", "joint"):
        msg = f"unknown gnomAD dataset {dataset!r}; use exomes, genomes or joint"
        raise ReleaseSchemaError(msg)
    key = f"{canonical_version(version)}/{ds}"
    if key not in RELEASES:
        known = ", ".join(sorted(RELEASES))
        msg = f"unknown gnomAD release {version!r} with dataset {dataset!r}; known: {known}"
        raise ReleaseSchemaError(msg)
    return RELEASES[key]


def detect_release(info_ids: Iterable[str], *, file_name: str = "",
                   dataset: str | None = None) -> GnomADRelease:
    """Tell the release from the INFO fields a header declares (and the file name)."""
    ids = set(info_ids)
    name = file_name.lower()
    ds = dataset or next((d for d in ("exomes", "genomes", "joint") if d in name), "exomes")
    version_in_name = re.search(r"[rv](\d+\.\d+(?:\.\d+)?)", name)
    named = canonical_version("v" + version_in_name.group(1)) if version_in_name else ""
    if "AF_hom" in ids and "AF" not in ids:
        return RELEASES["v3.1-chrM/genomes"]
    if "grpmax" in ids or "grpmax_joint" in ids:
        version = named if named in ("v4.0", "v4.1") else "v4.1"
        if "AC" not in ids and "AC_joint" in ids:
            ds = "joint"
        return get_release(version, ds)
    if "popmax" in ids and "AC_XY" in ids:
        return get_release(named if named in ("v3.1.1", "v3.1.2") else "v3.1.2", "genomes")
    if "AF_popmax" in ids and "nhomalt" in ids:
        lift = "OriginalContig" in ids or "liftover" in name
        if "AC_sas" not in ids:
            ds = "genomes"
        return get_release("r2.1.1-liftover_grch38" if lift else "r2.1.1", ds)
    if "AF_POPMAX" in ids and "Hom" in ids:
        return get_release("r2.0.1", "exomes" if "AC_SAS" in ids else "genomes")
    msg = (f"{file_name or 'file'}: not a gnomAD short-variant sites file of a known release "
           "(no AF_popmax/popmax/grpmax fields in its header); pass version= explicitly if "
           "it is one")
    raise ReleaseSchemaError(msg)
