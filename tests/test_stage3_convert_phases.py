"""Stage 3 on a small hand-made working directory: tables, P/S windows in the waveform store (and
their SAC export), failures, reruns."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.formats.hypoinverse import write_hypoinverse
from focalflow.stages.convert_phases import run
from focalflow.tables import COLUMNS, read_table
from focalflow.waveforms.store import WindowSet, read_sets, write_sets
from focalflow.workdir import WorkDir

ORIGIN = UTCDateTime("2021-03-02T10:00:00")


TRACE = np.sin(np.arange(4001) * 0.05).astype(np.float32) + np.arange(4001, dtype=np.float32)


def _write_traces(workdir, stations, start_s=-10.0, rate_hz=100.0):
    """Event 1's traces file as stage 2 writes it: times in s after the origin, P at 5 s."""
    rows = [{"network": "FF", "station": station, "location": "", "channel": channel,
             "rate_hz": rate_hz, "start_s": start_s, "p_s": 5.0, "station_lat": 35.0,
             "station_lon": -117.0, "station_elev_m": 0.0, "station_depth_m": 0.0,
             "cmpaz": 0.0, "cmpinc": 0.0} for station in stations for channel in ("HHZ", "HHN", "HHE")]
    write_sets(workdir.event_traces_file("1"), [WindowSet.from_rows("traces", rows,
                                                                     [TRACE] * len(rows))],
               {"event_id": "1", "origin": str(ORIGIN), "latitude": 35.1, "longitude": -117.1,
                "depth_km": 8.0, "mag": 2.5})


def _pick(event_id, station, phase, seconds, channel="HHZ", polarity="", onset="i", weight=0):
    return {"event_id": event_id, "network": "FF", "station": station, "location": "",
            "channel": channel, "phase": phase, "time": str(ORIGIN + seconds), "onset": onset,
            "polarity": polarity, "weight": weight, "source": ""}


@pytest.fixture
def case(tmp_path):
    """Three events: the traces of event 1 have stations A, B, C, E; event 2 has no traces
    file, event 3 a garbage one."""
    work = tmp_path / "work"
    _write_traces(WorkDir(work), ("A", "B", "C", "E"))
    WorkDir(work).event_traces_file("3").write_bytes(b"garbage, not HDF5")
    events = pd.DataFrame([
        {"event_id": "1", "time": str(ORIGIN), "latitude": 35.1, "longitude": -117.1, "depth": 8.0,
         "horz_uncert_km": 0.3, "vert_uncert_km": 0.5, "mag": 2.5},
        {"event_id": "2", "time": str(ORIGIN + 3600), "latitude": 35.1, "longitude": -117.1,
         "depth": 8.0, "horz_uncert_km": 0.3, "vert_uncert_km": 0.5, "mag": 1.5},
        {"event_id": "3", "time": str(ORIGIN + 7200), "latitude": 35.1, "longitude": -117.1,
         "depth": 8.0, "horz_uncert_km": 0.3, "vert_uncert_km": 0.5, "mag": 1.0}],
        columns=COLUMNS["events"])
    picks = pd.DataFrame([
        _pick("1", "A", "P", 5.0, polarity="U"), _pick("1", "A", "S", 8.5, channel="HHE", onset="e"),
        _pick("1", "B", "P", 6.0, polarity="D"),                # no S pick: predicted S window
        _pick("1", "C", "P", 35.0),                             # after the waveform's end (30 s)
        _pick("1", "D", "P", 5.0),                              # no trace at all
        _pick("1", "E", "S", 9.0, channel="HHN"),               # S only: no P window
        _pick("2", "A", "P", 3605.0),                           # event 2 has no traces file
        _pick("3", "A", "P", 7205.0)], columns=COLUMNS["picks"])  # event 3's is unreadable
    phase_file = tmp_path / "phases.arc"
    write_hypoinverse(events, picks, phase_file)
    lines = phase_file.read_text().splitlines()
    lines.insert(3, lines[1][:29] + "xx.x" + lines[1][33:])     # a malformed phase line 4
    phase_file.write_text("\n".join(lines) + "\n")
    config = config_from_dict({"workdir": str(work), "catalog": {"phase_file": str(phase_file)},
                               "phases": {"p_before_s": 1.0, "p_after_s": 1.5, "s_before_s": 2.0,
                                          "s_after_s": 3.0, "vp_vs": 1.75},
                               "stations": {"reversals_file": None},
                               "sac": {"write_files": True}}, base_dir=tmp_path)
    return config, WorkDir(work)


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and "logs" not in p.parts}


