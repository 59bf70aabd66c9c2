"""PhaseNet and GaMMA pick tables, TauP velocity models and QuakeML as users have them."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from obspy import UTCDateTime
from obspy.core.event import (Arrival, Catalog, Event, Origin, Pick, QuantityError,
                              ResourceIdentifier, WaveformStreamID)

from focalflow.errors import InputError
from focalflow.formats.ml_picks import read_gamma_catalog, read_ml_picks
from focalflow.formats.quakeml import read_quakeml
from focalflow.formats.velocity import read_velocity_model

GAMMA_CATALOG = """\
time,magnitude,sigma_time,gamma_score,event_index,x(km),y(km),z(km),longitude,latitude,depth_km
2019-07-04T17:33:49.000,2.1,0.2,12.0,0,1.0,2.0,10.5,-117.50,35.70,10.5
2019-07-04T17:40:02.500,,0.3,8.0,1,1.0,2.0,7.2,-117.55,35.75,7.2
"""
GAMMA_PICKS = """\
station_id,phase_time,phase_type,phase_score,phase_amplitude,event_index
CI.CCC..HH,2019-07-04T17:33:52.100,P,0.93,1e-6,0
CI.CCC..HH,2019-07-04T17:33:54.200,S,0.61,2e-6,0
CI.WRV2..EH,2019-07-04T17:33:53.000,P,0.55,1e-6,-1
CI.SLA.00.HH,2019-07-04T17:40:05.000,P,0.80,1e-6,1
"""
PHASENET_PICKS = """\
station_id,begin_time,phase_index,phase_time,phase_score,phase_type,phase_polarity
CI.CCC..HH,2019-07-04T17:33:40.000,1210,2019-07-04T17:33:52.100,0.931,P,0.82
CI.WRV2..EH,2019-07-04T17:33:40.000,1300,2019-07-04T17:33:53.000,0.712,P,-0.40
CI.SLA.00.HH,2019-07-04T17:33:40.000,1301,2019-07-04T17:33:53.010,0.712,P,0.05
CI.SLA.00.HH,2019-07-04T17:40:00.000,500,2019-07-04T17:40:05.000,0.800,P,D
CI.SRT..HH,2019-07-04T18:40:00.000,500,2019-07-04T18:40:05.000,0.800,P,U
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gamma_catalog_and_associated_picks(tmp_path):
    events, problems = read_gamma_catalog(write(tmp_path, "catalog.csv", GAMMA_CATALOG))
    assert problems == [] and events["event_id"].tolist() == ["0", "1"]
    assert events["depth"].tolist() == [10.5, 7.2] and np.isnan(events["mag"].iloc[1])
    picks, problems = read_ml_picks(write(tmp_path, "picks.csv", GAMMA_PICKS), events, 60.0)
    assert problems == []  # the unassociated pick (event_index -1) is not a problem
    assert picks[["event_id", "network", "station", "location", "channel", "phase", "weight"]] \
        .values.tolist() == [["0", "CI", "CCC", "", "HH", "P", 0], ["0", "CI", "CCC", "", "HH", "S", 2],
                             ["1", "CI", "SLA", "00", "HH", "P", 1]]
    assert picks["source"].tolist() == ["picks.csv:2", "picks.csv:3", "picks.csv:5"]


def test_phasenet_picks_by_time_with_polarity(tmp_path):
    events, _ = read_gamma_catalog(write(tmp_path, "catalog.csv", GAMMA_CATALOG))
    picks, problems = read_ml_picks(write(tmp_path, "picks.csv", PHASENET_PICKS), events, 60.0)
    assert picks[["event_id", "station", "polarity"]].values.tolist() == [
        ["0", "CCC", "U"], ["0", "WRV2", "D"], ["0", "SLA", ""], ["1", "SLA", "D"]]
    assert [(p.line, p.reason) for p in problems] == [
        (6, "pick at 2019-07-04T18:40:05.000000Z follows no event origin within 60 s")]


@pytest.mark.parametrize("content, message", [
    ("", "picks.csv: file is empty"),
    ("station_id,time,phase\nCI.CCC..HH,2019-07-04T17:33:52,P\n",
     r"picks.csv, line 1: missing column\(s\) phase_time or timestamp"),
    ("station_id,phase_time,phase_type,phase_score\nCI.CCC..HH,yesterday,P,0.9\n",
     r"picks.csv: no readable pick \(.*picks.csv, line 2: not a time: 'yesterday'"),
    ("station_id,phase_time,phase_type,phase_score,phase_polarity\n"
     "CI.CCC..HH,2019-07-04T17:33:52,P,0.9,up\n", "line 2: phase_polarity 'up' is not U, D"),
    ("station_id,phase_time,phase_type,phase_score\nCI.CCC..HH,2019-07-04T17:33:52,Pn,1.5\n",
     "line 2: phase type 'Pn' is neither P nor S"),
])
def test_bad_pick_tables_name_the_file_and_line(tmp_path, content, message):
    events, _ = read_gamma_catalog(write(tmp_path, "catalog.csv", GAMMA_CATALOG))
    with pytest.raises(InputError, match=message):
        read_ml_picks(write(tmp_path, "picks.csv", content), events, 60.0)


def test_bad_gamma_catalogs(tmp_path):
    with pytest.raises(InputError, match=r"catalog.csv, line 1: missing column\(s\) depth_km or z\(km\)"):
        read_gamma_catalog(write(tmp_path, "catalog.csv", "time,latitude,longitude,event_index\n"))
    with pytest.raises(InputError, match="catalog.csv: no readable event.*line 2: latitude 135.7"):
        read_gamma_catalog(write(tmp_path, "catalog.csv", GAMMA_CATALOG.replace(",35.70,", ",135.7,")
                                 .replace(",35.75,", ",135.75,")))


