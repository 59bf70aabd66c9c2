"""Station lists of every kind into the stations table: one call, the kind told from the file."""
from __future__ import annotations

import pytest

from focalflow.errors import InputError
from focalflow.formats.station_lists import read_station_list

FDSN_STATIONS = """\
#Network | Station | Latitude | Longitude | Elevation | SiteName | StartTime | EndTime
CI|CCC|35.52495|-117.36453|670.0|Christmas Canyon China Lake|1999-09-15T00:00:00|
CI|WRV2|36.00774|-117.8904|943.0|Wilson Ranch|2006-07-19T00:00:00|2599-12-31T23:59:59
"""
FDSN_CHANNELS = """\
#Network|Station|Location|Channel|Latitude|Longitude|Elevation|Depth|Azimuth|Dip|SensorDescription|Scale|ScaleFreq|ScaleUnits|SampleRate|StartTime|EndTime
TX|PB01|00|HH1|31.5|-104.1|900.0|0.0|30.0|0.0|Nanometrics|1e9|1.0|m/s|100.0|2017-01-01T00:00:00|
TX|PB01|00|HH2|31.5|-104.1|900.0|0.0|120.0|0.0|Nanometrics|1e9|1.0|m/s|100.0|2017-01-01T00:00:00|
TX|PB01|00|HHZ|31.5|-104.1|900.0|0.0|0.0|-90.0|Nanometrics|1e9|1.0|m/s|100.0|2017-01-01T00:00:00|
TX|PB02|00|HHZ|31.6|-104.2|910.0
"""


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_toc2me_list_station_network_longitude_latitude(shared_dir):
    """ToC2ME's list is 'STA NET LON LAT': the network is the short code, the longitude the
    value beyond 90 degrees."""
    table, problems = read_station_list(shared_dir / "data/toc2me/stationlist_ToC2ME.txt")
    assert problems == [] and len(table) == 69
    first = table.iloc[0]
    assert (first["network"], first["station"], first["latitude"], first["longitude"]) == \
        ("5B", "1107", 54.3107, -117.2548)
    assert set(table["channel"]) == {""} and table["has_metadata"].all()


@pytest.mark.parametrize("text, expected", [
    ("FF ST01 35.10 -117.20 850\nFF ST02 35.20 -117.30 900\n", ("FF", "ST01", 35.1, -117.2, 850.0)),
    ("ST01 35.10 -117.20\nST02 35.20 -117.30\n", ("", "ST01", 35.1, -117.2, 0.0)),
    ("ST01 -117.20 35.10 12\nST02 -117.30 35.20 40\n", ("", "ST01", 35.1, -117.2, 12.0)),
    ("# my stations\nST01 FF 35.10 -117.20\nST02 FF 35.20 -117.30  # new in 2020\n",
     ("FF", "ST01", 35.1, -117.2, 0.0)),
])
def test_whitespace_lists_in_any_layout(tmp_path, text, expected):
    table, problems = read_station_list(write(tmp_path, "stations.txt", text))
    assert problems == [] and len(table) == 2
    row = table.iloc[0]
    assert (row["network"], row["station"], row["latitude"], row["longitude"],
            row["elevation"]) == expected


def test_ambiguous_coordinates_need_the_columns_option(tmp_path):
    path = write(tmp_path, "europe.txt", "ST01 46.10 7.20 1500\nST02 46.30 7.40 1800\n")
    with pytest.raises(InputError, match="cannot tell latitude from longitude.*stations.columns"):
        read_station_list(path)
    table, _ = read_station_list(path, columns=["station", "longitude", "latitude",
                                                "elevation_km"])
    assert table[["latitude", "longitude", "elevation"]].iloc[0].tolist() == [7.2, 46.1, 1.5e6]


def test_fdsn_text_at_station_and_channel_level(tmp_path):
    stations, problems = read_station_list(write(tmp_path, "stations.txt", FDSN_STATIONS))
    assert problems == [] and stations["station"].tolist() == ["CCC", "WRV2"]
    assert stations["end"].tolist() == ["", "2599-12-31T23:59:59.000000Z"]
    channels, problems = read_station_list(write(tmp_path, "channels.txt", FDSN_CHANNELS))
    assert channels["channel"].tolist() == ["HH1", "HH2", "HHZ"]
    assert channels[["azimuth", "dip", "sampling_rate"]].iloc[1].tolist() == [120.0, 0.0, 100.0]
    assert [(p.line, p.reason) for p in problems] == [(5, "7 fields where the header has 17")]


def test_hash_nonlinloc_and_skhash_lists(shared_dir):
    scsn, _ = read_station_list(shared_dir / "data/hash_examples/scsn.stations")
    assert len(scsn) > 10_000 and {"CI", "CE"} <= set(scsn["network"])
    nll, _ = read_station_list(shared_dir / "data/ridgecrest/stations.nll")
    skhash, _ = read_station_list(shared_dir / "data/toc2me/skhash_demo/IN/SKHASH.stations.csv")
    plain, _ = read_station_list(shared_dir / "data/toc2me/skhash_demo/stations_ToC2ME.nll")
    assert len(nll) == 42 and len(skhash) == 69 and len(plain) == 69
    assert skhash["station"].tolist() == plain["station"].tolist()
    assert (skhash["latitude"] - plain["latitude"]).abs().max() < 1e-3


@pytest.mark.parametrize("name, content, message", [
    ("empty.txt", "", "empty.txt: file is empty"),
    ("binary.txt", "\x00\x01\x02garbage", "binary file"),
    ("garbage.txt", "hello world\nthis is not a list\n", r"garbage.txt.*line 1: expected '\[NET\] STA"),
    ("fdsn.txt", "#Network|Station|Elevation\nCI|CCC|670\n", r"fdsn.txt, line 1: FDSN text header lacks latitude"),
    ("bad_fdsn.txt", "#Network|Station|Latitude|Longitude\nCI|CCC|north|-117\n",
     "bad_fdsn.txt.*line 2: latitude 'north' is not a number"),
    ("wrong.txt", "ST01 95.5 200.1\n", r"wrong.txt.*cannot tell latitude"),
])
def test_bad_station_lists_name_the_file_and_line(tmp_path, name, content, message):
    with pytest.raises(InputError, match=message):
        read_station_list(write(tmp_path, name, content))


def test_a_bad_line_is_a_problem_the_rest_is_read(tmp_path):
    path = write(tmp_path, "stations.txt", "FF ST01 35.10 -117.20\nFF ST02 thirty -117.3\n"
                 "FF ST03 35.30 -117.40\nFF ST04 135.3 -117.4\n")
    table, problems = read_station_list(path)
    assert table["station"].tolist() == ["ST01", "ST03"]
    assert [p.line for p in problems] == [2, 4]
    assert "latitude 135.3 outside -90..90" in str(problems[1])
