"""Stage-level promises of issue 13: inputs checked before expensive work, leftovers of killed
runs removed, nothing wrong accepted silently."""
from __future__ import annotations

import pandas as pd
import pytest

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.errors import InputError
from focalflow.tables import empty_table, write_table


def test_stage6_checks_velocity_models_before_measuring_sp_ratios(tmp_path, monkeypatch):
    """Issue 13, case 9: velocity-model errors came only after the S/P measurement had run."""
    from focalflow.mechanisms import amplitudes
    from focalflow.stages import run_hash

    model = tmp_path / "model.txt"
    model.write_text("0 5.5\n10 6.0\n5 6.3\n")
    config = config_from_dict({"workdir": str(tmp_path / "work"),
                               "hash": {"velocity_models": [str(model)], "use_sp_ratios": True}})
    work = config.workdir
    write_table(pd.DataFrame([{"event_id": "e1", "time": "2020-01-01T00:00:00.000000Z",
                               "latitude": 35.0, "longitude": -117.0, "depth": 8.0,
                               "horz_uncert_km": 0.5, "vert_uncert_km": 1.0, "mag": 2.0}]),
                work / "events.csv", "events")
    write_table(empty_table("stations"), work / "stations.csv", "stations")
    write_table(empty_table("polarities"), work / "polarities.csv", "polarities")
    (work / "cut" / "e1").mkdir(parents=True)
    measured = []
    monkeypatch.setattr(amplitudes, "measure_event_sp",
                        lambda *args, **kwargs: measured.append(args) or (None, []))
    with pytest.raises(InputError, match=r"model.txt, line 3: depth 5.0 km is above"):
        run_stage("6_run_hash", run_hash.run, config)
    assert measured == [] and not (work / "sp_ratios.csv").exists()


def test_leftovers_of_killed_runs_are_removed_at_the_next_start_and_live_ones_kept(tmp_path):
    """Issue 13, case 8: kill -9 left hidden .part files that reruns never removed."""
    import os
    import subprocess
    import sys
    import time

    from focalflow.workdir import HOST, STALE_AFTER_S, atomic_path, remove_stale_parts

    root = tmp_path / "work"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    killed = root / "cut" / "e1" / f".XX.A..HHZ.P.sac.{HOST}~{dead}.k2j4h5g6.part"
    elsewhere = root / "figures" / "e1" / ".waveforms.png.otherhost~12.abcdefgh.part"
    old_form = root / ".mechanisms.csv.x8y7z6w5.part"
    for path in (killed, elsewhere, old_form):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    stale = time.time() - STALE_AFTER_S - 60
    os.utime(old_form, (stale, stale))
    with atomic_path(root / "polarities.csv") as writing:  # a run writing right now
        writing.write_text("in progress")
        removed = remove_stale_parts(root)
        assert writing.exists()
    assert sorted(removed) == sorted([killed, old_form])
    assert elsewhere.exists(), "another machine's file is only removed once untouched for an hour"
    assert sorted(p.name for p in root.rglob("*.part")) == [elsewhere.name]


def test_every_stage_start_removes_leftovers(tmp_path, caplog):
    from focalflow.stages import convert_stations

    config = config_from_dict({"workdir": str(tmp_path / "work"),
                               "stations": {"reversals_file": None}})
    leftover = config.workdir / "figures" / "e1" / ".beachball.png.nowhere.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_text("half")
    import os
    os.utime(leftover, (0, 0))
    with caplog.at_level("INFO", logger="focalflow"), pytest.raises(InputError):
        run_stage("5_convert_stations", convert_stations.run, config)  # no stations: an error
    assert not leftover.exists()
    assert "removed 1 temporary file(s) left by an interrupted run" in caplog.text


