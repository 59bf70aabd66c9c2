"""Stage 3 on a small hand-made working directory: tables, P/S windows, failures, reruns."""
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
from focalflow.workdir import WorkDir

ORIGIN = UTCDateTime("2021-03-02T10:00:00")


def _write_sac(path, station, channel, start_s=-10.0, npts=4001, delta=0.01):
    """A SAC file like stage 2 writes: reference = origin, b seconds after it, t1 = P."""
    data = np.sin(np.arange(npts) * 0.05).astype(np.float32) + np.arange(npts, dtype=np.float32)
    sac = SACTrace(data=data, delta=delta, knetwk="FF", kstnm=station, kcmpnm=channel,
                   stla=35.0, stlo=-117.0, evla=35.1, evlo=-117.1, evdp=8.0, mag=2.5, cmpaz=0.0,
                   cmpinc=0.0, kt1="P")
    sac.reftime = ORIGIN       # set first: setting it later shifts b and the markers
    sac.b, sac.o, sac.iztype, sac.t1 = start_s, 0.0, "io", 5.0
    path.parent.mkdir(parents=True, exist_ok=True)
    sac.write(str(path))


def _pick(event_id, station, phase, seconds, channel="HHZ", polarity="", onset="i", weight=0):
    return {"event_id": event_id, "network": "FF", "station": station, "location": "",
            "channel": channel, "phase": phase, "time": str(ORIGIN + seconds), "onset": onset,
            "polarity": polarity, "weight": weight, "source": ""}


@pytest.fixture
def case(tmp_path):
    """Two events; the SAC folder of event 1 has stations A, B, C, E, F (F garbage)."""
    work = tmp_path / "work"
    sac_dir = WorkDir(work).event_sac_dir("1")
    for station in ("A", "B", "C", "E"):
        for channel in ("HHZ", "HHN", "HHE"):
            _write_sac(sac_dir / f"FF.{station}..{channel}.sac", station, channel)
    (sac_dir / "FF.F..HHZ.sac").write_bytes(b"garbage, not SAC")
    events = pd.DataFrame([
        {"event_id": "1", "time": str(ORIGIN), "latitude": 35.1, "longitude": -117.1, "depth": 8.0,
         "horz_uncert_km": 0.3, "vert_uncert_km": 0.5, "mag": 2.5},
        {"event_id": "2", "time": str(ORIGIN + 3600), "latitude": 35.1, "longitude": -117.1,
         "depth": 8.0, "horz_uncert_km": 0.3, "vert_uncert_km": 0.5, "mag": 1.5}],
        columns=COLUMNS["events"])
    picks = pd.DataFrame([
        _pick("1", "A", "P", 5.0, polarity="U"), _pick("1", "A", "S", 8.5, channel="HHE", onset="e"),
        _pick("1", "B", "P", 6.0, polarity="D"),                # no S pick: predicted S window
        _pick("1", "C", "P", 35.0),                             # after the waveform's end (30 s)
        _pick("1", "D", "P", 5.0),                              # no SAC file at all
        _pick("1", "E", "S", 9.0, channel="HHN"),               # S only: no P window
        _pick("1", "F", "P", 5.0),                              # unreadable SAC file
        _pick("2", "A", "P", 3605.0)], columns=COLUMNS["picks"])  # event 2 has no sac folder
    phase_file = tmp_path / "phases.arc"
    write_hypoinverse(events, picks, phase_file)
    lines = phase_file.read_text().splitlines()
    lines.insert(3, lines[1][:29] + "xx.x" + lines[1][33:])     # a malformed phase line 4
    phase_file.write_text("\n".join(lines) + "\n")
    config = config_from_dict({"workdir": str(work), "catalog": {"phase_file": str(phase_file)},
                               "phases": {"p_before_s": 1.0, "p_after_s": 1.5, "s_before_s": 2.0,
                                          "s_after_s": 3.0, "vp_vs": 1.75}}, base_dir=tmp_path)
    return config, WorkDir(work)


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and "logs" not in p.parts}


