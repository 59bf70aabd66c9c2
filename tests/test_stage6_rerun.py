"""Stage-6 reruns follow config.yaml: on the synthetic demo, a changed parameter or input redoes
exactly the events it affects and says why; nothing changed touches no file; ``--events X
--overwrite`` and concurrent runs keep every other event's rows."""
from __future__ import annotations

import logging
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.errors import InputError
from focalflow.stages import convert_phases, convert_stations, get_waveforms, mseed2sac, run_hash

TABLES = ["mechanisms.csv", "mechanisms_acceptable.csv", "polinfo.csv", "sp_ratios.csv"]


def settings_for(demo_dir, workdir, **hash_keys) -> dict:
    from conftest import demo_config_dict

    settings = demo_config_dict(demo_dir, workdir)
    settings["hash"].update(polarity_source="analyst", nmc=10, **hash_keys)
    settings["output"] = {"dpi": 50}
    return settings


@pytest.fixture(scope="module")
def solved(demo_dir, repo_dir, tmp_path_factory):
    """A demo working directory after stages 1-3, 5 and 6 (analyst polarities, S/P ratios)."""
    root = tmp_path_factory.mktemp("rerun")
    config = config_from_dict(settings_for(demo_dir, root / "work"), base_dir=repo_dir)
    for stage, run in (("1_get_waveforms", get_waveforms.run), ("2_mseed2sac", mseed2sac.run),
                       ("3_convert_phases", convert_phases.run),
                       ("5_convert_stations", convert_stations.run),
                       ("6_run_hash", run_hash.run)):
        run_stage(stage, run, config)
    return root / "work"


@pytest.fixture
def work(solved, tmp_path):
    """A private copy of the solved working directory (modification times kept)."""
    copy = tmp_path / "work"
    shutil.copytree(solved, copy)
    return copy


def rerun(demo_dir, repo_dir, work, events=None, overwrite=False, output=None, **hash_keys):
    settings = settings_for(demo_dir, work, **hash_keys)
    settings["output"].update(output or {})
    config = config_from_dict(settings, base_dir=repo_dir)
    return run_stage("6_run_hash", run_hash.run, config, events=events, overwrite=overwrite)


