"""varidex: gnomAD population allele frequencies for genetic variants."""

__version__ = "0.2.0"
