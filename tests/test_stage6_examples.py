"""6_run_hash.py on HASH v1.2's examples and SKHASH's ToC2ME demo, compared with their outputs.

The inputs are run unchanged, the way a HASH or SKHASH user would: the control file's relative
paths resolve against the folder the run starts in (here a temporary folder with links to the
published files). Mechanisms are compared by the rotation (Kagan) angle and quality letter.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import run_hash_in
from hash_core.geometry import kagan_angle


@pytest.fixture(scope="module")
def example_dir(shared_dir, tmp_path_factory) -> Path:
    """A working folder with links to the HASH example files (outputs land here)."""
    folder = tmp_path_factory.mktemp("hash_examples")
    for path in (shared_dir / "data" / "hash_examples").iterdir():
        (folder / path.name).symlink_to(path)
    return folder


def read_hash_out(path: Path) -> pd.DataFrame:
    """First (preferred) solution per event of a HASH v1.2 output file: id, s/d/r, letter."""
    rows = {}
    for line in path.read_text().splitlines():
        tokens = line.split()
        if tokens and tokens[0] not in rows:
            rows[tokens[0]] = {"event_id": tokens[0], "strike": int(tokens[21]),
                               "dip": int(tokens[22]), "rake": int(tokens[23]),
                               "quality": tokens[28]}
    return pd.DataFrame(rows.values())


def compare(ours_csv: Path, reference: pd.DataFrame) -> pd.DataFrame:
    ours = pd.read_csv(ours_csv, dtype={"event_id": str}).drop_duplicates("event_id")
    both = reference.merge(ours, on="event_id", suffixes=("_ref", ""))
    assert len(both) == len(reference), "every reference event has a mechanism"
    both["angle"] = kagan_angle(both[["strike_ref", "dip_ref", "rake_ref"]].to_numpy(float),
                                both[["strike", "dip", "rake"]].to_numpy(float))
    both["same_sdr"] = [(int(round(s)), int(round(d)), int(round(r))) == (a, b, c) for s, d, r, a, b, c
                        in both[["strike", "dip", "rake", "strike_ref", "dip_ref",
                                 "rake_ref"]].itertuples(index=False)]
    both["same_letter"] = both["quality"] == both["quality_ref"]
    return both


@pytest.fixture(scope="module")
def example1_hash_rng(example_dir) -> Path:
    assert run_hash_in(example_dir, ["--hash-inp", "example1.inp", "--driver", "1",
                                 "--out", "hash_rng.csv", "--rng", "hash"]) == 0
    return example_dir / "hash_rng.csv"


def test_example1_with_hash_random_stream_reproduces_hash(example1_hash_rng, example_dir):
    both = compare(example1_hash_rng, read_hash_out(example_dir / "example1.out"))
    assert len(both) == 24
    assert both["same_sdr"].sum() >= 20, both[["event_id", "angle", "same_sdr"]]
    assert both["same_letter"].sum() >= 22, both[["event_id", "quality", "quality_ref"]]


def test_example1_writes_hash_format_and_side_tables(example1_hash_rng, example_dir):
    hash_lines = (example_dir / "test1.out").read_text().splitlines()
    assert len(hash_lines) == len(pd.read_csv(example1_hash_rng))
    acceptable = pd.read_csv(example_dir / "hash_rng_acceptable.csv", dtype={"event_id": str})
    assert set(acceptable["event_id"]) == set(read_hash_out(example_dir / "example1.out")["event_id"])
    assert acceptable.groupby("event_id").size().max() <= 300      # maxout of example1.inp
    polinfo = pd.read_csv(example_dir / "hash_rng_polinfo.csv", dtype={"event_id": str})
    per_event = polinfo.groupby("event_id").size()
    mechanisms = pd.read_csv(example1_hash_rng, dtype={"event_id": str}).drop_duplicates("event_id")
    assert (per_event.loc[mechanisms["event_id"]].to_numpy() == mechanisms["num_p_pol"]).all()
    assert polinfo["pol_agreement"].isin([0, 1]).all()


def test_example1_with_default_generator_is_close_to_hash(example_dir):
    assert run_hash_in(example_dir, ["--hash-inp", "example1.inp", "--driver", "1",
                                 "--out", "numpy_rng.csv"]) == 0
    both = compare(example_dir / "numpy_rng.csv", read_hash_out(example_dir / "example1.out"))
    assert np.median(both["angle"]) <= 5.0
    assert both["angle"].max() <= 20.0


def test_example3_with_sp_ratios_and_five_velocity_models(example_dir):
    assert run_hash_in(example_dir, ["--hash-inp", "example3.inp", "--driver", "3",
                                 "--out", "example3.csv", "--rng", "hash"]) == 0
    both = compare(example_dir / "example3.csv", read_hash_out(example_dir / "example3.out"))
    assert np.median(both["angle"]) <= 6.0, both[["event_id", "angle"]]
    assert both["same_letter"].sum() >= 20
    ours = pd.read_csv(example_dir / "example3.csv")
    assert (ours["num_sp_ratios"] > 0).all()


def test_skhash_toc2me_demo_matches_skhash(shared_dir, tmp_path):
    demo = shared_dir / "data" / "toc2me" / "skhash_demo"
    # the control file's paths start at ToC2ME_demo/: its inputs linked one by one, its OUT/
    # (where SKHASH's classic mode writes) a real folder here, never the shared one
    local = tmp_path / "ToC2ME_demo"
    (local / "IN").mkdir(parents=True)
    (local / "OUT").mkdir()
    for path in demo.iterdir():
        if path.is_file():
            (local / path.name).symlink_to(path)
    for path in (demo / "IN").iterdir():
        (local / "IN" / path.name).symlink_to(path)
    assert run_hash_in(tmp_path, ["--skhash-control", "ToC2ME_demo/control_file_skhash.txt",
                              "--out", "mechanisms.csv"]) == 0
    assert (local / "OUT" / "out_polinfo.csv").is_file()   # $outfile_pol_info, written here
    reference = pd.read_csv(demo / "OUT" / "out.csv", dtype={"event_id": str})
    ours = pd.read_csv(tmp_path / "mechanisms.csv", dtype={"event_id": str}).drop_duplicates("event_id")
    both = reference.merge(ours, on="event_id", suffixes=("_ref", ""))
    assert len(both) == 3
    angles = kagan_angle(both[["strike_ref", "dip_ref", "rake_ref"]].to_numpy(float),
                         both[["strike", "dip", "rake"]].to_numpy(float))
    assert (angles <= 10.0).all(), angles
    assert (both["quality"] == both["quality_ref"]).all()
    assert (both["num_p_pol"] == both["num_p_pol_ref"]).all()
