"""Shared fixtures: real gnomAD excerpts copied into temporary folders per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Repeatable examples in CI; `HYPOTHESIS_PROFILE=fuzz pytest tests/test_fuzz.py` fuzzes longer.
settings.register_profile("ci", derandomize=True, max_examples=100, database=None)
settings.register_profile("fuzz", max_examples=5000, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

DATA = Path(__file__).parent / "data"
GNOMAD = DATA / "gnomad"
PACKAGE_DATA = Path(__file__).parents[1] / "src" / "varidex" / "gnomad" / "data"


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("VARIDEX_"):
            monkeypatch.delenv(key)


def _copy_release(name: str, dest: Path) -> Path:
    target = dest / name
    shutil.copytree(GNOMAD / name, target)
    if name == "r2.1.1-exomes":
        for f in PACKAGE_DATA.glob("gnomad.exomes.r2.1.1.sites.1.vcf.bgz*"):
            shutil.copy2(f, target / f.name)
    for f in target.iterdir():
        f.chmod(0o644)
    return target


@pytest.fixture(scope="session")
def gnomad_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every real release excerpt, each in its own folder, as a user would lay them out."""
    root = tmp_path_factory.mktemp("gnomad")
    for d in sorted(GNOMAD.iterdir()):
        _copy_release(d.name, root)
    return root


@pytest.fixture(scope="session")
def gnomad_root_blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same releases with varidex's indexes (fine CSI + block index) built."""
    from varidex.gnomad.discovery import index_folder

    root = tmp_path_factory.mktemp("gnomad_blocks")
    for d in sorted(GNOMAD.iterdir()):
        index_folder(_copy_release(d.name, root))
    return root


@pytest.fixture(params=["tabix", "blocks"])
def any_root(request: pytest.FixtureRequest, gnomad_root: Path,
             gnomad_root_blocks: Path) -> Path:
    """Each release read through tabix, then through varidex's block index."""
    return gnomad_root if request.param == "tabix" else gnomad_root_blocks


@pytest.fixture
def fresh_release(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A private, writable copy of one release folder (for index tests)."""

    def make(name: str) -> Path:
        return _copy_release(name, tmp_path)

    return make


@pytest.fixture(scope="session")
def generated() -> Path:
    return DATA / "generated"
