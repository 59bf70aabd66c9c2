"""QuakeML and CSV catalogs round-trip; read_event_catalog picks the reader; bad files are clear errors."""
from __future__ import annotations

import pandas as pd
import pytest
from obspy import UTCDateTime
from obspy.core.event import Catalog, Event, Origin, Pick, WaveformStreamID

from focalflow.config import CatalogConfig
from focalflow.errors import InputError
from focalflow.formats.csv_tables import read_csv_catalog, write_csv_catalog
from focalflow.formats.hypoinverse import write_hypoinverse
from focalflow.formats.quakeml import read_quakeml, write_quakeml
from focalflow.catalog import guess_format, read_event_catalog
from focalflow.tables import COLUMNS


def _tables():
    events = pd.DataFrame([
        {"event_id": "38442575", "time": "2019-07-04T00:56:37.620000Z", "latitude": 36.0808,
         "longitude": -117.878, "depth": 2.81, "horz_uncert_km": 0.2, "vert_uncert_km": 0.42,
         "mag": 0.89},
        {"event_id": "ev2", "time": "2019-07-04T03:20:28.910000Z", "latitude": 36.1135,
         "longitude": -117.673, "depth": 2.66, "horz_uncert_km": float("nan"),
         "vert_uncert_km": float("nan"), "mag": float("nan")},
    ], columns=COLUMNS["events"])
    picks = pd.DataFrame([
        ["38442575", "CI", "WRV2", "", "EHZ", "P", "2019-07-04T00:56:39.360000Z", "i", "D", 1],
        ["38442575", "CI", "WCS2", "", "HHE", "S", "2019-07-04T00:56:41.620000Z", "e", "", 2],
        ["38442575", "PB", "B916", "00", "EHZ", "P", "2019-07-04T00:56:41.620000Z", "", "U", 0],
        ["ev2", "CI", "MPM", "", "HHZ", "P", "2019-07-04T03:20:32.210000Z", "e", "", 3],
    ], columns=COLUMNS["picks"][:-1])
    picks["source"] = ""
    return events, picks


def _same(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(expected.drop(columns="source", errors="ignore").reset_index(drop=True),
                                  got.drop(columns="source", errors="ignore"), check_dtype=False,
                                  atol=1e-6)


def test_quakeml_round_trip(tmp_path):
    events, picks = _tables()
    path = write_quakeml(events, picks, tmp_path / "catalog.xml")
    events2, picks2, problems = read_quakeml(path)
    assert problems == []
    _same(events, events2)
    _same(picks, picks2)


def test_quakeml_from_another_producer_maps_polarity_onset_and_ids(tmp_path):
    event = Event(resource_id="quakeml:ci.anss.org/Event/CI/38442575")
    event.origins.append(Origin(time=UTCDateTime("2019-07-04T00:56:37.62"), latitude=36.08,
                                longitude=-117.88, depth=2810.0))
    wid = WaveformStreamID("CI", "WRV2", "", "EHZ")
    event.picks += [Pick(time=UTCDateTime("2019-07-04T00:56:39.36"), phase_hint="Pg", waveform_id=wid,
                         polarity="negative", onset="impulsive"),
                    Pick(time=UTCDateTime("2019-07-04T00:56:40.00"), phase_hint="S", waveform_id=wid,
                         polarity="undecidable", onset="questionable"),
                    Pick(time=UTCDateTime("2019-07-04T00:56:41.00"), phase_hint="Amp", waveform_id=wid)]
    path = tmp_path / "other.xml"
    Catalog([event, Event()]).write(str(path), format="QUAKEML")
    events, picks, problems = read_quakeml(path)
    assert events["event_id"].tolist() == ["38442575"]
    assert events["depth"].tolist() == [2.81]
    assert picks[["phase", "polarity", "onset"]].values.tolist() == [["P", "D", "i"], ["S", "", ""]]
    reasons = [p.reason for p in problems]
    assert any("pick 3: phase hint 'Amp'" in r for r in reasons)
    assert any("event 2" in r and "no origin" in r for r in reasons)


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"<?xml version='1.0'?><q:quakeml><garbage", "not a readable QuakeML"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not a readable QuakeML"),
    (b"<?xml version='1.0'?><root>hello</root>", "not a readable QuakeML"),
])
def test_garbage_quakeml_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "catalog.xml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_quakeml(path)
    assert str(path) in str(info.value)


