"""Compatible loaders."""

from .gnomad import GnomADFrequency, GnomADLoader, load_gnomad_frequencies

__all__ = ["GnomADFrequency", "GnomADLoader", "load_gnomad_frequencies"]
