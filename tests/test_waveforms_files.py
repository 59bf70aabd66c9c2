"""waveforms.source: files -- the index of a waveform tree, cutting event windows from it, and
station metadata from lists where there is no StationXML."""
from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from obspy import Stream, Trace, UTCDateTime
from obspy.io.sac import SACTrace

from focalflow.errors import FocalflowError
from focalflow.waveforms.files import FileIndex, FilesSource
from focalflow.waveforms.metadata import StationMetadata, station_rows

DAY = UTCDateTime("2022-05-01T00:00:00")
EVENTS = [DAY + 600, DAY + 2400]


def trace(station: str, channel: str, start: UTCDateTime, seconds: float, rate=20.0, seed=0):
    data = np.random.default_rng(seed).normal(size=int(seconds * rate)).astype(np.float32)
    return Trace(data, {"network": "FF", "station": station, "location": "", "channel": channel,
                        "starttime": start, "sampling_rate": rate})


@pytest.fixture
def tree(tmp_path):
    """A continuous three-channel file, a file with two events of one channel, a SAC file with
    coordinates, and a file that is not a waveform."""
    root = tmp_path / "data"
    (root / "continuous").mkdir(parents=True)
    (root / "events").mkdir()
    Stream([trace("ST01", f"HH{c}", DAY, 3600, seed=k) for k, c in enumerate("ZNE", 1)]).write(
        str(root / "continuous" / "day_121"), format="MSEED")
    Stream([trace("ST02", "EHZ", t - 30, 120, seed=9) for t in EVENTS]).write(
        str(root / "events" / "both.ms"), format="MSEED")
    sac = SACTrace.from_obspy_trace(trace("ST03", "HHZ", EVENTS[0] - 30, 120))
    sac.stla, sac.stlo, sac.stel = 35.05, -117.05, 640.0
    sac.write(str(root / "events" / "st03.SAC"))
    (root / "README.txt").write_text("field notes, not waveforms\n")
    return root


def test_index_splits_channels_and_events_and_follows_changes(tree, tmp_path):
    index_path = tmp_path / "work" / "files_index.csv"
    index, update = FileIndex.update(tree, index_path)
    assert (update.read, update.kept, update.not_waveforms) == (4, 0, 1)
    traces = index.traces.sort_values(["station", "channel", "start"])
    assert traces[["station", "channel", "format"]].values.tolist() == [
        ["ST01", "HHE", "MSEED"], ["ST01", "HHN", "MSEED"], ["ST01", "HHZ", "MSEED"],
        ["ST02", "EHZ", "MSEED"], ["ST02", "EHZ", "MSEED"], ["ST03", "HHZ", "SAC"]]
    assert traces["start"].iloc[3] == "2022-05-01T00:09:30.000000Z"
    assert index.header_stations()[["station", "latitude", "elevation"]].values.tolist() == \
        [["ST03", 35.05, 640.0]]

    stamp = index_path.stat().st_mtime_ns
    again, update = FileIndex.update(tree, index_path)
    assert (update.read, update.kept, update.removed) == (0, 4, 0)
    assert index_path.stat().st_mtime_ns == stamp  # nothing changed: not rewritten

    Stream([trace("ST02", "EHZ", EVENTS[0] - 30, 120, seed=9)]).write(
        str(tree / "events" / "both.ms"), format="MSEED")        # one event removed from it
    os.remove(tree / "events" / "st03.SAC")
    later, update = FileIndex.update(tree, index_path)
    assert (update.read, update.kept, update.removed) == (1, 2, 1)
    assert sorted(FileIndex.read(index_path).traces["station"]) == ["ST01"] * 3 + ["ST02"]


