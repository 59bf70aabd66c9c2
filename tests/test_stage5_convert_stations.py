"""Stage 5: StationXML and station lists to stations.csv, stations without metadata, reversals."""
from __future__ import annotations

import pandas as pd
import pytest
from obspy import UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Station

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.errors import InputError
from focalflow.stages.convert_stations import run
from focalflow.tables import COLUMNS, read_table, write_table
from focalflow.workdir import WorkDir


def _inventory(station: str, latitude: float, channels=("HHZ", "HHN", "HHE")) -> Inventory:
    orientation = {"Z": (0.0, -90.0), "N": (0.0, 0.0), "E": (90.0, 0.0), "1": (30.0, 0.0)}
    cha = [Channel(code, "", latitude, -117.0, 850.0, 0.0, azimuth=orientation[code[-1]][0],
                   dip=orientation[code[-1]][1], sample_rate=100.0,
                   start_date=UTCDateTime("2015-01-01")) for code in channels]
    sta = Station(station, latitude, -117.0, 850.0, channels=cha)
    return Inventory(networks=[Network("FF", stations=[sta])], source="test")


@pytest.fixture
def case(tmp_path):
    work = WorkDir(tmp_path / "work").create()
    work.stationxml_dir.mkdir()
    _inventory("ST01", 35.0).write(str(work.stationxml_dir / "FF.ST01.xml"), format="STATIONXML")
    _inventory("ST02", 35.2, ("HHZ", "HH1")).write(str(work.stationxml_dir / "FF.ST02.xml"),
                                                   format="STATIONXML")
    (work.stationxml_dir / "FF.BAD.xml").write_text("<?xml version='1.0'?><FDSNStationXML><oops")
    nll = tmp_path / "stations.nll"
    nll.write_text("LOCSRCE ST01 LATLON 99.0 -117.0 0 850\nLOCSRCE ST09 LATLON 35.9 -117.9 0 1200.0\n")
    picks = pd.DataFrame([
        ["1", "FF", "ST01", "", "HHZ", "P"], ["1", "FF", "ST09", "", "HHZ", "P"],
        ["1", "FF", "ST05", "", "HHZ", "P"], ["1", "FF", "ST05", "", "HHE", "S"],
        ["2", "FF", "ST05", "", "HHZ", "P"]], columns=COLUMNS["picks"][:6])
    for column in COLUMNS["picks"][6:]:
        picks[column] = ""
    write_table(picks, work.picks_csv, "picks")
    reversals = tmp_path / "reversals.csv"
    reversals.write_text("network,station,start,end\nFF,ST02,2020-01-01,\n")
    config = config_from_dict({"workdir": str(work.root),
                               "stations": {"station_files": [str(nll)],
                                            "reversals_file": str(reversals)}}, base_dir=tmp_path)
    return config, work


def test_stations_table_merges_sources_and_flags_missing_metadata(case):
    config, work = case
    summary = run_stage("convert_stations", run, config)
    stations = read_table(work.stations_csv, "stations")
    assert summary["channels"] == 6 and summary["stations"] == 3 and summary["without_metadata"] == 2
    assert list(zip(stations["network"], stations["station"], stations["channel"])) == [
        ("", "ST09", ""), ("FF", "ST01", "HHE"), ("FF", "ST01", "HHN"), ("FF", "ST01", "HHZ"),
        ("FF", "ST02", "HH1"), ("FF", "ST02", "HHZ"), ("FF", "ST05", "HHE"), ("FF", "ST05", "HHZ")]
    st01 = stations[stations["station"] == "ST01"]
    assert (st01["latitude"] == 35.0).all()                # StationXML wins over the list's 99.0
    hh1 = stations[stations["channel"] == "HH1"].iloc[0]
    assert (hh1["azimuth"], hh1["dip"], hh1["elevation"], hh1["sampling_rate"]) == (30.0, 0.0, 850.0, 100.0)
    st05 = stations[stations["station"] == "ST05"]
    assert st05["has_metadata"].tolist() == [False, False] and st05["latitude"].isna().all()
    st09 = stations[stations["station"] == "ST09"].iloc[0]
    assert st09["has_metadata"] and st09["network"] == "" and st09["elevation"] == 1200.0

    failures = read_table(work.failures_csv, "failures")
    assert failures["station"].tolist() == ["", "", "FF.ST05"]
    assert "FF.BAD.xml: not a readable StationXML" in failures["reason"].iloc[0]
    assert "stations.nll, line 1: bad station line: coordinates 99.0" in failures["reason"].iloc[1]
    assert "3 pick(s) but no metadata" in failures["reason"].iloc[2]

    reversals = read_table(work.reversals_csv, "reversals")
    assert reversals.values.tolist() == [["FF", "ST02", "2020-01-01T00:00:00.000000Z", ""]]


def test_rerun_gives_identical_tables(case):
    config, work = case
    run_stage("convert_stations", run, config)
    first = work.stations_csv.read_bytes(), work.reversals_csv.read_bytes()
    run_stage("convert_stations", run, config, overwrite=True)
    assert (work.stations_csv.read_bytes(), work.reversals_csv.read_bytes()) == first


def test_rerun_redoes_only_the_table_whose_inputs_changed(case, tmp_path, caplog):
    config, work = case
    run_stage("convert_stations", run, config)
    times = {p: p.stat().st_mtime_ns for p in (work.stations_csv, work.reversals_csv,
                                               work.failures_csv)}
    with caplog.at_level("INFO", logger="focalflow"):
        assert run_stage("convert_stations", run, config)["skipped"] == 3
        assert "0 tables (re)computed; 2 kept unchanged" in caplog.text
        assert {p: p.stat().st_mtime_ns for p in times} == times
        reversals = tmp_path / "reversals.csv"
        reversals.write_text("network,station,start,end\nFF,ST02,2020-01-01,\nFF,ST01,,\n")
        run_stage("convert_stations", run, config)
    assert "1 tables (re)computed (1: reversals.csv: input " in caplog.text
    assert work.stations_csv.stat().st_mtime_ns == times[work.stations_csv]
    assert len(read_table(work.reversals_csv, "reversals")) == 2


def test_no_reversal_file_gives_an_empty_table(case):
    config, work = case
    config.stations.reversals_file = None
    assert run_stage("convert_stations", run, config)["reversals"] == 0
    assert read_table(work.reversals_csv, "reversals").empty


def test_missing_reversal_file_stops_with_its_name(case, tmp_path):
    config, _ = case
    config.stations.reversals_file = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="nope.csv: file not found"):
        run_stage("convert_stations", run, config)


def test_no_metadata_at_all_is_a_clear_error(tmp_path):
    config = config_from_dict({"workdir": str(tmp_path / "work"),
                               "stations": {"reversals_file": None}}, base_dir=tmp_path)
    with pytest.raises(InputError, match="no station metadata found"):
        run_stage("convert_stations", run, config)


def test_ridgecrest_stationxml_folder(shared_dir, tmp_path):
    root = shared_dir / "data" / "ridgecrest"
    config = config_from_dict({"workdir": str(tmp_path / "work"),
                               "stations": {"stationxml_dir": str(root / "stations"),
                                            "station_files": [str(root / "stations.nll")],
                                            "reversals_file": str(shared_dir / "data" / "hash_examples"
                                                                  / "scsn.reverse")}}, base_dir=tmp_path)
    summary = run_stage("convert_stations", run, config)
    assert summary["stations"] == 42 and summary["without_metadata"] == 0 and summary["skipped"] == 0
    assert summary["reversals"] == 145
