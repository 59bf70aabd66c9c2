"""Station metadata readers, reversal tables and velocity models, on real files and bad ones."""
from __future__ import annotations

import numpy as np
import pytest

from focalflow.errors import InputError
from focalflow.formats.csv_tables import read_station_list_csv
from focalflow.formats.nonlinloc import read_nonlinloc_stations
from focalflow.formats.reversals import is_reversed, read_reversals, reversed_mask, write_reversals
from focalflow.formats.stationxml import inventory_table, read_stationxml, read_stationxml_dir
from focalflow.formats.velocity import read_velocity_model, write_velocity_model
from focalflow.tables import COLUMNS, read_table


def test_ridgecrest_stationxml_one_row_per_channel(shared_dir):
    inventory, problems = read_stationxml_dir(shared_dir / "data" / "ridgecrest" / "stations")
    table = inventory_table(inventory)
    assert problems == [] and list(table.columns) == COLUMNS["stations"]
    assert table[["network", "station"]].drop_duplicates().shape[0] == 42
    cca = table[(table["station"] == "CCA") & (table["channel"] == "HHE")].iloc[0]
    assert (cca["network"], cca["location"], cca["latitude"], cca["elevation"]) == ("CI", "", 35.15252, 710.0)
    assert (cca["azimuth"], cca["dip"], cca["sampling_rate"]) == (90.0, 0.0, 100.0)
    assert cca["end"] == "3000-01-01T00:00:00.000000Z" and table["has_metadata"].all()


def test_nonlinloc_list_elevation_in_metres_is_recognised(shared_dir):
    table, problems = read_nonlinloc_stations(shared_dir / "data" / "ridgecrest" / "stations.nll")
    assert problems == [] and len(table) == 42
    cgo = table[table["station"] == "CGO"].iloc[0]
    assert (cgo["latitude"], cgo["longitude"], cgo["elevation"]) == (36.5504, -117.80295, 2795.0)
    assert set(table["network"]) == {""}


def test_nonlinloc_units_and_bad_lines(tmp_path):
    path = tmp_path / "stations.nll"
    path.write_text("# comment\nLOCSRCE AAA LATLON 35.0 -117.0 0 0.7085\n"
                    "LOCSRCE BBB LATLON 95.0 -117.0 0 1.2\nGTSRCE CCC LATLON 35.5 -117.5 0 -0.038\n"
                    "LOCSRCE DDD XYZ 1 2 3 4\n")
    table, problems = read_nonlinloc_stations(path)
    assert table["station"].tolist() == ["AAA", "CCC"]
    np.testing.assert_allclose(table["elevation"], [708.5, -38.0])
    assert [(p.line, "out of range" in p.reason or "LATLON" in p.reason) for p in problems] == [(3, True), (5, True)]
    metres, _ = read_nonlinloc_stations(path, elevation_unit="m")
    np.testing.assert_allclose(metres["elevation"], [0.7085, -0.038])
    path.write_text("nothing here\n")
    with pytest.raises(InputError, match="no LOCSRCE or GTSRCE station line"):
        read_nonlinloc_stations(path)


def test_skhash_station_csv(shared_dir):
    table, problems = read_station_list_csv(
        shared_dir / "data" / "toc2me" / "skhash_demo" / "IN" / "SKHASH.stations.csv")
    assert problems == [] and table.loc[0, "station"] == "1107" and table.loc[0, "location"] == ""
    assert table.loc[0, "channel"] == "DHZ" and table.loc[0, "latitude"] == 54.3107


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    (b"<?xml version='1.0'?><FDSNStationXML><Network code='XX'><Sta", "not a readable StationXML"),
    (b"\x00\x01garbage", "not a readable StationXML"),
])
def test_garbage_stationxml_is_a_clear_error(tmp_path, content, message):
    path = tmp_path / "XX.BAD.xml"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_stationxml(path)
    assert str(path) in str(info.value)
    _, problems = read_stationxml_dir(tmp_path)
    assert len(problems) == 1 and problems[0].path == str(path)


