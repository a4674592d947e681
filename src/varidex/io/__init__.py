"""Input/output helpers kept for compatibility; new code lives in :mod:`varidex.gnomad`."""
