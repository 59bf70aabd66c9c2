"""Users' own data through the six stages with the shipped example configs, changing only
their DATA lines (the paths): ToC2ME's SAC folders with header picks (examples/toc2me_sac.yaml)
against SKHASH's mechanisms, and the demo as one miniSEED file per event + QuakeML + a plain
station list (examples/event_mseed_quakeml.yaml) against the demo's truth."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from hash_core.geometry import kagan_angle

pytestmark = pytest.mark.filterwarnings("ignore:Sample spacing read from SAC")


def example_config(repo_dir, name: str, folder, paths: dict[str, str]):
    """``examples/<name>`` written to ``folder`` with its workdir there and the path prefixes
    of its DATA lines replaced (``paths``: old prefix -> new prefix); only those lines change."""
    lines = (repo_dir / "examples" / name).read_text().splitlines(keepends=True)
    out = []
    for line in lines:
        if line.startswith("workdir:"):
            line = f"workdir: {folder / 'work'}\n"
        elif "# DATA" in line:
            for old, new in paths.items():
                line = line.replace(old, str(new))
        out.append(line)
    changed = sum(a != b for a, b in zip(lines, out))
    assert changed == 1 + sum("# DATA" in line for line in lines)
    path = folder / name
    path.write_text("".join(out))
    return path


def run_pipeline(repo_dir, config_path):
    done = subprocess.run(["bash", str(repo_dir / "run_pipeline.sh"), str(config_path)],
                          cwd=repo_dir, capture_output=True, text=True, timeout=1200,
                          env={**os.environ, "PYTHON": sys.executable})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def toc2me(shared_dir, repo_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("toc2me")
    config = example_config(repo_dir, "toc2me_sac.yaml", folder, {"../../shared": shared_dir})
    done = run_pipeline(repo_dir, config)
    return folder / "work", done


def test_toc2me_sac_folders_give_skhash_mechanisms(toc2me, shared_dir):
    work, done = toc2me
    ours = pd.read_csv(work / "mechanisms.csv", dtype={"event_id": str}).drop_duplicates("event_id")
    reference = pd.read_csv(shared_dir / "data/toc2me/skhash_demo/OUT/out.csv")
    # SKHASH numbers the events 1, 2, 3 in origin order; the folders are named by origin time
    assert ours["event_id"].tolist() == ["20161104064824.680", "20161125051408.940",
                                         "20161128051644.670"]
    angles = kagan_angle(ours[["strike", "dip", "rake"]].to_numpy(float),
                         reference[["strike", "dip", "rake"]].to_numpy(float))
    assert (angles <= 15.0).all(), angles
    assert set(ours["quality"]) == {"A"}
    assert (ours["num_p_pol"] >= 40).all()


def test_toc2me_uses_analyst_picks_reversal_and_header_stations(toc2me):
    work, done = toc2me
    picks = pd.read_csv(work / "picks.csv", dtype=str, keep_default_na=False)
    assert set(picks["source"].str.split(":").str[1]) == {"t1", "t2"}  # never t3 = p_taup
    polarities = pd.read_csv(work / "polarities.csv", dtype={"station": str})
    assert polarities["reversed"].all()
    stations = pd.read_csv(work / "stations.csv", dtype={"station": str})
    assert stations[["network", "station"]].drop_duplicates().shape[0] == 69
    log = (work / "logs").glob("2_mseed2sac_*.log")
    text = "".join(path.read_text() for path in log)
    assert text.count("Z taken as vertical") == 1
    assert text.count("cannot be rotated to N/E") == 1


def test_toc2me_rerun_follows_the_new_options(toc2me, repo_dir):
    """Editing one of the new options and rerunning the stage it affects changes its output and
    says why; a rerun with nothing changed reads no file again. (Runs last on this workdir.)"""
    work, _ = toc2me
    config = work.parent / "toc2me_sac.yaml"

    def stage(name, text):
        config.write_text(text)
        done = subprocess.run([sys.executable, str(repo_dir / f"{name}.py"), "--config",
                               str(config)], cwd=repo_dir, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stderr

    text = config.read_text()
    assert "files index: 0 file(s) read, 622 unchanged" in stage("1_get_waveforms", text)
    before = pd.read_csv(work / "polarities.csv", dtype={"station": str})
    listed = text.replace("reversed: all", "reversed: listed")
    assert "stations.reversed changed" in stage("4_polarity_predict", listed)
    after = pd.read_csv(work / "polarities.csv", dtype={"station": str})
    assert not after["reversed"].any()
    assert (after["p_polarity"] == -before["p_polarity"]).all()
    assert "reversals.csv: stations.reversed changed" in stage("5_convert_stations", listed)
    assert pd.read_csv(work / "reversals.csv").empty
    no_s = listed.replace("s_marker: t2", "s_marker: t9")
    stage("3_convert_phases", no_s)
    picks = pd.read_csv(work / "picks.csv", dtype=str)
    assert set(picks["phase"]) == {"P"}


@pytest.fixture(scope="module")
def own_data(demo_dir, repo_dir, tmp_path_factory):
    from focalflow.demo.own_data import write_own_data

    folder = tmp_path_factory.mktemp("own_data")
    write_own_data(demo_dir, folder / "demo_own_data")
    config = example_config(repo_dir, "event_mseed_quakeml.yaml", folder,
                            {"../demo_own_data": folder / "demo_own_data",
                             "../velocity": repo_dir / "velocity"})
    run_pipeline(repo_dir, config)
    return folder / "work"


def test_event_mseed_quakeml_and_station_list_recover_the_demo(own_data, demo_dir):
    """The same thresholds as the demo pipeline on the SDS archive (test_pipeline_demo)."""
    truth = pd.read_csv(demo_dir / "truth.csv", dtype={"event_id": str})
    ours = pd.read_csv(own_data / "mechanisms.csv", dtype={"event_id": str}) \
        .drop_duplicates("event_id")
    both = truth.merge(ours, on="event_id", suffixes=("_true", ""))
    assert len(both) == len(truth)
    angles = kagan_angle(both[["strike_true", "dip_true", "rake_true"]].to_numpy(float),
                         both[["strike", "dip", "rake"]].to_numpy(float))
    assert np.mean(angles <= 20.0) >= 0.9, angles
    polarities = pd.read_csv(own_data / "polarities.csv", dtype={"event_id": str})
    true = pd.read_csv(demo_dir / "truth_picks.csv", dtype={"event_id": str})
    merged = polarities.merge(true, on=["event_id", "network", "station"])
    decided = merged[merged["p_polarity"] != 0]
    assert len(merged) > 200 and (decided["p_polarity"] == decided["first_motion_ground"]).mean() >= 0.95
