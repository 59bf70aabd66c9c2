"""Stage 2 end to end: miniSEED from stage 1 to the waveform store (and the SAC export), reruns,
and a corpus of bad inputs."""
from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
from obspy import Stream, read
from obspy.io.sac import SACTrace

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.stages import get_waveforms, mseed2sac
from focalflow.tables import read_table
from focalflow.waveforms.store import WindowSet, read_sets
from waveform_case import ORIGINS, p_arrival, sds_config


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    """A working directory after stage 1 (SDS source) for both events of the small network."""
    root = tmp_path_factory.mktemp("stage2")
    settings = sds_config(root)
    run_stage("1_get_waveforms", get_waveforms.run, config_from_dict(settings))
    return settings


@pytest.fixture
def config(fetched, tmp_path):
    """A private copy of the stage 1 working directory."""
    settings = {**fetched, "workdir": str(tmp_path / "work"), "sac": {"write_files": True}}
    shutil.copytree(fetched["workdir"], settings["workdir"])
    return config_from_dict(settings)


def stage2(config, **kwargs) -> dict:
    return run_stage("2_mseed2sac", mseed2sac.run, config, **kwargs)


def sac_files(config, event_id: str) -> list[str]:
    return sorted(p.name for p in (config.workdir / "sac" / event_id).glob("*.sac"))


def failures(config) -> list[tuple[str, str, str]]:
    table = read_table(config.workdir / "logs" / "failures.csv", "failures")
    table = table[table["stage"] == "2_mseed2sac"]
    return list(zip(table["event_id"], table["station"], table["reason"]))


def stored(config, event_id: str) -> WindowSet:
    return read_sets(config.workdir / "store" / "traces" / f"{event_id}.h5")["traces"]


def contents(config) -> dict[str, bytes]:
    return {str(p.relative_to(config.workdir)): p.read_bytes()
            for folder in ("sac", "store") for p in sorted((config.workdir / folder).rglob("*"))
            if p.is_file()}


def test_sac_files_with_headers_rotated_to_zne(config):
    summary = stage2(config)
    assert summary["traces"] == 20 and summary["skipped"] == 0 and failures(config) == []
    assert sac_files(config, "ev1") == [
        "XX.MIXD.00.BHE.sac", "XX.MIXD.00.BHN.sac", "XX.MIXD.00.BHZ.sac",
        "XX.NEAR..HHE.sac", "XX.NEAR..HHN.sac", "XX.NEAR..HHZ.sac",
        "XX.TILT..HHE.sac", "XX.TILT..HHN.sac", "XX.TILT..HHZ.sac",   # rotated from HH1/HH2
        "XX.VERT..EHZ.sac"]
    origin = ORIGINS["ev1"]
    z = SACTrace.read(str(config.workdir / "sac" / "ev1" / "XX.TILT..HHZ.sac"))
    assert z.reftime == origin and z.iztype == "io" and z.o == 0.0
    assert z.b == pytest.approx(-20.0) and z.npts == 8001
    assert (z.stla, z.stlo, z.stel) == (pytest.approx(35.70), pytest.approx(-117.35), 500.0)
    assert (z.evla, z.evlo, z.evdp, z.mag) == (pytest.approx(35.70), pytest.approx(-117.50),
                                               8.0, 2.5)
    assert z.t1 == pytest.approx(p_arrival("TILT", origin) - origin, abs=1e-3)
    assert z.kt1.strip() == "P" and z.kt2.strip() == "S" and z.t2 > z.t1
    assert (z.cmpaz, z.cmpinc) == (0.0, 0.0)
    east = SACTrace.read(str(config.workdir / "sac" / "ev1" / "XX.TILT..HHE.sac"), headonly=True)
    assert (east.cmpaz, east.cmpinc, east.kcmpnm.strip()) == (90.0, 90.0, "HHE")
    # the rotated E is the combination of HH1 (azimuth 30) and HH2 (azimuth 120)
    raw = {tr.stats.channel: tr.data.astype(float) for tr in
           read(str(config.workdir / "mseed" / "ev1" / "XX.TILT..HH*.mseed"))}
    expected_east = raw["HH1"] * np.sin(np.radians(30)) + raw["HH2"] * np.sin(np.radians(120))
    np.testing.assert_allclose(SACTrace.read(str(config.workdir / "sac" / "ev1" /
                                                 "XX.TILT..HHE.sac")).data,
                               expected_east, rtol=1e-5, atol=1e-2)
    # onset on Z: the first motion after the P pick is up, as the synthetic data were made
    onset = int(round((z.t1 - z.b) * 100))
    assert z.data[onset + 1:onset + 10].mean() > 100
    # the store holds the same traces, samples and times (seconds after the origin)
    traces = stored(config, "ev1")
    assert sorted(".".join(traces.codes(i)) + ".sac" for i in range(len(traces))) == \
        sac_files(config, "ev1")
    row = [i for i in range(len(traces)) if traces.codes(i) == ("XX", "TILT", "", "HHZ")][0]
    np.testing.assert_array_equal(traces.samples(row), z.data)
    record = traces.table[row]
    assert record["start_s"] == pytest.approx(-20.0) and record["rate_hz"] == 100.0
    assert record["p_s"] == pytest.approx(z.t1, abs=1e-3) and record["s_s"] > record["p_s"]
    assert (record["station_lat"], record["cmpaz"], record["cmpinc"]) == \
        (pytest.approx(35.70), 0.0, 0.0)


