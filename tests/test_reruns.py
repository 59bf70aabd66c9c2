"""Reruns that follow config.yaml, on the demo (stages 1-5): edit a parameter or an input file,
rerun one stage, and it redoes exactly the events that changed, says why, and keeps the rest;
with nothing changed it touches no file. ``--events X --overwrite`` and concurrent runs on
different events keep every other event's rows."""
from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml
from obspy import read

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.errors import FocalflowError, StageFailed
from focalflow.stages import (convert_phases, convert_stations, get_waveforms, mseed2sac,
                              polarity_predict)
from focalflow.tables import read_table
from focalflow.waveforms.store import read_attributes, read_sets, write_sets

STAGES = [("1_get_waveforms", get_waveforms.run), ("2_mseed2sac", mseed2sac.run),
          ("3_convert_phases", convert_phases.run), ("4_polarity_predict", polarity_predict.run),
          ("5_convert_stations", convert_stations.run)]
RUN = dict(STAGES)
EVENT = "60000003"      # the event a test changes
OTHER = "60000007"      # another event given its own failures


@pytest.fixture(scope="module")
def processed(demo_dir, repo_dir, tmp_path_factory):
    """Config settings of a demo working directory after stages 1-5."""
    from conftest import demo_config_dict

    settings = demo_config_dict(demo_dir, tmp_path_factory.mktemp("reruns") / "work")
    config = config_from_dict(settings, base_dir=repo_dir)
    for stage, run in STAGES:
        run_stage(stage, run, config)
    return settings


@pytest.fixture
def config(processed, repo_dir, tmp_path):
    """A private copy of the processed working directory (file times kept, so its ledgers
    hold) and its config."""
    settings = {**processed, "workdir": str(tmp_path / "work")}
    shutil.copytree(processed["workdir"], settings["workdir"])
    return config_from_dict(settings, base_dir=repo_dir)


@pytest.fixture(autouse=True)
def info_logs(caplog):
    caplog.set_level(logging.INFO, logger="focalflow")


def rerun(config, stage, **kwargs) -> dict:
    return run_stage(stage, RUN[stage], config, **kwargs)


