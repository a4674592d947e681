"""The YAML configuration (``--config``): where each gnomAD dataset lives, and filters.

Usage::

    gnomad:
      exomes:
        dir: /data/gnomad/r2.1.1/exomes   # relative paths are relative to this file
        version: r2.1.1                   # optional: detected from the headers if left out
        enabled: true                     # optional, default true
      genomes:
        dir: /data/gnomad/r2.1.1/genomes
        version: r2.1.1
        enabled: false
    filter:                               # optional: adds the gnomad_pass_filter column
      max_af: 0.01                        # highest AF allowed (a fraction, inclusive)
      min_ac: 1                           # fewest gnomAD alleles required (inclusive)
      populations: [afr, amr, eas, nfe, sas]   # max_af applies to their highest AF
    acmg:                                 # optional: the --acmg evidence and its settings
      inheritance: dominant               # any key of FrequencyThresholds (see README);
      prevalence: 1/500                   # command-line options override these
      allelic_heterogeneity: 0.1
      penetrance: 0.5

The file is read with ``yaml.safe_load`` only (no Python objects). Unknown keys inside
``gnomad`` and ``filter`` are errors (a typo must not silently drop a threshold); other
top-level sections are left to the tools that own them. With exomes and genomes both
enabled, each is reported and combined as with ``--dataset exomes,genomes``; both must be
of the same release.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from .errors import ConfigError
from .filtering import FilterThresholds
from .remote import is_remote

logger = logging.getLogger(__name__)

DATASET_NAMES: Final = ("exomes", "genomes", "joint")
_DATASET_KEYS: Final = frozenset({"dir", "version", "enabled"})
_FILTER_KEYS: Final = frozenset({"max_af", "min_ac", "populations"})
_SECTIONS: Final = frozenset({"gnomad", "filter", "acmg"})


@dataclass(frozen=True)
class DatasetConfig:
    """One gnomAD dataset: its folder, release (None: detect) and whether to use it."""

    name: str
    dir: str | Path  # a folder, or an https://, s3:// or gs:// prefix
    version: str | None = None
    enabled: bool = True


@dataclass(frozen=True)
class Config:
    """A parsed configuration file."""

    path: Path
    datasets: dict[str, DatasetConfig] = field(default_factory=dict)
    filter: FilterThresholds | None = None
    #: the ``acmg`` section as written (checked by FrequencyThresholds.from_dict)
    acmg: dict[str, object] | None = None

    def enabled(self, only: tuple[str, ...] | None = None) -> list[DatasetConfig]:
        """The enabled datasets (restricted to ``only`` when given), in a fixed order."""
        out = [d for name, d in sorted(self.datasets.items(),
                                       key=lambda kv: DATASET_NAMES.index(kv[0]))
               if d.enabled and (only is None or name in only)]
        if only is not None:
            missing = [n for n in only if n not in self.datasets]
            if missing:
                msg = (f"dataset(s) {', '.join(missing)} are not in the config's gnomad "
                       f"section (it has: {', '.join(self.datasets) or 'none'})")
                raise ConfigError(msg, path=self.path)
            return [self.datasets[n] for n in only]
        if not out:
            msg = "no gnomAD dataset is enabled in its gnomad section; set enabled: true"
            raise ConfigError(msg, path=self.path)
        return out


def load_config(path: str | Path) -> Config:
    """Read and check a configuration file (see the module docstring)."""
    import yaml

    p = Path(path).expanduser()
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"cannot read the config file ({exc.strerror or exc})"
        raise ConfigError(msg, path=p) from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        msg = f"not valid YAML{where}: {problem}"
        raise ConfigError(msg, path=p) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        msg = "the config must be a mapping with a gnomad section (and optionally filter)"
        raise ConfigError(msg, path=p)
    other = sorted(str(k) for k in data if k not in _SECTIONS)
    if other:
        logger.info("%s: sections %s are not varidex's gnomAD settings; left alone", p,
                    ", ".join(other))
    datasets = _datasets(data.get("gnomad"), p)
    thresholds = _thresholds(data.get("filter"), p)
    acmg = data.get("acmg")
    if acmg is not None and not isinstance(acmg, dict):
        msg = ("the acmg section must be a mapping of settings, e.g. inheritance: dominant "
               "(see README)")
        raise ConfigError(msg, path=p)
    return Config(p, datasets, thresholds, {str(k): v for k, v in acmg.items()}
                  if acmg is not None else None)


def _datasets(section: Any, path: Path) -> dict[str, DatasetConfig]:
    if section is None:
        return {}
    if not isinstance(section, dict):
        msg = "gnomad: must map dataset names (exomes, genomes, joint) to their settings"
        raise ConfigError(msg, path=path)
    out: dict[str, DatasetConfig] = {}
    for name, settings in section.items():
        if name not in DATASET_NAMES:
            msg = f"gnomad: unknown dataset {name!r}; use {', '.join(DATASET_NAMES)}"
            raise ConfigError(msg, path=path)
        where = f"gnomad.{name}"
        if not isinstance(settings, dict):
            msg = f"{where}: must be a mapping with dir, version and enabled"
            raise ConfigError(msg, path=path)
        unknown = sorted(str(k) for k in settings if k not in _DATASET_KEYS)
        if unknown:
            msg = (f"{where}: unknown key(s) {', '.join(unknown)}; allowed: "
                   f"{', '.join(sorted(_DATASET_KEYS))}")
            raise ConfigError(msg, path=path)
        enabled = settings.get("enabled", True)
        if not isinstance(enabled, bool):
            msg = f"{where}.enabled: must be true or false, not {enabled!r}"
            raise ConfigError(msg, path=path)
        folder = settings.get("dir")
        if not isinstance(folder, str) or not folder.strip():
            msg = f"{where}.dir: the folder of the gnomAD {name} files is required"
            raise ConfigError(msg, path=path)
        version = settings.get("version")
        if version is not None and not isinstance(version, (str, int, float)):
            msg = f"{where}.version: a release such as r2.1.1 or v4.1, not {version!r}"
            raise ConfigError(msg, path=path)
        directory: str | Path = folder.strip()
        if not is_remote(folder.strip()):  # a URL stays a URL
            directory = Path(folder).expanduser()
            if not directory.is_absolute():
                directory = path.parent / directory
        out[name] = DatasetConfig(name, directory, None if version is None else str(version),
                                  enabled)
    return out


def _thresholds(section: Any, path: Path) -> FilterThresholds | None:
    if section is None:
        return None
    if not isinstance(section, dict):
        msg = "filter: must be a mapping with max_af, min_ac and/or populations"
        raise ConfigError(msg, path=path)
    unknown = sorted(str(k) for k in section if k not in _FILTER_KEYS)
    if unknown:
        msg = (f"filter: unknown key(s) {', '.join(unknown)}; allowed: "
               f"{', '.join(sorted(_FILTER_KEYS))}")
        raise ConfigError(msg, path=path)
    max_af = section.get("max_af")
    if max_af is not None:
        if isinstance(max_af, bool) or not isinstance(max_af, (int, float)) or \
                not 0 <= max_af <= 1:
            msg = f"filter.max_af: an allele frequency from 0 to 1 (a fraction), not {max_af!r}"
            raise ConfigError(msg, path=path)
        max_af = float(max_af)
    min_ac = section.get("min_ac")
    if min_ac is not None and (isinstance(min_ac, bool) or not isinstance(min_ac, int)
                               or min_ac < 0):
        msg = f"filter.min_ac: a whole number of alleles, 0 or more, not {min_ac!r}"
        raise ConfigError(msg, path=path)
    pops = section.get("populations") or []
    if isinstance(pops, str):
        pops = [p.strip() for p in pops.split(",") if p.strip()]
    if not isinstance(pops, list) or not all(isinstance(p, str) for p in pops):
        msg = "filter.populations: a list of group names such as [afr, nfe]"
        raise ConfigError(msg, path=path)
    if max_af is None and min_ac is None:
        msg = "filter: give max_af and/or min_ac (populations alone filter nothing)"
        raise ConfigError(msg, path=path)
    if pops and max_af is None:
        msg = "filter.populations: only used with max_af; add max_af"
        raise ConfigError(msg, path=path)
    return FilterThresholds(max_af, min_ac, tuple(p.lower() for p in pops))


def open_configured(config: Config, *, datasets: tuple[str, ...] | None = None,
                    **options: Any) -> Any:
    """An annotator for the config's enabled datasets (or ``datasets`` among them): one
    dataset's Annotator, or the exomes+genomes CombinedAnnotator."""
    from .annotate import Annotator
    from .combine import CombinedAnnotator

    chosen = config.enabled(datasets)
    names = tuple(d.name for d in chosen)
    if len(chosen) == 1:
        d = chosen[0]
        return Annotator.open(d.dir, version=d.version, dataset=d.name, **options)
    if names != ("exomes", "genomes"):
        msg = (f"datasets {', '.join(names)} cannot be combined; enable exomes and genomes, "
               "or one dataset")
        raise ConfigError(msg, path=config.path)
    parts: dict[str, Annotator] = {}
    try:
        for d in chosen:
            parts[d.name] = Annotator.open(d.dir, version=d.version, dataset=d.name, **options)
        ids = {p.files.release.id for p in parts.values()}
        if len(ids) > 1:
            msg = (f"gnomad.exomes and gnomad.genomes are of different releases "
                   f"({', '.join(sorted(ids))}); combining them would mix builds or "
                   "cohorts. Point both at the same release, or enable one")
            raise ConfigError(msg, path=config.path)
    except BaseException:
        for a in parts.values():
            a.close()
        raise
    return CombinedAnnotator(parts)