def test_rerun_keeps_identical_files_and_overwrite_redoes_them(config):
    stage2(config)
    first = contents(config)
    mtimes = {p: p.stat().st_mtime_ns for folder in ("sac", "store")
              for p in (config.workdir / folder).rglob("*") if p.is_file()}
    assert stage2(config)["events_skipped"] == 2
    assert contents(config) == first
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert stage2(config, overwrite=True)["traces"] == 20
    assert contents(config) == first
    assert any(p.stat().st_mtime_ns != t for p, t in mtimes.items())


def test_changed_settings_or_inputs_redo_the_event(config):
    stage2(config)
    (config.workdir / "mseed" / "ev2" / "XX.NEAR..HHE.mseed").unlink()
    summary = stage2(config)
    assert summary["events"] == 1 and summary["events_skipped"] == 1
    assert "XX.NEAR..HHN.sac" not in sac_files(config, "ev2")  # no rotation without HHE
    assert "XX.NEAR..HHZ.sac" in sac_files(config, "ev2")
    config.sac.rotate_to_zne = False
    stage2(config)
    assert "XX.TILT..HH1.sac" in sac_files(config, "ev1")
    h1 = SACTrace.read(str(config.workdir / "sac" / "ev1" / "XX.TILT..HH1.sac"), headonly=True)
    assert (h1.cmpaz, h1.cmpinc) == (30.0, 90.0)