def test_files_source_cuts_each_event_from_the_right_file(tree, tmp_path):
    index, _ = FileIndex.update(tree, tmp_path / "files_index.csv")
    plain = tmp_path / "stations.txt"
    plain.write_text("FF ST01 35.00 -117.00 800\nFF ST02 35.10 -117.10 700\n")
    rows, problems = station_rows([plain], header_rows=index.header_stations())
    metadata = StationMetadata(rows)
    source = FilesSource(index, metadata)

    first = source.stations(35.0, -117.0, 50.0, EVENTS[0] - 20, EVENTS[0] + 40, "*")
    assert sorted(f"{n.code}.{s.code}.{c.code}" for n in first for s in n for c in s) == [
        "FF.ST01.HHE", "FF.ST01.HHN", "FF.ST01.HHZ", "FF.ST02.EHZ", "FF.ST03.HHZ"]
    z = first.select(station="ST01", channel="HHZ")[0][0][0]
    assert (z.azimuth, z.dip) == (0.0, -90.0) and metadata.assumed == {"FF.ST01", "FF.ST02", "FF.ST03"}
    near = source.stations(35.0, -117.0, 5.0, EVENTS[0] - 20, EVENTS[0] + 40, "*")
    assert [s.code for n in near for s in n] == ["ST01"]
    second = source.stations(35.0, -117.0, 50.0, EVENTS[1] - 20, EVENTS[1] + 40, "*")
    assert sorted(s.code for n in second for s in n) == ["ST01", "ST02"]  # ST03 only has event 1

    t0, t1 = EVENTS[1] - 20, EVENTS[1] + 40
    stream = source.waveforms([("FF", "ST01", "", "HHZ", t0, t1), ("FF", "ST02", "", "EHZ", t0, t1)])
    assert len(stream) == 2 and all(abs(tr.stats.starttime - t0) < 0.05 for tr in stream)
    st02 = stream.select(station="ST02")[0]
    expected = trace("ST02", "EHZ", EVENTS[1] - 30, 120, seed=9).slice(t0, t1)
    np.testing.assert_array_equal(st02.data, expected.data)
    assert source.responses("FF", "ST01").networks == []


def test_stations_without_coordinates_are_named(tree, tmp_path):
    index, _ = FileIndex.update(tree, tmp_path / "files_index.csv")
    source = FilesSource(index, StationMetadata(index.header_stations()))
    assert source.without_coordinates(EVENTS[0] - 20, EVENTS[0] + 40) == ["FF.ST01", "FF.ST02"]


def test_orientation_from_lists_assumed_or_missing():
    rows = pd.DataFrame([
        {"network": "TX", "station": "PB01", "location": "00", "channel": "HH1", "latitude": 31.5,
         "longitude": -104.1, "elevation": 900.0, "azimuth": 30.0, "dip": 0.0},
        {"network": "", "station": "PB02", "location": "", "channel": "", "latitude": 31.6,
         "longitude": -104.2, "elevation": float("nan"), "azimuth": float("nan"), "dip": float("nan")}])
    metadata = StationMetadata(rows)
    assert metadata.channel("TX", "PB01", "00", "HH1")["azimuth"] == 30.0
    assert metadata.channel("TX", "PB01", "00", "HH2")["orientation"] == "unknown"
    pb02 = metadata.channel("TX", "PB02", "", "HHE")
    assert (pb02["azimuth"], pb02["dip"], pb02["orientation"], pb02["elevation"]) == \
        (90.0, 0.0, "assumed", 0.0)
    assert metadata.channel("TX", "PB09", "", "HHZ") is None
    assert metadata.no_azimuth == {"TX.PB01"} and metadata.assumed == {"TX.PB02"}
    inventory = metadata.inventory("TX", "PB02", [("", "HHZ", 100.0), ("", "HHE", 100.0)])
    assert inventory.get_channel_metadata("TX.PB02..HHZ")["dip"] == -90.0


def test_an_empty_or_missing_tree_is_a_clear_error(tmp_path):
    with pytest.raises(FocalflowError, match="waveforms.files.root: folder .*nowhere not found"):
        FileIndex.update(tmp_path / "nowhere", tmp_path / "index.csv")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    with pytest.raises(FocalflowError, match="no miniSEED or SAC file under"):
        FileIndex.update(tmp_path / "notes", tmp_path / "index.csv")


def test_a_working_directory_inside_the_tree_is_not_indexed(tree):
    work = tree / "work"
    (work / "mseed" / "ev1").mkdir(parents=True)
    Stream([trace("ST09", "HHZ", DAY, 60)]).write(str(work / "mseed" / "ev1" / "x.mseed"),
                                                   format="MSEED")
    index, _ = FileIndex.update(tree, work / "files_index.csv")
    assert "ST09" not in set(index.traces["station"])