def test_csv_round_trip(tmp_path):
    events, picks = _tables()
    write_csv_catalog(events, picks, tmp_path / "events.csv", tmp_path / "picks.csv")
    events2, picks2, problems = read_csv_catalog(tmp_path / "events.csv", tmp_path / "picks.csv")
    assert problems == []
    _same(events, events2)
    _same(picks, picks2)
    assert picks2["source"].iloc[0] == "picks.csv:2"


def test_csv_bad_rows_are_reported_with_line_numbers(tmp_path):
    (tmp_path / "events.csv").write_text(
        "event_id,time,latitude,longitude,depth,mag\n"
        "1,2019-07-04T00:56:37Z,36.1,-117.9,2.8,1.0\n"
        "2,yesterday,36.1,-117.9,2.8,1.0\n"
        "3,2019-07-04T01:00:00Z,96.1,-117.9,2.8,--\n"
        "1,2019-07-04T02:00:00Z,36.1,-117.9,2.8,\n")
    (tmp_path / "picks.csv").write_text(
        "event_id,network,station,location,channel,phase,time,onset,polarity,weight\n"
        "1,CI,WRV2,,EHZ,P,2019-07-04T00:56:39.36Z,i,D,1\n"
        "1,CI,WRV2,,EHZ,X,2019-07-04T00:56:39.36Z,i,D,1\n"
        "1,CI,WRV2,,EHZ,P,2019-07-04T00:56:39.36Z,i,Q,1\n"
        "9,CI,WRV2,,EHZ,P,2019-07-04T00:56:39.36Z,,,\n")
    events, picks, problems = read_csv_catalog(tmp_path / "events.csv", tmp_path / "picks.csv")
    assert events["event_id"].tolist() == ["1"] and len(picks) == 1
    assert [(p.path.rsplit("/", 1)[-1], p.line) for p in problems] == [
        ("events.csv", 3), ("events.csv", 4), ("events.csv", 5), ("picks.csv", 3), ("picks.csv", 4),
        ("picks.csv", 5)]
    assert "not a time" in problems[0].reason and "latitude 96.1" in problems[1].reason
    assert "duplicate event id 1" in problems[2].reason and "not in events.csv" in problems[5].reason


def test_skhash_style_tables(shared_dir):
    root = shared_dir / "data" / "toc2me" / "skhash_demo" / "IN"
    events, picks, problems = read_csv_catalog(root / "SKHASH.eq_catalog.csv", root / "SKHASH.pol.csv")
    assert problems == []
    assert events["event_id"].tolist() == ["1", "2", "3"] and events["mag"].isna().all()
    assert set(picks["phase"]) == {"P"} and set(picks["polarity"]) <= {"U", "D", ""}
    assert set(picks["location"]) == {""} and picks["station"].iloc[0] == "1107"


@pytest.mark.parametrize("content, message", [
    ("", "file is empty"),
    ("event_id,time\n1,2019-07-04T00:00:00Z\n", "missing column"),
])
def test_csv_unreadable_tables(tmp_path, content, message):
    (tmp_path / "events.csv").write_text(content)
    with pytest.raises(InputError, match=message):
        read_csv_catalog(tmp_path / "events.csv")


def test_read_catalog_dispatches_on_format(tmp_path):
    events, picks = _tables()
    write_hypoinverse(events, picks, tmp_path / "phases.arc")
    write_quakeml(events, picks, tmp_path / "catalog.qml")
    write_csv_catalog(events, picks, tmp_path / "events.csv", tmp_path / "picks.csv")
    (tmp_path / "phases.txt").write_bytes((tmp_path / "phases.arc").read_bytes())
    assert guess_format(tmp_path / "phases.txt") == "hypoinverse"
    for config in (CatalogConfig(phase_file=tmp_path / "phases.txt"),
                   CatalogConfig(phase_file=tmp_path / "catalog.qml", format="quakeml"),
                   CatalogConfig(phase_file=tmp_path / "events.csv", picks_file=tmp_path / "picks.csv")):
        events2, picks2, problems = read_event_catalog(config)
        assert problems == []
        _same(events, events2)
        _same(picks, picks2)
    (tmp_path / "notes.txt").write_text("hello\n")
    with pytest.raises(InputError, match="cannot tell the format"):
        read_event_catalog(CatalogConfig(phase_file=tmp_path / "notes.txt"))