def test_bad_inputs_each_give_a_clear_failure_row(config):
    mseed = config.workdir / "mseed"
    good = (mseed / "ev1" / "XX.NEAR..HHE.mseed").read_bytes()
    (mseed / "ev1" / "XX.NEAR..HHE.mseed").write_bytes(good[: len(good) - 300])      # truncated
    (mseed / "ev1" / "XX.TILT..HH1.mseed").write_bytes(b"\x00garbage\xff" * 300)      # garbage
    (mseed / "ev1" / "XX.MIXD.00.BHN.mseed").write_bytes(b"")                          # empty
    (config.workdir / "stations" / "XX.VERT.xml").unlink()                           # no metadata
    (mseed / "ev2" / "XX.TILT..HH2.mseed").unlink()                                  # missing comp.
    gappy = read(str(mseed / "ev2" / "XX.NEAR..HHZ.mseed"))
    t = gappy[0].stats.starttime
    Stream([gappy[0].slice(t, t + 30), gappy[0].slice(t + 35, t + 80)]).write(
        str(mseed / "ev2" / "XX.NEAR..HHZ.mseed"), format="MSEED")                   # 5 s gap
    (mseed / "ev2" / "XX.BAD.mseed").write_bytes(good)                               # bad name

    summary = stage2(config)
    rows = failures(config)
    reasons = {(event, station): [r for e, s, r in rows if (e, s) == (event, station)]
               for event, station, _ in rows}
    assert any("XX.NEAR..HHE.mseed: truncated or corrupt miniSEED" in r
               for r in reasons["ev1", "XX.NEAR"])
    assert any("XX.TILT..HH1.mseed: not valid miniSEED" in r for r in reasons["ev1", "XX.TILT"])
    assert any("XX.MIXD.00.BHN.mseed: empty file" in r for r in reasons["ev1", "XX.MIXD"])
    assert reasons["ev1", "XX.VERT"] == ["station without metadata (no XX.VERT.xml in "
                                         f"{config.workdir / 'stations'})"]
    assert reasons["ev2", "XX.VERT"] == reasons["ev1", "XX.VERT"]
    assert reasons["ev2", "XX.TILT"] == ["XX.TILT..HH?: missing horizontal component(s) HH2; "
                                         "wrote the vertical alone"]
    assert reasons["ev2", "XX.NEAR"] == [
        "XX.NEAR..HHZ: gap of 4.99 s is longer than sac.max_gap_s = 1 s",
        "XX.NEAR..HH?: no usable vertical component (have HHE, HHN); instrument skipped"]
    assert reasons["ev2", ""] == ["XX.BAD.mseed: file name is not NET.STA.LOC.CHA.mseed"]
    # the rest went on: verticals alone where the horizontals broke, other stations whole
    assert sac_files(config, "ev1") == ["XX.MIXD.00.BHZ.sac", "XX.NEAR..HHZ.sac",
                                        "XX.TILT..HHZ.sac"]
    assert sac_files(config, "ev2") == ["XX.MIXD.00.BHE.sac", "XX.MIXD.00.BHN.sac",
                                        "XX.MIXD.00.BHZ.sac", "XX.TILT..HHZ.sac"]
    assert summary["events"] == 2
    # a rerun skips the events and reports the same failures again
    assert stage2(config)["events_skipped"] == 2
    assert failures(config) == rows
    assert not list(config.workdir.rglob("*.part"))


def test_gap_rules_from_the_config(config):
    path = config.workdir / "mseed" / "ev1" / "XX.VERT..EHZ.mseed"
    whole = read(str(path))[0]
    t = whole.stats.starttime
    Stream([whole.slice(t, t + 30), whole.slice(t + 30.5, t + 80)]).write(str(path), format="MSEED")
    stage2(config, events={"ev1"})
    merged = SACTrace.read(str(config.workdir / "sac" / "ev1" / "XX.VERT..EHZ.sac"))
    assert merged.npts == whole.stats.npts and np.isfinite(merged.data).all()
    config.sac.gap_policy = "reject"
    stage2(config, events={"ev1"})
    assert "XX.VERT..EHZ.sac" not in sac_files(config, "ev1")
    assert [r for _, s, r in failures(config) if s == "XX.VERT"] == [
        "XX.VERT..EHZ: 1 gap(s) up to 0.49 s (sac.gap_policy is reject)"]


def test_demo_event_gets_picks_and_rotated_components(demo_config):
    from focalflow.catalog import read_event_catalog

    events, picks, _ = read_event_catalog(demo_config.catalog)
    event_id = events["event_id"].iloc[0]
    run_stage("1_get_waveforms", get_waveforms.run, demo_config, events={event_id})
    summary = stage2(demo_config, events={event_id})
    assert summary["skipped"] == 0 and summary["traces"] % 3 == 0
    assert not (demo_config.workdir / "sac").exists()  # SAC files only with sac.write_files
    p_picked = set(picks[(picks["event_id"] == event_id) & (picks["phase"] == "P")]["station"])
    traces = stored(demo_config, event_id)
    verticals = [i for i in range(len(traces)) if traces.codes(i)[3].endswith("Z")]
    assert len(verticals) == summary["traces"] // 3
    for i in verticals:
        row = traces.table[i]
        end_s = row["start_s"] + (row["npts"] - 1) / row["rate_hz"]
        assert np.isfinite(row["p_s"]) == (traces.codes(i)[1] in p_picked)
        if np.isfinite(row["p_s"]):
            assert row["start_s"] < row["p_s"] < end_s
    with h5py.File(demo_config.workdir / "store" / "traces" / f"{event_id}.h5") as handle:
        assert handle.attrs["depth_km"] == pytest.approx(float(events["depth"].iloc[0]))