def test_tables_windows_and_failures(case):
    config, workdir = case
    summary = run_stage("convert_phases", run, config)
    events, picks = read_table(workdir.events_csv, "events"), read_table(workdir.picks_csv, "picks")
    assert events["event_id"].tolist() == ["1", "2", "3"]
    assert len(picks) == 8 and picks.loc[0, "polarity"] == "U"
    assert summary["P_windows"] == 6 and summary["S_windows"] == 9 and summary["S_predicted"] == 3

    windows = read_sets(workdir.event_windows_file("1"))
    codes = {phase: sorted(".".join(w.codes(i)) for i in range(len(w)))
             for phase, w in windows.items()}
    assert codes == {"P": [f"FF.{s}..{c}" for s in "AB" for c in ("HHE", "HHN", "HHZ")],
                     "S": [f"FF.{s}..{c}" for s in "ABE" for c in ("HHE", "HHN", "HHZ")]}
    p = windows["P"]
    a_z = next(i for i in range(len(p)) if p.codes(i) == ("FF", "A", "", "HHZ"))
    assert p.table[a_z]["npts"] == 251 and p.table[a_z]["pick_s"] == pytest.approx(5.0)
    assert p.table[a_z]["start_s"] == pytest.approx(4.0) and not p.table[a_z]["reversed"]
    np.testing.assert_array_equal(p.samples(a_z), TRACE[1400:1651])
    s_windows = windows["S"]
    predicted = {s_windows.codes(i)[1] for i in range(len(s_windows))
                 if s_windows.table[i]["predicted"]}
    assert predicted == {"B"}

    cut = workdir.event_cut_dir("1")  # the SAC export (sac.write_files)
    assert sorted(path.name for path in cut.iterdir()) == sorted(
        [f"FF.A..{c}.{ph}.sac" for c in ("HHZ", "HHN", "HHE") for ph in "PS"]
        + [f"FF.B..{c}.{ph}.sac" for c in ("HHZ", "HHN", "HHE") for ph in "PS"]
        + [f"FF.E..{c}.S.sac" for c in ("HHZ", "HHN", "HHE")])
    window = SACTrace.read(str(cut / "FF.A..HHZ.P.sac"))
    assert window.npts == 251 and window.ka.strip() == "P"
    assert window.reftime == ORIGIN and window.a == pytest.approx(5.0, abs=1e-4)
    assert window.b == pytest.approx(4.0, abs=1e-4) and window.e == pytest.approx(6.5, abs=1e-4)
    assert window.t1 == pytest.approx(5.0) and window.kstnm.strip() == "A" and window.evdp == 8.0
    np.testing.assert_array_equal(window.data, TRACE[1400:1651])
    s_window = SACTrace.read(str(cut / "FF.A..HHN.S.sac"))
    assert s_window.npts == 501 and s_window.ka.strip() == "S" and s_window.a == pytest.approx(8.5, abs=1e-4)
    assert s_window.kuser0 is None
    predicted = SACTrace.read(str(cut / "FF.B..HHE.S.sac"))
    assert predicted.kuser0.strip() == "predS" and predicted.a == pytest.approx(1.75 * 6.0, abs=1e-4)

    failures = read_table(workdir.failures_csv, "failures")
    reasons = {(row.event_id, row.station): row.reason for row in failures.itertuples()}
    assert "phases.arc, line 4: bad phase line" in reasons[("", "")]
    assert "is outside the waveform" in reasons[("1", "FF.C")]
    assert "no trace in" in reasons[("1", "FF.D")]
    assert "store/traces/2.h5: waveform store file not found" in reasons[("2", "")]
    assert "store/traces/3.h5: not a readable HDF5 file" in reasons[("3", "")]
    assert set(failures["stage"]) == {"convert_phases"} and summary["skipped"] == len(failures) == 6


def test_rerun_is_identical_and_overwrite_redoes(case):
    config, workdir = case
    run_stage("convert_phases", run, config)
    first = _digest(workdir.root)
    again = run_stage("convert_phases", run, config)
    assert again["kept_existing"] == 3 and again["P_windows"] == again["S_windows"] == 0
    assert _digest(workdir.root) == first
    stale = workdir.event_cut_dir("1") / "FF.Z..HHZ.P.sac"
    stale.write_bytes(b"left over from an old run")
    redone = run_stage("convert_phases", run, config, overwrite=True)
    assert redone["P_windows"] == 6 and redone["kept_existing"] == 0
    assert not stale.exists() and _digest(workdir.root) == first


def test_events_selection_cuts_only_those(case):
    config, workdir = case
    summary = run_stage("convert_phases", run, config, events={"2", "99"})
    assert summary["P_windows"] == 0 and not workdir.event_windows_file("1").exists()
    failures = read_table(workdir.failures_csv, "failures")
    assert failures.set_index("event_id").loc["99", "reason"] == "event given with --events is not in the catalog"
    assert len(read_table(workdir.events_csv, "events")) == 3      # tables stay whole


def test_window_that_overhangs_the_trace_start_is_a_failure(case):
    config, workdir = case
    config.phases.p_before_s = 20.0            # P at 5 s, trace from -10 s
    run_stage("convert_phases", run, config)
    failures = read_table(workdir.failures_csv, "failures")
    assert failures["reason"].str.contains("too close to the edge of the waveform").sum() == 2   # stations A and B
    assert len(read_sets(workdir.event_windows_file("1"))["P"]) == 0


def test_no_predicted_s_when_switched_off(case):
    config, workdir = case
    config.phases.predict_s_from_p = False
    summary = run_stage("convert_phases", run, config)
    assert summary["S_predicted"] == 0 and summary["S_windows"] == 6
