"""The engine's public surface is explicit, sorted and complete."""

from __future__ import annotations

import varidex.gnomad as engine
import varidex.io.loaders.gnomad as facade


def test_all_is_sorted_and_importable() -> None:
    assert engine.__all__ == sorted(engine.__all__, key=lambda n: (not n.isupper(), n))
    for name in engine.__all__:
        assert hasattr(engine, name), name


def test_facade_names() -> None:
    assert set(facade.__all__) == {"GnomADFrequency", "GnomADLoader", "load_gnomad_frequencies"}


def test_version() -> None:
    import varidex

    assert varidex.__version__.count(".") == 2