def test_tables_windows_and_failures(case):
    config, workdir = case
    summary = run_stage("convert_phases", run, config)
    events, picks = read_table(workdir.events_csv, "events"), read_table(workdir.picks_csv, "picks")
    assert events["event_id"].tolist() == ["1", "2"]
    assert len(picks) == 8 and picks.loc[0, "polarity"] == "U"
    assert summary["P_windows"] == 6 and summary["S_windows"] == 9 and summary["S_predicted"] == 3

    cut = workdir.event_cut_dir("1")
    assert sorted(p.name for p in cut.iterdir()) == sorted(
        [f"FF.A..{c}.{ph}.sac" for c in ("HHZ", "HHN", "HHE") for ph in "PS"]
        + [f"FF.B..{c}.{ph}.sac" for c in ("HHZ", "HHN", "HHE") for ph in "PS"]
        + [f"FF.E..{c}.S.sac" for c in ("HHZ", "HHN", "HHE")])

    window = SACTrace.read(str(cut / "FF.A..HHZ.P.sac"))
    assert window.npts == 251 and window.ka.strip() == "P"
    assert window.reftime == ORIGIN and window.a == pytest.approx(5.0, abs=1e-4)
    assert window.b == pytest.approx(4.0, abs=1e-4) and window.e == pytest.approx(6.5, abs=1e-4)
    assert window.t1 == pytest.approx(5.0) and window.kstnm.strip() == "A" and window.evdp == 8.0
    original = SACTrace.read(str(workdir.event_sac_dir("1") / "FF.A..HHZ.sac"))
    np.testing.assert_array_equal(window.data, original.data[1400:1651])

    s_window = SACTrace.read(str(cut / "FF.A..HHN.S.sac"))
    assert s_window.npts == 501 and s_window.ka.strip() == "S" and s_window.a == pytest.approx(8.5, abs=1e-4)
    assert s_window.kuser0 is None
    predicted = SACTrace.read(str(cut / "FF.B..HHE.S.sac"))
    assert predicted.kuser0.strip() == "predS" and predicted.a == pytest.approx(1.75 * 6.0, abs=1e-4)

    failures = read_table(workdir.failures_csv, "failures")
    reasons = {(row.event_id, row.station): row.reason for row in failures.itertuples()}
    assert "phases.arc, line 4: bad phase line" in reasons[("", "")]
    assert "is outside the waveform" in reasons[("1", "FF.C")]
    assert "no SAC file" in reasons[("1", "FF.D")]
    assert "FF.F..HHZ.sac: not a readable SAC file" in reasons[("1", "FF.F")]
    assert "no SAC folder" in reasons[("2", "")]
    assert set(failures["stage"]) == {"convert_phases"} and summary["skipped"] == len(failures) == 6


def test_rerun_is_identical_and_overwrite_redoes(case):
    config, workdir = case
    run_stage("convert_phases", run, config)
    first = _digest(workdir.root)
    again = run_stage("convert_phases", run, config)
    assert again["kept_existing"] == 15 and again["P_windows"] == again["S_windows"] == 0
    assert _digest(workdir.root) == first
    stale = workdir.event_cut_dir("1") / "FF.Z..HHZ.P.sac"
    stale.write_bytes(b"left over from an old run")
    redone = run_stage("convert_phases", run, config, overwrite=True)
    assert redone["P_windows"] == 6 and redone["kept_existing"] == 0
    assert not stale.exists() and _digest(workdir.root) == first


def test_events_selection_cuts_only_those(case):
    config, workdir = case
    summary = run_stage("convert_phases", run, config, events={"2", "99"})
    assert summary["P_windows"] == 0 and not workdir.event_cut_dir("1").exists()
    failures = read_table(workdir.failures_csv, "failures")
    assert failures.set_index("event_id").loc["99", "reason"] == "event given with --events is not in the catalog"
    assert len(read_table(workdir.events_csv, "events")) == 2      # tables stay whole


def test_window_that_overhangs_the_trace_start_is_a_failure(case):
    config, workdir = case
    config.phases.p_before_s = 20.0            # P at 5 s, trace from -10 s
    run_stage("convert_phases", run, config)
    failures = read_table(workdir.failures_csv, "failures")
    assert failures["reason"].str.contains("too close to the edge of the waveform").sum() == 2   # stations A and B
    assert not list(workdir.event_cut_dir("1").glob("*.P.sac"))


def test_no_predicted_s_when_switched_off(case):
    config, workdir = case
    config.phases.predict_s_from_p = False
    summary = run_stage("convert_phases", run, config)
    assert summary["S_predicted"] == 0 and summary["S_windows"] == 6
