"""Stage 5 with station metadata from every kind of source, and every pair of them merged."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from obspy import UTCDateTime
from obspy.core.inventory import Channel, Inventory, Network, Station
from obspy.io.sac import SACTrace

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.formats.station_lists import read_station_list
from focalflow.formats.stationxml import inventory_table, read_stationxml
from focalflow.stages.convert_stations import run
from focalflow.stations import merge_station_tables
from focalflow.tables import read_table
from focalflow.waveforms.files import FileIndex

# each source knows ST01 (at its own latitude, to tell who won) and one station of its own
LATITUDE = {"stationxml": 35.01, "fdsn_text": 35.02, "nonlinloc": 35.03, "csv": 35.04,
            "scsn": 35.05, "plain": 35.06, "sac_headers": 35.07}


def write_source(kind: str, folder):
    """A station file of ``kind`` with ST01 and ST_<kind>; returns its stations table."""
    lat, own = LATITUDE[kind], f"S{list(LATITUDE).index(kind)}"
    if kind == "stationxml":
        stations = [Station(code, la, -117.0, 800.0, channels=[
            Channel("HHZ", "", la, -117.0, 800.0, 0.0, azimuth=0.0, dip=-90.0, sample_rate=100.0,
                    start_date=UTCDateTime("2015-01-01"))]) for code, la in (("ST01", lat), (own, 35.5))]
        path = folder / "FF.xml"
        Inventory(networks=[Network("FF", stations=stations)], source="test").write(
            str(path), format="STATIONXML")
        return inventory_table(read_stationxml(path))
    if kind == "sac_headers":
        for code, la in (("ST01", lat), (own, 35.5)):
            sac = SACTrace(data=np.zeros(100, dtype=np.float32), delta=0.01, knetwk="FF",
                           kstnm=code, kcmpnm="HHZ", stla=la, stlo=-117.0, stel=800.0)
            (folder / "sac").mkdir(exist_ok=True)
            sac.write(str(folder / "sac" / f"{code}.sac"))
        index, _ = FileIndex.update(folder / "sac", folder / "index.csv")
        return index.header_stations()
    text = {
        "fdsn_text": "#Network|Station|Latitude|Longitude|Elevation|SiteName|StartTime|EndTime\n"
                     + "".join(f"FF|{c}|{la}|-117.0|800|site|2015-01-01T00:00:00|\n"
                               for c, la in (("ST01", lat), (own, 35.5))),
        "nonlinloc": "".join(f"GTSRCE {c} LATLON {la} -117.0 0.0 0.8\n"
                             for c, la in (("ST01", lat), (own, 35.5))),
        "csv": "network,station,latitude,longitude,elevation\n"
               + "".join(f"FF,{c},{la},-117.0,800\n" for c, la in (("ST01", lat), (own, 35.5))),
        "scsn": "".join(f"{c:<4} HHZ{'':33}{la:9.5f} {-117.0:10.5f} {800:5d}{'':23}FF\n"
                        for c, la in (("ST01", lat), ("S4", 35.5))),
        "plain": "".join(f"FF {c} {la:.4f} -117.0000 800\n" for c, la in (("ST01", lat), (own, 35.5))),
    }[kind]
    path = folder / f"{kind}.txt"
    path.write_text(text)
    table, problems = read_station_list(path)
    assert problems == []
    return table


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sources")
    return {kind: write_source(kind, folder) for kind in LATITUDE}


@pytest.mark.parametrize("first, second", list(itertools.permutations(LATITUDE, 2)))
def test_every_pair_of_sources_merges(sources, first, second):
    merged = merge_station_tables([sources[first], sources[second]])
    st01 = merged[merged["station"] == "ST01"]
    assert set(st01["latitude"]) == {LATITUDE[first]}  # the earlier source wins the station
    own = {f"S{list(LATITUDE).index(kind)}" for kind in (first, second)}
    assert own <= set(merged["station"]) and merged["has_metadata"].all()


def test_stationxml_with_a_station_csv_that_has_a_network_column(tmp_path):
    """The crash of the issue: a station CSV with a network column beside StationXML."""
    work = tmp_path / "work"
    (work / "stations").mkdir(parents=True)
    write_source("stationxml", work / "stations")
    write_source("csv", tmp_path)
    config = config_from_dict({"workdir": str(work), "stations": {
        "station_files": [str(tmp_path / "csv.txt")], "reversals_file": None,
        "reversed": "all"}})
    summary = run_stage("5_convert_stations", run, config)
    stations = read_table(work / "stations.csv", "stations")
    assert sorted(stations["station"]) == ["S0", "S3", "ST01"] and summary["reversals"] == 1
    assert stations.loc[stations["station"] == "ST01", "latitude"].tolist() == [35.01]
    reversals = read_table(work / "reversals.csv", "reversals")
    assert reversals[["network", "station"]].values.tolist() == [["", "*"]]
