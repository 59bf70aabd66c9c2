"""Events, picks and stations from SAC headers: the ToC2ME folders and hand-made files."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from obspy import UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.errors import InputError
from focalflow.formats.sac_headers import (SacHeaderOptions, read_sac_folder, read_sac_header,
                                           sac_files)

ORIGIN = UTCDateTime("2021-03-01T10:00:00.250")


def sac_file(path, station="ST01", channel="HHZ", origin=ORIGIN, **headers):
    """A 20 s, 100 Hz SAC file whose reference time is the origin (o = 0)."""
    sac = SACTrace(data=np.zeros(2000, dtype=np.float32), delta=0.01, b=-2.0, knetwk="FF",
                   kstnm=station, khole="", kcmpnm=channel, stla=35.0, stlo=-117.0, stel=850.0,
                   evla=35.3, evlo=-117.4, evdp=8.5, mag=2.1)
    sac.reftime = origin
    sac.o = 0.0
    for name, value in headers.items():
        setattr(sac, name, value)
    path.parent.mkdir(parents=True, exist_ok=True)
    sac.write(str(path))
    return path


def test_toc2me_folders_give_three_events_and_the_analyst_picks_only(shared_dir):
    root = shared_dir / "data/toc2me/waveforms"
    events, picks, stations, problems = read_sac_folder(root)
    assert problems == []
    assert events["event_id"].tolist() == ["20161104064824.680", "20161125051408.940",
                                           "20161128051644.670"]
    first = events.iloc[0]
    assert (first["time"], first["latitude"], first["longitude"], first["depth"], first["mag"]) \
        == ("2016-11-04T06:48:24.680000Z", 54.34733, -117.239845, 3.201, -0.92)
    counts = picks.groupby(["event_id", "phase"]).size().to_dict()
    assert counts[("20161104064824.680", "P")] == 52 and counts[("20161128051644.670", "S")] == 51
    # the P time is t1 (an analyst pick) and comes from the vertical; t3 (p_taup) is never a pick
    assert set(picks["source"].str.split(":").str[1]) == {"t1", "t2"}
    assert (picks["channel"] == "DHZ").all() and (picks["location"] == "00").all()
    one = picks[(picks["station"] == "1107") & (picks["phase"] == "P")].iloc[0]
    assert UTCDateTime(one["time"]) - UTCDateTime(first["time"]) == pytest.approx(1.31, abs=1e-5)
    assert len(stations) == 207 and (stations["sampling_rate"] == 500.0).all()

    taup = SacHeaderOptions(p_marker="t3", s_marker="t2", theoretical=True)
    _, theoretical, _, _ = read_sac_folder(root, taup)
    assert set(theoretical.loc[theoretical["phase"] == "P", "source"].str.split(":").str[1]) == {"t3"}
    assert len(theoretical[theoretical["phase"] == "P"]) == 3 * 69 - 52 - 62 - 61


def test_pick_codes_event_ids_and_units(tmp_path, caplog):
    flat = tmp_path / "flat"
    sac_file(flat / "a.sac", a=1.5, ka="IPU0", t2=3.0, kt2="S", user1=0.8)
    sac_file(flat / "b.sac", channel="HHN", a=1.5, ka="IPU0")
    sac_file(flat / "odd_name", station="ST02", t0=1.9, kt0="P_taup", t5=2.0, kt5="EPD1")
    later = ORIGIN + 3600
    sac_file(flat / "c.sac", origin=later, evdp=3201.0, t1=1.0, kt1="P", kevnm="quarry-7")
    (flat / "notes.txt").write_text("not a SAC file")
    with caplog.at_level(logging.WARNING):
        events, picks, stations, problems = read_sac_folder(
            flat, SacHeaderOptions(vert_uncert_header="user1"))
    assert problems == []
    assert events["event_id"].tolist() == ["20210301100000.250", "quarry-7"]
    assert events["vert_uncert_km"].iloc[0] == pytest.approx(0.8)
    assert events["depth"].tolist() == [8.5, 3.201]
    assert "event quarry-7: SAC evdp 3201 cannot be km" in caplog.text
    rows = picks[["station", "channel", "phase", "onset", "polarity", "weight"]].values.tolist()
    assert rows == [["ST01", "HHZ", "P", "i", "U", 0], ["ST01", "HHZ", "S", "", "", 0],
                    ["ST02", "HHZ", "P", "e", "D", 1], ["ST01", "HHZ", "P", "", "", 0]]
    st01 = stations[stations["station"] == "ST01"]
    assert st01["elevation"].tolist() == [850.0, 850.0] and len(stations) == 3


def test_a_named_marker_without_label_and_an_event_without_location(tmp_path):
    sac_file(tmp_path / "ev1" / "x.sac", t4=1.25)
    sac_file(tmp_path / "ev2" / "y.sac", origin=ORIGIN + 60, evla=None, t1=1.0, kt1="P")
    events, picks, _, problems = read_sac_folder(tmp_path)
    assert events["event_id"].tolist() == ["ev1"] and picks.empty  # t4 unlabelled: not a pick
    assert "header evla unset in all 1 file(s); event skipped" in str(problems[0])
    _, named, _, _ = read_sac_folder(tmp_path, SacHeaderOptions(p_marker="t4"))
    assert named["source"].tolist() == ["x.sac:t4"]


def test_bad_sac_inputs_name_the_file(tmp_path):
    garbage = tmp_path / "garbage.sac"
    garbage.write_bytes(b"\x00" * 100)
    with pytest.raises(InputError, match="garbage.sac: not a readable SAC file"):
        read_sac_header(garbage)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no SAC file in this folder"):
        sac_files(tmp_path / "empty")
    with pytest.raises(InputError, match="missing: folder of SAC files not found"):
        read_sac_folder(tmp_path / "missing")