def test_stage4_reads_the_reversal_table_before_loading_the_model(tmp_path, monkeypatch):
    from focalflow.stages import polarity_predict

    reversals = tmp_path / "reversals.csv"
    reversals.write_text("network,station,start,end\nXX,A,2020-06-01,2020-01-01\n")
    config = config_from_dict({"workdir": str(tmp_path / "work"),
                               "stations": {"reversals_file": str(reversals)}})
    write_table(pd.DataFrame([{"event_id": "e1", "network": "XX", "station": "A", "location": "",
                               "channel": "HHZ", "phase": "P",
                               "time": "2020-03-01T00:00:01.000000Z", "onset": "i",
                               "polarity": "U", "weight": 0, "source": "x:2"}]),
                config.workdir / "picks.csv", "picks")
    loaded = []
    monkeypatch.setattr(polarity_predict, "load_configured_model", lambda cfg: loaded.append(cfg))
    with pytest.raises(InputError, match=r"reversals.csv, line 2: the period ends .* before it starts"):
        run_stage("4_polarity_predict", polarity_predict.run, config)
    assert loaded == []


def _event_lines(lines: list[str], index: int) -> tuple[int, int]:
    """First and end line index of the ``index``-th event of a Hypoinverse file."""
    starts = [i for i, line in enumerate(lines) if line[:12].isdigit()] + [len(lines)]
    return starts[index], starts[index + 1]


def test_a_phase_file_repeating_an_event_gives_each_pick_once(demo_config, caplog):
    """Issue 13, case 3: repeated lines were written twice to picks.csv, and with
    hash.polarity_source analyst each polarity counted twice in HASH."""
    from focalflow.stages import convert_phases
    from focalflow.tables import read_table

    lines = demo_config.catalog.phase_file.read_text().splitlines()
    first, end = _event_lines(lines, 0)
    doubled = demo_config.workdir.parent / "doubled.arc"
    doubled.write_text("\n".join(lines[:end] + lines[first + 1:end] + lines[end:]) + "\n")
    run_stage("3_convert_phases", convert_phases.run, demo_config)
    clean = read_table(demo_config.workdir / "picks.csv", "picks")
    demo_config.catalog.phase_file = doubled
    with caplog.at_level("WARNING", logger="focalflow"):
        run_stage("3_convert_phases", convert_phases.run, demo_config)
    picks = read_table(demo_config.workdir / "picks.csv", "picks")
    event_id = clean["event_id"].iloc[0]
    assert f"event {event_id}: {end - first - 1} duplicate pick(s) merged" in caplog.text
    columns = [c for c in clean.columns if c != "source"]
    assert picks[columns].equals(clean[columns])


def test_conflicting_polarities_of_a_station_are_dropped_with_a_row(demo_config):
    from focalflow.stages import convert_phases
    from focalflow.tables import read_table

    lines = demo_config.catalog.phase_file.read_text().splitlines()
    first, _ = _event_lines(lines, 0)
    p_line = next(line for line in lines[first + 1:] if line[14] == "P" and line[15] in "UD")
    flipped = p_line[:15] + ("D" if p_line[15] == "U" else "U") + p_line[16:]
    changed = demo_config.workdir.parent / "conflict.arc"
    changed.write_text("\n".join(lines[:first + 1] + [flipped] + lines[first + 1:]) + "\n")
    demo_config.catalog.phase_file = changed
    run_stage("3_convert_phases", convert_phases.run, demo_config)
    picks = read_table(demo_config.workdir / "picks.csv", "picks")
    station = p_line[:5].strip()
    rows = picks[(picks["station"] == station) & (picks["phase"] == "P")
                 & (picks["event_id"] == picks["event_id"].iloc[0])]
    assert len(rows) == 1 and rows["polarity"].tolist() == [""]
    failures = read_table(demo_config.workdir / "logs" / "failures.csv", "failures")
    assert failures["reason"].str.contains(f"station {p_line[5:7]}.{station}: conflicting P "
                                           "polarities").sum() == 1


def test_stage3_completes_a_picks_table_that_a_killed_run_did_not_write(demo_config):
    """Found by tests/test_kill9.py: killed between events.csv and picks.csv, a rerun with
    --events wrote only the selected events' picks."""
    from focalflow.stages import convert_phases

    run_stage("3_convert_phases", convert_phases.run, demo_config)
    picks = demo_config.workdir / "picks.csv"
    whole = picks.read_bytes()
    picks.unlink()
    run_stage("3_convert_phases", convert_phases.run, demo_config, events={"60000001"})
    assert picks.read_bytes() == whole
