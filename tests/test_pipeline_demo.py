"""The whole pipeline on the synthetic demo, run as a user runs it: the six stage scripts in
order with one config file, default settings (CNN polarities from the shipped model, S/P ratios
measured from the waveforms), then checked against the demo's ground truth."""
from __future__ import annotations

import hashlib
import subprocess
import sys

import numpy as np
import obspy
import pandas as pd
import pytest
import yaml

from hash_core.geometry import kagan_angle

STAGES = ["1_get_waveforms", "2_mseed2sac", "3_convert_phases", "4_polarity_predict",
          "5_convert_stations", "6_run_hash"]


def run_script(repo_dir, stage, config_path, *extra):
    return subprocess.run([sys.executable, str(repo_dir / f"{stage}.py"), "--config",
                           str(config_path), *extra], cwd=repo_dir, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def pipeline(demo_dir, repo_dir, tmp_path_factory):
    from conftest import demo_config_dict

    folder = tmp_path_factory.mktemp("pipeline")
    config_path = folder / "config.yaml"
    config_path.write_text(yaml.safe_dump(demo_config_dict(demo_dir, folder / "work")))
    for stage in STAGES:
        done = run_script(repo_dir, stage, config_path)
        assert done.returncode == 0, f"{stage} failed:\n{done.stderr[-3000:]}"
    return folder / "work", config_path


def test_cnn_polarities_match_the_true_first_motions(pipeline, demo_dir):
    work, _ = pipeline
    ours = pd.read_csv(work / "polarities.csv", dtype={"event_id": str})
    truth = pd.read_csv(demo_dir / "truth_picks.csv", dtype={"event_id": str})
    both = ours.merge(truth, on=["event_id", "network", "station"])
    assert len(both) == len(ours) > 200
    decided = both[both["p_polarity"] != 0]
    assert len(decided) >= 0.9 * len(both)
    agreement = (decided["p_polarity"] == decided["first_motion_ground"]).mean()
    assert agreement >= 0.95, agreement


def test_mechanisms_from_cnn_polarities_match_the_truth(pipeline, demo_dir):
    work, _ = pipeline
    truth = pd.read_csv(demo_dir / "truth.csv", dtype={"event_id": str})
    ours = pd.read_csv(work / "mechanisms.csv", dtype={"event_id": str}).drop_duplicates("event_id")
    both = truth.merge(ours, on="event_id", suffixes=("_true", ""))
    assert len(both) == len(truth)
    angles = kagan_angle(both[["strike_true", "dip_true", "rake_true"]].to_numpy(float),
                         both[["strike", "dip", "rake"]].to_numpy(float))
    assert np.mean(angles <= 20.0) >= 0.9, angles
    assert set(ours["faulting_class"]) <= {"normal", "reverse", "strike-slip", "oblique"}


def test_products_exist_and_round_trip(pipeline):
    work, _ = pipeline
    mechanisms = pd.read_csv(work / "mechanisms.csv", dtype={"event_id": str})
    solved = mechanisms.dropna(subset=["strike"])["event_id"].unique()
    catalog = obspy.read_events(str(work / "mechanisms.xml"))
    assert len(catalog) == len(pd.read_csv(work / "events.csv"))
    assert sum(event.preferred_focal_mechanism() is not None for event in catalog) == len(solved)
    for event_id in solved:
        for name in ("beachball.png", "waveforms.png"):
            assert (work / "figures" / event_id / name).stat().st_size > 20_000
    assert (work / "figures" / "mechanism_map.png").stat().st_size > 20_000
    html = (work / "report" / "index.html").read_text()
    assert html.count('class="event"') == len(pd.read_csv(work / "events.csv"))
    failures = pd.read_csv(work / "logs" / "failures.csv")
    assert len(failures) < 20, failures


def test_rerunning_a_stage_gives_identical_outputs(pipeline, repo_dir):
    work, config_path = pipeline
    def digest():
        files = [work / "events.csv", work / "picks.csv", *sorted((work / "cut").rglob("*.sac"))]
        return hashlib.sha256(b"".join(p.read_bytes() for p in files)).hexdigest()
    before = digest()
    assert run_script(repo_dir, "3_convert_phases", config_path).returncode == 0
    assert digest() == before
    assert run_script(repo_dir, "3_convert_phases", config_path, "--overwrite").returncode == 0
    assert digest() == before
