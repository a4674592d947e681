"""The bundled demo: real gnomAD r2.1.1 exome records of PCSK9 and real variants.

``data/gnomad.exomes.r2.1.1.sites.1.vcf.bgz`` is the 1:55505599-55516888 slice (PCSK9) of
the public gnomAD r2.1.1 exomes chromosome 1 file, as shipped in the tests of
bihealth/annonars; only that region of chromosome 1 is covered. ``data/demo_variants.vcf``
holds GIAB Ashkenazi trio calls from that region and chromosome 2 (brentp/slivar tests)
plus two known PCSK9 variants, rs11591147 and 1:55516888 G>GA.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

DATA_DIR = Path(__file__).parent / "data"
DEMO_VARIANTS = DATA_DIR / "demo_variants.vcf"
DEMO_COLUMNS = ("chromosome", "position", "id", "ref_allele", "alt_allele", "gnomad_status",
                "gnomad_af", "gnomad_ac", "gnomad_an", "gnomad_nhomalt", "gnomad_af_nfe",
                "gnomad_popmax", "gnomad_af_popmax", "gnomad_filters")


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def demo_table(annotated: pd.DataFrame) -> str:
    """A readable text table of the demo's main columns."""
    view = annotated.loc[:, list(DEMO_COLUMNS)].astype(object)
    view = view.map(_cell)
    view.columns = [c.replace("gnomad_", "") for c in view.columns]
    text: str = view.to_string(index=False)
    return text