TAUP_ND = """\
0.0   5.80 3.46 2.72
20.0  5.80 3.46 2.72
20.0  6.50 3.85 2.92
35.0  6.50 3.85 2.92
mantle
35.0  8.04 4.48 3.32
210.0 8.30 4.52 3.43
outer-core
2891.0 8.00 0.00 9.90
"""
TVEL = """\
ak135 - P
ak135 - S
  0.000      5.8000      3.4600      2.7200
 20.000      5.8000      3.4600      2.7200
 20.000      6.5000      3.8500      2.9200
"""


def test_taup_and_three_column_velocity_models(tmp_path):
    depth, vp = read_velocity_model(write(tmp_path, "model.nd", TAUP_ND))
    assert depth.tolist() == [0, 20, 20, 35, 35, 210, 2891] and vp[4] == 8.04
    labelled = TAUP_ND.replace("mantle", "my-moho  // a user's label")
    assert read_velocity_model(write(tmp_path, "labelled.nd", labelled))[1].tolist() == vp.tolist()
    depth, vp = read_velocity_model(write(tmp_path, "ak135.tvel", TVEL))
    assert depth.tolist() == [0, 20, 20] and vp.tolist() == [5.8, 5.8, 6.5]
    depth, vp = read_velocity_model(write(tmp_path, "three.txt", "# depth vp vs\n0 4.0 2.3\n5 6.0 3.5\n"))
    assert vp.tolist() == [4.0, 6.0]


@pytest.mark.parametrize("name, content, message", [
    ("model.nd", "0 5.8 3.4\nmantle\n35 eight 4.4\n", "model.nd, line 3: expected"),
    ("model.txt", "0 5.8\nmy-label\n10 6.0\n", "model.txt, line 2: expected"),  # labels: .nd only
    ("model.tvel", "ak135\n", "at least two depths"),
    ("empty.nd", "", "empty.nd: file is empty"),
])
def test_bad_taup_models_name_the_line(tmp_path, name, content, message):
    with pytest.raises(InputError, match=message):
        read_velocity_model(write(tmp_path, name, content))


def _pick(number: int, station: str, time: UTCDateTime, hint: str | None, polarity=None):
    return Pick(resource_id=ResourceIdentifier(f"smi:test/pick/{number}"), time=time,
                phase_hint=hint, polarity=polarity,
                waveform_id=WaveformStreamID("TX", station, "00", "HHZ"))


def test_quakeml_as_users_have_it(tmp_path, caplog):
    """Arrivals before their picks, a pick without arrival, a phase only on the arrival,
    Pg/Pn/Sg hints, a depth written in km, later phases skipped."""
    origin_time = UTCDateTime("2020-03-26T15:16:27.1")
    picks = [_pick(1, "PB01", origin_time + 2.0, "Pg", "positive"),
             _pick(2, "PB02", origin_time + 2.5, None, "negative"),
             _pick(3, "PB03", origin_time + 9.0, "Pn"),
             _pick(4, "PB01", origin_time + 3.4, "Sg"),
             _pick(5, "PB04", origin_time + 6.0, "PmP"),
             _pick(6, "PB05", origin_time + 2.8, "P", "undecidable")]
    origin = Origin(time=origin_time, latitude=31.6, longitude=-104.0, depth=6.1,
                    depth_errors=QuantityError(uncertainty=1.2))
    origin.arrivals = [Arrival(pick_id=picks[3].resource_id, phase="Sg", time_weight=0.5),
                       Arrival(pick_id=picks[1].resource_id, phase="P", time_weight=1.0),
                       Arrival(pick_id=picks[0].resource_id, phase="Pg", time_weight=0.25)]
    event = Event(resource_id=ResourceIdentifier("smi:texnet/event/texnet2020fsjx"),
                  origins=[origin], picks=picks[::-1])
    path = tmp_path / "texnet.xml"
    Catalog([event]).write(str(path), format="QUAKEML")
    with caplog.at_level(logging.WARNING):
        events, table, problems = read_quakeml(path)
    assert "event texnet2020fsjx has depth 6.1 m with an uncertainty of 1.2 m" in caplog.text
    table = table.sort_values("time")
    assert table[["station", "phase", "polarity", "weight"]].values.tolist() == [
        ["PB01", "P", "U", 3], ["PB02", "P", "D", 0], ["PB05", "P", "", 0], ["PB01", "S", "", 2],
        ["PB03", "P", "", 0]]
    assert [p.reason.split(": ", 1)[1] for p in problems] == [
        "phase hint 'PmP' is not a first P or S arrival (P, Pg, Pn, Pb, P*, S, Sg ...)"]
    assert events["depth"].iloc[0] == pytest.approx(0.0061)
    assert pd.isna(events["mag"].iloc[0])


def test_the_catalog_setting_reads_ml_picks_and_sac_folders(tmp_path):
    from focalflow.catalog import read_event_catalog
    from focalflow.config import CatalogConfig
    from focalflow.errors import ConfigError

    catalog = write(tmp_path, "catalog.csv", GAMMA_CATALOG)
    picks = write(tmp_path, "picks.csv", GAMMA_PICKS)
    events, table, problems = read_event_catalog(CatalogConfig(phase_file=catalog, picks_file=picks))
    assert len(events) == 2 and len(table) == 3 and problems == []   # auto: a GaMMA catalog
    with pytest.raises(ConfigError, match="catalog.format phasenet needs catalog.picks_file"):
        read_event_catalog(CatalogConfig(phase_file=catalog))
    (tmp_path / "sac").mkdir()
    with pytest.raises(InputError, match="sac: no SAC file in this folder"):
        read_event_catalog(CatalogConfig(phase_file=tmp_path / "sac"))   # auto: a folder