def snapshot(work) -> dict:
    """{relative path: (bytes, mtime_ns)} of every output (logs apart)."""
    return {str(p.relative_to(work)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(work.rglob("*")) if p.is_file() and "logs" not in p.parts}


def rows_of(path, event_ids) -> list[str]:
    """The CSV lines of ``event_ids`` (text as written)."""
    lines = path.read_text().splitlines()
    return [line for line in lines[1:] if line.split(",", 1)[0] in event_ids]


def event_ids(work) -> list[str]:
    return list(pd.read_csv(work / "events.csv", dtype={"event_id": str})["event_id"])


def test_nothing_changed_rewrites_nothing(demo_dir, repo_dir, work, caplog):
    before = snapshot(work)
    with caplog.at_level(logging.INFO):
        summary = rerun(demo_dir, repo_dir, work)
    assert summary["computed"] == 0 and summary["event_figures"] == 0
    assert snapshot(work) == before                      # same bytes, no file touched
    assert "0 events (re)computed; 10 kept unchanged" in caplog.text


def test_dang_change_recomputes_every_mechanism_and_says_why(demo_dir, repo_dir, work, caplog):
    before = snapshot(work)
    with caplog.at_level(logging.INFO):
        summary = rerun(demo_dir, repo_dir, work, dang_deg=10.0)
    assert summary["computed"] == 10
    assert "10 events (re)computed (10: hash.dang_deg changed 5.0 -> 10.0)" in caplog.text
    after = snapshot(work)
    assert after["mechanisms.csv"] != before["mechanisms.csv"]
    assert after["sp_ratios.csv"] == before["sp_ratios.csv"]      # S/P ratios do not depend on it
    # the figures of changed mechanisms are redrawn; a rerun is then quiet again
    assert summary["event_figures"] > 0
    assert rerun(demo_dir, repo_dir, work, dang_deg=10.0)["computed"] == 0


def test_sp_parameter_change_remeasures_and_resolves(demo_dir, repo_dir, work, caplog):
    before = pd.read_csv(work / "sp_ratios.csv", dtype={"event_id": str})
    with caplog.at_level(logging.INFO):
        summary = rerun(demo_dir, repo_dir, work, sp_freqmax_hz=15.0)
    assert "S/P ratios: 10 events (re)computed (10: hash.sp_freqmax_hz changed 40.0 -> 15.0)" \
        in caplog.text
    after = pd.read_csv(work / "sp_ratios.csv", dtype={"event_id": str})
    assert not after["amp_s"].equals(before["amp_s"])
    assert summary["computed"] >= 1 and "input event+observations changed" in caplog.text


def test_one_events_changed_picks_redo_that_event_only(demo_dir, repo_dir, work, caplog):
    ids = event_ids(work)
    picks = pd.read_csv(work / "picks.csv", dtype=str, keep_default_na=False)
    target = ids[3]
    row = picks.index[(picks["event_id"] == target) & (picks["polarity"] == "U")][0]
    picks.loc[row, "polarity"] = "D"
    picks.to_csv(work / "picks.csv", index=False)
    others = {name: rows_of(work / name, set(ids) - {target}) for name in TABLES}
    with caplog.at_level(logging.INFO):
        summary = rerun(demo_dir, repo_dir, work)
    assert summary["computed"] == 1
    assert "1 events (re)computed (1: input event+observations changed); 9 kept" in caplog.text
    assert {name: rows_of(work / name, set(ids) - {target}) for name in TABLES} == others


def test_events_overwrite_keeps_every_other_events_rows(demo_dir, repo_dir, work):
    ids = event_ids(work)
    whole = {name: (work / name).read_text() for name in TABLES}
    summary = rerun(demo_dir, repo_dir, work, events={ids[0]}, overwrite=True)
    assert summary["computed"] == 1
    # every table keeps the other events' rows byte for byte, and (numpy stream per event)
    # the redone event comes out the same
    assert {name: (work / name).read_text() for name in TABLES} == whole


def test_output_setting_redraws_figures_and_recomputes_no_mechanism(demo_dir, repo_dir, work):
    before = snapshot(work)
    summary = rerun(demo_dir, repo_dir, work, output={"dpi": 60})
    assert summary["computed"] == 0 and summary["event_figures"] == 10
    after = snapshot(work)
    assert all(after[name] == before[name] for name in TABLES + ["mechanisms.xml"])


def test_a_missing_velocity_model_is_an_error_even_when_nothing_changed(demo_dir, repo_dir,
                                                                        work):
    model = repo_dir / "velocity" / "no_such_model.txt"
    with pytest.raises(InputError, match="no_such_model.txt: input file not found"):
        rerun(demo_dir, repo_dir, work, velocity_models=[str(model)])


def test_concurrent_runs_on_different_events_keep_both(demo_dir, repo_dir, work):
    ids = event_ids(work)
    stations = pd.read_csv(work / "stations.csv", dtype=str, keep_default_na=False)
    polinfo = pd.read_csv(work / "polinfo.csv", dtype=str, keep_default_na=False)
    first_station = polinfo["sta_code"].iloc[0].split(".")[1]    # used by every event
    stations[stations["station"] != first_station].to_csv(work / "stations.csv", index=False)
    config = work.parent / "config.yaml"
    config.write_text(yaml.safe_dump(settings_for(demo_dir, work)))
    runs = [subprocess.Popen([sys.executable, str(repo_dir / "6_run_hash.py"), "--config",
                              str(config), "--events", event, "--overwrite"], cwd=repo_dir,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for event in ids[:2]]
    for process in runs:
        assert process.wait(timeout=600) == 0, process.stderr.read()[-2000:]
    failures = pd.read_csv(work / "logs" / "failures.csv", dtype=str)
    missing = failures[failures["reason"].str.contains("not in the station table")]
    assert set(missing["event_id"]) == set(ids[:2])
    for name in TABLES[:3]:
        assert set(pd.read_csv(work / name, dtype={"event_id": str})["event_id"]) == set(ids)