def snapshot(root) -> dict[str, tuple[int, str]]:
    """(modification time, SHA-256) of every file but the run logs."""
    return {p.relative_to(root).as_posix(): (p.stat().st_mtime_ns,
                                             hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(root.rglob("*")) if p.is_file() and p.suffix != ".log"}


def rows_by_event(path) -> dict[str, list[str]]:
    """The text lines of a CSV table grouped by its event_id column (header under "")."""
    lines = path.read_text().splitlines()
    column = lines[0].split(",").index("event_id")
    grouped: dict[str, list[str]] = {"": [lines[0]]}
    for line in lines[1:]:
        grouped.setdefault(line.split(",")[column], []).append(line)
    return grouped


def store_row(path, name: str, code: str):
    """(table row, samples) of ``code`` (NET.STA.LOC.CHA) in set ``name`` of a store file."""
    rows = read_sets(path)[name]
    i = next(i for i in range(len(rows)) if ".".join(rows.codes(i)) == code)
    return rows.table[i], rows.samples(i)


def drop_station(path, station: str) -> None:
    """Rewrite a store file without the rows of ``station``."""
    sets = read_sets(path)
    kept = [s.select([s.codes(i)[1] != station for i in range(len(s))]) for s in sets.values()]
    attributes = {k: v for k, v in read_attributes(path).items()
                  if k != "format" and not k.startswith("digest_")}
    write_sets(path, kept, attributes, if_changed=False)


def test_nothing_changed_touches_no_file(config, caplog):
    before = snapshot(config.workdir)
    for stage, _ in STAGES:
        rerun(config, stage)
    assert snapshot(config.workdir) == before
    assert caplog.text.count("0 events (re)computed; 10 kept unchanged") == 4
    assert "0 tables (re)computed; 2 kept unchanged" in caplog.text


def test_stage2_follows_the_sac_settings(config, caplog):
    store = config.workdir / "store" / "traces"
    before = {p: p.read_bytes() for p in sorted(store.glob("*.h5"))}
    config.sac.min_duration_s = 200.0          # longer than the 120 s windows: no trace is kept
    with pytest.raises(StageFailed, match="no traces for any of the 10 selected event"):
        rerun(config, "2_mseed2sac")           # exit status 1: stage 3 would have nothing
    assert "10 events (re)computed (10: sac.min_duration_s changed 10.0 -> 200.0); " \
           "0 kept unchanged" in caplog.text
    assert all(len(read_sets(p)["traces"]) == 0 for p in before)
    failures = read_table(config.workdir / "logs" / "failures.csv", "failures")
    assert failures["reason"].str.contains("shorter than sac.min_duration_s = 200 s").sum() == 900

    config.sac.min_duration_s = 10.0
    rerun(config, "2_mseed2sac")
    assert {p: p.read_bytes() for p in sorted(store.glob("*.h5"))} == before
    assert read_table(config.workdir / "logs" / "failures.csv", "failures").empty


def test_stage3_follows_the_window_lengths(config, caplog):
    path = config.workdir / "store" / "windows" / f"{EVENT}.h5"
    s_windows = read_attributes(path)["digest_S"]
    assert store_row(path, "P", "FF.ST01..HHZ")[0]["npts"] == 401
    config.phases.p_before_s = 1.0
    summary = rerun(config, "3_convert_phases")
    assert "10 events (re)computed (10: phases.p_before_s changed 2.0 -> 1.0); " \
           "0 kept unchanged" in caplog.text
    assert summary["kept_existing"] == 0
    window, _ = store_row(path, "P", "FF.ST01..HHZ")
    assert window["npts"] == 301 and window["pick_s"] - window["start_s"] == pytest.approx(1.0)
    assert read_attributes(path)["digest_S"] == s_windows


def test_stage4_follows_the_polarity_settings_but_not_the_runtime_knobs(config, caplog):
    table = config.workdir / "polarities.csv"
    config.polarity.analyst = "keep"
    rerun(config, "4_polarity_predict")
    assert '10 events (re)computed (10: polarity.analyst changed "compare" -> "keep")' in caplog.text
    kept = read_table(table, "polarities")
    assert (kept["model"] == "analyst").sum() == (kept["analyst_polarity"] != 0).sum() > 100

    caplog.clear()
    mtime = table.stat().st_mtime_ns
    config.polarity.batch_size, config.polarity.device = 16, "cpu"
    assert rerun(config, "4_polarity_predict")["picks"] == 0
    assert "0 events (re)computed; 10 kept unchanged" in caplog.text
    assert table.stat().st_mtime_ns == mtime


def test_a_changed_waveform_file_redoes_only_what_it_changes(config, caplog):
    path = config.workdir / "mseed" / EVENT / "FF.ST05..HHZ.mseed"
    stream = read(str(path))
    for trace in stream:
        trace.data = -trace.data                     # a vertical wired the wrong way round
    stream.write(str(path), format="MSEED")
    before = snapshot(config.workdir)
    polarities = read_table(config.workdir / "polarities.csv", "polarities")
    for stage in ("2_mseed2sac", "3_convert_phases", "4_polarity_predict"):
        rerun(config, stage)
    for changed in (f"mseed/{EVENT}/FF.ST05..HHZ.mseed", f"store/traces/{EVENT}.h5",
                    "P windows"):
        assert f"1 events (re)computed (1: input {changed} changed); 9 kept unchanged" \
            in caplog.text
    after = snapshot(config.workdir)
    assert sorted(k for k in after if after[k] != before.get(k)) == [
        ".focalflow/2_mseed2sac.sqlite", ".focalflow/3_convert_phases.sqlite",
        ".focalflow/4_polarity_predict.sqlite", "polarities.csv", f"store/traces/{EVENT}.h5",
        f"store/windows/{EVENT}.h5"]
    flipped = read_table(config.workdir / "polarities.csv", "polarities")
    st05 = (flipped["event_id"] == EVENT) & (flipped["station"] == "ST05")
    assert flipped.loc[st05, "recorded_polarity"].tolist() == \
        (-polarities.loc[st05, "recorded_polarity"]).tolist() != [0]
    pd.testing.assert_frame_equal(flipped[~st05], polarities[~st05])


def _phase_line(lines: list[str], event_id: str, station: str, phase: str) -> int:
    """Index of the Hypoinverse phase line of ``station``'s ``phase`` pick in ``event_id``."""
    first = next(i for i, line in enumerate(lines) if line[136:146].strip() == event_id)
    for i in range(first + 1, len(lines)):
        if lines[i][:4].isdigit():                          # the next event's summary line
            break
        if lines[i].startswith(f"{station} ") and lines[i][14 if phase == "P" else 47] == phase:
            return i
    raise LookupError(f"no {phase} pick of {station} in event {event_id}")


def test_an_edited_pick_redoes_only_its_event(config, tmp_path, caplog):
    phase_file = tmp_path / "phases.arc"
    lines = config.catalog.phase_file.read_text().splitlines(keepends=True)
    config.catalog.phase_file = phase_file          # a moved but identical file changes nothing
    phase_file.write_text("".join(lines))
    for stage in ("2_mseed2sac", "3_convert_phases"):
        rerun(config, stage)
    assert caplog.text.count("0 events (re)computed; 10 kept unchanged") == 2

    p_line = _phase_line(lines, EVENT, "ST05", "P")
    second = int(lines[p_line][29:34])                 # P seconds x 100, columns 30-34
    lines[p_line] = f"{lines[p_line][:29]}{second + 10:5d}{lines[p_line][34:]}"   # 0.1 s later
    del lines[_phase_line(lines, EVENT, "ST07", "S")]  # moves the file:line of later picks
    phase_file.write_text("".join(lines))
    picks_before = read_table(config.workdir / "picks.csv", "picks")
    polarities_before = rows_by_event(config.workdir / "polarities.csv")
    caplog.clear()
    for stage in ("2_mseed2sac", "3_convert_phases", "4_polarity_predict"):
        rerun(config, stage)
    # stage 2 rewrites the event's traces (the P pick of ST05, no S pick of ST07), stage 3 its
    # windows, stage 4 classifies the event again: its P windows changed
    assert "1 events (re)computed (1: input picks changed); 9 kept unchanged" in caplog.text
    assert f"1 events (re)computed (1: input picks, store/traces/{EVENT}.h5 changed); " \
           "9 kept unchanged" in caplog.text
    assert "1 events (re)computed (1: input P windows, picks changed); 9 kept unchanged" \
        in caplog.text

    picks_after = read_table(config.workdir / "picks.csv", "picks")
    later = [table.loc[table["event_id"] == "60000009", "source"].tolist()
             for table in (picks_before, picks_after)]
    assert later[0] != later[1]                      # moved lines, yet that event is kept
    old, new = (table.drop(columns="source").astype(str).apply(",".join, axis=1).tolist()
                for table in (picks_before, picks_after))
    assert sorted(set(old) - set(new)) == sorted(
        line for line in old if line.startswith(f"{EVENT},FF,ST05,,HHZ,P,")
        or line.startswith(f"{EVENT},FF,ST07,,") and ",S," in line)
    assert [line for line in new if line not in old] == \
        [line for line in new if line.startswith(f"{EVENT},FF,ST05,,HHZ,P,")]
    polarities_after = rows_by_event(config.workdir / "polarities.csv")
    assert {k: v for k, v in polarities_after.items() if k != EVENT} == \
        {k: v for k, v in polarities_before.items() if k != EVENT}
    window, _ = store_row(config.workdir / "store" / "windows" / f"{EVENT}.h5", "P",
                          "FF.ST05..HHZ")
    trace, _ = store_row(config.workdir / "store" / "traces" / f"{EVENT}.h5", "traces",
                         "FF.ST05..HHZ")
    assert window["pick_s"] == pytest.approx(trace["p_s"])


def _give_failures(config, event_id: str, station: str) -> None:
    """Make ``station`` of ``event_id`` fail in stages 3 and 4 (its traces are gone)."""
    drop_station(config.workdir / "store" / "traces" / f"{event_id}.h5", station)
    rerun(config, "3_convert_phases")
    rerun(config, "4_polarity_predict")


def test_events_overwrite_keeps_every_other_events_rows(config):
    _give_failures(config, OTHER, "ST04")
    tables = [config.workdir / name for name in ("events.csv", "picks.csv", "polarities.csv",
                                                  "logs/failures.csv")]
    before = {path.name: rows_by_event(path) for path in tables}
    assert len(before["failures.csv"][OTHER]) == 2      # one row from stage 3, one from stage 4
    rerun(config, "3_convert_phases", events={EVENT}, overwrite=True)
    rerun(config, "4_polarity_predict", events={EVENT}, overwrite=True)
    for path in tables:
        after = rows_by_event(path)
        assert {k: v for k, v in after.items() if k != EVENT} == \
            {k: v for k, v in before[path.name].items() if k != EVENT}, path.name
        if path.name != "polarities.csv":
            assert after.get(EVENT) == before[path.name].get(EVENT), path.name
    assert_same_calls(before["polarities.csv"], rows_by_event(config.workdir / "polarities.csv"),
                      EVENT)


def assert_same_calls(before: dict[str, list[str]], after: dict[str, list[str]], event: str):
    """``event``'s polarities.csv rows agree: every field equal but the probabilities, equal to
    1e-6 (on some CPUs the network's float32 sums round differently, in the last bits, when a
    trace is classified in another batch: here the event alone instead of with the others)."""
    header = before[""][0].split(",")
    probabilities = [header.index(c) for c in ("prob_up", "prob_down", "prob_undecided")]
    old, new = ([line.split(",") for line in rows[event]] for rows in (before, after))
    assert len(old) == len(new)
    for a, b in zip(old, new):
        assert [v for i, v in enumerate(a) if i not in probabilities] == \
            [v for i, v in enumerate(b) if i not in probabilities]
        assert [float(a[i]) for i in probabilities] == \
            pytest.approx([float(b[i]) for i in probabilities], abs=1e-6)


def test_two_concurrent_runs_on_different_events_keep_both(config, repo_dir, tmp_path):
    events, station = ["60000002", "60000009"], "ST06"
    before = read_table(config.workdir / "polarities.csv", "polarities")
    expected = before[before["event_id"].isin(events) & (before["station"] != station)]
    assert len(expected) == len(before[before["event_id"].isin(events)]) - 2
    for event_id in events:
        drop_station(config.workdir / "store" / "windows" / f"{event_id}.h5", station)
    (config.workdir / "polarities.csv").unlink()
    (config.workdir / "logs" / "failures.csv").unlink()
    (config.workdir / ".focalflow" / "4_polarity_predict.sqlite").unlink()
    config_path = tmp_path / "config.yaml"
    config_path.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    runs = [subprocess.Popen([sys.executable, str(repo_dir / "4_polarity_predict.py"), "--config",
                              str(config_path), "--events", event_id], cwd=repo_dir,
                             stderr=subprocess.PIPE, text=True) for event_id in events]
    for process in runs:
        _, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr[-3000:]
    polarities = read_table(config.workdir / "polarities.csv", "polarities")
    assert polarities[["event_id", "station"]].values.tolist() == \
        expected[["event_id", "station"]].values.tolist()
    failures = read_table(config.workdir / "logs" / "failures.csv", "failures")
    assert sorted(failures["event_id"]) == events and set(failures["station"]) == {f"FF.{station}"}


def test_a_missing_model_or_input_file_is_an_error_even_when_nothing_changed(config, repo_dir,
                                                                          tmp_path):
    weights = tmp_path / "my.weights.h5"
    shutil.copy(repo_dir / "models" / "weights" / "focalflow_polarity_v1.weights.h5", weights)
    config.polarity.weights = weights
    rerun(config, "4_polarity_predict")
    weights.unlink()
    with pytest.raises(FocalflowError, match="my.weights.h5"):
        rerun(config, "4_polarity_predict")

    config.polarity.weights = None
    reversals = tmp_path / "reversals.csv"
    shutil.copy(config.stations.reversals_file, reversals)
    config.stations.reversals_file = reversals
    rerun(config, "4_polarity_predict")
    reversals.unlink()
    with pytest.raises(FocalflowError, match="reversals.csv: reversal table not found"):
        rerun(config, "4_polarity_predict")