def test_scsn_reverse_file(shared_dir, tmp_path):
    reversals = read_reversals(shared_dir / "data" / "hash_examples" / "scsn.reverse")
    rows = {r.station: r for r in reversals.itertuples()}
    assert rows["AQUA"].start == "1992-01-01T00:00:00.000000Z"
    assert rows["AQUA"].end == "1992-12-31T23:59:59.999999Z"       # the last day counts
    assert rows["BAHA"].end == "" and rows["CSP"].start == ""          # 0 = open
    assert is_reversed(reversals, "CI", "AQUA", "1992-12-31T22:00:00")
    assert not is_reversed(reversals, "CI", "AQUA", "1993-01-01T00:00:01")
    assert is_reversed(reversals, "CI", "BAHA", "2019-07-04T00:00:00")
    assert is_reversed(reversals, "CI", "CSP", "1960-01-01") and not is_reversed(reversals, "CI", "CSP", "1997-01-01")
    write_reversals(reversals, tmp_path / "reversals.csv")
    assert read_reversals(tmp_path / "reversals.csv").fillna("").equals(reversals)
    assert read_table(tmp_path / "reversals.csv", "reversals").shape == reversals.shape


def test_csv_reversals_with_network_and_vectorised_mask(tmp_path):
    path = tmp_path / "reversals.csv"
    path.write_text("network,station,start,end\nFF,ST03,2021-01-01,2021-06-30\n,ST07,2020-01-01T12:00:00,\n")
    reversals = read_reversals(path)
    mask = reversed_mask(reversals, ["FF", "XX", "FF", "FF", "ZZ", "ZZ"],
                         ["ST03", "ST03", "ST03", "ST01", "ST07", "ST07"],
                         ["2021-06-30T20:00:00", "2021-03-01", "2021-07-01T00:00:00", "2021-03-01",
                          "2030-01-01", "2020-01-01T11:59:59"])
    assert mask.tolist() == [True, False, False, False, True, False]


@pytest.mark.parametrize("content, message", [
    ("network,station,start,end\nFF,ST01,not-a-date,\n", "line 2: 'not-a-date' is not a date"),
    ("network,start\nFF,2020-01-01\n", "missing column"),
    ("AQUA 1992010\nBAC  19950624 19960124\n", "line 1: not a scsn.reverse line"),
    ("", "file is empty"),
])
def test_bad_reversal_tables(tmp_path, content, message):
    path = tmp_path / "reversals.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_reversals(path)


def test_velocity_models_in_all_three_forms(shared_dir, repo_dir, tmp_path):
    hash_model = read_velocity_model(shared_dir / "data" / "hash_examples" / "vz.socal")
    assert len(hash_model[0]) == 61 and hash_model[1][0] == 4.7
    skhash = read_velocity_model(shared_dir / "data" / "toc2me" / "skhash_demo" / "vz.north")
    assert skhash[0][1] == 0.1 and skhash[1][0] == 3.99
    ours = read_velocity_model(repo_dir / "velocity" / "ridgecrest_shelly2020.txt")
    reference = read_velocity_model(shared_dir / "data" / "ridgecrest" / "ca.forhash")
    np.testing.assert_array_equal(ours[0], reference[0])
    np.testing.assert_array_equal(ours[1], reference[1])
    with_header = tmp_path / "model.csv"
    with_header.write_text("depth,vp\n0,5.0\n10,6.0\n")
    np.testing.assert_array_equal(read_velocity_model(with_header)[1], [5.0, 6.0])


def test_every_shipped_model_reads_and_names_its_source(repo_dir):
    for path in sorted((repo_dir / "velocity").glob("*.txt")):
        depth, vp = read_velocity_model(path)
        assert depth[0] == 0 and np.all(np.diff(depth) >= 0) and np.all((vp > 1) & (vp < 9)), path
        assert path.read_text().startswith("#"), f"{path.name} lacks a header naming its source"
    layered = read_velocity_model(repo_dir / "velocity" / "socal_hadley_kanamori1977.txt")
    assert list(layered[0][:3]) == [0.0, 5.5, 5.5] and list(layered[1][:3]) == [5.5, 5.5, 6.3]


def test_velocity_write_read(tmp_path):
    path = write_velocity_model(tmp_path / "m.txt", [0, 2, 2, 10], [4.5, 5.0, 5.6, 6.2], "test model\nline 2")
    assert path.read_text().startswith("# test model\n# line 2\n")
    depth, vp = read_velocity_model(path)
    assert depth.tolist() == [0, 2, 2, 10] and vp.tolist() == [4.5, 5.0, 5.6, 6.2]


@pytest.mark.parametrize("content, message", [
    ("0 5.0\n", "at least two depths"),
    ("0 5.0\n10 six\n", "line 2: expected 'depth_km vp_km_s'"),
    ("0 5.0\n10 6.0\n5 6.5\n", "line 3: depth 5.0 km is above"),
    ("0 5.0\n10 -6.0\n", "line 2: velocity -6.0"),
    ("", "file is empty"),
])
def test_bad_velocity_models(tmp_path, content, message):
    path = tmp_path / "vz.bad"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_velocity_model(path)
