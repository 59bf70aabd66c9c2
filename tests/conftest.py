"""Shared fixtures.

``shared_dir`` is the one place tests reach ``../shared`` (published reference data): it
resolves ``$FOCALFLOW_SHARED`` or ``../shared`` beside the checkout and skips the test with a
reason when the folder is absent, so the suite passes on a machine without it.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _shared_root() -> Path:
    return Path(os.environ.get("FOCALFLOW_SHARED", REPO.parent / "shared"))


def _listing(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file() and not p.is_symlink()}


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """Root of the published reference data; skips the test when it is absent. The data are
    read-only for tests: a test that writes there (say, through a symlink to a control file
    whose outputs sit beside its inputs) fails the session."""
    root = _shared_root()
    if not (root / "data").is_dir():
        pytest.skip(f"reference data not found at {root} (set FOCALFLOW_SHARED)")
    before = _listing(root / "data")
    yield root
    changed = sorted(k for k, v in _listing(root / "data").items() if before.get(k) != v)
    assert not changed, f"tests wrote into the reference data: {changed}"


@pytest.fixture(scope="session")
def repo_dir() -> Path:
    return REPO


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    """The synthetic demo (seed 0), generated once per test session."""
    from focalflow.demo import generate

    out = tmp_path_factory.mktemp("demo") / "demo_data"
    generate(out, seed=0)
    return out


def demo_config_dict(demo: Path, workdir: Path) -> dict:
    """A config mapping that runs the pipeline on the demo at ``demo`` into ``workdir``."""
    return {
        "workdir": str(workdir),
        "catalog": {"phase_file": str(demo / "phases.arc")},
        "waveforms": {"source": "sds",
                      "sds": {"root": str(demo / "sds"), "stationxml_dir": str(demo / "stationxml")}},
        "stations": {"reversals_file": str(demo / "reversals.csv")},
        "hash": {"velocity_models": [str(REPO / "velocity" / "demo.txt")]},
    }


@pytest.fixture
def demo_config(demo_dir, tmp_path):
    """A validated Config for the demo with a fresh working directory under tmp_path."""
    from focalflow.config import config_from_dict

    return config_from_dict(demo_config_dict(demo_dir, tmp_path / "work"), base_dir=REPO)


def run_hash_in(folder: Path, argv: list[str]) -> int:
    """Run 6_run_hash.py's main in ``folder`` (HASH/SKHASH control files name paths relative to
    the current folder); returns its exit status."""
    from focalflow.stages import run_hash

    here = os.getcwd()
    os.chdir(folder)
    try:
        return run_hash.main(argv)
    finally:
        os.chdir(here)
