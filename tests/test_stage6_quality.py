"""Honest quality: a letter never exceeds what the station coverage supports.

Ten polarities on one side of the ball (the demo with every other station dropped: its picks
and its waveform windows) get no letter better than C, with a ``quality_note`` that says why,
while HASH's own letter stays in ``hash_quality``; the demo's A/B events keep their letters;
HASH's letters are unchanged for ``--hash-inp`` runs.
"""
from __future__ import annotations

import pandas as pd
import pytest

from conftest import run_hash_in
from focalflow.cli import run_stage
from focalflow.stages import convert_phases, convert_stations, get_waveforms, mseed2sac, run_hash
from one_sided_case import one_sided_copy

EVENT = "60000001"


@pytest.fixture(scope="module")
def demo_analyst(demo_dir, repo_dir, tmp_path_factory):
    """The demo through stages 1-3 and 5, stage 6 with analyst polarities and S/P ratios."""
    from conftest import demo_config_dict
    from focalflow.config import config_from_dict

    settings = demo_config_dict(demo_dir, tmp_path_factory.mktemp("quality") / "work")
    settings["hash"]["polarity_source"] = "analyst"
    settings["output"] = {"figures": False, "report": False, "quakeml": False}
    config = config_from_dict(settings, base_dir=repo_dir)
    for stage, run in (("1_get_waveforms", get_waveforms.run), ("2_mseed2sac", mseed2sac.run),
                       ("3_convert_phases", convert_phases.run),
                       ("5_convert_stations", convert_stations.run)):
        run_stage(stage, run, config)
    run_stage("6_run_hash", run_hash.run, config)
    return settings


def read_mechanisms(workdir) -> pd.DataFrame:
    return pd.read_csv(workdir / "mechanisms.csv", dtype={"event_id": str, "quality_note": str},
                       keep_default_na=False)


def test_the_demo_a_and_b_events_keep_their_letters(demo_analyst):
    from pathlib import Path

    ours = read_mechanisms(Path(demo_analyst["workdir"]))
    good = ours[ours["hash_quality"].isin(["A", "B"])]
    assert good["event_id"].nunique() == 10      # measured: nine A and one B
    assert (good["quality"] == good["hash_quality"]).all(), good
    assert (good["quality_note"] == "").all()


@pytest.mark.parametrize("use_sp", [True, False])
@pytest.mark.parametrize("towards_deg", [0.0, 180.0])
def test_ten_one_sided_polarities_get_no_letter_better_than_c(demo_analyst, repo_dir, tmp_path,
                                                              towards_deg, use_sp):
    from focalflow.config import config_from_dict

    settings = one_sided_copy(demo_analyst, tmp_path / "work", EVENT, towards_deg)
    settings["hash"] = {**settings["hash"], "use_sp_ratios": use_sp}
    config = config_from_dict(settings, base_dir=repo_dir)
    run_stage("6_run_hash", run_hash.run, config, events={EVENT}, overwrite=True)
    ours = read_mechanisms(config.workdir)
    ours = ours[ours["event_id"] == EVENT]
    assert (ours["num_p_pol"] == 10).all() and len(ours)
    assert not ours["quality"].isin(["A", "B"]).any(), ours
    capped = ours[ours["hash_quality"].isin(["A", "B"])]
    # measured with S/P ratios: HASH's letters A (towards 0) and B (towards 180), each capped
    # at C for the azimuthal gap (122 and 139 degrees); without them HASH gives E (the gap)
    assert len(capped) == (1 if use_sp else 0), ours
    assert (capped["quality"] == "C").all()
    assert capped["quality_note"].str.contains("one-sided coverage").all(), capped
    assert (ours["quality_note"] != "").all()


def test_hash_letters_are_unchanged_for_hash_inp(shared_dir, tmp_path):
    for path in (shared_dir / "data" / "hash_examples").iterdir():
        (tmp_path / path.name).symlink_to(path)
    assert run_hash_in(tmp_path, ["--hash-inp", "example1.inp", "--driver", "1",
                                  "--out", "ex1.csv", "--rng", "hash"]) == 0
    ours = pd.read_csv(tmp_path / "ex1.csv", dtype={"quality_note": str}, keep_default_na=False)
    assert (ours["quality"] == ours["hash_quality"]).all()
    assert (ours["quality_note"] == "").all()
